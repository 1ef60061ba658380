"""A tester MME on S11 (TS 29.274): GTPv2-C over UDP."""

from __future__ import annotations

import asyncio
from typing import Any

from corenet.codecs import gtpv2c
from corenet.codecs.base import Message
from corenet.conformance.tester.enb import get
from corenet.core.errors import DecodeError
from corenet.transport.udp import open_udp_endpoint


class TesterGtp:
    def __init__(self, peer: tuple[str, int], local_host: str, tap: Any) -> None:
        self.peer, self.local_host, self.tap = peer, local_host, tap
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.endpoint: Any = None
        self.sequence = 0x100

    async def open(self) -> None:
        self.endpoint = await open_udp_endpoint(self.local_host, 0, self._on_datagram, tap=self.tap)

    def _on_datagram(self, payload: bytes, addr: Any) -> None:
        try:
            self.inbox.put_nowait(gtpv2c.decode(payload))
        except DecodeError:
            pass

    @property
    def local(self) -> tuple[str, int]:
        return self.endpoint.local  # type: ignore[no-any-return]

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def send(self, msg: Message | bytes) -> None:
        self.endpoint.sendto(msg if isinstance(msg, bytes) else gtpv2c.encode(msg), self.peer)

    async def request(self, msg: Message | bytes, timeout: float = 3.0) -> Message:
        if self.endpoint is None:
            await self.open()
        self.send(msg)
        return await get(self.inbox, timeout, "a GTPv2-C response")

    def close(self) -> None:
        if self.endpoint is not None:
            self.endpoint.close()
            self.endpoint = None
