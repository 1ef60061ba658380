"""The IMS emergency functions and the PSAP over loopback sockets, per mode and number."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from corenet.codecs import sip
from corenet.config.models import (
    EcscfConfig,
    Endpoint,
    HomeImsConfig,
    HomeImsRoute,
    ImsConfig,
    PcscfConfig,
    PsapConfig,
    PsapRoute,
)
from corenet.nf.ims.binding import AccessMode, Cell, UeBinding
from corenet.nf.ims.service import ImsService
from corenet.nf.psap.service import PsapService
from tests.unit.nf.ims.ua import LoopbackUa

IMSI = "440100000000001"
MSISDN = "819010000001"
CELL = Cell("44020", 2, 0x10201)


@dataclass
class Net:
    ims: ImsService
    psap: PsapService


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    psap = PsapService(PsapConfig(listen=Endpoint(host="127.0.60.8", port=0),
                                  database=":memory:", callback_timeout_s=5,
                                  trusted_peers=["127.0.60.7"]))
    await psap.start()
    psap_uri = f"sip:psap@127.0.60.8:{psap.local[1]}"
    cfg = ImsConfig(
        pcscf=PcscfConfig(listen=Endpoint(host="127.0.60.6", port=0),
                          ecscf=Endpoint(host="127.0.60.7", port=0),
                          home_ims=[HomeImsRoute(address=Endpoint(host="127.0.60.9", port=0))]),
        ecscf=EcscfConfig(listen=Endpoint(host="127.0.60.7", port=0),
                          psaps=[PsapRoute(prefecture="Miyagi", uri=psap_uri)],
                          default_psap=psap_uri),
        home=HomeImsConfig(listen=Endpoint(host="127.0.60.9", port=0), cx=None))
    ims = ImsService(cfg)
    await ims.start()
    host, port = ims.scscf_address
    psap.cfg = psap.cfg.model_copy(update={"callback_route": Endpoint(host=host, port=port)})
    yield Net(ims, psap)
    await ims.stop()
    await psap.stop()


async def ue(net: Net, mode: AccessMode, address: str, *, msisdn: str | None = MSISDN,
             imsi: str | None = IMSI) -> LoopbackUa:
    net.ims.bindings.add(UeBinding(address, mode, imsi, msisdn, "3534900698733190",
                                   "ims" if mode is AccessMode.FULL else "sos", CELL))
    ua = LoopbackUa(address, net.ims.pcscf_address, msisdn or "0")
    await ua.start()
    return ua


@pytest.mark.parametrize("number, urn", [
    ("tel:110", "urn:service:sos.police"), ("tel:118", "urn:service:sos.marine"),
    ("sip:119@ims.mnc020.mcc440.3gppnetwork.org;user=phone", "urn:service:sos.fire"),
    ("urn:service:sos.ambulance", "urn:service:sos.ambulance")])
async def test_full_roaming_emergency_call_reaches_psap_with_verified_msisdn(
        net: Net, number: str, urn: str) -> None:
    ua = await ue(net, AccessMode.FULL, "127.146.60.1")
    try:
        final = await ua.call(number, claimed="tel:+819099999999")  # a lie, removed
    finally:
        ua.close()
    assert final.status == 200
    rec = net.psap.calls()[-1]
    assert (rec.identity, rec.identity_type, rec.verified) == (MSISDN, "msisdn", True)
    assert rec.service_urn == urn
    assert rec.ecgi == "44020-0010201" and rec.tac == 2
    assert rec.mode == "full"
    assert rec.dialled == (None if number.startswith("urn") else number[4:7])


async def test_emergency_unauth_gives_the_imsi_unverified_and_no_call_back(net: Net) -> None:
    ua = await ue(net, AccessMode.EMERGENCY_UNAUTH, "127.147.60.2", msisdn=None)
    try:
        assert (await ua.call("tel:119")).status == 200
        rec = net.psap.calls()[-1]
        assert (rec.identity, rec.identity_type, rec.verified) == (IMSI, "imsi", False)
        assert rec.mode == "emergency-unauth"
        assert rec.id is not None
        result = await net.psap.call_back(rec.id)
    finally:
        ua.close()
    assert (result.outcome, result.sip_status) == ("failed", 404)
    assert net.psap.store.get(rec.id).callback_status == 404  # type: ignore[union-attr]


async def test_imei_only_caller_is_identified_by_imei(net: Net) -> None:
    ua = await ue(net, AccessMode.EMERGENCY_UNAUTH, "127.147.60.3", msisdn=None, imsi=None)
    try:
        assert (await ua.call("tel:110")).status == 200
    finally:
        ua.close()
    rec = net.psap.calls()[-1]
    assert (rec.identity, rec.identity_type, rec.verified) == ("35349006987331", "imei", False)


async def test_emergency_auth_msisdn_verified_but_call_back_fails(net: Net) -> None:
    ua = await ue(net, AccessMode.EMERGENCY_AUTH, "127.147.60.4")
    try:
        assert (await ua.call("tel:110")).status == 200
        assert (await ua.register()).status == 403  # no IMS registration for such a UE
        rec = net.psap.calls()[-1]
        assert rec.id is not None
        result = await net.psap.call_back(rec.id)
    finally:
        ua.close()
    assert (rec.identity_type, rec.verified, rec.mode) == ("msisdn", True, "emergency-auth")
    assert (result.outcome, result.sip_status) == ("failed", 480)
    assert not ua.incoming


async def test_full_roaming_registers_and_psap_call_back_reaches_the_ue(net: Net) -> None:
    ua = await ue(net, AccessMode.FULL, "127.146.60.5")
    try:
        reg = await ua.register()
        assert reg.status == 200
        assert reg.header("P-Associated-URI") == f"<tel:+{MSISDN}>"
        assert (await ua.call("tel:119")).status == 200
        rec = net.psap.calls()[-1]
        assert rec.id is not None
        result = await net.psap.call_back(rec.id)
    finally:
        ua.close()
    assert (result.outcome, result.sip_status) == ("answered", 200)
    assert [r.method for r in ua.incoming] == ["INVITE", "BYE"]
    assert ua.incoming[0].request_uri.user == f"+{MSISDN}"
    assert net.psap.store.get(rec.id).callback_outcome == "answered"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode, number, status", [
    (AccessMode.FULL, "tel:184110", 404), (AccessMode.FULL, "tel:186119", 404),
    (AccessMode.FULL, "tel:0312345678", 200), (AccessMode.FULL, "tel:#7119", 200),
    (AccessMode.FULL, "tel:0120123456", 403),
    (AccessMode.EMERGENCY_AUTH, "tel:0312345678", 403),
    (AccessMode.EMERGENCY_AUTH, "tel:186119", 404),
    (AccessMode.EMERGENCY_UNAUTH, "tel:0312345678", 403),
    (AccessMode.EMERGENCY_UNAUTH, "tel:#7119", 403)])
async def test_restrictions_per_mode(net: Net, mode: AccessMode, number: str,
                                     status: int) -> None:
    ua = await ue(net, mode, "127.146.60.6")
    calls = len(net.psap.calls())
    try:
        final = await ua.call(number)
    finally:
        ua.close()
    assert final.status == status
    assert len(net.psap.calls()) == calls  # none of these reaches the PSAP


async def test_unknown_source_address_is_refused(net: Net) -> None:
    ua = LoopbackUa("127.146.60.7", net.ims.pcscf_address, MSISDN)
    await ua.start()
    try:
        assert (await ua.call("tel:110")).status == 403
    finally:
        ua.close()


async def test_malformed_request_gets_400_and_pcscf_keeps_serving(net: Net) -> None:
    ua = await ue(net, AccessMode.FULL, "127.146.60.8")
    try:
        bad = sip.make_request("OPTIONS", "sip:x@127.0.60.6", from_="<sip:a@b>;tag=1",
                               to="<sip:x@127.0.60.6>", call_id="c1@x", cseq=1,
                               via=ua.stack.via())
        raw = sip.encode(bad).replace(b"Max-Forwards: 70", b"Max-Forwards: many")
        got = await _raw(ua, raw)
        assert got.status == 400
        assert (await ua.call("tel:110")).status == 200
    finally:
        ua.close()


async def _raw(ua: LoopbackUa, data: bytes) -> sip.SipResponse:
    import asyncio

    from corenet.transport.udp import open_udp_endpoint

    got: asyncio.Queue[bytes] = asyncio.Queue()
    ep = await open_udp_endpoint(ua.host, 0, lambda d, a: got.put_nowait(d))
    try:
        ep.sendto(data.replace(f":{ua.stack.local[1]}".encode(), f":{ep.local[1]}".encode()),
                  ua.proxy.address)
        msg = sip.decode(await asyncio.wait_for(got.get(), 5))
    finally:
        ep.close()
    assert isinstance(msg, sip.SipResponse)
    return msg


async def test_psap_takes_requests_only_from_the_trust_domain(net: Net) -> None:
    """RFC 3325 §2.3: a UE's INVITE sent straight to the PSAP, with or without a To-tag and a
    forged verified identity, is 403 and recorded nowhere; from the E-CSCF's address, a To-tag
    that names no PSAP dialog is 481 (RFC 3261 §12.2.2)."""
    forged = [("P-Asserted-Identity", "<tel:+819099999999;verstat=TN-Validation-Passed>")]
    for source, status in (("127.147.60.10", 403), ("127.0.60.7", 481)):
        ua = LoopbackUa(source, net.psap.local, MSISDN)
        await ua.start()
        try:
            for to_tag in (";tag=forged", ""):
                if status == 481 and not to_tag:
                    continue
                req = sip.make_request(
                    "INVITE", "urn:service:sos.police", from_=f"<sip:a@{source}>;tag=a",
                    to=f"<urn:service:sos.police>{to_tag}", call_id=sip.new_call_id(source),
                    cseq=1, via=ua.stack.via(), contact=ua.contact, headers=forged)
                assert (await ua.request(req)).status == status
        finally:
            ua.close()
    assert net.psap.calls() == []


async def test_pcscf_answers_malformed_and_oversized_requests(net: Net) -> None:
    """RFC 3261 §8.2.6.2, §21.4.1: a missing Call-ID or 3,000 folded lines is answered (not
    dropped), with the request's Via and CSeq."""
    import asyncio

    from corenet.transport.udp import open_udp_endpoint

    got: asyncio.Queue[bytes] = asyncio.Queue()
    ep = await open_udp_endpoint("127.146.60.11", 0, lambda d, a: got.put_nowait(d))
    via = f"Via: SIP/2.0/UDP 127.146.60.11:{ep.local[1]};branch=z9hG4bKlim"
    base = [via, "Max-Forwards: 70", "From: <sip:a@b>;tag=1", "To: <tel:110>",
            "Call-ID: lim@x", "CSeq: 7 INVITE"]
    cases = [
        ([h for h in base if not h.startswith("Call-ID")], 400),
        (["Subject: a", *[" b"] * 3000, *base], 400),
    ]
    try:
        for headers, status in cases:
            raw = "\r\n".join(["INVITE tel:110 SIP/2.0", *headers, "Content-Length: 0", "", ""])
            ep.sendto(raw.encode(), net.ims.pcscf_address)
            answer = (await asyncio.wait_for(got.get(), 5)).decode()
            lines = answer.split("\r\n")
            assert lines[0].startswith(f"SIP/2.0 {status} ")
            assert via in lines and "CSeq: 7 INVITE" in lines
    finally:
        ep.close()


