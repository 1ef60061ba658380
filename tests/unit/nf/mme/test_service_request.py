"""Service request at the MME (TS 24.301 §5.6.1; TS 23.401 §5.3.4.1), driven with encoded
messages: "UE (ECM-IDLE) sends SERVICE REQUEST in INITIAL UE MESSAGE ... MME sends INITIAL
CONTEXT SETUP REQUEST with every E-RAB ... eNB answers ... MME sends Modify Bearer Request per
PDN connection", and each SERVICE REJECT cause."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from corenet.codecs import gtpv2c, nas, s1ap
from corenet.codecs.base import Message
from corenet.codecs.nas_ies import Guti
from corenet.config.models import MmeConfig, RoamingPolicyEntry
from corenet.nf.mme.policy import Mode, Policy
from corenet.nf.mme.service_request import estimate_ul_count

from .scenario import HOME_PLMN, HSS_REALM, IMSI, MME_PLMN, Scenario, release_complete
from .test_emergency_attach import _complete_unauth, _emergency_attach, _finish
from .test_overload import olr
from .test_pdn_connectivity import _answer_csr, _request_pdn, _subscription
from .test_tau import _attached, _go_idle

ENB_S1U = "127.0.1.1"


def _with_ims_pdn(sc: Scenario) -> None:
    """The `ims` PDN connection (GSMA IR.92), default bearer EBI 6, S-GW S1-U TEID 0x7001."""
    _subscription(sc)
    _request_pdn(sc, pti=3, request_type=1, apn="ims")
    (csr,) = sc.sent_s11()
    _answer_csr(sc, csr, ebi=6)
    sc.s1(s1ap.e_rab_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id, [(6, ENB_S1U, 0x9001)]))
    sc.uplink(sc.protect(nas.activate_default_eps_bearer_context_accept(6, 3)))


def _service_request(sc: Scenario, guti: Guti, pdu: bytes | None = None, tac: int = 1,
                     m_tmsi: int | None = None) -> list[Any]:
    """A new RRC connection whose INITIAL UE MESSAGE carries the S-TMSI and the SERVICE
    REQUEST (TS 36.413 §9.1.7.1)."""
    assert sc.ue_sec is not None
    sc.enb_ue_id += 1
    data = pdu if pdu is not None else nas.service_request(sc.ksi, sc.ue_sec)
    out = sc.s1(s1ap.initial_ue_message(
        sc.enb_ue_id, data, MME_PLMN, tac, MME_PLMN, 0x1010, rrc_establishment_cause="mo-Data",
        s_tmsi=(guti.mme_code, guti.m_tmsi if m_tmsi is None else m_tmsi)))
    for m in sc.sent_s1():
        if "MME-UE-S1AP-ID" in m.fields:
            sc.mme_ue_id = m.fields["MME-UE-S1AP-ID"]
    return out


def _service_reject(sc: Scenario) -> Message:
    (pdu,) = sc.downlink_nas()
    msg = nas.decode(pdu, sc.ue_sec, nas.DOWNLINK)
    assert msg.name == "ServiceReject"
    names = [m.name for m in sc.sent_s1()]
    assert names == ["DownlinkNASTransport", "UEContextReleaseCommand"]
    return msg


def _registered(sc: Scenario) -> bool:
    ue = sc.core.ue_by_imsi(IMSI)
    return ue is not None and ue.emm_state.value == "EMM-REGISTERED"


def _kenb_a3(kasme: bytes, ul_count: int) -> bytes:
    """TS 33.401 A.3 with the KDF of TS 33.220 B.2: HMAC-SHA-256(KASME, S), S = FC 0x11 ||
    uplink NAS COUNT || its length 0x0004."""
    s = bytes([0x11]) + ul_count.to_bytes(4, "big") + b"\x00\x04"
    return hmac.new(kasme, s, hashlib.sha256).digest()


# ------------------------------------------------------------------ the 5-bit NAS COUNT


def test_uplink_nas_count_estimated_from_its_five_bits() -> None:
    """TS 24.301 §4.4.3.1, §9.9.3.28: the smallest count above the last one received."""
    assert estimate_ul_count(0x25, 0x06) == 0x26
    assert estimate_ul_count(0x25, 0x05) == 0x45  # the same 5 bits again: 32 later
    assert estimate_ul_count(0x3E, 0x01) == 0x41  # the 5 bits wrapped
    assert estimate_ul_count(0x1FF, 0x00) == 0x200  # into the next NAS overflow


# ------------------------------------------------------------------ accepted


def test_service_request_restores_the_bearers_of_every_pdn_connection() -> None:
    sc, guti = _attached()
    _with_ims_pdn(sc)
    _go_idle(sc)
    assert sc.ue_sec is not None
    count = sc.ue_sec.ul_count.value
    _service_request(sc, guti)
    assert sc.downlink_nas() == []  # no NAS answer: the user plane is the acceptance
    (ics,) = sc.sent_s1()
    assert ics.name == "InitialContextSetupRequest"
    erabs = {e["e-RAB-ID"]: e for e in ics.fields["E-RABToBeSetupListCtxtSUReq"]}
    assert sorted(erabs) == [5, 6]  # the attach's PDN and the ims PDN (TS 23.401 §5.3.4.1)
    assert erabs[5]["gTP-TEID"] == 0x7000 and erabs[6]["gTP-TEID"] == 0x7001  # S-GW S1-U
    assert {e["transportLayerAddress"] for e in erabs.values()} == {"127.0.0.4"}
    assert erabs[5]["e-RABlevelQoSParameters"]["qCI"] == 9
    assert erabs[6]["e-RABlevelQoSParameters"]["qCI"] == 5
    assert all("nAS-PDU" not in e for e in erabs.values())
    assert ics.fields["SecurityKey"] == _kenb_a3(sc.kasme, count)  # TS 33.401 §7.2.8.1
    assert ics.fields["HandoverRestrictionList"]["servingPLMN"] == str(MME_PLMN)

    sc.s1(s1ap.initial_context_setup_response(
        sc.mme_ue_id or 0, sc.enb_ue_id, [(5, "127.0.1.9", 0xA005), (6, "127.0.1.9", 0xA006)]))
    mbrs = sc.sent_s11()
    assert [m.name for m in mbrs] == ["ModifyBearerRequest"] * 2  # one per PDN connection
    by_ebi = {m.fields["bearer_contexts_to_be_modified"][0]["ebi"]: m for m in mbrs}
    assert by_ebi[5].fields["teid"] == 0x5000 and by_ebi[6].fields["teid"] == 0x5001
    for ebi, teid in ((5, 0xA005), (6, 0xA006)):
        fteid = by_ebi[ebi].fields["bearer_contexts_to_be_modified"][0]["s1u_enb_fteid"]
        assert (fteid["teid"], fteid["ipv4"]) == (teid, "127.0.1.9")
    for m in mbrs:
        sc.answer_s11(m, "ModifyBearerRequest")
    assert "s11.bearer.modified" in sc.log_kinds()
    # the next uplink NAS message counts on from the service request's count (§4.4.3.1)
    sc.uplink(sc.protect(nas.emm_status(111)))
    assert "nas.discarded" not in sc.log_kinds()


def test_service_request_then_idle_again_and_again() -> None:
    sc, guti = _attached()
    for _ in range(3):
        _go_idle(sc)
        _service_request(sc, guti)
        (ics,) = sc.sent_s1()
        sc.s1(s1ap.initial_context_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id,
                                                  [(5, ENB_S1U, 0x9000)]))
        (mbr,) = sc.sent_s11()
        sc.answer_s11(mbr, "ModifyBearerRequest")
    assert sc.core.ue_count() == 1 and _registered(sc)


def test_emergency_only_ue_keeps_its_restrictions() -> None:
    """TS 23.401 §4.3.12: null algorithms and an arbitrary KeNB for an unauthenticated UE
    (TS 33.401 §15.2.2), the serving PLMN only; the policy refusing every normal service
    here does not refuse its service request."""
    cfg = MmeConfig(roaming={"policies": [RoamingPolicyEntry(home_plmn="44010",
                                                             mode="emergency-unauth")]},
                    equivalent_plmns=["44030"])
    sc = Scenario(cfg=cfg)
    sc.s1_setup()
    _emergency_attach(sc)
    _, csr = _complete_unauth(sc)
    _, accept = _finish(sc, csr)
    _go_idle(sc)
    _service_request(sc, accept.fields["guti"]["value"])
    (ics,) = sc.sent_s1()
    assert ics.name == "InitialContextSetupRequest"
    (erab,) = ics.fields["E-RABToBeSetupListCtxtSUReq"]
    assert erab["e-RAB-ID"] == 5 and erab["e-RABlevelQoSParameters"]["qCI"] == 5
    caps = ics.fields["UESecurityCapabilities"]
    assert caps["encryptionAlgorithms"] == 0 and caps["integrityProtectionAlgorithms"] == 0
    assert ics.fields["SecurityKey"] == bytes(32)
    assert "equivalentPLMNs" not in ics.fields["HandoverRestrictionList"]


# ------------------------------------------------------------------ rejected


def test_unknown_s_tmsi_rejected_9_unprotected() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    _service_request(sc, guti, m_tmsi=0x0BADCAFE)
    (pdu,) = sc.downlink_nas()
    reject = nas.decode(pdu)  # plain: the UE may hold no context of ours (§4.4.4.2)
    assert reject.name == "ServiceReject" and reject.fields["emm_cause"] == 9
    assert "security_header_type" not in reject.fields
    release_complete(sc)
    assert sc.core.ue_count() == 1 and _registered(sc)


def test_failed_short_mac_rejected_9_and_the_context_kept() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    assert sc.ue_sec is not None
    pdu = bytearray(nas.service_request(sc.ksi, sc.ue_sec))
    pdu[3] ^= 0xFF  # the short MAC
    _service_request(sc, guti, bytes(pdu))
    assert _service_reject(sc).fields["emm_cause"] == 9
    release_complete(sc)
    assert _registered(sc)
    _service_request(sc, guti)  # the UE's next, genuine, request is served
    assert [m.name for m in sc.sent_s1()] == ["InitialContextSetupRequest"]


def test_replayed_service_request_rejected_9() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    assert sc.ue_sec is not None
    pdu = nas.service_request(sc.ksi, sc.ue_sec)
    _service_request(sc, guti, pdu)
    sc.s1(s1ap.ue_context_release_request(sc.mme_ue_id or 0, sc.enb_ue_id,
                                          ("radioNetwork", "user-inactivity")))
    release_complete(sc)
    _service_request(sc, guti, pdu)  # the same octets again (TS 24.301 §4.4.3.2)
    assert _service_reject(sc).fields["emm_cause"] == 9


def test_ksi_of_another_context_rejected_9() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    assert sc.ue_sec is not None
    _service_request(sc, guti, nas.service_request((sc.ksi + 1) & 7, sc.ue_sec))
    assert _service_reject(sc).fields["emm_cause"] == 9


def test_context_no_longer_registered_rejected_10() -> None:
    sc, _ = _attached()
    # a new ATTACH REQUEST on the connection deregisters the context (§5.5.1.2.7 d)
    sc.attach_request()
    assert sc.ue_sec is not None
    sc.uplink(nas.service_request(sc.ksi, sc.ue_sec))
    reject = nas.decode(sc.downlink_nas()[-1])
    assert reject.name == "ServiceReject" and reject.fields["emm_cause"] == 10


def test_roaming_policy_refusing_the_ta_rejects_13_and_the_ue_stays_registered() -> None:
    sc, guti = _attached()
    sc.core.policy.set(Policy(HOME_PLMN, frozenset({2}), Mode.OFF))  # TA 2 refused
    _go_idle(sc)
    _service_request(sc, guti, tac=2)
    assert _service_reject(sc).fields["emm_cause"] == 13  # §5.6.1.5
    release_complete(sc)
    assert _registered(sc)


def test_plmn_refused_rejects_11() -> None:
    sc, guti = _attached()
    sc.core.policy.set(Policy(HOME_PLMN, None, Mode.OFF))
    _go_idle(sc)
    _service_request(sc, guti)
    assert _service_reject(sc).fields["emm_cause"] == 11


def test_home_hss_overload_rejects_22_with_t3346_emergency_spared() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    sc.core.overload.on_answer(HSS_REALM, olr(1, 100), sc.now)
    _service_request(sc, guti)
    reject = _service_reject(sc)
    assert reject.fields["emm_cause"] == 22  # §5.6.1.5, NAS level congestion control
    assert 30 <= reject.fields["t3346_value"] <= 60  # half of mme.t3346_s to all of it
    release_complete(sc)
    assert _registered(sc)


def test_extended_service_request_for_cs_fallback_rejected_18_and_ps_answered_97() -> None:
    sc, guti = _attached()
    sc.uplink(sc.protect(nas.extended_service_request(0, guti.m_tmsi, sc.ksi), 1))
    reject = nas.decode(sc.downlink_nas()[0], sc.ue_sec, nas.DOWNLINK)
    assert reject.name == "ServiceReject" and reject.fields["emm_cause"] == 18
    release_complete(sc)
    assert _registered(sc)
    _service_request(sc, guti)
    sc.s1(s1ap.initial_context_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id,
                                              [(5, ENB_S1U, 0x9000)]))
    sc.uplink(sc.protect(nas.extended_service_request(8, guti.m_tmsi, sc.ksi), 1))
    (status,) = sc.received()
    assert status.name == "EMMStatus" and status.fields["emm_cause"] == 97


def test_initial_context_setup_failure_leaves_the_ue_registered_and_idle() -> None:
    sc, guti = _attached()
    _go_idle(sc)
    _service_request(sc, guti)
    sc.s1(s1ap.initial_context_setup_failure(sc.mme_ue_id or 0, sc.enb_ue_id,
                                             ("radioNetwork", "unspecified")))
    assert [m.name for m in sc.sent_s1()] == ["UEContextReleaseCommand"]
    release_complete(sc)
    assert _registered(sc) and sc.core.ue_by_guti(guti) is not None


def test_modify_bearer_carries_the_ebi_of_each_pdn_connection() -> None:
    sc, guti = _attached()
    _with_ims_pdn(sc)
    _go_idle(sc)
    _service_request(sc, guti)
    # the eNB sets up the ims bearer only: one Modify Bearer, for that PDN connection
    sc.s1(s1ap.initial_context_setup_response(
        sc.mme_ue_id or 0, sc.enb_ue_id, [(6, ENB_S1U, 0xB006)],
        failed=[(5, ("radioNetwork", "unspecified"))]))
    (mbr,) = sc.sent_s11()
    (bc,) = mbr.fields["bearer_contexts_to_be_modified"]
    assert bc["ebi"] == 6 and bc["s1u_enb_fteid"]["teid"] == 0xB006
    assert bc["s1u_enb_fteid"]["interface_type"] == gtpv2c.FTEID_S1U_ENB
    assert "s1ap.ics.not_setup" in sc.log_kinds()


def test_s1_release_releases_the_access_bearers_of_every_pdn_connection() -> None:
    """TS 23.401 §5.3.5 step 2: Release Access Bearers Request (TS 29.274 §7.2.21)."""
    sc, _ = _attached()
    _with_ims_pdn(sc)
    sc.s1(s1ap.ue_context_release_request(sc.mme_ue_id or 0, sc.enb_ue_id,
                                          ("radioNetwork", "user-inactivity")))
    released = sc.sent_s11()
    assert [m.name for m in released] == ["ReleaseAccessBearersRequest"] * 2
    assert sorted(m.fields["teid"] for m in released) == [0x5000, 0x5001]
    assert [m.name for m in sc.sent_s1()] == ["UEContextReleaseCommand"]
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.session.pdn is not None
    assert ue.session.pdn.bearer.enb_s1u_teid is None
