"""sipp against the IMS emergency path: (a) sipp as a UE calls urn:service:sos.fire through our
P-CSCF and E-CSCF to our PSAP; (b) sipp as the PSAP (-sn uas) receives a call placed through
P-CSCF -> E-CSCF by a small UA. One capture per test; tshark dissects every SIP message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from corenet.config.models import (
    EcscfConfig,
    Endpoint,
    HomeImsRoute,
    ImsConfig,
    PcscfConfig,
    PsapConfig,
)
from corenet.nf.ims.binding import AccessMode, Cell, UeBinding
from corenet.nf.ims.service import ImsService
from corenet.nf.psap.service import PsapService
from corenet.pcap import PcapWriter
from corenet.runtime.supervisor import OncePerProcessTap
from tests import tshark
from tests.interop.test_sipp import free_udp_port, run_sipp, stat_counter
from tests.unit.nf.ims.ua import LoopbackUa

pytestmark = pytest.mark.tshark

UE = "127.146.61.1"
CSCFS = frozenset({"127.0.61.6", "127.0.61.7", "127.0.61.8", "127.0.61.9"})

SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="ue sos via pcscf">
  <send retrans="500">
    <![CDATA[
      INVITE urn:service:sos.fire SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+819000000000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <urn:service:sos.fire>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      P-Asserted-Identity: <tel:+819000000000>
      Max-Forwards: 70
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
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:+819000000000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <urn:service:sos.fire>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="200"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:+819000000000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <urn:service:sos.fire>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""

# sipp's built-in uas (-sn uas) with the Record-Route copied into its responses as RFC 3261
# §12.1.1 requires of a UAS, so the dialog's requests pass through the CSCFs again
PSAP_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="psap uas">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=psap 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv request="ACK" rtd="true" crlf="true"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""


async def _network(tap: OncePerProcessTap, psap_uri: str | None = None) -> tuple[
        ImsService, PsapService]:
    psap = PsapService(PsapConfig(listen=Endpoint(host="127.0.61.8", port=0),
                                  database=":memory:"), tap=tap)
    await psap.start()
    uri = psap_uri or f"sip:psap@127.0.61.8:{psap.local[1]}"
    ims = ImsService(ImsConfig(
        pcscf=PcscfConfig(listen=Endpoint(host="127.0.61.6", port=0),
                          ecscf=Endpoint(host="127.0.61.7", port=0),
                          home_ims=[HomeImsRoute(address=Endpoint(host="127.0.61.9", port=0))]),
        ecscf=EcscfConfig(listen=Endpoint(host="127.0.61.7", port=0), psaps=[],
                          default_psap=uri),
        home={"listen": Endpoint(host="127.0.61.9", port=0)}), tap=tap)
    await ims.start()
    # full roaming: the binding the S/P-GW session would give (TS 23.203 §6.1.1.2)
    ims.bindings.add(UeBinding(UE, AccessMode.FULL, "440100000000001", "819010000001", None,
                               "ims", Cell("44020", 1, 0x10101)))
    return ims, psap


async def test_sipp_ue_calls_sos_through_pcscf_to_our_psap(tmp_path: Path) -> None:
    writer = PcapWriter(tmp_path / "sos.pcapng")
    ims, psap = await _network(OncePerProcessTap(writer, CSCFS))  # sipp's sends recorded
    (tmp_path / "sos.xml").write_text(SCENARIO)
    host, port = ims.pcscf_address
    try:
        rc, out = await run_sipp("-sf", "sos.xml", "-i", UE, "-p", str(free_udp_port()),
                                 f"{host}:{port}", cwd=tmp_path)
    finally:
        await ims.stop()
        calls = psap.calls()
        await psap.stop()
        writer.close()
    assert rc == 0, out
    assert stat_counter(tmp_path, "SuccessfulCall(C)") == 1
    assert len(calls) == 1
    rec = calls[0]
    # the identity is the network's (the sipp UE's own P-Asserted-Identity was removed)
    assert (rec.identity, rec.identity_type, rec.verified) == ("819010000001", "msisdn", True)
    assert (rec.ecgi, rec.service_urn, rec.mode) == ("44020-0010101", "urn:service:sos.fire",
                                                     "full")
    pcap = tmp_path / "sos.pcapng"
    methods = tshark.values(pcap, "sip.Method", opts=())
    assert methods.count("INVITE") == 3 and methods.count("BYE") == 3  # UE->P->E->PSAP
    assert tshark.count(pcap, "_ws.malformed", opts=()) == 0


async def test_sipp_psap_receives_call_through_pcscf_and_ecscf(tmp_path: Path) -> None:
    writer = PcapWriter(tmp_path / "psap.pcapng")
    tap = OncePerProcessTap(writer, CSCFS | {UE})
    sipp_port = free_udp_port()
    ims, psap = await _network(tap, psap_uri=f"sip:psap@127.0.0.1:{sipp_port}")
    (tmp_path / "psap.xml").write_text(PSAP_SCENARIO)
    sipp = asyncio.ensure_future(run_sipp("-sf", "psap.xml", "-i", "127.0.0.1", "-p",
                                          str(sipp_port), cwd=tmp_path))
    ua = LoopbackUa(UE, ims.pcscf_address, "819010000001", tap=tap)
    await ua.start()
    try:
        await asyncio.sleep(0.5)  # sipp binds its socket
        final = await ua.call("tel:119")
        rc, out = await sipp
    finally:
        ua.close()
        await ims.stop()
        await psap.stop()
        writer.close()
    assert final.status == 200
    assert rc == 0, out
    assert stat_counter(tmp_path, "SuccessfulCall(C)") == 1
    pcap = tmp_path / "psap.pcapng"
    uris = tshark.values(pcap, "sip.r-uri", opts=())
    assert "urn:service:sos.fire" in uris and "tel:119" in uris
    pai = tshark.values(pcap, "sip.P-Asserted-Identity", opts=())
    assert any("tel:+819010000001" in v for v in pai)
    assert tshark.count(pcap, "_ws.malformed", opts=()) == 0
