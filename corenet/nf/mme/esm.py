"""ESM at the MME: the PDN connectivity of an attach (TS 24.301 §6.5.1) and the default bearer
built from the subscription (TS 23.401 §5.3.2.1 steps 11-17), with the roaming AMBR cap.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from corenet.codecs import nas
from corenet.codecs.s6a import ApnConfiguration, PdnType, SubscriptionData
from corenet.config.models import AmbrCap, EmergencyConfig
from corenet.nf.mme import causes
from corenet.nf.mme.context import Bearer, Pdn, UeSession

DEFAULT_EBI = 5  # TS 24.007 §11.2.3.1.5: the first EPS bearer identity value

# TS 24.301 §9.9.4.10 PDN type
IPV4, IPV6, IPV4V6 = 1, 2, 3
# TS 24.301 §9.9.4.14 -> TS 24.008 §10.5.6.17 request type
REQUEST_INITIAL, REQUEST_EMERGENCY = 1, 4


class EsmReject(Exception):
    """The PDN connectivity cannot be granted: the ESM cause goes in a PDN Connectivity Reject
    inside an Attach Reject #19 (TS 24.301 §5.5.1.2.5, §6.5.1.4)."""

    def __init__(self, esm_cause: int, detail: str) -> None:
        super().__init__(detail)
        self.esm_cause = esm_cause


@dataclass(frozen=True)
class PdnRequest:
    """What the UE asked for in its PDN CONNECTIVITY REQUEST (TS 24.301 §8.3.20)."""

    pti: int
    request_type: int
    pdn_type: int
    apn: str | None
    pco: bytes | None
    esm_info_transfer: bool


def pdn_request_of(container: dict[str, Any]) -> PdnRequest:
    """The decoded ESM message container of an Attach Request (TS 24.301 §8.2.4.1)."""
    if container.get("name") != "PDNConnectivityRequest":
        raise EsmReject(causes.ESM_REQUEST_REJECTED_UNSPECIFIED,
                        "the attach carries no PDN CONNECTIVITY REQUEST")
    f = container.get("fields", {})
    return PdnRequest(
        pti=int(f.get(nas.PTI, 0)), request_type=int(f.get("request_type", 1)),
        pdn_type=int(f.get("pdn_type", IPV4)), apn=f.get(nas.APN),
        pco=f.get(nas.PCO), esm_info_transfer=bool(f.get("esm_information_transfer_flag")))


def requested_pdn(session: UeSession) -> PdnRequest:
    """The attach's PDN CONNECTIVITY REQUEST (`UeSession.pdn_request`), read once per
    container the session holds: the attach consults it at several steps (TS 23.401
    §5.3.2.1 steps 6, 11, 12 and 17)."""
    container = session.pdn_request
    read = session.pdn_request_read
    if read is None or read[0] is not container:
        read = session.pdn_request_read = (container, pdn_request_of(container))
    req: PdnRequest = read[1]
    return req


def _apn_matches(requested: str, subscribed: str) -> bool:
    # TS 23.003 §9.1: the network identifier compares case-insensitively
    return requested.lower() == subscribed.lower() or subscribed == "*"


def select_apn(sub: SubscriptionData, requested: str | None) -> ApnConfiguration:
    """TS 23.401 §5.3.2.1 step 12 / Annex A of TS 29.272: the requested APN if subscribed,
    else the default APN of the APN-Configuration-Profile (§7.3.34)."""
    if requested:
        for conf in sub.apn_configurations:
            if _apn_matches(requested, conf.service_selection):
                return conf
        raise EsmReject(causes.ESM_MISSING_OR_UNKNOWN_APN, f"APN {requested!r} not subscribed")
    for conf in sub.apn_configurations:
        if conf.context_identifier == sub.default_context_identifier:
            return conf
    if sub.apn_configurations:
        return sub.apn_configurations[0]
    raise EsmReject(causes.ESM_MISSING_OR_UNKNOWN_APN, "no APN configuration subscribed")


def select_pdn_type(subscribed: int, requested: int) -> int:
    """TS 23.401 §5.3.1.1: the requested type as far as the subscription allows it."""
    if subscribed == PdnType.IPV4V6:
        return requested
    if subscribed == PdnType.IPV4 or (subscribed == PdnType.IPV4_OR_IPV6 and requested != IPV6):
        if requested == IPV6:
            raise EsmReject(50, "PDN type IPv4 only allowed")  # TS 24.301 §9.9.4.4 #50
        return IPV4
    if requested == IPV4:
        raise EsmReject(51, "PDN type IPv6 only allowed")  # TS 24.301 §9.9.4.4 #51
    return IPV6


def capped(value_bps: int, cap_bps: int, roamer: bool) -> int:
    """Roamers get the smaller of the subscription and the cap (seed report: 300 kbps)."""
    return min(value_bps, cap_bps) if roamer else value_bps


def ue_ambr(sub: SubscriptionData, cap: AmbrCap, roamer: bool) -> tuple[int, int]:
    """(UL, DL) UE-AMBR in bit/s (TS 23.401 §4.7.3); unlimited subscriptions take the cap."""
    ul = sub.ambr.max_requested_bandwidth_ul if sub.ambr else cap.ul_bps
    dl = sub.ambr.max_requested_bandwidth_dl if sub.ambr else cap.dl_bps
    return capped(ul, cap.ul_bps, roamer), capped(dl, cap.dl_bps, roamer)


