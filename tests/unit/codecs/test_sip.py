"""SIP codec (RFC 3261), SDP (RFC 4566/3264), PIDF-LO (RFC 4119/5491)."""

from __future__ import annotations

import pytest

from corenet.codecs import pidf_lo, sdp, sip
from corenet.codecs.sip import BodyPart, Header, NameAddr, SipRequest, SipResponse
from corenet.core.errors import DecodeError

CRLF = "\r\n"


def _msg(*lines: str, body: str = "") -> bytes:
    return (CRLF.join(lines) + CRLF + CRLF + body).encode()


BASE = [
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport",
    "Max-Forwards: 70",
    "To: <urn:service:sos.fire>",
    'From: "Caller" <sip:+819012345678@ims.mnc010.mcc440.3gppnetwork.org>;tag=1928301774',
    "Call-ID: a84b4c76e66710@192.0.2.1",
    "CSeq: 314159 INVITE",
]


def invite(*extra: str, body: str = "", start: str = "INVITE urn:service:sos.fire SIP/2.0",
           base: list[str] | None = None) -> bytes:
    return _msg(start, *(BASE if base is None else base), *extra, body=body)


def test_compact_headers_folding_and_lists() -> None:
    raw = _msg(
        "INVITE sip:psap@rescuer.example SIP/2.0",
        "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa;rport, SIP/2.0/TCP [2001:db8::1]:5070"
        ";branch=z9hG4bKb;received=10.0.0.9",
        "Max-Forwards: 69",
        "t: <sip:psap@rescuer.example>",
        "f: <tel:+819012345678>;tag=abc",
        "i: call-1@ue",
        "CSeq: 2 INVITE",
        "m: <sip:ue@192.0.2.1:5060>;expires=60",
        "Subject: a long",
        "\tsubject",
        "k: path, gruu",
        "l: 0",
    )
    msg = sip.decode(raw)
    assert isinstance(msg, SipRequest)
    assert msg.method == "INVITE" and msg.uri == "sip:psap@rescuer.example"
    vias = msg.vias
    assert [v.transport for v in vias] == ["UDP", "TCP"]
    assert vias[0].branch == "z9hG4bKa" and vias[0].rport is None
    assert vias[1].host == "[2001:db8::1]" and vias[1].port == 5070
    assert vias[1].received == "10.0.0.9"
    assert msg.from_.uri.scheme == "tel" and msg.from_.uri.user == "+819012345678"
    assert msg.from_.tag == "abc" and msg.to.tag is None
    assert msg.call_id == "call-1@ue" and msg.cseq == sip.CSeq(2, "INVITE")
    assert msg.header("subject") == "a long subject"
    assert msg.headers_all("Supported") == ["path", "gruu"]
    assert msg.contacts[0].param("expires") == "60"
    assert msg.max_forwards == 69
    # canonical re-serialization keeps the compact names, one value per line
    again = sip.decode(sip.encode(msg))
    assert isinstance(again, SipRequest)
    assert again.headers == msg.headers and again.uri == msg.uri


def test_built_request_round_trips_byte_exact() -> None:
    body = sdp.encode(sdp.audio_offer("192.0.2.1", 4000, session_id=7))
    req = sip.make_request(
        "INVITE", "urn:service:sos.police",
        from_=NameAddr(sip.parse_uri("sip:ue@ims.example"), params=(("tag", "t1"),)),
        to="<urn:service:sos.police>", call_id="c1@ue", cseq=1,
        via="SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1",
        contact="<sip:ue@192.0.2.1:5060>",
        headers=[("P-Preferred-Service", "urn:urn-7:3gpp-service.ims.icsi.mmtel"),
                 ("Geolocation", "<cid:loc@ue>"), ("Geolocation-Routing", "yes")],
        body=body, content_type="application/sdp")
    data = sip.encode(req)
    back = sip.decode(data)
    assert isinstance(back, SipRequest)
    assert sip.encode(back) == data
    assert back.request_uri.is_emergency and back.request_uri.service == "sos.police"
    assert back.header("Geolocation-Routing") == "yes"
    offer = sdp.decode(back.body_parts()[0].body)
    audio = offer.audio()
    assert audio is not None and audio.port == 4000
    assert audio.rtpmap == {"104": "AMR-WB/16000", "102": "AMR/8000", "0": "PCMU/8000",
                            "8": "PCMA/8000", "100": "telephone-event/16000",
                            "101": "telephone-event/8000"}


