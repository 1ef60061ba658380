from __future__ import annotations

import datetime as dt

import pytest

from corenet.activation.flow import (
    STEP_NAMES,
    ActivationFlow,
    FlowError,
    FlowState,
    Mode,
    Step,
    max_minutes,
)

T0 = dt.datetime(2026, 3, 1, 14, 46, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_budgets_are_the_reports() -> None:
    assert [max_minutes(s) for s in Step] == [60, None, 30, None, 30, None, 30, None, 30, 90, None]
    assert STEP_NAMES[Step.CONFIGURE][0] == "ローミング設定作業"
    assert STEP_NAMES[Step.RELEASE][0] == "エリア規制解除作業"


def test_full_flow_runs_eleven_steps_then_terminates() -> None:
    flow = ActivationFlow("r1", Mode.FULL, T0)
    t = 0
    for _ in range(11):
        t += 5
        assert flow.complete(at(t)) == []
    assert flow.state is FlowState.IN_SERVICE
    assert flow.service_started == at(50)
    flow.terminate(at(600))
    assert flow.state is FlowState.TERMINATED
    assert [r.step for r in flow.records] == list(Step)
    assert flow.records[-1].ended == at(55)


def test_emergency_only_skips_release() -> None:
    flow = ActivationFlow("r2", Mode.EMERGENCY_ONLY, T0)
    for i in range(10):
        flow.complete(at(i + 1))
    assert flow.state is FlowState.IN_SERVICE
    assert Step.RELEASE not in [r.step for r in flow.records]


def test_phase_overrun_alarms_once() -> None:
    flow = ActivationFlow("r3", Mode.FULL, T0)
    assert flow.get_timer() == at(60)
    assert flow.complete(at(50)) == []  # step 1 inside the 60 min of steps 1-2
    assert flow.handle_timer(at(59)) == []
    alarms = flow.handle_timer(at(61))
    assert len(alarms) == 1 and alarms[0].steps == (Step.DETECT, Step.NORMAL_RECOVERY)
    assert flow.handle_timer(at(70)) == []
    flow.complete(at(70))
    assert flow.overrun(Step.NORMAL_RECOVERY) and not flow.overrun(Step.DECIDE)


def test_contacts_prepared_in_advance_skip_step6() -> None:
    flow = ActivationFlow("r4", Mode.FULL, T0, contacts_prepared=True)
    for i in range(5):
        flow.complete(at(i + 1))
    assert flow.state is FlowState.S7
    six = next(r for r in flow.records if r.step is Step.CONTACTS)
    assert six.started == six.ended and "advance" in six.note


def test_decline_at_step3_and_invalid_inputs() -> None:
    flow = ActivationFlow("r5", Mode.FULL, T0)
    with pytest.raises(FlowError):
        flow.decline(at(1), "too early")
    flow.complete(at(1))
    flow.complete(at(2))
    flow.decline(at(3), "recovery is faster")
    assert flow.state is FlowState.NOT_ACTIVATED
    with pytest.raises(FlowError):
        flow.complete(at(4))
