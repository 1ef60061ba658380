"""Gx and Rx requests as the P-GW and the P-CSCF send them, for the PCRF's tests."""

from __future__ import annotations

from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs import pcc
from corenet.codecs.base import Message

PCRF = pcc.Origin("pcrf.epc.mnc020.mcc440.3gppnetwork.org", "epc.mnc020.mcc440.3gppnetwork.org")
PGW = pcc.Origin("pgw.epc.mnc020.mcc440.3gppnetwork.org", "epc.mnc020.mcc440.3gppnetwork.org")
PCSCF = pcc.Origin("pcscf.ims.mnc020.mcc440.3gppnetwork.org", "epc.mnc020.mcc440.3gppnetwork.org")
IMSI, MSISDN, IMEISV = "440100123456789", "819012345678", "3534900698733201"
UE = "127.147.0.2"
REMOTE = "127.0.0.8"
ULI = {"tai": {"plmn": "44020", "tac": 1}, "ecgi": {"plmn": "44020", "eci": 0x10101}}


def roundtrip(msg: Message) -> Message:
    """Through the wire and back, as a peer receives it."""
    return dia.decode(dia.encode(msg))


def ccr_initial(sid: str = "pgw;1;1", *, apn: str = "sos", msisdn: str | None = MSISDN,
                imsi: str | None = IMSI, ue: str | None = UE,
                ipv6_prefix: str | None = None) -> Message:
    avps: list[tuple[str, Any]] = [
        ("CC-Request-Type", pcc.CcRequestType.INITIAL_REQUEST), ("CC-Request-Number", 0),
        *pcc.subscription_ids(imsi, msisdn), *pcc.ue_address_avps(ue, ipv6_prefix),
        ("IP-CAN-Type", pcc.IP_CAN_TYPE_3GPP_EPS), ("RAT-Type", pcc.RAT_TYPE_EUTRAN),
        *pcc.user_equipment(IMEISV), pcc.default_bearer_qos(5, 9),
        ("3GPP-User-Location-Info", pcc.user_location(ULI)), ("Called-Station-Id", apn)]
    return roundtrip(pcc.request("CCR", sid, PGW, PCRF.realm, avps, dest_host=PCRF.host))


def ccr(sid: str, kind: pcc.CcRequestType, number: int, *extra: tuple[str, Any]) -> Message:
    return roundtrip(pcc.request("CCR", sid, PGW, PCRF.realm, [
        ("CC-Request-Type", kind), ("CC-Request-Number", number), *extra]))


def media_component(number: int = 1, ue: str = UE, kbps: int = 41) -> tuple[str, Any]:
    """An AMR-WB audio stream (TS 29.214 §5.3.8), bandwidth from SDP b=AS."""
    return ("Media-Component-Description", [
        ("Media-Component-Number", number),
        ("Media-Sub-Component", [
            ("Flow-Number", 1),
            ("Flow-Description", f"permit out 17 from {REMOTE} 40000 to {ue} 50000"),
            ("Flow-Description", f"permit in 17 from {ue} 50000 to {REMOTE} 40000")]),
        ("Media-Type", pcc.MEDIA_TYPE_AUDIO),
        ("Max-Requested-Bandwidth-UL", kbps * 1000), ("Max-Requested-Bandwidth-DL", kbps * 1000),
        ("Codec-Data", b"uplink\noffer\nm=audio 50000 RTP/AVP 96\na=rtpmap:96 AMR-WB/16000\n")])


def aar(sid: str = "pcscf;1;1", *extra: tuple[str, Any], ue: str | None = UE,
        emergency: bool = True) -> Message:
    avps: list[tuple[str, Any]] = [*pcc.ue_address_avps(ue, None)] if ue else []
    if emergency:
        avps.append(("Service-URN", b"urn:service:sos.fire"))
    avps += [("AF-Requested-Data", pcc.EPC_LEVEL_IDENTITIES),
             ("Required-Access-Info", pcc.USER_LOCATION), *extra]
    return roundtrip(pcc.request("AAR", sid, PCSCF, PCRF.realm, avps))


def str_(sid: str = "pcscf;1;1") -> Message:
    return roundtrip(pcc.request("STR", sid, PCSCF, PCRF.realm,
                                 [("Termination-Cause", pcc.DIAMETER_LOGOUT)]))
