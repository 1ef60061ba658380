"""Steps ⑨-⑩ for real: an accepted request reconfigures the rescuer's running network.

`NetworkConfigurator(runtime, population_or_enbs).apply(request)`:
- MME roaming policy for the affected PLMN in the request's TAs (TS 23.401 §4.3.12.1), through
  the control API's `policy.set`: mode full -> "full"; emergency-only -> "emergency-auth" or
  "emergency-unauth", as the rescuer chose (seed report, "The three modes");
- the eNBs of those TAs broadcast the roaming PLMN in SIB1 (TS 36.331 §6.2.2
  plmn-IdentityList) — the PLMN the roamers select by its name (TS 23.122 §4.4.3.1.2);
- the network name the MME tells roamers, "JPN-ROAM X" (EMM INFORMATION, TS 24.301 §5.4.5),
  through the control API's `name.set`.

`terminate(request)` undoes it: the policy in those TAs back to off (TS 24.301 §5.5.1.2.5:
later attaches get #11 or #13), each eNB's broadcast and the network name as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from corenet.activation.flow import Mode
from corenet.activation.request import ActivationRequest
from corenet.core.errors import ConfigError
from corenet.core.plmn import Plmn

EmergencyMode = Literal["emergency-auth", "emergency-unauth"]


class Control(Protocol):
    """The MME's control API in process (`MmeService.control_request`)."""

    def control_request(self, request: dict[str, Any]) -> dict[str, Any]: ...


class Broadcaster(Protocol):
    """What is needed of an eNB (`sim_ue.enb.EnbService`)."""

    @property
    def cfg(self) -> Any: ...

    @property
    def core(self) -> Any: ...

    def set_broadcast_plmns(self, plmns: list[Plmn | str]) -> None: ...


def policy_mode(mode: Mode, emergency: EmergencyMode) -> str:
    """The MME roaming mode serving a request of `mode` (TS 23.401 §4.3.12.1)."""
    return "full" if mode is Mode.FULL else emergency


def _mme_of(runtime: Any) -> Control:
    services = getattr(runtime, "services", None)
    if services is not None:
        if "mme" not in services:
            raise ConfigError("the runtime has no MME started")
        mme: Control = services["mme"]
        return mme
    return runtime  # type: ignore[no-any-return]


def _enbs_of(population_or_enbs: Any) -> list[Broadcaster]:
    enbs = getattr(population_or_enbs, "enbs", population_or_enbs)
    return list(enbs)


def _tacs(enb: Broadcaster) -> set[int]:
    return {c.tac for c in enb.core.cells}


def _plmns(enb: Broadcaster) -> list[Plmn]:
    cells = enb.core.cells
    return list(cells[0].plmns) if cells else []


@dataclass
class _Applied:
    mode: str
    tacs: list[int]
    broadcasts: list[tuple[Broadcaster, list[Plmn]]] = field(default_factory=list)
    old_name: dict[str, str] | None = None


class NetworkConfigurator:
    """A `RescuerConfigurator` acting on a running rescuer network (a `Runtime` with an MME, or
    the MME service itself) and its eNBs (a `Population` or a list of `EnbService`).

    `roaming_plmn`: the PLMN broadcast for roamers (default: the MME's own, read from its
    configuration); `network_name`: the name told to roamers (default: the MME's configured
    one); `emergency_mode`: what an emergency-only request becomes at the MME."""

    def __init__(self, runtime: Any, population_or_enbs: Any, *,
                 roaming_plmn: Plmn | str | None = None, network_name: str | None = None,
                 emergency_mode: EmergencyMode = "emergency-auth") -> None:
        self.mme = _mme_of(runtime)
        self.enbs = _enbs_of(population_or_enbs)
        cfg = getattr(self.mme, "cfg", None)
        if roaming_plmn is None and cfg is None:
            raise ConfigError("roaming_plmn is needed when the MME's configuration is unknown")
        self.roaming_plmn = Plmn.parse(str(roaming_plmn if roaming_plmn is not None
                                           else cfg.plmn))  # type: ignore[union-attr]
        self.network_name = network_name or (
            cfg.roaming.network_name.full if cfg is not None else "JPN-ROAM X")
        self.emergency_mode: EmergencyMode = emergency_mode
        self.applied: dict[str, _Applied] = {}

    def _control(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = self.mme.control_request(request)
        if not answer.get("ok"):
            raise ConfigError(f"MME control {request['op']}: {answer.get('error')}")
        return answer

    def apply(self, request: ActivationRequest) -> list[str]:
        """Reconfigure for `request` (steps ⑨-⑩); the changes made, one line each."""
        tacs = sorted(request.area.tacs)
        mode = policy_mode(request.mode, self.emergency_mode)
        home = str(request.affected)
        self._control({"op": "policy.set", "home_plmn": home, "mode": mode, "tacs": tacs})
        done = _Applied(mode, tacs)
        self.applied[request.request_id] = done
        lines = [f"mme: roaming policy for {home} in TACs {tacs}: {mode}"]
        for enb in self.enbs:
            served = sorted(_tacs(enb) & set(tacs))
            if not served:
                continue
            before = _plmns(enb)
            name = enb.cfg.name
            if self.roaming_plmn in before:
                lines.append(f"enb {name} (TACs {served}): broadcasts {self.roaming_plmn} "
                             f"(already in SIB1)")
                continue
            enb.set_broadcast_plmns([*before, self.roaming_plmn])
            done.broadcasts.append((enb, before))
            lines.append(f"enb {name} (TACs {served}): broadcasts {self.roaming_plmn} in SIB1 "
                         f"for roamers of {home}")
        answer = self._control({"op": "name.set", "full": self.network_name})
        done.old_name = answer.get("old_network_name")
        lines.append(f"mme: network name {self.network_name!r} told to roamers "
                     "(EMM INFORMATION)")
        return lines

    def terminate(self, request: ActivationRequest) -> list[str]:
        """Undo what `apply(request)` did (termination, UEs back to their home network)."""
        done = self.applied.pop(request.request_id, None)
        tacs = done.tacs if done is not None else sorted(request.area.tacs)
        home = str(request.affected)
        self._control({"op": "policy.set", "home_plmn": home, "mode": "off", "tacs": tacs})
        lines = [f"mme: roaming policy for {home} in TACs {tacs}: off"]
        if done is None:
            return lines
        for enb, before in done.broadcasts:
            enb.set_broadcast_plmns(list(before))
            lines.append(f"enb {enb.cfg.name}: broadcast restored to {[str(p) for p in before]}")
        if done.old_name is not None:
            self._control({"op": "name.set", **done.old_name})
            lines.append(f"mme: network name restored to {done.old_name['full']!r}")
        return lines
