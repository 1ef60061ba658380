from __future__ import annotations

import pytest

from corenet.activation.decision import (
    NO_RULE,
    Action,
    DamageAssessment,
    DisasterEvent,
    DisasterType,
    Intensity,
    Rule,
    decide_activation,
    evaluate,
)
from corenet.activation.flow import Step, minutes_to_activate


def quake(level: str) -> DisasterEvent:
    return DisasterEvent(DisasterType.EARTHQUAKE, intensity=Intensity(level))


def test_intensity_7_starts_consultation_at_once() -> None:
    d = evaluate(quake("7"))
    assert d.action is Action.START_CONSULTATION
    assert d.rule is Rule.EARTHQUAKE_7


@pytest.mark.parametrize("level", ["5-", "5+", "6-", "6+"])
def test_intensity_5minus_to_6plus_consults_on_damage(level: str) -> None:
    d = evaluate(quake(level))
    assert d.action is Action.CONSULT_ON_DAMAGE
    assert d.rule is Rule.EARTHQUAKE_6PLUS_OR_BELOW


@pytest.mark.parametrize("level", ["0", "1", "2", "3", "4"])
def test_weak_quakes_fire_no_rule(level: str) -> None:
    assert evaluate(quake(level)) == NO_RULE


@pytest.mark.parametrize("kind", [DisasterType.STORM, DisasterType.WILDFIRE, DisasterType.ERUPTION])
def test_alert_meeting_starts_advance_sharing(kind: DisasterType) -> None:
    d = evaluate(DisasterEvent(kind, alert_meeting_convened=True))
    assert (d.action, d.rule, d.prepare_contacts) == (
        Action.ADVANCE_INFORMATION_SHARING, Rule.ALERT_MEETING, True)
    assert not d.consult
    d = evaluate(DisasterEvent(kind, alert_meeting_convened=True, equipment_damage=True))
    assert (d.action, d.rule) == (Action.DECIDE_ON_DAMAGE, Rule.ALERT_MEETING_EQUIPMENT_DAMAGE)
    # No meeting: no quantitative threshold exists, nothing fires even with damage.
    assert evaluate(DisasterEvent(kind, equipment_damage=True)) == NO_RULE


def test_dual_failure_needs_all_three_conditions() -> None:
    for a in (False, True):
        for b in (False, True):
            for c in (False, True):
                d = evaluate(DisasterEvent(DisasterType.DUAL_FAILURE, failed_part="transmission",
                                           serious_accident=a, roaming_improves=b,
                                           long_recovery=c))
                if a and b and c:
                    assert (d.action, d.rule) == (Action.START_CONSULTATION, Rule.DUAL_FAILURE)
                else:
                    assert d == NO_RULE


def test_earthquake_flags_of_other_families_do_not_fire_them() -> None:
    ev = DisasterEvent(DisasterType.EARTHQUAKE, intensity=Intensity.I4, alert_meeting_convened=True,
                       serious_accident=True, roaming_improves=True, long_recovery=True)
    assert evaluate(ev) == NO_RULE


def test_step3_weighs_recovery_against_time_to_activate() -> None:
    roaming = minutes_to_activate(Step.DECIDE)
    assert roaming == 30 + 30 + 30 + 30 + 90
    d = evaluate(quake("6+"))
    assert decide_activation(d, DamageAssessment(10, 100, (), roaming + 1), roaming)
    assert not decide_activation(d, DamageAssessment(10, 100, (), roaming - 1), roaming)
    assert not decide_activation(d, DamageAssessment(0, 100, (), 5000), roaming)
    assert not decide_activation(NO_RULE, DamageAssessment(10, 100, (), 5000), roaming)
