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
from tests.sipp import free_udp_port, run_sipp, scenario, stat_counter
from tests.unit.nf.ims.ua import LoopbackUa

pytestmark = pytest.mark.tshark

UE = "127.146.61.1"
CSCFS = frozenset({"127.0.61.6", "127.0.61.7", "127.0.61.8", "127.0.61.9"})


# sipp's built-in uas (-sn uas) with the Record-Route copied into its responses as RFC 3261
# §12.1.1 requires of a UAS, so the dialog's requests pass through the CSCFs again


async def _network(tap: OncePerProcessTap, psap_uri: str | None = None) -> tuple[
        ImsService, PsapService]:
    psap = PsapService(PsapConfig(listen=Endpoint(host="127.0.61.8", port=0),
                                  database=":memory:", trusted_peers=["127.0.61.7"]), tap=tap)
    await psap.start()
    uri = psap_uri or f"sip:psap@127.0.61.8:{psap.local[1]}"
    ims = ImsService(ImsConfig(
        pcscf=PcscfConfig(listen=Endpoint(host="127.0.61.6", port=0),
                          ecscf=Endpoint(host="127.0.61.7", port=0),
                          home_ims=[HomeImsRoute(address=Endpoint(host="127.0.61.9", port=0))]),
        ecscf=EcscfConfig(listen=Endpoint(host="127.0.61.7", port=0), psaps=[],
                          default_psap=uri),
        home={"listen": Endpoint(host="127.0.61.9", port=0), "cx": None}), tap=tap)
    await ims.start()
    # full roaming: the binding the S/P-GW session would give (TS 23.203 §6.1.1.2)
    ims.bindings.add(UeBinding(UE, AccessMode.FULL, "440100000000001", "819010000001", None,
                               "ims", Cell("44020", 1, 0x10101)))
    return ims, psap


async def test_sipp_ue_calls_sos_through_pcscf_to_our_psap(tmp_path: Path) -> None:
    writer = PcapWriter(tmp_path / "sos.pcapng")
    ims, psap = await _network(OncePerProcessTap(writer, CSCFS))  # sipp's sends recorded
    sos = scenario("sos_uac", tmp_path)
    host, port = ims.pcscf_address
    try:
        rc, out = await run_sipp("-sf", sos, "-i", UE, "-p", str(free_udp_port()),
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
    uas = scenario("uas", tmp_path)
    sipp = asyncio.ensure_future(run_sipp("-sf", uas, "-i", "127.0.0.1", "-p",
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


async def test_sipp_ue_calls_sos_over_tcp_through_pcscf_to_our_psap(tmp_path: Path) -> None:
    """RFC 3261 §18: the P-CSCF takes the call over TCP (sipp -t t1, one connection), answers
    on that connection, and the call reaches the PSAP with the network's identity."""
    writer = PcapWriter(tmp_path / "sos-tcp.pcapng")
    ims, psap = await _network(OncePerProcessTap(writer, CSCFS))
    sos = scenario("sos_uac", tmp_path)
    host, port = ims.pcscf_address
    try:
        rc, out = await run_sipp("-sf", sos, "-t", "t1", "-i", UE, "-p", str(free_udp_port()),
                                 f"{host}:{port}", cwd=tmp_path)
    finally:
        await ims.stop()
        calls = psap.calls()
        await psap.stop()
        writer.close()
    assert rc == 0, out
    assert stat_counter(tmp_path, "SuccessfulCall(C)") == 1
    assert [(r.identity, r.verified, r.service_urn) for r in calls] == [
        ("819010000001", True, "urn:service:sos.fire")]
    pcap = tmp_path / "sos-tcp.pcapng"
    over_tcp = tshark.values(pcap, "sip.Method", "tcp", opts=())
    assert {"INVITE", "ACK", "BYE"} <= set(over_tcp)
    statuses = tshark.values(pcap, "sip.Status-Code", "tcp", opts=())
    assert "200" in statuses
    assert tshark.count(pcap, "_ws.malformed", opts=()) == 0


async def test_sipp_over_tcp_to_our_psap(tmp_path: Path) -> None:
    """RFC 3261 §18: the PSAP serves a call over TCP (sipp -t t1 from the E-CSCF's address,
    inside the PSAP's trust domain) on the one connection; the P-Asserted-Identity of a
    trusted peer is recorded as verified (RFC 3325 §9.1), without a mode (no
    Japan-Roaming-Caller)."""
    writer = PcapWriter(tmp_path / "psap-tcp.pcapng")
    # sipp's requests come from the E-CSCF's address: recorded as received from outside
    ims, psap = await _network(OncePerProcessTap(writer, frozenset({"127.0.61.8"})))
    sos = scenario("sos_uac", tmp_path)
    try:
        rc, out = await run_sipp("-sf", sos, "-t", "t1", "-i", "127.0.61.7", "-p",
                                 str(free_udp_port()), f"{psap.local[0]}:{psap.local[1]}",
                                 cwd=tmp_path)
    finally:
        await ims.stop()
        calls = psap.calls()
        await psap.stop()
        writer.close()
    assert rc == 0, out
    assert stat_counter(tmp_path, "SuccessfulCall(C)") == 1
    assert [(r.identity, r.identity_type, r.verified, r.mode) for r in calls] == [
        ("819000000000", "msisdn", True, None)]
    pcap = tmp_path / "psap-tcp.pcapng"
    assert {"INVITE", "ACK", "BYE"} <= set(tshark.values(pcap, "sip.Method", "tcp", opts=()))
    assert {"180", "200"} <= set(tshark.values(pcap, "sip.Status-Code", "tcp", opts=()))
    assert tshark.count(pcap, "_ws.malformed", opts=()) == 0
