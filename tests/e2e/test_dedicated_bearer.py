"""A QCI 1 dedicated bearer for voice over real sockets (TS 23.401 §5.4.1, §5.4.4.1): a PCC
rule given to the S/P-GW -> Create Bearer Request on S11 -> E-RAB Setup on S1AP with the
ACTIVATE DEDICATED EPS BEARER CONTEXT REQUEST -> the UE accepts -> Create Bearer Response ->
the rule ACTIVE with its EBI; then the rule removed -> Delete Bearer exchange -> INACTIVE.
The capture is read back by tshark."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from corenet.nf.sgw_pgw.pcc import PccInstall, PccRemove, PccReport, PccRule, PccRuleStatus
from corenet.runtime.supervisor import deciphered_path
from tests import tshark
from tests.e2e.network import config, network, subscribers

REMOTE = "10.46.0.7"


async def _until(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "not reached"
        await asyncio.sleep(0.05)


async def test_voice_bearer_set_up_and_released_over_sockets(tmp_path: Path) -> None:
    cfg = config(tmp_path, enbs=1)
    subs = subscribers(1)
    reports: list[PccReport] = []
    async with network(cfg, subs) as net:
        async with net.population(subs) as pop:
            await pop.attach()
            [session] = net.sgw.sessions.values()
            ip = str(session.ue_ipv4)
            net.sgw.on_pcc_report = reports.append
            rule = PccRule("voice", qci=1, arp_priority=2, mbr_ul_bps=128_000,
                           mbr_dl_bps=128_000, gbr_ul_bps=64_000, gbr_dl_bps=64_000,
                           flows=(f"permit out 17 from {REMOTE} 40000 to {ip} 50000",
                                  f"permit in 17 from {ip} 50000 to {REMOTE} 40000"))
            net.sgw.enforce_pcc(PccInstall(ip, (rule,)))
            await _until(lambda: bool(reports))
            assert reports == [PccReport(ip, ("voice",), PccRuleStatus.ACTIVE, ebi=6)]
            assert session.bearers[6].s1u_enb_fteid is not None
            net.sgw.enforce_pcc(PccRemove(ip, ("voice",)))
            await _until(lambda: len(reports) == 2)
            assert reports[1] == PccReport(ip, ("voice",), PccRuleStatus.INACTIVE, ebi=6)
            assert set(session.bearers) == {5}
    pcap = Path(cfg.pcap or "")
    assert tshark.count(pcap, "_ws.malformed") == 0
    assert tshark.expert_problems(pcap) == ""
    # GTPv2-C type 95..100: Create Bearer Request/Response, Delete Bearer Request/Response
    assert tshark.values(pcap, "gtpv2.message_type",
                         display_filter="gtpv2.message_type >= 95 && gtpv2.message_type <= 100"
                         ) == ["95", "96", "99", "100"]
    assert tshark.values(pcap, "gtpv2.bearer_qos_label_qci",
                         display_filter="gtpv2.message_type == 95") == ["1"]
    assert tshark.values(pcap, "gtpv2.bearer_qos_gbr_up",
                         display_filter="gtpv2.message_type == 95") == ["64"]
    assert tshark.count(pcap, "s1ap.E_RABSetupRequest_element") == 1
    assert tshark.count(pcap, "s1ap.E_RABReleaseCommand_element") == 1
    plain = Path(deciphered_path(str(pcap)))
    # 0xc5 Activate Dedicated EPS Bearer Context Request, 0xc6 its Accept, 0xcd / 0xce the
    # deactivation and its Accept (TS 24.301 §8.3)
    esm = tshark.values(plain, "nas_eps.nas_msg_esm_type",
                        display_filter="nas_eps.nas_msg_esm_type >= 0xc5 && "
                                       "nas_eps.nas_msg_esm_type <= 0xce")
    assert [int(v, 16) if v.startswith("0x") else int(v) for v in esm] == [
        0xC5, 0xC6, 0xCD, 0xCE]
    assert tshark.values(plain, "nas_eps.esm.qci",
                         display_filter="nas_eps.nas_msg_esm_type == 0xc5") == ["1"]
