"""`corenet decode sip FILE|-` through the console script."""

from __future__ import annotations

from pathlib import Path

from corenet.codecs import pidf_lo, sdp, sip
from corenet.codecs.sip import BodyPart
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
