"""Diameter decoder fuzzing: random bytes and mutations of valid S6a/base messages.

Only DecodeError may leave `decode`; whatever decodes must re-encode to a message that decodes
to the same value.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corenet.codecs import diameter as d
from corenet.codecs import s6a
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn

_PLMN = Plmn("440", "20")
_SID = d.session_id("mme.example.org", 1, 2)
_AIR = s6a.air(_SID, "mme.example.org", "example.org", "home.org", "440100123456789", _PLMN,
               hop_by_hop=1, end_to_end=2, resync_info=bytes(30))
_ULR = s6a.ulr(_SID, "mme.example.org", "example.org", "home.org", "440100123456789", _PLMN,
               hop_by_hop=3, end_to_end=4, imei="35349006987330", software_version="01")
_SUB = s6a.SubscriptionData(
    msisdn="819012345678", ambr=s6a.Ambr(300_000, 300_000),
    apn_configurations=(s6a.ApnConfiguration(1, "internet", ambr=s6a.Ambr(1, 2)),))
_CER = d.cer("mme.example.org", "example.org", ["192.0.2.1", "2001:db8::1"], hop_by_hop=5,
             end_to_end=6)
SEEDS = [
    d.encode(m) for m in (
        _AIR, _ULR, _CER,
        s6a.aia(_AIR, "hss.org", "home.org", vectors=[
            s6a.EutranVector(bytes(16), bytes(8), bytes(16), bytes(32), 1)]),
        s6a.ula(_ULR, "hss.org", "home.org", subscription_data=_SUB),
        s6a.aia(_AIR, "hss.org", "home.org", experimental_result=5001),
        d.dwr("a.org", "org", hop_by_hop=7, end_to_end=8),
    )
]

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _check(data: bytes) -> None:
    try:
        msg = d.decode(data)
    except DecodeError as err:
        assert err.protocol == "diameter"
        assert isinstance(err.cause, int) and 1000 <= err.cause < 6000
        return
    again = d.encode(msg)
    assert d.decode(again) == msg
    try:
        d.check_mandatory(msg)
    except DecodeError as err:
        assert err.cause == d.ResultCode.DIAMETER_MISSING_AVP
        assert err.extra["failed_avp"]


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@SETTINGS
@given(st.binary(max_size=280))
def test_random_body_behind_valid_header(body: bytes) -> None:
    length = d.HEADER_LEN + len(body)
    header = bytes([1]) + length.to_bytes(3, "big") + bytes.fromhex("c000013e0100002300000001")
    _check(header + bytes(4) + body)


@SETTINGS
@given(st.sampled_from(SEEDS), st.lists(
    st.tuples(st.integers(min_value=0, max_value=2000), st.integers(min_value=0, max_value=255)),
    min_size=1, max_size=6))
def test_byte_mutations(seed: bytes, changes: list[tuple[int, int]]) -> None:
    data = bytearray(seed)
    for pos, value in changes:
        data[pos % len(data)] = value
    _check(bytes(data))


@SETTINGS
@given(st.sampled_from(SEEDS), st.integers(min_value=0, max_value=2000),
       st.integers(min_value=0, max_value=64))
def test_truncation_and_length_fixups(seed: bytes, cut: int, extra: int) -> None:
    data = bytearray(seed[: cut % (len(seed) + 1)] + bytes(extra))
    if len(data) >= 4:
        data[1:4] = len(data).to_bytes(3, "big")  # keep the header length consistent
    _check(bytes(data))


@SETTINGS
@given(st.sampled_from(SEEDS), st.integers(min_value=20, max_value=2000),
       st.integers(min_value=0, max_value=0xFFFFFF))
def test_avp_length_field_mutations(seed: bytes, offset: int, length: int) -> None:
    data = bytearray(seed)
    pos = offset % (len(data) - 8)
    data[pos + 5:pos + 8] = length.to_bytes(3, "big")
    _check(bytes(data))
