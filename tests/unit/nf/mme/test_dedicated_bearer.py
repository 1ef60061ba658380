"""Network-initiated dedicated bearers at the MME (TS 23.401 §5.4.1, §5.4.4.1; TS 24.301
§6.4.2, §6.4.4): Create Bearer Request -> E-RAB SETUP REQUEST with ACTIVATE DEDICATED EPS
BEARER CONTEXT REQUEST -> E-RAB SETUP RESPONSE + ACCEPT -> Create Bearer Response, and the
deletion the same way round."""

from __future__ import annotations

import ipaddress

import pytest

from corenet.codecs import gtpv2c, nas, s1ap, tft
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError
from corenet.nf.mme.events import S11Malformed, S11Received, SendS11
from tests.unit.nf.mme.scenario import SGW_IP, Scenario, attached_scenario, release_complete

SGW = (SGW_IP, 2123)
REMOTE = "10.46.0.7"


def voice_tft() -> bytes:
    ue = ipaddress.ip_address("10.45.0.2")
    flows = [tft.parse_flow(f"permit out 17 from {REMOTE} 40000 to 10.45.0.2 50000"),
             tft.parse_flow(f"permit in 17 from 10.45.0.2 50000 to {REMOTE} 40000")]
    return tft.encode([tft.packet_filter(f, ue, i, 10 + i) for i, f in enumerate(flows)])


def create_bearer(sc: Scenario, seq: int = 900, linked_ebi: int = 5) -> list[object]:
    """The S-GW's Create Bearer Request for a QCI 1 bearer (TS 29.274 §7.2.3)."""
    req = gtpv2c.create_bearer_request(seq, teid=sc.mme_ue_id or 0, linked_ebi=linked_ebi,
                                       bearer_contexts=[{
                                           "ebi": 0, "tft": voice_tft(),
                                           "s1u_sgw_fteid": (gtpv2c.FTEID_S1U_SGW, 0x7100, SGW_IP),
                                           "s5s8u_pgw_fteid": (gtpv2c.FTEID_S5S8U_PGW, 0x7101,
                                                               "127.0.0.5"),
                                           "bearer_qos": gtpv2c.bearer_qos(
                                               1, 2, pci=0, pvi=1, mbr=(128, 128), gbr=(64, 64)),
                                           "charging_id": 7}])
    return sc.feed(S11Received(gtpv2c.decode(gtpv2c.encode(req)), peer=SGW))


def s11_answer(sc: Scenario) -> Message:
    [sent] = [a for a in sc.actions if isinstance(a, SendS11)]
    assert sent.peer == SGW
    return gtpv2c.decode(gtpv2c.encode(sent.msg))


def erab_setup(sc: Scenario) -> tuple[dict[str, object], Message]:
    [req] = [m for m in sc.sent_s1() if m.name == "E-RABSetupRequest"]
    [item] = req.fields["E-RABToBeSetupListBearerSUReq"]
    return item, nas.decode(item["nAS-PDU"], sc.ue_sec, nas.DOWNLINK)


def activate(sc: Scenario) -> Message:
    """Up to the UE accepting; returns the Create Bearer Response."""
    create_bearer(sc)
    sc.s1(s1ap.e_rab_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id,
                                    [(6, "127.0.1.1", 0x9100)]))
    assert sc.sent_s11() == []  # the UE has not accepted yet (TS 23.401 §5.4.1 step 8)
    sc.uplink(sc.protect(nas.activate_dedicated_eps_bearer_context_accept(6)))
    return s11_answer(sc)