def test_response_for_copies_headers_and_adds_tag() -> None:
    req = sip.decode(invite())
    assert isinstance(req, SipRequest)
    resp = sip.response_for(req, 180, to_tag="xyz")
    assert resp.status == 180 and resp.reason == "Ringing"
    assert resp.headers_all("Via") == req.headers_all("Via")
    assert resp.to.tag == "xyz" and resp.from_.tag == "1928301774"
    assert resp.cseq == req.cseq and resp.call_id == req.call_id
    trying = sip.response_for(req, 100)
    assert trying.to.tag is None  # §8.2.6.1: no tag needed on 100
    data = sip.encode(resp)
    back = sip.decode(data)
    assert isinstance(back, SipResponse) and back.status == 180 and sip.encode(back) == data


def test_uris() -> None:
    u = sip.parse_uri("sips:alice:pw@Example.COM:5061;transport=tcp;lr?subject=x")
    assert (u.scheme, u.user, u.password, u.host, u.port) == ("sips", "alice", "pw",
                                                              "Example.COM", 5061)
    assert u.param("transport") == "tcp" and u.param("lr") is None and u.headers == "subject=x"
    assert str(u) == "sips:alice:pw@Example.COM:5061;transport=tcp;lr?subject=x"
    t = sip.parse_uri("tel:110;phone-context=+81")
    assert t.scheme == "tel" and t.user == "110" and t.param("phone-context") == "+81"
    n = sip.parse_uri("urn:service:sos.ambulance")
    assert n.is_emergency and n.service == "sos.ambulance" and str(n) == "urn:service:sos.ambulance"
    assert not sip.parse_uri("urn:service:counseling").is_emergency
    user_params = sip.parse_uri("sip:+81312345678;npdi@ims.example;user=phone")
    assert user_params.user == "+81312345678;npdi" and user_params.param("user") == "phone"


def test_ims_headers() -> None:
    raw = invite(
        "P-Asserted-Identity: <sip:+819012345678@ims.example>, <tel:+819012345678>",
        "P-Access-Network-Info: 3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=44020000100001",
        "Accept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel\"",
        "Route: <sip:pcscf.rescuer.example;lr>, <sip:ecscf.rescuer.example;lr>",
        "Record-Route: <sip:pcscf.rescuer.example;lr>",
        'Authorization: Digest username="a", realm="b", nonce="c,d", uri="sip:x", response="e"',
    )
    msg = sip.decode(raw)
    pai = [sip.parse_name_addr(v) for v in msg.headers_all("P-Asserted-Identity")]
    assert [p.uri.scheme for p in pai] == ["sip", "tel"]
    assert msg.header("P-Access-Network-Info") == (
        "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=44020000100001")
    assert [sip.parse_name_addr(r).uri.host for r in msg.headers_all("Route")] == [
        "pcscf.rescuer.example", "ecscf.rescuer.example"]
    # never split on commas (§7.3.1 exception)
    assert len(msg.headers_all("Authorization")) == 1
    assert 'nonce="c,d"' in (msg.header("Authorization") or "")


def test_multipart_sdp_and_pidf_lo() -> None:
    offer = sdp.encode(sdp.audio_offer("192.0.2.1", 4000))
    loc = pidf_lo.LocationObject("pres:ue@ims.example", 35.681236, 139.767125, 150.0,
                                 civic={"country": "JP", "A1": "Tokyo"}, method="Cell",
                                 device_id="urn:gsma:imei:35209900-176148-1")
    body = sip.build_multipart([BodyPart("application/sdp", offer),
                                BodyPart("application/pidf+xml", pidf_lo.encode(loc),
                                         (Header("Content-ID", "<loc@ue>"),))], "bnd42")
    raw = invite("Geolocation: <cid:loc@ue>",
                 'Content-Type: multipart/mixed;boundary="bnd42"',
                 f"Content-Length: {len(body)}", body=body.decode())
    msg = sip.decode(raw)
    parts = msg.body_parts()
    assert [p.content_type for p in parts] == ["application/sdp", "application/pidf+xml"]
    assert parts[0].body == offer
    assert parts[1].header("Content-ID") == "<loc@ue>"
    got = pidf_lo.decode(parts[1].body)
    assert got.latitude == pytest.approx(35.681236) and got.radius_m == 150.0
    assert got.civic == {"country": "JP", "A1": "Tokyo"} and got.method == "Cell"
    assert got.device_id == "urn:gsma:imei:35209900-176148-1"
    view = sip.to_message(msg).to_json()
    assert view["message"] == "INVITE" and view["code"] == "INVITE"
    assert view["fields"]["body"][0]["sdp"]["media"][0]["port"] == 4000
    assert view["fields"]["body"][1]["pidf_lo"]["civic"]["A1"] == "Tokyo"


