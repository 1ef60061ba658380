"""UE-associated logical S1 connections at the MME core (TS 36.413 §8.3, §8.6, §9.2.3.4,
§10.6): the cap per eNB, contexts that run no procedure, unknown IDs, UE context release and
its guard, an eNB UE S1AP ID reused for a new connection, NAS on a connection being
released."""

from __future__ import annotations

from typing import Any

from pycrate_asn1dir import S1AP

from corenet.codecs import nas, s1ap
from corenet.config.models import MmeConfig, RoamingPolicyEntry
from corenet.crypto.nas_security import DOWNLINK, NasSecurityContext
from corenet.nf.mme.context import EmmState, Step
from corenet.nf.mme.events import S1apReceived
from corenet.nf.mme.s6a_client import session_of

from .scenario import (
    IMSI,
    MME_PLMN,
    Scenario,
    attached_scenario,
    release_complete,
)

GARBAGE = b"\x07\x41"  # EMM header of an Attach Request, then nothing: undecodable


def _garbage(sc: Scenario, enb_ue_id: int) -> None:
    sc.s1(s1ap.initial_ue_message(enb_ue_id, GARBAGE, MME_PLMN, 1, MME_PLMN, 1))


SOS = 4  # TS 24.008 §10.5.6.17 request type "emergency"


def _emergency_only() -> Scenario:
    sc = Scenario(cfg=MmeConfig(roaming={"policies": [
        RoamingPolicyEntry(home_plmn="44010", mode="emergency-unauth")]}))
    sc.s1_setup()
    return sc


def _emergency_attach_request(sc: Scenario) -> None:
    esm = nas.pdn_connectivity_request(pti=1, request_type=SOS, pdn_type=1)
    sc.uplink(nas.attach_request(attach_type=6, imsi=IMSI, esm_container=esm))


def _null_smc(sc: Scenario) -> Any:
    (pdu,) = sc.downlink_nas()
    sc.ue_sec = NasSecurityContext(ksi=0, kasme=b"", eia=0, eea=0, k_nas_int=b"",
                                   k_nas_enc=b"")
    return nas.decode(pdu, sc.ue_sec, DOWNLINK)


def _new_connection(sc: Scenario) -> None:
    """The UE starts again on a new connection; the eNB gives it the same eNB UE S1AP ID."""
    sc.mme_ue_id, sc.ue_sec = None, None


def _release_commands(sc: Scenario) -> list[dict[str, Any]]:
    return [m.fields["UE-S1AP-IDs"][1] for m in sc.sent_s1()
            if m.name == "UEContextReleaseCommand"]


def test_garbage_initial_ue_messages_are_released_and_capped() -> None:
    sc = Scenario(cfg=MmeConfig(max_ue_contexts_per_enb=3))
    sc.s1_setup()
    for enb_ue_id in (1, 2, 3):
        _garbage(sc, enb_ue_id)
        sent = sc.sent_s1()
        assert [m.name for m in sent] == ["DownlinkNASTransport", "UEContextReleaseCommand"]
        status = nas.decode(sent[0].fields["NAS-PDU"])
        assert status.name == "EMMStatus"
        ids = sent[1].fields["UE-S1AP-IDs"][1]
        assert ids["eNB-UE-S1AP-ID"] == enb_ue_id
        assert sent[1].fields["Cause"] == ("nas", "unspecified")
    # the eNB has not confirmed the releases yet: a fourth connection is over the limit
    _garbage(sc, 4)
    (ind,) = sc.sent_s1()
    assert ind.name == "ErrorIndication"
    assert ind.fields["Cause"] == ("misc", "control-processing-overload")
    assert ind.fields["eNB-UE-S1AP-ID"] == 4 and ind.fields.get("MME-UE-S1AP-ID") is None
    assert sc.core.ue_count() == 3
    for mme_ue_id in list(sc.core.ues):
        sc.expire("S1Release", mme_ue_id)
    assert sc.core.ue_count() == 0 and sc.timers == {}
    _garbage(sc, 5)
    assert [m.name for m in sc.sent_s1()] == ["DownlinkNASTransport",
                                              "UEContextReleaseCommand"]


