"""UE-requested PDN connectivity and PDN disconnect of an attached UE (TS 24.301 §6.5.1,
§6.5.2; TS 23.401 §5.10.2, §5.10.3): the emergency PDN connection of a roaming UE
(TS 23.167 §6.2, §7.1; request type "emergency") and the `ims` one."""

from __future__ import annotations

from typing import Any

from corenet.codecs import gtpv2c, nas, s1ap
from corenet.codecs.base import Message
from corenet.nf.mme.events import S11Received
from tests.unit.nf.mme.scenario import IMSI, MSISDN, SGW_IP, Scenario, attached_scenario


def _subscription(sc: Scenario) -> None:
    """The ULA of attached_scenario gives `internet` only; `ims` is subscribed too here."""
    from corenet.codecs import s6a

    sub = s6a.SubscriptionData(
        msisdn=MSISDN, ambr=s6a.Ambr(50_000_000, 100_000_000), default_context_identifier=1,
        apn_configurations=(s6a.ApnConfiguration(1, "internet"),
                            s6a.ApnConfiguration(2, "ims", qos_class_identifier=5)))
    ue = sc.core.ues[sc.mme_ue_id or 0]
    ue.session.subscription = sub


def _answer_csr(sc: Scenario, csr: Message, ebi: int, ipv4: str = "127.147.0.9",
                cause: int = 16) -> None:
    rsp = gtpv2c.create_session_response(
        csr.fields["sequence"], teid=csr.fields["sender_fteid_c"]["teid"], cause=cause,
        sender_fteid=(gtpv2c.FTEID_S11S4_SGW, 0x5001, SGW_IP),
        pgw_fteid=(gtpv2c.FTEID_S5S8C_PGW, 0x6001, "127.0.0.5"),
        paa={"pdn_type": 1, "ipv4": ipv4}, ambr=csr.fields.get("ambr"),
        bearer_contexts=[{"ebi": ebi, "cause": 16,
                          "s1u_sgw_fteid": (gtpv2c.FTEID_S1U_SGW, 0x7001, SGW_IP)}])
    sc.feed(S11Received(gtpv2c.decode(gtpv2c.encode(rsp))))


def _erab_nas(sc: Scenario) -> tuple[Message, Message]:
    (req,) = [m for m in sc.sent_s1() if m.name == "E-RABSetupRequest"]
    (item,) = req.fields["E-RABToBeSetupListBearerSUReq"]
    return req, nas.decode(item["nAS-PDU"], sc.ue_sec, nas.DOWNLINK)


def _request_pdn(sc: Scenario, pti: int = 2, request_type: int = 4,
                 apn: str | None = None) -> list[Any]:
    return sc.uplink(sc.protect(nas.pdn_connectivity_request(
        pti, request_type=request_type, apn=apn)))


def _connect_emergency(sc: Scenario) -> tuple[Message, Message, Message]:
    _request_pdn(sc)
    (csr,) = sc.sent_s11()
    _answer_csr(sc, csr, ebi=6)
    req, activate = _erab_nas(sc)
    sc.s1(s1ap.e_rab_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id,
                                    [(6, "127.0.1.1", 0x9001)]))
    (mbr,) = sc.sent_s11()
    sc.uplink(sc.protect(nas.activate_default_eps_bearer_context_accept(6, 2)))
    return csr, req, mbr


