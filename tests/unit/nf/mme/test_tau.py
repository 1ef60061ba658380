"""Tracking area update at the MME (TS 24.301 §5.5.3.2; TS 23.401 §5.3.3.2 without S-GW
change), driven with encoded messages: "UE sends TRACKING AREA UPDATE REQUEST ... MME answers
TRACKING AREA UPDATE ACCEPT ... UE sends TRACKING AREA UPDATE COMPLETE"."""

from __future__ import annotations

from typing import Any

from corenet.codecs import nas, s1ap
from corenet.codecs.nas_ies import Guti, Tai
from corenet.codecs.ue_radio_capability import bands_of, ue_radio_capability
from corenet.config.models import MmeConfig, RoamingPolicyEntry

from .scenario import IMSI, MME_PLMN, Scenario, release_complete
from .test_emergency_attach import _complete_unauth, _emergency_attach, _finish


def _attached(mode: str = "full") -> tuple[Scenario, Guti]:
    cfg = MmeConfig(roaming={"policies": [RoamingPolicyEntry(home_plmn="44010", mode=mode)]})
    sc = Scenario(cfg=cfg)
    sc.s1_setup(tacs=(1, 2))
    _, accept = sc.attach()
    sc.received()  # EMM INFORMATION
    return sc, accept.fields["guti"]["value"]


def _go_idle(sc: Scenario) -> None:
    """The eNB releases the connection (TS 23.401 §5.3.5): the UE is ECM-IDLE."""
    sc.s1(s1ap.ue_context_release_request(sc.mme_ue_id or 0, sc.enb_ue_id,
                                          ("radioNetwork", "user-inactivity")))
    release_complete(sc)
    sc.mme_ue_id = None


def _tau_from_idle(sc: Scenario, guti: Guti, tac: int = 2, s_tmsi: bool = True,
                   **kw: Any) -> None:
    """A new RRC connection in TA `tac` whose first NAS message is the TAU request,
    integrity protected and not ciphered with the current context (§5.5.3.2.2)."""
    sc.enb_ue_id += 1
    pdu = sc.protect(nas.tracking_area_update_request(guti, ksi=sc.ksi, **kw), 1)
    sc.s1(s1ap.initial_ue_message(
        sc.enb_ue_id, pdu, MME_PLMN, tac, MME_PLMN, 0x1010,
        s_tmsi=(guti.mme_code, guti.m_tmsi) if s_tmsi else None))
    for m in sc.sent_s1():
        if "MME-UE-S1AP-ID" in m.fields:
            sc.mme_ue_id = m.fields["MME-UE-S1AP-ID"]


def _only(sc: Scenario, name: str) -> Any:
    (msg,) = sc.received()
    assert msg.name == name
    return msg


def test_tau_from_idle_accepted_with_tai_list_new_guti_t3412_then_released() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    _tau_from_idle(sc, guti, tac=2, last_visited_tai=Tai(MME_PLMN, 1))
    accept = _only(sc, "TrackingAreaUpdateAccept")
    assert accept.fields["mac_valid"] and accept.fields["security_header_type"] == 2
    assert accept.fields["eps_update_result"] == 0  # TA updated (§9.9.3.13)
    assert accept.fields["t3412_value"] == 3240
    assert accept.fields["tai_list"] == [Tai(MME_PLMN, 1), Tai(MME_PLMN, 2)]
    new = accept.fields["guti"]["value"]
    assert new != guti and new.mme_code == guti.mme_code  # reallocated (§5.5.3.2.4)
    assert ("T3450", sc.mme_ue_id) in sc.timers
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.tai == (MME_PLMN, 2)
    sc.uplink(sc.protect(nas.tracking_area_update_complete()))
    assert ("T3450", sc.mme_ue_id) not in sc.timers
    (cmd,) = sc.sent_s1()  # no active flag: the connection goes (TS 23.401 §5.3.3.2 step 21)
    assert cmd.name == "UEContextReleaseCommand"
    release_complete(sc)
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.guti == new
    assert sc.core.ue_by_guti(guti) is None  # the old GUTI is gone after the complete
    assert sc.core.ue_count() == 1


def test_periodic_tau_on_a_new_connection_found_by_old_guti_without_s_tmsi() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    _tau_from_idle(sc, guti, tac=1, s_tmsi=False, update_type=nas.PERIODIC_UPDATING)
    accept = _only(sc, "TrackingAreaUpdateAccept")
    assert accept.fields["mac_valid"]
    assert sc.core.ue_count() == 1  # the connection's own context went


