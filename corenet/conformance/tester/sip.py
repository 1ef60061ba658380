"""A tester SIP endpoint over UDP (RFC 3261 §18): a UE's user agent, or the PSAP."""

from __future__ import annotations

import asyncio
from typing import Any

from corenet.codecs import sip
from corenet.codecs.sip import SipMessage
from corenet.conformance.tester.enb import get
from corenet.core.errors import DecodeError
from corenet.transport.udp import open_udp_endpoint


class TesterSip:
    def __init__(self, local: tuple[str, int], tap: Any) -> None:
        self.bind, self.tap = local, tap
        self.inbox: asyncio.Queue[tuple[SipMessage, tuple[str, int]]] = asyncio.Queue()
        self.endpoint: Any = None

    async def open(self) -> None:
        self.endpoint = await open_udp_endpoint(self.bind[0], self.bind[1], self._on_datagram,
                                                tap=self.tap)

    @property
    def local(self) -> tuple[str, int]:
        return self.endpoint.local  # type: ignore[no-any-return]

    def via(self) -> str:
        host, port = self.local
        return f"SIP/2.0/UDP {host}:{port};branch={sip.new_branch()};rport"

    def _on_datagram(self, payload: bytes, addr: Any) -> None:
        try:
            self.inbox.put_nowait((sip.decode(payload), addr))
        except DecodeError:
            pass

    def send(self, msg: SipMessage | bytes, to: tuple[str, int]) -> None:
        self.endpoint.sendto(msg if isinstance(msg, bytes) else sip.encode(msg), to)

    async def receive(self, timeout: float = 5.0, what: str = "a SIP message"
                      ) -> tuple[SipMessage, tuple[str, int]]:
        return await get(self.inbox, timeout, what)

    def close(self) -> None:
        if self.endpoint is not None:
            self.endpoint.close()
            self.endpoint = None
