"""Activation drills (発動訓練): a whole scenario on an accelerated clock.

event -> decision -> steps ①-③ -> request over the bus -> rescuers' check and answer (⑦-⑧) ->
configuration (⑨-⑩) -> service -> gradual release with ACB (⑪, full roaming only) -> termination.

Scenario time is simulated: each step takes the minutes the scenario gives it, so a day of
operations runs in about a second; the request and acknowledgements are real MQTT messages, on the
embedded broker unless an external one is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import random
import secrets
import socket
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corenet.activation.configurator import EmergencyMode, NetworkConfigurator
from corenet.activation.decision import (
    NO_RULE,
    DamageAssessment,
    Decision,
    DisasterEvent,
    decide_activation,
    evaluate,
)
from corenet.activation.flow import ActivationFlow, Mode, Overrun, Step, minutes_to_activate
from corenet.activation.records import Records, report_markdown
from corenet.activation.request import (
    Ack,
    ActivationRequest,
    Area,
    Contact,
    OwnNetwork,
)
from corenet.activation.rescuer import RecordingConfigurator, Rescuer, RescuerConfigurator
from corenet.bus import topics
from corenet.bus.broker import EmbeddedBroker
from corenet.bus.client import BusClient, BusConfig
from corenet.bus.topics import Kind
from corenet.codecs.sib2 import BarringConfig, BarringInfo, sib2_with_barring
from corenet.config.models import CorenetConfig
from corenet.config.subscribers import Subscriber
from corenet.core.errors import ConfigError
from corenet.core.plmn import Plmn
from corenet.orchestration.demo import EMBEDDED_SUBSCRIBERS
from corenet.orchestration.warning_delivery import KINDS as WARNING_KINDS
from corenet.orchestration.warning_delivery import RESCUER_OF_PLMN, send_warning, summary
from corenet.runtime.supervisor import Runtime
from sim_ue.pws import AirTap
from sim_ue.runner import Population
from sim_ue.ue import EmmState, UeResult

# Minutes each step takes when a scenario does not say (within the report's budgets).
DEFAULT_MINUTES: dict[int, float] = {
    1: 40, 2: 15, 3: 20, 4: 10, 5: 15, 6: 10, 7: 15, 8: 10, 9: 25, 10: 80, 11: 0,
}


@dataclass(frozen=True)
class RescuerSpec:
    plmn: Plmn
    tacs: frozenset[int]
    spare_capacity_ues: int = 100_000
    supports_emergency_only: bool = True
    impaired: bool = False


@dataclass(frozen=True)
class ReleaseStage:
    """One stage of step ⑪: from `minutes` after service start, ac-BarringFactor `factor`
    (None = barring lifted) with ac-BarringTime `time_s` (TS 36.331 §6.3.1)."""

    minutes: float
    factor: float | None
    time_s: int = 64


@dataclass(frozen=True)
class Scenario:
    name: str
    start: dt.datetime
    affected: Plmn
    rescuers: tuple[RescuerSpec, ...]
    events: tuple[DisasterEvent, ...]
    damage: DamageAssessment
    mode: Mode
    area: Area
    contacts: tuple[Contact, ...]
    reason: str
    minutes: dict[int, float]
    release: tuple[ReleaseStage, ...]
    service_minutes: float
    expected_roamers: int = 0
    passwords: dict[str, str] = field(default_factory=dict)
    # sim UEs of the affected operator served by a network started in process (0: none)
    ues: int = 0
    # what an emergency-only request becomes at the rescuer's MME (TS 23.401 §4.3.12.1)
    emergency_mode: EmergencyMode = "emergency-auth"
    # a public warning the first rescuer's CBC broadcasts to the area once the roamers are
    # served (corenet.nf.cbc.warnings.WarningKind value; None: no warning)
    warning: str | None = None


def _require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ConfigError(f"{where}: missing field {key!r}")
    return data[key]


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario YAML file; ConfigError names the file and the field."""
    where = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a scenario is a mapping")
    try:
        return _scenario(data, where)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _scenario(d: dict[str, Any], where: str) -> Scenario:
    start = _require(d, "start", where)
    start_dt = start if isinstance(start, dt.datetime) else dt.datetime.fromisoformat(str(start))
    if start_dt.tzinfo is None:
        start_dt = start_dt.replace(tzinfo=dt.timezone(dt.timedelta(hours=9)))  # JST
    area = _require(d, "area", where)
    minutes = dict(DEFAULT_MINUTES)
    minutes.update({int(k): float(v) for k, v in (d.get("minutes") or {}).items()})
    return Scenario(
        name=str(_require(d, "name", where)),
        start=start_dt,
        affected=Plmn.parse(str(_require(d, "affected", where))),
        rescuers=tuple(
            RescuerSpec(
                Plmn.parse(str(r["plmn"])), frozenset(int(t) for t in r["tacs"]),
                int(r.get("spare_capacity_ues", 100_000)),
                bool(r.get("supports_emergency_only", True)), bool(r.get("impaired", False)),
            )
            for r in _require(d, "rescuers", where)
        ),
        events=tuple(DisasterEvent.from_json(e) for e in _require(d, "events", where)),
        damage=DamageAssessment(**(d.get("damage") or {})),
        mode=Mode(d.get("mode", "full")),
        area=Area(tuple(str(p).zfill(2) for p in area["prefectures"]),
                  tuple(int(t) for t in area["tacs"])),
        contacts=tuple(Contact(str(c["name"]), str(c["phone"]), str(c.get("role", "")))
                       for c in d.get("contacts") or [{"name": "NOC", "phone": "+81 3 0000 0000"}]),
        reason=str(d.get("reason", "disaster")),
        minutes=minutes,
        release=tuple(ReleaseStage(float(r["minutes"]),
                                   None if r.get("factor") is None else float(r["factor"]),
                                   int(r.get("time_s", 64)))
                      for r in d.get("release") or []),
        service_minutes=float(d.get("service_minutes", 720)),
        expected_roamers=int(d.get("expected_roamers", 0)),
        passwords={str(k): str(v) for k, v in (d.get("passwords") or {}).items()},
        ues=_count(d.get("ues", 0)),
        emergency_mode=_emergency_mode(d.get("emergency_mode", "emergency-auth")),
        warning=_warning(d.get("warning")),
    )