def test_many_garbage_messages_leave_no_context_behind() -> None:
    sc = Scenario(cfg=MmeConfig(max_ue_contexts_per_enb=50))
    sc.s1_setup()
    for enb_ue_id in range(1, 301):
        _garbage(sc, enb_ue_id)
        for m in sc.sent_s1():
            if m.name == "UEContextReleaseCommand":
                ids = m.fields["UE-S1AP-IDs"][1]
                sc.s1(s1ap.ue_context_release_complete(ids["mME-UE-S1AP-ID"],
                                                       ids["eNB-UE-S1AP-ID"]))
    assert sc.core.ue_count() == 0
    assert sc.core.mme_ue_ids.in_use() == 0


def test_guard_releases_a_context_running_no_procedure() -> None:
    sc = Scenario(cfg=MmeConfig(nas_guard_s=7.0))
    sc.s1_setup()
    sc.attach_request()  # AIR sent: a procedure is running
    ue_id = sc.mme_ue_id
    assert sc.timers[("NasGuard", ue_id)] == 7.0
    sc.expire("NasGuard", ue_id)
    assert sc.sent_s1() == [] and ("NasGuard", ue_id) in sc.timers
    # the S6a transaction ends without its answer reaching a procedure (a stale answer to
    # a request of an older attach): nothing runs any more for this context
    for sid in list(sc.core.s6a_pending):
        sc.core.take_s6a(sid)
    sc.expire("NasGuard", ue_id)
    (cmd,) = sc.sent_s1()
    assert cmd.name == "UEContextReleaseCommand"
    assert cmd.fields["UE-S1AP-IDs"][1]["mME-UE-S1AP-ID"] == ue_id
    assert "emm.context.unused" in sc.log_kinds()


def test_guard_tells_apart_the_transactions_of_each_context() -> None:
    sc = Scenario(cfg=MmeConfig(nas_guard_s=7.0))
    sc.s1_setup()
    sc.attach_request()
    first, (air_first,) = sc.mme_ue_id, sc.sent_s6a()
    sc.mme_ue_id, sc.enb_ue_id = None, sc.enb_ue_id + 1
    sc.attach_request(imsi="440100000000002")
    second = sc.mme_ue_id
    assert first != second and sc.core.pending_count() == 2
    # the first context's AIR ends without reaching its procedure; the second's stays open
    assert sc.core.take_s6a(session_of(air_first)) == (
        first, "AIR", "epc.mnc010.mcc440.3gppnetwork.org")
    assert sc.core.take_s6a(session_of(air_first)) is None
    sc.expire("NasGuard", second)
    assert sc.sent_s1() == [] and ("NasGuard", second) in sc.timers
    sc.expire("NasGuard", first)
    (cmd,) = sc.sent_s1()
    assert cmd.fields["UE-S1AP-IDs"][1]["mME-UE-S1AP-ID"] == first
    assert sc.core.pending_count() == 1


def test_guard_leaves_an_attached_ue_alone() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach()
    sc.expire("NasGuard", sc.mme_ue_id)
    assert sc.sent_s1() == [] and ("NasGuard", sc.mme_ue_id) not in sc.timers
    assert sc.core.ue_count() == 1


def test_uplink_nas_transport_without_its_tai_is_served() -> None:
    """TS 36.413 §10.3: a missing IE whose criticality is ignore-and-notify is reported and the
    message is processed without it (an input `corenet fuzz` found raised KeyError)."""
    sc = Scenario()
    sc.s1_setup()
    sc.attach_request()
    assert sc.mme_ue_id is not None
    tai = sc.core.ues[sc.mme_ue_id].tai
    msg = s1ap.uplink_nas_transport(sc.mme_ue_id, sc.enb_ue_id, GARBAGE, MME_PLMN, 1,
                                    MME_PLMN, 1)
    pdu = S1AP.S1AP_PDU_Descriptions.S1AP_PDU
    pdu.from_aper(s1ap.encode(msg))
    kind, body = pdu.get_val()
    ies = body["value"][1]["protocolIEs"]
    body["value"][1]["protocolIEs"] = [ie for ie in ies if ie["id"] != 67]  # id-TAI
    pdu.set_val((kind, body))
    sc.actions.clear()
    sc.feed(S1apReceived(sc.assoc, pdu.to_aper(), 0))
    assert sc.core.ues[sc.mme_ue_id].tai == tai
    kinds = [m.name for m in sc.sent_s1()]
    assert "DownlinkNASTransport" in kinds  # the undecodable NAS got its EMM Status


