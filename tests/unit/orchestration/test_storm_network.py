"""The storm's networks are started by the runtime: two HSS networks and, per rescuer, one
runtime with its S/P-GW and MME on free ports, the MME pointed at the S/P-GW it bound."""

from __future__ import annotations

import pytest

from corenet.config.models import CorenetConfig, DiameterRoute, Endpoint
from corenet.orchestration.storm import HOME, RESCUER, Storm, StormConfig, run_storm
from corenet.runtime.supervisor import wired
from tests.e2e import network


class _Bound:
    def __init__(self, address: tuple[str, int], realm: str = "") -> None:
        self.local = address
        self.cfg = type("Cfg", (), {"origin_realm": realm})()


def test_peers_of_this_process_left_at_port_0_get_the_bound_address() -> None:
    home = DiameterRoute(realm=HOME.realm, host=f"hss.{HOME.realm}",
                         peer=Endpoint(host="127.0.0.3", port=0))
    fixed = DiameterRoute(realm="example.org", host="hss.example.org",
                          peer=Endpoint(host="127.0.0.9", port=0))
    cfg = CorenetConfig.model_validate({"mme": {
        "sgw": {"host": "127.0.0.4", "port": 0}, "diameter_routes": [
            home.model_dump(), fixed.model_dump()]}})
    started = {"sgw-pgw": _Bound(("127.0.0.4", 40123)),
               "hss": _Bound(("127.0.0.3", 40999), HOME.realm)}
    out = wired("mme", cfg, started).mme
    assert (out.sgw.host, out.sgw.port) == ("127.0.0.4", 40123)
    assert [r.peer.port for r in out.diameter_routes] == [40999, 0]  # only the HSS of this process
    # a configured port is kept; other functions are not touched
    assert wired("mme", cfg, {}) is cfg
    assert wired("hss", cfg, started) is cfg
    kept = CorenetConfig.model_validate({"mme": {"sgw": {"host": "127.0.0.4", "port": 2123}}})
    assert wired("mme", kept, {"sgw-pgw": _Bound(("127.0.0.4", 40123))}).mme.sgw.port == 2123


@pytest.mark.asyncio
async def test_two_rescuers_run_on_runtimes() -> None:
    cfg = StormConfig(ues=4, rescuers=2, own_ues=2, own_interval_s=0.0, release="all-at-once",
                      enbs_per_rescuer=1, max_duration_s=30.0, net=next(network._blocks))
    storm = Storm(cfg)
    try:
        await storm.start()
        assert storm.home is not None and storm.own is not None
        assert storm.home.services["hss"].cfg.origin_realm == HOME.realm
        assert storm.own.services["hss"].cfg.origin_realm == RESCUER.realm
        for a, rescuer in enumerate(storm.rescuers, start=1):
            services = rescuer.runtime.services
            assert list(services) == ["sgw-pgw", "mme"]
            assert services["mme"].cfg.sgw.port == services["sgw-pgw"].local[1] != 0
            assert services["mme"].cfg.s1ap.host == f"127.{cfg.net}.{a}.2"
    finally:
        await storm.stop()
    assert storm.rescuers == [] and storm.home is None

    res = await run_storm(cfg)
    assert len(res.attached_at) == 4 and res.own_attached == res.own_attempted == 2
    assert res.failures_by_cause == {}


@pytest.mark.asyncio
async def test_rescuers_in_worker_processes_attach_every_roamer() -> None:
    """Each rescuer (S/P-GW, MME, eNBs, UEs) in a worker process; the HSSs and the controller
    here. The report adds up: per-second successes = roamers attached, one latency per Attach
    Request, the workers' resident sets counted."""
    cfg = StormConfig(ues=30, rescuers=2, own_ues=2, own_interval_s=0.0, release="steps:0x1,1.0",
                      enbs_per_rescuer=1, max_duration_s=90.0, barring_time_s=4,
                      timer_scale=0.25, processes=True, net=next(network._blocks))
    res = await run_storm(cfg)
    assert res.processes == 3
    assert len(res.attached_at) == 30 and res.never_attached == []
    assert not res.stopped_early
    # p00 for the first second: every roamer barred once at least, then all through
    assert sum(s.barred for s in res.seconds) >= 30
    assert sum(s.successes for s in res.seconds) == 30
    assert sum(s.attempts for s in res.seconds) == len(res.latencies) >= 30
    assert sum(s.air for s in res.seconds) == 30  # one AIR per attach at the home HSS
    assert res.seconds[0].factor == 0.0 and res.seconds[-1].factor is None
    assert res.own_attached == res.own_attempted == 2
    kpis = res.kpis()
    assert kpis["attached"] == 30 and kpis["processes"] == 3
    assert kpis["peak_rss_mib"] > 3 * 40  # this process and two workers
    assert kpis["t99_s"] is not None and kpis["t99_s"] >= 1.0
