"""S6a (TS 29.272) messages over the Diameter codec: builders, typed views, AVP values.

Requests take the Session-Id (see `corenet.codecs.diameter.session_id`) and the hop-by-hop and
end-to-end identifiers; answers copy them from the request (RFC 6733 §6.2). AVP order follows
the command ABNFs of TS 29.272 §7.2. S6a answers carry either Result-Code (RFC 6733 §7.1) or
Experimental-Result with Vendor-Id 10415 (TS 29.272 §7.4).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from corenet.codecs.base import Message
from corenet.codecs.diameter import (
    AUTH_SESSION_STATE_NO_STATE_MAINTAINED,
    S6A_APPLICATION_ID,
    VENDOR_3GPP,
    ResultCode,
    ShapedAvps,
    SharedGroup,
    answer_message,
    avp,
    avp_all,
    first_values,
    request_message,
)
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn

Entries = list[tuple[Any, ...]]

RAT_TYPE_EUTRAN = 1004  # TS 29.212 §5.3.31


class UlrFlags(enum.IntFlag):
    """TS 29.272 §7.3.7 (bit 0 is the least significant bit, §7.3.1)."""

    SINGLE_REGISTRATION_INDICATION = 1 << 0
    S6A_S6D_INDICATOR = 1 << 1
    SKIP_SUBSCRIBER_DATA = 1 << 2
    GPRS_SUBSCRIPTION_DATA_INDICATOR = 1 << 3
    NODE_TYPE_INDICATOR = 1 << 4
    INITIAL_ATTACH_INDICATOR = 1 << 5
    PS_LCS_NOT_SUPPORTED_BY_UE = 1 << 6


class UlaFlags(enum.IntFlag):
    """TS 29.272 §7.3.8."""

    SEPARATION_INDICATION = 1 << 0
    MME_REGISTERED_FOR_SMS = 1 << 1


class ClrFlags(enum.IntFlag):
    """TS 29.272 §7.3.152."""

    S6A_S6D_INDICATOR = 1 << 0
    REATTACH_REQUIRED = 1 << 1


class PurFlags(enum.IntFlag):
    """TS 29.272 §7.3.149."""

    UE_PURGED_IN_MME = 1 << 0
    UE_PURGED_IN_SGSN = 1 << 1


class PuaFlags(enum.IntFlag):
    """TS 29.272 §7.3.48."""

    FREEZE_M_TMSI = 1 << 0
    FREEZE_P_TMSI = 1 << 1


class IdrFlags(enum.IntFlag):
    """TS 29.272 §7.3.103."""

    UE_REACHABILITY_REQUEST = 1 << 0
    T_ADS_DATA_REQUEST = 1 << 1
    EPS_USER_STATE_REQUEST = 1 << 2
    EPS_LOCATION_INFORMATION_REQUEST = 1 << 3
    CURRENT_LOCATION_REQUEST = 1 << 4


class CancellationType(enum.IntEnum):
    """TS 29.272 §7.3.24."""

    MME_UPDATE_PROCEDURE = 0
    SGSN_UPDATE_PROCEDURE = 1
    SUBSCRIPTION_WITHDRAWAL = 2
    UPDATE_PROCEDURE_IWF = 3
    INITIAL_ATTACH_PROCEDURE = 4


class SubscriberStatus(enum.IntEnum):
    """TS 29.272 §7.3.29."""

    SERVICE_GRANTED = 0
    OPERATOR_DETERMINED_BARRING = 1


class NetworkAccessMode(enum.IntEnum):
    """TS 29.272 §7.3.21."""

    PACKET_AND_CIRCUIT = 0
    ONLY_PACKET = 2


class PdnType(enum.IntEnum):
    """TS 29.272 §7.3.62."""

    IPV4 = 0
    IPV6 = 1
    IPV4V6 = 2
    IPV4_OR_IPV6 = 3


class VplmnDynamicAddressAllowed(enum.IntEnum):
    """TS 29.272 §7.3.38."""

    NOTALLOWED = 0
    ALLOWED = 1


class UeSrvccCapability(enum.IntEnum):
    """TS 29.272 §7.3.130."""

    UE_SRVCC_NOT_SUPPORTED = 0
    UE_SRVCC_SUPPORTED = 1


# TS 29.212 §5.3.46-47
PRE_EMPTION_CAPABILITY_ENABLED, PRE_EMPTION_CAPABILITY_DISABLED = 0, 1
PRE_EMPTION_VULNERABILITY_ENABLED, PRE_EMPTION_VULNERABILITY_DISABLED = 0, 1
# TS 29.272 §7.3.33
ALL_APN_CONFIGURATIONS_INCLUDED, MODIFIED_ADDED_APN_CONFIGURATIONS_INCLUDED = 0, 1


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


# each octet with its two nibbles swapped: TBCD puts the first digit in the low nibble
_NIBBLES_SWAPPED = bytes((octet & 0x0F) << 4 | octet >> 4 for octet in range(256))


def msisdn_to_tbcd(digits: str) -> bytes:
    """MSISDN AVP value: E.164 digits as a TBCD string (TS 29.329 §6.3.2, TS 29.002), the
    filler 0xF in the high nibble of the last octet of an odd number of digits."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"MSISDN must be digits, got {digits!r}")
    padded = digits + "F" if len(digits) % 2 else digits
    return bytes.fromhex(padded).translate(_NIBBLES_SWAPPED)