def test_create_bearer_request_activates_a_qci1_bearer() -> None:
    sc = attached_scenario()
    create_bearer(sc)
    item, act = erab_setup(sc)
    qos = item["e-RABlevelQoSParameters"]
    assert item["e-RAB-ID"] == 6 and item["gTP-TEID"] == 0x7100
    assert qos["qCI"] == 1  # type: ignore[index]
    assert qos["gbrQosInformation"]["e-RAB-GuaranteedBitrateDL"] == 64_000  # type: ignore[index]
    assert act.name == "ActivateDedicatedEPSBearerContextRequest" and act.fields["mac_valid"]
    f = act.fields
    assert (f[nas.EBI], f["linked_eps_bearer_identity"]) == (6, 5)
    assert f["eps_qos"] == {"qci": 1, "max_ul": 128, "max_dl": 128, "gbr_ul": 64, "gbr_dl": 64}
    _, filters = tft.decode(f[nas.TFT])
    assert [pf.direction for pf in filters] == [tft.DOWNLINK, tft.UPLINK]
    assert {pf.remote_port for pf in filters} == {40000}
    assert ("T3485", sc.mme_ue_id) in sc.timers
    sc.s1(s1ap.e_rab_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id,
                                    [(6, "127.0.1.1", 0x9100)]))
    sc.uplink(sc.protect(nas.activate_dedicated_eps_bearer_context_accept(6)))
    rsp = s11_answer(sc)
    assert rsp.name == "CreateBearerResponse"
    assert (rsp.fields["teid"], rsp.fields["sequence"]) == (0x5000, 900)
    assert rsp.fields["cause"]["value"] == gtpv2c.CAUSE_REQUEST_ACCEPTED
    [bc] = rsp.fields["bearer_contexts"]
    assert (bc["ebi"], bc["cause"]["value"]) == (6, 16)
    assert (bc["s1u_enb_fteid"]["teid"], bc["s1u_enb_fteid"]["ipv4"]) == (0x9100, "127.0.1.1")
    assert ("T3485", sc.mme_ue_id) not in sc.timers
    ue = sc.core.ues[sc.mme_ue_id or 0]
    assert ue.session.pdn is not None and set(ue.session.pdn.dedicated) == {6}


def test_ue_reject_gives_ue_refuses_and_releases_the_erab() -> None:
    sc = attached_scenario()
    create_bearer(sc)
    sc.s1(s1ap.e_rab_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id,
                                    [(6, "127.0.1.1", 0x9100)]))
    sc.uplink(sc.protect(nas.activate_dedicated_eps_bearer_context_reject(
        6, esm_cause=43)))
    rsp = s11_answer(sc)
    assert rsp.fields["cause"]["value"] == gtpv2c.CAUSE_UE_REFUSES
    [rel] = [m for m in sc.sent_s1() if m.name == "E-RABReleaseCommand"]
    assert [i["e-RAB-ID"] for i in rel.fields["E-RABToBeReleasedList"]] == [6]


def test_t3485_fifth_expiry_gives_ue_not_responding() -> None:
    sc = attached_scenario()
    create_bearer(sc)
    for _ in range(sc.cfg.timers.max_retransmissions):
        sc.expire("T3485", sc.mme_ue_id)
        assert [nas.decode(p, sc.ue_sec, nas.DOWNLINK).name for p in sc.downlink_nas()] == [
            "ActivateDedicatedEPSBearerContextRequest"]
    sc.expire("T3485", sc.mme_ue_id)
    assert s11_answer(sc).fields["cause"]["value"] == gtpv2c.CAUSE_UE_NOT_RESPONDING


def test_idle_ue_is_not_paged_unable_to_page_ue() -> None:
    sc = attached_scenario()
    sc.s1(s1ap.ue_context_release_request(sc.mme_ue_id or 0, sc.enb_ue_id,
                                          ("radioNetwork", "user-inactivity")))
    release_complete(sc)
    create_bearer(sc)
    rsp = s11_answer(sc)
    assert rsp.fields["cause"]["value"] == 90  # TS 29.274 Table 8.4-1 "Unable to page UE"
    assert rsp.fields["teid"] == 0


def test_unknown_linked_bearer_is_context_not_found() -> None:
    sc = attached_scenario()
    create_bearer(sc, linked_ebi=9)
    assert s11_answer(sc).fields["cause"]["value"] == gtpv2c.CAUSE_CONTEXT_NOT_FOUND


