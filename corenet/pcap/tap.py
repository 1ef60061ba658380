"""The transports' tap turned into capture records with each interface's standard framing."""

from __future__ import annotations

from collections.abc import Collection

from corenet.pcap.writer import PcapWriter
from corenet.transport.base import Address, Direction


class PcapTap:
    """Pass `tap=PcapTap(writer).sctp` to an SCTP transport (kernel or fallback), `.tcp` to a
    Diameter/SIP TCP transport, `.udp` to a UDP endpoint.

    When both ends of a link run in one process and share the writer, record only one
    direction (`directions={Direction.SENT}`) so each message appears once.
    """

    def __init__(
        self, writer: PcapWriter, directions: Collection[Direction] = (Direction.SENT,
                                                                        Direction.RECEIVED)
    ) -> None:
        self.writer = writer
        self.directions = frozenset(directions)

    def keeps(self, direction: Direction, src: Address) -> bool:
        return direction in self.directions

    def sctp(self, direction: Direction, src: Address, dst: Address, payload: bytes,
             ppid: int, stream: int) -> None:
        if direction in self.directions:
            self.writer.sctp(src, dst, payload, ppid, stream)

    def tcp(self, direction: Direction, src: Address, dst: Address, payload: bytes,
            ppid: int = 0, stream: int = 0) -> None:
        if direction in self.directions:
            self.writer.tcp(src, dst, payload)

    def udp(self, direction: Direction, src: Address, dst: Address, payload: bytes,
            ppid: int = 0, stream: int = 0) -> None:
        if direction in self.directions:
            self.writer.udp(src, dst, payload)
