"""One valid instance of every message corenet encodes, per protocol.

Used by the codec benchmark, by `corenet pcaps` (a reference capture holding one of each message)
and by the conformance tests that read that capture with tshark. Values follow the reference
topology: home PLMN 440-10, rescuer 440-20.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corenet.codecs import cx, diameter, gtpv2c, nas, pcc, s1ap, s6a
from corenet.codecs.base import Message
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext

HOME = Plmn("440", "10")
RESCUER = Plmn("440", "20")
IMSI = "440100000000001"
MSISDN = "819010000001"
MME_HOST, MME_REALM = "mme.epc.mnc020.mcc440.3gppnetwork.org", "epc.mnc020.mcc440.3gppnetwork.org"
HSS_HOST, HSS_REALM = "hss.epc.mnc010.mcc440.3gppnetwork.org", "epc.mnc010.mcc440.3gppnetwork.org"
SCSCF = "sip:scscf.ims.mnc010.mcc440.3gppnetwork.org"
SCSCF_HOST, SCSCF_REALM = "scscf.ims.mnc010.mcc440.3gppnetwork.org", "ims.mnc010.mcc440.3gppnetwork.org"
IMPI = "440100000000001@ims.mnc010.mcc440.3gppnetwork.org"
IMPU = "sip:+819010000001@ims.mnc010.mcc440.3gppnetwork.org"
PCRF = pcc.Origin("pcrf.epc.mnc020.mcc440.3gppnetwork.org", MME_REALM)
PGW = pcc.Origin("pgw.epc.mnc020.mcc440.3gppnetwork.org", MME_REALM)
PCSCF = pcc.Origin("pcscf.ims.mnc020.mcc440.3gppnetwork.org", MME_REALM)
UE_IPV4, REMOTE_IPV4 = "10.45.0.2", "10.46.0.7"
KASME = bytes(range(32))
RAND = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
AUTN = bytes.fromhex("55f328b43577b9b94a9ffac354dfafb3")
# TS 24.008 §10.5.6.12: create new TFT, one downlink filter matching remote 192.168.0.1/32.
TFT = bytes.fromhex("21100109" "10c0a80001ffffffff")
# TS 24.008 §10.5.6.12: the voice bearer's TFT, RTP downlink and uplink with a remote
# 10.46.0.7:40000, local port 50000, UDP (as corenet.codecs.tft builds it from Flow-Descriptions)
VOICE_TFT = bytes.fromhex("22110a11100a2e0007ffffffff301140c350509c40"
                          "220b11100a2e0007ffffffff301140c350509c40")
GUTI = nas.Guti(plmn=RESCUER, mme_group_id=0x8001, mme_code=1, m_tmsi=0xC0000001)


@dataclass(frozen=True)
class Sample:
    protocol: str
    name: str
    data: bytes
    direction: str  # "uplink" / "downlink" for S1AP and NAS; "request" / "answer" otherwise


def nas_samples() -> list[tuple[str, bytes, int]]:
    """(name, bytes, direction) for each NAS message, plain (security header type 0)."""
    pdn = nas.pdn_connectivity_request(pti=1, request_type=1, pdn_type=3, apn="internet")
    emergency_pdn = nas.pdn_connectivity_request(pti=2, request_type=4, pdn_type=1)
    act = nas.activate_default_eps_bearer_context_request(
        ebi=5, pti=1, qci=9, apn="internet", ipv4="10.45.0.2",
        apn_ambr={"uplink": 300, "downlink": 300})
    numbers = nas.emergency_number_list(
        [("110", ["police"]), ("118", ["marine_guard"]), ("119", ["fire_brigade", "ambulance"])])
    tai = nas.Tai(plmn=RESCUER, tac=1)
    ul, dl = UPLINK, DOWNLINK
    return [
        ("AttachRequest", nas.attach_request(imsi=IMSI, ue_net_cap=bytes.fromhex("e0e0"), esm_container=pdn), ul),
        ("AttachRequest", nas.attach_request(attach_type=6, imsi=IMSI, ue_net_cap=bytes.fromhex("e0e0"), esm_container=emergency_pdn), ul),
        ("AttachAccept", nas.attach_accept(tai_list=[tai], esm_container=act, guti=GUTI, emergency_numbers=numbers), dl),
        ("AttachComplete", nas.attach_complete(nas.activate_default_eps_bearer_context_accept(ebi=5)), ul),
        ("AttachReject", nas.attach_reject(emm_cause=11), dl),
        ("AuthenticationRequest", nas.authentication_request(ksi=0, rand=RAND, autn=AUTN), dl),
        ("AuthenticationResponse", nas.authentication_response(res=bytes.fromhex("a54211d5e3ba50bf")), ul),
        ("AuthenticationFailure", nas.authentication_failure(emm_cause=21, auts=bytes(range(14))), ul),
        ("AuthenticationReject", nas.authentication_reject(), dl),
        ("SecurityModeCommand", nas.security_mode_command(eea=2, eia=2, ksi=0, ue_sec_cap=bytes.fromhex("e0e0"), imeisv_request=True), dl),
        ("SecurityModeComplete", nas.security_mode_complete(imeisv="3534900698733019"), ul),
        ("SecurityModeReject", nas.security_mode_reject(emm_cause=23), ul),
        ("IdentityRequest", nas.identity_request(identity_type=1), dl),
        ("IdentityResponse", nas.identity_response(imsi=IMSI), ul),
        ("DetachRequest", nas.detach_request(detach_type=1, switch_off=False, ksi=0, guti=GUTI), ul),
        ("DetachRequest", nas.detach_request_network(detach_type=2, emm_cause=7), dl),
        ("DetachAccept", nas.detach_accept(), dl),
        ("EMMInformation", nas.emm_information(full_name="JPN-ROAM X", short_name="JPN-ROAM X"), dl),
        ("EMMStatus", nas.emm_status(emm_cause=97), ul),
        ("ServiceReject", nas.service_reject(emm_cause=22, t3346=40), dl),
        ("ExtendedServiceRequest", nas.extended_service_request(service_type=0, m_tmsi=GUTI.m_tmsi, ksi=0), ul),
        ("PDNConnectivityRequest", pdn, ul),
        ("PDNConnectivityReject", nas.pdn_connectivity_reject(pti=1, esm_cause=27), dl),
        ("ActivateDefaultEPSBearerContextRequest", act, dl),
        ("ActivateDefaultEPSBearerContextAccept", nas.activate_default_eps_bearer_context_accept(ebi=5), ul),
        ("ActivateDefaultEPSBearerContextReject", nas.activate_default_eps_bearer_context_reject(ebi=5, esm_cause=31), ul),
        ("ESMStatus", nas.esm_status(ebi=5, pti=0, esm_cause=43), ul),
        ("PDNDisconnectRequest", nas.pdn_disconnect_request(pti=3, linked_ebi=6), ul),
        ("PDNDisconnectReject", nas.pdn_disconnect_reject(pti=3, esm_cause=49), dl),
        ("ActivateDedicatedEPSBearerContextRequest", nas.activate_dedicated_eps_bearer_context_request(
            ebi=6, linked_ebi=5, eps_qos={"qci": 1, "max_ul": 128, "max_dl": 128, "gbr_ul": 64, "gbr_dl": 64},
            tft=VOICE_TFT), dl),
        ("ActivateDedicatedEPSBearerContextAccept", nas.activate_dedicated_eps_bearer_context_accept(ebi=6), ul),
        ("ActivateDedicatedEPSBearerContextReject", nas.activate_dedicated_eps_bearer_context_reject(ebi=6, esm_cause=43), ul),
        ("DeactivateEPSBearerContextRequest", nas.deactivate_eps_bearer_context_request(ebi=6, esm_cause=36, pti=3), dl),
        ("DeactivateEPSBearerContextAccept", nas.deactivate_eps_bearer_context_accept(ebi=6, pti=3), ul),
    ]


def protected_nas_samples(eea: int = 2) -> list[tuple[str, bytes, int]]:
    """Security-protected NAS, header types 1-4 (TS 24.301 §9.3.1), with a fixed context."""
    ctx = NasSecurityContext.from_kasme(0, KASME, eia=2, eea=eea)
    smc = nas.security_mode_command(eea=eea, eia=2, ksi=0, ue_sec_cap=bytes.fromhex("e0e0"))
    return [
        ("SecurityModeCommand", nas.protect(smc, ctx, DOWNLINK, nas.SHT_INTEGRITY_NEW_CONTEXT), DOWNLINK),
        ("SecurityModeComplete", nas.protect(nas.security_mode_complete(), ctx, UPLINK, nas.SHT_INTEGRITY_CIPHERED_NEW_CONTEXT), UPLINK),
        ("EMMInformation", nas.protect(nas.emm_information(full_name="JPN-ROAM X", short_name="JPN-ROAM X"), ctx, DOWNLINK, nas.SHT_INTEGRITY_CIPHERED), DOWNLINK),
        ("DetachRequest", nas.protect(nas.detach_request(ksi=0, guti=GUTI), ctx, UPLINK, nas.SHT_INTEGRITY), UPLINK),
        # §8.2.25: security header type 1100, the short MAC over its first two octets
        ("ServiceRequest", nas.service_request(ksi=0, ctx=ctx), UPLINK),
    ]


def s1ap_samples() -> list[tuple[str, Message]]:
    attach = nas.attach_request(imsi=IMSI, ue_net_cap=bytes.fromhex("e0e0"),
                                esm_container=nas.pdn_connectivity_request(pti=1, pdn_type=1))
    auth = nas.authentication_request(ksi=0, rand=RAND, autn=AUTN)
    status = nas.emm_status(emm_cause=111)
    erab = s1ap.ERabToBeSetup(e_rab_id=5, qci=9, priority_level=8, transport_layer_address="127.0.0.4",
                              gtp_teid=0x1001, nas_pdu=status)
    return [
        ("S1SetupRequest", s1ap.s1_setup_request(global_enb_id=0x101, enb_name="enb1", plmn=RESCUER, tacs=[1], broadcast_plmns=[RESCUER])),
        ("S1SetupResponse", s1ap.s1_setup_response(mme_name="mme01", served_plmns=[RESCUER], mme_group_id=0x8001, mme_code=1, relative_capacity=127)),
        ("S1SetupFailure", s1ap.s1_setup_failure(("misc", "unknown-PLMN"))),
        ("InitialUEMessage", s1ap.initial_ue_message(enb_ue_id=1, nas_pdu=attach, tai_plmn=RESCUER, tac=1, ecgi_plmn=RESCUER, cell_id=0x10101)),
        ("DownlinkNASTransport", s1ap.downlink_nas_transport(mme_ue_id=1, enb_ue_id=1, nas_pdu=auth)),
        ("UplinkNASTransport", s1ap.uplink_nas_transport(mme_ue_id=1, enb_ue_id=1, nas_pdu=status, tai_plmn=RESCUER, tac=1, ecgi_plmn=RESCUER, cell_id=0x10101)),
        ("InitialContextSetupRequest", s1ap.initial_context_setup_request(
            mme_ue_id=1, enb_ue_id=1, ue_ambr_dl=300_000, ue_ambr_ul=300_000, e_rabs=[erab],
            encryption_algorithms=0xC000, integrity_protection_algorithms=0xC000, security_key=bytes(32))),
        ("InitialContextSetupResponse", s1ap.initial_context_setup_response(mme_ue_id=1, enb_ue_id=1, e_rabs=[(5, "127.0.1.1", 0x2001)])),
        ("InitialContextSetupFailure", s1ap.initial_context_setup_failure(mme_ue_id=1, enb_ue_id=1, cause=("radioNetwork", "unspecified"))),
        ("UEContextReleaseRequest", s1ap.ue_context_release_request(mme_ue_id=1, enb_ue_id=1, cause=("radioNetwork", "user-inactivity"))),
        ("UEContextReleaseCommand", s1ap.ue_context_release_command(mme_ue_id=1, enb_ue_id=1, cause=("nas", "normal-release"))),
        ("UEContextReleaseComplete", s1ap.ue_context_release_complete(mme_ue_id=1, enb_ue_id=1)),
        ("E-RABSetupRequest", s1ap.e_rab_setup_request(mme_ue_id=1, enb_ue_id=1, e_rabs=[erab])),
        ("E-RABSetupRequest", s1ap.e_rab_setup_request(mme_ue_id=1, enb_ue_id=1, e_rabs=[s1ap.ERabToBeSetup(
            e_rab_id=6, qci=1, priority_level=2, transport_layer_address="127.0.0.4", gtp_teid=0x1002, nas_pdu=status,
            pre_emption_capability="may-trigger-pre-emption", gbr=(128_000, 128_000, 64_000, 64_000))])),
        ("E-RABSetupResponse", s1ap.e_rab_setup_response(mme_ue_id=1, enb_ue_id=1, e_rabs=[(6, "127.0.1.1", 0x2002)])),
        ("E-RABReleaseCommand", s1ap.e_rab_release_command(mme_ue_id=1, enb_ue_id=1, e_rabs=[(6, ("nas", "normal-release"))], nas_pdu=status)),
        ("E-RABReleaseResponse", s1ap.e_rab_release_response(mme_ue_id=1, enb_ue_id=1, released=[6])),
        ("ErrorIndication", s1ap.error_indication(("protocol", "transfer-syntax-error"), mme_ue_id=1, enb_ue_id=1)),
        ("Reset", s1ap.reset(("misc", "om-intervention"))),
        ("ResetAcknowledge", s1ap.reset_acknowledge()),
        ("WriteReplaceWarningRequest", _warning_request()),
        ("WriteReplaceWarningResponse", s1ap.write_replace_warning_response(message_identifier=0x1102, serial_number=0x3001)),
    ]


def _warning_request() -> Message:
    from corenet.codecs import cbs

    text = "Earthquake warning. Evacuate to higher ground."
    return s1ap.write_replace_warning_request(
        message_identifier=cbs.MessageIdentifier.ETWS_EARTHQUAKE_AND_TSUNAMI
        if hasattr(cbs.MessageIdentifier, "ETWS_EARTHQUAKE_AND_TSUNAMI") else 0x1102,
        serial_number=cbs.serial_number(gs=2, message_code=1, update_number=0),
        repetition_period=10, number_of_broadcasts_requested=0,
        warning_type=cbs.warning_type(2), warning_message_contents=cbs.warning_message_contents(text),
        data_coding_scheme=cbs.data_coding_scheme_for(text),
        warning_area_tais=[(RESCUER, 1)],
    )


def diameter_samples() -> list[tuple[str, Message]]:
    sid = diameter.session_id(MME_HOST, 1, 1)
    cer = diameter.cer(MME_HOST, MME_REALM, ["127.0.0.2"], hop_by_hop=0x100, end_to_end=0x200)
    dwr = diameter.dwr(MME_HOST, MME_REALM, hop_by_hop=0x100, end_to_end=0x200)
    dpr = diameter.dpr(MME_HOST, MME_REALM, hop_by_hop=0x100, end_to_end=0x200)
    air = s6a.air(sid, MME_HOST, MME_REALM, HSS_REALM, IMSI, RESCUER, num_vectors=1, hop_by_hop=0x100, end_to_end=0x200)
    ulr = s6a.ulr(sid, MME_HOST, MME_REALM, HSS_REALM, IMSI, RESCUER, hop_by_hop=0x100, end_to_end=0x200)
    pur = s6a.pur(sid, MME_HOST, MME_REALM, HSS_REALM, IMSI, hop_by_hop=0x100, end_to_end=0x200)
    hss_sid = diameter.session_id(HSS_HOST, 1, 2)
    clr = s6a.clr(hss_sid, HSS_HOST, HSS_REALM, "mme-old.epc.mnc020.mcc440.3gppnetwork.org", MME_REALM, IMSI,
                  cancellation_type=s6a.CancellationType.MME_UPDATE_PROCEDURE, hop_by_hop=0x100, end_to_end=0x200)
    sub = subscription_data()
    idr = s6a.idr(hss_sid, HSS_HOST, HSS_REALM, MME_HOST, MME_REALM, IMSI, sub, hop_by_hop=0x100, end_to_end=0x200)
    vector = s6a.EutranVector(rand=RAND, xres=bytes(8), autn=AUTN, kasme=KASME)
    return [
        ("CER", cer), ("CEA", diameter.cea(cer, HSS_HOST, HSS_REALM, ["127.0.0.3"])),
        ("DWR", dwr), ("DWA", diameter.dwa(dwr, HSS_HOST, HSS_REALM)),
        ("DPR", dpr), ("DPA", diameter.dpa(dpr, HSS_HOST, HSS_REALM)),
        ("AIR", air), ("AIA", s6a.aia(air, HSS_HOST, HSS_REALM, result_code=2001, vectors=[vector])),
        ("ULR", ulr), ("ULA", s6a.ula(ulr, HSS_HOST, HSS_REALM, result_code=2001, ula_flags=1, subscription_data=sub)),
        ("PUR", pur), ("PUA", s6a.pua(pur, HSS_HOST, HSS_REALM, result_code=2001)),
        ("CLR", clr), ("CLA", s6a.cla(clr, MME_HOST, MME_REALM, result_code=2001)),
        ("IDR", idr), ("IDA", s6a.ida(idr, MME_HOST, MME_REALM, result_code=2001)),
        *cx_samples(), *gx_samples(), *rx_samples(),
    ]


def cx_samples() -> list[tuple[str, Message]]:
    """Cx between the home S-CSCF and the HSS (TS 29.229 §6.1): UAR/UAA, MAR/MAA with one
    IMS AKA vector (TS 33.203 §6.1), SAR/SAA with the IMS subscription (TS 29.228 Annex D)."""
    sid = diameter.session_id(SCSCF_HOST, 1, 3)
    uar = cx.uar(sid, SCSCF_HOST, SCSCF_REALM, HSS_REALM, IMPI, IMPU,
                 "ims.mnc020.mcc440.3gppnetwork.org", hop_by_hop=0x100, end_to_end=0x200)
    mar = cx.mar(sid, SCSCF_HOST, SCSCF_REALM, HSS_REALM, IMPI, IMPU, SCSCF,
                 hop_by_hop=0x100, end_to_end=0x200)
    sar = cx.sar(sid, SCSCF_HOST, SCSCF_REALM, HSS_REALM, IMPI, IMPU, SCSCF,
                 cx.ServerAssignmentType.REGISTRATION, hop_by_hop=0x100, end_to_end=0x200)
    vector = cx.ImsAkaVector(rand=RAND, autn=AUTN, xres=bytes.fromhex("a54211d5e3ba50bf"),
                             ck=bytes(range(16)), ik=bytes(range(16, 32)))
    tel = "tel:+" + MSISDN
    return [
        ("UAR", uar), ("UAA", cx.answer(uar, HSS_HOST, HSS_REALM, result_code=2001,
                                        extra=[("Server-Name", SCSCF)])),
        ("MAR", mar), ("MAA", cx.answer(mar, HSS_HOST, HSS_REALM, result_code=2001, extra=[
            ("User-Name", IMPI), ("Public-Identity", IMPU), ("SIP-Number-Auth-Items", 1),
            ("SIP-Auth-Data-Item", vector.to_avps())])),
        ("SAR", sar), ("SAA", cx.answer(sar, HSS_HOST, HSS_REALM, result_code=2001, extra=[
            ("User-Name", IMPI), ("User-Data", cx.user_data(IMPI, [IMPU, tel]))])),
    ]


def _ids(msg: Message) -> Message:
    """Fixed Hop-by-Hop and End-to-End identifiers (a sending peer sets its own)."""
    msg.fields.update(hop_by_hop=0x100, end_to_end=0x200)
    return msg


def gx_samples() -> list[tuple[str, Message]]:
    """Gx between the P-GW and the PCRF (TS 29.212 §5.6): CCR/CCA initial with the default
    bearer's QoS, RAR/RAA installing a voice (QCI 1) PCC rule (§4.5.2, §5.3.4)."""
    sid = diameter.session_id(PGW.host, 1, 4)
    ccr = _ids(pcc.request("CCR", sid, PGW, PCRF.realm, [
        ("CC-Request-Type", pcc.CcRequestType.INITIAL_REQUEST), ("CC-Request-Number", 0),
        *pcc.subscription_ids(IMSI, MSISDN), *pcc.ue_address_avps(UE_IPV4, None),
        ("IP-CAN-Type", pcc.IP_CAN_TYPE_3GPP_EPS), ("RAT-Type", pcc.RAT_TYPE_EUTRAN),
        *pcc.user_equipment("3534900698733019"), pcc.default_bearer_qos(9, 8),
        ("Called-Station-Id", "internet")], dest_host=PCRF.host))
    cca = pcc.answer(ccr, PCRF, 2001, [
        ("Bearer-Control-Mode", pcc.BEARER_CONTROL_MODE_UE_NW), pcc.default_bearer_qos(9, 8)])
    flows = [(f"permit out 17 from {REMOTE_IPV4} 40000 to {UE_IPV4} 50000",
              pcc.FLOW_DIRECTION_DOWNLINK),
             (f"permit out 17 from {UE_IPV4} 50000 to {REMOTE_IPV4} 40000",
              pcc.FLOW_DIRECTION_UPLINK)]
    rule = ("Charging-Rule-Definition", [
        ("Charging-Rule-Name", b"af-1-1-1"),
        *[("Flow-Information", [("Flow-Description", f), ("Flow-Direction", d)])
          for f, d in flows],
        ("Flow-Status", pcc.FLOW_STATUS_ENABLED),
        ("QoS-Information", pcc.qos_information(
            1, 9, preemption_capability=True, preemption_vulnerability=True,
            mbr_ul=41_000, mbr_dl=41_000, gbr_ul=41_000, gbr_dl=41_000))])
    rar = _ids(pcc.request("RAR", sid, PCRF, PGW.realm, [
        ("Re-Auth-Request-Type", pcc.AUTHORIZE_ONLY), ("Charging-Rule-Install", [rule])],
        dest_host=PGW.host))
    return [("CCR", ccr), ("CCA", cca), ("RAR", rar), ("RAA", pcc.answer(rar, PGW, 2001))]


