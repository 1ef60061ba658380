"""Emergency-only roaming end to end over real sockets (TS 23.401 §4.3.12; TS 24.301 §5.5.1.2;
TS 33.401 §15; TS 29.274 §8.12), read back from the capture with tshark."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from corenet.config.models import (
    CorenetConfig,
    DiameterPeerSpec,
    DiameterRoute,
    Endpoint,
    HssConfig,
)
from corenet.nf.hss.service import HssService
from corenet.runtime.supervisor import deciphered_path
from tests import tshark
from tests.e2e.flows import diameter_flows, s1ap_flows
from tests.e2e.network import config, network, subscribers

HOME = "44010"


def _policy(mode: str, **kw: Any) -> dict[str, Any]:
    return {"roaming": {"policies": [{"home_plmn": HOME, "mode": mode, **kw}]}}


def _plain(cfg: CorenetConfig) -> Path:
    """The capture with NAS readable: the deciphered companion when EEA2 was used."""
    path = Path(deciphered_path(cfg.pcap or ""))
    return path if path.exists() else Path(cfg.pcap or "")


async def test_emergency_auth_attaches_authenticated_on_the_emergency_apn_only(tmp_path: Path) -> None:
    cfg = config(tmp_path, **_policy("emergency-auth"))
    subs = subscribers(4)
    async with network(cfg, subs) as net, net.population(subs) as pop:
        results = await pop.emergency("119")
        sessions = [net.sgw.session_by_ue_address(r.ipv4) for r in results]
    assert all(r.attached and r.emergency and r.authenticated for r in results)
    assert {r.pdn for r in results} == {"sos"} and {r.display for r in results} == {"no service"}
    assert [s.msisdn for s in sessions] == [s.msisdn for s in subs]
    pcap = _plain(cfg)
    assert tshark.count(pcap, "_ws.malformed") == 0
    assert tshark.values(pcap, "nas_eps.emm.eps_att_type").count("6") == 4
    assert set(tshark.values(pcap, "nas_eps.esm_request_type")) == {"4"}  # emergency
    dia = diameter_flows(pcap)
    for sub in subs:
        names = [n for _, n, _ in dia[sub.imsi]]
        assert "AIR" in names and "ULR" in names
    assert set(tshark.values(pcap, "gtpv2.apn", "gtpv2.message_type == 32")) == {"sos"}
    msisdns = tshark.values(pcap, "e164.msisdn", "gtpv2.message_type == 32")
    assert sorted(msisdns) == sorted(s.msisdn for s in subs)


async def test_emergency_unauth_has_no_diameter_null_algorithms_and_uimsi(tmp_path: Path) -> None:
    cfg = config(tmp_path, **_policy("emergency-unauth"))
    subs = subscribers(3)
    async with network(cfg, subs) as net, net.population(subs) as pop:
        results = await pop.emergency("110")
    assert all(r.attached and r.emergency and not r.authenticated for r in results)
    pcap = _plain(cfg)
    assert tshark.count(pcap, "_ws.malformed") == 0
    assert tshark.count(pcap, "diameter.cmd.code == 316 || diameter.cmd.code == 318") == 0
    assert set(tshark.values(pcap, "nas_eps.emm.toc", opts=("-o", "nas-eps.null_decipher:TRUE"))) == {"0"}
    assert set(tshark.values(pcap, "nas_eps.emm.toi", opts=("-o", "nas-eps.null_decipher:TRUE"))) == {"0"}
    rows = tshark.fields(pcap, "e212.imsi", "gtpv2.uimsi", "gtpv2.apn", display_filter="gtpv2.message_type == 32")
    assert sorted(r["e212.imsi"][0] for r in rows) == sorted(s.imsi for s in subs)
    assert all(r["gtpv2.uimsi"] == ["1"] and r["gtpv2.apn"] == ["sos"] for r in rows)


async def test_normal_attach_is_rejected_then_the_emergency_attach_reaches_the_psap(tmp_path: Path) -> None:
    for mode in ("emergency-auth", "emergency-unauth"):
        cfg = config(tmp_path / mode, **_policy(mode))
        subs = subscribers(1)
        async with network(cfg, subs) as net, net.population(subs) as pop:
            (normal,) = await pop.attach()
            assert not normal.attached and normal.cause == 15  # TS 24.301 §5.5.1.2.5
            (call,) = await pop.call("119")
            records = net.runtime.services["psap"].calls()
        assert call["outcome"] == "answered", (mode, call)
        flow = s1ap_flows(_plain(cfg))[subs[0].imsi]
        assert flow.names().index("AttachReject") < len(flow.names()) - 1
        assert 15 in flow.emm_causes
        assert tshark.values(_plain(cfg), "nas_eps.emm.eps_att_type") == ["1", "6"]
        (rec,) = records
        assert rec.service_urn == "urn:service:sos.fire"
        if mode == "emergency-auth":
            assert (rec.identity_type, rec.verified) == ("msisdn", True)
        else:
            assert (rec.identity_type, rec.identity, rec.verified) == ("imsi", subs[0].imsi, False)


async def test_hss_failure_fallback_to_unauthenticated_and_back(tmp_path: Path) -> None:
    cfg = config(tmp_path, diameter_request_timeout_s=0.5, hss_retry_after_s=0.5,
                 **_policy("emergency-auth", fallback_unauth_when_hss_down=True))
    subs = subscribers(3)
    async with network(cfg, subs) as net:
        async with net.population(subs[:1]) as pop:
            (before,) = await pop.emergency("119")
        assert net.mme.control_request({"op": "fail", "failure": "hss-unreachable", "how": "drop"})["ok"]
        async with net.population(subs[1:2]) as pop:
            (during,) = await pop.emergency("119")
        events = [e.kind for e in net.mme.events]
        assert net.mme.control_request({"op": "restore"})["ok"]
        await asyncio.sleep(0.7)  # past hss_retry_after_s: the MME tries the home HSS again
        async with net.population(subs[2:3]) as pop:
            (after,) = await pop.emergency("119")
    assert before.attached and before.authenticated
    assert during.attached and during.emergency and not during.authenticated
    assert after.attached and after.authenticated
    assert "mme.s6a.peer_down" in events and "policy.fallback.unauth" in events
    rows = tshark.fields(Path(cfg.pcap or ""), "e212.imsi", "gtpv2.uimsi",
                         display_filter="gtpv2.message_type == 32")
    uimsi = {r["e212.imsi"][0]: r["gtpv2.uimsi"] == ["1"] for r in rows}
    assert uimsi == {subs[0].imsi: False, subs[1].imsi: True, subs[2].imsi: False}


async def test_policy_off_rejects_roamers_and_own_subscribers_are_unaffected(tmp_path: Path) -> None:
    own_hss = HssConfig(plmn="44020", origin_host="hss.epc.mnc020.mcc440.3gppnetwork.org",
                        origin_realm="epc.mnc020.mcc440.3gppnetwork.org",
                        database=str(tmp_path / "own-hss.db"), subscribers_file=None)
    cfg = config(tmp_path, **_policy("off"))
    own_listen = Endpoint(host=cfg.hss.listen.host.rsplit(".", 1)[0] + ".13", port=3868)
    own_peers = [DiameterPeerSpec(origin_host=cfg.mme.origin_host,
                                  addresses=[cfg.mme.diameter_local_host])]
    own_hss = own_hss.model_copy(update={"listen": own_listen, "peers": own_peers})
    routes = [*cfg.mme.diameter_routes,
              DiameterRoute(realm=own_hss.origin_realm, host=own_hss.origin_host, peer=own_listen)]
    cfg = cfg.model_copy(update={"mme": cfg.mme.model_copy(update={"diameter_routes": routes})})
    roamers = subscribers(2)
    own = subscribers(2, first_imsi="440200000000001")
    rescuer_hss = HssService(own_hss, subscribers=own)
    await rescuer_hss.start()
    try:
        async with network(cfg, roamers) as net:
            async with net.population(roamers) as pop:
                rejected = await pop.attach()
            async with net.population(own, home_plmn="44020", selection="automatic") as pop:
                served = await pop.attach()
    finally:
        await rescuer_hss.stop()
    assert [(r.attached, r.cause) for r in rejected] == [(False, 11), (False, 11)]
    assert all(r.attached and r.plmn == "44020" for r in served)
    assert all(r.ue_ambr == {"uplink_bps": 50_000_000, "downlink_bps": 100_000_000} for r in served)
