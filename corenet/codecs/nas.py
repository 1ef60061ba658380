"""NAS for EPS (TS 24.301): EMM and ESM messages and the security protected wrapper.

Messages are encoded and decoded by pycrate (`pycrate_mobile.TS24301_EMM/ESM`); this module maps
them to `Message(protocol="nas", name, code, fields)`.

Conventions
- `name`: the TS 24.301 §8 message name without spaces ("AttachRequest",
  "ActivateDefaultEPSBearerContextRequest", "EMMInformation").
- `code`: the message type (§9.8), e.g. 0x41 AttachRequest, 0xd0 PDNConnectivityRequest. The two
  messages without a message type carry their first octet instead (security header type || PD):
  ServiceRequest 0xc7, SecurityProtectedNASMessage 0x17..0x47.
- `fields`: keyed by the TS 24.301 IE name in snake_case ("nas_key_set_identifier",
  "eps_mobile_identity", "esm_message_container"); values are Python values (see nas_ies):
  ints for causes, types and half-octet IEs, bytes for opaque value parts (UE network
  capability, DRX parameter, PCO), str for APNs and digit strings, dataclasses for GUTI/TAI/
  network names/emergency numbers, dicts for identities ({"type": "imsi", "value": "..."}).
  `nas_key_set_identifier` is the 4-bit IE value (TSC in bit 4; equal to the KSI for a native
  context). ESM messages always carry `eps_bearer_identity` and
  `procedure_transaction_identity`. The ESM message container is decoded into a nested
  {"name", "code", "fields"} dict. IEs that pycrate knows and this module does not map go to
  `fields["other_ies"]` keyed by the pycrate IE name, with their raw value part; they are
  encoded back as they are.
- Security protected messages (§9.1): see `decode`, `protect`, `unprotect`.

Errors: `decode` raises only `DecodeError("nas", cause, ...)` with the §7 / Annex A cause
(96, 97, 99, 100, 111; for ESM messages the ESM cause of the same number), `extra` holding
"pd" and, for ESM, "pti" and "ebi". Messages to be ignored (unknown protocol discriminator,
TS 24.007 §11.2.3.1.1; too short, TS 24.301 §7.2; reserved security header type, §9.3.1) raise
with cause None and extra {"discard": True}.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)

# isort: split
from pycrate_mobile import TS24301_EMM as EMM
from pycrate_mobile import TS24301_ESM as ESM
from pycrate_mobile.NASLTE import parse_NASLTE_MO, parse_NASLTE_MT

# isort: split

from corenet.codecs import nas_ies as ies
from corenet.codecs.base import Message
from corenet.codecs.nas_ies import (
    EmergencyNumber,
    Guti,
    NetworkNameValue,
    Tai,
    emergency_number_list,
    guti_identity,
    imei_identity,
    imeisv_identity,
    imsi_identity,
    tmsi_identity,
    ue_network_capability,
    ue_security_capability,
)
from corenet.codecs.selection import SECURITY_PROTOCOL, STATE, fast_path
from corenet.core.errors import DecodeError, EncodeError
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext

__all__ = [
    "DOWNLINK", "EmergencyNumber", "Guti", "NASCodec", "NetworkNameValue", "Tai", "UPLINK",
    "activate_default_eps_bearer_context_accept", "activate_default_eps_bearer_context_reject",
    "AttachAccepts", "activate_default_eps_bearer_context_request", "attach_accept",
    "attach_complete",
    "attach_reject", "attach_request", "authentication_failure", "authentication_reject",
    "authentication_request", "authentication_response", "build", "decode", "detach_accept",
    "detach_request", "detach_request_network", "emergency_number_list", "emm_information",
    "emm_status", "encode", "esm_information_request", "esm_information_response", "esm_status",
    "guti_identity", "identity_request", "identity_response", "imei_identity", "imeisv_identity",
    "imsi_identity", "pdn_connectivity_reject", "pdn_connectivity_request", "protect",
    "security_mode_command", "security_mode_complete", "security_mode_reject", "service_reject",
    "service_request", "extended_service_request",
    "tmsi_identity", "ue_network_capability", "ue_security_capability", "unprotect",
]

PROTOCOL = "nas"
_fast = fast_path(PROTOCOL)  # installed by corenet.codecs.fast.nas
_fast_header = fast_path(SECURITY_PROTOCOL)  # installed by corenet.codecs.fast.nas_ies
# pycrate logs a warning for every IE it cannot decode; on peer input that is a log flood the
# peer controls, and the outcome is already reported as a DecodeError or an ignored IE (§7.7.1)
logging.getLogger("pycrate_mobile.TS24007").setLevel(logging.ERROR)
# TS 24.007 §11.2.3.1.1 protocol discriminators
PD_ESM = 2
PD_EMM = 7
# TS 24.301 §9.3.1 security header types
SHT_PLAIN = 0
SHT_INTEGRITY = 1
SHT_INTEGRITY_CIPHERED = 2
SHT_INTEGRITY_NEW_CONTEXT = 3
SHT_INTEGRITY_CIPHERED_NEW_CONTEXT = 4
SHT_SERVICE_REQUEST = 12

# TS 24.301 §9.8 / Annex A causes used when decoding fails
CAUSE_INVALID_MANDATORY_INFORMATION = 96
CAUSE_MESSAGE_TYPE_NON_EXISTENT = 97
CAUSE_IE_NON_EXISTENT = 99
CAUSE_CONDITIONAL_IE_ERROR = 100
CAUSE_PROTOCOL_ERROR_UNSPECIFIED = 111

# ---------------------------------------------------------------------------------------------
# IE mapping: one field (or a few) <-> one pycrate IE value part
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ie:
    names: tuple[str, ...]  # the field name(s) carried by the IE
    pyc: str  # the pycrate IE name in the message class
    to_wire: Callable[..., Any]  # python value(s) -> value part (bytes) or half octet (int)
    from_wire: Callable[[Any], Any]  # value part -> python value (tuple when several names)
    mandatory: bool


def _m(name: str, pyc: str, to_wire: Callable[..., Any] = bytes,
       from_wire: Callable[[Any], Any] = bytes) -> _Ie:
    return _Ie((name,), pyc, to_wire, from_wire, True)


def _o(name: str, pyc: str, to_wire: Callable[..., Any] = bytes,
       from_wire: Callable[[Any], Any] = bytes) -> _Ie:
    return _Ie((name,), pyc, to_wire, from_wire, False)


def _half(value: int) -> int:
    if not 0 <= int(value) <= 15:
        raise ValueError(f"half-octet value {value} out of range")
    return int(value)


def _octet_to_wire(value: int) -> bytes:
    return bytes([int(value)])


def _octet_from_wire(raw: bytes) -> int:
    if len(raw) != 1:
        raise ValueError("one octet expected")
    return raw[0]


def _three_bits(raw: int) -> int:
    # the spare bit 4 of a half-octet IE is ignored by the receiver (TS 24.007 §11.2.1.1.4)
    return int(raw) & 0x7


def _fixed(length: int) -> Callable[[bytes], bytes]:
    def check(raw: bytes) -> bytes:
        if len(raw) != length:
            raise ValueError(f"{length} octets expected, got {len(raw)}")
        return bytes(raw)

    return check


def _detach_mo_to_wire(detach_type: int, switch_off: int) -> int:
    # TS 24.301 §9.9.3.7: bit 4 switch off, bits 1-3 type of detach
    return (int(bool(switch_off)) << 3) | (int(detach_type) & 0x7)


def _detach_mo_from_wire(raw: int) -> tuple[int, int]:
    return int(raw) & 0x7, int(raw) >> 3


def _esm_container_to_wire(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, Message):
        return encode(value)
    if isinstance(value, dict):
        if "raw" in value:
            return bytes(value["raw"])
        return encode(Message(PROTOCOL, value["name"], value["code"], value["fields"]))
    raise ValueError("ESM message container must be bytes, a Message or a Message dict")


KSI = "nas_key_set_identifier"
EMM_CAUSE = "emm_cause"
ESM_CAUSE = "esm_cause"
ESM_CONTAINER = "esm_message_container"
PCO = "protocol_configuration_options"
APN = "access_point_name"
TFT = "traffic_flow_template"  # TS 24.301 §9.9.4.16: the value part (corenet.codecs.tft)

_KSI_IE = _m(KSI, "NAS_KSI", _half, int)
_EMM_CAUSE_IE = _m(EMM_CAUSE, "EMMCause", _octet_to_wire, _octet_from_wire)
_ESM_CAUSE_IE = _m(ESM_CAUSE, "ESMCause", _octet_to_wire, _octet_from_wire)
_ESM_CONTAINER_IE = _m(ESM_CONTAINER, "ESMContainer", _esm_container_to_wire, bytes)
_PCO_IE = _o(PCO, "ProtConfig")
# EPS mobile identity (§9.9.3.12) to and from the wire
_EPS_ID_WIRE = (ies.eps_mobile_identity_to_wire, ies.eps_mobile_identity_from_wire)


@dataclass(frozen=True)
class _Spec:
    name: str
    code: int
    pd: int
    mo: type  # pycrate class for uplink (mobile originated)
    mt: type  # pycrate class for downlink (mobile terminated)
    ies: tuple[_Ie, ...]


def _emm(name: str, code: int, cls: type, *ies_: _Ie, mt: type | None = None) -> _Spec:
    return _Spec(name, code, PD_EMM, cls, mt or cls, ies_)


def _esm(name: str, code: int, cls: type, *ies_: _Ie) -> _Spec:
    return _Spec(name, code, PD_ESM, cls, cls, ies_)


_SPECS: tuple[_Spec, ...] = (
    # TS 24.301 §8.2.4
    _emm("AttachRequest", 0x41, EMM.EMMAttachRequest,
         _KSI_IE,
         _m("eps_attach_type", "EPSAttachType", _half, _three_bits),
         _m("eps_mobile_identity", "EPSID", ies.eps_mobile_identity_to_wire,
            ies.eps_mobile_identity_from_wire),
         _m("ue_network_capability", "UENetCap"),
         _ESM_CONTAINER_IE,
         _o("old_p_tmsi_signature", "OldPTMSISign", bytes, _fixed(3)),
         _o("additional_guti", "AddGUTI", ies.eps_mobile_identity_to_wire,
            ies.eps_mobile_identity_from_wire),
         _o("last_visited_registered_tai", "OldTAI", ies.tai_to_wire, ies.tai_from_wire),
         _o("drx_parameter", "DRXParam", bytes, _fixed(2)),
         _o("ms_network_capability", "MSNetCap"),
         _o("tmsi_status", "TMSIStatus", _half, int),
         _o("mobile_station_classmark_2", "MSCm2"),
         _o("mobile_station_classmark_3", "MSCm3"),
         _o("supported_codecs", "SuppCodecs"),
         _o("additional_update_type", "AddUpdateType", _half, int),
         _o("voice_domain_preference_and_ues_usage_setting", "VoiceDomPref"),
         _o("ue_additional_security_capability", "UEAddSecCap")),
    # §8.2.1
    _emm("AttachAccept", 0x42, EMM.EMMAttachAccept,
         _m("eps_attach_result", "EPSAttachResult", _half, _three_bits),
         _m("t3412_value", "T3412", ies.gprs_timer_to_wire, ies.gprs_timer_from_wire),
         _m("tai_list", "TAIList", ies.tai_list_to_wire, ies.tai_list_from_wire),
         _ESM_CONTAINER_IE,
         _o("guti", "GUTI", ies.eps_mobile_identity_to_wire, ies.eps_mobile_identity_from_wire),
         _o(EMM_CAUSE, "EMMCause", _octet_to_wire, _octet_from_wire),
         _o("t3402_value", "T3402", ies.gprs_timer_to_wire, ies.gprs_timer_from_wire),
         _o("t3423_value", "T3423", ies.gprs_timer_to_wire, ies.gprs_timer_from_wire),
         _o("equivalent_plmns", "EquivPLMNList", ies.plmn_list_to_wire,
            ies.plmn_list_from_wire),
         _o("emergency_number_list", "EmergNumList", ies.emergency_number_list_to_wire,
            ies.emergency_number_list_from_wire),
         _o("eps_network_feature_support", "EPSNetFeat",
            ies.eps_network_feature_support_to_wire,
            ies.eps_network_feature_support_from_wire),
         _o("additional_update_result", "AddUpdateRes", _half, int)),
    # §8.2.2
    _emm("AttachComplete", 0x43, EMM.EMMAttachComplete, _ESM_CONTAINER_IE),
    # §8.2.3
    _emm("AttachReject", 0x44, EMM.EMMAttachReject,
         _EMM_CAUSE_IE,
         _o(ESM_CONTAINER, "ESMContainer", _esm_container_to_wire, bytes),
         _o("t3346_value", "T3346", ies.gprs_timer_to_wire, ies.gprs_timer_from_wire),
         _o("t3402_value", "T3402", ies.gprs_timer_to_wire, ies.gprs_timer_from_wire)),
    # §8.2.11.1 (UE originating) and §8.2.11.2 (UE terminated) share the message type
    _emm("DetachRequest", 0x45, EMM.EMMDetachRequestMO,
         _KSI_IE,
         _Ie(("detach_type", "switch_off"), "EPSDetachType", _detach_mo_to_wire,
             _detach_mo_from_wire, True),
         _m("eps_mobile_identity", "EPSID", ies.eps_mobile_identity_to_wire,
            ies.eps_mobile_identity_from_wire)),
    _emm("DetachAccept", 0x46, EMM.EMMDetachAccept),
    # §8.2.29
    _emm("TrackingAreaUpdateRequest", 0x48, EMM.EMMTrackingAreaUpdateRequest,
         _KSI_IE,
         _m("eps_update_type", "EPSUpdateType", _half, int),
         _m("old_guti", "OldGUTI", *_EPS_ID_WIRE),
         _o("ue_network_capability", "UENetCap"),
         _o("last_visited_registered_tai", "OldTAI", ies.tai_to_wire, ies.tai_from_wire),
         _o("drx_parameter", "DRXParam", bytes, _fixed(2)),
         _o("ue_radio_capability_information_update_needed", "UERACapUpdateNeed", _half, int),
         _o("eps_bearer_context_status", "EPSBearerCtxtStat", bytes, _fixed(2))),
    # §8.2.26
    _emm("TrackingAreaUpdateAccept", 0x49, EMM.EMMTrackingAreaUpdateAccept,
         _m("eps_update_result", "EPSUpdateResult", _half, _three_bits),
         _o("t3412_value", "T3412", ies.gprs_timer_to_wire, ies.gprs_timer_from_wire),
         _o("guti", "GUTI", *_EPS_ID_WIRE),
         _o("tai_list", "TAIList", ies.tai_list_to_wire, ies.tai_list_from_wire),
         _o("eps_bearer_context_status", "EPSBearerCtxtStat", bytes, _fixed(2)),
         _o("emergency_number_list", "EmergNumList", ies.emergency_number_list_to_wire,
            ies.emergency_number_list_from_wire),
         _o("eps_network_feature_support", "EPSNetFeat",
            ies.eps_network_feature_support_to_wire,
            ies.eps_network_feature_support_from_wire)),
    # §8.2.27
    _emm("TrackingAreaUpdateComplete", 0x4A, EMM.EMMTrackingAreaUpdateComplete),
    # §8.2.28
    _emm("TrackingAreaUpdateReject", 0x4B, EMM.EMMTrackingAreaUpdateReject,
         _EMM_CAUSE_IE,
         _o("t3346_value", "T3346", ies.gprs_timer_to_wire, ies.gprs_timer_from_wire)),
    # §8.2.24: the answer to a SERVICE REQUEST or EXTENDED SERVICE REQUEST not accepted
    _emm("ServiceReject", 0x4E, EMM.EMMServiceReject,
         _EMM_CAUSE_IE,
         _o("t3442_value", "T3442", ies.gprs_timer_to_wire, ies.gprs_timer_from_wire),
         _o("t3346_value", "T3346", ies.gprs_timer_to_wire, ies.gprs_timer_from_wire)),
    # §8.2.15
    _emm("ExtendedServiceRequest", 0x4C, EMM.EMMExtServiceRequest,
         _KSI_IE,
         _m("service_type", "ServiceType", _half, int),
         _m("m_tmsi", "MTMSI", ies.mobile_identity_to_wire, ies.mobile_identity_from_wire)),
    # §8.2.7
    _emm("AuthenticationRequest", 0x52, EMM.EMMAuthenticationRequest,
         _KSI_IE,
         _m("authentication_parameter_rand", "RAND", bytes, _fixed(16)),
         _m("authentication_parameter_autn", "AUTN", bytes, _fixed(16))),
    # §8.2.8
    _emm("AuthenticationResponse", 0x53, EMM.EMMAuthenticationResponse,
         _m("authentication_response_parameter", "RES")),
    # §8.2.6
    _emm("AuthenticationReject", 0x54, EMM.EMMAuthenticationReject),
    # §8.2.5
    _emm("AuthenticationFailure", 0x5C, EMM.EMMAuthenticationFailure,
         _EMM_CAUSE_IE,
         _o("authentication_failure_parameter", "AUTS", bytes, _fixed(14))),
    # §8.2.18
    _emm("IdentityRequest", 0x55, EMM.EMMIdentityRequest,
         _m("identity_type", "IDType", _half, _three_bits)),
    # §8.2.19
    _emm("IdentityResponse", 0x56, EMM.EMMIdentityResponse,
         _m("mobile_identity", "ID", ies.mobile_identity_to_wire, ies.mobile_identity_from_wire)),
    # §8.2.20
    _emm("SecurityModeCommand", 0x5D, EMM.EMMSecurityModeCommand,
         _m("selected_nas_security_algorithms", "NASSecAlgo",
            ies.nas_security_algorithms_to_wire, ies.nas_security_algorithms_from_wire),
         _KSI_IE,
         _m("replayed_ue_security_capabilities", "UESecCap"),
         _o("imeisv_request", "IMEISVReq", _half, _three_bits),
         _o("replayed_nonce_ue", "NonceUE", bytes, _fixed(4)),
         _o("nonce_mme", "NonceMME", bytes, _fixed(4))),
    # §8.2.21
    _emm("SecurityModeComplete", 0x5E, EMM.EMMSecurityModeComplete,
         _o("imeisv", "IMEISV", ies.mobile_identity_to_wire, ies.mobile_identity_from_wire)),
    # §8.2.22
    _emm("SecurityModeReject", 0x5F, EMM.EMMSecurityModeReject, _EMM_CAUSE_IE),
    # §8.2.14
    _emm("EMMStatus", 0x60, EMM.EMMStatus, _EMM_CAUSE_IE),
    # §8.2.13
    _emm("EMMInformation", 0x61, EMM.EMMInformation,
         _o("full_name_for_network", "NetFullName", ies.network_name_to_wire,
            ies.network_name_from_wire),
         _o("short_name_for_network", "NetShortName", ies.network_name_to_wire,
            ies.network_name_from_wire),
         _o("local_time_zone", "LocalTimeZone", ies.time_zone_to_wire,
            ies.time_zone_from_wire),
         _o("universal_time_and_local_time_zone", "UnivTimeAndTimeZone",
            ies.universal_time_to_wire, ies.universal_time_from_wire),
         _o("network_daylight_saving_time", "DLSavingTime", _octet_to_wire, _octet_from_wire)),
    # §8.3.20
    _esm("PDNConnectivityRequest", 0xD0, ESM.ESMPDNConnectivityRequest,
         _m("request_type", "RequestType", _half, _three_bits),
         _m("pdn_type", "PDNType", _half, _three_bits),
         _o("esm_information_transfer_flag", "ESMInfoTransferFlag", _half, int),
         _o(APN, "APN", ies.apn_to_wire, ies.apn_from_wire),
         _PCO_IE),
    # §8.3.19
    _esm("PDNConnectivityReject", 0xD1, ESM.ESMPDNConnectivityReject, _ESM_CAUSE_IE, _PCO_IE),
    # §8.3.6
    _esm("ActivateDefaultEPSBearerContextRequest", 0xC1,
         ESM.ESMActDefaultEPSBearerCtxtRequest,
         _m("eps_qos", "EPSQoS", ies.eps_qos_to_wire, ies.eps_qos_from_wire),
         _m(APN, "APN", ies.apn_to_wire, ies.apn_from_wire),
         _m("pdn_address", "PDNAddr", ies.pdn_address_to_wire, ies.pdn_address_from_wire),
         _o("apn_ambr", "APN_AMBR", ies.apn_ambr_to_wire, ies.apn_ambr_from_wire),
         _o(ESM_CAUSE, "ESMCause", _octet_to_wire, _octet_from_wire),
         _PCO_IE),
    # §8.3.4
    _esm("ActivateDefaultEPSBearerContextAccept", 0xC2,
         ESM.ESMActDefaultEPSBearerCtxtAccept, _PCO_IE),
    # §8.3.5
    _esm("ActivateDefaultEPSBearerContextReject", 0xC3,
         ESM.ESMActDefaultEPSBearerCtxtReject, _ESM_CAUSE_IE, _PCO_IE),
    # §8.3.3, §8.3.1, §8.3.2
    _esm("ActivateDedicatedEPSBearerContextRequest", 0xC5,
         ESM.ESMActDediEPSBearerCtxtRequest,
         _m("linked_eps_bearer_identity", "LinkedEPSBearerId", _half, int),
         _m("eps_qos", "EPSQoS", ies.eps_qos_to_wire, ies.eps_qos_from_wire),
         _m(TFT, "TFT"),
         _PCO_IE),
    _esm("ActivateDedicatedEPSBearerContextAccept", 0xC6, ESM.ESMActDediEPSBearerCtxtAccept,
         _PCO_IE),
    _esm("ActivateDedicatedEPSBearerContextReject", 0xC7, ESM.ESMActDediEPSBearerCtxtReject,
         _ESM_CAUSE_IE, _PCO_IE),
    # §8.3.18, §8.3.17
    _esm("PDNDisconnectRequest", 0xD2, ESM.ESMPDNDisconnectRequest,
         _m("linked_eps_bearer_identity", "LinkedEPSBearerId", _half, int), _PCO_IE),
    _esm("PDNDisconnectReject", 0xD3, ESM.ESMPDNDisconnectReject, _ESM_CAUSE_IE, _PCO_IE),
    # §8.3.12, §8.3.11
    _esm("DeactivateEPSBearerContextRequest", 0xCD, ESM.ESMDeactEPSBearerCtxtRequest,
         _ESM_CAUSE_IE, _PCO_IE),
    _esm("DeactivateEPSBearerContextAccept", 0xCE, ESM.ESMDeactEPSBearerCtxtAccept, _PCO_IE),
    # §8.3.13, §8.3.14
    _esm("ESMInformationRequest", 0xD9, ESM.ESMInformationRequest),
    _esm("ESMInformationResponse", 0xDA, ESM.ESMInformationResponse,
         _o(APN, "APN", ies.apn_to_wire, ies.apn_from_wire), _PCO_IE),
    # §8.3.15
    _esm("ESMStatus", 0xE8, ESM.ESMStatus, _ESM_CAUSE_IE),
)

_BY_NAME = {s.name: s for s in _SPECS}
_BY_CODE = {(s.pd, s.code): s for s in _SPECS}
# §8.2.11.2: the UE terminated detach request (downlink)
_DETACH_MT = _emm("DetachRequest", 0x45, EMM.EMMDetachRequestMT,
                  _m("detach_type", "EPSDetachType", _half, _three_bits),
                  _o(EMM_CAUSE, "EMMCause", _octet_to_wire, _octet_from_wire))

EBI = "eps_bearer_identity"
PTI = "procedure_transaction_identity"

# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------


def _spec_for_encode(msg: Message) -> _Spec:
    if msg.name == "DetachRequest" and "eps_mobile_identity" not in msg.fields:
        return _DETACH_MT
    spec = _BY_NAME.get(msg.name)
    if spec is None:
        raise EncodeError(f"NAS message {msg.name!r} has no encoder")
    return spec


def encode(msg: Message) -> bytes:
    """Encode a plain NAS message (security header type 0) with pycrate."""
    return _fast.encode_or(encode_pycrate, msg)


_ABSENT = object()


def encode_values(msg: Message, convert: Mapping[Callable[..., Any], Callable[..., Any]] | None = None
                  ) -> tuple[_Spec, type, dict[str, Any]]:
    """The pycrate message class of `msg` and the value it is built from: IE value parts by
    pycrate IE name, and the header. `convert` substitutes IE conversions (the fast path's)."""
    spec = _spec_for_encode(msg)
    fields = msg.fields
    val: dict[str, Any] = {}
    for ie in spec.ies:
        names = ie.names
        # None is absent, except for a GPRS timer where it codes "deactivated" (§10.5.7.3)
        first = fields.get(names[0], _ABSENT)
        if first is _ABSENT or (first is None and ie.to_wire is not ies.gprs_timer_to_wire):
            if ie.mandatory:
                raise EncodeError(f"{spec.name}: mandatory IE {ie.names[0]} missing")
            continue
        to_wire = convert.get(ie.to_wire, ie.to_wire) if convert else ie.to_wire
        val[ie.pyc] = to_wire(first) if len(names) == 1 else to_wire(
            first, *[fields.get(n) for n in names[1:]])
    for pyc_name, raw in (fields.get("other_ies") or {}).items():
        val[pyc_name] = raw
    if spec.pd == PD_EMM:
        val["EMMHeader"] = {"SecHdr": SHT_PLAIN}
        return spec, spec.mt if spec is _DETACH_MT else spec.mo, val
    val["ESMHeader"] = {
        "EPSBearerId": int(fields.get(EBI, 0)),
        "PTI": int(fields.get(PTI, 0)),
    }
    return spec, spec.mo, val


def encode_pycrate(msg: Message) -> bytes:
    """`encode` by pycrate alone: the reference the fast path is proven against."""
    if msg.name == "ServiceRequest":
        return _encode_service_request(msg.fields)
    spec = _spec_for_encode(msg)
    try:
        spec, cls, val = encode_values(msg)
        return bytes(cls(val=val).to_bytes())
    except EncodeError:
        raise
    except Exception as exc:  # pycrate raises its own types on values it cannot encode
        raise EncodeError(f"{spec.name}: {exc}") from exc


def build(name: str, **fields: Any) -> bytes:
    """Encode message `name` from its fields (the generic form of the builders below)."""
    spec = _BY_NAME.get(name)
    code = spec.code if spec else 0
    return encode(Message(PROTOCOL, name, code, fields))


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------


def _discard(detail: str, **extra: Any) -> DecodeError:
    return DecodeError(PROTOCOL, None, detail, discard=True, **extra)


def _message_name(text: str) -> str:
    """'Tracking area update request' -> 'TrackingAreaUpdateRequest' (acronyms kept)."""
    return "".join(w if w.isupper() else w[:1].upper() + w[1:] for w in text.split())


def decode(data: bytes, ctx: NasSecurityContext | None = None,
           direction: int | None = None) -> Message:
    """Decode one NAS message.

    `direction` (UPLINK/DOWNLINK) selects the uplink or downlink form of messages that differ
    (Detach request) and the NAS COUNT used with `ctx`. A security protected message (§9.1)
    with security header type 1 or 3 is reported as its inner message plus
    `security_header_type`, `mac` and `sequence_number`; with `ctx` the MAC is checked
    (`mac_valid`; `unprotect` below). A ciphered one (2 or 4) without `ctx` is reported as
    "SecurityProtectedNASMessage" with `ciphered` True and `payload` (hex).
    Passing `ctx` without `direction` is a programming error (ValueError).
    """
    data = bytes(data)
    if ctx is not None and direction is None:
        raise ValueError("decoding with a security context needs the direction")
    try:
        return _decode(data, ctx, direction)
    except DecodeError:
        raise
    except Exception as exc:  # a pycrate structure refused the input in an unforeseen way
        raise DecodeError(PROTOCOL, CAUSE_PROTOCOL_ERROR_UNSPECIFIED,
                          f"undecodable NAS message: {exc}",
                          **(_error_extra(data) if data else {})) from exc


def _decode(data: bytes, ctx: NasSecurityContext | None, direction: int | None) -> Message:
    if not data:
        raise _discard("empty NAS message (TS 24.301 §7.2)")
    pd = data[0] & 0x0F
    if pd == PD_EMM:
        sht = data[0] >> 4
        if sht in (1, 2, 3, 4):
            return _decode_protected(data, ctx, direction)
        if sht == SHT_SERVICE_REQUEST:
            return _decode_service_request(data)
        if sht != SHT_PLAIN:
            raise _discard(f"reserved security header type {sht} (TS 24.301 §9.3.1)", pd=pd)
        return _decode_plain(data, direction)
    if pd == PD_ESM:
        return _decode_plain(data, direction)
    raise _discard(f"protocol discriminator {pd} unknown (TS 24.007 §11.2.3.1.1)", pd=pd)


def _error_extra(data: bytes) -> dict[str, Any]:
    pd = data[0] & 0x0F
    if pd == PD_ESM:
        return {"pd": pd, "ebi": data[0] >> 4, "pti": data[1] if len(data) > 1 else None}
    return {"pd": pd}


def _decode_plain(data: bytes, direction: int | None) -> Message:
    return _fast.decode_or(_decode_plain_pycrate, data, direction)


def _decode_plain_pycrate(data: bytes, direction: int | None) -> Message:
    pd = data[0] & 0x0F
    extra = _error_extra(data)
    if pd not in (PD_EMM, PD_ESM):
        raise _discard(f"protocol discriminator {pd} unknown (TS 24.007 §11.2.3.1.1)", pd=pd)
    if pd == PD_EMM and data[0] >> 4 != SHT_PLAIN:
        raise DecodeError(PROTOCOL, CAUSE_INVALID_MANDATORY_INFORMATION,
                          "security header inside a security protected message", **extra)
    if len(data) < (2 if pd == PD_EMM else 3):
        raise _discard("message too short for its message type (TS 24.301 §7.2)", **extra)
    code = data[1] if pd == PD_EMM else data[2]
    spec = _BY_CODE.get((pd, code))
    if spec is not None and spec.name == "DetachRequest":
        return _decode_detach_request(data, direction, extra)
    pyc = _parse(data, direction, extra)
    if spec is None:
        return _generic(pyc, pd, code, extra)
    return _from_pycrate(pyc, spec, data, direction, extra)


def _parse(data: bytes, direction: int | None, extra: dict[str, Any]) -> Any:
    # sec_hdr=False: the security header is handled above, and for ESM (PD 2) the first
    # half-octet is the EPS bearer identity (§9.3.2), which pycrate's NAS.parse_NAS_MO/MT and
    # sec_hdr=True would read as a security header type
    parser = parse_NASLTE_MT if direction == DOWNLINK else parse_NASLTE_MO
    try:
        pyc, err = parser(data, inner=False, sec_hdr=False)
    except Exception as exc:  # pycrate may raise on pathological input
        raise DecodeError(PROTOCOL, CAUSE_INVALID_MANDATORY_INFORMATION,
                          f"undecodable NAS message: {exc}", **extra) from exc
    if err or pyc is None:
        # pycrate returns the TS 24.301 Annex A cause: 96, 97 or 111
        cause = err if err in (96, 97, 111) else CAUSE_PROTOCOL_ERROR_UNSPECIFIED
        raise DecodeError(PROTOCOL, cause, f"pycrate NAS parser error {err}", **extra)
    return pyc


def _decode_detach_request(data: bytes, direction: int | None,
                           extra: dict[str, Any]) -> Message:
    # §8.2.11: the UE originating form carries the EPS mobile identity; try it first unless
    # the message is known to be downlink
    if direction != DOWNLINK:
        try:
            pyc = _parse(data, UPLINK, extra)
            return _from_pycrate(pyc, _BY_NAME["DetachRequest"], data, UPLINK, extra)
        except DecodeError:
            if direction == UPLINK:
                raise
    pyc = _parse(data, DOWNLINK, extra)
    return _from_pycrate(pyc, _DETACH_MT, data, DOWNLINK, extra)


def _raw_value(el: Any) -> Any:
    """The value part as received: pycrate keeps the raw `V` even after decoding it into an
    inner IE structure, so nothing here depends on pycrate re-encoding what it decoded."""
    v = el._V if getattr(el, "_V", None) is not None else el[-1]
    return v.get_val()


def _is_ie(el: Any) -> bool:
    return el.__class__.__name__.startswith("Type") and not el.get_trans()


def _from_pycrate(pyc: Any, spec: _Spec, data: bytes, direction: int | None,
                  extra: dict[str, Any]) -> Message:
    fields: dict[str, Any] = {}
    if spec.pd == PD_ESM:
        fields[EBI] = data[0] >> 4
        fields[PTI] = data[1]
    mapped = {ie.pyc for ie in spec.ies}
    for ie in spec.ies:
        el = pyc[ie.pyc]
        if el.get_trans():
            continue
        try:
            value = ie.from_wire(_raw_value(el))
        except Exception as exc:
            if ie.mandatory:
                raise DecodeError(PROTOCOL, CAUSE_INVALID_MANDATORY_INFORMATION,
                                  f"{spec.name}: invalid {ie.names[0]}: {exc}", **extra) from exc
            # §7.7.1: a syntactically incorrect optional IE is treated as not present
            continue
        if len(ie.names) == 1:
            fields[ie.names[0]] = value
        else:
            fields.update(zip(ie.names, value, strict=True))
    other = _other_ies(pyc, mapped, spec.name, extra)
    if other:
        fields["other_ies"] = other
    if ESM_CONTAINER in fields:
        fields[ESM_CONTAINER] = _nested_esm(fields[ESM_CONTAINER], direction)
    _check_conditional(spec.name, fields, extra)
    return Message(PROTOCOL, spec.name, spec.code, fields)


def _other_ies(pyc: Any, mapped: set[str], name: str, extra: dict[str, Any]) -> dict[str, Any]:
    other: dict[str, Any] = {}
    for el in pyc._content[1:]:
        if not _is_ie(el) or el._name in mapped:
            continue
        if el._name.startswith("_T_"):
            tag = int(el._name[3:], 16)
            # TS 24.007 §11.2.4: an unknown IEI with bits 5-8 = 0000 is comprehension required
            if tag < 0x10 and len(el._name) > 4:
                raise DecodeError(PROTOCOL, CAUSE_INVALID_MANDATORY_INFORMATION,
                                  f"{name}: unknown comprehension-required IEI 0x{tag:02x}",
                                  **extra)
            continue  # §7.6.1: other unknown IEs are ignored
        other[el._name] = _raw_value(el)
    return other


def _nested_esm(raw: bytes, direction: int | None) -> dict[str, Any]:
    try:
        inner = _decode_plain(raw, direction) if raw else None
    except DecodeError as exc:
        return {"name": None, "code": None, "fields": {}, "raw": raw, "error": exc.cause}
    if inner is None or (raw[0] & 0x0F) != PD_ESM:
        return {"name": None, "code": None, "fields": {}, "raw": raw,
                "error": CAUSE_INVALID_MANDATORY_INFORMATION}
    return {"name": inner.name, "code": inner.code, "fields": inner.fields}


def _check_conditional(name: str, fields: dict[str, Any], extra: dict[str, Any]) -> None:
    # §8.2.5.2: the authentication failure parameter is present iff the EMM cause is #21
    if name == "AuthenticationFailure" and fields.get(EMM_CAUSE) == 21 and (
        "authentication_failure_parameter" not in fields
    ):
        raise DecodeError(PROTOCOL, CAUSE_CONDITIONAL_IE_ERROR,
                          "Authentication failure #21 without AUTS", **extra)


def _generic(pyc: Any, pd: int, code: int, extra: dict[str, Any]) -> Message:
    """A message pycrate decodes and this module does not map: raw IEs in `other_ies`."""
    texts = EMM._EMM_dict if pd == PD_EMM else ESM._ESM_dict
    fields: dict[str, Any] = {}
    if pd == PD_ESM:
        fields[EBI] = extra["ebi"]
        fields[PTI] = extra["pti"]
    other = _other_ies(pyc, set(), texts.get(code, ""), extra)
    if other:
        fields["other_ies"] = other
    return Message(PROTOCOL, _message_name(texts.get(code, f"Unknown{code}")), code, fields)


# ---------------------------------------------------------------------------------------------
# Security protected NAS messages (TS 24.301 §9.1, §4.4.4, §4.4.5)
# ---------------------------------------------------------------------------------------------


# §9.3.1: the security header types of a ciphered message
_CIPHERED = frozenset((SHT_INTEGRITY_CIPHERED, SHT_INTEGRITY_CIPHERED_NEW_CONTEXT))


def _parse_protected(data: bytes) -> tuple[int, bytes, int, bytes]:
    """(security header type, MAC, SQN, NAS message) of a security protected message."""
    # §9.1: security header, 4-octet MAC, 1-octet SQN, then at least a 2-octet NAS message
    if len(data) < 8:
        raise _discard("security protected NAS message too short (TS 24.301 §7.2)",
                       pd=PD_EMM)
    return _fast_header.decode_or(_parse_protected_pycrate, data)


def _parse_protected_pycrate(data: bytes) -> tuple[int, bytes, int, bytes]:
    msg = EMM.EMMSecProtNASMessage()
    try:
        msg.from_bytes(data)
    except Exception as exc:
        raise DecodeError(PROTOCOL, CAUSE_INVALID_MANDATORY_INFORMATION,
                          f"security protected NAS message: {exc}", pd=PD_EMM) from exc
    sht = msg[0]["SecHdr"].get_val()
    return sht, bytes(msg["MAC"].get_val()), msg["Seqn"].get_val(), bytes(msg[3].get_val())


def protect(plain: bytes, ctx: NasSecurityContext, direction: int,
            security_header_type: int) -> bytes:
    """Wrap a plain NAS message (§9.1): MAC over SQN || message (§4.4.3.3), ciphering for
    security header types 2 and 4 (§4.4.5). Uses the direction's NAS COUNT, then increments it.
    Types 3 and 4 are for a new EPS security context (§9.3.1): `ctx` is that new context."""
    if security_header_type not in (1, 2, 3, 4):
        raise EncodeError(f"security header type {security_header_type} is not 1..4")
    sqn, mac, payload = ctx.seal(direction, security_header_type in _CIPHERED, plain)
    return security_protected(security_header_type, mac, sqn, payload)


def security_protected(security_header_type: int, mac: bytes, sqn: int, payload: bytes) -> bytes:
    """SECURITY PROTECTED NAS MESSAGE (§9.1, §9.3.1): header, MAC, sequence number, message."""
    return _fast_header.encode_or(_security_protected_pycrate, security_header_type, mac, sqn,
                                  payload)


def _security_protected_pycrate(security_header_type: int, mac: bytes, sqn: int,
                                payload: bytes) -> bytes:
    msg = EMM.EMMSecProtNASMessage(val={
        "EMMHeaderSec": {"SecHdr": security_header_type, "ProtDisc": PD_EMM},
        "MAC": mac, "Seqn": sqn, "NASMessage": payload,
    })
    return bytes(msg.to_bytes())


def unprotect(data: bytes, ctx: NasSecurityContext, direction: int) -> tuple[int, bytes, bool]:
    """(security header type, plain inner message, mac_ok) of a received protected message.

    The NAS COUNT is estimated from the received SQN (§4.4.3.1). `mac_ok` is False on a MAC
    mismatch or a replayed count (§4.4.3.2); the caller discards such a message (§4.4.4.3) —
    it is reported, not raised. On success the count is recorded as the last one received.
    """
    sht, mac, sqn, payload = _parse_protected(bytes(data))
    plain, ok = _unprotect(sht, mac, sqn, payload, ctx, direction)
    return sht, plain, ok


def _unprotect(sht: int, mac: bytes, sqn: int, payload: bytes, ctx: NasSecurityContext,
               direction: int) -> tuple[bytes, bool]:
    """`unprotect` of a message whose header is parsed already."""
    return ctx.open(direction, sht in _CIPHERED, mac, sqn, payload)


def _protected_message(data: bytes, sht: int, mac: bytes, sqn: int, payload: bytes,
                       **fields: Any) -> Message:
    base = {"security_header_type": sht, "mac": mac, "sequence_number": sqn,
            "ciphered": sht in (SHT_INTEGRITY_CIPHERED, SHT_INTEGRITY_CIPHERED_NEW_CONTEXT),
            "payload": payload.hex()}
    return Message(PROTOCOL, "SecurityProtectedNASMessage", data[0], base | fields)


def _decode_protected(data: bytes, ctx: NasSecurityContext | None,
                      direction: int | None) -> Message:
    sht, mac, sqn, payload = _parse_protected(data)
    sec = {"security_header_type": sht, "mac": mac, "sequence_number": sqn}
    if ctx is None:
        if sht in (SHT_INTEGRITY_CIPHERED, SHT_INTEGRITY_CIPHERED_NEW_CONTEXT):
            return _protected_message(data, sht, mac, sqn, payload)
        inner = _decode_plain(payload, direction)
        return Message(PROTOCOL, inner.name, inner.code, inner.fields | sec)
    # the header parsed above, not a second time (§9.1)
    plain, ok = _unprotect(sht, mac, sqn, payload, ctx,
                           direction if direction is not None else UPLINK)
    try:
        inner = _decode_plain(plain, direction)
    except DecodeError:
        if ok:
            raise
        return _protected_message(data, sht, mac, sqn, payload, mac_valid=False)
    fields = inner.fields  # the inner message is this decode's own: completed in place
    fields.update(sec)
    fields["mac_valid"] = ok
    return inner


# ---------------------------------------------------------------------------------------------
# Service request (§8.2.25): security header type 1100, no message type
# ---------------------------------------------------------------------------------------------

SERVICE_REQUEST_CODE = (SHT_SERVICE_REQUEST << 4) | PD_EMM


def _encode_service_request(fields: dict[str, Any]) -> bytes:
    msg = EMM.EMMServiceRequest(val={
        "KSI": int(fields.get(KSI, 0)) & 0x7,
        "SeqnShort": int(fields.get("sequence_number", 0)) & 0x1F,
        "MACShort": bytes(fields.get("short_mac", b"\0\0")),
    })
    return bytes(msg.to_bytes())


def _decode_service_request(data: bytes) -> Message:
    if len(data) != 4:
        raise DecodeError(PROTOCOL, CAUSE_INVALID_MANDATORY_INFORMATION,
                          "service request is 4 octets (TS 24.301 §8.2.25)", pd=PD_EMM)
    msg = EMM.EMMServiceRequest()
    try:
        msg.from_bytes(data)
    except Exception as exc:
        raise DecodeError(PROTOCOL, CAUSE_INVALID_MANDATORY_INFORMATION, str(exc),
                          pd=PD_EMM) from exc
    fields = {KSI: msg["KSI"].get_val(), "sequence_number": msg["SeqnShort"].get_val(),
              "short_mac": bytes(msg["MACShort"].get_val())}
    return Message(PROTOCOL, "ServiceRequest", SERVICE_REQUEST_CODE, fields)


def service_request(ksi: int, ctx: NasSecurityContext) -> bytes:
    """§8.2.25: KSI, the 5 LSBs of the uplink NAS COUNT and the 2 LSBs of the MAC computed
    over octets 1 and 2 (§9.9.3.28); the uplink NAS COUNT is then incremented."""
    count = ctx.ul_count.value
    head = _encode_service_request({KSI: ksi, "sequence_number": count & 0x1F})[:2]
    mac = ctx.mac(UPLINK, count, head)
    ctx.ul_count.increment()
    return _encode_service_request({KSI: ksi, "sequence_number": count & 0x1F,
                                    "short_mac": mac[2:4]})


# ---------------------------------------------------------------------------------------------
# The codec object
# ---------------------------------------------------------------------------------------------


class NASCodec:
    """`corenet.codecs.base.Codec` for NAS EPS; optional security context and direction."""

    protocol = PROTOCOL

    def __init__(self, ctx: NasSecurityContext | None = None,
                 direction: int | None = None) -> None:
        self.ctx = ctx
        self.direction = direction

    def encode(self, msg: Message) -> bytes:
        return encode(msg)

    def decode(self, data: bytes) -> Message:
        return decode(data, self.ctx, self.direction)


# ---------------------------------------------------------------------------------------------
# Builders: keyword arguments follow the TS 24.301 IE names (shortened); each returns bytes
# ---------------------------------------------------------------------------------------------


def _identity(imsi: str | None, guti: Guti | None, imei: str | None) -> dict[str, Any]:
    chosen = [x for x in (imsi, guti, imei) if x is not None]
    if len(chosen) != 1:
        raise EncodeError("exactly one of imsi, guti, imei is needed")
    if imsi is not None:
        return imsi_identity(imsi)
    if guti is not None:
        return guti_identity(guti)
    return imei_identity(str(imei))


def _put(fields: dict[str, Any], **optional: Any) -> dict[str, Any]:
    fields.update({k: v for k, v in optional.items() if v is not None})
    return fields


def attach_request(attach_type: int = 1, ksi: int = 7, imsi: str | None = None,
                   guti: Guti | None = None, imei: str | None = None,
                   ue_net_cap: bytes | None = None, esm_container: Any = b"",
                   last_visited_tai: Tai | None = None, drx: bytes | None = None,
                   ms_net_cap: bytes | None = None, ms_classmark_2: bytes | None = None,
                   voice_domain_preference: bytes | None = None) -> bytes:
    """§8.2.4; attach_type 1 = EPS attach, 2 = combined, 6 = EPS emergency attach (§9.9.3.11)."""
    fixed = _put(
        {"eps_attach_type": attach_type, KSI: ksi, "ue_network_capability":
         ue_net_cap if ue_net_cap is not None else ue_network_capability()},
        last_visited_registered_tai=last_visited_tai, drx_parameter=drx,
        ms_network_capability=ms_net_cap, mobile_station_classmark_2=ms_classmark_2,
        voice_domain_preference_and_ues_usage_setting=voice_domain_preference)
    varying = {"eps_mobile_identity": _identity(imsi, guti, imei), ESM_CONTAINER: esm_container}
    got = _ATTACH_REQUESTS.encode(fixed, varying)
    return got if got is not None else build("AttachRequest", **fixed, **varying)


class _Shapes:
    """Messages `name` encoded, at the fast level, by the template (`FastPath.template`,
    checked there against a message encoded in full) of the fields they share: a device's
    capabilities, the cell's TAI... False: the fast level declined that kind. Bounded:
    cleared when full."""

    __slots__ = ("name", "_encoders")
    KEPT = 256

    def __init__(self, name: str) -> None:
        self.name = name
        self._encoders: dict[tuple[Any, ...], Any] = {}

    def encode(self, fixed: dict[str, Any], varying: dict[str, Any]) -> bytes | None:
        """The message's bytes, or None: encode it in full."""
        if not STATE.fast:
            return None
        key = tuple(fixed.items())
        encoder: Any
        try:
            encoder = self._encoders.get(key)
        except TypeError:  # a value that is no key: encoded in full
            return None
        if encoder is None:
            if len(self._encoders) >= self.KEPT:
                self._encoders.clear()
            encoder = self._encoders[key] = _fast.template(self.name, fixed) or False
        return encoder(varying) if encoder else None


_ATTACH_REQUESTS = _Shapes("AttachRequest")
_AUTHENTICATION_RESPONSES = _Shapes("AuthenticationResponse")
_SECURITY_MODE_COMPLETES = _Shapes("SecurityModeComplete")


def attach_accept(tai_list: list[Tai], esm_container: Any, attach_result: int = 1,
                  t3412: int | None = 3240, guti: Guti | None = None,
                  emm_cause: int | None = None, t3402: int | None = None,
                  equivalent_plmns: list[Any] | None = None,
                  emergency_numbers: list[EmergencyNumber] | None = None,
                  eps_network_feature_support: dict[str, int] | None = None) -> bytes:
    """§8.2.1; t3412 in seconds (None = deactivated), emergency numbers per TS 24.008
    §10.5.3.13 (see `emergency_number_list`)."""
    fields: dict[str, Any] = {"eps_attach_result": attach_result, "t3412_value": t3412,
                              "tai_list": tai_list, ESM_CONTAINER: esm_container}
    return build("AttachAccept", **_put(
        fields, guti=guti_identity(guti) if guti else None, emm_cause=emm_cause,
        t3402_value=t3402, equivalent_plmns=equivalent_plmns,
        emergency_number_list=emergency_numbers,
        eps_network_feature_support=eps_network_feature_support))


class AttachAccepts:
    """ATTACH ACCEPTs (§8.2.1) that share their TAI list, T3412, emergency number list and
    EPS network feature support, encoded: at the fast level the octets before the ESM
    message container and after the GUTI are written once, and only the container and the
    GUTI per message. The octets are `attach_accept`'s (which the pycrate level, and any
    message the fast level declines, still encode)."""

    __slots__ = ("_fixed", "_template")

    def __init__(self, tai_list: list[Tai], t3412: int | None,
                 emergency_numbers: list[EmergencyNumber] | None = None,
                 eps_network_feature_support: dict[str, int] | None = None) -> None:
        self._fixed = _put({"eps_attach_result": 1, "t3412_value": t3412, "tai_list": tai_list},
                           emergency_number_list=emergency_numbers,
                           eps_network_feature_support=eps_network_feature_support)
        self._template: Any = None

    def encode(self, esm_container: bytes, guti: Guti) -> bytes:
        if STATE.fast:
            if self._template is None:
                self._template = _fast.template("AttachAccept", self._fixed) or False
            if self._template:
                got: bytes | None = self._template({ESM_CONTAINER: esm_container, "guti": guti})
                if got is not None:
                    return got
        return build("AttachAccept", **self._fixed, **{ESM_CONTAINER: esm_container},
                     guti=guti_identity(guti))


# TS 24.301 §9.9.3.14 EPS update type (bits 1-3) and its "active" flag (bit 4)
TA_UPDATING, COMBINED_TA_LA_UPDATING, PERIODIC_UPDATING = 0, 1, 3
ACTIVE_FLAG = 0x8


def tracking_area_update_request(old_guti: Guti, update_type: int = TA_UPDATING,
                                 ksi: int = 0, active: bool = False,
                                 ue_net_cap: bytes | None = None,
                                 last_visited_tai: Tai | None = None,
                                 bearer_context_status: bytes | None = None) -> bytes:
    """§8.2.29: the old GUTI, the EPS update type (§9.9.3.14) with the active flag."""
    fields: dict[str, Any] = {
        KSI: ksi, "eps_update_type": (ACTIVE_FLAG if active else 0) | (update_type & 0x7),
        "old_guti": guti_identity(old_guti),
        "ue_network_capability": ue_net_cap if ue_net_cap is not None
        else ue_network_capability()}
    return build("TrackingAreaUpdateRequest", **_put(
        fields, last_visited_registered_tai=last_visited_tai,
        eps_bearer_context_status=bearer_context_status))


def tracking_area_update_accept(update_result: int = 0, t3412: int | None = 3240,
                                guti: Guti | None = None, tai_list: list[Tai] | None = None,
                                bearer_context_status: bytes | None = None,
                                emergency_numbers: list[EmergencyNumber] | None = None,
                                eps_network_feature_support: dict[str, int] | None = None,
                                ) -> bytes:
    """§8.2.26; update_result per §9.9.3.13 (0 TA updated, 1 combined TA/LA updated)."""
    return build("TrackingAreaUpdateAccept", **_put(
        {"eps_update_result": update_result}, t3412_value=t3412,
        guti=guti_identity(guti) if guti else None, tai_list=tai_list,
        eps_bearer_context_status=bearer_context_status,
        emergency_number_list=emergency_numbers,
        eps_network_feature_support=eps_network_feature_support))


def tracking_area_update_complete() -> bytes:
    """§8.2.27."""
    return build("TrackingAreaUpdateComplete")


def tracking_area_update_reject(emm_cause: int, t3346: int | None = None) -> bytes:
    """§8.2.28."""
    return build("TrackingAreaUpdateReject", **_put({EMM_CAUSE: emm_cause},
                                                    t3346_value=t3346))


def service_reject(emm_cause: int, t3346: int | None = None,
                   t3442: int | None = None) -> bytes:
    """§8.2.24."""
    return build("ServiceReject", **_put({EMM_CAUSE: emm_cause}, t3346_value=t3346,
                                         t3442_value=t3442))


def extended_service_request(service_type: int, m_tmsi: int, ksi: int = 0) -> bytes:
    """§8.2.15 (service type §9.9.3.27; M-TMSI as a TMSI mobile identity, §9.9.3.40)."""
    return build("ExtendedServiceRequest", **{KSI: ksi, "service_type": service_type,
                                              "m_tmsi": tmsi_identity(m_tmsi)})


def attach_complete(esm_container: Any) -> bytes:
    """§8.2.2."""
    return build("AttachComplete", esm_message_container=esm_container)


def attach_reject(emm_cause: int, esm_container: Any = None, t3346: int | None = None) -> bytes:
    """§8.2.3."""
    return build("AttachReject", **_put({EMM_CAUSE: emm_cause}, esm_message_container=esm_container,
                                        t3346_value=t3346))


def authentication_request(ksi: int, rand: bytes, autn: bytes) -> bytes:
    """§8.2.7; at the fast level written after the header of a template (`FastPath.template`,
    checked there against a message encoded in full)."""
    global _AUTH_REQUESTS
    if STATE.fast:
        if _AUTH_REQUESTS is None:
            _AUTH_REQUESTS = _fast.template("AuthenticationRequest", {}) or False
        if _AUTH_REQUESTS:
            got: bytes | None = _AUTH_REQUESTS({KSI: ksi, "authentication_parameter_rand": rand,
                                                "authentication_parameter_autn": autn})
            if got is not None:
                return got
    return build("AuthenticationRequest", nas_key_set_identifier=ksi,
                 authentication_parameter_rand=rand, authentication_parameter_autn=autn)


_AUTH_REQUESTS: Any = None  # the fast level's encoder, False when it declined


def authentication_response(res: bytes) -> bytes:
    """§8.2.8."""
    varying = {"authentication_response_parameter": res}
    got = _AUTHENTICATION_RESPONSES.encode({}, varying)
    return got if got is not None else build("AuthenticationResponse", **varying)


def authentication_failure(emm_cause: int, auts: bytes | None = None) -> bytes:
    """§8.2.5: cause 20 MAC failure, 21 synch failure (with AUTS), 26 non-EPS auth."""
    return build("AuthenticationFailure",
                 **_put({EMM_CAUSE: emm_cause}, authentication_failure_parameter=auts))


def authentication_reject() -> bytes:
    """§8.2.6."""
    return build("AuthenticationReject")


def security_mode_command(eea: int, eia: int, ksi: int, ue_sec_cap: bytes,
                          imeisv_request: bool = False) -> bytes:
    """§8.2.20: selected algorithms, KSI, replayed UE security capabilities."""
    fields: dict[str, Any] = {
        "selected_nas_security_algorithms": {"eea": eea, "eia": eia}, KSI: ksi,
        "replayed_ue_security_capabilities": ue_sec_cap}
    if imeisv_request:
        fields["imeisv_request"] = 1  # §9.9.3.19: 001 IMEISV requested
    return build("SecurityModeCommand", **fields)


def security_mode_complete(imeisv: str | None = None) -> bytes:
    """§8.2.21."""
    varying = _put({}, imeisv=imeisv_identity(imeisv) if imeisv else None)
    got = _SECURITY_MODE_COMPLETES.encode({}, varying) if varying else None
    return got if got is not None else build("SecurityModeComplete", **varying)


def security_mode_reject(emm_cause: int) -> bytes:
    """§8.2.22."""
    return build("SecurityModeReject", emm_cause=emm_cause)


def identity_request(identity_type: int = 1) -> bytes:
    """§8.2.18; identity type 2 (§9.9.3.17): 1 IMSI, 2 IMEI, 3 IMEISV, 4 TMSI."""
    return build("IdentityRequest", identity_type=identity_type)


def identity_response(imsi: str | None = None, imei: str | None = None,
                      imeisv: str | None = None, tmsi: int | None = None) -> bytes:
    """§8.2.19 with a TS 24.008 §10.5.1.4 mobile identity."""
    if imsi is not None:
        identity = imsi_identity(imsi)
    elif imei is not None:
        identity = imei_identity(imei)
    elif imeisv is not None:
        identity = imeisv_identity(imeisv)
    elif tmsi is not None:
        identity = tmsi_identity(tmsi)
    else:
        identity = {"type": "none", "value": None}
    return build("IdentityResponse", mobile_identity=identity)


def detach_request(detach_type: int = 1, switch_off: bool = False, ksi: int = 7,
                   imsi: str | None = None, guti: Guti | None = None,
                   imei: str | None = None) -> bytes:
    """§8.2.11.1 UE originating; detach type (§9.9.3.7) 1 EPS, 2 IMSI, 3 combined."""
    return build("DetachRequest", detach_type=detach_type, switch_off=int(switch_off),
                 nas_key_set_identifier=ksi, eps_mobile_identity=_identity(imsi, guti, imei))


def detach_request_network(detach_type: int = 1, emm_cause: int | None = None) -> bytes:
    """§8.2.11.2 UE terminated; 1 re-attach required, 2 re-attach not required, 3 IMSI."""
    return build("DetachRequest", **_put({"detach_type": detach_type}, emm_cause=emm_cause))


def detach_accept() -> bytes:
    """§8.2.10."""
    return build("DetachAccept")


def emm_information(full_name: str | NetworkNameValue | None = None,
                    short_name: str | NetworkNameValue | None = None, add_ci: bool = False,
                    local_time_zone: int | None = None, universal_time: Any = None,
                    time_zone: int | None = None,
                    daylight_saving_time: int | None = None) -> bytes:
    """§8.2.13; names per TS 24.008 §10.5.3.5a (GSM 7-bit), time zones in quarter-hours."""

    def name(value: str | NetworkNameValue | None) -> NetworkNameValue | None:
        return NetworkNameValue(value, add_ci) if isinstance(value, str) else value

    univ = None
    if universal_time is not None:
        tz = time_zone if time_zone is not None else (local_time_zone or 0)
        univ = {"time": universal_time, "time_zone": tz}
    return build("EMMInformation", **_put(
        {}, full_name_for_network=name(full_name), short_name_for_network=name(short_name),
        local_time_zone=local_time_zone, universal_time_and_local_time_zone=univ,
        network_daylight_saving_time=daylight_saving_time))


def emm_status(emm_cause: int) -> bytes:
    """§8.2.14."""
    return build("EMMStatus", emm_cause=emm_cause)


def pdn_connectivity_request(pti: int, request_type: int = 1, pdn_type: int = 1,
                             apn: str | None = None, pco: bytes | None = None,
                             esm_info_transfer: bool = False) -> bytes:
    """§8.3.20; request type (§9.9.4.14 -> TS 24.008 §10.5.6.17) 1 initial, 4 emergency."""
    fields = {PTI: pti, EBI: 0, "request_type": request_type, "pdn_type": pdn_type}
    if esm_info_transfer:
        fields["esm_information_transfer_flag"] = 1
    return build("PDNConnectivityRequest", **_put(fields, access_point_name=apn,
                                                  protocol_configuration_options=pco))


def pdn_connectivity_reject(pti: int, esm_cause: int, pco: bytes | None = None) -> bytes:
    """§8.3.19."""
    return build("PDNConnectivityReject", **_put({PTI: pti, EBI: 0, ESM_CAUSE: esm_cause},
                                                 protocol_configuration_options=pco))


def activate_default_eps_bearer_context_request(
        ebi: int, pti: int, qci: int, apn: str, ipv4: str | None = None,
        ipv6_interface_identifier: bytes | None = None, apn_ambr: dict[str, int] | None = None,
        esm_cause: int | None = None, pco: bytes | None = None) -> bytes:
    """§8.3.6; the PDN address type follows the addresses given (§9.9.4.9)."""
    if ipv4 and ipv6_interface_identifier:
        pdn: dict[str, Any] = {"pdn_type": 3, "ipv4": ipv4,
                               "ipv6_interface_identifier": ipv6_interface_identifier}
    elif ipv6_interface_identifier:
        pdn = {"pdn_type": 2, "ipv6_interface_identifier": ipv6_interface_identifier}
    else:
        pdn = {"pdn_type": 1, "ipv4": ipv4 or "0.0.0.0"}
    if STATE.fast:
        key = (qci, apn, None if apn_ambr is None else tuple(apn_ambr.items()), esm_cause, pco)
        encoder: Any
        try:
            encoder = _DEFAULT_BEARERS.get(key)
        except TypeError:  # a value that is no key: encoded in full below
            encoder = False
        if encoder is None:
            if len(_DEFAULT_BEARERS) >= DEFAULT_BEARERS_KEPT:
                _DEFAULT_BEARERS.clear()
            encoder = _DEFAULT_BEARERS[key] = _fast.template(
                "ActivateDefaultEPSBearerContextRequest", _put(
                    {"eps_qos": {"qci": qci}, APN: apn}, apn_ambr=apn_ambr,
                    esm_cause=esm_cause, protocol_configuration_options=pco)) or False
        if encoder:
            got: bytes | None = encoder({EBI: ebi, PTI: pti, "pdn_address": pdn})
            if got is not None:
                return got
    fields = {EBI: ebi, PTI: pti, "eps_qos": {"qci": qci}, APN: apn, "pdn_address": pdn}
    return build("ActivateDefaultEPSBearerContextRequest", **_put(
        fields, apn_ambr=apn_ambr, esm_cause=esm_cause, protocol_configuration_options=pco))


# The default bearer requests of the PDN connections that share their QoS, APN, APN-AMBR, ESM
# cause and PCO (nearly all of a network's: one per APN) are written around their PDN address
# at the fast level (`FastPath.template`, checked there against a message encoded in full);
# False: the fast level declined that kind. Bounded: cleared when full.
_DEFAULT_BEARERS: dict[tuple[Any, ...], Any] = {}
DEFAULT_BEARERS_KEPT = 256


def activate_default_eps_bearer_context_accept(ebi: int, pti: int = 0,
                                               pco: bytes | None = None) -> bytes:
    """§8.3.4."""
    return build("ActivateDefaultEPSBearerContextAccept",
                 **_put({EBI: ebi, PTI: pti}, protocol_configuration_options=pco))


def activate_default_eps_bearer_context_reject(ebi: int, esm_cause: int, pti: int = 0) -> bytes:
    """§8.3.5."""
    return build("ActivateDefaultEPSBearerContextReject",
                 **{EBI: ebi, PTI: pti, ESM_CAUSE: esm_cause})


def activate_dedicated_eps_bearer_context_request(
        ebi: int, linked_ebi: int, eps_qos: dict[str, int], tft: bytes, pti: int = 0) -> bytes:
    """§8.3.3: a network-initiated dedicated bearer (§6.4.2.2); `eps_qos` as
    `nas_ies.eps_qos_to_wire` takes it (QCI, and for a GBR bearer the bit rates in kbps),
    `tft` a value part of `corenet.codecs.tft`."""
    return build("ActivateDedicatedEPSBearerContextRequest", **{
        EBI: ebi, PTI: pti, "linked_eps_bearer_identity": linked_ebi, "eps_qos": eps_qos,
        TFT: tft})


def activate_dedicated_eps_bearer_context_accept(ebi: int, pti: int = 0) -> bytes:
    """§8.3.1."""
    return build("ActivateDedicatedEPSBearerContextAccept", **{EBI: ebi, PTI: pti})


def activate_dedicated_eps_bearer_context_reject(ebi: int, esm_cause: int,
                                                 pti: int = 0) -> bytes:
    """§8.3.2."""
    return build("ActivateDedicatedEPSBearerContextReject",
                 **{EBI: ebi, PTI: pti, ESM_CAUSE: esm_cause})


def pdn_disconnect_request(pti: int, linked_ebi: int) -> bytes:
    """§8.3.18: the PDN connection named by its default bearer (§9.9.4.6 linked EBI)."""
    return build("PDNDisconnectRequest",
                 **{EBI: 0, PTI: pti, "linked_eps_bearer_identity": linked_ebi})


def pdn_disconnect_reject(pti: int, esm_cause: int) -> bytes:
    """§8.3.17."""
    return build("PDNDisconnectReject", **{EBI: 0, PTI: pti, ESM_CAUSE: esm_cause})


def deactivate_eps_bearer_context_request(ebi: int, esm_cause: int, pti: int = 0) -> bytes:
    """§8.3.12."""
    return build("DeactivateEPSBearerContextRequest", **{EBI: ebi, PTI: pti, ESM_CAUSE: esm_cause})


def deactivate_eps_bearer_context_accept(ebi: int, pti: int = 0) -> bytes:
    """§8.3.11."""
    return build("DeactivateEPSBearerContextAccept", **{EBI: ebi, PTI: pti})


def esm_information_request(pti: int, ebi: int = 0) -> bytes:
    """§8.3.13."""
    return build("ESMInformationRequest", **{EBI: ebi, PTI: pti})


def esm_information_response(pti: int, apn: str | None = None, pco: bytes | None = None,
                             ebi: int = 0) -> bytes:
    """§8.3.14."""
    return build("ESMInformationResponse", **_put({EBI: ebi, PTI: pti}, access_point_name=apn,
                                                  protocol_configuration_options=pco))


def esm_status(ebi: int, pti: int, esm_cause: int) -> bytes:
    """§8.3.15."""
    return build("ESMStatus", **{EBI: ebi, PTI: pti, ESM_CAUSE: esm_cause})
