"""The activation criteria of the February 2026 report (発動・終了の条件) as a pure decision engine.

Three families of criteria, each a rule with a stable name:

- earthquakes by JMA seismic intensity: at 7 every case in the last ten years disrupted mobile
  service, so consultation starts at once; at 6+ or below operators consult in the light of the
  damage and then decide;
- storms (typhoon, heavy rain, heavy snow), wildfires and eruptions: no quantitative threshold; the
  convening of the inter-ministerial disaster alert meeting (関係省庁災害警戒会議) starts advance
  information sharing and the contact structure; activation is decided once equipment damage
  appears;
- failure of both redundant core equipment or both transmission routes: consultation starts at
  once when (a) the failure exceeds the "serious accident" threshold, (b) roaming is expected to
  improve the situation, and (c) recovery is expected to take long.

`evaluate(event)` returns the recommended action and the rule that fired (none when no criterion
holds). `decide_activation` is step 3 (発動要否判断): activation when the outage would outlast the
time it takes to bring roaming up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from corenet.core.errors import ConfigError


class Intensity(enum.Enum):
    """JMA seismic intensity (気象庁震度階級), 0 to 7 with lower/upper 5 and 6."""

    I0 = "0"
    I1 = "1"
    I2 = "2"
    I3 = "3"
    I4 = "4"
    I5_LOWER = "5-"
    I5_UPPER = "5+"
    I6_LOWER = "6-"
    I6_UPPER = "6+"
    I7 = "7"

    @property
    def rank(self) -> int:
        return list(Intensity).index(self)


class DisasterType(enum.Enum):
    EARTHQUAKE = "earthquake"
    STORM = "storm"
    WILDFIRE = "wildfire"
    ERUPTION = "eruption"
    DUAL_FAILURE = "dual-failure"


class Action(enum.Enum):
    """What the operators are recommended to do."""

    NONE = "none"
    START_CONSULTATION = "start-consultation"  # 発動に向けた協議を速やかに開始
    CONSULT_ON_DAMAGE = "consult-on-damage"  # 災害状況を踏まえ協議のうえ判断
    ADVANCE_INFORMATION_SHARING = "advance-information-sharing"  # 事前情報連携を開始
    DECIDE_ON_DAMAGE = "decide-on-damage"  # 設備影響が出てきた段階で発動判断


class Rule(enum.Enum):
    EARTHQUAKE_7 = "earthquake-intensity-7"
    EARTHQUAKE_6PLUS_OR_BELOW = "earthquake-intensity-5minus-to-6plus"
    ALERT_MEETING = "alert-meeting-convened"
    ALERT_MEETING_EQUIPMENT_DAMAGE = "alert-meeting-equipment-damage"
    DUAL_FAILURE = "dual-failure-three-conditions"


@dataclass(frozen=True)
class DisasterEvent:
    """One observation (the `disaster` bus schema)."""

    type: DisasterType
    intensity: Intensity | None = None
    alert_meeting_convened: bool = False
    equipment_damage: bool = False
    failed_part: str | None = None  # "core" | "transmission"
    serious_accident: bool = False
    roaming_improves: bool = False
    long_recovery: bool = False

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> DisasterEvent:
        """From a validated `disaster` payload or a scenario file."""
        try:
            kind = DisasterType(value["type"])
            intensity = value.get("intensity")
            return cls(
                type=kind,
                intensity=Intensity(str(intensity)) if intensity is not None else None,
                alert_meeting_convened=bool(value.get("alert_meeting_convened", False)),
                equipment_damage=bool(value.get("equipment_damage", False)),
                failed_part=value.get("failed_part"),
                serious_accident=bool(value.get("serious_accident", False)),
                roaming_improves=bool(value.get("roaming_improves", False)),
                long_recovery=bool(value.get("long_recovery", False)),
            )
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"disaster event: {exc}") from exc


@dataclass(frozen=True)
class Decision:
    action: Action
    rule: Rule | None
    reason: str
    # The contact structure (step 6) can be built before the outage (発動の迅速化).
    prepare_contacts: bool = False

    @property
    def consult(self) -> bool:
        return self.action in (
            Action.START_CONSULTATION, Action.CONSULT_ON_DAMAGE, Action.DECIDE_ON_DAMAGE
        )


NO_RULE = Decision(Action.NONE, None, "no activation criterion holds")


def evaluate(event: DisasterEvent) -> Decision:
    """The one criterion that fires for `event`, or NO_RULE."""
    if event.type is DisasterType.EARTHQUAKE:
        return _earthquake(event)
    if event.type is DisasterType.DUAL_FAILURE:
        return _dual_failure(event)
    return _other_disaster(event)


def _earthquake(event: DisasterEvent) -> Decision:
    if event.intensity is Intensity.I7:
        return Decision(
            Action.START_CONSULTATION, Rule.EARTHQUAKE_7,
            "JMA intensity 7: every such quake disrupted mobile service; consult at once",
        )
    if event.intensity is not None and event.intensity.rank >= Intensity.I5_LOWER.rank:
        return Decision(
            Action.CONSULT_ON_DAMAGE, Rule.EARTHQUAKE_6PLUS_OR_BELOW,
            f"JMA intensity {event.intensity.value}: consult in the light of the damage",
        )
    return NO_RULE


def _other_disaster(event: DisasterEvent) -> Decision:
    if not event.alert_meeting_convened:
        return NO_RULE
    if event.equipment_damage:
        return Decision(
            Action.DECIDE_ON_DAMAGE, Rule.ALERT_MEETING_EQUIPMENT_DAMAGE,
            f"{event.type.value}: alert meeting convened and equipment damage appeared",
            prepare_contacts=True,
        )
    return Decision(
        Action.ADVANCE_INFORMATION_SHARING, Rule.ALERT_MEETING,
        f"{event.type.value}: inter-ministerial disaster alert meeting convened",
        prepare_contacts=True,
    )


def _dual_failure(event: DisasterEvent) -> Decision:
    if event.serious_accident and event.roaming_improves and event.long_recovery:
        return Decision(
            Action.START_CONSULTATION, Rule.DUAL_FAILURE,
            f"both redundant {event.failed_part or 'core'} systems failed; the three conditions hold",
        )
    return NO_RULE


@dataclass(frozen=True)
class DamageAssessment:
    """Step 1 (支障検知・影響把握): what is down and the recovery plan's estimate."""

    cells_down: int = 0
    cells_total: int = 1
    services_down: tuple[str, ...] = ()
    recovery_minutes: float = 0.0


def decide_activation(decision: Decision, damage: DamageAssessment, roaming_minutes: float) -> bool:
    """Step 3 (発動要否判断): weigh the recovery plan against the time to bring roaming up.

    Only after a consultation rule fired; activation when service is actually disrupted and
    normal recovery would take longer than activating roaming.
    """
    if not decision.consult:
        return False
    disrupted = damage.cells_down > 0 or bool(damage.services_down)
    return disrupted and damage.recovery_minutes > roaming_minutes