def audio_component(ue: str, remote: str) -> tuple[str, Any]:
    """Media-Component-Description (TS 29.214 §5.3.8) of an RTP audio stream between the UE's
    port 50000 and a remote party's 40000, 41 kbit/s each way."""
    return ("Media-Component-Description", [
        ("Media-Component-Number", 1),
        ("Media-Sub-Component", [
            ("Flow-Number", 1),
            ("Flow-Description", f"permit out 17 from {remote} 40000 to {ue} 50000"),
            ("Flow-Description", f"permit in 17 from {ue} 50000 to {remote} 40000")]),
        ("Media-Type", pcc.MEDIA_TYPE_AUDIO),
        ("Max-Requested-Bandwidth-UL", 41_000), ("Max-Requested-Bandwidth-DL", 41_000)])


def rx_samples() -> list[tuple[str, Message]]:
    """Rx between the P-CSCF and the PCRF (TS 29.214 §5.6): AAR/AAA for an emergency call's
    audio (§4.4.1), STR/STA at its end (§4.4.4)."""
    sid = diameter.session_id(PCSCF.host, 1, 5)
    media = audio_component(UE_IPV4, REMOTE_IPV4)
    aar = _ids(pcc.request("AAR", sid, PCSCF, PCRF.realm, [
        *pcc.ue_address_avps(UE_IPV4, None), media, ("Service-URN", b"sos"),
        ("AF-Requested-Data", pcc.EPC_LEVEL_IDENTITIES)]))
    aaa = pcc.answer(aar, PCRF, 2001, [("IP-CAN-Type", pcc.IP_CAN_TYPE_3GPP_EPS),
                                       ("RAT-Type", pcc.RAT_TYPE_EUTRAN),
                                       *pcc.subscription_ids(IMSI, MSISDN)])
    str_ = _ids(pcc.request("STR", sid, PCSCF, PCRF.realm,
                            [("Termination-Cause", pcc.DIAMETER_LOGOUT)]))
    return [("AAR", aar), ("AAA", aaa), ("STR", str_), ("STA", pcc.answer(str_, PCRF, 2001))]


