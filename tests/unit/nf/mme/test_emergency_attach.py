"""Roaming policy and emergency attach at the MME core (TS 23.401 §4.3.12, §5.3.2.1; TS 24.301
§5.5.1.2), driven with encoded messages: each mode, the causes of refusal, own subscribers,
and the fallback when the home HSS stops answering."""

from __future__ import annotations

from typing import Any

import pytest

from corenet.codecs import diameter, gtpv2c, nas, s1ap, s6a
from corenet.config.models import MmeConfig, RoamingPolicyEntry
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import DOWNLINK, NasSecurityContext
from corenet.nf.mme.events import S6aFailed, S6aPeerUp, SendS6a, SendS11
from corenet.nf.mme.policy import Mode, Policy

from .scenario import HOME_PLMN, IMSI, MSISDN, Scenario

OWN_IMSI = "440200000000077"
IMEISV = "3534900000000101"
SOS = 4  # TS 24.008 §10.5.6.17 request type "emergency"


def _scenario(mode: str, **kw: Any) -> Scenario:
    cfg = MmeConfig(roaming={"policies": [RoamingPolicyEntry(home_plmn="44010", mode=mode,
                                                             **kw)]})
    sc = Scenario(cfg=cfg)
    sc.s1_setup()
    return sc


def _emergency_attach(sc: Scenario, imsi: str | None = IMSI, imei: str | None = None,
                      request_type: int = SOS, apn: str | None = None) -> None:
    esm = nas.pdn_connectivity_request(pti=1, request_type=request_type, pdn_type=1, apn=apn)
    sc.uplink(nas.attach_request(attach_type=6, imsi=imsi, imei=imei, esm_container=esm))


def _null_context() -> NasSecurityContext:
    return NasSecurityContext(ksi=0, kasme=b"", eia=0, eea=0, k_nas_int=b"", k_nas_enc=b"")


def _take_null_smc(sc: Scenario) -> Any:
    (pdu,) = sc.downlink_nas()
    sc.ue_sec = _null_context()
    smc = nas.decode(pdu, sc.ue_sec, DOWNLINK)
    assert smc.name == "SecurityModeCommand" and smc.fields["mac_valid"]
    return smc


def _complete_unauth(sc: Scenario) -> Any:
    """SMC (EIA0/EEA0) -> SMC complete -> the Create Session Request (no Diameter between)."""
    smc = _take_null_smc(sc)
    sc.uplink(sc.protect(nas.security_mode_complete(IMEISV), 4))
    assert sc.sent_s6a() == []
    (csr,) = sc.sent_s11()
    return smc, csr


def _finish(sc: Scenario, csr: Any) -> tuple[Any, Any]:
    sc.answer_create_session(csr)
    (ics,) = sc.sent_s1()
    (accept,) = sc.received()
    sc.s1(s1ap.initial_context_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id,
                                              [(5, "127.0.1.1", 0x9000)]))
    (mbr,) = sc.sent_s11()
    sc.answer_s11(mbr, "ModifyBearerRequest")
    sc.uplink(sc.protect(nas.attach_complete(nas.activate_default_eps_bearer_context_accept(5, 1))))
    return ics, accept


def _authenticate(sc: Scenario) -> Any:
    """AIR -> AIA -> Authentication -> SMC (real algorithms); returns the AIR."""
    (air,) = sc.sent_s6a()
    sc.answer_air(air)
    (auth,) = sc.received()
    sc.uplink(sc.ue_response(auth))
    (pdu,) = sc.downlink_nas()
    algs = nas.decode(pdu).fields["selected_nas_security_algorithms"]
    sc.ue_sec = NasSecurityContext.from_kasme(sc.ksi, sc.kasme, algs["eia"], algs["eea"])
    assert nas.decode(pdu, sc.ue_sec, DOWNLINK).fields["mac_valid"]
    assert algs == {"eea": 2, "eia": 2}
    sc.uplink(sc.protect(nas.security_mode_complete(IMEISV), 4))
    return air


def _reject_cause(sc: Scenario) -> int:
    (reject,) = sc.received()
    assert reject.name == "AttachReject"
    return int(reject.fields["emm_cause"])


# ------------------------------------------------------------------ emergency-unauth


