"""Session-Ids (RFC 6733 §8.8) and End-to-End Identifiers (§3) of one node start-up."""

from __future__ import annotations

import random

from corenet.protocols.diameter_ids import DiameterIds

STARTED = float((1_767_225_600 & ~0xFFF) | 0x5A5)  # a start-up time, low 12 bits 0x5A5


def _parts(sid: str) -> tuple[str, int, int]:
    host, high, low = sid.split(";")
    return host, int(high), int(low)


def test_session_id_high_half_is_the_start_up_time_and_values_increase() -> None:
    ids = DiameterIds("mme.example.org", STARTED, random.Random(1))
    first, second = _parts(ids.session_id()), _parts(ids.session_id())
    assert first[0] == second[0] == "mme.example.org"
    assert first[1] == int(STARTED)
    assert (second[1] << 32 | second[2]) == (first[1] << 32 | first[2]) + 1


def test_session_id_low_half_carries_into_the_high_half() -> None:
    rng = random.Random()
    rng.getrandbits = lambda bits: (1 << bits) - 2  # type: ignore[method-assign]
    ids = DiameterIds("mme.example.org", 5.0, rng)
    assert _parts(ids.session_id())[1:] == (5, 0xFFFFFFFF)
    assert _parts(ids.session_id())[1:] == (6, 0)


def test_end_to_end_high_12_bits_from_the_clock_low_20_incrementing() -> None:
    ids = DiameterIds("mme.example.org", STARTED, random.Random(1))
    a, b = ids.end_to_end(), ids.end_to_end()
    assert a >> 20 == b >> 20 == 0x5A5
    assert (b & 0xFFFFF) == ((a & 0xFFFFF) + 1) & 0xFFFFF


def test_two_start_ups_in_the_same_second_differ() -> None:
    one = DiameterIds("mme.example.org", STARTED, random.SystemRandom())
    two = DiameterIds("mme.example.org", STARTED, random.SystemRandom())
    assert one.session_id() != two.session_id()
    assert one.end_to_end() != two.end_to_end()
