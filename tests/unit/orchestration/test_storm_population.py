"""The storm's population at prefecture size: subscribers built when read, UEs built when their
first access passes the barring check (TS 36.331 §5.3.3.11), an idle UE a few slots."""

from __future__ import annotations

import sys

import pytest

from corenet.config.models import EnbConfig, Endpoint
from corenet.config.subscribers import SubscriberEntry
from corenet.orchestration.storm_roamers import HOME, RESCUER, subscribers
from sim_ue.runner import Population, SubscriberRange, _Member
from sim_ue.ue import ACCESS_BARRED, Attach, EmmState, SendNas

ENTRY = SubscriberEntry(imsi="440100000000001", count=1000, msisdn="819000000001",
                        k="465b5ce8b199b49faa5f0a2ee238a6bc",
                        opc="cd63cb71954a9f4e48a5994e37a02baf", amf="8000")


def _enbs(count: int = 2) -> list[EnbConfig]:
    return [EnbConfig(name=f"e{i}", global_enb_id=0x100 + i, tac=1, plmn=str(RESCUER),
                      address="127.0.0.1", mme=Endpoint(host="127.0.0.1", port=9))
            for i in range(count)]


def test_a_range_yields_the_same_subscribers_lazily_as_eagerly() -> None:
    eager = list(ENTRY.expand())
    lazy = SubscriberRange(ENTRY)
    assert len(lazy) == 1000
    assert list(lazy) == eager
    assert lazy[-1] == eager[-1] and lazy[-1].imsi == "440100000001000"
    assert lazy[-1].msisdn == "819000001000"
    # a rescuer's share (k::K) and a prefix are ranges too, with the same subscribers
    share = lazy[2::3]
    assert isinstance(share, SubscriberRange) and list(share) == eager[2::3]
    assert list(lazy[:10][1::2]) == eager[:10][1::2]
    with pytest.raises(IndexError):
        lazy[1000]
    # the storm's generated subscribers: the count asked, none for zero
    assert [s.imsi for s in subscribers(HOME, 3, "8190")] == [
        "440100000000001", "440100000000002", "440100000000003"]
    assert len(subscribers(RESCUER, 0, "8180")) == 0


def test_an_idle_ue_is_a_few_slots_until_it_is_needed() -> None:
    assert "__dict__" not in dir(_Member) and _Member.__slots__
    pop = Population(SubscriberRange(ENTRY), _enbs(), lazy=True, plmn=str(RESCUER),
                     home_plmn=str(HOME))
    pop.members = [_Member(i, pop.enbs[i % 2], pop) for i in range(len(pop.subscribers))]
    member = pop.members[7]
    assert not hasattr(member, "__dict__")
    assert sys.getsizeof(member) <= 80  # bytes, not KiB
    assert not any(m.built for m in pop.members)
    assert not pop.enbs[1].core.ues
    # built when first needed: the subscriber's USIM, camped on its eNB (UE i on eNB i mod M)
    ue = member.ue
    assert member.built and ue.usim.imsi == "440100000000008"
    assert pop.enbs[1].core.ues[ue.key].ue is ue
    assert member.ue is ue
    # the results of UEs never built: idle, not attached, without building them
    results = pop.results()
    assert [r.imsi for r in results[:2]] == ["440100000000001", "440100000000002"]
    assert not results[0].attached and results[0].outcome == "idle"
    assert sum(m.built for m in pop.members) == 1
    # at a storm's end only the UEs not attached get a result (the attached are the many)
    ue.state = EmmState.REGISTERED
    unattached = pop.results(unattached_only=True)
    assert len(unattached) == 999 and ue.usim.imsi not in {r.imsi for r in unattached}
    assert any(r.imsi == ue.usim.imsi and r.attached for r in pop.results())


