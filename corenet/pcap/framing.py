"""Standard framing for captures: IPv4/IPv6 (RFC 791 / RFC 8200), TCP (RFC 9293), UDP (RFC 768).

Sans-I/O: each function returns the raw IP packets to record; the writer adds timestamps.
Packets are built with scapy so lengths and checksums are real.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from corenet.pcap import layers

if TYPE_CHECKING:
    from scapy.packet import Packet

Endpoint = tuple[str, int]

# An Ethernet path: 1500-byte IP MTU (RFC 894), so MSS = MTU - IP - TCP headers (RFC 9293 §3.7.1).
IP_MTU = 1500
# RFC 9293 §3.8.6: the receive window we advertise; no window scaling option is sent.
TCP_WINDOW = 65535


@dataclass(frozen=True)
class Frame:
    """One captured IP packet; `completes_message` marks the packet ending a user message
    (where a reader shows the reassembled message, so the record's comment goes there)."""

    packet: bytes
    completes_message: bool = False


def seeded_u32(seed: int, *labels: object) -> int:
    """A nonzero 32-bit value derived from the seed and labels, independent of call order."""
    text = "|".join([str(seed), *(str(x) for x in labels)]).encode()
    value = int.from_bytes(hashlib.sha256(text).digest()[:4], "big")
    return value or 1


def ip_version(address: str) -> int:
    try:
        return ipaddress.ip_address(address).version
    except ValueError as exc:
        raise ValueError(f"not an IP address: {address!r}") from exc


def check_endpoints(src: Endpoint, dst: Endpoint) -> int:
    """Both ends must be the same IP version; ports are 16-bit. Returns the version."""
    version = ip_version(src[0])
    if ip_version(dst[0]) != version:
        raise ValueError(f"cannot mix IPv4 and IPv6 in one packet: {src[0]} -> {dst[0]}")
    for port in (src[1], dst[1]):
        if not 0 <= port <= 0xFFFF:
            raise ValueError(f"port out of range: {port}")
    return version


def ip_header_len(version: int) -> int:
    return 20 if version == 4 else 40


def ip_packet(src_ip: str, dst_ip: str, l4: Packet) -> bytes:
    """RFC 791: DF set and ID 0, as RFC 6864 §4.1 allows for atomic datagrams."""
    if ip_version(src_ip) == 4:
        return bytes(layers.IP(src=src_ip, dst=dst_ip, id=0, flags="DF", ttl=64) / l4)
    return bytes(layers.IPv6(src=src_ip, dst=dst_ip, hlim=64) / l4)


def flow_key(src: Endpoint, dst: Endpoint) -> tuple[Endpoint, Endpoint]:
    """One association/connection per unordered 4-tuple."""
    a, b = (src[0], int(src[1])), (dst[0], int(dst[1]))
    return (a, b) if a <= b else (b, a)


def udp_datagram(src: Endpoint, dst: Endpoint, payload: bytes) -> Frame:
    """RFC 768; checksum computed (mandatory over IPv6, RFC 8200 §8.1)."""
    check_endpoints(src, dst)
    return Frame(ip_packet(src[0], dst[0], layers.UDP(sport=src[1], dport=dst[1]) / layers.Raw(payload)), True)


@dataclass
class _TcpSide:
    endpoint: Endpoint
    isn: int
    snd_nxt: int = 0
    # highest sequence number the peer has acknowledged to this side
    acked: int = 0


@dataclass
class TcpStream:
    """One TCP connection seen on the wire: handshake on first use, then seq/ack per direction.

    RFC 9293 §3.5: SYN consumes one sequence number; every later segment carries ACK of all the
    peer's bytes so far (data is captured in order, so the acknowledgment is cumulative).
    """

    client: Endpoint
    server: Endpoint
    seed: int
    incarnation: int = 0
    _sides: dict[Endpoint, _TcpSide] = field(default_factory=dict, init=False)
    version: int = field(default=4, init=False)

    def __post_init__(self) -> None:
        self.version = check_endpoints(self.client, self.server)
        for ep in (self.client, self.server):
            key = flow_key(self.client, self.server)
            isn = seeded_u32(self.seed, "tcp-isn", key, ep, self.incarnation)
            self._sides[ep] = _TcpSide(ep, isn, (isn + 1) & 0xFFFFFFFF, (isn + 1) & 0xFFFFFFFF)

    @property
    def mss(self) -> int:
        return IP_MTU - ip_header_len(self.version) - 20

    def _segment(self, src: _TcpSide, dst: _TcpSide, flags: str, seq: int, ack: int | None,
                 payload: bytes = b"", options: list[tuple[str, int]] | None = None,
                 completes: bool = False) -> Frame:
        tcp = layers.TCP(
            sport=src.endpoint[1], dport=dst.endpoint[1], seq=seq, ack=ack or 0,
            flags=flags, window=TCP_WINDOW, options=options or [],
        )
        l4: Packet = tcp / layers.Raw(payload) if payload else tcp
        return Frame(ip_packet(src.endpoint[0], dst.endpoint[0], l4), completes)

    def handshake(self) -> list[Frame]:
        """RFC 9293 §3.5 three-way handshake, MSS option per §3.7.1."""
        c, s = self._sides[self.client], self._sides[self.server]
        mss = [("MSS", self.mss)]
        return [
            self._segment(c, s, "S", c.isn, None, options=mss),
            self._segment(s, c, "SA", s.isn, c.snd_nxt, options=mss),
            self._segment(c, s, "A", c.snd_nxt, s.snd_nxt),
        ]

    def data(self, src: Endpoint, payload: bytes) -> list[Frame]:
        """Segments of at most MSS bytes, PSH on the last; a pure ACK from the receiver first
        when the bytes in flight would pass half its window (keeps the window from filling)."""
        me, peer = self._sides[src], self._other(src)
        out: list[Frame] = []
        in_flight = (me.snd_nxt - me.acked) & 0xFFFFFFFF
        if in_flight and in_flight + len(payload) > TCP_WINDOW // 2:
            out.append(self._segment(peer, me, "A", peer.snd_nxt, me.snd_nxt))
            me.acked = me.snd_nxt
        if not payload:
            raise ValueError("a TCP data record needs a payload")
        chunks = [payload[i : i + self.mss] for i in range(0, len(payload), self.mss)]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            out.append(self._segment(me, peer, "PA" if last else "A", me.snd_nxt, peer.snd_nxt,
                                     chunk, completes=last))
            me.snd_nxt = (me.snd_nxt + len(chunk)) & 0xFFFFFFFF
        # every segment we sent acknowledged all the peer's bytes
        peer.acked = peer.snd_nxt
        return out

    def close(self, src: Endpoint) -> list[Frame]:
        """RFC 9293 §3.6: FIN from src, the peer's FIN (its ACK combined), the final ACK."""
        me, peer = self._sides[src], self._other(src)
        fin_seq, peer_fin_seq = me.snd_nxt, peer.snd_nxt
        out = [
            self._segment(me, peer, "FA", fin_seq, peer_fin_seq),
            self._segment(peer, me, "FA", peer_fin_seq, (fin_seq + 1) & 0xFFFFFFFF),
            self._segment(me, peer, "A", (fin_seq + 1) & 0xFFFFFFFF,
                          (peer_fin_seq + 1) & 0xFFFFFFFF),
        ]
        me.snd_nxt = (fin_seq + 1) & 0xFFFFFFFF
        peer.snd_nxt = (peer_fin_seq + 1) & 0xFFFFFFFF
        return out

    def _other(self, src: Endpoint) -> _TcpSide:
        if src not in self._sides:
            raise KeyError(src)
        other = self.server if src == self.client else self.client
        return self._sides[other]


# Wireshark's exported-PDU link type and tags (wiretap/exported_pdu.h): the payload is handed to
# the dissector named by the PROTO_NAME tag (e.g. "lte_rrc.bcch_dl_sch" for what a cell
# broadcasts, which has no IP framing).
LINKTYPE_WIRESHARK_UPPER_PDU = 252
EXP_PDU_TAG_PROTO_NAME = 12
EXP_PDU_TAG_END = 0


def exported_pdu(proto_name: str, payload: bytes) -> bytes:
    """One exported-PDU record: the PROTO_NAME tag, the end-of-options tag, then the PDU."""
    name = proto_name.encode()
    return (EXP_PDU_TAG_PROTO_NAME.to_bytes(2, "big") + len(name).to_bytes(2, "big") + name
            + EXP_PDU_TAG_END.to_bytes(2, "big") + bytes(2) + payload)
