"""The roaming attach through the MME core (TS 23.401 §5.3.2.1), step by step with encoded
messages: ULR, the PDN connection and its AMBR cap, Create Session and Modify Bearer, the
Attach Accept with its GUTI, EMM Information, and T3450 (TS 24.301 §5.5.1.2.7)."""

from __future__ import annotations

import random

from corenet.codecs import diameter, gtpv2c, nas, s1ap, s6a
from corenet.codecs.nas_ies import EmergencyNumber, coded_bitrate
from corenet.config.models import MmeConfig
from corenet.core.actions import TimerExpired
from corenet.crypto import kdf
from corenet.nf.mme.context import EmmState, Step
from corenet.nf.mme.service import MmeService

from .scenario import (
    IMSI,
    MME_PLMN,
    MSISDN,
    Scenario,
    release_complete,
)


def test_ulr_flags_and_imei() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.security_mode()
    sc.uplink(sc.protect(nas.security_mode_complete("3534900000000101"), 4))
    (ulr,) = sc.sent_s6a()
    flags = diameter.avp(ulr, "ULR-Flags")
    assert flags == s6a.UlrFlags.S6A_S6D_INDICATOR | s6a.UlrFlags.INITIAL_ATTACH_INDICATOR
    assert diameter.avp(ulr, "Terminal-Information", "IMEI") == "35349000000001"
    assert diameter.avp(ulr, "Terminal-Information", "Software-Version") == "01"
    assert diameter.avp(ulr, "RAT-Type") == s6a.RAT_TYPE_EUTRAN


def test_ipv4v6_request_sets_daf_and_single_address_grant_gives_esm_cause_52() -> None:
    """TS 29.274 §8.12 / TS 23.401 §5.3.1.1: an IPv4v6 request the subscription allows goes
    with the Dual Address Bearer Flag; a P-GW that grants one family anyway answers cause 19,
    which the UE learns as ESM cause #52 "single address bearers only allowed" in the
    ACTIVATE DEFAULT EPS BEARER CONTEXT REQUEST (TS 24.301 §6.5.1.3)."""
    sc = Scenario()
    sc.pdn_type = 3
    sc.s1_setup()
    csr = sc.attach_until_create_session()
    wire = gtpv2c.decode(gtpv2c.encode(csr)).fields
    assert wire["pdn_type"] == gtpv2c.PDN_IPV4V6
    assert wire["indication"]["daf"] is True
    assert not wire["indication"]["uimsi"]
    sc.answer_create_session(csr, cause=gtpv2c.CAUSE_NEW_PDN_TYPE_SINGLE_ADDRESS_BEARER_ONLY,
                             paa={"pdn_type": 1, "ipv4": "10.45.0.7"})
    (accept,) = sc.received()
    bearer = accept.fields["esm_message_container"]
    assert bearer["name"] == "ActivateDefaultEPSBearerContextRequest"
    assert bearer["fields"]["esm_cause"] == 52
    assert bearer["fields"]["pdn_address"]["pdn_type"] == 1
    assert bearer["fields"]["pdn_address"]["ipv4"] == "10.45.0.7"


def test_ipv4_request_has_no_daf() -> None:
    """TS 29.274 §8.12: DAF only for an IPv4v6 PDN connection."""
    sc = Scenario()
    sc.s1_setup()
    csr = sc.attach_until_create_session()
    assert not (gtpv2c.decode(gtpv2c.encode(csr)).fields.get("indication") or {}).get("daf")
    sc.answer_create_session(csr)
    (accept,) = sc.received()
    assert "esm_cause" not in accept.fields["esm_message_container"]["fields"]


def test_create_session_caps_apn_ambr_for_roamers() -> None:
    sc = Scenario()
    sc.s1_setup()
    csr = sc.attach_until_create_session()
    f = csr.fields
    assert f["imsi"] == IMSI
    assert f["msisdn"] == MSISDN
    assert f["mei"] == "3534900000000101"
    assert f["serving_network"] == "44020"
    assert f["rat_type"] == 6
    assert f["apn"] == "internet"
    wire = gtpv2c.decode(gtpv2c.encode(csr)).fields
    # TS 29.274 §8.58: a subscribed APN, verified against the subscription (0)
    assert wire["selection_mode"] == 0
    # TS 29.274 Table 7.2.1-1, §8.44: the MME's time zone (JST, +36 quarter-hours), no DST
    assert wire["ue_time_zone"] == {"time_zone": 36, "daylight_saving_time": 0}
    assert f["ambr"] == {"ul_kbps": 300, "dl_kbps": 300}
    assert f["sender_fteid_c"]["interface_type"] == 10
    assert f["pgw_s5s8_fteid_c"]["ipv4"] == "127.0.0.5"
    assert f["uli"]["tai"] == {"plmn": "44020", "tac": 1}
    assert f["bearer_contexts_to_be_created"][0]["bearer_qos"]["qci"] == 9