async def test_pcscf_over_tcp_answers_on_the_connection(net: Net) -> None:
    """RFC 3261 §18.3: over TCP a request without Content-Length is 400 and one over the size
    limit 513, both answered on the connection the request came on, with its Via and CSeq
    (the call itself over TCP: tests/interop/test_sipp_emergency.py)."""
    import asyncio

    host, port = net.ims.pcscf_address

    async def ask(data: bytes) -> list[str]:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(
            "127.146.60.13", 0))
        try:
            local = writer.get_extra_info("sockname")
            writer.write(data.replace(b"LOCALPORT", str(local[1]).encode()))
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            return head.decode().split("\r\n")
        finally:
            writer.close()

    via = "Via: SIP/2.0/TCP 127.146.60.13:LOCALPORT;branch=z9hG4bKtcp"
    base = [via, "Max-Forwards: 70", "From: <sip:a@b>;tag=1", "To: <tel:110>",
            "Call-ID: tcp@x", "CSeq: 3 INVITE"]
    no_length = ("\r\n".join(["INVITE tel:110 SIP/2.0", *base, "", ""])).encode()
    lines = await ask(no_length)
    assert lines[0] == "SIP/2.0 400 Bad Request" and "CSeq: 3 INVITE" in lines
    assert any(x.startswith("Via: SIP/2.0/TCP 127.146.60.13:") and "branch=z9hG4bKtcp" in x
               for x in lines)
    huge = ("\r\n".join(["INVITE tel:110 SIP/2.0", *base,
                         *[f"X-{i}: {'a' * 1000}" for i in range(70)]])).encode()
    lines = await ask(huge)
    assert lines[0] == "SIP/2.0 513 Message Too Large" and "CSeq: 3 INVITE" in lines
    assert "Call-ID: tcp@x" in lines


async def test_psap_answers_an_unusable_offer_with_488(net: Net) -> None:
    """RFC 3264 §6 / RFC 3261 §21.4.26: a malformed SDP offer is refused, not left hanging."""
    ua = LoopbackUa("127.0.60.7", net.psap.local, MSISDN)  # the E-CSCF's address: trusted
    await ua.start()
    try:
        req = sip.make_request(
            "INVITE", "urn:service:sos.police", from_="<sip:a@127.0.60.7>;tag=a",
            to="<urn:service:sos.police>", call_id=sip.new_call_id("127.0.60.7"), cseq=1,
            via=ua.stack.via(), contact=ua.contact, body=b"v=0\r\nm=audio x RTP/AVP 0\r\n",
            content_type="application/sdp")
        assert (await ua.request(req)).status == 488
    finally:
        ua.close()
    assert net.psap.calls() == []
