"""The 11-step operational flow (運用フロー) of one activation, as an explicit state machine.

Step names and maximum assumed durations are the report's table (所要時間(最大想定)). A duration
stands on a numbered row and covers the unnumbered row below it (① and ② share ~60 min, ③ and ④
~30, ⑤ and ⑥ ~30, ⑦ and ⑧ ~30; ⑨ ~30; ⑩ ~90; ⑪ depends on base stations and UEs in the area), so
budgets are kept per phase. Roaming service starts after ⑩; emergency-only roaming skips ⑪.

Sans-I/O: every entry point takes `now`; overruns come back from `handle_timer(now)` as events.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any


class Step(enum.IntEnum):
    DETECT = 1
    NORMAL_RECOVERY = 2
    DECIDE = 3
    DRAFT_REQUEST = 4
    SEND_REQUEST = 5
    CONTACTS = 6
    RECEIVE_REQUEST = 7
    OWN_NETWORK_CHECK = 8
    PREPARE = 9
    CONFIGURE = 10
    RELEASE = 11


# (Japanese name as in the report, English name)
STEP_NAMES: dict[Step, tuple[str, str]] = {
    Step.DETECT: ("支障検知・影響把握", "detect the outage, assess impact"),
    Step.NORMAL_RECOVERY: ("通常復旧対応", "normal recovery work"),
    Step.DECIDE: ("発動要否判断", "decide whether to activate"),
    Step.DRAFT_REQUEST: ("依頼書作成", "write the request"),
    Step.SEND_REQUEST: ("救済依頼発出", "send the rescue request"),
    Step.CONTACTS: ("社間体制構築", "set up the inter-operator contact structure"),
    Step.RECEIVE_REQUEST: ("救済依頼受領", "rescuer receives and checks the request"),
    Step.OWN_NETWORK_CHECK: ("自社網の状態確認", "rescuer checks its own network"),
    Step.PREPARE: ("作業準備・KY等", "work preparation, hazard prediction"),
    Step.CONFIGURE: ("ローミング設定作業", "roaming configuration work"),
    Step.RELEASE: ("エリア規制解除作業", "lift area restrictions gradually"),
}

# Phases of the report's table: the steps a maximum duration covers, and the minutes.
PHASES: tuple[tuple[tuple[Step, ...], int | None], ...] = (
    ((Step.DETECT, Step.NORMAL_RECOVERY), 60),
    ((Step.DECIDE, Step.DRAFT_REQUEST), 30),
    ((Step.SEND_REQUEST, Step.CONTACTS), 30),
    ((Step.RECEIVE_REQUEST, Step.OWN_NETWORK_CHECK), 30),
    ((Step.PREPARE,), 30),
    ((Step.CONFIGURE,), 90),
    ((Step.RELEASE,), None),
)


def phase_of(step: Step) -> tuple[tuple[Step, ...], int | None]:
    return next(p for p in PHASES if step in p[0])


def max_minutes(step: Step) -> int | None:
    """The budget printed on the step's own row (None on the unnumbered rows and on ⑪)."""
    steps, minutes = phase_of(step)
    return minutes if steps[0] is step else None


def minutes_to_activate(first: Step = Step.DECIDE) -> int:
    """The assumed maximum time from `first` to roaming service start (steps up to ⑩)."""
    return sum(m or 0 for steps, m in PHASES if steps[0] >= first and steps[0] <= Step.CONFIGURE)


class Mode(enum.Enum):
    FULL = "full"
    EMERGENCY_ONLY = "emergency-only"


class FlowState(enum.Enum):
    S1 = 1
    S2 = 2
    S3 = 3
    S4 = 4
    S5 = 5
    S6 = 6
    S7 = 7
    S8 = 8
    S9 = 9
    S10 = 10
    S11 = 11
    IN_SERVICE = "in-service"
    NOT_ACTIVATED = "not-activated"
    REFUSED = "refused"
    TERMINATED = "terminated"


class Input(enum.Enum):
    DONE = "done"
    DECLINE = "decline"  # step 3: no activation; step 8: every rescuer refused
    SKIP_RELEASE = "skip-release"  # emergency-only: ⑪ is not needed
    TERMINATE = "terminate"  # service ends, UEs return to their home network


_STEPS = [FlowState(n) for n in range(1, 12)]
TRANSITIONS: dict[tuple[FlowState, Input], FlowState] = {
    **{(s, Input.DONE): n for s, n in zip(_STEPS[:-1], _STEPS[1:], strict=True)},
    (FlowState.S11, Input.DONE): FlowState.IN_SERVICE,
    (FlowState.S3, Input.DECLINE): FlowState.NOT_ACTIVATED,
    (FlowState.S8, Input.DECLINE): FlowState.REFUSED,
    (FlowState.S10, Input.SKIP_RELEASE): FlowState.IN_SERVICE,
    **{(s, Input.TERMINATE): FlowState.TERMINATED for s in [*_STEPS, FlowState.IN_SERVICE]},
}
FINAL = frozenset({FlowState.NOT_ACTIVATED, FlowState.REFUSED, FlowState.TERMINATED})


