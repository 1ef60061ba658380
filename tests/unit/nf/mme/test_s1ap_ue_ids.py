"""UE-associated logical S1 connections and their IDs (TS 36.413 §8.3.3, §9.2.3.4, §10.6): an
emergency attach retried by the UE on a new connection is not torn down by the release of
the attempt it abandoned, and NAS on a connection being released starts nothing."""

from __future__ import annotations

from typing import Any

from corenet.codecs import nas, s1ap
from corenet.config.models import MmeConfig, RoamingPolicyEntry
from corenet.crypto.nas_security import DOWNLINK, NasSecurityContext
from corenet.nf.mme.context import EmmState, Step

from .scenario import IMSI, Scenario

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
