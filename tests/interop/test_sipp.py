"""Interop with a real SIP user agent: sipp (Debian `sip-tester`) against our stack.

(a) sipp places an emergency INVITE (urn:service:sos.fire) to a UAS built from our transport
and transactions; (b) our UAC calls sipp's built-in UAS. Both legs go to one pcap that tshark
must dissect without malformed packets.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from corenet.codecs import sdp, sip
from corenet.codecs.sip import SipRequest
from corenet.pcap import PcapTap, PcapWriter
from corenet.protocols.sip_transactions import (
    Dialog,
    Event,
    RequestReceived,
    ResponseReceived,
    Timers,
)
from corenet.transport.sip import SipPeer, SipStack
from tests import tshark
from tests.sipp import WAIT, free_udp_port, run_sipp, scenario, stat_counter

pytestmark = pytest.mark.tshark












class Uas:
    """A tiny PSAP-like UAS: 180, then 200 with an SDP answer; 200 to BYE."""

    def __init__(self, stack: SipStack) -> None:
        self.stack = stack
        self.requests: list[SipRequest] = []
        self.done = asyncio.Event()

    def on_event(self, event: Event, peer: SipPeer) -> None:
        if not isinstance(event, RequestReceived):
            return
        req = event.request
        self.requests.append(req)
        if req.method == "INVITE":
            tag = sip.new_tag()
            host, port = self.stack.local
            self.stack.send_response(sip.response_for(req, 180, to_tag=tag), peer)
            offer = sdp.decode(req.body_parts()[0].body)
            answer = sdp.encode(sdp.audio_answer(offer, host, 40000))
            self.stack.send_response(sip.response_for(
                req, 200, to_tag=tag, headers=[("Contact", f"<sip:psap@{host}:{port}>")],
                body=answer, content_type="application/sdp"), peer)
        elif req.method == "BYE":
            self.stack.send_response(sip.response_for(req, 200), peer)
            self.done.set()


async def test_sipp_places_emergency_call_to_our_uas(tmp_path: Path) -> None:
    writer = PcapWriter(tmp_path / "uas.pcapng")
    tap = PcapTap(writer)
    uas: Uas | None = None
    stack = SipStack(lambda e, p: uas.on_event(e, p) if uas else None, udp_tap=tap.udp,
                     timers=Timers(t1=0.5))
    uas = Uas(stack)
    await stack.start("127.0.0.1", 0, tcp=False)
    sos = scenario("sos_uac", tmp_path)
    try:
        rc, out = await run_sipp(
            "-sf", sos, "-i", "127.0.0.1", "-p", str(free_udp_port()),
            f"127.0.0.1:{stack.local[1]}", cwd=tmp_path)
        await asyncio.wait_for(uas.done.wait(), WAIT)
    finally:
        stack.close()
        await stack.wait_closed()
        writer.close()
    assert rc == 0, out
    assert stat_counter(tmp_path, "SuccessfulCall(C)") == 1
    assert stat_counter(tmp_path, "FailedCall(C)") == 0
    assert [r.method for r in uas.requests] == ["INVITE", "ACK", "BYE"]
    assert uas.requests[0].request_uri.is_emergency
    pcap = tmp_path / "uas.pcapng"
    assert tshark.values(pcap, "sip.Method", opts=()) == ["INVITE", "ACK", "BYE"]
    assert tshark.values(pcap, "sip.Status-Code", opts=()) == ["180", "200", "200"]
    assert tshark.count(pcap, "_ws.malformed", opts=()) == 0


async def test_our_uac_calls_sipp_uas(tmp_path: Path) -> None:
    writer = PcapWriter(tmp_path / "uac.pcapng")
    tap = PcapTap(writer)
    responses: asyncio.Queue[ResponseReceived] = asyncio.Queue()

    def on_event(event: Event, peer: SipPeer) -> None:
        if isinstance(event, ResponseReceived):
            responses.put_nowait(event)

    stack = SipStack(on_event, udp_tap=tap.udp, timers=Timers(t1=0.5))
    await stack.start("127.0.0.1", 0, tcp=False)
    sipp_port = free_udp_port()
    sipp_task = asyncio.ensure_future(run_sipp(
        "-sn", "uas", "-i", "127.0.0.1", "-p", str(sipp_port), cwd=tmp_path))
    peer = SipPeer("UDP", ("127.0.0.1", sipp_port))
    host, port = stack.local
    try:
        await asyncio.sleep(0.5)  # sipp binds its socket
        offer = sdp.encode(sdp.audio_offer(host, 41000))
        invite = sip.make_request(
            "INVITE", f"sip:psap@127.0.0.1:{sipp_port}",
            from_=f"<sip:+819012345678@{host}>;tag={sip.new_tag()}",
            to=f"<sip:psap@127.0.0.1:{sipp_port}>", call_id=sip.new_call_id(host), cseq=1,
            via=stack.via(), contact=f"<sip:ue@{host}:{port}>", body=offer,
            content_type="application/sdp")
        await stack.send_request(invite, peer)
        final = None
        while final is None:
            got = await asyncio.wait_for(responses.get(), WAIT)
            if got.response.status >= 200:
                final = got.response
        assert final.status == 200
        dialog = Dialog.from_uac(invite, final)
        await stack.send_request(dialog.create_request("ACK", stack.via()), peer)
        bye = dialog.create_request("BYE", stack.via())
        await stack.send_request(bye, peer)
        bye_ok = await asyncio.wait_for(responses.get(), WAIT)
        rc, out = await sipp_task
    finally:
        stack.close()
        await stack.wait_closed()
        writer.close()
    assert bye_ok.response.status == 200 and bye_ok.response.cseq == sip.CSeq(2, "BYE")
    answer = sdp.decode(final.body)
    assert answer.audio() is not None
    assert rc == 0, out
    assert stat_counter(tmp_path, "SuccessfulCall(C)") == 1
    pcap = tmp_path / "uac.pcapng"
    assert tshark.values(pcap, "sip.Method", opts=()) == ["INVITE", "ACK", "BYE"]
    assert tshark.values(pcap, "sip.Status-Code", opts=()) == ["180", "200", "200"]
    assert tshark.count(pcap, "_ws.malformed", opts=()) == 0
