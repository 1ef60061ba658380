"""Interop with a real SIP user agent: sipp (Debian `sip-tester`) against our stack.

(a) sipp places an emergency INVITE (urn:service:sos.fire) to a UAS built from our transport
and transactions; (b) our UAC calls sipp's built-in UAS. Both legs go to one pcap that tshark
must dissect without malformed packets.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
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

pytestmark = pytest.mark.tshark

WAIT = 20.0
SIPP_TIMEOUT = "15s"

SOS_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="sos uac">
  <send retrans="500">
    <![CDATA[
      INVITE urn:service:sos.fire SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+819012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <urn:service:sos.fire>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Subject: Emergency call
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK urn:service:sos.fire SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+819012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <urn:service:sos.fire>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="200"/>
  <send retrans="500">
    <![CDATA[
      BYE urn:service:sos.fire SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+819012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <urn:service:sos.fire>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sipp_bin() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise RuntimeError("sipp is not installed: run scripts/setup.sh as root (sip-tester)")
    return path


async def run_sipp(*args: str, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sipp_bin(), *args, "-nostdin", "-m", "1", "-timeout", SIPP_TIMEOUT, "-timeout_error",
        "-trace_stat", "-stf", "stat.csv", "-trace_err", cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), WAIT + 10)
    return proc.returncode if proc.returncode is not None else -1, out.decode(errors="replace")


def stat_counter(cwd: Path, name: str) -> int:
    """The last value of a column of sipp's -trace_stat CSV (';' separated)."""
    lines = (cwd / "stat.csv").read_text().splitlines()
    header = lines[0].split(";")
    return int(lines[-1].split(";")[header.index(name)])


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
    (tmp_path / "sos.xml").write_text(SOS_SCENARIO)
    try:
        rc, out = await run_sipp(
            "-sf", "sos.xml", "-i", "127.0.0.1", "-p", str(free_udp_port()),
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
