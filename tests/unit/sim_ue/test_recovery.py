"""Recovery of the simulated UEs and eNBs: the attach retries of TS 24.301 §5.5.1.2.6 (attach
attempt counter, T3411, T3402) and the eNB re-opening a lost S1 association and redoing S1 Setup
(TS 36.413 §8.7.3, Time to wait honoured)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from corenet.codecs import nas, s1ap
from corenet.config.models import EnbConfig
from corenet.core.actions import StartTimer, StopTimer, TimerExpired
from corenet.core.plmn import Plmn
from sim_ue.enb import (
    RRC_FAILURE_TIMER,
    EnbCore,
    S1apReceived,
    S1Closed,
    S1Connected,
    SendS1ap,
    ToUe,
)
from sim_ue.runner import Population
from sim_ue.ue import (
    Attach,
    ConnectionReleased,
    EmmState,
    EmmSubstate,
    NasReceived,
    ProcedureDone,
    SendNas,
    Ue,
    UeTimers,
)
from sim_ue.usim import Usim
from tests.unit.sim_ue import memnet
from tests.unit.sim_ue.core_s1 import CoreS1Server
from tests.unit.sim_ue.test_runner import _enbs, _subs
from tests.unit.sim_ue.test_ue import CELL, IMSI

K, OPC = bytes.fromhex(memnet.K), bytes.fromhex(memnet.OPC)
RESCUER = Plmn("440", "20")

TIMERS = UeTimers(t3410_s=3.0, t3411_s=0.05, t3402_s=0.2)


def _ue() -> Ue:
    return Ue(Usim(IMSI, K, OPC, msisdn="819010000001"), timers=TIMERS)


def _attach_requests(actions: list[Any]) -> list[Any]:
    return [nas.decode(a.pdu) for a in actions if isinstance(a, SendNas)]


def _timers(actions: list[Any]) -> list[tuple[str, float]]:
    return [(a.name, a.seconds) for a in actions if isinstance(a, StartTimer)]


def _done(actions: list[Any]) -> list[ProcedureDone]:
    return [a for a in actions if isinstance(a, ProcedureDone)]


@pytest.mark.parametrize("reject", [nas.attach_reject(17), nas.attach_reject(19),
                                    nas.attach_reject(22)])
def test_abnormal_reject_retries_after_t3411(reject: bytes) -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    out = ue.handle(NasReceived(reject), 1.0)
    assert _timers(out) == [("T3411", 0.05)]
    assert StopTimer("T3410", IMSI) in out
    assert _done(out) == []  # the attach goes on (§5.5.1.2.6 d)
    assert (ue.state, ue.substate) == (EmmState.DEREGISTERED, EmmSubstate.ATTEMPTING_TO_ATTACH)
    ue.handle(ConnectionReleased(), 1.0)  # the MME releases the connection after the reject
    retry = ue.handle(TimerExpired("T3411", IMSI), 2.0)
    (req,) = _attach_requests(retry)
    assert req.name == "AttachRequest" and req.fields["eps_mobile_identity"]["value"] == IMSI
    assert ue.state is EmmState.REGISTERED_INITIATED


def test_five_failures_start_t3402_then_the_ue_attaches_again() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    for attempt in range(1, 5):
        out = ue.handle(NasReceived(nas.attach_reject(17)), float(attempt))
        assert _timers(out) == [("T3411", 0.05)]
        assert _attach_requests(ue.handle(TimerExpired("T3411", IMSI), float(attempt)))
    out = ue.handle(NasReceived(nas.attach_reject(17)), 5.0)
    assert _timers(out) == [("T3402", 0.2)]
    (done,) = _done(out)
    assert not done.ok and done.cause == 17 and "T3402" in done.reason
    assert ue.retry_timer == "T3402"
    assert _attach_requests(ue.handle(TimerExpired("T3411", IMSI), 5.1)) == []  # stale
    (again,) = _attach_requests(ue.handle(TimerExpired("T3402", IMSI), 5.2))
    assert again.name == "AttachRequest"
    # a new attempt counter: the next failure waits T3411 again
    assert _timers(ue.handle(NasReceived(nas.attach_reject(17)), 6.0)) == [("T3411", 0.05)]


def test_protocol_error_causes_set_the_counter_to_five() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    out = ue.handle(NasReceived(nas.attach_reject(96)), 1.0)
    assert _timers(out) == [("T3402", 0.2)]


def test_handled_reject_causes_do_not_retry() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    out = ue.handle(NasReceived(nas.attach_reject(15)), 1.0)
    assert _timers(out) == [] and _done(out)[0].cause == 15
    assert ue.retry_timer is None


def test_release_before_the_accept_is_a_lower_layer_failure() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    out = ue.handle(ConnectionReleased(), 1.0)
    assert _timers(out) == [("T3411", 0.05)] and StopTimer("T3410", IMSI) in out
    assert ue.substate is EmmSubstate.ATTEMPTING_TO_ATTACH
    assert _attach_requests(ue.handle(TimerExpired("T3411", IMSI), 2.0))


def _enb_core() -> tuple[EnbCore, Ue]:
    cfg = EnbConfig(name="enb1", global_enb_id=0x101, tac=1, broadcast_plmns=["44020"])
    core = EnbCore(cfg)
    ue = _ue()
    core.add_ue(ue, 42)
    core.handle(S1Connected(), 0.0)
    core.handle(S1apReceived(s1ap.encode(s1ap.s1_setup_response("mme", [RESCUER], 1, 1))), 0.0)
    return core, ue


def test_lost_association_releases_the_ues_connections() -> None:
    core, ue = _enb_core()
    out = core.handle(ToUe(IMSI, Attach(core.cells[0].camp(RESCUER))), 0.0)
    assert [s1ap.decode(a.data).name for a in out if isinstance(a, SendS1ap)] == ["InitialUEMessage"]
    out = core.handle(S1Closed(), 1.0)
    assert ("T3411", 0.05) in _timers(out)
    assert ue.substate is EmmSubstate.ATTEMPTING_TO_ATTACH
    assert not core.ues[IMSI].connected


def test_no_rrc_connection_without_s1() -> None:
    core, ue = _enb_core()
    core.handle(S1Closed(), 0.0)
    out = core.handle(ToUe(IMSI, Attach(core.cells[0].camp(RESCUER))), 1.0)
    assert not any(isinstance(a, SendS1ap) for a in out)  # nothing for the MME
    assert (RRC_FAILURE_TIMER, 0.0) in _timers(out)
    out = core.handle(TimerExpired(RRC_FAILURE_TIMER, IMSI), 1.0)
    assert ("T3411", 0.05) in _timers(out)
    assert ue.substate is EmmSubstate.ATTEMPTING_TO_ATTACH


# ------------------------------------------------------------------ over loopback


def _population(host: str, port: int, n: int, enbs: int = 2) -> Population:
    return Population(_subs(n), _enbs(host, port, enbs), seed=1, sctp_mode="fallback",
                      timeout=20.0, info_wait=0.0, ue_timers=TIMERS, reconnect_s=0.05,
                      reconnect_max_s=0.2)


async def test_ues_rejected_17_retry_until_attached() -> None:
    mme = CoreS1Server(_subs(4))
    mme.net.air_failures = 6  # TS 29.272 Annex A: 4181 gives the UE #17 network failure
    host, port = await mme.start()
    try:
        async with _population(host, port, 4) as pop:
            results = await pop.attach()
    finally:
        mme.close()
    assert all(r.attached for r in results), results
    assert mme.seen.count("AttachRequest") == 4 + 6


async def test_enbs_redo_s1_setup_and_ues_attach_after_the_mme_restarts() -> None:
    mme = CoreS1Server(_subs(6))
    mme.lose_security_mode_complete = True  # every attach stalls midway
    host, port = await mme.start()
    try:
        async with _population(host, port, 6) as pop:
            attaching = asyncio.ensure_future(pop.attach())
            for _ in range(400):
                if mme.seen.count("SecurityModeComplete") == 6:
                    break
                await asyncio.sleep(0.01)
            assert mme.seen.count("SecurityModeComplete") == 6
            await mme.crash()
            # a new MME on the same address, refusing the first S1 Setup with Time to wait
            mme.lose_security_mode_complete, mme.refuse_setup_wait = False, "v1s"
            await mme.start(port)
            results = await attaching
    finally:
        mme.close()
    assert all(r.attached for r in results), results
    # 2 initial setups, 1 refused with Time to wait and retried after it, 1 accepted at once
    assert mme.seen.count("S1SetupRequest") == 5
    logs = [e.kind for enb in pop.enbs for e in enb.log]
    assert logs.count("s1.reconnected") == 2 and logs.count("s1.setup.failed") == 1
    assert logs.count("s1.setup.succeeded") == 4


def test_retransmitted_authentication_request_gets_the_stored_res() -> None:
    """TS 24.301 §5.4.2.3: the same RAND again is answered with the stored RES, without a
    second USIM run (which would refuse the SQN and report a synch failure)."""
    from tests.unit.sim_ue.test_ue import Network

    ue, net = _ue(), Network()
    ue.handle(Attach(CELL), 0.0)
    request = net.auth_request()
    first = _attach_requests(ue.handle(NasReceived(request), 1.0))
    again = _attach_requests(ue.handle(NasReceived(request), 7.0))
    assert [m.name for m in again] == ["AuthenticationResponse"]
    assert again[0].fields["authentication_response_parameter"] == net.xres
    assert first[0].fields == again[0].fields
