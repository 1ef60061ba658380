"""SCTP associations as they appear on the wire (RFC 9260), for captures.

Sans-I/O: methods return raw IP packets. One association per unordered 4-tuple: the side that
sends first is the initiator and the four-way handshake (§5.1) is emitted before its first DATA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from corenet.pcap import layers
from corenet.pcap.framing import (
    IP_MTU,
    Endpoint,
    Frame,
    check_endpoints,
    flow_key,
    ip_header_len,
    ip_packet,
    seeded_u32,
)

if TYPE_CHECKING:
    from scapy.packet import Packet

# RFC 9260 §3.3.2: a_rwnd advertised in INIT/INIT-ACK and SACK (a common Linux default).
A_RWND = 106496
# §3.3.2: number of outbound streams / maximum inbound streams; stream ids are 0..N-1.
N_STREAMS = 65535
# §3.1 common header, §3.3.1 DATA chunk header, §3.3.4 SACK chunk without gap blocks.
COMMON_HEADER = 12
DATA_HEADER = 16
SACK_CHUNK = 16


@dataclass
class _SctpSide:
    endpoint: Endpoint
    tag: int  # the Initiate Tag this side chose: packets sent *to* it carry it (§8.5)
    next_tsn: int
    ssn: dict[int, int] = field(default_factory=dict)
    # highest TSN received from the peer (in order, so also the cumulative TSN ack)
    cum_tsn: int | None = None
    unacked_packets: int = 0


@dataclass
class SctpAssociation:
    """RFC 9260 association state for the capture: tags, TSNs per direction, SSN per stream."""

    initiator: Endpoint
    responder: Endpoint
    seed: int
    incarnation: int = 0
    _sides: dict[Endpoint, _SctpSide] = field(default_factory=dict, init=False)
    version: int = field(default=4, init=False)

    def __post_init__(self) -> None:
        self.version = check_endpoints(self.initiator, self.responder)
        key = flow_key(self.initiator, self.responder)
        for ep in (self.initiator, self.responder):
            tag = seeded_u32(self.seed, "sctp-tag", key, ep, self.incarnation)
            tsn = seeded_u32(self.seed, "sctp-tsn", key, ep, self.incarnation)
            self._sides[ep] = _SctpSide(ep, tag, tsn)

    @property
    def max_fragment(self) -> int:
        """§6.9: user data per DATA chunk so a packet (with a bundled SACK) fits the path MTU."""
        return IP_MTU - ip_header_len(self.version) - COMMON_HEADER - SACK_CHUNK - DATA_HEADER

    def _packet(self, src: _SctpSide, dst: _SctpSide, tag: int, chunks: list[Packet],
                completes: bool = False) -> Frame:
        sctp: Packet = layers.SCTP(sport=src.endpoint[1], dport=dst.endpoint[1], tag=tag)
        for chunk in chunks:
            sctp = sctp / chunk
        # scapy computes the CRC32c checksum of §6.8 when chksum is left unset.
        return Frame(ip_packet(src.endpoint[0], dst.endpoint[0], sctp), completes)

    def _cookie(self) -> bytes:
        key = flow_key(self.initiator, self.responder)
        parts = [seeded_u32(self.seed, "cookie", key, self.incarnation, i) for i in range(8)]
        return b"".join(p.to_bytes(4, "big") for p in parts)

    def handshake(self) -> list[Frame]:
        """§5.1: INIT (verification tag 0, §8.5.1), INIT ACK with a State Cookie, COOKIE ECHO,
        COOKIE ACK."""
        a, z = self._sides[self.initiator], self._sides[self.responder]
        cookie = self._cookie()
        init = layers.SCTPChunkInit(
            flags=0, init_tag=a.tag, a_rwnd=A_RWND, n_out_streams=N_STREAMS,
            n_in_streams=N_STREAMS, init_tsn=a.next_tsn,
        )
        init_ack = layers.SCTPChunkInitAck(
            flags=0, init_tag=z.tag, a_rwnd=A_RWND, n_out_streams=N_STREAMS,
            n_in_streams=N_STREAMS, init_tsn=z.next_tsn,
            params=[layers.SCTPChunkParamStateCookie(cookie=cookie)],
        )
        return [
            self._packet(a, z, 0, [init]),
            self._packet(z, a, a.tag, [init_ack]),
            self._packet(a, z, z.tag, [layers.SCTPChunkCookieEcho(flags=0, cookie=cookie)]),
            self._packet(z, a, a.tag, [layers.SCTPChunkCookieAck(flags=0)]),
        ]

    def _sack(self, side: _SctpSide) -> Packet:
        """§3.3.4: cumulative TSN ack of everything received; data arrives in order, so no gaps."""
        if side.cum_tsn is None:
            raise RuntimeError("SACK requested before any DATA was received")
        side.unacked_packets = 0
        return layers.SCTPChunkSACK(flags=0, cumul_tsn_ack=side.cum_tsn, a_rwnd=A_RWND)

    def data(self, src: Endpoint, payload: bytes, ppid: int, stream: int) -> list[Frame]:
        """DATA chunks (§3.3.1) for one user message, fragmented per §6.9 (B/E bits, one SSN).

        A SACK owed by the sender is bundled first (§6.10: control chunks precede DATA); the
        receiver acknowledges at least every second packet (§6.2) with a SACK of its own.
        """
        if not payload:
            raise ValueError("SCTP DATA must carry user data (RFC 9260 §3.3.1)")
        if not 0 <= stream < N_STREAMS:
            raise ValueError(f"stream {stream} outside 0..{N_STREAMS - 1}")
        if not 0 <= ppid <= 0xFFFFFFFF:
            raise ValueError(f"PPID {ppid} is not a 32-bit value")
        me, peer = self._sides[src], self._other(src)
        ssn = me.ssn.get(stream, 0)
        me.ssn[stream] = (ssn + 1) & 0xFFFF
        size = self.max_fragment
        pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
        out: list[Frame] = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            chunks: list[Packet] = []
            if me.unacked_packets:
                chunks.append(self._sack(me))
            chunks.append(layers.SCTPChunkData(
                reserved=0, unordered=0, beginning=int(i == 0), ending=int(last),
                tsn=me.next_tsn, stream_id=stream, stream_seq=ssn, proto_id=ppid, data=piece,
            ))
            out.append(self._packet(me, peer, peer.tag, chunks, completes=last))
            peer.cum_tsn = me.next_tsn
            peer.unacked_packets += 1
            me.next_tsn = (me.next_tsn + 1) & 0xFFFFFFFF
            if peer.unacked_packets >= 2:
                out.append(self._packet(peer, me, me.tag, [self._sack(peer)]))
        return out

    def shutdown(self, src: Endpoint) -> list[Frame]:
        """§9.2 graceful close: SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE."""
        me, peer = self._sides[src], self._other(src)
        last_from_peer = me.cum_tsn if me.cum_tsn is not None else (peer.next_tsn - 1) & 0xFFFFFFFF
        return [
            self._packet(me, peer, peer.tag,
                         [layers.SCTPChunkShutdown(flags=0, cumul_tsn_ack=last_from_peer)]),
            self._packet(peer, me, me.tag, [layers.SCTPChunkShutdownAck(flags=0)]),
            self._packet(me, peer, peer.tag, [layers.SCTPChunkShutdownComplete(reserved=0, TCB=0)]),
        ]

    def _other(self, src: Endpoint) -> _SctpSide:
        if src not in self._sides:
            raise KeyError(src)
        return self._sides[self.responder if src == self.initiator else self.initiator]