def test_unknown_mme_ue_id_gets_error_indication() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.s1(s1ap.uplink_nas_transport(999, 3, nas.emm_status(111), MME_PLMN, 1, MME_PLMN, 1))
    (ind,) = sc.sent_s1()
    assert ind.name == "ErrorIndication"
    assert ind.fields["Cause"] == ("radioNetwork", "unknown-mme-ue-s1ap-id")


def test_enb_release_request_keeps_an_attached_ue() -> None:
    sc = attached_scenario()
    sc.s1(s1ap.ue_context_release_request(sc.mme_ue_id or 0, sc.enb_ue_id,
                                          ("radioNetwork", "user-inactivity")))
    release_complete(sc)
    assert sc.core.ue_count() == 1
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.enb_assoc is None


def test_release_guard_drops_the_context_when_the_enb_is_silent() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.uplink(nas.authentication_response(bytes(8)))
    sc.expire("S1Release", sc.mme_ue_id)
    assert sc.core.ue_count() == 0


def test_retried_emergency_attach_survives_the_abandoned_attempt() -> None:
    sc = _emergency_only()
    _emergency_attach_request(sc)
    first = sc.mme_ue_id
    assert _null_smc(sc).name == "SecurityModeCommand"
    # the UE's T3410 expires (TS 24.301 §5.5.1.2.6 c): it drops the connection locally and,
    # after T3411, attaches again; the eNB reuses eNB UE S1AP ID 7 for the new connection
    _new_connection(sc)
    _emergency_attach_request(sc)
    second = sc.mme_ue_id
    assert second != first
    assert first not in sc.core.ues and _release_commands(sc) == []
    assert _null_smc(sc).name == "SecurityModeCommand"
    sc.uplink(sc.protect(nas.security_mode_complete("3534900000000101"), 4))
    # before: the old context's release named (old MME id, eNB id 7): the eNB released the
    # new connection and the UE's next ciphered message reached a context without keys
    assert _release_commands(sc) == []
    (csr,) = sc.sent_s11()
    assert csr.name == "CreateSessionRequest" and csr.fields["apn"] == "sos"
    ue = sc.core.ues[second]
    assert (ue.enb_assoc, ue.enb_ue_id, ue.step) == (1, 7, Step.CREATE_SESSION)
    reused = [e.data for e in sc.logs if e.kind == "s1ap.ue.id_reused"]
    assert reused == [{"assoc": 1, "enb_ue_id": 7, "old_mme_ue_id": first, "imsi": IMSI,
                       "step": "security-mode"}]


def test_attached_ue_whose_connection_id_is_reused_goes_idle() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach()
    attached = sc.core.ues[sc.mme_ue_id or 0]
    # another connection (e.g. a Service Request after a radio link failure) with ID 7
    _new_connection(sc)
    sc.uplink(nas.detach_request(detach_type=1, switch_off=True, imsi="440109999999999"))
    # TS 23.401 §5.3.5: an attached UE keeps its EMM context without an S1 connection
    assert attached.emm_state is EmmState.REGISTERED and attached.enb_assoc is None
    assert "s1ap.ue.id_reused" in sc.log_kinds()
    assert attached.mme_ue_id in sc.core.ues
    assert all(ids["mME-UE-S1AP-ID"] != attached.mme_ue_id for ids in _release_commands(sc))


def test_nas_on_a_connection_being_released_starts_nothing() -> None:
    sc = _emergency_only()
    sc.attach_request()  # a normal attach: rejected in emergency-only mode, then released
    assert [m.name for m in sc.received()] == ["AttachReject"]
    assert [ids["mME-UE-S1AP-ID"] for ids in _release_commands(sc)] == [sc.mme_ue_id]
    # the UE dials before the release reaches it: its emergency Attach Request arrives on
    # the connection the MME is releasing
    _emergency_attach_request(sc)
    assert sc.sent_s1() == [] and sc.sent_s6a() == []
    discarded = [e.data for e in sc.logs if e.kind == "nas.discarded"]
    assert discarded[-1]["reason"] == "UE context release in progress (TS 36.413 §8.3.3)"
    s1ap_ue = sc.core.ues[sc.mme_ue_id or 0]
    assert s1ap_ue.step is Step.RELEASING
    sc.s1(s1ap.ue_context_release_complete(sc.mme_ue_id or 0, 7))
    assert sc.core.ue_count() == 0
