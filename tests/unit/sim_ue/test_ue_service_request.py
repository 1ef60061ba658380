"""The UE's service request (TS 24.301 §5.6.1), driven with network messages built by the
codecs: what it sends from ECM-IDLE, when it is done, and what each SERVICE REJECT does."""

from __future__ import annotations

from typing import Any

from corenet.codecs import nas
from corenet.codecs.nas_ies import Tai
from corenet.core.actions import StartTimer, TimerExpired
from sim_ue.ue import (
    ConnectionReleased,
    EcmState,
    EmmState,
    EmmSubstate,
    NasReceived,
    ProcedureDone,
    RadioBearersSetUp,
    ReleaseConnection,
    RequestPdn,
    SendNas,
    ServiceRequest,
    Ue,
)
from tests.unit.sim_ue.test_ue import GUTI, RESCUER, Network, _one, _register, _ue


def _idle() -> tuple[Ue, Network]:
    ue, net = _ue(), Network()
    _register(ue, net)
    ue.handle(ConnectionReleased(), 0.0)
    return ue, net


def _done(out: list[Any], procedure: str = "service") -> list[ProcedureDone]:
    return [a for a in out if isinstance(a, ProcedureDone) and a.procedure == procedure]


def test_service_request_from_idle_carries_the_short_mac_and_the_s_tmsi() -> None:
    ue, net = _idle()
    assert net.ctx is not None
    count = ue.ctx.ul_count.value  # type: ignore[union-attr]
    out = ue.handle(ServiceRequest(), 0.0)
    (send,) = [a for a in out if isinstance(a, SendNas)]
    assert send.s_tmsi == (GUTI.mme_code, GUTI.m_tmsi) and send.rrc_cause == "mo-Data"
    msg = nas.decode(send.pdu)
    assert msg.name == "ServiceRequest"
    assert msg.fields["nas_key_set_identifier"] == 1
    assert msg.fields["sequence_number"] == count & 0x1F
    # §9.9.3.28: the 2 LSBs of the NAS-MAC over the first two octets, uplink count `count`
    assert msg.fields["short_mac"] == net.ctx.mac(nas.UPLINK, count, send.pdu[:2])[2:4]
    assert [a.name for a in out if isinstance(a, StartTimer)] == ["T3417"]
    assert ue.state is EmmState.SERVICE_REQUEST_INITIATED and ue.ecm is EcmState.CONNECTED
    out = ue.handle(RadioBearersSetUp((5,)), 0.0)
    assert [d.ok for d in _done(out)] == [True]
    assert ue.state is EmmState.REGISTERED


def test_pdn_request_in_idle_waits_for_the_bearers() -> None:
    ue, net = _idle()
    out = ue.handle(RequestPdn(emergency=True), 0.0)
    assert nas.decode(_one(out)).name == "ServiceRequest"
    out = ue.handle(RadioBearersSetUp((5,)), 0.0)
    assert net.up(_one(out)).name == "PDNConnectivityRequest"


def test_reject_22_starts_t3346_and_no_request_until_it_expires() -> None:
    ue, net = _idle()
    ue.handle(ServiceRequest(), 0.0)
    out = ue.handle(NasReceived(nas.service_reject(22, t3346=40)), 0.0)
    (done,) = _done(out)
    assert (done.ok, done.cause, done.wait_s) == (False, 22, 40.0)
    assert ue.state is EmmState.REGISTERED
    ue.handle(ConnectionReleased(), 0.0)
    (again,) = _done(ue.handle(ServiceRequest(), 1.0))
    assert not again.ok and again.reason == "T3346 running"
    ue.handle(TimerExpired("T3346", ue.key), 40.0)
    assert nas.decode(_one(ue.handle(ServiceRequest(), 40.0))).name == "ServiceRequest"


def test_reject_13_forbids_the_ta_the_ue_stays_registered() -> None:
    ue, _ = _idle()
    ue.handle(ServiceRequest(), 0.0)
    out = ue.handle(NasReceived(nas.service_reject(13)), 0.0)
    assert [d.cause for d in _done(out)] == [13]
    assert ue.state is EmmState.REGISTERED and ue.substate is EmmSubstate.LIMITED_SERVICE
    assert ue.forbidden_tais_roaming == [Tai(RESCUER, 1)] and ue.guti == GUTI


def test_reject_10_the_ue_attaches_again_once_released() -> None:
    ue, _ = _idle()
    ue.handle(ServiceRequest(), 0.0)
    out = ue.handle(NasReceived(nas.service_reject(10)), 0.0)
    assert [d.cause for d in _done(out)] == [10] and ue.guti is None and ue.pdn is None
    assert ue.state is EmmState.DEREGISTERED
    out = ue.handle(ConnectionReleased(), 0.0)
    attach = nas.decode(_one(out))
    assert attach.name == "AttachRequest"
    assert attach.fields["eps_mobile_identity"]["type"] == "imsi"


def test_t3417_expiry_aborts_and_releases_locally() -> None:
    ue, _ = _idle()
    ue.handle(ServiceRequest(), 0.0)
    out = ue.handle(TimerExpired("T3417", ue.key), 5.0)
    assert any(isinstance(a, ReleaseConnection) for a in out)
    assert [d.ok for d in _done(out)] == [False]
    assert ue.state is EmmState.REGISTERED and ue.ecm is EcmState.IDLE
