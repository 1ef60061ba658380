"""A full MVNO's subscribers attach at the rescuer through two Diameter agents (the rescuer's
edge agent, then its host MNO's) to the MVNO's own HSS (RFC 6733 §6.1.9 Route-Record per
agent), over real loopback sockets, read back with tshark."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.orchestration.demo import run_demo
from tests import tshark
from tests.e2e.agents import DEA_HOST, MME_HOST, MVNO_REALM, block_ip, full_mvno
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


async def test_demo_full_mvno_reports_the_mvno_and_route_records(tmp_path: Path) -> None:
    cfg = config(tmp_path, enbs=1)
    pcap = tmp_path / "mvno-full.pcapng"
    report = await run_demo(cfg, ues=3, pcap=str(pcap), mvno="full")
    ues = report.to_json()["ues"]
    assert [u["attached"] for u in ues] == [True] * 3
    assert {u["imsi"][:5] for u in ues} == {"44011"}
    assert [u["mvno"] for u in ues] == [{"name": "mvno-full", "kind": "full"}] * 3
    assert tshark.count(pcap, "_ws.malformed") == 0
    routes = tshark.values(pcap, "diameter.Route-Record",
                           display_filter=f"diameter.cmd.code == 318 && diameter.flags.request "
                                          f"== 1 && ip.dst == {block_ip(cfg, 12)}")
    assert routes == [MME_HOST, DEA_HOST] * 3


async def test_demo_light_mvno_attaches_through_the_host_hss_to_the_interconnect_apn(
        tmp_path: Path) -> None:
    cfg = config(tmp_path, enbs=1)
    pcap = tmp_path / "mvno-light.pcapng"
    report = await run_demo(cfg, ues=3, pcap=str(pcap), mvno="light")
    ues = report.to_json()["ues"]
    assert [u["attached"] for u in ues] == [True] * 3
    assert [u["mvno"] for u in ues] == [{"name": "mvno-light", "kind": "light"}] * 3
    assert {u["pdn"] for u in ues} == {"mvno-light.interconnect"}
    # the host's HSS answered every ULR with the interconnect APN, not for a visited P-GW
    # (VPLMN-Dynamic-Address-Allowed NOT_ALLOWED, TS 29.272 §7.3.38)
    rows = tshark.fields(pcap, "diameter.Service-Selection",
                         "diameter.VPLMN-Dynamic-Address-Allowed", "diameter.Origin-Host",
                         display_filter="diameter.cmd.code == 316 && diameter.flags.request == 0")
    assert len(rows) == 3
    for row in rows:
        assert row["diameter.Service-Selection"] == ["mvno-light.interconnect"]
        assert row["diameter.VPLMN-Dynamic-Address-Allowed"] == ["0"]
        assert row["diameter.Origin-Host"] == [cfg.hss.origin_host]
    # home-routed (TS 23.401 §4.3.8.1): the MME's Create Session names the host's P-GW as the
    # PGW S5/S8 F-TEID (interface type 7), the S-GW sends it on over S8 with its own S5/S8
    # F-TEIDs (6, 4), and the MME gets the address the home P-GW allocated
    assert tshark.count(pcap, "_ws.malformed") == 0
    sgw, home_pgw, mme = cfg.sgw_pgw.s11.host, block_ip(cfg, 13), cfg.mme.s11_local.host
    csrs = tshark.fields(pcap, "gtpv2.f_teid_interface_type", "gtpv2.f_teid_ipv4",
                         display_filter=f"gtpv2.message_type == 32 && ip.dst == {sgw}")
    assert [(r["gtpv2.f_teid_interface_type"], r["gtpv2.f_teid_ipv4"]) for r in csrs] == [
        (["10", "7"], [mme, home_pgw])] * 3
    s8 = tshark.fields(pcap, "gtpv2.f_teid_interface_type", "gtpv2.f_teid_ipv4",
                       display_filter=f"gtpv2.message_type == 32 && ip.dst == {home_pgw}")
    assert [(r["gtpv2.f_teid_interface_type"], r["gtpv2.f_teid_ipv4"]) for r in s8] == [
        (["6", "4"], [sgw, sgw])] * 3
    allocated = tshark.values(pcap, "gtpv2.pdn_addr_and_prefix.ipv4",
                              display_filter=f"gtpv2.message_type == 33 && ip.src == {home_pgw}")
    answered = tshark.fields(pcap, "gtpv2.f_teid_interface_type", "gtpv2.f_teid_ipv4",
                             "gtpv2.pdn_addr_and_prefix.ipv4",
                             display_filter=f"gtpv2.message_type == 33 && ip.dst == {mme}")
    assert sorted(allocated) == sorted(r["gtpv2.pdn_addr_and_prefix.ipv4"][0] for r in answered)
    assert {u["ipv4"] for u in ues} == set(allocated)
    for row in answered:
        assert row["gtpv2.f_teid_interface_type"][:2] == ["11", "7"]
        assert row["gtpv2.f_teid_ipv4"][:2] == [sgw, home_pgw]


@pytest.mark.parametrize("mode", ["emergency-auth", "emergency-unauth"])
async def test_demo_emergency_modes_apply_to_full_mvno_subscribers(tmp_path: Path,
                                                                   mode: str) -> None:
    cfg = config(tmp_path, enbs=1)
    pcap = tmp_path / f"mvno-{mode}.pcapng"
    report = await run_demo(cfg, ues=2, pcap=str(pcap), mode=mode, mvno="full")
    ues = report.to_json()["ues"]
    assert [(u["attached"], u["emergency"], u["pdn"]) for u in ues] == [(True, True, "sos")] * 2
    assert [u["authenticated"] for u in ues] == [mode == "emergency-auth"] * 2
    # emergency-auth: AKA with the MVNO's HSS through both agents (TS 23.401 §4.3.12.1
    # "authenticated UEs only"); emergency-unauth: no Diameter at all
    airs = tshark.values(pcap, "diameter.Route-Record",
                         display_filter=f"diameter.cmd.code == 318 && diameter.flags.request "
                                        f"== 1 && ip.dst == {block_ip(cfg, 12)}")
    assert airs == ([MME_HOST, DEA_HOST] * 2 if mode == "emergency-auth" else [])
    if mode == "emergency-unauth":
        assert tshark.count(pcap, "diameter.cmd.code == 318 || diameter.cmd.code == 316") == 0