def test_pidf_lo_point_and_dtd_refused() -> None:
    loc = pidf_lo.LocationObject("sip:ue@x", 35.0, 139.0)
    assert b"<gml:Point" in pidf_lo.encode(loc)
    assert pidf_lo.decode(pidf_lo.encode(loc)).radius_m is None
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
            b'<presence xmlns="urn:ietf:params:xml:ns:pidf">&lol;</presence>')
    with pytest.raises(DecodeError) as exc:
        pidf_lo.decode(bomb)
    assert exc.value.cause == 400 and "DTD" in exc.value.detail
    with pytest.raises(DecodeError):
        pidf_lo.decode(b"<presence")
    # an XML declaration naming an unknown encoding is refused like any malformed body
    with pytest.raises(DecodeError) as exc:
        pidf_lo.decode(b'<?xml version="1.0" encoding="U-F-8"?><presence/>')
    assert exc.value.cause == 400


def test_sdp_answer_picks_common_codec() -> None:
    offer = sdp.audio_offer("192.0.2.1", 4000, payload_types=(8, 0))
    answer = sdp.audio_answer(offer, "198.51.100.7", 5000, accept=("PCMU/8000",))
    audio = answer.audio()
    assert audio is not None and audio.formats == ["0", "101"] and audio.port == 5000
    assert audio.direction == "sendrecv"
    assert answer.connection is not None and answer.connection.address == "198.51.100.7"
    refused = sdp.audio_answer(offer, "198.51.100.7", 5000, accept=("G722/8000",))
    assert refused.media[0].port == 0  # RFC 3264 §6: stream rejected
    assert sdp.decode(sdp.encode(answer)).to_dict() == answer.to_dict()
    with pytest.raises(DecodeError) as exc:
        sdp.decode(b"v=0\r\ns=-\r\n")
    assert exc.value.cause == 400


def test_response_parse() -> None:
    raw = _msg("SIP/2.0 486 Busy Here", *BASE[:1], *BASE[2:])
    msg = sip.decode(raw)
    assert isinstance(msg, SipResponse) and msg.status == 486 and msg.reason == "Busy Here"
    view = sip.to_message(msg).to_json()
    assert view["message"] == "response" and view["code"] == 486


def test_udp_body_truncated_to_content_length() -> None:
    msg = sip.decode(invite("Content-Type: text/plain", "Content-Length: 3", body="abcdef"))
    assert msg.body == b"abc"  # §18.3: octets past Content-Length are discarded