def test_attach_happy_path_to_emm_information() -> None:
    sc = Scenario()
    sc.s1_setup()
    ics, accept = sc.attach()
    # Initial Context Setup: UE-AMBR capped at 300 kbps both ways, default E-RAB, KeNB
    assert ics.fields["uEaggregateMaximumBitrate"] == {
        "uEaggregateMaximumBitRateDL": 300_000, "uEaggregateMaximumBitRateUL": 300_000}
    (erab,) = ics.fields["E-RABToBeSetupListCtxtSUReq"]
    assert erab["transportLayerAddress"] == "127.0.0.4"
    assert erab["gTP-TEID"] == 0x7000
    assert erab["e-RABlevelQoSParameters"]["qCI"] == 9
    assert ics.fields["SecurityKey"] == kdf.kenb(sc.kasme, 0)
    assert ics.fields["UESecurityCapabilities"]["encryptionAlgorithms"] == 0xC000
    # Attach Accept
    assert accept.name == "AttachAccept" and accept.fields["mac_valid"]
    assert accept.fields["emergency_number_list"] == [
        EmergencyNumber("110", ("police",)), EmergencyNumber("118", ("marine_guard",)),
        EmergencyNumber("119", ("ambulance", "fire_brigade"))]
    assert accept.fields["guti"]["value"].plmn == MME_PLMN
    bearer = accept.fields["esm_message_container"]
    assert bearer["name"] == "ActivateDefaultEPSBearerContextRequest"
    assert bearer["fields"]["apn_ambr"] == {"downlink": coded_bitrate(300),
                                            "uplink": coded_bitrate(300)}
    assert bearer["fields"]["pdn_address"]["ipv4"] == "10.45.0.2"
    # Attach Complete -> EMM Information
    (info,) = sc.received()
    assert info.name == "EMMInformation" and info.fields["mac_valid"]
    assert info.fields["full_name_for_network"].text == "JPN-ROAM X"
    assert info.fields["short_name_for_network"].text == "JPN-ROAM X"
    assert info.fields["local_time_zone"] == 36
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.emm_state is EmmState.REGISTERED and ue.step is Step.ATTACHED
    assert "emm.attach.accepted" in sc.log_kinds()
    assert ("T3450", sc.mme_ue_id) not in sc.timers


def test_modify_bearer_carries_enb_fteid() -> None:
    sc = Scenario()
    sc.s1_setup()
    csr = sc.attach_until_create_session()
    sc.answer_create_session(csr)
    sc.s1(s1ap.initial_context_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id,
                                              [(5, "127.0.1.1", 0x9000)]))
    (mbr,) = sc.sent_s11()
    assert mbr.name == "ModifyBearerRequest"
    assert mbr.fields["teid"] == 0x5000
    bc = mbr.fields["bearer_contexts_to_be_modified"][0]
    assert bc["ebi"] == 5
    assert bc["s1u_enb_fteid"]["teid"] == 0x9000
    assert bc["s1u_enb_fteid"]["ipv4"] == "127.0.1.1"


def test_subscriber_of_a_non_partner_plmn_is_rejected_11() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach_request(imsi="440500000000009")
    assert sc.sent_s6a() == []
    (reject,) = sc.received()
    assert reject.name == "AttachReject"
    assert reject.fields["emm_cause"] == 11
    (release,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    assert release.fields["Cause"] == ("nas", "unspecified")


def test_guti_m_tmsi_is_random_and_unique_among_the_mme_ues() -> None:
    """TS 23.003 §2.8 / TS 33.401 §7.2.1: the M-TMSI in the Attach Accept is drawn at random
    (not 1, 2, 3 ...), never all ones, and skips a value another UE holds."""
    sc = Scenario()
    sc.core.m_tmsi_rng = random.Random(7)
    draws = random.Random(7)
    taken = draws.randrange(0xFFFFFFFF)
    sc.core.by_mtmsi[taken] = 0xDEAD  # another UE holds the first draw
    sc.s1_setup()
    _ics, accept = sc.attach()
    m_tmsi = accept.fields["guti"]["value"].m_tmsi
    assert m_tmsi == draws.randrange(0xFFFFFFFF) != taken
    assert m_tmsi != 0xFFFFFFFF and m_tmsi > 0xFFFF


def test_seeded_mme_draws_the_same_m_tmsis_and_an_unseeded_one_is_unpredictable() -> None:
    """A seeded run is reproducible (sample captures); without a seed the system's
    generator is used."""
    cfg = MmeConfig()
    a, b = MmeService(cfg, seed=1).core, MmeService(cfg, seed=1).core
    assert [a.m_tmsi_rng.random() for _ in range(3)] == [b.m_tmsi_rng.random() for _ in range(3)]
    assert isinstance(MmeService(cfg).core.m_tmsi_rng, random.SystemRandom)


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
    release_complete(sc)
    sc.answer_s11(dsr, "DeleteSessionRequest")
    assert sc.core.ue_count() == 0 and sc.core.pending_count() == 0
    assert sc.timers == {}


def test_stale_timer_is_ignored() -> None:
    sc = Scenario()
    sc.s1_setup()
    assert sc.feed(TimerExpired("T3460", 12345)) == []


def test_ipv4v6_grant_gives_the_ue_its_ipv6_interface_identifier() -> None:
    """TS 23.401 §5.3.1.2.2: the UE builds its IPv6 address from the interface identifier
    the network gives in the PDN address (TS 24.301 §9.9.4.9), the low 64 bits of the PAA's
    IPv6 address (TS 29.274 §8.14), whatever text form the address is written in; an all-zero
    identifier is not one the UE may use, so the MME gives 1."""
    for text, iid in (("2001:db8:0:1::5", (5).to_bytes(8, "big")),
                      ("2001:0db8:0000:0001:0a0b:0c0d:0e0f:1011", bytes.fromhex("0a0b0c0d0e0f1011")),
                      ("2001:db8:0:1::", (1).to_bytes(8, "big")),
                      ("::ffff:10.45.0.9", bytes.fromhex("0000ffff0a2d0009"))):
        sc = Scenario()
        sc.pdn_type = 3
        sc.s1_setup()
        csr = sc.attach_until_create_session()
        sc.answer_create_session(csr, paa={"pdn_type": 3, "ipv4": "10.45.0.7", "ipv6": text,
                                           "ipv6_prefix_length": 64})
        (accept,) = sc.received()
        address = accept.fields["esm_message_container"]["fields"]["pdn_address"]
        assert address == {"pdn_type": 3, "ipv4": "10.45.0.7", "ipv6_interface_identifier": iid}
