"""`corenet demo`: the whole emulator in one process on loopback, a population of UEs attaching.

Full roaming (TS 23.401 §5.3.2.1, roaming case): the affected operator's subscribers (440-10)
select the rescuer's network (440-20, shown as "JPN-ROAM X") and attach through the rescuer's MME
and S/P-GW, authenticated by their home HSS over S6a.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corenet.config.models import CorenetConfig
from corenet.config.subscribers import Subscriber, SubscriberEntry, load_subscribers
from corenet.runtime.supervisor import Runtime
from sim_ue.runner import Population
from sim_ue.ue import UeResult

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

    @property
    def all_attached(self) -> bool:
        return bool(self.results) and all(r.attached for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "pcap": self.pcap,
            "ues": [
                {
                    "imsi": r.imsi, "msisdn": r.msisdn, "attached": r.attached, "guti": r.guti,
                    "ipv4": r.ipv4, "network_name": r.network_name,
                    "ue_ambr_ul": (r.ue_ambr or {}).get("uplink_bps"),
                    "ue_ambr_dl": (r.ue_ambr or {}).get("downlink_bps"),
                    "cause": r.cause,
                }
                for r in self.results
            ],
        }


def subscribers_for(cfg: CorenetConfig) -> list[Subscriber]:
    path = Path(cfg.sim_ue.subscribers_file)
    if path.exists():
        return load_subscribers(path)
    return list(EMBEDDED_SUBSCRIBERS.expand())


async def run_demo(cfg: CorenetConfig, *, ues: int = 10, pcap: str | None = "pcaps/demo.pcapng",
                   seed: int = 1, concurrency: int = 32, mode: str = "full") -> DemoReport:
    subscribers = subscribers_for(cfg)[:ues]
    with tempfile.TemporaryDirectory(prefix="corenet-demo-") as tmp:
        # A fresh HSS database per demo run: the same seed gives the same SQNs and RANDs.
        hss = cfg.hss.model_copy(update={"database": str(Path(tmp) / "hss.db"), "subscribers_file": None})
        run_cfg = cfg.model_copy(update={"hss": hss})
        runtime = Runtime(run_cfg, pcap_path=pcap, seed=seed,
                          extra_local_ips=frozenset(e.address for e in cfg.sim_ue.enbs))
        await runtime.start()
        try:
            runtime.services["hss"].store.provision(subscribers)
            population = Population(
                subscribers, cfg.sim_ue.enbs, tap=_sctp_tap(runtime), concurrency=concurrency,
                seed=seed, eea=cfg.sim_ue.eea, eia=cfg.sim_ue.eia, selection=cfg.sim_ue.selection,
                home_plmn=cfg.hss.plmn, network_name=cfg.mme.roaming.network_name.full,
                sctp_mode=cfg.mme.sctp,
            )
            async with population:
                results = await population.attach()
        finally:
            await runtime.stop()
    return DemoReport(mode=mode, pcap=pcap, results=results)


def _sctp_tap(runtime: Runtime) -> Any:
    tap = runtime.tap()
    return None if tap is None else tap.sctp