def _warning(value: Any) -> str | None:
    if value is None or value in WARNING_KINDS:
        return value
    raise ValueError(f"warning: one of {', '.join(WARNING_KINDS)}, got {value!r}")


def _count(value: Any) -> int:
    n = int(value)
    if n < 0:
        raise ValueError(f"ues: must be >= 0, got {n}")
    return n


def _emergency_mode(value: Any) -> EmergencyMode:
    if value == "emergency-auth":
        return "emergency-auth"
    if value == "emergency-unauth":
        return "emergency-unauth"
    raise ValueError(f"emergency_mode: expected emergency-auth or emergency-unauth, got {value!r}")


@dataclass
class DrillResult:
    scenario: str
    activated: bool
    decision: Decision
    mode: Mode | None
    flow: ActivationFlow | None
    acks: list[Ack]
    changes: list[str]
    release: list[dict[str, Any]]
    alarms: list[Overrun]
    ues_served: int = 0
    # the in-process network's view: probe before the ack, termination (None: no network)
    network: dict[str, Any] | None = None
    # the scenario's warning and its delivery to the served UEs (None: no warning)
    warning: dict[str, Any] | None = None

    def report(self, sc: Scenario) -> dict[str, Any]:
        flow = self.flow
        minutes_to_service = None
        if flow is not None and flow.service_started is not None:
            minutes_to_service = (flow.service_started - flow.started).total_seconds() / 60
        return {
            "scenario": self.scenario,
            "activated": self.activated,
            "decision_rule": self.decision.rule.value if self.decision.rule else None,
            "decision_action": self.decision.action.value,
            "decision_reason": self.decision.reason,
            "mode": self.mode.value if self.mode else None,
            "affected": str(sc.affected),
            "rescuers": [str(a.rescuer) for a in self.acks if a.accepted],
            "area": {"prefectures": list(sc.area.prefectures), "tacs": list(sc.area.tacs)},
            "started": sc.start.isoformat(),
            "ended": flow.ended.isoformat() if flow and flow.ended else None,
            "end_reason": flow.end_reason if flow else "",
            "minutes_to_service": minutes_to_service,
            "steps": flow.steps_json() if flow else [],
            "acks": [a.to_json() for a in self.acks],
            "changes": self.changes,
            "release": self.release,
            "alarms": [
                {"steps": [int(s) for s in a.steps], "max_minutes": a.max_minutes,
                 "deadline": a.deadline.isoformat(), "at": a.at.isoformat()}
                for a in self.alarms
            ],
            "ues_served": self.ues_served,
            "network": self.network,
            "warning": self.warning,
        }