def tbcd_to_msisdn(data: bytes) -> str:
    """Inverse of `msisdn_to_tbcd`; a filler 0xF ends the digits."""
    nibbles = bytes(data).translate(_NIBBLES_SWAPPED).hex()
    end = nibbles.find("f")
    digits = nibbles if end < 0 else nibbles[:end]
    if digits and not digits.isdigit():
        bad = next(c for c in digits if not c.isdigit())
        raise DecodeError("diameter", int(ResultCode.DIAMETER_INVALID_AVP_VALUE),
                          f"MSISDN nibble {bad} is not a digit")
    return digits


@dataclass(frozen=True, slots=True)
class EutranVector:
    """E-UTRAN-Vector, TS 29.272 §7.3.18 (KASME per TS 33.401 Annex A.2)."""

    rand: bytes
    xres: bytes
    autn: bytes
    kasme: bytes
    item_number: int | None = None

    def to_avps(self) -> Entries:
        avps: Entries = [] if self.item_number is None else [("Item-Number", self.item_number)]
        return avps + [("RAND", self.rand), ("XRES", self.xres), ("AUTN", self.autn),
                       ("KASME", self.kasme)]

    @classmethod
    def from_avps(cls, entries: Iterable[Any]) -> EutranVector:
        e = first_values(entries)
        return cls(e.get("RAND", b""), e.get("XRES", b""), e.get("AUTN", b""),
                   e.get("KASME", b""), e.get("Item-Number"))


@dataclass(frozen=True, slots=True)
class Ambr:
    """AMBR, TS 29.272 §7.3.41 (bit/s)."""

    max_requested_bandwidth_ul: int
    max_requested_bandwidth_dl: int

    def to_avps(self) -> Entries:
        return [("Max-Requested-Bandwidth-UL", self.max_requested_bandwidth_ul),
                ("Max-Requested-Bandwidth-DL", self.max_requested_bandwidth_dl)]

    @classmethod
    def from_avps(cls, entries: Iterable[Any]) -> Ambr:
        e = list(entries)
        return cls(avp(e, "Max-Requested-Bandwidth-UL", default=0),
                   avp(e, "Max-Requested-Bandwidth-DL", default=0))