def test_emergency_unauth_no_diameter_null_algorithms_uimsi() -> None:
    sc = _scenario("emergency-unauth")
    _emergency_attach(sc, apn="internet")
    assert sc.sent_s6a() == []
    smc, csr = _complete_unauth(sc)
    assert smc.fields["selected_nas_security_algorithms"] == {"eea": 0, "eia": 0}
    assert smc.fields["security_header_type"] == 3
    assert smc.fields[nas.KSI] == 0
    assert smc.fields["mac"] == bytes(4)
    f = csr.fields
    assert f["imsi"] == IMSI
    assert f["indication"]["uimsi"] is True
    assert f.get("msisdn") is None
    assert f["apn"] == "sos"  # from the MME's configuration, not the UE's "internet"
    assert f["bearer_contexts_to_be_created"][0]["bearer_qos"]["qci"] == 5
    assert f["bearer_contexts_to_be_created"][0]["bearer_qos"]["pl"] == 1
    ics, accept = _finish(sc, csr)
    assert ics.fields["SecurityKey"] == bytes(32)
    assert ics.fields["UESecurityCapabilities"] == {"encryptionAlgorithms": 0,
                                                    "integrityProtectionAlgorithms": 0}
    (erab,) = ics.fields["E-RABToBeSetupListCtxtSUReq"]
    assert erab["e-RABlevelQoSParameters"]["qCI"] == 5
    assert accept.fields["esm_message_container"]["fields"]["access_point_name"] == "sos"
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.attach_complete and ue.emergency and not ue.authenticated
    assert sc.received() == []  # no EMM INFORMATION: limited service shows no network name
    assert not any(isinstance(a, SendS6a) for a in sc.actions)


@pytest.mark.parametrize("mode", ["emergency-unauth", "emergency-auth"])
def test_emergency_create_session_selection_mode_network_not_verified(mode: str) -> None:
    """TS 29.274 §8.58 / TS 23.060 Annex A: the emergency APN is network provided, its
    subscription not verified (2), read off the wire."""
    sc = _scenario(mode)
    _emergency_attach(sc)
    if mode == "emergency-unauth":
        _smc, csr = _complete_unauth(sc)
    else:
        _authenticate(sc)
        (ulr,) = sc.sent_s6a()
        sc.answer_ulr(ulr)
        (csr,) = sc.sent_s11()
    wire = gtpv2c.decode(gtpv2c.encode(csr)).fields
    assert wire["apn"] == "sos"
    assert wire["selection_mode"] == gtpv2c.SELECTION_NETWORK_NOT_VERIFIED == 2


def test_emergency_unauth_ulr_never_sent_and_detach_without_purge() -> None:
    sc = _scenario("emergency-unauth")
    _emergency_attach(sc)
    _, csr = _complete_unauth(sc)
    _finish(sc, csr)
    sc.uplink(sc.protect(nas.detach_request(imsi=IMSI)))
    assert sc.sent_s6a() == []
    (dsr,) = sc.sent_s11()
    assert dsr.name == "DeleteSessionRequest"


def test_emergency_unauth_imei_only_when_all_ues_allowed() -> None:
    sc = _scenario("emergency-unauth", allow_imei_only=True)
    _emergency_attach(sc, imsi=None, imei="353490000000010")
    _, csr = _complete_unauth(sc)
    assert csr.fields.get("imsi") is None
    assert csr.fields["mei"] == IMEISV
    assert csr.fields["apn"] == "sos"


def test_emergency_unauth_imei_only_refused_5_when_imsi_required() -> None:
    sc = _scenario("emergency-unauth")
    _emergency_attach(sc, imsi=None, imei="353490000000010")
    assert _reject_cause(sc) == 5
    assert sc.sent_s6a() == [] and sc.sent_s11() == []


def test_emergency_unauth_try_aka_first_then_unauthenticated_on_failure() -> None:
    sc = _scenario("emergency-unauth", try_aka_first=True)
    _emergency_attach(sc)
    (air,) = sc.sent_s6a()
    sc.answer_air(air, experimental_result=5001)  # user unknown
    assert "policy.fallback.unauth" in sc.log_kinds()
    smc, csr = _complete_unauth(sc)
    assert smc.fields["selected_nas_security_algorithms"] == {"eea": 0, "eia": 0}
    assert csr.fields["indication"]["uimsi"] is True


def test_emergency_unauth_try_aka_first_authenticated_when_it_works() -> None:
    sc = _scenario("emergency-unauth", try_aka_first=True)
    _emergency_attach(sc)
    _authenticate(sc)
    (ulr,) = sc.sent_s6a()
    assert ulr.name == "ULR"
    sc.answer_ulr(ulr)
    (csr,) = sc.sent_s11()
    assert csr.fields["msisdn"] == MSISDN
    assert not (csr.fields.get("indication") or {}).get("uimsi")
    assert csr.fields["apn"] == "sos"