class _Clock:
    """The accelerated clock: scenario time advances by the minutes each step takes."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def advance(self, minutes: float) -> dt.datetime:
        self.now += dt.timedelta(minutes=minutes)
        return self.now


async def run_drill(
    sc: Scenario,
    bus: BusConfig | None = None,
    *,
    configurator: RescuerConfigurator | None = None,
    ack_timeout_s: float = 10.0,
    network: bool | None = None,
    pcap: str | None = None,
) -> DrillResult:
    """Run one scenario; with `bus` None an embedded broker is started for it.

    With `network` (default: when the scenario has `ues`), the first rescuer's network runs in
    process and the accepted request reconfigures it for real (`NetworkConfigurator`); the
    scenario's UEs then attach to it. `pcap`: capture that network's messages in this file."""
    live = (sc.ues > 0 if network is None else network) and configurator is None
    if not live:
        return await _on_bus(sc, bus, configurator or RecordingConfigurator(), ack_timeout_s,
                             None)
    net = await DrillNetwork.start(sc, sc.rescuers[0], pcap=pcap)
    try:
        return await _on_bus(sc, bus, RecordingConfigurator(), ack_timeout_s, net)
    finally:
        await net.stop()


async def _on_bus(sc: Scenario, bus: BusConfig | None, configurator: RescuerConfigurator,
                  ack_timeout_s: float, net: DrillNetwork | None) -> DrillResult:
    if bus is not None:
        return await _run(sc, bus, configurator, ack_timeout_s, net=net)
    users = {str(p): secrets.token_hex(8) for p in [sc.affected, *(r.plmn for r in sc.rescuers)]}
    async with EmbeddedBroker(users) as broker:
        return await _run(sc, broker.config, configurator, ack_timeout_s, users, net=net)


# Embedded network of a drill: one 127.N.0.0/16 block per run (N outside the blocks of the
# tests, 20-139, and of the UE address pools, 145-147).
_BLOCKS = tuple(range(150, 255))


def _bindable(host: str, port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_block(rng: random.Random | None = None) -> int:
    """A loopback block whose HSS, MME and S/P-GW ports are free."""
    rng = rng or random.Random()
    for n in rng.sample(_BLOCKS, len(_BLOCKS)):
        wanted = [(f"127.{n}.0.3", 3868, socket.SOCK_STREAM),
                  (f"127.{n}.0.2", 36412, socket.SOCK_STREAM),
                  (f"127.{n}.0.2", 2123, socket.SOCK_DGRAM),
                  (f"127.{n}.0.4", 2123, socket.SOCK_DGRAM)]
        if all(_bindable(*w) for w in wanted):
            return n
    raise ConfigError("no free loopback block for the drill network")


def network_config(sc: Scenario, rescuer: RescuerSpec, folder: Path, block: int) -> CorenetConfig:
    """The embedded defaults on 127.<block>.0.0/16: the affected operator's HSS, the rescuer's
    MME (roaming policy for the affected PLMN off until a request is accepted, TS 23.401
    §4.3.12.1) and S/P-GW, and one eNB per TAC the rescuer serves."""
    ip = lambda host, last: f"127.{block}.{host}.{last}"  # noqa: E731
    home, visited = sc.affected, rescuer.plmn
    mme_host = f"mme.{visited.realm}"
    tacs = sorted(rescuer.tacs)
    mme = ip(0, 2)
    return CorenetConfig.model_validate({
        "hss": {"plmn": str(home), "origin_host": f"hss.{home.realm}", "origin_realm": home.realm,
                "listen": {"host": ip(0, 3), "port": 3868}, "database": str(folder / "hss.db"),
                "subscribers_file": None,
                "peers": [{"origin_host": mme_host, "addresses": [mme]}],
                "control": {"host": ip(0, 3), "port": 0}},
        "mme": {"plmn": str(visited), "origin_host": mme_host, "origin_realm": visited.realm,
                "s1ap": {"host": mme, "port": 36412}, "sctp": "fallback", "tacs": tacs,
                "s11_local": {"host": mme, "port": 2123}, "sgw": {"host": ip(0, 4), "port": 2123},
                "diameter_local_host": mme, "pgw_s5s8_address": ip(0, 5),
                "diameter_routes": [{"realm": home.realm, "host": f"hss.{home.realm}",
                                     "peer": {"host": ip(0, 3), "port": 3868}}],
                "control": {"host": mme, "port": 0},
                "roaming": {"home_plmns": [str(home)],
                            "policies": [{"home_plmn": str(home), "mode": "off"}]}},
        "sgw_pgw": {"s11": {"host": ip(0, 4), "port": 2123}, "s1u_address": ip(0, 4),
                    "s5_address": ip(0, 5), "database": str(folder / "sgw-pgw.db")},
        "sim_ue": {"enbs": [
            {"name": f"enb-{tac}", "global_enb_id": 0x200 + i, "plmn": str(visited),
             "broadcast_plmns": [str(visited)], "tac": tac, "address": ip(1, i + 1),
             "mme": {"host": mme, "port": 36412}}
            for i, tac in enumerate(tacs)]},
    })


def drill_subscribers(affected: Plmn, count: int) -> list[Subscriber]:
    """`count` subscribers of the affected operator (TS 35.208 test set 1 keys)."""
    first = str(affected) + "1".zfill(15 - len(str(affected)))
    return list(EMBEDDED_SUBSCRIBERS.model_copy(update={"imsi": first, "count": count}).expand())


@dataclass
class DrillNetwork:
    """The first rescuer's network, in process, with the scenario's UEs of the affected
    operator camped on its eNBs."""

    runtime: Runtime
    population: Population
    configurator: NetworkConfigurator
    plmn: Plmn
    folder: tempfile.TemporaryDirectory[str]

    @classmethod
    async def start(cls, sc: Scenario, rescuer: RescuerSpec, *,
                    pcap: str | None = None) -> DrillNetwork:
        folder = tempfile.TemporaryDirectory(prefix="corenet-drill-")
        cfg = network_config(sc, rescuer, Path(folder.name), free_block())
        runtime = Runtime(cfg, names=("hss", "sgw-pgw", "mme"), pcap_path=pcap,
                          sim_ue_in_process=True)
        try:
            await runtime.start()
            subs = drill_subscribers(sc.affected, sc.ues)
            runtime.services["hss"].store.provision(subs)
            tap = runtime.tap()
            population = Population(
                subs, cfg.sim_ue.enbs, tap=None if tap is None else tap.sctp,
                selection="manual", home_plmn=str(sc.affected),
                network_name=cfg.mme.roaming.network_name.full, sctp_mode="fallback",
                timeout=30.0, info_wait=0.5,
                air=None if runtime.writer is None else AirTap(runtime.writer))
            await population.start()
        except BaseException:
            await runtime.stop()
            folder.cleanup()
            raise
        conf = NetworkConfigurator(runtime, population, emergency_mode=sc.emergency_mode)
        return cls(runtime, population, conf, rescuer.plmn, folder)

    async def stop(self) -> None:
        try:
            await self.population.stop()
        finally:
            await self.runtime.stop()
            self.folder.cleanup()

    def plmn_tacs(self) -> set[int]:
        return {enb.cfg.tac for enb in self.population.enbs}

    def served(self) -> int:
        return sum(1 for r in self.population.results() if r.attached)

    def policy(self, tacs: Iterable[int]) -> dict[str, str | None]:
        """The MME's roaming mode for the affected PLMN in each TAC (control API)."""
        mme = self.runtime.services["mme"]
        out: dict[str, str | None] = {}
        for tac in tacs:
            rule = mme.control_request({"op": "policy.get", "home_plmn": str(self.home),
                                        "tac": tac})["policy"]
            out[str(tac)] = None if rule is None else rule["mode"]
        return out

    @property
    def home(self) -> Plmn:
        return self.population.home

    async def probe(self) -> dict[str, Any]:
        """One UE of the affected operator tries to attach: before any request is accepted it
        is rejected (TS 24.301 §5.5.1.2.5: #11 with the policy off for the whole PLMN)."""
        member = self.population.members[0]
        done = await self.population.attach_obeying_barring(
            member, deadline=asyncio.get_running_loop().time())
        await self._released(member.ue.key)
        result = _ue_json(self.population.results()[0])
        return {**result, "ok": done.ok}

    async def _released(self, key: str, wait: float = 5.0) -> None:
        """TS 23.401 §5.3.2.1: the MME releases the connection after an Attach Reject."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        for enb in self.population.enbs:
            ctx = enb.core.ues.get(key)
            while ctx is not None and ctx.connected and loop.time() < deadline:
                await asyncio.sleep(0.02)

    async def serve_full(self, sc: Scenario, at: dt.datetime) -> list[dict[str, Any]]:
        """Step ⑪ with real UEs: each stage's ACB per PLMN (TS 36.331 §6.3.1) broadcast by the
        eNBs, then one access attempt (§5.3.3.11 draw) by each UE not yet served."""
        stages = sc.release or (ReleaseStage(0.0, None),)
        loop = asyncio.get_running_loop()
        slot = asyncio.Semaphore(32)
        rows = []
        for stage in stages:
            sib2 = b""
            for enb in self.population.enbs:
                sib2 = enb.set_barring(self.plmn, stage.factor, stage.time_s)
            waiting = [m for m in self.population.members
                       if m.ue.state is not EmmState.REGISTERED]
            now = loop.time()
            await asyncio.gather(*(self.population.attach_obeying_barring(
                m, deadline=now, slot=slot) for m in waiting))
            rows.append({
                "at": (at + dt.timedelta(minutes=stage.minutes)).isoformat(),
                "factor": stage.factor, "time_s": stage.time_s, "sib2": sib2.hex(),
                "attempts": len(waiting), "attached": self.served(),
            })
        return rows

    async def serve_emergency(self, dialled: str = "119") -> None:
        """Emergency-only: each user selects JPN-ROAM manually and dials (TS 24.301
        §5.5.1.2.2 emergency attach)."""
        await self.population.emergency(dialled)

    async def warn(self, kind: str, tacs: Iterable[int]) -> dict[str, Any]:
        """The rescuer's CBC broadcasts `kind` to the area's tracking areas (TS 23.041
        §9.1.3.5): which UEs received, displayed and sounded it."""
        rescuer = RESCUER_OF_PLMN.get(str(self.plmn))
        deliveries = await send_warning(self.runtime, self.runtime.cfg, self.population, kind,
                                        sorted(tacs), rescuer=rescuer)
        return {"warning": kind, "rescuer": rescuer or self.runtime.cfg.cbc.rescuer,
                "message_identifiers": deliveries[0].message_identifiers if deliveries else [],
                **summary(deliveries),
                "per_ue": [{"imsi": m.ue.key, **d.to_json()}
                        for m, d in zip(self.population.members, deliveries, strict=True)]}

    async def end(self, request: ActivationRequest) -> dict[str, Any]:
        """Termination: the UEs leave JPN-ROAM for their home network (detach, TS 24.301
        §5.5.2.2), then the rescuer's configuration is undone."""
        before = self.served()
        await self.population.detach()
        detached = before - self.served()
        for member in self.population.members:
            await self._released(member.ue.key)
        changes = self.configurator.terminate(request)
        return {"detached": detached, "changes": changes,
                "policy": self.policy(request.area.tacs),
                # roaming off in the area again: #13 (TS 24.301 §5.5.1.2.5)
                "after_termination": await self.probe()}


