"""UDP endpoints (GTPv2-C, SIP): datagram round trip and tap directions."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from corenet.pcap import PcapTap, PcapWriter
from corenet.pcap.reader import parse_packets
from corenet.transport import Direction, open_udp_endpoint
from tests.unit.pcap.messages import gtpv2_echo

WAIT = 5.0


async def test_round_trip_and_tap() -> None:
    taps: list[tuple[Any, ...]] = []
    got: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
    sgw_holder: list[Any] = []

    def sgw_on_datagram(payload: bytes, addr: tuple[str, int]) -> None:
        sgw_holder[0].sendto(gtpv2_echo(False, 1), addr)  # TS 29.274 §7.1.2 Echo Response

    sgw = await open_udp_endpoint("127.0.0.1", 0, sgw_on_datagram)
    sgw_holder.append(sgw)
    mme = await open_udp_endpoint("127.0.0.1", 0, lambda p, a: got.put_nowait((p, a)),
                                  tap=lambda *a: taps.append(a))
    async with sgw, mme:
        mme.sendto(gtpv2_echo(True, 1), sgw.local)
        payload, addr = await asyncio.wait_for(got.get(), WAIT)
        assert payload == gtpv2_echo(False, 1)
        assert addr == sgw.local
        assert taps == [
            (Direction.SENT, mme.local, sgw.local, gtpv2_echo(True, 1), 0, 0),
            (Direction.RECEIVED, sgw.local, mme.local, gtpv2_echo(False, 1), 0, 0),
        ]
    assert mme.closed and sgw.closed


async def test_pcap_tap_udp() -> None:
    buf = io.BytesIO()
    writer = PcapWriter(buf)
    tap = PcapTap(writer)
    got: asyncio.Queue[bytes] = asyncio.Queue()
    a = await open_udp_endpoint("127.0.0.1", 0, lambda p, addr: got.put_nowait(p), tap=tap.udp)
    b = await open_udp_endpoint("127.0.0.1", 0, lambda p, addr: None)
    async with a, b:
        b.sendto(b"SIP/2.0 200 OK\r\n\r\n", a.local)
        a.sendto(b"OPTIONS sip:x SIP/2.0\r\n\r\n", b.local)
        assert await asyncio.wait_for(got.get(), WAIT) == b"SIP/2.0 200 OK\r\n\r\n"
    writer.close()
    packets = parse_packets(buf.getvalue())
    assert len(packets) == 2
    assert all(p.data[9] == 17 for p in packets)  # IPv4 protocol 17 = UDP
    assert {p.data[28:] for p in packets} == {b"SIP/2.0 200 OK\r\n\r\n",
                                              b"OPTIONS sip:x SIP/2.0\r\n\r\n"}