# ------------------------------------------------------------------ emergency-auth


def test_emergency_auth_air_ulr_msisdn_emergency_apn_only() -> None:
    sc = _scenario("emergency-auth")
    _emergency_attach(sc, apn="internet")
    air = _authenticate(sc)
    assert air.name == "AIR"
    assert diameter.avp(air, "Destination-Realm") == HOME_PLMN.realm
    (ulr,) = sc.sent_s6a()
    assert ulr.name == "ULR"
    # TS 29.272 §5.2.1.1.2 / §7.3.7: an emergency attach is an initial attach, read off the wire.
    flags = diameter.avp(diameter.decode(diameter.encode(ulr)), "ULR-Flags")
    assert flags == s6a.UlrFlags.S6A_S6D_INDICATOR | s6a.UlrFlags.INITIAL_ATTACH_INDICATOR
    sc.answer_ulr(ulr)  # the subscription offers "internet" only: not used
    (csr,) = sc.sent_s11()
    assert csr.fields["imsi"] == IMSI and csr.fields["msisdn"] == MSISDN
    assert not (csr.fields.get("indication") or {}).get("uimsi")
    assert csr.fields["apn"] == "sos"
    assert csr.fields["bearer_contexts_to_be_created"][0]["bearer_qos"]["qci"] == 5
    ics, accept = _finish(sc, csr)
    assert ics.fields["SecurityKey"] != bytes(32)
    assert accept.fields["esm_message_container"]["fields"]["access_point_name"] == "sos"
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.emergency and ue.authenticated and ue.attach_complete


def test_emergency_auth_normal_pdn_request_rejected_32() -> None:
    sc = _scenario("emergency-auth")
    _emergency_attach(sc)
    _authenticate(sc)
    (ulr,) = sc.sent_s6a()
    sc.answer_ulr(ulr)
    (csr,) = sc.sent_s11()
    _finish(sc, csr)
    sc.uplink(sc.protect(nas.pdn_connectivity_request(pti=2, apn="internet")))
    (rej,) = sc.received()
    assert rej.name == "PDNConnectivityReject" and rej.fields["esm_cause"] == 32
    sc.uplink(sc.protect(nas.pdn_connectivity_request(pti=3, request_type=SOS)))
    (rej,) = sc.received()
    assert rej.fields["esm_cause"] == 55
    assert sc.sent_s11() == []


def test_emergency_auth_authentication_failure_is_not_bypassed() -> None:
    sc = _scenario("emergency-auth")
    _emergency_attach(sc)
    (air,) = sc.sent_s6a()
    sc.answer_air(air, experimental_result=5001)
    assert _reject_cause(sc) == 8
    assert sc.sent_s11() == []


def test_normal_attach_rejected_15_in_each_emergency_only_mode() -> None:
    for mode in ("emergency-auth", "emergency-unauth"):
        sc = _scenario(mode)
        sc.attach_request()
        assert _reject_cause(sc) == 15, mode
        assert sc.sent_s6a() == [] and sc.sent_s11() == []
        assert any(e.kind == "policy.attach.refused" and e.data["mode"] == mode
                   for e in sc.logs)


# ------------------------------------------------------------------ off, full, own, per TA


def test_off_rejects_11_for_the_plmn_and_13_for_listed_tas() -> None:
    sc = _scenario("off")
    sc.attach_request()
    assert _reject_cause(sc) == 11
    cfg = MmeConfig(roaming={"policies": [
        {"home_plmn": "44010", "mode": "full"},
        {"home_plmn": "44010", "tacs": [1], "mode": "off"}]})
    sc = Scenario(cfg=cfg)
    sc.s1_setup()
    sc.attach_request()
    assert _reject_cause(sc) == 13
    sc2 = Scenario(cfg=cfg)
    sc2.s1_setup()
    _emergency_attach(sc2)
    assert _reject_cause(sc2) == 13


def test_tac_rule_wins_over_plmn_rule() -> None:
    cfg = MmeConfig(roaming={"policies": [
        {"home_plmn": "44010", "mode": "off"},
        {"home_plmn": "44010", "tacs": [1], "mode": "emergency-unauth"}]})
    sc = Scenario(cfg=cfg)
    sc.s1_setup()
    _emergency_attach(sc)
    _, csr = _complete_unauth(sc)
    assert csr.fields["apn"] == "sos"