@dataclass(frozen=True, slots=True)
class ApnConfiguration:
    """APN-Configuration, TS 29.272 §7.3.35, with EPS-Subscribed-QoS-Profile (§7.3.37)."""

    context_identifier: int
    service_selection: str
    pdn_type: int = PdnType.IPV4V6
    qos_class_identifier: int = 9
    priority_level: int = 8
    pre_emption_capability: int = PRE_EMPTION_CAPABILITY_DISABLED
    pre_emption_vulnerability: int = PRE_EMPTION_VULNERABILITY_ENABLED
    ambr: Ambr | None = None
    vplmn_dynamic_address_allowed: int | None = None  # VplmnDynamicAddressAllowed

    def to_avps(self) -> Entries:
        arp = [("Priority-Level", self.priority_level),
               ("Pre-emption-Capability", int(self.pre_emption_capability)),
               ("Pre-emption-Vulnerability", int(self.pre_emption_vulnerability))]
        avps: Entries = [
            ("Context-Identifier", self.context_identifier),
            ("PDN-Type", int(self.pdn_type)),
            ("Service-Selection", self.service_selection),
            ("EPS-Subscribed-QoS-Profile", [
                ("QoS-Class-Identifier", self.qos_class_identifier),
                ("Allocation-Retention-Priority", arp),
            ]),
        ]
        if self.vplmn_dynamic_address_allowed is not None:
            avps.append(("VPLMN-Dynamic-Address-Allowed", int(self.vplmn_dynamic_address_allowed)))
        if self.ambr is not None:
            avps.append(("AMBR", self.ambr.to_avps()))
        return avps

    @classmethod
    def from_avps(cls, entries: Iterable[Any]) -> ApnConfiguration:
        e = list(entries)
        qos = avp(e, "EPS-Subscribed-QoS-Profile", default=[])
        arp = avp(qos, "Allocation-Retention-Priority", default=[])
        ambr = avp(e, "AMBR")
        return cls(
            context_identifier=avp(e, "Context-Identifier", default=0),
            service_selection=avp(e, "Service-Selection", default=""),
            pdn_type=avp(e, "PDN-Type", default=PdnType.IPV4V6),
            qos_class_identifier=avp(qos, "QoS-Class-Identifier", default=9),
            priority_level=avp(arp, "Priority-Level", default=8),
            pre_emption_capability=avp(arp, "Pre-emption-Capability",
                                       default=PRE_EMPTION_CAPABILITY_DISABLED),
            pre_emption_vulnerability=avp(arp, "Pre-emption-Vulnerability",
                                          default=PRE_EMPTION_VULNERABILITY_ENABLED),
            ambr=None if ambr is None else Ambr.from_avps(ambr),
            vplmn_dynamic_address_allowed=avp(e, "VPLMN-Dynamic-Address-Allowed"),
        )


