"""A tester Diameter node over TCP (RFC 6733 §2.1): an MME on S6a, or a bare base-protocol peer."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, TypedDict

from corenet.codecs import diameter
from corenet.codecs.base import Message
from corenet.conformance.tester.enb import get
from corenet.conformance.verdicts import Inconclusive
from corenet.core.errors import DecodeError
from corenet.transport.tcp import open_diameter_tcp_client

_sessions = itertools.count(1)


class Ids(TypedDict):
    """Hop-by-Hop and End-to-End identifiers of a request (RFC 6733 §3)."""

    hop_by_hop: int
    end_to_end: int


class TesterDiameter:
    def __init__(self, peer: tuple[str, int], origin_host: str, origin_realm: str,
                 local_host: str | None, tap: Any) -> None:
        self.peer, self.origin_host, self.origin_realm = peer, origin_host, origin_realm
        self.local_host, self.tap = local_host, tap
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.conn: Any = None
        self._ids = itertools.count(0x5A000001)

    async def connect(self) -> None:
        try:
            self.conn = await open_diameter_tcp_client(
                self.peer[0], self.peer[1], self._on_message, on_close=self._on_close,
                local_host=self.local_host, tap=self.tap)
        except OSError as exc:
            raise Inconclusive(f"Diameter peer {self.peer[0]}:{self.peer[1]} unreachable: "
                               f"{exc}") from exc

    def _on_message(self, conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        try:
            self.inbox.put_nowait(diameter.decode(payload, strict=False))
        except DecodeError:
            pass

    def _on_close(self, conn: Any, *args: Any) -> None:
        self.closed.set()

    def ids(self) -> Ids:
        n = next(self._ids)
        return {"hop_by_hop": n, "end_to_end": n}

    def session_id(self) -> str:
        # RFC 6733 §8.8: unique across the run, so that no case meets another's session
        return diameter.session_id(self.origin_host, 1, next(_sessions), "conformance")

    def send(self, msg: Message | bytes) -> None:
        self.conn.send(msg if isinstance(msg, bytes) else diameter.encode(msg))

    async def receive(self, timeout: float = 5.0, what: str = "a Diameter message") -> Message:
        return await get(self.inbox, timeout, what)

    async def answer_to(self, request: Message, timeout: float = 5.0) -> Message:
        """Send `request` and return the answer, answering DWRs in between (RFC 6733 §5.5)."""
        self.send(request)
        while True:
            msg = await self.receive(timeout, f"the answer to {request.name}")
            if msg.name == "DWR":
                self.send(diameter.dwa(msg, self.origin_host, self.origin_realm))
                continue
            return msg

    async def capabilities(self, **kw: Any) -> Message:
        """CER/CEA (RFC 6733 §5.3)."""
        if self.conn is None:
            await self.connect()
        host_ip = self.local_host or "127.0.0.1"
        n = next(self._ids)
        return await self.answer_to(diameter.cer(self.origin_host, self.origin_realm, [host_ip],
                                                 hop_by_hop=n, end_to_end=n, **kw))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


RELAY_APPLICATION_ID = 0xFFFFFFFF  # RFC 6733 §2.4


def advertised(cea: Message) -> set[int]:
    """The applications a CEA advertises (RFC 6733 §5.3.2): Auth-Application-Id and those of
    Vendor-Specific-Application-Id."""
    apps = {int(a) for a in diameter.avp_all(cea, "Auth-Application-Id")}
    for vsai in diameter.avp_all(cea, "Vendor-Specific-Application-Id"):
        apps.update(int(a) for a in diameter.avp_all(vsai, "Auth-Application-Id"))
    return apps


def result_code(msg: Message) -> int | None:
    """Result-Code, or the Experimental-Result-Code (RFC 6733 §7.1, §7.6)."""
    code = diameter.avp(msg, "Result-Code")
    if code is None:
        code = diameter.avp(msg, "Experimental-Result", "Experimental-Result-Code")
    return None if code is None else int(code)
