"""Access class barring on the UE side: the barring check of TS 36.331 §5.3.3.11 (with the
emergency rule of §5.3.3.2) against the SIB2 barring parameters a cell broadcasts.

The SIB2 itself is encoded and decoded by `corenet.codecs.sib2`; the values the check reads from
it (`BarringInfo`, `Sib2Barring`, `decode_sib2_barring`) are re-exported here, so the UE reads
barring through one module.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from corenet.codecs.sib2 import BarringConfig, BarringInfo, Sib2Barring, decode_sib2_barring

__all__ = [
    "BarringConfig",
    "BarringInfo",
    "Sib2Barring",
    "access_barred",
    "decode_sib2_barring",
]


def _valid_special(classes: frozenset[int], in_home_country: bool, in_hplmn: bool) -> set[int]:
    """TS 22.011 §4.3.1: AC 11 and 15 are valid in the HPLMN/EHPLMN only; AC 12, 13, 14 in the
    home country only. A roamer on a rescuer is not in its HPLMN."""
    valid: set[int] = set()
    for ac in classes:
        if ac in (11, 15) and in_hplmn:
            valid.add(ac)
        if ac in (12, 13, 14) and in_home_country:
            valid.add(ac)
    return valid


def access_barred(
    rng: random.Random,
    access_class: int | Iterable[int],
    factor: float | None,
    time: int,
    emergency: bool,
    *,
    special_ac: int = 0b00000,
    barring_for_emergency: bool = False,
    in_home_country: bool = True,
    in_hplmn: bool = False,
) -> tuple[bool, float]:
    """The access barring check (TS 36.331 §5.3.3.11); returns (barred, Tbarring seconds).

    factor None means SIB2 carries no barring for this access (never barred). Emergency calls
    (TS 36.331 §5.3.3.2) are barred only by ac-BarringForEmergency, without a draw or a timer.
    """
    classes = frozenset([access_class] if isinstance(access_class, int) else access_class)
    special = _valid_special(classes, in_home_country, in_hplmn)
    if emergency:
        return _emergency_barred(special, barring_for_emergency, special_ac, factor), 0.0
    if factor is None:
        return False, 0.0
    # §5.3.3.11: a valid AC 11..15 whose ac-BarringForSpecialAC bit is zero is not barred.
    if any(not (special_ac >> (15 - ac)) & 1 for ac in special):
        return False, 0.0
    # §5.3.3.11: "rand" uniformly 0 <= rand < 1; lower than ac-BarringFactor -> not barred.
    if rng.random() < factor:
        return False, 0.0
    # §5.3.3.11: Tbarring = (0.7 + 0.6 * rand) * ac-BarringTime, with a new draw.
    return True, (0.7 + 0.6 * rng.random()) * time


def _emergency_barred(
    special: set[int], barring_for_emergency: bool, special_ac: int, factor: float | None
) -> bool:
    """TS 36.331 §5.3.3.2 for establishmentCause emergency."""
    if not barring_for_emergency:
        return False
    if not special:
        return True
    # Barred when every valid AC 11..15 is also barred for MO data and signalling.
    return factor is not None and all((special_ac >> (15 - ac)) & 1 for ac in special)
