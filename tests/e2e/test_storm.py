"""A re-attach storm of 2,000 UEs on real sockets: the release schedule keeps the home HSS under
its capacity without a single failure, an all-at-once release exceeds it and attaches fail with
#22 (the HSS answers 3004 and reports overload); the rescuer's own subscribers keep attaching.

Both runs are bounded in time (`max_duration_s`): every real attach costs tens of milliseconds
of pycrate encoding, so CI sees the first seconds of each storm, which is where the contrast is
(the all-at-once burst of AIRs versus the barred trickle).
"""

from __future__ import annotations

import pytest

from corenet.orchestration.storm import StormConfig, run_storm
from corenet.orchestration.storm_report import write_report
from tests.e2e import network

CAPACITY = 30.0


@pytest.mark.asyncio
async def test_storm_release_schedule_versus_all_at_once(tmp_path):
    common = dict(ues=2000, rescuers=1, hss_capacity_air_per_s=CAPACITY, own_ues=8,
                  own_interval_s=1.0, barring_time_s=64, timer_scale=0.25, seed=7)
    # TS 36.331 §5.3.3.11: p00 first (every UE barred, its retry spread over 0.7..1.3 x
    # ac-BarringTime), then p05
    stepped = await run_storm(StormConfig(release="steps:0x4,0.05", max_duration_s=28.0,
                                          net=next(network._blocks), **common))
    burst = await run_storm(StormConfig(release="all-at-once", max_duration_s=8.0, net=next(network._blocks),
                                        **common))
    paths = write_report(stepped, str(tmp_path / "stepped"))
    assert (tmp_path / "stepped" / "storm.png").stat().st_size > 10_000
    assert paths["json"].endswith("storm.json")

    assert stepped.cfg.ues == burst.cfg.ues == 2000
    # the schedule: barred accesses are counted, real attaches succeed, AIR/s stays under
    assert sum(s.barred for s in stepped.seconds) > 2000
    assert len(stepped.attached_at) >= 50
    assert 0 < stepped.peak_air_per_s <= CAPACITY
    # the storm the schedule avoids: the home HSS above its capacity answers DIAMETER_TOO_BUSY
    # and sends DOIC overload reports; the MME turns attaches away with #22 and T3346
    # (TS 24.301 §5.5.1.2.5), which the UEs then wait out
    assert burst.peak_air_per_s > CAPACITY
    assert burst.failures_by_cause.get("#22", 0) > 0
    assert burst.seconds[0].factor is None  # never barred by ACB
    # the rescuer's own subscribers (their own cells and HSS) all attach during the schedule
    assert stepped.own_attempted >= 5
    assert stepped.own_attached == stepped.own_attempted
    kpis = stepped.kpis()
    assert kpis["own_subscribers_success_rate"] == 1.0
    assert kpis["hss_capacity_air_per_s"] == CAPACITY
    assert kpis["failures_by_cause"] == {}
    report = stepped.to_json()
    assert report["wall_s"] > 0 and report["peak_rss_mib"] > 10