@dataclass(frozen=True, slots=True)
class SubscriptionData:
    """Subscription-Data, TS 29.272 §7.3.2 (the EPS part an MME uses)."""

    msisdn: str | None = None
    subscriber_status: int = SubscriberStatus.SERVICE_GRANTED
    network_access_mode: int = NetworkAccessMode.ONLY_PACKET
    access_restriction_data: int | None = None
    ambr: Ambr | None = None
    default_context_identifier: int | None = None
    apn_configurations: tuple[ApnConfiguration, ...] = ()
    all_apn_configurations_included: int = ALL_APN_CONFIGURATIONS_INCLUDED
    subscribed_periodic_rau_tau_timer: int | None = None

    def to_avps(self) -> Entries:
        """Members in the §7.3.2 ABNF order."""
        return self.shaped()[0]

    def shaped(self) -> tuple[Entries, tuple[Any, ...], int | None]:
        """`to_avps`, a key that fixes every octet of them but the MSISDN's (its length
        included), and the MSISDN's place among them (None: no MSISDN)."""
        avps: Entries = [("Subscriber-Status", int(self.subscriber_status))]
        msisdn = None
        if self.msisdn is not None:
            msisdn = len(avps)
            avps.append(("MSISDN", msisdn_to_tbcd(self.msisdn)))
        avps.append(("Network-Access-Mode", int(self.network_access_mode)))
        if self.access_restriction_data is not None:
            avps.append(("Access-Restriction-Data", self.access_restriction_data))
        if self.ambr is not None:
            avps.append(("AMBR", self.ambr.to_avps()))
        profile = None
        if self.apn_configurations:
            default = self.default_context_identifier
            if default is None:
                default = self.apn_configurations[0].context_identifier
            group = _apn_configuration_profile(
                self.apn_configurations, default, int(self.all_apn_configurations_included))
            profile = _Same(group)
            avps.append(("APN-Configuration-Profile", group))
        if self.subscribed_periodic_rau_tau_timer is not None:
            avps.append(("Subscribed-Periodic-RAU-TAU-Timer",
                         self.subscribed_periodic_rau_tau_timer))
        key = (int(self.subscriber_status), None if msisdn is None else len(avps[msisdn][1]),
               int(self.network_access_mode), self.access_restriction_data, self.ambr,
               profile, self.subscribed_periodic_rau_tau_timer)
        return avps, key, msisdn

    @classmethod
    def from_avps(cls, entries: Iterable[Any]) -> SubscriptionData:
        e = first_values(entries)
        msisdn = e.get("MSISDN")
        ambr = e.get("AMBR")
        profile = e.get("APN-Configuration-Profile", [])
        return cls(
            msisdn=None if msisdn is None else tbcd_to_msisdn(msisdn),
            subscriber_status=e.get("Subscriber-Status", SubscriberStatus.SERVICE_GRANTED),
            network_access_mode=e.get("Network-Access-Mode", NetworkAccessMode.ONLY_PACKET),
            access_restriction_data=e.get("Access-Restriction-Data"),
            ambr=None if ambr is None else Ambr.from_avps(ambr),
            default_context_identifier=avp(profile, "Context-Identifier"),
            apn_configurations=_apn_configurations_read(profile),
            all_apn_configurations_included=avp(
                profile, "All-APN-Configurations-Included-Indicator",
                default=ALL_APN_CONFIGURATIONS_INCLUDED),
            subscribed_periodic_rau_tau_timer=e.get("Subscribed-Periodic-RAU-TAU-Timer"),
        )


class _Same:
    """A key part that is one object (a `SharedGroup`, which cannot be changed): equal only to
    itself, and holding it, so its id stays its own while a key holds it."""

    __slots__ = ("obj", "_hash")

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self._hash = id(obj)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return type(other) is _Same and other.obj is self.obj


# APN-Configuration-Profiles by (APN-Configurations, default, indicator), with the
# configurations they were made from (kept alive here: their id stays their own)
_PROFILES: dict[tuple[int, int, int], tuple[tuple[ApnConfiguration, ...], SharedGroup]] = {}


def _apn_configuration_profile(apns: tuple[ApnConfiguration, ...], default: int,
                               included: int) -> SharedGroup:
    """APN-Configuration-Profile, TS 29.272 §7.3.34: made once per tuple of configurations
    (an HSS shares one tuple among the subscribers of a stored profile), so its octets are
    written once (`SharedGroup`)."""
    key = (id(apns), default, included)
    hit = _PROFILES.get(key)
    if hit is not None and hit[0] is apns:
        return hit[1]
    group = SharedGroup([
        ("Context-Identifier", default),
        ("All-APN-Configurations-Included-Indicator", included),
        *[("APN-Configuration", apn.to_avps()) for apn in apns],
    ])
    if len(_PROFILES) >= 1024:
        _PROFILES.clear()
    _PROFILES[key] = (apns, group)
    return group


def _hashable(entries: Iterable[Any]) -> tuple[Any, ...]:
    """Grouped entries as nested tuples, to look them up by content."""
    return tuple([(e[0], _hashable(e[1]), *e[2:]) if isinstance(e[1], list) else tuple(e)
                  for e in entries])


