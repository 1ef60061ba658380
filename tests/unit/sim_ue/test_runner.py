"""A population attaches and detaches over real loopback sockets against the real MME, HSS and
S/P-GW cores (`core_s1`)."""

from __future__ import annotations

import io

from corenet.config.models import Cell as CellCfg
from corenet.config.models import EnbConfig, Endpoint
from corenet.config.subscribers import SubscriberEntry
from corenet.core.plmn import Plmn
from corenet.pcap import PcapTap, PcapWriter
from corenet.pcap.reader import parse_packets
from sim_ue.runner import Population, _Member, attach_population
from sim_ue.selection import camp
from tests.unit.sim_ue.core_s1 import CoreS1Server
from tests.unit.sim_ue.memnet import OPC, K


def _subs(n: int) -> list:
    entry = SubscriberEntry(imsi="440100000000001", count=n, msisdn="819010000001",
                            k=K, opc=OPC)
    return list(entry.expand())


def _enbs(host: str, port: int, m: int) -> list[EnbConfig]:
    return [EnbConfig(name=f"enb{i + 1}", global_enb_id=0x101 + i, tac=1 + i,
                      address=f"127.0.1.{i + 1}", mme=Endpoint(host=host, port=port))
            for i in range(m)]


async def test_attach_population_full_roaming() -> None:
    mme = CoreS1Server(_subs(4))
    host, port = await mme.start()
    buf = io.BytesIO()
    writer = PcapWriter(buf)
    try:
        results = await attach_population(_subs(4), _enbs(host, port, 2),
                                          tap=PcapTap(writer).sctp, seed=7,
                                          sctp_mode="fallback", timeout=10.0)
    finally:
        mme.close()
    writer.flush()
    assert [r.imsi for r in results] == [f"44010000000000{i}" for i in range(1, 5)]
    assert all(r.attached for r in results), results
    r = results[0]
    assert r.network_name == "JPN-ROAM X"
    assert r.plmn == "44020" and r.apn == "internet"
    assert r.ipv4 is not None and r.ipv4.startswith("127.145.")
    assert r.apn_ambr == {"uplink_kbps": 296, "downlink_kbps": 296}
    assert r.ue_ambr == {"uplink_bps": 300_000, "downlink_bps": 300_000}
    assert r.guti is not None and r.guti.startswith("44020-8001-01-")
    assert [x.enb for x in results] == ["enb1", "enb2", "enb1", "enb2"]
    assert r.msisdn == "819010000001" and r.cause is None
    assert mme.seen.count("S1SetupRequest") == 2
    assert mme.seen.count("AttachComplete") == 4
    assert mme.seen.count("InitialContextSetupResponse") == 4
    packets = parse_packets(buf.getvalue())
    assert len(packets) >= 2 + 2 + 4 * 7


async def test_detach_and_reject() -> None:
    mme = CoreS1Server(_subs(2))
    host, port = await mme.start()
    try:
        async with Population(_subs(2), _enbs(host, port, 1), seed=1, sctp_mode="fallback",
                              timeout=10.0, info_wait=0.5) as pop:
            await pop.attach()
            results = await pop.detach(switch_off=False)
            assert not any(r.attached for r in results)
            assert [r.outcome for r in results] == ["detached", "detached"]
            assert mme.seen.count("UEContextReleaseComplete") == 2
            mme.set_mode("emergency-unauth")  # a normal attach is now refused (#15)
            again = await pop.attach()
            assert [r.cause for r in again] == [15, 15]
            assert not any(r.attached for r in again)
    finally:
        mme.close()


async def test_airplane_mode_toggle_reattaches_on_rescuer_when_home_is_off_air() -> None:
    mme = CoreS1Server(_subs(1))
    host, port = await mme.start()
    try:
        async with Population(_subs(1), _enbs(host, port, 1), sctp_mode="fallback",
                              timeout=10.0, info_wait=0.5) as pop:
            await pop.attach()
            (r,) = await pop.return_home("manual-home")
            assert r.attached  # home not on air: the roaming registration stays
            (r,) = await pop.return_home("airplane-mode")
            assert r.attached and r.plmn == "44020"
            assert "DetachRequest" in mme.seen
    finally:
        mme.close()


def test_the_ues_of_a_cell_share_it_as_broadcast_now() -> None:
    """The UEs attaching through one eNB are spread over its cells as `camp` spreads them
    (TS 36.304 §5.2.3), each cell with the SIB2 it broadcasts now (TS 36.331 §5.2.2.4): one
    CellInfo per cell, shared by its UEs, made anew after a SIB2 change or new cells."""
    plmn = Plmn.parse("44020")
    enbs = [EnbConfig(name=f"enb{i}", global_enb_id=0x101 + i, tac=1, plmn="44020",
                      cells=[CellCfg(cell_id=c) for c in (1, 2, 3)], address="127.0.1.1",
                      mme=Endpoint(host="127.0.0.1", port=9)) for i in range(2)]
    pop = Population(_subs(12), enbs, seed=1)
    members = [_Member(i, pop.enbs[i % 2], pop) for i in range(12)]
    for change in (None, "barring", "cells"):
        if change == "barring":
            pop.enbs[0].set_barring(plmn, 0.5)
        elif change == "cells":
            pop.enbs[0].set_broadcast_plmns(["44020", "44030"])
        cells = [pop._camped(m, plmn) for m in members]
        for m, cell in zip(members, cells, strict=True):
            core = m.enb.core
            expected = core.system_information(
                camp(core.cells, plmn, m.index // 2))  # type: ignore[arg-type]
            assert cell == expected and cell is not None and cell.sib2 is core.sib2
            assert cell is pop._camped(m, plmn)  # shared, not made per UE
        assert len({id(c) for c in cells}) == 6  # 2 eNBs x 3 cells
