"""`corenet decode sip FILE|-` through the console script."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.codecs import pidf_lo, sdp, sip
from corenet.codecs.sip import BodyPart
from corenet.core.errors import DecodeError
from tests.cli_helpers import run_json

INVITE = (
    "INVITE urn:service:sos.fire SIP/2.0\n"
    "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\n"
    "Max-Forwards: 70\n"
    "f: <tel:+819012345678>;tag=a\n"
    "t: <urn:service:sos.fire>\n"
    "i: c1@ue\n"
    "CSeq: 1 INVITE\n"
    "\n"
)


def test_decode_sip_from_stdin_with_bare_lf() -> None:
    rc, out = run_json("corenet", "decode", "sip", "-", stdin=INVITE)
    assert rc == 0
    assert out["protocol"] == "sip" and out["message"] == "INVITE" and out["code"] == "INVITE"
    fields = out["fields"]
    assert fields["request_uri"] == "urn:service:sos.fire"
    assert fields["request_uri_parsed"]["service"] == "sos.fire"
    assert fields["request_uri_parsed"]["emergency"] is True
    assert fields["headers"]["Call-ID"] == ["c1@ue"]
    assert fields["headers"]["From"] == ["<tel:+819012345678>;tag=a"]


def test_decode_sip_response_file_with_multipart(tmp_path: Path) -> None:
    body = sip.build_multipart([
        BodyPart("application/sdp", sdp.encode(sdp.audio_offer("192.0.2.1", 4000))),
        BodyPart("application/pidf+xml",
                 pidf_lo.encode(pidf_lo.LocationObject("sip:ue@x", 35.5, 139.5)))], "zz")
    resp = sip.SipResponse(headers=[
        sip.Header("Via", "SIP/2.0/UDP h;branch=z9hG4bK1"), sip.Header("From", "<sip:a@b>;tag=1"),
        sip.Header("To", "<sip:c@d>;tag=2"), sip.Header("Call-ID", "x"),
        sip.Header("CSeq", "1 INVITE"), sip.Header("Content-Type", "multipart/mixed;boundary=zz"),
    ], body=body, status=200, reason="OK")
    path = tmp_path / "resp.sip"
    path.write_bytes(sip.encode(resp))
    rc, out = run_json("corenet", "decode", "sip", str(path))
    assert rc == 0
    assert out["message"] == "response" and out["code"] == 200
    assert out["fields"]["status"] == 200 and out["fields"]["reason"] == "OK"
    parts = out["fields"]["body"]
    assert parts[0]["sdp"]["media"][0]["rtpmap"]["0"] == "PCMU/8000"
    assert parts[1]["pidf_lo"]["latitude"] == 35.5


def test_decode_sip_error_gives_status() -> None:
    rc, out = run_json("corenet", "decode", "sip", "-",
                       stdin=INVITE.replace("urn:service:sos.fire SIP", "mailto:x SIP"))
    assert rc == 1
    assert out["protocol"] == "sip" and out["cause"] == 416


SAMPLES = Path(__file__).parents[1] / "codecs" / "sip_samples"


def test_volte_phone_register_with_sec_agree_decodes() -> None:
    """A VoLTE phone's REGISTER with `Require: sec-agree` (RFC 3329 §2.3) is read, not
    refused: the 420 of RFC 3261 §8.2.2.3 is a UAS's policy, not the decoder's."""
    raw = (SAMPLES / "volte_register_sec_agree.sip").read_bytes()
    with pytest.raises(DecodeError) as refused:
        sip.decode(raw)  # the element it is addressed to still answers 420
    assert refused.value.cause == 420
    rc, out = run_json("corenet", "decode", "sip", str(SAMPLES / "volte_register_sec_agree.sip"))
    assert rc == 0 and out["message"] == "REGISTER"
    headers = out["fields"]["headers"]
    assert headers["Require"] == ["sec-agree"] and headers["Proxy-Require"] == ["sec-agree"]
    offers = headers["Security-Client"]
    assert len(offers) == 6 and all(o.startswith("ipsec-3gpp;") for o in offers)
    assert "spi-c=3209021766" in offers[0] and "ealg=null" in offers[-1]
    [contact] = headers["Contact"]
    assert '+sip.instance="<urn:gsma:imei:86020404-365961-0>"' in contact
    assert "warnings" not in out["fields"]


def test_ng911_invite_with_pidf_lo_decodes() -> None:
    rc, out = run_json("corenet", "decode", "sip", str(SAMPLES / "ng911_invite_pidf_lo.sip"))
    assert rc == 0
    fields = out["fields"]
    assert fields["request_uri_parsed"]["emergency"] is True
    assert fields["headers"]["Geolocation"] == ["<cid:target123@atlanta.example.com>"]
    sdp_part, pidf_part = fields["body"]
    assert sdp_part["sdp"]["media"][0]["rtpmap"]["0"] == "PCMU/8000"
    assert pidf_part["content_id"] == "<target123@atlanta.example.com>"
    loc = pidf_part["pidf_lo"]
    assert (loc["latitude"], loc["longitude"], loc["method"]) == (32.86726, -97.16054, "802.11")
    assert "warnings" not in fields


def test_multipart_without_close_delimiter_is_a_warning() -> None:
    """RFC 2046 §5.1.1: the last part runs to the end of the body; the JSON says so."""
    path = SAMPLES / "ng911_invite_no_close_delimiter.sip"
    with pytest.raises(DecodeError) as refused:
        sip.decode(path.read_bytes())  # an element acting on the body refuses it (400)
    assert refused.value.cause == 400
    rc, out = run_json("corenet", "decode", "sip", str(path))
    assert rc == 0
    fields = out["fields"]
    assert fields["warnings"] == ["multipart body without a close delimiter (RFC 2046 §5.1.1)"]
    assert [p["content_type"] for p in fields["body"]] == ["application/sdp",
                                                           "application/pidf+xml"]
    assert fields["body"][1]["pidf_lo"]["latitude"] == 32.86726


def test_sec_agree_challenge_and_verify_decode() -> None:
    """What the P-CSCF relays (a 401 with Security-Server and no CK/IK, RFC 3329 §2.3.1, TS
    24.229 §5.2.2.1) and the UE's answering REGISTER with Security-Verify read as any message."""
    server = ("ipsec-3gpp; q=0.1; alg=hmac-sha-1-96; spi-c=65536; spi-s=65537; port-c=5060; "
              "port-s=5060")
    challenge = (
        "SIP/2.0 401 Unauthorized\n"
        "Via: SIP/2.0/UDP 127.146.0.1:5060;branch=z9hG4bK2;rport=5060\n"
        "From: <sip:+819010000001@ims.mnc010.mcc440.3gppnetwork.org>;tag=r\n"
        "To: <sip:+819010000001@ims.mnc010.mcc440.3gppnetwork.org>;tag=s\n"
        "Call-ID: reg@ue\nCSeq: 1 REGISTER\n"
        'WWW-Authenticate: Digest realm="ims.mnc010.mcc440.3gppnetwork.org", '
        'nonce="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", algorithm=AKAv1-MD5, qop="auth"\n'
        f"Security-Server: {server}\n\n")
    rc, out = run_json("corenet", "decode", "sip", "-", stdin=challenge)
    assert rc == 0 and out["code"] == 401
    assert out["fields"]["headers"]["Security-Server"] == [server]
    register = (
        "REGISTER sip:ims.mnc010.mcc440.3gppnetwork.org SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.146.0.1:5060;branch=z9hG4bK3;rport\nMax-Forwards: 70\n"
        "From: <sip:+819010000001@ims.mnc010.mcc440.3gppnetwork.org>;tag=r\n"
        "To: <sip:+819010000001@ims.mnc010.mcc440.3gppnetwork.org>\n"
        "Call-ID: reg@ue\nCSeq: 2 REGISTER\nRequire: sec-agree\nProxy-Require: sec-agree\n"
        "Security-Client: ipsec-3gpp; alg=hmac-sha-1-96; spi-c=1; spi-s=2; port-c=5060; "
        "port-s=5060\n"
        f"Security-Verify: {server}\n\n")
    rc, out = run_json("corenet", "decode", "sip", "-", stdin=register)
    assert rc == 0 and out["message"] == "REGISTER"
    assert out["fields"]["headers"]["Security-Verify"] == [server]