# APN-Configurations read from an APN-Configuration-Profile, by the profile's content
_PROFILES_READ: dict[tuple[Any, ...], tuple[ApnConfiguration, ...]] = {}


# APN-Configurations read from a decoded APN-Configuration-Profile (a SharedGroup, one per
# distinct content), by the group's identity, with the group (kept alive: its id stays its own)
_GROUPS_READ: dict[int, tuple[SharedGroup, tuple[ApnConfiguration, ...]]] = {}


def _apn_configurations_read(profile: Iterable[Any]) -> tuple[ApnConfiguration, ...]:
    """The APN-Configurations of an APN-Configuration-Profile (TS 29.272 §7.3.34), read once
    per distinct profile: an MME receives the same profile for every subscriber of it, and
    the configurations read from it are immutable, so one tuple serves them all. The decoder
    hands every message the same SharedGroup for the same octets: it is looked up by its
    identity; any other value by its content."""
    if type(profile) is SharedGroup:
        hit = _GROUPS_READ.get(id(profile))
        if hit is not None and hit[0] is profile:
            return hit[1]
        configs = _apn_configurations(profile)
        if len(_GROUPS_READ) >= 1024:
            _GROUPS_READ.clear()
        _GROUPS_READ[id(profile)] = (profile, configs)
        return configs
    try:
        key = _hashable(profile)
    except TypeError:  # an unhashable value (not as decoded): read it as it is
        return _apn_configurations(profile)
    known = _PROFILES_READ.get(key)
    if known is None:
        known = _apn_configurations(profile)
        if len(_PROFILES_READ) >= 1024:
            _PROFILES_READ.clear()
        _PROFILES_READ[key] = known
    return known


def _apn_configurations(profile: Iterable[Any]) -> tuple[ApnConfiguration, ...]:
    return tuple(ApnConfiguration.from_avps(a) for a in avp_all(profile, "APN-Configuration"))


class Result(NamedTuple):
    """The outcome of an answer: Result-Code, or Experimental-Result-Code when experimental."""

    code: int
    experimental: bool


def result_of(msg: Message) -> Result | None:
    code = avp(msg, "Result-Code")
    if code is not None:
        return Result(code, False)
    exp = avp(msg, "Experimental-Result", "Experimental-Result-Code")
    return None if exp is None else Result(exp, True)


def vectors_of(msg: Message) -> list[EutranVector]:
    """E-UTRAN vectors of an AIA (TS 29.272 §7.3.17)."""
    return [EutranVector.from_avps(v)
            for v in avp_all(msg, "Authentication-Info", "E-UTRAN-Vector")]


def subscription_data_of(msg: Message) -> SubscriptionData | None:
    data = avp(msg, "Subscription-Data")
    return None if data is None else SubscriptionData.from_avps(data)


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _plmn_octets(plmn: Plmn) -> bytes:
    """Visited-PLMN-Id octets (TS 29.272 §7.3.9), once per PLMN."""
    return plmn.to_bytes()


# Vendor-Specific-Application-Id for S6a (TS 29.272 §7.1.8, RFC 6733 §6.11): the same entry,
# written once, in every S6a message
_VSAI: tuple[Any, ...] = ("Vendor-Specific-Application-Id", SharedGroup(
    [("Vendor-Id", VENDOR_3GPP), ("Auth-Application-Id", S6A_APPLICATION_ID)]))


def _supported_features(features: Iterable[tuple[int, int]]) -> Entries:
    """Supported-Features (TS 29.229 §6.3.29): (Feature-List-ID, Feature-List) pairs."""
    return [("Supported-Features", [("Vendor-Id", VENDOR_3GPP), ("Feature-List-ID", fid),
                                    ("Feature-List", flist)]) for fid, flist in features]