def _ue_json(r: UeResult) -> dict[str, Any]:
    return {"imsi": r.imsi, "attached": r.attached, "cause": r.cause, "reason": r.reason,
            "emergency": r.emergency}


def _decide(events: tuple[DisasterEvent, ...]) -> tuple[Decision, bool]:
    """The last criterion that fired, and whether contacts could be prepared in advance."""
    if not events:
        return NO_RULE, False
    decision = evaluate(events[0])
    prepared = decision.prepare_contacts
    for ev in events[1:]:
        nxt = evaluate(ev)
        prepared = prepared or nxt.prepare_contacts
        if nxt.rule is not None:
            decision = nxt
    return decision, prepared


async def _run(
    sc: Scenario, bus: BusConfig, configurator: RescuerConfigurator, ack_timeout_s: float,
    users: dict[str, str] | None = None, *, net: DrillNetwork | None = None,
) -> DrillResult:
    decision, prepared = _decide(sc.events)
    result = DrillResult(sc.name, False, decision, None, None, [], [], [], [])
    if not decision.consult:
        return result
    clock = _Clock(sc.start)
    flow = ActivationFlow(ActivationRequest.new_id(), sc.mode, sc.start, contacts_prepared=prepared)
    result.flow = flow
    for step in (Step.DETECT, Step.NORMAL_RECOVERY):
        result.alarms += flow.complete(clock.advance(sc.minutes[step]))
    # Step ③: the recovery plan against the time roaming takes from here (発動要否判断).
    activate = decide_activation(decision, sc.damage, minutes_to_activate(Step.DECIDE))
    if not activate:
        result.alarms += flow.decline(clock.advance(sc.minutes[Step.DECIDE]),
                                      "recovery is faster than activating roaming")
        return result
    result.alarms += flow.complete(clock.advance(sc.minutes[Step.DECIDE]))
    request = ActivationRequest(
        flow.request_id, sc.affected, tuple(r.plmn for r in sc.rescuers), sc.mode, sc.area,
        clock.now, sc.contacts, sc.reason,
    )
    result.alarms += flow.complete(clock.advance(sc.minutes[Step.DRAFT_REQUEST]))
    configurators: dict[Plmn, RescuerConfigurator] = {}
    if net is not None:
        result.network = {"rescuer": str(net.plmn), "before_activation": await net.probe()}
        configurators[net.plmn] = net.configurator
    acks, changes = await _exchange(sc, bus, request, configurator, clock, ack_timeout_s,
                                    users or {}, configurators)
    result.acks = acks
    for step in (Step.SEND_REQUEST, Step.CONTACTS):
        if flow.step is step:
            result.alarms += flow.complete(clock.advance(sc.minutes[step]))
    result.alarms += flow.complete(clock.advance(sc.minutes[Step.RECEIVE_REQUEST]))
    if not any(a.accepted for a in acks):
        result.alarms += flow.decline(clock.advance(sc.minutes[Step.OWN_NETWORK_CHECK]),
                                      "every rescuer refused")
        return result
    result.activated, result.mode = True, sc.mode
    result.changes = changes
    for step in (Step.OWN_NETWORK_CHECK, Step.PREPARE, Step.CONFIGURE):
        result.alarms += flow.complete(clock.advance(sc.minutes[step]))
    live = net is not None and any(a.accepted and a.rescuer == net.plmn for a in acks)
    if flow.step is Step.RELEASE:
        if net is not None and live:
            result.release = await net.serve_full(sc, clock.now)
        else:
            result.release = _release(sc, clock)
        result.alarms += flow.complete(clock.advance(max((r.minutes for r in sc.release),
                                                         default=sc.minutes[Step.RELEASE])))
    elif net is not None and live:
        await net.serve_emergency()
    if net is not None and live:
        result.ues_served = net.served()
        if sc.warning is not None:
            tacs = set(sc.area.tacs) & net.plmn_tacs()
            result.warning = await net.warn(sc.warning, tacs)
    elif sc.warning is not None:
        result.warning = {"warning": sc.warning, "delivered": None,
                          "reason": "no network in process (the scenario has no ues)"}
    served_until = (flow.service_started or clock.now) + dt.timedelta(minutes=sc.service_minutes)
    clock.now = max(clock.now, served_until)
    if net is not None and live and result.network is not None:
        result.network["termination"] = await net.end(request)
    result.alarms += flow.terminate(clock.now, "service ended; UEs return to their home network")
    return result