def subscription_data() -> s6a.SubscriptionData:
    return s6a.SubscriptionData(
        msisdn=MSISDN, ambr=s6a.Ambr(50_000_000, 100_000_000), default_context_identifier=1,
        apn_configurations=(
            s6a.ApnConfiguration(1, "internet", ambr=s6a.Ambr(50_000_000, 100_000_000)),
            s6a.ApnConfiguration(2, "ims", qos_class_identifier=5, priority_level=1),
        ),
    )


def gtpv2c_samples() -> list[tuple[str, Message]]:
    g = gtpv2c
    qos = g.bearer_qos(9, 8)
    csr = g.create_session_request(
        1, teid=0, imsi=IMSI, msisdn=MSISDN, mei="3534900698733019",
        uli=(RESCUER, 1, RESCUER, 0x1010101), serving_network=RESCUER, rat_type=6,
        sender_fteid=(g.FTEID_S11_MME, 0x1, "127.0.0.2"), pgw_fteid=(g.FTEID_S5S8C_PGW, 0, "127.0.0.5"),
        apn="internet", selection_mode=0, pdn_type=1, paa={"pdn_type": 1, "ipv4": "0.0.0.0"},
        apn_restriction=0, ambr=(300, 300), bearer_contexts=[{"ebi": 5, "bearer_qos": qos}])
    csr_uimsi = g.create_session_request(
        2, teid=0, imsi=IMSI, uli=(RESCUER, 1, RESCUER, 0x1010101), serving_network=RESCUER,
        indication={"uimsi": True}, sender_fteid=(g.FTEID_S11_MME, 0x2, "127.0.0.2"),
        pgw_fteid=(g.FTEID_S5S8C_PGW, 0, "127.0.0.5"), apn="sos", selection_mode=0, pdn_type=1,
        paa={"pdn_type": 1, "ipv4": "0.0.0.0"}, ambr=(300, 300),
        bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(5, 1)}])
    created = [{"ebi": 5, "cause": 16, "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 0x1001, "127.0.0.4"),
                "bearer_qos": qos, "charging_id": 1}]
    return [
        ("EchoRequest", g.echo_request(100, 1)), ("EchoResponse", g.echo_response(100, 1)),
        ("CreateSessionRequest", csr), ("CreateSessionRequest", csr_uimsi),
        ("CreateSessionResponse", g.create_session_response(
            1, teid=0x1, sender_fteid=(g.FTEID_S11S4_SGW, 0x10, "127.0.0.4"),
            pgw_fteid=(g.FTEID_S5S8C_PGW, 0x20, "127.0.0.5"), paa={"pdn_type": 1, "ipv4": "10.45.0.2"},
            apn_restriction=0, ambr=(300, 300), bearer_contexts=created)),
        ("ModifyBearerRequest", g.modify_bearer_request(
            3, teid=0x10, bearer_contexts=[{"ebi": 5, "s1u_enb_fteid": (g.FTEID_S1U_ENB, 0x2001, "127.0.1.1")}])),
        ("ModifyBearerResponse", g.modify_bearer_response(
            3, teid=0x1, bearer_contexts=[{"ebi": 5, "cause": 16, "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 0x1001, "127.0.0.4")}])),
        ("DeleteSessionRequest", g.delete_session_request(4, teid=0x10, linked_ebi=5)),
        ("DeleteSessionResponse", g.delete_session_response(4, teid=0x1)),
        ("CreateBearerRequest", g.create_bearer_request(
            5, teid=0x1, linked_ebi=5, bearer_contexts=[{"ebi": 0, "tft": TFT, "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 0x1002, "127.0.0.4"),
                                                         "bearer_qos": g.bearer_qos(1, 2), "charging_id": 2}])),
        ("CreateBearerRequest", g.create_bearer_request(
            7, teid=0x1, linked_ebi=5, bearer_contexts=[{"ebi": 0, "tft": VOICE_TFT, "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 0x1003, "127.0.0.4"),
                                                         "s5s8u_pgw_fteid": (g.FTEID_S5S8U_PGW, 0x1004, "127.0.0.5"),
                                                         "bearer_qos": g.bearer_qos(1, 2, pci=0, pvi=1, mbr=(128, 128), gbr=(64, 64)),
                                                         "charging_id": 3}])),
        ("CreateBearerResponse", g.create_bearer_response(
            5, teid=0x10, bearer_contexts=[{"ebi": 6, "cause": 16, "s1u_enb_fteid": (g.FTEID_S1U_ENB, 0x2002, "127.0.1.1"),
                                            "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 0x1002, "127.0.0.4")}])),
        ("DeleteBearerRequest", g.delete_bearer_request(6, teid=0x1, ebis=[6])),
        ("DeleteBearerResponse", g.delete_bearer_response(6, teid=0x10, bearer_contexts=[{"ebi": 6, "cause": 16}])),
    ]


BUILDERS: dict[str, Callable[[], list[tuple[str, Message]]]] = {
    "s1ap": s1ap_samples,
    "diameter": diameter_samples,
    "gtpv2": gtpv2c_samples,
}