@pytest.mark.parametrize(("raw", "status"), [
    (invite(start="INVITE urn:service:sos.fire SIP/3.0"), 505),
    (invite(start="INVITE http://example.com/ SIP/2.0"), 416),
    (invite(start="INVITE sip:" + "a" * 5000 + "@x SIP/2.0"), 414),
    (invite("Require: 100rel, foo"), 420),
    (invite(start="INVITE sip:x SIP/2.0 extra"), 400),
    (invite(base=BASE[:-1]), 400),  # no CSeq
    (invite(base=[b for b in BASE if not b.startswith("Max")]), 400),
    (invite("Content-Length: 10", body="abc"), 400),
    (invite("Content-Length: 999999"), 413),
    (invite(body="x" * 70000), 413),
    (_msg("INVITE sip:x SIP/2.0", *BASE, *[f"X-H{i}: {i}" for i in range(130)]), 400),
    (invite("X-Long: " + "a" * 9000), 400),
    (invite("Bad Header Line"), 400),
    (invite(start="INVITE sip:x SIP/2.0", base=[*BASE[:-1], "CSeq: 1 BYE"]), 400),
    (invite("Content-Type: multipart/mixed", body="--x\r\n\r\n--x--"), 400),
    (b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n", 400),  # no blank line
    (b"\xff\xfe\r\n\r\n", 400),
])
def test_errors_carry_status(raw: bytes, status: int) -> None:
    with pytest.raises(DecodeError) as exc:
        sip.decode(raw)
    assert exc.value.protocol == "sip" and exc.value.cause == status


def test_error_response_from_partial() -> None:
    with pytest.raises(DecodeError) as exc:
        sip.decode(invite("Require: foo"))
    err = exc.value
    assert err.extra["call_id"] == "a84b4c76e66710@192.0.2.1"
    assert err.extra["cseq"] == "314159 INVITE"
    resp = sip.error_response(err)
    assert resp is not None and resp.status == 420 and resp.reason == "Bad Extension"
    assert resp.header("Unsupported") == "foo"
    assert resp.headers_all("Via") == [BASE[0].partition(": ")[2]]
    assert resp.to.tag is not None
    with pytest.raises(DecodeError) as exc:
        sip.decode(invite(start="INVITE sip:x SIP/9.0"))
    resp = sip.error_response(exc.value)
    assert resp is not None and resp.status == 505
    # no Call-ID: answered all the same, with what there was (matched by branch and CSeq)
    with pytest.raises(DecodeError) as exc:
        sip.decode(invite(start="INVITE sip:x SIP/9.0", base=BASE[:4] + BASE[5:]))
    resp = sip.error_response(exc.value)
    assert resp is not None and resp.status == 505 and resp.header("Call-ID") is None
    assert resp.cseq == sip.CSeq(314159, "INVITE")


def _answer(raw: bytes, limits: sip.Limits = sip.DEFAULT_LIMITS) -> SipResponse:
    with pytest.raises(DecodeError) as exc:
        sip.decode(raw, limits=limits)
    resp = sip.error_response(exc.value)
    assert resp is not None, exc.value.detail
    return resp


def _without(name: str) -> list[str]:
    return [b for b in BASE if not b.startswith(name + ":")]


@pytest.mark.parametrize("missing", ["From", "To", "Call-ID", "CSeq", "Max-Forwards"])
def test_a_request_missing_a_mandatory_header_gets_400_with_what_it_had(missing: str) -> None:
    """RFC 3261 §8.1.1, §8.2.6.2: 400, the other headers copied."""
    resp = _answer(invite(base=_without(missing)))
    assert resp.status == 400
    assert resp.headers_all("Via") == [BASE[0].partition(": ")[2]]
    for name in ("From", "Call-ID", "CSeq"):
        assert (resp.header(name) is None) == (name == missing), name
    assert (resp.header("To") is None) == (missing == "To")
    if missing != "To":
        assert resp.to.uri == sip.parse_uri("urn:service:sos.fire") and resp.to.tag


@pytest.mark.parametrize("start, status", [
    ("INVITE sip:@@ SIP/2.0", 400), ("INVITE not-a-uri SIP/2.0", 400),
    ("INVITE tel:12a%z SIP/2.0", 400), ("INVITE http://example.com/ SIP/2.0", 416)])
def test_a_malformed_request_uri_is_answered(start: str, status: int) -> None:
    """§16.3 step 1 / §21.4.1 (400), §8.2.2.1 / §21.4.17 (416)."""
    resp = _answer(invite(start=start))
    assert (resp.status, resp.call_id, resp.cseq.seq) == (status, "a84b4c76e66710@192.0.2.1",
                                                           314159)


def test_limits_are_answered_with_the_request_headers() -> None:
    """§21.4.1 400 for too many or too long headers, or too many folded lines; §18.1.1 /
    §21.5.14 513 for a message over the UDP limit; the answer still carries Via, From, To,
    Call-ID and CSeq, even when they come after the offending part."""
    many = _msg("INVITE sip:x@y SIP/2.0", *[f"X-H{i}: {i}" for i in range(130)], *BASE)
    long = _msg("INVITE sip:x@y SIP/2.0", "X-Long: " + "a" * 9000, *BASE)
    folded = _msg("INVITE sip:x@y SIP/2.0", "Subject: a", *[" b"] * 3000, *BASE)
    huge = _msg("INVITE sip:x@y SIP/2.0", *BASE, *[f"X-{i}: {'a' * 1000}" for i in range(70)])
    for raw, status in ((many, 400), (long, 400), (folded, 400), (huge, 513)):
        resp = _answer(raw)
        assert resp.status == status
        assert (resp.call_id, str(resp.cseq), resp.from_.tag) == (
            "a84b4c76e66710@192.0.2.1", "314159 INVITE", "1928301774")
        assert resp.vias[0].branch == "z9hG4bK776asdhds"
    # a few folded lines are fine
    assert isinstance(sip.decode(_msg("INVITE sip:x@y SIP/2.0", "Subject: a", *[" b"] * 32,
                                      *BASE)), SipRequest)


def test_limits_are_configurable() -> None:
    limits = sip.Limits(max_message=2000, max_headers=10, max_header_line=300,
                        max_folded_lines=1)
    assert _answer(invite(*[f"X-{i}: {i}" for i in range(5)]), limits).status == 400
    assert _answer(invite("X-Long: " + "a" * 400), limits).status == 400
    assert _answer(invite("Subject: a", " b", " c"), limits).status == 400
    assert _answer(invite(*[f"X-{i}: {'a' * 250}" for i in range(8)]), limits).status == 513
    assert _answer(invite("Content-Type: text/plain", body="x" * 3000), limits).status == 413
    assert isinstance(sip.decode(invite("Subject: a", " b"), limits=limits), SipRequest)


def test_no_answer_when_the_via_cannot_be_parsed() -> None:
    with pytest.raises(DecodeError) as exc:
        sip.decode(invite(base=["Via: SIP/2.0/UDP", *BASE[1:]]))
    assert sip.error_response(exc.value) is None
    with pytest.raises(DecodeError) as exc:
        sip.decode(invite(base=BASE[1:]))
    assert sip.error_response(exc.value) is None


def test_header_helpers() -> None:
    req = sip.decode(invite())
    req.set_header("Max-Forwards", "10")
    assert req.max_forwards == 10
    req.remove_header("max-forwards")
    assert req.header("Max-Forwards") is None
    assert sip.canonical_name("i") == "Call-ID" and sip.canonical_name("CALL-id") == "Call-ID"


def test_tel_uri_with_an_escaped_hash() -> None:
    """RFC 3966 §3 / RFC 3261 §25.1: '#' is written %23; the URI keeps its wire form."""
    uri = sip.parse_uri("tel:%237119;phone-context=+81-3")
    assert (uri.user, uri.param("phone-context")) == ("%237119", "+81-3")
    assert str(uri) == "tel:%237119;phone-context=+81-3"
    for bad in ("tel:%zz7119", "tel:%2"):
        with pytest.raises(DecodeError) as exc:
            sip.parse_uri(bad)
        assert exc.value.cause == 400


def test_voice_offer_puts_amr_wb_and_amr_before_g711() -> None:
    """TS 26.114 §6.2.2: AMR-WB and AMR on dynamic payload types with their fmtp, then G.711;
    RFC 4733 §2.1: telephone-event at each clock rate offered."""
    wire = sdp.encode(sdp.audio_offer("192.0.2.1", 4000))
    assert b"m=audio 4000 RTP/AVP 104 102 0 8 100 101\r\n" in wire
    audio = sdp.decode(wire).audio()
    assert audio is not None
    assert [audio.rtpmap[f] for f in audio.formats] == [
        "AMR-WB/16000", "AMR/8000", "PCMU/8000", "PCMA/8000", "telephone-event/16000",
        "telephone-event/8000"]
    fmtp = [v for k, v in audio.attributes if k == "fmtp"]
    assert fmtp == ["104 mode-change-capability=2;max-red=0",
                    "102 mode-change-capability=2;max-red=0", "100 0-16", "101 0-16"]


def test_answer_keeps_the_first_offered_codec_with_its_fmtp_and_clock_rate_events() -> None:
    """RFC 3264 §6 / RFC 4867 §8.3.1: AMR-WB chosen with its fmtp, telephone-event/16000."""
    offer = sdp.decode(sdp.encode(sdp.audio_offer("192.0.2.1", 4000)))
    audio = sdp.decode(sdp.encode(sdp.audio_answer(offer, "198.51.100.7", 5000))).audio()
    assert audio is not None and audio.formats == ["104", "100"]
    assert audio.rtpmap == {"104": "AMR-WB/16000", "100": "telephone-event/16000"}
    assert ("fmtp", "104 mode-change-capability=2;max-red=0") in audio.attributes
    g711 = sdp.audio_answer(offer, "198.51.100.7", 5000, accept=("PCMA/8000",)).audio()
    assert g711 is not None and g711.formats == ["8", "101"]
