"""Full roaming end to end over real loopback sockets (TS 23.401 §5.3.2.1, roaming case), read back
from the capture with tshark."""

from __future__ import annotations

from pathlib import Path

from corenet.runtime.supervisor import deciphered_path
from tests import tshark
from tests.e2e.flows import diameter_flows, gtp_imsis, s1ap_flows
from tests.e2e.network import config, network, subscribers

ATTACH_FLOW = ("AttachRequest", "AuthenticationRequest", "AuthenticationResponse",
               "SecurityModeCommand", "SecurityModeComplete", "InitialContextSetupRequest",
               "AttachComplete", "EMMInformation")


async def test_fifty_ues_over_two_enbs_attach_in_full_roaming(tmp_path: Path) -> None:
    cfg = config(tmp_path, enbs=2)
    subs = subscribers(50)
    async with network(cfg, subs) as net:
        async with net.population(subs, concurrency=25) as pop:
            results = await pop.attach()
        assert net.mme.ue_count() == 50
    assert [r.imsi for r in results if not r.attached] == []
    for r in results:
        assert r.network_name == "JPN-ROAM X"
        assert r.ue_ambr == {"uplink_bps": 300_000, "downlink_bps": 300_000}
        assert r.guti is not None and r.guti.startswith("44020-8001-01-")
        assert r.ipv4 is not None and r.ipv4.startswith("127.145.")
        assert {e["number"] for e in r.emergency_numbers} == {"110", "118", "119"}
    assert len({r.enb for r in results}) == 2

    pcap = Path(cfg.pcap or "")
    plain = Path(deciphered_path(str(pcap)))
    for capture in (pcap, plain):
        assert tshark.count(capture, "_ws.malformed") == 0
        assert tshark.count(capture, "sctp.retransmission") == 0

    flows = s1ap_flows(plain)
    dia = diameter_flows(plain)
    assert set(flows) == {s.imsi for s in subs}
    for imsi, flow in flows.items():
        for step in ATTACH_FLOW:
            assert step in flow.names(), (imsi, step, flow.names())
        assert flow.in_order(*ATTACH_FLOW), (imsi, flow.names())
        assert flow.ue_ambr == [(300_000, 300_000)]
        assert "JPN-ROAM X" in flow.network_names
        steps = dia[imsi]
        ula = [f for f, name, result in steps if name == "ULA" and result == 2001]
        air = [f for f, name, _ in steps if name == "AIR"]
        assert air and ula, (imsi, steps)
        assert flow.first("SecurityModeComplete") < ula[0] < flow.first("InitialContextSetupRequest")
    assert sorted(gtp_imsis(plain, 32)) == sorted(s.imsi for s in subs)
    assert tshark.count(plain, "gtpv2.message_type == 33 && gtpv2.cause == 16") == 50