def test_tau_with_active_flag_sets_up_the_bearer_with_the_stored_radio_capability() -> None:
    sc, guti = _attached()
    sc.s1(s1ap.ue_capability_info_indication(sc.mme_ue_id or 0, sc.enb_ue_id,
                                             ue_radio_capability((1, 3))))
    _go_idle(sc)
    _tau_from_idle(sc, guti, active=True)
    (ics,) = sc.sent_s1()
    assert ics.name == "InitialContextSetupRequest"
    assert bands_of(ics.fields["UERadioCapability"]) == [1, 3]  # TS 23.401 §5.11.2
    assert ics.fields["HandoverRestrictionList"]["servingPLMN"] == str(MME_PLMN)
    (accept,) = sc.received()
    assert accept.name == "TrackingAreaUpdateAccept"


def test_tau_with_unknown_guti_rejected_9() -> None:
    sc, _ = _attached()
    _go_idle(sc)
    stranger = Guti(MME_PLMN, 0x8001, 1, 0x0BADCAFE)
    sc.enb_ue_id += 1
    sc.uplink(nas.tracking_area_update_request(stranger))
    reject = _only(sc, "TrackingAreaUpdateReject")
    assert reject.fields["emm_cause"] == 9  # UE identity cannot be derived (§5.5.3.2.5)
    (cmd,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    assert cmd is not None


def test_tau_failing_the_integrity_check_rejected_9_and_context_kept() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    sc.enb_ue_id += 1
    pdu = bytearray(sc.protect(nas.tracking_area_update_request(guti), 1))
    pdu[2] ^= 0xFF  # the MAC
    sc.s1(s1ap.initial_ue_message(sc.enb_ue_id, bytes(pdu), MME_PLMN, 2, MME_PLMN, 0x1010,
                                  s_tmsi=(guti.mme_code, guti.m_tmsi)))
    (reject,) = [nas.decode(p) for p in sc.downlink_nas()]
    assert reject.name == "TrackingAreaUpdateReject" and reject.fields["emm_cause"] == 9
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.guti == guti  # nothing changed on an unverified request


def test_tau_of_a_context_no_longer_registered_rejected_10() -> None:
    sc, guti = _attached()
    # a new ATTACH REQUEST deregisters the context (TS 24.301 §5.5.1.2.7 d); its GUTI still
    # names it, and a TAU for it finds a UE the network holds detached
    sc.attach_request()
    sc.uplink(sc.protect(nas.tracking_area_update_request(guti, ksi=sc.ksi), 1))
    (reject,) = [nas.decode(p) for p in sc.downlink_nas()]
    assert reject.name == "TrackingAreaUpdateReject"
    assert reject.fields["emm_cause"] == 10  # implicitly detached (§5.5.3.2.5)


def test_emergency_only_ue_tai_list_is_the_current_ta() -> None:
    cfg = MmeConfig(roaming={"policies": [RoamingPolicyEntry(home_plmn="44010",
                                                             mode="emergency-unauth")]})
    sc = Scenario(cfg=cfg)
    sc.s1_setup(tacs=(1, 2))
    _emergency_attach(sc)
    _, csr = _complete_unauth(sc)
    _, attach_accept = _finish(sc, csr)
    guti = attach_accept.fields["guti"]["value"]
    _go_idle(sc)
    _tau_from_idle(sc, guti, tac=2)
    accept = _only(sc, "TrackingAreaUpdateAccept")
    assert accept.fields["tai_list"] == [Tai(MME_PLMN, 2)]


def test_tau_into_a_ta_the_roaming_policy_refuses_gets_its_cause_and_stays_registered() -> None:
    cfg = MmeConfig(roaming={"policies": [
        RoamingPolicyEntry(home_plmn="44010", mode="full", tacs=[1]),
        RoamingPolicyEntry(home_plmn="44010", mode="off", tacs=[2])]})
    sc = Scenario(cfg=cfg)
    sc.s1_setup(tacs=(1, 2))
    _, accept = sc.attach()
    sc.received()
    guti = accept.fields["guti"]["value"]
    _go_idle(sc)
    _tau_from_idle(sc, guti, tac=2)
    reject = _only(sc, "TrackingAreaUpdateReject")
    assert reject.fields["emm_cause"] == 13  # roaming not allowed in this TA (§5.5.3.2.5)
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.guti == guti  # still registered, nothing reallocated


def test_tau_accept_given_up_after_five_t3450_expiries_keeps_the_ue_registered() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    _tau_from_idle(sc, guti)
    new = _only(sc, "TrackingAreaUpdateAccept").fields["guti"]["value"]
    for _ in range(4):
        sc.expire("T3450", sc.mme_ue_id)
        assert _only(sc, "TrackingAreaUpdateAccept").fields["guti"]["value"] == new
    sc.expire("T3450", sc.mme_ue_id)  # §5.5.3.2.7 c: the fifth expiry aborts
    assert [m.name for m in sc.sent_s1()] == ["UEContextReleaseCommand"]
    release_complete(sc)
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.emm_state.value == "EMM-REGISTERED"
    assert sc.core.ue_by_guti(guti) is ue and sc.core.ue_by_guti(new) is ue
