"""SIP parser fuzzing: only DecodeError escapes; messages under the limits parse quickly."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corenet.codecs import pidf_lo, sdp, sip
from corenet.codecs.sip import BodyPart
from corenet.core.errors import DecodeError
from corenet.transport.sip import SipFramer

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_OFFER = sdp.encode(sdp.audio_offer("192.0.2.1", 4000))
_LOC = pidf_lo.encode(pidf_lo.LocationObject("sip:ue@x", 35.0, 139.0, 100.0, method="Cell"))
_MULTI = sip.build_multipart([BodyPart("application/sdp", _OFFER),
                              BodyPart("application/pidf+xml", _LOC)], "b1")

SEEDS: list[bytes] = [
    sip.encode(sip.make_request(
        "INVITE", "urn:service:sos.fire", from_="<tel:+819012345678>;tag=a",
        to="<urn:service:sos.fire>", call_id="c@h", cseq=1,
        via="SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;rport",
        contact="<sip:ue@192.0.2.1>",
        headers=[("P-Asserted-Identity", "<sip:+819012345678@ims.example>, <tel:+8190>"),
                 ("Geolocation", "<cid:loc@ue>"), ("Route", "<sip:p.example;lr>")],
        body=_MULTI, content_type="multipart/mixed;boundary=b1")),
    b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\nf: <sip:a@b>;tag=1\r\n"
    b"t: <sip:c@d>;tag=2\r\ni: c@h\r\nCSeq: 1 INVITE\r\nc: application/sdp\r\n"
    b"l: " + str(len(_OFFER)).encode() + b"\r\n\r\n" + _OFFER,
]


def _only_decode_error(data: bytes) -> None:
    try:
        msg = sip.decode(data)
    except DecodeError as exc:
        assert exc.protocol == "sip" and isinstance(exc.cause, int)
        resp = sip.error_response(exc)
        if resp is not None:
            assert resp.status == exc.cause and resp.vias
            if all(resp.header(n) for n in ("From", "To", "Call-ID", "CSeq")):
                assert sip.decode(sip.encode(resp)).status == exc.cause  # type: ignore[union-attr]
        return
    try:
        sip.to_message(msg)
    except DecodeError:
        pass


def _read_only_decode_error(data: bytes) -> None:
    """The observer's reading (`corenet decode sip`): DecodeError or a message and its
    warnings, whose JSON view builds."""
    try:
        msg, warnings = sip.read(data)
    except DecodeError as exc:
        assert exc.protocol == "sip" and isinstance(exc.cause, int)
        return
    assert all(isinstance(w, str) for w in warnings)
    try:
        sip.to_message(msg, warnings)
    except DecodeError:
        pass


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _only_decode_error(data)
    _read_only_decode_error(data)
    framer = SipFramer()
    framer.feed(data)


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 4000), st.binary(max_size=8)),
                                        max_size=6))
def test_mutated_messages(seed: bytes, edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(seed)
    for pos, chunk in edits:
        pos %= len(data) + 1
        data[pos:pos + len(chunk)] = chunk
    _only_decode_error(bytes(data))
    _read_only_decode_error(bytes(data))


@FUZZ
@given(st.sampled_from(SEEDS), st.integers(1, 200), st.sampled_from(
    [b'"', b"<", b";", b",", b" ", b"\t", b"\r\n ", b":", b"@", b"["]))
def test_pathological_repetition_is_fast(seed: bytes, n: int, chunk: bytes) -> None:
    # a message within the limits never takes pathological time (no backtracking)
    head, _, rest = seed.partition(b"\r\n")
    data = head + b"\r\nX-Pad: " + chunk * (n * 30) + b"\r\n" + rest
    start = time.perf_counter()
    _only_decode_error(data[:sip.MAX_MESSAGE])
    assert time.perf_counter() - start < 2.0


@FUZZ
@given(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=3),
       st.lists(st.tuples(st.integers(0, 6000), st.binary(max_size=8)), max_size=4),
       st.lists(st.integers(1, 700), max_size=10))
def test_stream_framing(seeds: list[bytes], edits: list[tuple[int, bytes]],
                        cuts: list[int]) -> None:
    """RFC 3261 §18.3 over TCP: mutated messages back to back, fed in arbitrary chunks; the
    framer yields frames that decode or raise DecodeError, and a framing refusal is a
    DecodeError whose answer (when there is one) carries the status."""
    data = bytearray(b"".join(seeds))
    for pos, chunk in edits:
        pos %= len(data) + 1
        data[pos:pos + len(chunk)] = chunk
    framer = SipFramer(max_message=4096)
    at = 0
    for cut in [*cuts, len(data)]:
        for frame in framer.feed(bytes(data[at:at + cut])):
            _only_decode_error(frame.payload)
        at += cut
    for frame in framer.feed(bytes(data[at:])):
        _only_decode_error(frame.payload)
    if framer.error is not None:
        assert isinstance(framer.error, DecodeError)
        resp = sip.error_response(framer.error)
        assert resp is None or resp.status == framer.error.cause
