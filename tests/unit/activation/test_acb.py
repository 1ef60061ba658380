from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.activation.acb import (
    BARRING_FACTORS,
    BarringConfig,
    BarringInfo,
    access_barred,
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


@pytest.mark.parametrize("factor", [0.05, 0.3, 0.5, 0.95])
def test_barred_fraction_matches_factor(factor: float) -> None:
    # Barred with probability 1 - factor; 10,000 draws: tolerance 0.03 (> 6 standard deviations).
    rng = random.Random(7)
    barred = [access_barred(rng, 5, factor, 32, False) for _ in range(10_000)]
    fraction = sum(b for b, _ in barred) / len(barred)
    assert abs(fraction - (1 - factor)) < 0.03
    timers = [t for b, t in barred if b]
    assert min(timers) >= 0.7 * 32 and max(timers) <= 1.3 * 32


def test_special_access_classes_and_emergency() -> None:
    rng = random.Random(1)
    # AC 12 valid in the home country, its bit (second from left) zero: never barred.
    assert access_barred(rng, {3, 12}, 0.0, 4, False, special_ac=0b10111) == (False, 0.0)
    # Its bit set: the draw applies; factor 0 bars everyone.
    assert access_barred(rng, {3, 12}, 0.0, 4, False, special_ac=0b01000)[0] is True
    # AC 11 is not valid outside the HPLMN: a roamer with AC 11 is drawn like anyone.
    assert access_barred(rng, {3, 11}, 0.0, 4, False)[0] is True
    assert access_barred(rng, {3, 11}, 0.0, 4, False, in_hplmn=True) == (False, 0.0)
    # No barring broadcast.
    assert access_barred(rng, 3, None, 4, False) == (False, 0.0)
    # Emergency: only ac-BarringForEmergency counts, no draw, no timer.
    assert access_barred(rng, 3, 0.0, 4, True) == (False, 0.0)
    assert access_barred(rng, 3, 0.95, 4, True, barring_for_emergency=True) == (True, 0.0)
    assert access_barred(rng, {3, 12}, 0.0, 4, True, barring_for_emergency=True,
                         special_ac=0b00000) == (False, 0.0)
