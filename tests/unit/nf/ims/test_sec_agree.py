"""Security agreement at the P-CSCF (RFC 3329 §2.3.1, TS 33.203 §7.1, TS 24.229 §5.2.2.1),
IPsec emulated: the headers are negotiated and checked, and stay between the UE and the P-CSCF."""

from __future__ import annotations

from pathlib import Path

from corenet.codecs import sip
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.codecs.sip_digest import digest_params
from tests.unit.nf.ims.test_trust import FULL, MSISDN, PCSCF, SCSCF, only_answer, pcscf, sent

AOR = f"<sip:+{MSISDN}@ims.mnc010.mcc440.3gppnetwork.org>"
CLIENT = "ipsec-3gpp; alg=hmac-sha-1-96; spi-c=111; spi-s=222; port-c=5060; port-s=5060"
WWW = ('Digest realm="ims.mnc010.mcc440.3gppnetwork.org", nonce="bm9uY2U=", '
       'algorithm=AKAv1-MD5, qop="auth", ik="00112233", ck="44556677"')


def register(cseq: int = 1, *, client: str | None = CLIENT, verify: str | None = None,
             require: bool = True) -> SipRequest:
    headers = [("Proxy-Require", "sec-agree")] if require else []
    if require:
        headers.append(("Require", "sec-agree"))
    if client:
        headers.append(("Security-Client", client))
    if verify:
        headers.append(("Security-Verify", verify))
    req = sip.make_request(
        "REGISTER", "sip:ims.mnc010.mcc440.3gppnetwork.org", from_=f"{AOR};tag=r", to=AOR,
        call_id="reg@ue", cseq=cseq, contact=f"<sip:ue@{FULL}:5060>",
        via=f"SIP/2.0/UDP {FULL}:5060;branch={sip.new_branch()};rport", headers=headers)
    msg = sip.decode(sip.encode(req), supported=frozenset({"sec-agree"}))
    assert isinstance(msg, SipRequest)
    return msg


def challenge(forwarded: SipRequest) -> SipResponse:
    """The home S-CSCF's 401 to the REGISTER the P-CSCF forwarded."""
    resp = sip.response_for(forwarded, 401, to_tag="s", headers=[("WWW-Authenticate", WWW)])
    msg = sip.decode(sip.encode(resp))
    assert isinstance(msg, SipResponse)
    return msg


def test_register_with_sec_agree_is_forwarded_without_it_and_the_401_offers_the_server() -> None:
    core = pcscf()
    (fwd,) = sent(core.handle_request(register(), (FULL, 5060), 0.0))
    assert fwd.peer == SCSCF and isinstance(fwd.message, SipRequest)
    out = fwd.message
    for name in ("Security-Client", "Security-Verify", "Require", "Proxy-Require"):
        assert out.header(name) is None, name  # TS 24.229 §5.2.2.1: for the P-CSCF only
    (back,) = sent(core.handle_response(challenge(out), SCSCF, 0.0))
    assert back.peer[0] == FULL and isinstance(back.message, SipResponse)
    wire = sip.decode(sip.encode(back.message))
    assert isinstance(wire, SipResponse) and wire.status == 401
    params = digest_params(wire.header("WWW-Authenticate") or "")
    assert "ck" not in params and "ik" not in params  # TS 33.203 §7.1: kept by the P-CSCF
    assert params["nonce"] == "bm9uY2U=" and params["algorithm"] == "AKAv1-MD5"
    (server,) = wire.headers_all("Security-Server")
    assert server.startswith("ipsec-3gpp; q=0.1; alg=hmac-sha-1-96; spi-c=")
    assert f"port-s={PCSCF[1]}" in server

    (again,) = sent(core.handle_request(register(2, verify=server), (FULL, 5060), 1.0))
    assert again.peer == SCSCF and isinstance(again.message, SipRequest)
    assert again.message.header("Security-Verify") is None


def test_security_verify_that_does_not_repeat_the_server_is_494() -> None:
    core = pcscf()
    (fwd,) = sent(core.handle_request(register(), (FULL, 5060), 0.0))
    assert isinstance(fwd.message, SipRequest)
    core.handle_response(challenge(fwd.message), SCSCF, 0.0)
    forged = "ipsec-3gpp; q=0.1; alg=hmac-md5-96; spi-c=1; spi-s=2; port-c=1; port-s=2"
    refused = only_answer(core.handle_request(register(2, verify=forged), (FULL, 5060), 1.0),
                          FULL)
    assert refused.status == 494  # RFC 3329 §2.3.1: a downgrade is refused


def test_sec_agree_required_without_an_acceptable_offer_is_494_with_the_server_list() -> None:
    core = pcscf()
    for client in (None, "digest; d-alg=md5", "ipsec-3gpp; alg=none; spi-c=1"):
        refused = only_answer(core.handle_request(register(client=client), (FULL, 5060), 0.0),
                              FULL)
        assert refused.status == 494
        assert (refused.header("Security-Server") or "").startswith("ipsec-3gpp;")
    # a UE that does not ask for sec-agree registers as before; CK/IK still never reach it
    (fwd,) = sent(core.handle_request(register(client=None, require=False), (FULL, 5060), 0.0))
    assert isinstance(fwd.message, SipRequest)
    (back,) = sent(core.handle_response(challenge(fwd.message), SCSCF, 0.0))
    assert isinstance(back.message, SipResponse)
    assert back.message.header("Security-Server") is None
    assert "ck=" not in (back.message.header("WWW-Authenticate") or "")


def test_a_volte_phones_offer_list_is_accepted() -> None:
    """A real phone offers several ipsec-3gpp variants (RFC 3329 §2.2): one with an integrity
    algorithm of TS 33.203 §7.1 is enough, and nothing of it goes on to the core."""
    raw = (Path(__file__).parents[2] / "codecs" / "sip_samples" /
           "volte_register_sec_agree.sip").read_bytes()
    req = sip.decode(raw, supported=frozenset({"sec-agree"}))
    assert isinstance(req, SipRequest)
    core = pcscf()
    core.sec_agree.on_register(req, FULL)
    assert core.sec_agree.agreements[FULL].client.startswith("ipsec-3gpp;")
    assert req.header("Security-Client") is None and req.header("Require") is None
