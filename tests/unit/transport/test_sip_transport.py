"""SIP over UDP and TCP (RFC 3261 §18): decoding, 4xx on bad requests, TCP framing, taps."""

from __future__ import annotations

import asyncio
import io

from corenet.codecs import sip
from corenet.codecs.sip import SipMessage, SipRequest, SipResponse
from corenet.pcap import PcapTap, PcapWriter
from corenet.pcap.reader import parse_packets
from corenet.transport import open_udp_endpoint
from corenet.transport.sip import SipFramer, SipPeer, SipTransport, stamp_received

WAIT = 5.0


def options(branch: str = "z9hG4bK1", *, call_id: str = "c1@ue") -> bytes:
    return sip.encode(sip.make_request(
        "OPTIONS", "sip:psap@127.0.0.1", from_="<sip:ue@127.0.0.1>;tag=t", to="<sip:psap@x>",
        call_id=call_id, cseq=1, via=f"SIP/2.0/UDP 127.0.0.1:5999;branch={branch};rport"))


def test_framer_content_length_and_keepalives() -> None:
    f = SipFramer()
    one = options()
    body = sip.encode(sip.make_request(
        "MESSAGE", "sip:x@y", from_="<sip:a@b>;tag=1", to="<sip:x@y>", call_id="m", cseq=1,
        via="SIP/2.0/TCP h;branch=z9hG4bK2", body=b"hello", content_type="text/plain"))
    stream = b"\r\n\r\n" + one + body
    frames = [fr.payload for i in range(0, len(stream), 7) for fr in f.feed(stream[i:i + 7])]
    assert frames == [one, body]
    assert f.error is None
    bad = SipFramer()
    assert bad.feed(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: x\r\n\r\n") == []
    assert bad.error is not None and bad.error.cause == 400
    big = SipFramer()
    big.feed(b"A" * (sip.MAX_MESSAGE + 10))
    assert big.error is not None and big.error.cause == 513


def test_stamp_received_and_rport() -> None:
    req = sip.decode(options())
    assert isinstance(req, SipRequest)
    stamp_received(req, ("10.9.8.7", 40000))
    via = req.vias[0]
    assert via.received == "10.9.8.7" and via.rport == 40000  # §18.2.1, RFC 3581 §4


async def test_udp_delivers_and_answers_bad_requests() -> None:
    got: asyncio.Queue[tuple[SipMessage, SipPeer]] = asyncio.Queue()
    replies: asyncio.Queue[bytes] = asyncio.Queue()
    server = SipTransport(lambda m, p: got.put_nowait((m, p)))
    await server.start("127.0.0.1", 0)
    client = await open_udp_endpoint("127.0.0.1", 0, lambda d, a: replies.put_nowait(d))
    try:
        client.sendto(b"\x00\xffgarbage", server.local)  # unanswerable: dropped
        bad = options().replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)
        client.sendto(bad, server.local)
        resp = sip.decode(await asyncio.wait_for(replies.get(), WAIT))
        assert isinstance(resp, SipResponse) and resp.status == 505
        assert resp.call_id == "c1@ue"
        client.sendto(options(), server.local)  # still serving
        msg, peer = await asyncio.wait_for(got.get(), WAIT)
        assert isinstance(msg, SipRequest) and msg.method == "OPTIONS"
        assert peer == SipPeer("UDP", client.local)
        assert msg.vias[0].rport == client.local[1]
        server.send(sip.response_for(msg, 200), peer)
        ok = sip.decode(await asyncio.wait_for(replies.get(), WAIT))
        assert isinstance(ok, SipResponse) and ok.status == 200
        assert server.rejected == 1 and server.dropped == 1
    finally:
        client.close()
        server.close()
        await server.wait_closed()


async def test_tcp_round_trip_with_pcap_tap() -> None:
    buf = io.BytesIO()
    writer = PcapWriter(buf)
    tap = PcapTap(writer)
    got: asyncio.Queue[tuple[SipMessage, SipPeer]] = asyncio.Queue()
    server = SipTransport(lambda m, p: got.put_nowait((m, p)), tcp_tap=tap.tcp)
    await server.start("127.0.0.1", 0, udp=False)
    answers: asyncio.Queue[SipMessage] = asyncio.Queue()
    client = SipTransport(lambda m, p: answers.put_nowait(m))
    await client.start("127.0.0.1", 0, udp=False)
    try:
        await client.connect(server.local)
        req = sip.decode(options())
        client.send(req, SipPeer("TCP", server.local))
        msg, peer = await asyncio.wait_for(got.get(), WAIT)
        assert peer.transport == "TCP" and isinstance(msg, SipRequest)
        server.send(sip.response_for(msg, 200), peer)
        ans = await asyncio.wait_for(answers.get(), WAIT)
        assert isinstance(ans, SipResponse) and ans.status == 200
    finally:
        client.close()
        server.close()
        await server.wait_closed()
    writer.close()
    packets = parse_packets(buf.getvalue())
    payloads = [p.data for p in packets if b"SIP/2.0" in p.data]
    assert len(payloads) == 2 and all(p[9] == 6 for p in payloads)  # IPv4 protocol 6 = TCP