def test_delete_bearer_request_deactivates_the_bearer() -> None:
    sc = attached_scenario()
    activate(sc)
    req = gtpv2c.delete_bearer_request(901, teid=sc.mme_ue_id or 0, ebis=[6])
    sc.feed(S11Received(gtpv2c.decode(gtpv2c.encode(req)), peer=SGW))
    [rel] = [m for m in sc.sent_s1() if m.name == "E-RABReleaseCommand"]
    assert [i["e-RAB-ID"] for i in rel.fields["E-RABToBeReleasedList"]] == [6]
    deact = nas.decode(rel.fields["NAS-PDU"], sc.ue_sec, nas.DOWNLINK)
    assert deact.name == "DeactivateEPSBearerContextRequest"
    assert (deact.fields[nas.EBI], deact.fields[nas.ESM_CAUSE]) == (6, 36)
    sc.s1(s1ap.e_rab_release_response(sc.mme_ue_id or 0, sc.enb_ue_id, [6]))
    sc.uplink(sc.protect(nas.deactivate_eps_bearer_context_accept(6)))
    rsp = s11_answer(sc)
    assert rsp.name == "DeleteBearerResponse" and rsp.fields["sequence"] == 901
    assert rsp.fields["cause"]["value"] == 16
    assert [(b["ebi"], b["cause"]["value"]) for b in rsp.fields["bearer_contexts"]] == [(6, 16)]
    ue = sc.core.ues[sc.mme_ue_id or 0]
    assert ue.session.pdn is not None and ue.session.pdn.dedicated == {}


def test_erab_setup_failure_gives_no_resources() -> None:
    """TS 36.413 §8.2.1.2: the eNB could not set the E-RAB up; the bearer is refused."""
    sc = attached_scenario()
    create_bearer(sc)
    sc.s1(s1ap.e_rab_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id, [],
                                    failed=[(6, ("radioNetwork", "unspecified"))]))
    assert s11_answer(sc).fields["cause"]["value"] == gtpv2c.CAUSE_NO_RESOURCES_AVAILABLE
    assert ("T3485", sc.mme_ue_id) not in sc.timers
    assert sc.core.ues[sc.mme_ue_id or 0].session.bearer_procedure is None


def test_unreadable_tft_is_answered_with_the_decoders_cause() -> None:
    """TS 29.274 §7.7: the Bearer Context (its TFT) does not parse; the request is answered
    with the decoder's cause, not dropped."""
    sc = attached_scenario()
    req = gtpv2c.create_bearer_request(902, teid=sc.mme_ue_id or 0, linked_ebi=5,
                                       bearer_contexts=[{
                                           "ebi": 0, "tft": b"\x21\x10\x01\x09\x10",
                                           "s1u_sgw_fteid": (gtpv2c.FTEID_S1U_SGW, 0x7100, SGW_IP),
                                           "bearer_qos": gtpv2c.bearer_qos(1, 2, gbr=(64, 64))}])
    with pytest.raises(DecodeError) as err:
        gtpv2c.decode(gtpv2c.encode(req))
    sc.feed(S11Malformed(err.value, SGW))
    rsp = s11_answer(sc)
    assert rsp.name == "CreateBearerResponse"
    assert (rsp.fields["sequence"], rsp.fields["teid"]) == (902, 0)
    assert rsp.fields["cause"]["value"] == err.value.cause == gtpv2c.CAUSE_INVALID_MESSAGE_FORMAT
    assert [m for m in sc.sent_s1() if m.name == "E-RABSetupRequest"] == []


def test_request_sent_again_while_the_ue_is_asked_is_not_answered() -> None:
    """TS 29.274 §7.6: the S-GW resends its request while T3485 runs; the one procedure goes
    on and answers once."""
    sc = attached_scenario()
    create_bearer(sc)
    create_bearer(sc)
    assert sc.sent_s11() == [] and sc.sent_s1() == []
    assert "s11.retransmission" in sc.log_kinds()
