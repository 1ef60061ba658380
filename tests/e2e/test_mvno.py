"""A full MVNO's subscribers attach at the rescuer through two Diameter agents (the rescuer's
edge agent, then its host MNO's) to the MVNO's own HSS (RFC 6733 §6.1.9 Route-Record per
agent), over real loopback sockets, read back with tshark."""

from __future__ import annotations

from pathlib import Path

from tests import tshark
from tests.e2e.agents import DEA_HOST, MME_HOST, MVNO_REALM, full_mvno
from tests.e2e.network import config, network, subscribers


async def test_full_mvno_ues_attach_through_both_agents_to_the_mvno_hss(tmp_path: Path) -> None:
    cfg = full_mvno(config(tmp_path, enbs=1), str(tmp_path))
    subs = subscribers(3, first_imsi="440110000000001")
    async with network(cfg, subs) as net:
        mvno_hss = net.runtime.services["mvno-hss"].members[cfg.mvno_hss[0].origin_host]
        mvno_hss.store.provision(subs)
        async with net.population(subs, concurrency=3) as pop:
            results = await pop.attach()
        assert [r.imsi for r in results if not r.attached] == []
        assert mvno_hss.air_count == 3 and net.hss.air_count == 0
    pcap = Path(cfg.pcap or "")
    assert tshark.count(pcap, "_ws.malformed") == 0
    hss = cfg.mvno_hss[0].listen
    rows = tshark.fields(pcap, "diameter.Route-Record", "diameter.Destination-Realm",
                         "diameter.Origin-Host",
                         display_filter=f"diameter.cmd.code == 318 && diameter.flags.request == 1"
                                        f" && ip.dst == {hss.host} && tcp.dstport == {hss.port}")
    assert len(rows) == 3
    for row in rows:  # one Route-Record per agent crossed, each naming the hop before it
        assert row["diameter.Route-Record"] == [MME_HOST, DEA_HOST]
        assert row["diameter.Destination-Realm"] == [MVNO_REALM]
        assert row["diameter.Origin-Host"] == [MME_HOST]


async def test_mvno_without_japan_roaming_is_refused_11_without_diameter(tmp_path: Path) -> None:
    cfg = full_mvno(config(tmp_path, enbs=1), str(tmp_path), offers_roaming=False)
    subs = subscribers(1, first_imsi="440110000000001")
    async with network(cfg, subs, pcap=False) as net:
        mvno_hss = net.runtime.services["mvno-hss"].members[cfg.mvno_hss[0].origin_host]
        mvno_hss.store.provision(subs)
        async with net.population(subs, concurrency=1) as pop:
            (result,) = await pop.attach()
        assert not result.attached and mvno_hss.air_count == 0
        assert result.cause == 11  # TS 24.301 §5.5.1.2.5: PLMN not allowed