def _request_head(
    session_id: str, origin_host: str, origin_realm: str, destination_host: str | None,
    destination_realm: str, user_name: str,
) -> Entries:
    avps: Entries = [
        ("Session-Id", session_id), _VSAI,
        ("Auth-Session-State", AUTH_SESSION_STATE_NO_STATE_MAINTAINED),  # TS 29.272 §7.1.4
        ("Origin-Host", origin_host), ("Origin-Realm", origin_realm),
    ]
    if destination_host is not None:
        avps.append(("Destination-Host", destination_host))
    return avps + [("Destination-Realm", destination_realm), ("User-Name", user_name)]


def _answer_head(
    request: Message, origin_host: str, origin_realm: str, result_code: int | None,
    experimental_result: int | None,
) -> Entries:
    if result_code is not None and experimental_result is not None:
        raise ValueError("Result-Code and Experimental-Result are exclusive (RFC 6733 §7.6)")
    if experimental_result is not None:
        result: tuple[Any, ...] = ("Experimental-Result", [
            ("Vendor-Id", VENDOR_3GPP), ("Experimental-Result-Code", int(experimental_result))])
    else:
        code = ResultCode.DIAMETER_SUCCESS if result_code is None else result_code
        result = ("Result-Code", int(code))
    avps: Entries = [("Session-Id", avp(request, "Session-Id", default="")), _VSAI]
    tail: Entries = [("Auth-Session-State", AUTH_SESSION_STATE_NO_STATE_MAINTAINED),
                     ("Origin-Host", origin_host), ("Origin-Realm", origin_realm)]
    return avps + [result] + tail  # TS 29.272 §7.2: result before Auth-Session-State


def air(
    session_id: str, origin_host: str, origin_realm: str, destination_realm: str,
    user_name: str, visited_plmn: Plmn, *, hop_by_hop: int, end_to_end: int,
    num_vectors: int = 1, immediate_response_preferred: bool = False,
    resync_info: bytes | None = None, destination_host: str | None = None,
    supported_features: Iterable[tuple[int, int]] = (), extra: Iterable[tuple[Any, ...]] = (),
) -> Message:
    """Authentication-Information-Request, TS 29.272 §7.2.5 (§5.2.3.1).

    `extra`: further AVPs at the end (RFC 7683 §5.1.1 OC-Supported-Features)."""
    avps = _request_head(session_id, origin_host, origin_realm, destination_host,
                         destination_realm, user_name)
    user = len(avps) - 1
    features = tuple(supported_features)
    avps += _supported_features(features)
    req_info: Entries = [("Number-Of-Requested-Vectors", num_vectors)]  # §7.3.11
    if immediate_response_preferred:
        req_info.append(("Immediate-Response-Preferred", 1))
    if resync_info is not None:
        req_info.append(("Re-Synchronization-Info", resync_info))  # RAND || AUTS, §7.3.15
    avps.append(("Requested-EUTRAN-Authentication-Info", req_info))
    plmn = _plmn_octets(visited_plmn)
    avps.append(("Visited-PLMN-Id", plmn))  # §7.3.9
    extras = list(extra)
    avps += extras
    if resync_info is not None:
        return request_message("AIR", avps, hop_by_hop, end_to_end)
    # every AVP but the Session-Id and the User-Name follows from these
    key = ("AIR", origin_host, origin_realm, destination_host, destination_realm,
           len(session_id), len(user_name), features, num_vectors, immediate_response_preferred,
           plmn, _hashable(extras) if extras else ())
    return request_message("AIR", ShapedAvps(avps, key, ((0,), (user,))), hop_by_hop,
                           end_to_end)