def test_first_access_draws_against_the_broadcast_factor_without_building_the_ue() -> None:
    pop = Population(SubscriberRange(ENTRY)[:200], _enbs(), lazy=True, plmn=str(RESCUER),
                     home_plmn=str(HOME), seed=3)
    pop.members = [_Member(i, pop.enbs[i % 2], pop) for i in range(len(pop.subscribers))]
    for enb in pop.enbs:
        enb.set_barring(RESCUER, 0.0, 8)  # p00: every access barred (§5.3.3.11)
    outcomes = [pop.first_access(m) for m in pop.members]
    assert all(o is not None and o.reason == ACCESS_BARRED for o in outcomes)
    # Tbarring = (0.7 + 0.6 rand) x ac-BarringTime
    assert all(o is not None and o.wait_s is not None and 5.6 <= o.wait_s <= 10.4
               for o in outcomes)
    for enb in pop.enbs:
        enb.set_barring(RESCUER, 0.5, 8)
    passed = [m for m in pop.members if pop.first_access(m) is None]
    assert 60 <= len(passed) <= 140  # p50: about half pass
    assert not any(m.built for m in pop.members)
    for enb in pop.enbs:
        enb.set_barring(RESCUER, None)  # lifted: every access passes
    assert all(pop.first_access(m) is None for m in pop.members)


def test_an_admitted_attach_starts_without_a_second_draw() -> None:
    pop = Population(SubscriberRange(ENTRY)[:1], _enbs(1), lazy=True, plmn=str(RESCUER),
                     home_plmn=str(HOME))
    pop.members = [_Member(0, pop.enbs[0], pop)]
    member = pop.members[0]
    enb = pop.enbs[0].core
    enb.set_barring(RESCUER, 0.0, 8)
    cell = enb.system_information(pop._cell(member))  # type: ignore[arg-type]
    ue = member.ue
    barred = ue.handle(Attach(cell), 0.0)
    assert [a.reason for a in barred if hasattr(a, "reason")] == [ACCESS_BARRED]
    # the RRC layer admitted this access already: the Attach Request goes out
    started = ue.handle(Attach(cell, admitted=True), 0.0)
    assert any(isinstance(a, SendNas) for a in started)
    assert ue.state is EmmState.REGISTERED_INITIATED


def test_the_cell_of_a_first_access_is_the_cell_as_broadcast_now() -> None:
    """Under manual selection the cell is computed once per eNB and cell; a new SIB2 is read
    at the next access (TS 36.331 §5.2.1.3)."""
    pop = Population(SubscriberRange(ENTRY)[:20], _enbs(2), lazy=True, plmn=str(RESCUER),
                     home_plmn=str(HOME))
    pop.members = [_Member(i, pop.enbs[i % 2], pop) for i in range(20)]
    for factor in (0.0, 0.5):
        for enb in pop.enbs:
            enb.set_barring(RESCUER, factor, 8)
        for member in pop.members:
            cell = pop._cell(member)
            assert cell is not None
            assert pop._broadcast_cell(member) == member.enb.core.system_information(cell)
            assert pop._broadcast_cell(member).sib2 == member.enb.core.sib2  # type: ignore[union-attr]


def test_each_rescuer_has_enough_enbs_for_its_attached_roamers() -> None:
    """An attached roamer keeps its UE-associated S1 connection, and the MME serves at most
    `max_ue_contexts_per_enb` of them per eNB (TS 36.413 §8.6.2.1): a 100,000-UE storm on two
    eNBs per rescuer stopped at 3 x 2 x 4096 = 24,576 attached."""
    from corenet.config.models import MmeConfig
    from corenet.orchestration.storm_fleet import UES_PER_ENB, StormConfig

    limit = MmeConfig().max_ue_contexts_per_enb
    for ues, rescuers in ((100_000, 3), (20_000, 3), (2_000, 1), (1_000_000, 3)):
        cfg = StormConfig(ues=ues, rescuers=rescuers)
        assert cfg.enbs * min(UES_PER_ENB, limit) >= -(-ues // rescuers)
    assert StormConfig(ues=100, rescuers=1).enbs == 2
    assert StormConfig(ues=100_000, rescuers=3, enbs_per_rescuer=1).enbs == 1
    with pytest.raises(ValueError, match="add rescuers"):
        StormConfig(ues=10_000_000, rescuers=3)
