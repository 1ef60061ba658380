"""The MME's control operations: its roaming policy, injected home-network failures and the
network name it tells roamers, over the control API's operations (`corenet.control.api`).

Sans-I/O: `ControlApi.handle(request, now) -> ControlResult`; the MME service carries out the
actions (`SetHssFailure` on an HSS of this process, `SetNetworkName` for EMM INFORMATION).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from corenet.control.api import (
    ControlAction,
    ControlResult,
    Fail,
    NameSet,
    PolicyGet,
    PolicyList,
    PolicySet,
    Restore,
    SetHssFailure,
    error,
    parse,
)
from corenet.core.actions import LogEvent
from corenet.core.plmn import Plmn
from corenet.nf.mme.policy import Mode, Policy, RoamingPolicy


@dataclass(frozen=True)
class SetNetworkName:
    """Tell roamers this network name from now on (EMM INFORMATION, TS 24.301 §5.4.5)."""

    full: str
    short: str


# the MME's control endpoint also changes the network name it tells roamers
MmeControlAction = ControlAction | SetNetworkName


class ControlApi:
    """Operations on the MME's roaming policy and the injected failures of home networks."""

    def __init__(self, policy: RoamingPolicy,
                 observe: Callable[[], dict[str, Any]] | None = None) -> None:
        self.policy = policy
        self._observe = observe
        self.failures: dict[str, dict[str, str]] = {}  # home PLMN -> failure -> how

    def handle(self, request: Any, now: float) -> ControlResult[MmeControlAction]:
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

    def _get(self, op: PolicyGet) -> ControlResult[MmeControlAction]:
        home = Plmn.parse(op.home_plmn)
        if op.tac is None:
            rules = [p.as_dict() for p in self.policy.policies() if p.home_plmn == home]
            return ControlResult({"ok": True, "home_plmn": str(home), "policies": rules})
        rule = self.policy.effective(home, op.tac)
        return ControlResult({"ok": True, "home_plmn": str(home), "tac": op.tac,
                              "policy": None if rule is None else rule.as_dict()})

    def _set(self, op: PolicySet, now: float) -> ControlResult[MmeControlAction]:
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

    def _name(self, op: NameSet, now: float) -> ControlResult[MmeControlAction]:
        short = op.short if op.short is not None else op.full
        event = LogEvent("network_name.changed", {"full": op.full, "short": short, "at": now})
        return ControlResult({"ok": True, "network_name": {"full": op.full, "short": short}},
                             [SetNetworkName(op.full, short), event])

    def _fail(self, op: Fail, now: float) -> ControlResult[MmeControlAction]:
        home = Plmn.parse(op.home_plmn)
        self.failures.setdefault(str(home), {})[op.failure] = op.how
        actions: list[MmeControlAction] = [LogEvent("control.failure.injected", {
            "home_plmn": str(home), "failure": op.failure, "how": op.how, "at": now})]
        if op.failure == "hss-unreachable":
            actions.append(SetHssFailure(home.realm, op.how))
        else:
            # the home HSS still answers; the rule's on_home_core_failed mode takes over
            self.policy.home_core_failed.add(home)
            actions.append(LogEvent("policy.changed", {
                "home_plmn": str(home), "reason": "home core failed", "at": now}))
        return ControlResult({"ok": True, "failures": self.failures}, actions)

    def _restore(self, op: Restore, now: float) -> ControlResult[MmeControlAction]:
        homes = ([Plmn.parse(op.home_plmn)] if op.home_plmn is not None
                 else [Plmn.parse(h) for h in self.failures])
        actions: list[MmeControlAction] = []
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