def aia(
    request: Message, origin_host: str, origin_realm: str, *, result_code: int | None = None,
    experimental_result: int | None = None, vectors: Iterable[EutranVector] = (),
) -> Message:
    """Authentication-Information-Answer, TS 29.272 §7.2.6 (§5.2.3.1.3)."""
    avps = _answer_head(request, origin_host, origin_realm, result_code, experimental_result)
    vecs = list(vectors)
    varying: list[tuple[int, ...]] = [(0,)]
    shape: list[Any] = []
    if vecs:
        info = len(avps)
        avps.append(("Authentication-Info",
                     [("E-UTRAN-Vector", v.to_avps()) for v in vecs]))
        for number, v in enumerate(vecs):
            first = 0 if v.item_number is None else 1
            varying += [(info, number, first + field) for field in range(4)]
            shape.append((v.item_number, len(v.rand), len(v.xres), len(v.autn), len(v.kasme)))
    # every AVP but the Session-Id and the vectors' RAND, XRES, AUTN, KASME follows from these
    key = ("AIA", origin_host, origin_realm, result_code, experimental_result,
           len(avps[0][1]), tuple(shape))
    return answer_message(request, ShapedAvps(avps, key, tuple(varying)))


def ulr(
    session_id: str, origin_host: str, origin_realm: str, destination_realm: str,
    user_name: str, visited_plmn: Plmn, *, hop_by_hop: int, end_to_end: int,
    ulr_flags: int = UlrFlags.S6A_S6D_INDICATOR, rat_type: int = RAT_TYPE_EUTRAN,
    destination_host: str | None = None, imei: str | None = None,
    software_version: str | None = None, ue_srvcc_capability: int | None = None,
    supported_features: Iterable[tuple[int, int]] = (),
) -> Message:
    """Update-Location-Request, TS 29.272 §7.2.3 (§5.2.1.1)."""
    avps = _request_head(session_id, origin_host, origin_realm, destination_host,
                         destination_realm, user_name)
    varying: list[tuple[int, ...]] = [(0,), (len(avps) - 1,)]
    features = tuple(supported_features)
    avps += _supported_features(features)
    if imei is not None or software_version is not None:
        term: Entries = [] if imei is None else [("IMEI", imei)]  # §7.3.3
        if software_version is not None:
            term.append(("Software-Version", software_version))
        varying += [(len(avps), index) for index in range(len(term))]
        avps.append(("Terminal-Information", term))
    flags = int(ulr_flags)
    avps += [("RAT-Type", rat_type), ("ULR-Flags", flags)]
    if ue_srvcc_capability is not None:
        avps.append(("UE-SRVCC-Capability", int(ue_srvcc_capability)))
    plmn = _plmn_octets(visited_plmn)
    avps.append(("Visited-PLMN-Id", plmn))
    # every AVP but the Session-Id, User-Name, IMEI and Software-Version follows from these
    key = ("ULR", origin_host, origin_realm, destination_host, destination_realm,
           len(session_id), len(user_name), features,
           None if imei is None else len(imei),
           None if software_version is None else len(software_version), rat_type, flags,
           ue_srvcc_capability, plmn)
    return request_message("ULR", ShapedAvps(avps, key, tuple(varying)), hop_by_hop,
                           end_to_end)


def ula(
    request: Message, origin_host: str, origin_realm: str, *, result_code: int | None = None,
    experimental_result: int | None = None, ula_flags: int | None = None,
    subscription_data: SubscriptionData | None = None,
) -> Message:
    """Update-Location-Answer, TS 29.272 §7.2.4 (§5.2.1.1.3).

    ULA-Flags defaults to Separation Indication on success (§7.3.8).
    """
    avps = _answer_head(request, origin_host, origin_realm, result_code, experimental_result)
    success = experimental_result is None and result_code in (None, 2001)
    if ula_flags is None and success:
        ula_flags = UlaFlags.SEPARATION_INDICATION
    if ula_flags is not None:
        avps.append(("ULA-Flags", int(ula_flags)))
    varying: tuple[tuple[int, ...], ...] = ((0,),)
    data_key = None
    if subscription_data is not None:
        data, data_key, msisdn = subscription_data.shaped()
        if msisdn is not None:
            varying += ((len(avps), msisdn),)
        avps.append(("Subscription-Data", data))
    # every AVP but the Session-Id and the MSISDN follows from these
    key = ("ULA", origin_host, origin_realm, result_code, experimental_result,
           None if ula_flags is None else int(ula_flags), len(avps[0][1]), data_key)
    return answer_message(request, ShapedAvps(avps, key, varying))


