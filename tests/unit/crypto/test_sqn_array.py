"""USIM SQN verification, TS 33.102 Annex C.2.2 with the C.3 profile (IND 5 bits, delta 2^28)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.crypto.milenage import SqnArray


def sqn(seq: int, ind: int, ind_bits: int = 5) -> int:
    return (seq << ind_bits) | ind


def test_fresh_then_replayed() -> None:
    a = SqnArray()
    assert a.highest() == 0
    assert a.accept(sqn(1, 0))
    assert a.highest() == sqn(1, 0)
    assert not a.accept(sqn(1, 0))  # the same SQN again
    assert not a.accept(sqn(0, 0))
    assert a.accept(sqn(2, 0))


def test_ind_slots_are_independent() -> None:
    """C.2.2: SEQ is compared with SEQ_MS(i) of its own slot i = IND."""
    a = SqnArray()
    assert a.accept(sqn(5, 3))
    assert a.accept(sqn(2, 4))  # older SEQ, but slot 4 has seen nothing
    assert not a.accept(sqn(2, 4))
    assert not a.accept(sqn(5, 3))
    assert a.accept(sqn(6, 3))
    assert a.highest() == sqn(6, 3)
    assert a.to_list()[3] == sqn(6, 3) and a.to_list()[4] == sqn(2, 4)


def test_delta_limit() -> None:
    """C.2.2: SEQ - SEQ_MS must not exceed delta (wrap-around protection)."""
    a = SqnArray(delta=2**28)
    assert a.accept(sqn(10, 1))
    assert not a.accept(sqn(10 + 2**28 + 1, 2))
    assert a.accept(sqn(10 + 2**28, 2))
    small = SqnArray(delta=4)
    assert not small.accept(sqn(5, 0))
    assert small.accept(sqn(4, 0))


def test_age_limit_l() -> None:
    """C.2.2: with L set, SEQ_MS - SEQ must stay below L."""
    a = SqnArray(L=3)
    assert a.accept(sqn(10, 0))
    assert not a.accept(sqn(7, 1))
    assert a.accept(sqn(8, 1))
    assert SqnArray().accept(sqn(1, 0))


def test_out_of_range_sqn_rejected() -> None:
    a = SqnArray()
    assert not a.accept(-1)
    assert not a.accept(1 << 48)


def test_persistence_round_trip() -> None:
    a = SqnArray()
    for s in (sqn(3, 0), sqn(9, 7), sqn(4, 31)):
        assert a.accept(s)
    values = a.to_list()
    assert len(values) == 32
    b = SqnArray.from_list(values)
    assert b.to_list() == values and b.ind_bits == 5 and b.highest() == sqn(9, 7)
    assert not b.accept(sqn(9, 7))
    assert b.accept(sqn(10, 7))
    values.append(0)
    with pytest.raises(ValueError):
        SqnArray.from_list(values)
    with pytest.raises(ValueError):
        SqnArray.from_list([-1, 0])


def test_other_ind_length() -> None:
    a = SqnArray(ind_bits=0)
    assert len(a.to_list()) == 1
    assert a.accept(1) and not a.accept(1) and a.accept(2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**20), min_size=1, max_size=30))
def test_never_accepts_twice(values: list[int]) -> None:
    a = SqnArray()
    seen: set[int] = set()
    for v in values:
        if a.accept(v):
            assert v not in seen
            seen.add(v)
        assert a.highest() == (max(seen) if seen else 0)
