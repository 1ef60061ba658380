"""Every message a transport carries, in hex, on the `corenet.wire` logger at DEBUG.

A tap like `PcapTap` (pass `.sctp`, `.tcp`, `.udp` to the transports, or the whole object to a
runtime's observers); the interface is named from the SCTP PPID or the well-known port (S1AP:
TS 36.412 §7, Diameter: RFC 6733 §2.1, GTPv2-C: TS 29.274 §4.2, SIP: RFC 3261 §18).
"""

from __future__ import annotations

import logging

from corenet.core.actions import LogEvent
from corenet.core.logs import log_event
from corenet.pcap.writer import PORT_DIAMETER, PORT_GTPV2C, PORT_S1AP, PORT_SIP, PPID_S1AP
from corenet.transport.base import Address, Direction

log = logging.getLogger("corenet.wire")

_BY_PORT = {PORT_S1AP: "s1ap", PORT_DIAMETER: "diameter", PORT_GTPV2C: "gtpv2c", PORT_SIP: "sip"}


def interface(src: Address, dst: Address, ppid: int = 0) -> str | None:
    if ppid == PPID_S1AP:
        return "s1ap"
    return _BY_PORT.get(int(dst[1])) or _BY_PORT.get(int(src[1]))


class WireLog:
    """Logs `wire.sent` / `wire.received` events (DEBUG) with the message's hex."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self.logger = logger

    def sctp(self, direction: Direction, src: Address, dst: Address, payload: bytes,
             ppid: int, stream: int) -> None:
        self._log(direction, "sctp", src, dst, payload, ppid, stream)

    def tcp(self, direction: Direction, src: Address, dst: Address, payload: bytes,
            ppid: int = 0, stream: int = 0) -> None:
        self._log(direction, "tcp", src, dst, payload, ppid, stream)

    def udp(self, direction: Direction, src: Address, dst: Address, payload: bytes,
            ppid: int = 0, stream: int = 0) -> None:
        self._log(direction, "udp", src, dst, payload, ppid, stream)

    def _log(self, direction: Direction, transport: str, src: Address, dst: Address,
             payload: bytes, ppid: int, stream: int) -> None:
        if not self.logger.isEnabledFor(logging.DEBUG):
            return
        verb = "sent" if direction is Direction.SENT else "received"
        log_event(self.logger, LogEvent(f"wire.{verb}", {
            "interface": interface(src, dst, ppid), "transport": transport,
            "src": f"{src[0]}:{src[1]}", "dst": f"{dst[0]}:{dst[1]}", "ppid": ppid,
            "stream": stream, "length": len(payload), "hex": payload.hex()}))
