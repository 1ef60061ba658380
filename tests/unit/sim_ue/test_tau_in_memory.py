"""Tracking area update with the real cores in memory (`memnet`): sim_ue's UE moves to a TA
outside its TAI list, or its T3412 expires, and updates (TS 24.301 §5.5.3.2; TS 23.401
§5.3.3.2); a restarted MME that lost the context rejects with #9 and the UE attaches again."""

from __future__ import annotations

from corenet.codecs import s1ap
from corenet.config.models import CorenetConfig
from corenet.core.plmn import Plmn
from corenet.nf.mme.context import EmmState as MmeEmmState
from sim_ue.selection import camp
from sim_ue.ue import CellChanged, EmmState, Ue

from .memnet import MemNet, subscribers


def _network(mode: str = "full", t3412_s: int = 3240) -> MemNet:
    data = CorenetConfig().model_dump(mode="json")
    data["mme"]["roaming"]["policies"][0]["mode"] = mode
    data["mme"]["t3412_s"] = t3412_s
    net = MemNet(CorenetConfig.model_validate(data))
    net.add_enbs()
    return net


def _idle(net: MemNet, ue: Ue) -> None:
    """The eNB releases the UE's connection (user inactivity, TS 36.413 §8.3.2)."""
    ctx = net.mme.ue_by_imsi(ue.usim.imsi)
    assert ctx is not None and ctx.enb_ue_id is not None
    req = s1ap.ue_context_release_request(ctx.mme_ue_id, ctx.enb_ue_id,
                                          ("radioNetwork", "user-inactivity"))
    net.from_enb(1, s1ap.encode(req), 1, net.now)
    assert ctx.enb_assoc is None


def _move_to_enb2(net: MemNet, ue: Ue) -> None:
    """The UE reselects enb2's cell (TAC 2)."""
    net.enbs[2].add_ue(ue, 200)
    net.ues[ue.key] = (2, ue)
    net.to_ue(ue, CellChanged(camp(net.enbs[2].cells, Plmn.parse("44020"))))


def _tau_done(net: MemNet) -> list[bool]:
    return [d.ok for _, _, d in net.done if d.procedure == "tau"]


def test_emergency_ue_moving_out_of_its_tai_list_updates() -> None:
    net = _network("emergency-auth")
    (ue,) = net.add_ues(subscribers(1))
    net.dial(ue)
    net.run(until=lambda: ue.state is EmmState.REGISTERED)
    assert [t.tac for t in ue.tai_list] == [1]  # emergency-only: the current TA only
    old_guti = ue.guti
    _idle(net, ue)
    _move_to_enb2(net, ue)
    net.run(until=lambda: bool(_tau_done(net)))
    assert _tau_done(net) == [True]
    assert ue.state is EmmState.REGISTERED and [t.tac for t in ue.tai_list] == [2]
    ctx = net.mme.ue_by_imsi(ue.usim.imsi)
    assert ctx is not None and ctx.emm_state is MmeEmmState.REGISTERED
    assert ctx.tai[1] == 2 and ctx.guti == ue.guti != old_guti
    assert "emm.tau.completed" in net.kinds("mme")


def test_periodic_tau_on_t3412_expiry() -> None:
    net = _network("full", t3412_s=60)
    (ue,) = net.add_ues(subscribers(1))
    net.attach(ue)
    net.run(until=lambda: ue.network_name is not None)
    assert ue.t3412_s == 60  # from the Attach Accept (TS 24.301 §8.2.1)
    _idle(net, ue)
    net.run(until=lambda: bool(_tau_done(net)), max_s=70)
    assert _tau_done(net) == [True]
    (req,) = [e for e in net.logs if e.kind == "emm.tau.request" and e.node == "mme"]
    assert req.data["update_type"] == 3  # periodic updating (TS 24.301 §9.9.3.14)
    ctx = net.mme.ue_by_imsi(ue.usim.imsi)
    assert ctx is not None and ctx.guti == ue.guti


def test_tau_to_a_restarted_mme_is_rejected_9_and_the_ue_attaches_again() -> None:
    net = _network("full", t3412_s=60)
    (ue,) = net.add_ues(subscribers(1))
    net.attach(ue)
    net.run(until=lambda: ue.network_name is not None)
    _idle(net, ue)
    net.restart_mme()  # the UE's context is gone with the old MME
    net.reconnect_enbs()
    net.run(until=lambda: _tau_done(net) != [] and ue.state is EmmState.REGISTERED,
            max_s=120)
    rejected = [e for e in net.logs if e.kind == "emm.tau.rejected" and e.node == "mme"]
    assert [e.data["emm_cause"] for e in rejected] == [9]  # TS 24.301 §5.5.3.2.5
    assert _tau_done(net) == [False]
    ctx = net.mme.ue_by_imsi(ue.usim.imsi)  # attached again (§5.5.3.2.5: #9)
    assert ctx is not None and ctx.emm_state is MmeEmmState.REGISTERED
    assert ctx.guti == ue.guti