def pur(
    session_id: str, origin_host: str, origin_realm: str, destination_realm: str,
    user_name: str, *, hop_by_hop: int, end_to_end: int,
    pur_flags: int = PurFlags.UE_PURGED_IN_MME, destination_host: str | None = None,
) -> Message:
    """Purge-UE-Request, TS 29.272 §7.2.11 (§5.2.1.3)."""
    avps = _request_head(session_id, origin_host, origin_realm, destination_host,
                         destination_realm, user_name)
    avps.append(("PUR-Flags", int(pur_flags)))
    return request_message("PUR", avps, hop_by_hop, end_to_end)


def pua(
    request: Message, origin_host: str, origin_realm: str, *, result_code: int | None = None,
    experimental_result: int | None = None, pua_flags: int | None = None,
) -> Message:
    """Purge-UE-Answer, TS 29.272 §7.2.12."""
    avps = _answer_head(request, origin_host, origin_realm, result_code, experimental_result)
    if pua_flags is not None:
        avps.append(("PUA-Flags", int(pua_flags)))
    return answer_message(request, avps)


def clr(
    session_id: str, origin_host: str, origin_realm: str, destination_host: str,
    destination_realm: str, user_name: str, *, hop_by_hop: int, end_to_end: int,
    cancellation_type: int = CancellationType.SUBSCRIPTION_WITHDRAWAL,
    clr_flags: int | None = None,
) -> Message:
    """Cancel-Location-Request, TS 29.272 §7.2.7 (§5.2.1.2)."""
    avps = _request_head(session_id, origin_host, origin_realm, destination_host,
                         destination_realm, user_name)
    avps.append(("Cancellation-Type", int(cancellation_type)))
    if clr_flags is not None:
        avps.append(("CLR-Flags", int(clr_flags)))
    return request_message("CLR", avps, hop_by_hop, end_to_end)


def cla(
    request: Message, origin_host: str, origin_realm: str, *, result_code: int | None = None,
    experimental_result: int | None = None,
) -> Message:
    """Cancel-Location-Answer, TS 29.272 §7.2.8."""
    avps = _answer_head(request, origin_host, origin_realm, result_code, experimental_result)
    return answer_message(request, avps)


def idr(
    session_id: str, origin_host: str, origin_realm: str, destination_host: str,
    destination_realm: str, user_name: str, subscription_data: SubscriptionData, *,
    hop_by_hop: int, end_to_end: int, idr_flags: int | None = None,
) -> Message:
    """Insert-Subscriber-Data-Request, TS 29.272 §7.2.9 (§5.2.2.1)."""
    avps = _request_head(session_id, origin_host, origin_realm, destination_host,
                         destination_realm, user_name)
    avps.append(("Subscription-Data", subscription_data.to_avps()))
    if idr_flags is not None:
        avps.append(("IDR-Flags", int(idr_flags)))
    return request_message("IDR", avps, hop_by_hop, end_to_end)


def ida(
    request: Message, origin_host: str, origin_realm: str, *, result_code: int | None = None,
    experimental_result: int | None = None, ida_flags: int | None = None,
) -> Message:
    """Insert-Subscriber-Data-Answer, TS 29.272 §7.2.10."""
    avps = _answer_head(request, origin_host, origin_realm, result_code, experimental_result)
    if ida_flags is not None:
        avps.append(("IDA-Flags", int(ida_flags)))
    return answer_message(request, avps)
