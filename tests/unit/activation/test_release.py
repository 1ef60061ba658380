"""Release schedules of step ⑪ (steps, all-at-once, load-driven)."""

from __future__ import annotations

import pytest

from corenet.activation.release import (
    LADDER,
    AutoRelease,
    Load,
    StepSchedule,
    parse_schedule,
    quantise,
)


def test_steps_schedule_holds_each_factor() -> None:
    s = parse_schedule("steps:0.05x20,0.2x20,0.5x20,1.0")
    assert isinstance(s, StepSchedule)
    assert [s.factor(t) for t in (0, 19.9, 20, 45, 59.9, 60, 1e6)] == [
        0.05, 0.05, 0.2, 0.5, 0.5, None, None]


def test_all_at_once_is_never_barred() -> None:
    s = parse_schedule("all-at-once")
    assert s.factor(0) is None and s.factor(100) is None


def test_factors_are_quantised_to_sib2_values() -> None:
    assert quantise(0.33) == 0.30
    assert quantise(0.0) == 0.0
    assert quantise(0.97) == 0.95
    assert quantise(1.0) is None


@pytest.mark.parametrize("text", ["steps:", "steps:0.1,0.2x5", "steps:axb", "sometimes",
                                  "steps:0.1x-1,1.0"])
def test_bad_schedules_name_the_problem(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text)


def test_auto_needs_capacity() -> None:
    with pytest.raises(ValueError):
        parse_schedule("auto")
    assert isinstance(parse_schedule("auto", capacity_air_per_s=50), AutoRelease)


def test_auto_raises_under_target_and_lowers_over_capacity() -> None:
    a = AutoRelease(100.0, interval_s=1.0)
    assert a.factor(0.0, Load(10, 0)) == LADDER[2]
    assert a.factor(0.5, Load(10, 0)) == LADDER[2]  # within the interval: held
    assert a.factor(1.0, Load(10, 0)) == LADDER[3]
    assert a.factor(2.0, Load(70, 0)) == LADDER[3]  # between target and high: held
    assert a.factor(3.0, Load(95, 0)) == LADDER[2]  # over 0.9 x capacity: one rung down
    assert a.factor(4.0, Load(10, 500)) == LADDER[2]  # MME queue too long: held
    for t in range(5, 40):
        last = a.factor(float(t), Load(0, 0))
    assert last is None  # lifted at the top of the ladder