def test_full_mode_emergency_attach_is_authenticated() -> None:
    sc = _scenario("full")
    _emergency_attach(sc)
    _authenticate(sc)
    (ulr,) = sc.sent_s6a()
    sc.answer_ulr(ulr)
    (csr,) = sc.sent_s11()
    assert csr.fields["apn"] == "sos" and csr.fields["msisdn"] == MSISDN


def test_own_subscribers_unaffected_by_any_policy() -> None:
    own_realm = Plmn("440", "20").realm
    for mode in ("off", "emergency-auth", "emergency-unauth"):
        cfg = MmeConfig(
            roaming={"policies": [{"home_plmn": "44010", "mode": mode},
                                  {"home_plmn": "44020", "mode": "off"}]},
            diameter_routes=[{"realm": own_realm, "host": "hss.own",
                              "peer": {"host": "127.0.0.9", "port": 3868}}])
        sc = Scenario(cfg=cfg)
        sc.s1_setup()
        sc.attach_request(imsi=OWN_IMSI)
        (send,) = [a for a in sc.actions if isinstance(a, SendS6a)]
        assert send.msg.name == "AIR" and send.realm == own_realm, mode


def test_policy_changed_at_run_time_applies_to_the_next_attach() -> None:
    sc = _scenario("full")
    sc.core.policy.set(Policy(HOME_PLMN, None, Mode.EMERGENCY_UNAUTH))
    sc.attach_request()
    assert _reject_cause(sc) == 15


def test_home_core_failed_switches_full_to_emergency_auth() -> None:
    sc = _scenario("full")
    sc.core.policy.home_core_failed.add(HOME_PLMN)
    sc.attach_request()
    assert _reject_cause(sc) == 15


# ------------------------------------------------------------------ home HSS failure


def test_fallback_when_hss_stops_answering_and_back_again() -> None:
    sc = _scenario("emergency-auth", fallback_unauth_when_hss_down=True)
    _emergency_attach(sc)
    (air,) = sc.sent_s6a()
    sid = diameter.avp(air, "Session-Id")
    assert not [k for k in sc.timers if k[0] == "S6a"]  # the peer machine's timeout only
    sc.feed(S6aFailed(sid, "request timeout"))  # no AIA within diameter_request_timeout_s
    kinds = sc.log_kinds()
    assert "mme.s6a.peer_down" in kinds and "policy.fallback.unauth" in kinds
    _, csr = _complete_unauth(sc)
    assert csr.fields["indication"]["uimsi"] is True
    # a second UE while the HSS is held down: no Diameter at all
    sc2 = Scenario(cfg=sc.cfg)
    sc2.core = sc.core
    sc2.enb_ue_id, sc2.now = 8, sc.now + 1
    _emergency_attach(sc2, imsi="440100000000002")
    assert sc2.sent_s6a() == []
    assert _take_null_smc(sc2).fields["selected_nas_security_algorithms"] == {"eea": 0,
                                                                               "eia": 0}
    # the HSS answers again (watchdog back to OKAY): authenticated service resumes
    sc.feed(S6aPeerUp(HOME_PLMN.realm))
    assert "mme.s6a.peer_up" in sc.log_kinds()
    sc3 = Scenario(cfg=sc.cfg)
    sc3.core = sc.core
    sc3.enb_ue_id, sc3.now = 9, sc.now + 2
    _emergency_attach(sc3, imsi="440100000000003")
    (air3,) = sc3.sent_s6a()
    assert air3.name == "AIR"


def test_hss_down_hold_expires_after_retry_interval() -> None:
    sc = _scenario("emergency-auth", fallback_unauth_when_hss_down=True)
    sc.core.now = sc.now
    sc.core.mark_s6a_down(HOME_PLMN.realm, "request timeout")
    assert sc.core.hss_down(HOME_PLMN.realm)
    sc.core.now = sc.now + sc.cfg.hss_retry_after_s + 1
    assert not sc.core.hss_down(HOME_PLMN.realm)


def test_emergency_auth_without_fallback_rejects_17_when_hss_silent() -> None:
    sc = _scenario("emergency-auth")
    _emergency_attach(sc)
    (air,) = sc.sent_s6a()
    sc.feed(S6aFailed(diameter.avp(air, "Session-Id"), "request timeout"))
    assert _reject_cause(sc) == 17
    assert not any(isinstance(a, SendS11) for a in sc.actions)