def build_pdn(sub: SubscriptionData, req: PdnRequest, cap: AmbrCap, roamer: bool) -> Pdn:
    """The PDN connection to request from the S-GW (TS 23.401 §5.3.2.1 step 12)."""
    conf = select_apn(sub, req.apn)
    pdn_type = select_pdn_type(conf.pdn_type, req.pdn_type)
    ambr = conf.ambr or sub.ambr
    ul = ambr.max_requested_bandwidth_ul if ambr else cap.ul_bps
    dl = ambr.max_requested_bandwidth_dl if ambr else cap.dl_bps
    bearer = Bearer(ebi=DEFAULT_EBI, qci=conf.qos_class_identifier,
                    arp_priority=conf.priority_level,
                    pre_emption_capability=int(conf.pre_emption_capability),
                    pre_emption_vulnerability=int(conf.pre_emption_vulnerability))
    return Pdn(apn=conf.service_selection, pdn_type=pdn_type,
               apn_ambr_ul_bps=capped(ul, cap.ul_bps, roamer),
               apn_ambr_dl_bps=capped(dl, cap.dl_bps, roamer), bearer=bearer, pco=req.pco)


def emergency_pdn(cfg: EmergencyConfig, req: PdnRequest) -> Pdn:
    """The emergency PDN connection (TS 23.401 §4.3.12.3): APN, QCI and ARP from the MME's
    emergency configuration whatever the UE asked; the emergency bearer may pre-empt and is
    not pre-emptable (TS 23.401 §4.3.12.4, ARP per TS 29.212 §5.3.46-47)."""
    pdn_type = req.pdn_type if req.pdn_type in (IPV4, IPV6, IPV4V6) else IPV4
    bearer = Bearer(ebi=DEFAULT_EBI, qci=cfg.qci, arp_priority=cfg.arp_priority,
                    pre_emption_capability=0, pre_emption_vulnerability=1)
    return Pdn(apn=cfg.apn, pdn_type=pdn_type, apn_ambr_ul_bps=cfg.ambr.ul_bps,
               apn_ambr_dl_bps=cfg.ambr.dl_bps, bearer=bearer, pco=req.pco)


# TS 24.301 §6.5.1.3: an IPv4v6 request granted one family, by the GTPv2-C cause
# (TS 29.274 Table 8.4-1: 18 network preference, 19 single address bearers only)
_NARROWED_ESM_CAUSE = {(18, IPV4): 50, (18, IPV6): 51, (19, IPV4): 52, (19, IPV6): 52}


def narrow_pdn_type(pdn: Pdn, gtp_cause: int | None, paa: dict[str, Any] | None) -> None:
    """The PDN type the P-GW granted (TS 23.401 §5.3.1.1) and the ESM cause telling the UE
    why it got one address family only (TS 24.301 §6.5.1.3: #50, #51 or #52)."""
    granted = (paa or {}).get("pdn_type")
    if pdn.pdn_type != IPV4V6 or granted not in (IPV4, IPV6):
        return
    pdn.pdn_type = granted
    pdn.esm_cause = _NARROWED_ESM_CAUSE.get((gtp_cause or 0, granted))


def _ipv6_octets(text: str) -> bytes:
    """The 16 octets of an IPv6 address (RFC 4291 §2.2 text): inet_pton reads every form the
    GTPv2-C codec writes; `ipaddress` the others (a scope) or says why the text is wrong."""
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, TypeError, ValueError):
        return ipaddress.IPv6Address(text).packed


def apply_paa(pdn: Pdn, paa: dict[str, Any] | None) -> None:
    """The UE's addresses from the PAA (TS 29.274 §8.14): IPv4 and the IPv6 interface
    identifier the UE uses with the allocated prefix (TS 23.401 §5.3.1.2.2)."""
    if not paa:
        return
    if paa.get("ipv4") and paa["ipv4"] != "0.0.0.0":
        pdn.ipv4 = paa["ipv4"]
    if paa.get("ipv6"):
        pdn.ipv6_iid = _ipv6_octets(paa["ipv6"])[8:] or None
        if pdn.ipv6_iid == bytes(8):
            pdn.ipv6_iid = (1).to_bytes(8, "big")


def activate_default_bearer_request(pdn: Pdn, pti: int) -> bytes:
    """ACTIVATE DEFAULT EPS BEARER CONTEXT REQUEST (TS 24.301 §8.3.6), APN-AMBR in kbps
    (§9.9.4.2; a maximum is coded rounding down, so the cap is never exceeded)."""
    ambr = {"downlink": pdn.apn_ambr_dl_bps // 1000, "uplink": pdn.apn_ambr_ul_bps // 1000}
    ipv4 = pdn.ipv4 if pdn.pdn_type in (IPV4, IPV4V6) else None
    iid = pdn.ipv6_iid if pdn.pdn_type in (IPV6, IPV4V6) else None
    return nas.activate_default_eps_bearer_context_request(
        pdn.bearer.ebi, pti, pdn.bearer.qci, pdn.apn, ipv4=ipv4 or (None if iid else "0.0.0.0"),
        ipv6_interface_identifier=iid, apn_ambr=ambr, esm_cause=pdn.esm_cause, pco=pdn.pco)


def pdn_connectivity_reject(pti: int, esm_cause: int) -> bytes:
    """PDN CONNECTIVITY REJECT (TS 24.301 §8.3.19)."""
    return nas.pdn_connectivity_reject(pti, esm_cause)