def _release(sc: Scenario, clock: _Clock) -> list[dict[str, Any]]:
    """Step ⑪: the SIB2 each stage broadcasts, encoded with RRCLTE (ACB per PLMN, index 1 = the
    affected operator's PLMN in the rescuer's SIB1 list)."""
    out = []
    for stage in sc.release:
        per_plmn = {}
        if stage.factor is not None:
            cfg = BarringConfig(stage.factor, stage.time_s)
            per_plmn[1] = BarringInfo(False, cfg, cfg)
        sib2 = sib2_with_barring(None, per_plmn=per_plmn)
        out.append({
            "at": (clock.now + dt.timedelta(minutes=stage.minutes)).isoformat(),
            "factor": stage.factor, "time_s": stage.time_s, "sib2": sib2.hex(),
        })
    return out


async def _exchange(
    sc: Scenario, bus: BusConfig, request: ActivationRequest, configurator: RescuerConfigurator,
    clock: _Clock, timeout_s: float, users: dict[str, str],
    configurators: dict[Plmn, RescuerConfigurator] | None = None,
) -> tuple[list[Ack], list[str]]:
    """Steps ⑤-⑧ over MQTT: the affected operator orders, each rescuer checks and answers."""
    def creds(plmn: Plmn) -> BusConfig:
        pw = users.get(str(plmn)) or sc.passwords.get(str(plmn))
        return bus.with_credentials(str(plmn), pw) if pw else bus

    changes: list[str] = []
    acks: dict[Plmn, Ack] = {}
    done = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    tag = secrets.token_hex(3)
    for spec in sc.rescuers:
        own = OwnNetwork(spec.plmn, frozenset({sc.affected}), spec.tacs, spec.spare_capacity_ues,
                         spec.supports_emergency_only, spec.impaired, sc.expected_roamers)
        rescuer = Rescuer(own, (configurators or {}).get(spec.plmn, configurator))
        client = BusClient(creds(spec.plmn), spec.plmn, subscriptions=[topics.orders_for(spec.plmn)],
                           identifier=f"corenet-{spec.plmn}-{tag}")

        async def on_order(topic: str, data: bytes, r: Rescuer = rescuer,
                           c: BusClient = client) -> None:
            for pub in r.handle_order(topic, data, clock.now):
                if pub.kind is Kind.EVENT and pub.payload["type"] == "configured":
                    changes.extend(f"{r.own.plmn} {line}" for line in
                                   pub.payload.get("detail", {}).get("changes", []))
                await c.publish(pub.kind, pub.topic, pub.payload)

        tasks.append(asyncio.create_task(client.run(on_order)))
        await asyncio.wait_for(client.connected.wait(), timeout_s)
    affected = BusClient(creds(sc.affected), sc.affected,
                         subscriptions=[topics.acks_for(sc.affected)],
                         identifier=f"corenet-{sc.affected}-{tag}")

    async def on_ack(topic: str, data: bytes) -> None:
        ack = Ack.from_json(_json(data))
        if ack.request_id == request.request_id:
            acks[ack.rescuer] = ack
            if len(acks) == len(sc.rescuers):
                done.set()

    tasks.append(asyncio.create_task(affected.run(on_ack)))
    try:
        await asyncio.wait_for(affected.connected.wait(), timeout_s)
        await affected.publish(Kind.STATUS, topics.status(sc.affected), {
            "operator": str(sc.affected), "state": "outage", "updated_at": clock.now.isoformat(),
        })
        for plmn in request.rescuers:
            await affected.publish(Kind.ORDER, topics.order(plmn, sc.affected),
                                   request.to_json())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout_s)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [acks[p] for p in request.rescuers if p in acks], changes


