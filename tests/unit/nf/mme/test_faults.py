"""Faults at the MME core: wrong RES, synch and MAC failures, bad MAC, malformed NAS and S1AP,
S6a errors and timeouts, NAS timer give-up, detach, eNB loss. Nothing may leak."""

from __future__ import annotations

import pytest

from corenet.codecs import diameter, nas, s1ap, s6a
from corenet.core.actions import TimerExpired
from corenet.crypto import milenage
from corenet.nf.mme.causes import emm_cause_for_s6a
from corenet.nf.mme.events import S1apReceived, S1Down, S6aAnswer, S6aFailed

from .scenario import IMSI, MME_PLMN, Scenario


def _attached() -> Scenario:
    sc = Scenario()
    sc.s1_setup()
    sc.attach()
    sc.received()  # EMM Information
    return sc


def _release(sc: Scenario) -> None:
    (cmd,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    ids = cmd.fields["UE-S1AP-IDs"][1]
    sc.s1(s1ap.ue_context_release_complete(ids["mME-UE-S1AP-ID"], ids["eNB-UE-S1AP-ID"]))


def test_wrong_res_gets_authentication_reject_and_release() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.uplink(nas.authentication_response(bytes(8)))
    (reject,) = sc.received()
    assert reject.name == "AuthenticationReject"
    (cmd,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    assert cmd.fields["Cause"] == ("nas", "authentication-failure")
    _release(sc)
    assert sc.core.ue_count() == 0
    assert sc.timers == {}


def test_synch_failure_sends_air_with_resynchronization_info() -> None:
    sc = Scenario()
    sc.s1_setup()
    auth = sc.authenticate()
    rand = auth.fields["authentication_parameter_rand"]
    auts = milenage.build_auts(sc.usim, rand, milenage.int_to_sqn(1000))
    sc.uplink(nas.authentication_failure(21, auts))
    (air,) = sc.sent_s6a()
    info = diameter.avp(air, "Requested-EUTRAN-Authentication-Info", "Re-Synchronization-Info")
    assert info == rand + auts
    sc.sqn = 1032
    sc.answer_air(air)
    (again,) = sc.received()
    assert again.name == "AuthenticationRequest"
    assert again.fields["authentication_parameter_rand"] != rand
    sc.uplink(sc.ue_response(again))
    (smc,) = sc.downlink_nas()
    assert nas.decode(smc).name == "SecurityModeCommand"


def test_second_synch_failure_is_rejected() -> None:
    sc = Scenario()
    sc.s1_setup()
    auth = sc.authenticate()
    auts = milenage.build_auts(sc.usim, auth.fields["authentication_parameter_rand"],
                               milenage.int_to_sqn(1000))
    sc.uplink(nas.authentication_failure(21, auts))
    (air,) = sc.sent_s6a()
    sc.answer_air(air)
    sc.uplink(nas.authentication_failure(21, auts))
    (reject,) = sc.received()
    assert reject.name == "AuthenticationReject"


def test_mac_failure_identifies_then_rejects_the_second_time() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.uplink(nas.authentication_failure(20))
    (ident,) = sc.received()
    assert ident.name == "IdentityRequest" and ident.fields["identity_type"] == 1
    assert ("T3470", sc.mme_ue_id) in sc.timers
    sc.uplink(nas.identity_response(imsi=IMSI))
    (air,) = sc.sent_s6a()
    sc.answer_air(air)
    sc.uplink(nas.authentication_failure(20))
    (reject,) = sc.received()
    assert reject.name == "AuthenticationReject"


def test_unknown_guti_triggers_identification() -> None:
    sc = Scenario()
    sc.s1_setup()
    guti = nas.Guti(MME_PLMN, 0x8001, 1, 0xABCDEF)
    esm = nas.pdn_connectivity_request(pti=1)
    sc.uplink(nas.attach_request(guti=guti, esm_container=esm))
    (ident,) = sc.received()
    assert ident.name == "IdentityRequest"
    sc.uplink(nas.identity_response(imsi=IMSI))
    (air,) = sc.sent_s6a()
    assert diameter.avp(air, "User-Name") == IMSI


def test_bad_mac_is_discarded() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.security_mode()
    good = sc.protect(nas.security_mode_complete("3534900000000101"), 4)
    bad = good[:1] + bytes(b ^ 0xFF for b in good[1:5]) + good[5:]
    sc.uplink(bad)
    assert sc.sent_s1() == [] and sc.sent_s6a() == []
    assert "nas.discarded" in sc.log_kinds()
    sc.uplink(good)  # the genuine one still goes through
    (ulr,) = sc.sent_s6a()
    assert ulr.name == "ULR"


def test_plain_message_after_security_is_discarded() -> None:
    sc = _attached()
    sc.uplink(nas.emm_status(111))
    assert sc.sent_s1() == []
    assert sc.log_kinds()[-1] == "nas.discarded"


@pytest.mark.parametrize(("pdu", "cause"), [
    (bytes([0x07, 0x7F]), 97),  # message type non-existent
    (bytes([0x07, 0x41, 0x71]), 96),  # attach request cut short: mandatory IEs missing
])
def test_malformed_nas_gets_emm_status(pdu: bytes, cause: int) -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.uplink(pdu)
    (status,) = sc.received()
    assert status.name == "EMMStatus"
    assert status.fields["emm_cause"] == cause


def test_unexpected_nas_message_gets_status_98() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.uplink(nas.identity_response(imsi=IMSI))
    (status,) = sc.received()
    assert status.name == "EMMStatus" and status.fields["emm_cause"] == 98


def test_malformed_s1ap_gets_error_indication_and_association_kept() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.feed(S1apReceived(sc.assoc, b"\x00\x0c\xff\xff\xff"))
    (ind,) = sc.sent_s1()
    assert ind.name == "ErrorIndication"
    assert ind.fields["Cause"] == ("protocol", "transfer-syntax-error")
    assert sc.core.enb_count() == 1
    sc.authenticate()  # the eNB is still served


def test_unknown_mme_ue_id_gets_error_indication() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.s1(s1ap.uplink_nas_transport(999, 3, nas.emm_status(111), MME_PLMN, 1, MME_PLMN, 1))
    (ind,) = sc.sent_s1()
    assert ind.name == "ErrorIndication"
    assert ind.fields["Cause"] == ("radioNetwork", "unknown-mme-ue-s1ap-id")


@pytest.mark.parametrize(("code", "cause"), [(5001, 8), (5004, 11), (5420, 15), (4181, 17)])
def test_s6a_error_gives_attach_reject_with_mapped_cause(code: int, cause: int) -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach_request()
    (air,) = sc.sent_s6a()
    sc.answer_air(air, experimental_result=code)
    (reject,) = sc.received()
    assert reject.name == "AttachReject"
    assert reject.fields["emm_cause"] == cause
    _release(sc)
    assert sc.core.ue_count() == 0 and sc.core.pending_count() == 0


def test_table_a1_mapping() -> None:
    assert emm_cause_for_s6a(5001, True) == 8
    assert emm_cause_for_s6a(5001, False) == 17  # base protocol 5001 is AVP unsupported
    assert emm_cause_for_s6a(None, False) == 17


def test_ulr_roaming_not_allowed_is_rejected_integrity_protected() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.security_mode()
    sc.uplink(sc.protect(nas.security_mode_complete("3534900000000101"), 4))
    (ulr,) = sc.sent_s6a()
    sc.answer_ulr(ulr, experimental_result=5004)
    (reject,) = sc.received()
    assert reject.name == "AttachReject" and reject.fields["emm_cause"] == 11
    assert reject.fields["security_header_type"] == 2 and reject.fields["mac_valid"]


def test_s6a_timeout_rejects_with_network_failure() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach_request()
    (air,) = sc.sent_s6a()
    sid = diameter.avp(air, "Session-Id")
    # one guard per request: the Diameter peer machine's, none in the core (RFC 6733 §5.5.4)
    assert not [k for k in sc.timers if k[0] == "S6a"]
    sc.feed(S6aFailed(sid, "request timeout"))
    (reject,) = sc.received()
    assert reject.fields["emm_cause"] == 17
    late = s6a.aia(air, "hss", "realm", vectors=[sc.vector()])
    sc.feed(S6aAnswer(late))  # a late answer changes nothing
    assert sc.sent_s1() == []


def test_t3460_retransmits_then_gives_up_and_releases_everything() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.security_mode()
    key = sc.mme_ue_id
    for i in range(sc.cfg.timers.max_retransmissions):
        sc.expire("T3460", key)
        (pdu,) = sc.downlink_nas()
        smc = nas.decode(pdu)
        assert smc.name == "SecurityModeCommand" and smc.fields["sequence_number"] == i + 1
    sc.expire("T3460", key)
    assert sc.downlink_nas() == []
    assert "emm.procedure.aborted" in sc.log_kinds()
    _release(sc)
    assert sc.core.ue_count() == 0
    assert sc.timers == {}


def test_t3450_give_up_deletes_the_session() -> None:
    sc = Scenario()
    sc.s1_setup()
    csr = sc.attach_until_create_session()
    sc.answer_create_session(csr)
    for _ in range(sc.cfg.timers.max_retransmissions):
        sc.expire("T3450", sc.mme_ue_id)
        (accept,) = sc.received()
        assert accept.name == "AttachAccept"
    sc.expire("T3450", sc.mme_ue_id)
    (dsr,) = sc.sent_s11()
    assert dsr.name == "DeleteSessionRequest" and dsr.fields["teid"] == 0x5000
    _release(sc)
    sc.answer_s11(dsr, "DeleteSessionRequest")
    assert sc.core.ue_count() == 0 and sc.core.pending_count() == 0
    assert sc.timers == {}


def test_release_guard_drops_the_context_when_the_enb_is_silent() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.uplink(nas.authentication_response(bytes(8)))
    sc.expire("S1Release", sc.mme_ue_id)
    assert sc.core.ue_count() == 0


def test_detach_sends_delete_session_and_purge_then_accept() -> None:
    sc = _attached()
    sc.uplink(sc.protect(nas.detach_request(ksi=sc.ksi, imsi=IMSI)))
    (pur,) = sc.sent_s6a()
    assert pur.name == "PUR" and diameter.avp(pur, "User-Name") == IMSI
    (dsr,) = sc.sent_s11()
    assert dsr.name == "DeleteSessionRequest" and dsr.fields["linked_ebi"] == 5
    sc.answer_s11(dsr, "DeleteSessionRequest")
    (accept,) = sc.received()
    assert accept.name == "DetachAccept"
    (cmd,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    assert cmd.fields["Cause"] == ("nas", "detach")
    _release(sc)
    assert sc.core.ue_count() == 0


def test_switch_off_detach_has_no_accept() -> None:
    sc = _attached()
    sc.uplink(sc.protect(nas.detach_request(switch_off=True, ksi=sc.ksi, imsi=IMSI)))
    (dsr,) = sc.sent_s11()
    sc.answer_s11(dsr, "DeleteSessionRequest")
    assert [m.name for m in sc.sent_s1()] == ["UEContextReleaseCommand"]


def test_enb_release_request_keeps_an_attached_ue() -> None:
    sc = _attached()
    sc.s1(s1ap.ue_context_release_request(sc.mme_ue_id or 0, sc.enb_ue_id,
                                          ("radioNetwork", "user-inactivity")))
    _release(sc)
    assert sc.core.ue_count() == 1
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.enb_assoc is None


def test_association_loss_aborts_attaches_in_progress() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.feed(S1Down(sc.assoc))
    assert sc.core.ue_count() == 0 and sc.core.enb_count() == 0
    assert sc.timers == {}


def test_reset_all_is_acknowledged() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.s1(s1ap.reset(("misc", "om-intervention")))
    (ack,) = sc.sent_s1()
    assert ack.name == "ResetAcknowledge"
    assert sc.core.ue_count() == 0


def test_stale_timer_is_ignored() -> None:
    sc = Scenario()
    sc.s1_setup()
    assert sc.feed(TimerExpired("T3460", 12345)) == []


def test_t3470_retransmits_identity_request_then_gives_up() -> None:
    """TS 24.301 §5.4.4.6 (a): IDENTITY REQUEST retransmitted on each T3470 expiry; on the fifth
    expiry the identification procedure is aborted and the UE released."""
    sc = Scenario()
    sc.s1_setup()
    guti = nas.Guti(MME_PLMN, 0x8001, 1, 0xABCDEF)
    sc.uplink(nas.attach_request(guti=guti, esm_container=nas.pdn_connectivity_request(pti=1)))
    (ident,) = sc.received()
    assert ident.name == "IdentityRequest"
    key = sc.mme_ue_id
    for _ in range(sc.cfg.timers.max_retransmissions):
        sc.expire("T3470", key)
        (again,) = sc.received()
        assert again.name == "IdentityRequest"
    sc.expire("T3470", key)
    assert sc.received() == []
    assert sc.sent_s6a() == []
    assert "emm.procedure.aborted" in sc.log_kinds()
    _release(sc)
    assert sc.core.ue_count() == 0
    assert sc.timers == {}
