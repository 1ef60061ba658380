"""ACB per PLMN end to end without sockets: the eNB emulator's SIB2 (pycrate RRCLTE), decoded by
every sim UE, which applies TS 36.331 §5.3.3.11 before its attach; T3346 of TS 24.301."""

from __future__ import annotations

import random

from corenet.codecs import nas
from corenet.config.models import EnbConfig
from corenet.core.actions import StartTimer, TimerExpired
from corenet.core.plmn import Plmn
from sim_ue.enb import EnbCore, SendS1ap, ToUe, UeDone
from sim_ue.ue import (
    ACCESS_BARRED,
    T3346_RUNNING,
    Attach,
    ConnectionReleased,
    EmmState,
    NasReceived,
    ProcedureDone,
    SendNas,
    Ue,
    access_class_of,
)
from sim_ue.usim import Usim

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
RESCUER = Plmn.parse("44020")
OTHER = Plmn.parse("44030")


def _usim(i: int, plmn: str = "44010") -> Usim:
    return Usim(imsi=f"{plmn}{i:010d}", k=K, opc=OPC)


def _enb(plmns: list[str]) -> EnbCore:
    return EnbCore(EnbConfig(name="enb1", global_enb_id=1, tac=1, broadcast_plmns=plmns))


def _try(enb: EnbCore, ue: Ue, plmn: Plmn = RESCUER) -> ProcedureDone | None:
    """One access attempt through the eNB: the ProcedureDone of a barred access, else None
    (an Initial UE Message left for the MME)."""
    out = enb.handle(ToUe(ue.key, Attach(enb.cells[0].camp(plmn))), 0.0)
    done = [a.done for a in out if isinstance(a, UeDone)]
    if done:
        return done[0]
    assert any(isinstance(a, SendS1ap) for a in out)
    return None


def _population(enb: EnbCore, n: int, seed: int = 3) -> list[Ue]:
    ues = []
    for i in range(n):
        ue = Ue(_usim(i), rng=random.Random(f"{seed}:{i}"))
        enb.add_ue(ue, i + 1)
        ues.append(ue)
    return ues


def test_barred_fraction_matches_factor_within_tolerance() -> None:
    """2,000 UEs on PLMN index 2 with p30 for it: 70 % barred within +-4 points (binomial
    sigma ~1 point)."""
    enb = _enb(["44030", "44020"])
    enb.set_barring(RESCUER, 0.3, 32)
    ues = _population(enb, 2000)
    barred = [d for d in (_try(enb, ue) for ue in ues) if d is not None]
    assert all(d.reason == ACCESS_BARRED and not d.ok for d in barred)
    assert abs(len(barred) / 2000 - 0.70) < 0.04
    # Tbarring = (0.7 + 0.6 rand) x ac-BarringTime
    waits = [d.wait_s for d in barred]
    assert all(w is not None and 0.7 * 32 <= w <= 1.3 * 32 for w in waits)
    assert abs(sum(w for w in waits if w) / len(waits) - 32) < 1.0
    # barred UEs stayed idle and deregistered; the others sent an Attach Request
    assert sum(ue.state is EmmState.REGISTERED_INITIATED for ue in ues) == 2000 - len(barred)


def test_barring_is_per_plmn_and_can_be_lifted() -> None:
    enb = _enb(["44030", "44020"])
    enb.set_barring(RESCUER, 0.0, 4)
    sib2 = enb.sib2
    ues = _population(enb, 50)
    # the other PLMN of the cell has no entry and no common barring: never barred
    assert all(_try(enb, ue, OTHER) is None for ue in ues[:25])
    assert all(_try(enb, ue) is not None for ue in ues[25:])
    enb.set_barring(RESCUER, None)
    assert enb.sib2 != sib2
    assert all(_try(enb, ue) is None for ue in ues[25:])


def test_same_seed_same_draws() -> None:
    outcomes = []
    for _ in range(2):
        enb = _enb(["44020"])
        enb.set_barring(RESCUER, 0.5, 16)
        outcomes.append([_try(enb, ue) is None for ue in _population(enb, 200, seed=9)])
    assert outcomes[0] == outcomes[1]
    assert 60 < sum(outcomes[0]) < 140


def test_access_class_from_last_imsi_digit() -> None:
    assert [access_class_of(f"44010000000000{d}") for d in range(10)] == list(range(10))
    assert Ue(_usim(7)).access_classes == (7,)


def test_special_access_class_not_barred_in_home_plmn() -> None:
    """TS 22.011 §4.3.1 / TS 36.331 §5.3.3.11: a valid AC 11 with its ac-BarringForSpecialAC
    bit zero is not barred (AC 11 is valid in the HPLMN only)."""
    enb = _enb(["44020"])
    enb.set_barring(RESCUER, 0.0, 4)
    home = Ue(_usim(1, "44020"), special_access_classes=(11,))
    roamer = Ue(_usim(2), special_access_classes=(11,))
    enb.add_ue(home, 1)
    enb.add_ue(roamer, 2)
    assert _try(enb, home) is None
    assert _try(enb, roamer) is not None


def test_t3346_from_attach_reject_is_obeyed() -> None:
    """TS 24.301 §5.5.1.2.5: Attach Reject #22 with T3346: T3346 started, no attach until it
    expires."""
    enb = _enb(["44020"])
    ue = Ue(_usim(5))
    enb.add_ue(ue, 1)
    assert _try(enb, ue) is None
    reject = nas.attach_reject(22, t3346=120)
    out = ue.handle(NasReceived(reject), 1.0)
    timers = [a for a in out if isinstance(a, StartTimer) and a.name == "T3346"]
    assert timers and timers[0].seconds == 120.0
    done = [a for a in out if isinstance(a, ProcedureDone)]
    assert done[0].cause == 22 and done[0].wait_s == 120.0
    ue.handle(ConnectionReleased(), 2.0)  # TS 23.401 §5.3.2.1: released after the reject
    blocked = _try(enb, ue)
    assert blocked is not None and blocked.reason == T3346_RUNNING
    ue.handle(TimerExpired("T3346", ue.key), 121.0)
    out = ue.handle(Attach(enb.cells[0].camp(RESCUER, enb.sib2)), 121.0)
    assert any(isinstance(a, SendNas) for a in out)


def test_reject_without_t3346_starts_no_backoff() -> None:
    ue = Ue(_usim(6))
    enb = _enb(["44020"])
    enb.add_ue(ue, 1)
    _try(enb, ue)
    out = ue.handle(NasReceived(nas.attach_reject(17)), 1.0)
    assert not any(isinstance(a, StartTimer) and a.name == "T3346" for a in out)
    assert not ue.t3346_running
