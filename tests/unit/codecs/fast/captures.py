"""Every message of the reference captures (pcaps/*.pcapng), as (protocol, bytes) pairs.

The captures are raw IPv4 (LINKTYPE_RAW): S1AP on SCTP port 36412 (and the NAS PDUs inside),
Diameter on TCP or SCTP port 3868 (a TCP segment may carry several messages, RFC 6733 §3
Message Length splits them), GTPv2-C on UDP port 2123.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scapy.all import IP, SCTP, TCP, UDP, SCTPChunkData

from corenet.pcap.reader import read_packets

ROOT = Path(__file__).resolve().parents[4]
CAPTURES = sorted((ROOT / "pcaps").glob("*.pcapng"))
S1AP_PORT, DIAMETER_PORT, GTPC_PORT = 36412, 3868, 2123


def _split_diameter(stream: bytes) -> Iterator[bytes]:
    pos = 0
    while pos + 4 <= len(stream):
        length = int.from_bytes(stream[pos + 1:pos + 4], "big")
        if length < 20:
            return
        yield stream[pos:pos + length]
        pos += length


def messages(path: Path) -> Iterator[tuple[str, bytes]]:
    for packet in read_packets(path):
        ip: Any = IP(packet.data)
        if ip.haslayer(UDP) and GTPC_PORT in (ip[UDP].sport, ip[UDP].dport):
            yield "gtpv2", bytes(ip[UDP].payload)
        elif ip.haslayer(TCP) and DIAMETER_PORT in (ip[TCP].sport, ip[TCP].dport):
            yield from (("diameter", m) for m in _split_diameter(bytes(ip[TCP].payload)))
        elif ip.haslayer(SCTP):
            ports = (ip[SCTP].sport, ip[SCTP].dport)
            proto = "s1ap" if S1AP_PORT in ports else "diameter" if DIAMETER_PORT in ports else None
            chunk = ip.getlayer(SCTPChunkData)
            while proto is not None and chunk is not None:
                yield proto, bytes(chunk.data)
                chunk = chunk.payload.getlayer(SCTPChunkData) if chunk.payload else None