def test_emergency_pdn_of_an_attached_roamer_end_to_end() -> None:
    """PDN CONNECTIVITY REQUEST (request type emergency, no APN) -> Create Session Request on
    the S-GW's S11 TEID for the emergency APN, network-provided (TS 29.274 §8.58), EBI 6 ->
    E-RAB SETUP REQUEST with ACTIVATE DEFAULT EPS BEARER CONTEXT REQUEST -> E-RAB SETUP
    RESPONSE -> Modify Bearer with the eNB's F-TEID -> ACCEPT."""
    sc = attached_scenario()
    csr, req, mbr = _connect_emergency(sc)
    f = csr.fields
    assert f["teid"] == 0x5000  # the S-GW's S11 TEID of the attach's PDN connection
    assert f["apn"] == "sos"
    assert f["selection_mode"] == gtpv2c.SELECTION_NETWORK_NOT_VERIFIED
    (bc,) = f["bearer_contexts_to_be_created"]
    assert bc["ebi"] == 6 and bc["bearer_qos"]["qci"] == sc.cfg.emergency.qci
    (item,) = req.fields["E-RABToBeSetupListBearerSUReq"]
    assert item["e-RAB-ID"] == 6 and item["gTP-TEID"] == 0x7001
    assert item["e-RABlevelQoSParameters"]["allocationRetentionPriority"][
        "pre-emptionVulnerability"] == "not-pre-emptable"
    activate = nas.decode(item["nAS-PDU"], sc.ue_sec, nas.DOWNLINK)
    assert activate.name == "ActivateDefaultEPSBearerContextRequest"
    assert activate.fields[nas.EBI] == 6 and activate.fields[nas.PTI] == 2
    assert activate.fields[nas.APN] == "sos"
    assert activate.fields["pdn_address"]["ipv4"] == "127.147.0.9"
    assert mbr.fields["teid"] == 0x5001
    (mb,) = mbr.fields["bearer_contexts_to_be_modified"]
    assert mb["ebi"] == 6 and mb["s1u_enb_fteid"]["teid"] == 0x9001
    ue = sc.core.ues[sc.mme_ue_id or 0]
    assert ("T3485", ue.mme_ue_id) not in sc.timers
    assert sorted(ue.session.additional_pdns) == [6]
    assert "esm.pdn.connected" in sc.log_kinds()


def test_ims_pdn_from_the_subscription() -> None:
    """Request type initial with APN `ims`: the subscription's APN and QCI, MS-provided."""
    sc = attached_scenario()
    _subscription(sc)
    _request_pdn(sc, pti=3, request_type=1, apn="ims")
    (csr,) = sc.sent_s11()
    assert csr.fields["apn"] == "ims"
    assert csr.fields["selection_mode"] == gtpv2c.SELECTION_MS_OR_NETWORK_VERIFIED
    assert csr.fields["bearer_contexts_to_be_created"][0]["bearer_qos"]["qci"] == 5


def _rejected(sc: Scenario) -> Message:
    (rej,) = sc.received()
    assert rej.name == "PDNConnectivityReject"
    return rej


def test_second_pdn_to_the_same_apn_is_rejected_55() -> None:
    sc = attached_scenario()
    _connect_emergency(sc)
    _request_pdn(sc, pti=4)
    assert _rejected(sc).fields[nas.ESM_CAUSE] == 55 and not sc.sent_s11()


def test_unsubscribed_apn_is_rejected_27() -> None:
    sc = attached_scenario()
    _request_pdn(sc, pti=3, request_type=1, apn="corporate")
    assert _rejected(sc).fields[nas.ESM_CAUSE] == 27 and not sc.sent_s11()


def test_refused_create_session_is_rejected_with_its_esm_cause() -> None:
    """TS 24.301 §6.5.1.4: Create Session refused "Missing or unknown APN" (78) -> #27."""
    sc = attached_scenario()
    _request_pdn(sc)
    (csr,) = sc.sent_s11()
    _answer_csr(sc, csr, ebi=6, cause=78)
    rej = _rejected(sc)
    assert rej.fields[nas.ESM_CAUSE] == 27 and rej.fields[nas.PTI] == 2
    assert not sc.core.ues[sc.mme_ue_id or 0].session.additional_pdns


def test_unassigned_pti_is_answered_by_esm_status_81() -> None:
    sc = attached_scenario()
    _request_pdn(sc, pti=0)
    (status,) = sc.received()
    assert status.name == "ESMStatus" and status.fields[nas.ESM_CAUSE] == 81


def test_activation_rejected_by_the_ue_deletes_the_session() -> None:
    sc = attached_scenario()
    _request_pdn(sc)
    (csr,) = sc.sent_s11()
    _answer_csr(sc, csr, ebi=6)
    sc.uplink(sc.protect(nas.activate_default_eps_bearer_context_reject(6, 31, 2)))
    (dsr,) = sc.sent_s11()
    assert dsr.name == "DeleteSessionRequest" and dsr.fields["teid"] == 0x5001
    assert dsr.fields["linked_ebi"] == 6


