"""SIB2 access class barring (TS 36.331 §6.3.1): encode, decode, reject bad input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs.sib2 import (
    BARRING_FACTORS,
    BarringConfig,
    BarringInfo,
    decode_sib2_barring,
    sib2_with_barring,
)
from corenet.core.errors import DecodeError


def test_sib2_round_trip_common_and_per_plmn() -> None:
    data = sib2_with_barring(0.3, 64, special_ac=0b00110,
                             per_plmn={2: BarringInfo(True, None, BarringConfig(0.5, 16))})
    out = decode_sib2_barring(data)
    assert out.common is not None and out.common.mo_data == BarringConfig(0.3, 64, 0b00110)
    assert out.common.mo_signalling == BarringConfig(0.3, 64, 0b00110)
    assert out.per_plmn[2].for_emergency is True
    assert out.per_plmn[2].mo_data == BarringConfig(0.5, 16)
    assert out.per_plmn[2].mo_signalling is None


def test_sib2_without_barring() -> None:
    out = decode_sib2_barring(sib2_with_barring(None))
    assert out.common is None and out.per_plmn == {}


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(BARRING_FACTORS), st.sampled_from([4, 8, 16, 32, 64, 128, 256, 512]))
def test_sib2_every_factor_and_time(factor: float, time_s: int) -> None:
    out = decode_sib2_barring(sib2_with_barring(factor, time_s))
    assert out.common is not None and out.common.mo_data == BarringConfig(factor, time_s)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_decoder_raises_only_decode_error(data: bytes) -> None:
    try:
        decode_sib2_barring(data)
    except DecodeError:
        pass
