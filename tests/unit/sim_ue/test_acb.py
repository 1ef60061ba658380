"""The UE's access barring check (TS 36.331 §5.3.3.11, emergency: §5.3.3.2)."""

from __future__ import annotations

import random

import pytest

from sim_ue.acb import access_barred


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