def test_t3485_fifth_expiry_abandons_only_the_new_pdn() -> None:
    """TS 24.301 §6.5.1.5 a: resent four times, then the PDN connection is deleted; the UE
    stays attached with its first PDN connection."""
    sc = attached_scenario()
    _request_pdn(sc)
    (csr,) = sc.sent_s11()
    _answer_csr(sc, csr, ebi=6)
    ue_id = sc.mme_ue_id or 0
    for _ in range(sc.cfg.timers.max_retransmissions):
        sc.expire("T3485", ue_id)
        (again,) = sc.received()
        assert again.name == "ActivateDefaultEPSBearerContextRequest"
    sc.expire("T3485", ue_id)
    (dsr,) = sc.sent_s11()
    assert dsr.name == "DeleteSessionRequest" and dsr.fields["linked_ebi"] == 6
    assert ue_id in sc.core.ues and sc.core.ues[ue_id].session.pdn is not None
    assert not [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]


def test_pdn_disconnect_of_the_emergency_pdn() -> None:
    """PDN DISCONNECT REQUEST (linked EBI 6) -> Delete Session Request -> E-RAB RELEASE COMMAND
    with DEACTIVATE EPS BEARER CONTEXT REQUEST #36 -> ACCEPT (TS 23.401 §5.10.3)."""
    sc = attached_scenario()
    _connect_emergency(sc)
    sc.uplink(sc.protect(nas.pdn_disconnect_request(5, 6)))
    (dsr,) = sc.sent_s11()
    assert dsr.fields["teid"] == 0x5001 and dsr.fields["linked_ebi"] == 6
    sc.answer_s11(dsr, "DeleteSessionRequest")
    (cmd,) = sc.sent_s1()
    assert cmd.name == "E-RABReleaseCommand"
    assert [i["e-RAB-ID"] for i in cmd.fields["E-RABToBeReleasedList"]] == [6]
    deact = nas.decode(cmd.fields["NAS-PDU"], sc.ue_sec, nas.DOWNLINK)
    assert deact.name == "DeactivateEPSBearerContextRequest"
    assert deact.fields[nas.EBI] == 6 and deact.fields[nas.ESM_CAUSE] == 36
    sc.uplink(sc.protect(nas.deactivate_eps_bearer_context_accept(6, 5)))
    ue = sc.core.ues[sc.mme_ue_id or 0]
    assert not ue.session.additional_pdns and ue.session.esm_procedure is None
    assert "esm.pdn.disconnected" in sc.log_kinds()


def test_disconnect_of_the_last_pdn_is_rejected_49_and_unknown_ebi_43() -> None:
    sc = attached_scenario()
    sc.uplink(sc.protect(nas.pdn_disconnect_request(5, 5)))
    (rej,) = sc.received()
    assert rej.name == "PDNDisconnectReject" and rej.fields[nas.ESM_CAUSE] == 49
    sc.uplink(sc.protect(nas.pdn_disconnect_request(6, 9)))
    (rej,) = sc.received()
    assert rej.fields[nas.ESM_CAUSE] == 43 and not sc.sent_s11()


def test_detach_deletes_the_additional_pdn_too() -> None:
    sc = attached_scenario()
    _connect_emergency(sc)
    sc.uplink(sc.protect(nas.detach_request(switch_off=True, imsi=IMSI)))
    deletes = [m for m in sc.sent_s11() if m.name == "DeleteSessionRequest"]
    assert sorted(m.fields["teid"] for m in deletes) == [0x5000, 0x5001]


def test_accept_without_a_procedure_is_answered_by_esm_status_98() -> None:
    """TS 24.301 §7.4: an ACTIVATE DEFAULT EPS BEARER CONTEXT ACCEPT nothing waits for."""
    sc = attached_scenario()
    sc.uplink(sc.protect(nas.activate_default_eps_bearer_context_accept(7, 9)))
    (status,) = sc.received()
    assert status.name == "ESMStatus" and status.fields[nas.ESM_CAUSE] == 98
    assert status.fields[nas.EBI] == 7 and not sc.sent_s11()
