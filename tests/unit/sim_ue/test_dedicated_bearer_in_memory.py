"""A QCI 1 dedicated bearer for voice, the real cores in memory (`memnet`): PCC rule at the
S/P-GW -> Create Bearer Request -> E-RAB Setup with ACTIVATE DEDICATED EPS BEARER CONTEXT
REQUEST -> the UE accepts -> Create Bearer Response -> rule ACTIVE; removed the same way round
(TS 23.401 §5.4.1, §5.4.4.1; TS 24.301 §6.4.2, §6.4.4)."""

from __future__ import annotations

import ipaddress

from corenet.codecs import nas, tft
from corenet.nf.sgw_pgw.pcc import PccInstall, PccRemove, PccReport, PccRule, PccRuleStatus
from sim_ue.ue import NasReceived, SendNas

from .test_pdn_in_memory import _attached

REMOTE = "10.46.0.7"


def _voice(ue_ip: str) -> PccRule:
    return PccRule("voice", qci=1, arp_priority=2, mbr_ul_bps=128_000, mbr_dl_bps=128_000,
                   gbr_ul_bps=64_000, gbr_dl_bps=64_000,
                   flows=(f"permit out 17 from {REMOTE} 40000 to {ue_ip} 50000",
                          f"permit in 17 from {ue_ip} 50000 to {REMOTE} 40000"))


def test_voice_bearer_installed_and_removed() -> None:
    net, ue = _attached()
    assert ue.pdn is not None and ue.pdn.ipv4 is not None
    ip = ue.pdn.ipv4
    net.pcc(PccInstall(ip, (_voice(ip),)))
    net.run(until=lambda: bool(net.pcc_reports))
    assert net.pcc_reports == [PccReport(ip, ("voice",), PccRuleStatus.ACTIVE, ebi=6)]
    bearer = ue.dedicated[6]
    assert bearer.linked_ebi == 5 and bearer.qos["qci"] == 1 and bearer.qos["gbr_dl"] == 64
    assert {f.remote for f in bearer.filters} == {ipaddress.ip_network(REMOTE)}
    assert {(f.direction, f.local_port) for f in bearer.filters} == {
        (tft.DOWNLINK, 50000), (tft.UPLINK, 50000)}
    s = net.sgw.session_by_ue_address(ip)
    assert s is not None and s.bearers[6].s1u_enb_fteid is not None
    assert "esm.bearer.activated" in net.kinds("mme")
    net.pcc_reports.clear()
    net.pcc(PccRemove(ip, ("voice",)))
    net.run(until=lambda: bool(net.pcc_reports))
    assert net.pcc_reports == [PccReport(ip, ("voice",), PccRuleStatus.INACTIVE, ebi=6)]
    assert ue.dedicated == {} and set(s.bearers) == {5}
    mme_ue = next(iter(net.mme.ues.values()))
    assert mme_ue.session.pdn is not None and mme_ue.session.pdn.dedicated == {}


def test_ue_rejects_an_unknown_linked_bearer_with_43() -> None:
    """TS 24.301 §6.4.2.4: the linked EBI names no default bearer of the UE."""
    net, ue = _attached()
    mme_sec = next(iter(net.mme.ues.values())).security.sec  # the MME's side of the context
    assert ue.ctx is not None and mme_sec is not None
    plain = nas.activate_dedicated_eps_bearer_context_request(
        7, 9, {"qci": 1}, tft.encode([tft.PacketFilter(0, tft.BIDIRECTIONAL, 1,
                                                        protocol=17)]))
    out = ue.handle(NasReceived(nas.protect(plain, mme_sec, nas.DOWNLINK, 2)), net.now)
    [sent] = [a for a in out if isinstance(a, SendNas)]
    reject = nas.decode(sent.pdu, mme_sec, nas.UPLINK)
    assert reject.name == "ActivateDedicatedEPSBearerContextReject"
    assert (reject.fields[nas.EBI], reject.fields[nas.ESM_CAUSE]) == (7, 43)
    assert ue.dedicated == {}