def _json(data: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(data)
    return value


def save_report(result: DrillResult, sc: Scenario, out_dir: str | Path | None,
                db: str | Path | None) -> dict[str, Any]:
    """Keep the case in SQLite and write the JSON + Markdown report; the report dict."""
    report = result.report(sc)
    if db is not None:
        records = Records(db)
        records.add(report)
        records.close()
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{sc.name}.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        (folder / f"{sc.name}.md").write_text(drill_markdown(report), encoding="utf-8")
        report["files"] = [str(folder / f"{sc.name}.json"), str(folder / f"{sc.name}.md")]
    return report


def drill_markdown(report: dict[str, Any]) -> str:
    """The activation report as Markdown, with the scenario's public warning when it has one."""
    text = report_markdown(report)
    w = report.get("warning")
    if not w:
        return text
    if w.get("delivered", True) is None:
        return text + f"\n## Warning: {w['warning']}\n\nnot sent: {w['reason']}\n"
    ids = ", ".join(str(m) for m in w["message_identifiers"])
    return text + (f"\n## Warning: {w['warning']} (rescuer {w['rescuer']}, message identifiers "
                   f"{ids})\n\n{w['received']}/{w['ues']} UEs received it, {w['displayed']} "
                   f"displayed, {w['sounded']} sounded\n")
