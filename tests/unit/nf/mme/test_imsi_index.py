"""The MME's IMSI index (`MmeCore.by_imsi`) follows the UE contexts through attach, an
authenticated re-attach under a new GUTI that implicitly detaches the old context (TS 23.401
§5.3.2.1 step 3), detach (TS 24.301 §5.5.2.2), the implicit detach of an S-GW restart
(TS 23.007 §16.1.3) and an MME restart: the look-up by IMSI always finds what a scan of every
context finds."""

from __future__ import annotations

from corenet.codecs import gtpv2c, nas, s1ap
from corenet.nf.mme.context import ImsiIndex, Step
from corenet.nf.mme.core import MmeCore
from corenet.nf.mme.events import S11Received

from .scenario import IMSI, SGW_IP, attached_scenario, release_complete

IMEISV = "3534900000000101"


def scan(core: MmeCore, imsi: str) -> object:
    """The context a scan of every context finds: holding `imsi`, not claiming, not releasing."""
    return next((u for u in core.ues.values() if u.imsi == imsi and not u.imsi_claimed
                 and u.step is not Step.RELEASING), None)


def assert_consistent(core: MmeCore) -> None:
    held = {(u.imsi, u.mme_ue_id) for u in core.ues.values() if u.imsi is not None}
    indexed = {(imsi, ue_id) for imsi, ids in core.by_imsi.as_dict().items() for ue_id in ids}
    assert indexed == held
    assert all(core.by_imsi.as_dict().values())  # no empty entry left behind
    for imsi in {imsi for imsi, _ in held} | {IMSI}:
        assert core.ue_by_imsi(imsi) is scan(core, imsi)


def test_attach_indexes_the_imsi_and_detach_removes_it() -> None:
    sc = attached_scenario()
    assert_consistent(sc.core)
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.mme_ue_id == sc.mme_ue_id
    assert sc.core.by_imsi.as_dict() == {IMSI: (ue.mme_ue_id,)}
    sc.uplink(sc.protect(nas.detach_request(ksi=sc.ksi, imsi=IMSI)))
    (dsr,) = sc.sent_s11()
    sc.answer_s11(dsr, "DeleteSessionRequest")
    assert_consistent(sc.core)
    assert sc.core.ue_by_imsi(IMSI) is None  # releasing: no longer found
    release_complete(sc)
    assert sc.core.ue_count() == 0 and sc.core.by_imsi.as_dict() == {}
    assert_consistent(sc.core)


def test_reattach_under_a_new_guti_moves_the_index_to_the_new_context() -> None:
    sc = attached_scenario()
    old_id = sc.mme_ue_id
    assert old_id is not None
    old_guti = sc.core.ues[old_id].guti
    # the same UE on a new S1 connection, naming its IMSI: both contexts hold it, the
    # newcomer only claims it until security mode control completes
    sc.enb_ue_id, sc.mme_ue_id, sc.ue_sec = 8, None, None
    sc.security_mode()
    new_id = sc.mme_ue_id
    assert sc.core.by_imsi.holders(IMSI) == (old_id, new_id)
    assert sc.core.ue_by_imsi(IMSI) is sc.core.ues[old_id]
    assert_consistent(sc.core)
    sc.uplink(sc.protect(nas.security_mode_complete(IMEISV), 4))
    assert "emm.context.replaced" in sc.log_kinds()
    (ulr,) = sc.sent_s6a()
    new = sc.core.ue_by_imsi(IMSI)
    assert new is not None and new.mme_ue_id == new_id
    assert_consistent(sc.core)
    sc.s1(s1ap.ue_context_release_complete(old_id, 7))
    assert sc.core.by_imsi.as_dict() == {IMSI: (new_id,)}
    assert_consistent(sc.core)
    # the attach completes under a new GUTI; the index still names the new context
    sc.answer_ulr(ulr)
    (csr,) = sc.sent_s11()
    sc.answer_create_session(csr)
    new = sc.core.ues[new_id]
    assert new.guti is not None and new.guti != old_guti
    assert sc.core.ue_by_imsi(IMSI) is new
    assert_consistent(sc.core)


def test_implicit_detach_of_an_idle_ue_empties_the_index() -> None:
    sc = attached_scenario()
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None
    sc.feed(S11Received(gtpv2c.decode(gtpv2c.encode(gtpv2c.echo_request(77, 3))),
                        peer=(SGW_IP, 2123)))
    ue.enb_assoc = ue.enb_ue_id = None  # ECM-IDLE
    # another Recovery: the S-GW restarted (TS 23.007 §16.1.3), the idle UE is detached
    sc.feed(S11Received(gtpv2c.decode(gtpv2c.encode(gtpv2c.echo_request(78, 4))),
                        peer=(SGW_IP, 2123)))
    assert "mme.s11.sgw_restarted" in sc.log_kinds()
    assert sc.core.ue_by_imsi(IMSI) is None
    assert_consistent(sc.core)


def test_mme_restart_starts_from_an_empty_index() -> None:
    sc = attached_scenario()
    assert sc.core.by_imsi.as_dict()
    sc.core = MmeCore(sc.cfg)  # TS 23.007 §14.1: a restarted MME has lost its UE contexts
    assert sc.core.by_imsi.as_dict() == {} and sc.core.ue_by_imsi(IMSI) is None
    sc.enb_ue_id, sc.mme_ue_id, sc.ue_sec = 8, None, None
    sc.s1_setup()
    sc.attach()
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.mme_ue_id == sc.mme_ue_id
    assert_consistent(sc.core)


def test_the_index_keeps_its_holders_in_order_once_each() -> None:
    index = ImsiIndex()
    index.add(IMSI, 5)
    index.add(IMSI, 9)
    index.add(IMSI, 5)
    assert index.holders(IMSI) == (5, 9) and index.holders("440109999999999") == ()
    index.remove(IMSI, 5)
    assert index.as_dict() == {IMSI: (9,)}
    index.remove(IMSI, 7)
    index.remove(IMSI, 9)
    assert index.as_dict() == {} and index.holders(IMSI) == ()
