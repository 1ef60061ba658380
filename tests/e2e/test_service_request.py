"""A roaming UE in full service goes ECM-IDLE and then calls 110, end to end over sockets: the
eNB's user inactivity releases it (TS 23.401 §5.3.5), the call's SIP is uplink data pending,
so the UE sends a SERVICE REQUEST (TS 24.301 §5.6.1.1); the MME sets up the E-RABs of every
PDN connection (TS 23.401 §5.3.4.1) and modifies each at the S-GW, and the INVITE follows."""

from __future__ import annotations

import asyncio
from pathlib import Path

from corenet.orchestration.demo import run_demo
from corenet.runtime.supervisor import deciphered_path
from sim_ue.ue import EcmState
from tests import tshark
from tests.e2e.network import config, network, subscribers

INACTIVITY_S = 2.0


def _frames(pcap: Path, display_filter: str) -> list[int]:
    return [int(v) for v in tshark.values(pcap, "frame.number", display_filter=display_filter)]


async def test_idle_roamer_service_request_then_emergency_call(tmp_path: Path) -> None:
    cfg = config(tmp_path, roaming={"policies": [{"home_plmn": "44010", "mode": "full"}]})
    for enb in cfg.sim_ue.enbs:
        enb.inactivity_release_s = INACTIVITY_S
    subs = subscribers(1)
    async with network(cfg, subs) as net:
        async with net.population(subs, call_hold=0.1) as pop:
            await pop.attach()
            await pop.answer_callbacks()  # the ims PDN connection and the IMS registration
            ue = pop.members[0].ue
            addresses = (ue.pdn.ipv4 if ue.pdn else None, ue.pdn_to("ims"))
            for _ in range(200):
                if ue.ecm is EcmState.IDLE:
                    break
                await asyncio.sleep(0.05)
            assert ue.ecm is EcmState.IDLE
            (row,) = await pop.call("110")
            assert ue.pdn is not None and ue.pdn.ipv4 == addresses[0]
            assert ue.pdn_to("ims") is addresses[1]  # the same PDN connection, kept
    assert (row["outcome"], row["sip_status"]) == ("answered", 200)
    pcap = Path(cfg.pcap or "")
    plain = Path(deciphered_path(str(pcap)))
    assert tshark.count(pcap, "_ws.malformed") == 0
    assert tshark.count(plain, "_ws.malformed || _ws.expert.severity >= warning") == 0
    # the eNB's UE CONTEXT RELEASE REQUEST, cause user-inactivity (TS 36.413 §9.2.1.3)
    assert tshark.count(pcap, "s1ap.procedureCode == 18 && s1ap.radioNetwork == 20") == 1
    (service,) = _frames(plain, "nas_eps.security_header_type == 12")  # TS 24.301 §8.2.25
    # the S-GW forgot the eNB's F-TEIDs of both PDN connections (TS 23.401 §5.3.5 step 2)
    released = _frames(pcap, "gtpv2.message_type == 170")
    assert len(released) == 2 and all(f < service for f in released)
    # the INITIAL CONTEXT SETUP REQUEST after it lists the attach's and the ims E-RABs
    ics = [r for r in tshark.fields(plain, "frame.number", "s1ap.e_RAB_ID",
                                    display_filter="s1ap.InitialContextSetupRequest_element")
           if int(r["frame.number"][0]) > service]
    assert ics and sorted(int(e) for e in ics[0]["s1ap.e_RAB_ID"]) == [5, 6]
    # one Modify Bearer Request per PDN connection (TS 29.274 §7.2.7), then the INVITE
    modify = [f for f in _frames(pcap, "gtpv2.message_type == 34") if f > service]
    assert len(modify) >= 2
    invites = _frames(pcap, 'sip.Method == "INVITE" && sip.r-uri contains "urn:service:sos"')
    assert invites and invites[0] > modify[1]


async def test_demo_call_after_the_enbs_released_the_ues(tmp_path: Path) -> None:
    """`corenet demo --call 119` with `inactivity_release_s` on the eNBs: the UEs attach, go
    idle, and each call starts with a service request."""
    cfg = config(tmp_path)
    for enb in cfg.sim_ue.enbs:
        enb.inactivity_release_s = 0.5
    pcap = tmp_path / "demo-idle.pcapng"
    report = await run_demo(cfg, ues=2, pcap=str(pcap), call="119")
    calls = [u["call"] for u in report.to_json()["ues"]]
    assert [(c["outcome"], c["sip_status"]) for c in calls] == [("answered", 200)] * 2
    assert tshark.count(pcap, "nas_eps.security_header_type == 12") >= 2
    assert tshark.count(pcap, "_ws.malformed") == 0
