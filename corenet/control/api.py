"""The control API as a sans-I/O core: a request is a plain dict, validated by a pydantic model
of its operation; the answer is a plain dict; what must happen elsewhere (log an event, make an
HSS stop answering) comes back as actions.

Operations (`op`):
  policy.list                                   every rule
  policy.get   home_plmn [tac]                  the rule in force (a TA rule wins)
  policy.set   home_plmn mode [tacs] [options]  add or replace the rule for (PLMN, TAs)
  fail         failure [home_plmn] [how]        hss-unreachable (drop | close) or home-core-failed
  restore      [home_plmn]                      undo injected failures (all PLMNs when omitted)
  status                                        policies, failures, what the MME sees of the HSSs
  name.set     full [short]                     the network name roamers are told ("JPN-ROAM X")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from corenet.config.models import PlmnStr, RoamingMode
from corenet.core.actions import LogEvent
from corenet.core.plmn import Plmn
from corenet.nf.mme.policy import Mode, Policy, RoamingPolicy

Failure = Literal["hss-unreachable", "home-core-failed"]
# how an unreachable HSS behaves: drop requests and watchdogs silently, or close its sockets
How = Literal["drop", "close"]


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyList(_Op):
    op: Literal["policy.list"]


class PolicyGet(_Op):
    op: Literal["policy.get"]
    home_plmn: PlmnStr
    tac: int | None = Field(default=None, ge=0, le=0xFFFF)


class PolicySet(_Op):
    op: Literal["policy.set"]
    home_plmn: PlmnStr
    mode: RoamingMode
    tacs: list[Annotated[int, Field(ge=0, le=0xFFFF)]] | None = None
    # omitted: kept from the rule replaced (or the default)
    try_aka_first: bool | None = None
    allow_imei_only: bool | None = None
    fallback_unauth_when_hss_down: bool | None = None
    on_home_core_failed: RoamingMode | Literal["unchanged"] | None = None


class Fail(_Op):
    op: Literal["fail"]
    failure: Failure
    home_plmn: PlmnStr = "44010"
    how: How = "drop"


class Restore(_Op):
    op: Literal["restore"]
    home_plmn: PlmnStr | None = None


class Status(_Op):
    op: Literal["status"]


class NameSet(_Op):
    """TS 24.301 §9.9.3.24 network name of EMM INFORMATION (§5.4.5); short omitted = full."""

    op: Literal["name.set"]
    full: Annotated[str, Field(min_length=1, max_length=64)]
    short: Annotated[str, Field(min_length=1, max_length=64)] | None = None


Request = Annotated[PolicyList | PolicyGet | PolicySet | Fail | Restore | Status | NameSet,
                    Field(discriminator="op")]
_REQUEST: TypeAdapter[Any] = TypeAdapter(Request)


@dataclass(frozen=True)
class SetHssFailure:
    """Make the home HSS of `realm` unreachable (`failure` = how) or serve again (None)."""

    realm: str
    failure: How | None


@dataclass(frozen=True)
class SetNetworkName:
    """Tell roamers this network name from now on (EMM INFORMATION, TS 24.301 §5.4.5)."""

    full: str
    short: str


ControlAction = LogEvent | SetHssFailure | SetNetworkName


@dataclass
class ControlResult:
    response: dict[str, Any]
    actions: list[ControlAction] = field(default_factory=list)


def parse(request: Any) -> Any:
    """The validated operation, or a ValueError naming what is wrong (one line)."""
    try:
        return _REQUEST.validate_python(request)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise ValueError(f"{where}: {first['msg']}") from None


def error(message: str) -> ControlResult:
    return ControlResult({"ok": False, "error": message})


class ControlApi:
    """Operations on the MME's roaming policy and the injected failures of home networks."""

    def __init__(self, policy: RoamingPolicy,
                 observe: Callable[[], dict[str, Any]] | None = None) -> None:
        self.policy = policy
        self._observe = observe
        self.failures: dict[str, dict[str, str]] = {}  # home PLMN -> failure -> how

    def handle(self, request: Any, now: float) -> ControlResult:
        try:
            op = parse(request)
        except ValueError as exc:
            return error(str(exc))
        if isinstance(op, PolicyList):
            return ControlResult({"ok": True, "policies": self._rules()})
        if isinstance(op, PolicyGet):
            return self._get(op)
        if isinstance(op, PolicySet):
            return self._set(op, now)
        if isinstance(op, Fail):
            return self._fail(op, now)
        if isinstance(op, Restore):
            return self._restore(op, now)
        if isinstance(op, NameSet):
            return self._name(op, now)
        return ControlResult({"ok": True, **self.status()})

    def status(self) -> dict[str, Any]:
        seen = self._observe() if self._observe is not None else {}
        return {"policies": self._rules(), "failures": self.failures, **seen}

    def _rules(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.policy.policies()]

    def _get(self, op: PolicyGet) -> ControlResult:
        home = Plmn.parse(op.home_plmn)
        if op.tac is None:
            rules = [p.as_dict() for p in self.policy.policies() if p.home_plmn == home]
            return ControlResult({"ok": True, "home_plmn": str(home), "policies": rules})
        rule = self.policy.effective(home, op.tac)
        return ControlResult({"ok": True, "home_plmn": str(home), "tac": op.tac,
                              "policy": None if rule is None else rule.as_dict()})

    def _set(self, op: PolicySet, now: float) -> ControlResult:
        home = Plmn.parse(op.home_plmn)
        tacs = None if op.tacs is None else frozenset(op.tacs)
        base = next((p for p in self.policy.policies()
                     if p.home_plmn == home and p.tacs == tacs), Policy(home, tacs, Mode.FULL))
        changes: dict[str, Any] = {"mode": Mode(op.mode)}
        for name in ("try_aka_first", "allow_imei_only", "fallback_unauth_when_hss_down"):
            if getattr(op, name) is not None:
                changes[name] = getattr(op, name)
        if op.on_home_core_failed is not None:
            changes["on_home_core_failed"] = (None if op.on_home_core_failed == "unchanged"
                                              else Mode(op.on_home_core_failed))
        rule = replace(base, **changes)
        old = self.policy.set(rule)
        event = LogEvent("policy.changed", {
            "home_plmn": str(home), "tacs": rule.as_dict()["tacs"], "mode": rule.mode.value,
            "old_mode": None if old is None else old.mode.value, "at": now})
        return ControlResult({"ok": True, "policy": rule.as_dict()}, [event])

    def _name(self, op: NameSet, now: float) -> ControlResult:
        short = op.short if op.short is not None else op.full
        event = LogEvent("network_name.changed", {"full": op.full, "short": short, "at": now})
        return ControlResult({"ok": True, "network_name": {"full": op.full, "short": short}},
                             [SetNetworkName(op.full, short), event])

    def _fail(self, op: Fail, now: float) -> ControlResult:
        home = Plmn.parse(op.home_plmn)
        self.failures.setdefault(str(home), {})[op.failure] = op.how
        actions: list[ControlAction] = [LogEvent("control.failure.injected", {
            "home_plmn": str(home), "failure": op.failure, "how": op.how, "at": now})]
        if op.failure == "hss-unreachable":
            actions.append(SetHssFailure(home.realm, op.how))
        else:
            # the home HSS still answers; the rule's on_home_core_failed mode takes over
            self.policy.home_core_failed.add(home)
            actions.append(LogEvent("policy.changed", {
                "home_plmn": str(home), "reason": "home core failed", "at": now}))
        return ControlResult({"ok": True, "failures": self.failures}, actions)

    def _restore(self, op: Restore, now: float) -> ControlResult:
        homes = ([Plmn.parse(op.home_plmn)] if op.home_plmn is not None
                 else [Plmn.parse(h) for h in self.failures])
        actions: list[ControlAction] = []
        for home in homes:
            failed = self.failures.pop(str(home), {})
            if "hss-unreachable" in failed:
                actions.append(SetHssFailure(home.realm, None))
            if home in self.policy.home_core_failed:
                self.policy.home_core_failed.discard(home)
                actions.append(LogEvent("policy.changed", {
                    "home_plmn": str(home), "reason": "home core restored", "at": now}))
            actions.append(LogEvent("control.failure.restored", {
                "home_plmn": str(home), "failures": sorted(failed), "at": now}))
        return ControlResult({"ok": True, "failures": self.failures}, actions)


class HssControl:
    """The control endpoint of an HSS running alone: only its own failure injection."""

    def __init__(self, realm: str, target: Any) -> None:
        self.realm = realm
        self.target = target
        self.failure: str | None = None

    def handle(self, request: Any, now: float) -> ControlResult:
        try:
            op = parse(request)
        except ValueError as exc:
            return error(str(exc))
        if isinstance(op, Fail) and op.failure == "hss-unreachable":
            self.failure = op.how
        elif isinstance(op, Restore):
            self.failure = None
        elif not isinstance(op, Status):
            return error(f"{op.op}: not served by an HSS (only fail hss-unreachable, restore, "
                         "status)")
        if not isinstance(op, Status):
            self.target.inject_failure(self.failure)
        return ControlResult({"ok": True, "realm": self.realm, "failure": self.failure},
                             [LogEvent("hss.failure", {"failure": self.failure, "at": now})])
