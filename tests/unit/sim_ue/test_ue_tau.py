"""The UE's tracking area update (TS 24.301 §5.5.3.2), driven with network messages built by
the codecs: when it starts, what it sends, and what accept and reject do to it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from corenet.codecs import nas
from corenet.codecs.nas_ies import Guti, Tai
from corenet.core.actions import StartTimer, TimerExpired
from sim_ue.ue import (
    CellChanged,
    ConnectionReleased,
    EmmState,
    EmmSubstate,
    NasReceived,
    ProcedureDone,
    Ue,
)
from tests.unit.sim_ue.test_ue import CELL, GUTI, RESCUER, Network, _one, _register, _ue


def _registered_idle() -> tuple[Ue, Network, list[Any]]:
    ue, net = _ue(), Network()
    _register(ue, net)
    return ue, net, ue.handle(ConnectionReleased(), 0.0)


def _tau_request(ue: Ue, net: Network, actions: list[Any]) -> Any:
    req = net.up(_one(actions))
    assert req.name == "TrackingAreaUpdateRequest"
    assert req.fields["security_header_type"] == 1  # integrity only, new connection
    assert ue.state is EmmState.TRACKING_AREA_UPDATING_INITIATED
    return req


def test_t3412_starts_in_idle_and_its_expiry_sends_a_periodic_update() -> None:
    ue, net, out = _registered_idle()
    assert [a.seconds for a in out if isinstance(a, StartTimer) and a.name == "T3412"] == [3240]
    req = _tau_request(ue, net, ue.handle(TimerExpired("T3412", ue.key), 3240.0))
    assert req.fields["eps_update_type"] & 0x7 == nas.PERIODIC_UPDATING
    assert req.fields["old_guti"]["value"] == GUTI
    assert req.fields["last_visited_registered_tai"] == Tai(RESCUER, 1)


def test_moving_out_of_the_tai_list_updates_and_accept_takes_the_new_guti() -> None:
    ue, net, _ = _registered_idle()
    assert ue.handle(CellChanged(replace(CELL, tac=2)), 0.0) == []  # TA 2 is in the list
    req = _tau_request(ue, net, ue.handle(CellChanged(replace(CELL, tac=3)), 0.0))
    assert req.fields["eps_update_type"] & 0x7 == nas.TA_UPDATING
    new = Guti(RESCUER, 0x8001, 1, 0xC0FFEE02)
    out = ue.handle(NasReceived(net.down(nas.tracking_area_update_accept(
        guti=new, tai_list=[Tai(RESCUER, 3)], t3412=600))), 0.0)
    assert net.up(_one(out)).name == "TrackingAreaUpdateComplete"
    assert ue.state is EmmState.REGISTERED and ue.guti == new and ue.t3412_s == 600
    assert ue.tai_list == [Tai(RESCUER, 3)]
    assert [d.ok for d in out if isinstance(d, ProcedureDone)] == [True]


def test_reject_9_makes_the_ue_attach_again() -> None:
    ue, net, _ = _registered_idle()
    ue.handle(TimerExpired("T3412", ue.key), 3240.0)
    out = ue.handle(NasReceived(nas.tracking_area_update_reject(9)), 0.0)
    assert ue.guti is None and ue.state is EmmState.REGISTERED_INITIATED
    assert nas.decode(_one(out)).name == "AttachRequest"


def test_reject_13_forbids_the_ta_and_keeps_the_ue_registered_in_limited_service() -> None:
    ue, net, _ = _registered_idle()
    ue.handle(CellChanged(replace(CELL, tac=3)), 0.0)
    out = ue.handle(NasReceived(nas.tracking_area_update_reject(13)), 0.0)
    assert [d.cause for d in out if isinstance(d, ProcedureDone)] == [13]
    assert ue.state is EmmState.REGISTERED and ue.substate is EmmSubstate.LIMITED_SERVICE
    assert ue.forbidden_tais_roaming == [Tai(RESCUER, 3)] and ue.guti == GUTI
