"""`corenet demo`: the whole emulator in one process on loopback, a population of UEs.

Modes (seed report, "The three modes"; TS 23.401 §4.3.12.1):
- full: the affected operator's subscribers (440-10) select the rescuer's network (440-20, shown
  as "JPN-ROAM X") and attach (TS 23.401 §5.3.2.1, roaming case), authenticated by their home HSS.
- emergency-auth / emergency-unauth: the rescuer's policy for 440-10 is emergency only; each user
  selects JPN-ROAM manually and, on dialling, the device performs the emergency attach
  (TS 24.301 §5.5.1.2.2), authenticated by the home HSS or not. In emergency-auth the affected
  operator's IMS has lost its HSS (its Cx link is down, the disaster's damage): the UE's
  emergency registration is attempted and answered 480 (TS 24.229 §5.3.1.3), and the call goes
  unregistered (§5.1.6.8.2).
With `call`, every UE then dials that number through the IMS (TS 23.167) and the PSAP calls the
callers back. With `mvno`, the UEs are subscribers of the affected operator's full MVNO (its own
HSS behind the operator's Diameter agents) or light MVNO (held by the operator's HSS), see
corenet.orchestration.mvno. With `etws`, once the UEs are in service the rescuer's CBC sends
that warning through the MME to the eNBs, and the report says per UE whether it was received,
displayed and sounded (corenet.orchestration.warning_delivery); the capture then holds the
SBc-AP and S1AP Write-Replace Warning exchanges and the cells' broadcasts (SIB1, Paging,
SIB10/11/12 on an exported-PDU interface).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corenet.config.models import CorenetConfig, RoamingPolicyEntry
from corenet.config.subscribers import Subscriber, SubscriberEntry, load_subscribers
from corenet.nf.mme.mvno import Mvno, mvno_of
from corenet.orchestration.mvno import (
    mvno_of_kind,
    mvno_subscribers,
    with_full_mvno,
    with_light_mvno,
)
from corenet.orchestration.warning_delivery import KINDS as WARNING_KINDS
from corenet.orchestration.warning_delivery import Delivery, send_warning
from corenet.runtime.supervisor import Runtime
from sim_ue.devices import DeviceProfile
from sim_ue.pws import AirTap
from sim_ue.runner import Population
from sim_ue.ue import UeResult

MODES = ("full", "emergency-auth", "emergency-unauth")

# The embedded subscribers when no subscribers file is found: TS 35.208 test set 1 keys.
EMBEDDED_SUBSCRIBERS = SubscriberEntry(
    imsi="440100000000001", count=1000, msisdn="819010000001",
    k="465b5ce8b199b49faa5f0a2ee238a6bc", opc="cd63cb71954a9f4e48a5994e37a02baf", amf="8000",
)


@dataclass
class DemoReport:
    mode: str
    pcap: str | None
    results: list[UeResult]
    identities: list[str | None] = field(default_factory=list)
    calls: list[dict[str, Any]] | None = None
    mvnos: list[dict[str, str] | None] = field(default_factory=list)
    warnings: list[Delivery] | None = None

    @property
    def all_attached(self) -> bool:
        return bool(self.results) and all(r.attached for r in self.results)

    def to_json(self) -> dict[str, Any]:
        ues = []
        for i, r in enumerate(self.results):
            row: dict[str, Any] = {
                "imsi": r.imsi, "msisdn": r.msisdn, "attached": r.attached, "guti": r.guti,
                "ipv4": r.ipv4, "network_name": r.network_name,
                "ue_ambr_ul": (r.ue_ambr or {}).get("uplink_bps"),
                "ue_ambr_dl": (r.ue_ambr or {}).get("downlink_bps"),
                "cause": r.cause,
                "identity_at_network": self.identities[i] if i < len(self.identities) else None,
                "authenticated": r.authenticated, "display": r.display, "pdn": r.pdn,
                "emergency": r.emergency, "device": r.device, "reason": r.reason or None,
                "mvno": self.mvnos[i] if i < len(self.mvnos) else None,
            }
            if self.calls is not None:
                row["call"] = self.calls[i]
            if self.warnings is not None:
                row["warning"] = self.warnings[i].to_json()
            ues.append(row)
        return {"mode": self.mode, "pcap": self.pcap, "ues": ues}


def subscribers_for(cfg: CorenetConfig) -> list[Subscriber]:
    path = Path(cfg.sim_ue.subscribers_file)
    if path.exists():
        return load_subscribers(path)
    return list(EMBEDDED_SUBSCRIBERS.expand())


def with_mode(cfg: CorenetConfig, mode: str) -> CorenetConfig:
    """The rescuer's roaming policy for the affected operator's PLMN set to `mode`."""
    home = cfg.hss.plmn
    others = [p for p in cfg.mme.roaming.policies if p.home_plmn != home]
    policy = RoamingPolicyEntry(home_plmn=home, mode=mode)  # type: ignore[arg-type]
    roaming = cfg.mme.roaming.model_copy(update={"policies": [*others, policy]})
    return cfg.model_copy(update={"mme": cfg.mme.model_copy(update={"roaming": roaming})})


async def run_demo(cfg: CorenetConfig, *, ues: int = 10, pcap: str | None = "pcaps/demo.pcapng",
                   seed: int = 1, concurrency: int = 32, mode: str = "full",
                   call: str | None = None, devices: list[DeviceProfile] | None = None,
                   mvno: str | None = None, etws: str | None = None) -> DemoReport:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if etws is not None and etws not in WARNING_KINDS:
        raise ValueError(f"etws must be one of {', '.join(WARNING_KINDS)}")
    entry = None if mvno is None else mvno_of_kind(cfg, mvno)
    if entry is None:
        subscribers = subscribers_for(cfg)[:ues]
    else:
        subscribers = mvno_subscribers(entry, EMBEDDED_SUBSCRIBERS, ues)
    with tempfile.TemporaryDirectory(prefix="corenet-demo-") as tmp:
        # Fresh databases per run: the same seed gives the same SQNs, RANDs and records.
        hss = cfg.hss.model_copy(update={"database": str(Path(tmp) / "hss.db"), "subscribers_file": None})
        psap = cfg.psap.model_copy(update={"database": str(Path(tmp) / "psap.db")})
        sgw_pgw = cfg.sgw_pgw.model_copy(update={"database": str(Path(tmp) / "sgw-pgw.db")})
        run_cfg = with_mode(cfg.model_copy(update={"hss": hss, "psap": psap,
                                                   "sgw_pgw": sgw_pgw}), mode)
        base = cfg.hss.listen.host.rsplit(".", 1)[0]
        if entry is not None and entry.kind == "full":
            run_cfg = with_full_mvno(run_cfg, entry, lambda n: f"{base}.{n}",
                                     str(Path(tmp) / "mvno-hss.db"))
        elif entry is not None:
            run_cfg = with_light_mvno(run_cfg, entry, lambda n: f"{base}.{n}",
                                      database=str(Path(tmp) / "home-pgw.db"))
        runtime = Runtime(run_cfg, pcap_path=pcap, seed=seed,
                          sim_ue_in_process=True)
        await runtime.start()
        try:
            if entry is not None and entry.kind == "full":
                (holder,) = runtime.services["mvno-hss"].members.values()
            else:
                holder = runtime.services["hss"]
            holder.store.provision(subscribers)
            if mode == "emergency-auth" and "ims" in runtime.services:
                runtime.services["ims"].inject_cx_failure(True)
            tap = runtime.tap()
            population = Population(
                subscribers, cfg.sim_ue.enbs, tap=None if tap is None else tap.sctp,
                concurrency=concurrency, seed=seed, eea=cfg.sim_ue.eea, eia=cfg.sim_ue.eia,
                selection=cfg.sim_ue.selection,
                home_plmn=entry.home_plmn or cfg.hss.plmn if entry else cfg.hss.plmn,
                network_name=cfg.mme.roaming.network_name.full, sctp_mode=cfg.mme.sctp,
                devices=devices, pcscf=(cfg.ims.pcscf.listen.host, cfg.ims.pcscf.listen.port),
                sip_tap=tap, sip_seed=seed,
                air=None if runtime.writer is None else AirTap(runtime.writer),
            )
            async with population:
                calls = None
                if call is not None:
                    if mode == "full":
                        await population.attach()
                        await population.until_idle()  # eNB user inactivity, if configured
                    await population.call(call)
                    calls = await _with_psap(runtime, population)
                elif mode == "full":
                    await population.attach()
                else:
                    await population.emergency("119")
                deliveries = (None if etws is None
                              else await send_warning(runtime, run_cfg, population, etws))
                results = population.results()
                identities = [_identity(runtime, r) for r in results]
        finally:
            await runtime.stop()
    known = [Mvno.of(e) for e in cfg.mme.roaming.mvnos]
    mvnos = [None if (m := mvno_of(r.imsi, known)) is None else {"name": m.name, "kind": m.kind}
             for r in results]
    return DemoReport(mode=mode, pcap=pcap, results=results, identities=identities, calls=calls,
                      mvnos=mvnos, warnings=deliveries)


def _identity(runtime: Runtime, r: UeResult) -> str | None:
    """What the network knows the UE as (the S/P-GW session the MME created, TS 29.274 §7.2.1)."""
    if not r.ipv4:
        return None
    session = runtime.services["sgw-pgw"].session_by_ue_address(r.ipv4)
    if session is None:
        return None
    if session.msisdn and not session.uimsi:
        return "msisdn"
    return "imsi" if session.imsi else "imei"


async def _with_psap(runtime: Runtime, population: Population) -> list[dict[str, Any]]:
    """Each UE's call joined with what the PSAP recorded, then the PSAP's call-back."""
    psap = runtime.services["psap"]
    await population.answer_callbacks()
    records = {rec.call_id: rec for rec in psap.calls()}
    out = []
    for row in population.call_results():
        rec = records.get(row.get("call_id"))
        callback = None
        if rec is not None and rec.outcome == "answered":
            result = await psap.call_back(rec.id)
            callback = {"outcome": result.outcome, "sip_status": result.sip_status}
        out.append({
            "dialled": row["dialled"], "outcome": row["outcome"], "sip_status": row["sip_status"],
            "reason": row.get("reason") or None,
            "psap": None if rec is None else {
                "identity": rec.identity, "identity_type": rec.identity_type,
                "verified": rec.verified, "ecgi": rec.ecgi, "service_urn": rec.service_urn},
            "callback": callback,
        })
    await asyncio.sleep(0)
    return out