class FlowError(Exception):
    """An input the current state has no transition for (a local bug)."""


@dataclass
class StepRecord:
    step: Step
    started: dt.datetime
    ended: dt.datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class Overrun:
    """A phase ran past the report's maximum assumed duration."""

    steps: tuple[Step, ...]
    max_minutes: int
    deadline: dt.datetime
    at: dt.datetime


@dataclass
class ActivationFlow:
    request_id: str
    mode: Mode
    started: dt.datetime
    contacts_prepared: bool = False
    state: FlowState = FlowState.S1
    records: list[StepRecord] = field(default_factory=list)
    alarms: list[Overrun] = field(default_factory=list)
    service_started: dt.datetime | None = None
    ended: dt.datetime | None = None
    end_reason: str = ""

    def __post_init__(self) -> None:
        self.records.append(StepRecord(Step.DETECT, self.started))

    @property
    def step(self) -> Step | None:
        return Step(self.state.value) if isinstance(self.state.value, int) else None

    def _apply(self, what: Input, now: dt.datetime, note: str = "") -> FlowState:
        nxt = TRANSITIONS.get((self.state, what))
        if nxt is None:
            raise FlowError(f"no transition from {self.state.name} on {what.value}")
        if self.records and self.records[-1].ended is None:
            self.records[-1].ended = now
            if note:
                self.records[-1].note = note
        self.state = nxt
        if isinstance(nxt.value, int):
            self.records.append(StepRecord(Step(nxt.value), now))
        return nxt

    def complete(self, now: dt.datetime, note: str = "") -> list[Overrun]:
        """The current step is done; the next begins at `now`. Returns overruns found."""
        alarms = self.handle_timer(now)
        if self.state is FlowState.S10:
            service = self.mode is Mode.EMERGENCY_ONLY
            self._apply(Input.SKIP_RELEASE if service else Input.DONE, now, note)
            self.service_started = now
        else:
            self._apply(Input.DONE, now, note)
        if self.state is FlowState.S6 and self.contacts_prepared:
            # 発動の迅速化: the contact structure was built before the outage (step ⑥).
            self._apply(Input.DONE, now, "contact structure prepared in advance")
        return alarms

    def decline(self, now: dt.datetime, reason: str) -> list[Overrun]:
        alarms = self.handle_timer(now)
        self._apply(Input.DECLINE, now, reason)
        self.ended, self.end_reason = now, reason
        return alarms

    def terminate(self, now: dt.datetime, reason: str = "service ended") -> list[Overrun]:
        """Service ends: UEs return to their home network."""
        alarms = self.handle_timer(now)
        self._apply(Input.TERMINATE, now, reason)
        self.ended, self.end_reason = now, reason
        return alarms

    def _phase_start(self, steps: tuple[Step, ...]) -> dt.datetime | None:
        for rec in self.records:
            if rec.step is steps[0]:
                return rec.started
        return None

    def get_timer(self) -> dt.datetime | None:
        """Deadline of the running phase, unless already alarmed or unbounded."""
        step = self.step
        if step is None:
            return None
        steps, minutes = phase_of(step)
        start = self._phase_start(steps)
        if minutes is None or start is None or any(a.steps == steps for a in self.alarms):
            return None
        return start + dt.timedelta(minutes=minutes)

    def handle_timer(self, now: dt.datetime) -> list[Overrun]:
        deadline = self.get_timer()
        step = self.step
        if deadline is None or step is None or now <= deadline:
            return []
        steps, minutes = phase_of(step)
        alarm = Overrun(steps, minutes or 0, deadline, now)
        self.alarms.append(alarm)
        return [alarm]

    def overrun(self, step: Step) -> bool:
        steps, _ = phase_of(step)
        return any(a.steps == steps for a in self.alarms)

    def steps_json(self) -> list[dict[str, Any]]:
        return [
            {
                "step": int(rec.step),
                "name": STEP_NAMES[rec.step][1],
                "name_ja": STEP_NAMES[rec.step][0],
                "started": rec.started.isoformat(),
                "ended": rec.ended.isoformat() if rec.ended else None,
                "max_minutes": max_minutes(rec.step),
                "phase_max_minutes": phase_of(rec.step)[1],
                "overrun": self.overrun(rec.step),
                "note": rec.note,
            }
            for rec in self.records
        ]
