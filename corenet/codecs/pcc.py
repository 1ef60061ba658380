"""Gx (TS 29.212) and Rx (TS 29.214) messages over the Diameter codec, and their AVP values.

Builders return `Message`s of `corenet.codecs.diameter` (the dictionary rows are there); readers
take a decoded message and give plain values. Encodings of the AVPs whose data is a structure:

- Framed-IP-Address (RFC 7155 §4.4.10.5.1): the 4 octets of the IPv4 address;
- Framed-IPv6-Prefix (RFC 7155 §4.4.10.5.2, RFC 3162 §2.3): reserved octet, prefix length,
  the prefix;
- 3GPP-User-Location-Info (TS 29.061 §16.4.7.2, TS 29.274 §8.21): Geographic Location Type
  130 (TAI and ECGI), then TAI (PLMN, TAC) and ECGI (PLMN, 28-bit ECI);
- User-Equipment-Info (RFC 4006 §8.49-8.52): type IMEISV (0), the digits as UTF-8.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.core.plmn import Plmn


class CcRequestType(enum.IntEnum):
    """RFC 4006 §8.3; TS 29.212 §4.5.1 (initial), §4.5.2 (update), §4.5.7 (termination)."""

    INITIAL_REQUEST = 1
    UPDATE_REQUEST = 2
    TERMINATION_REQUEST = 3


class SubscriptionIdType(enum.IntEnum):
    """RFC 4006 §8.47."""

    END_USER_E164 = 0
    END_USER_IMSI = 1


class ExperimentalResult(enum.IntEnum):
    """Experimental-Result-Code values, Vendor-Id 10415: TS 29.212 §5.5.3, TS 29.214 §5.5.3."""

    DIAMETER_PCC_RULE_EVENT = 5142  # TS 29.212: a PCC rule could not be enforced
    INVALID_SERVICE_INFORMATION = 5061  # TS 29.214
    FILTER_RESTRICTIONS = 5062
    REQUESTED_SERVICE_NOT_AUTHORIZED = 5063
    IP_CAN_SESSION_NOT_AVAILABLE = 5065  # TS 29.214 §4.4.1: session binding failed
    UNAUTHORIZED_NON_EMERGENCY_SESSION = 5067  # TS 29.214 §4.4.1: not on an emergency session


IMEISV = 0  # RFC 4006 §8.50 User-Equipment-Info-Type
IP_CAN_TYPE_3GPP_EPS = 5  # TS 29.212 §5.3.27
RAT_TYPE_EUTRAN = 1004  # TS 29.212 §5.3.31
BEARER_CONTROL_MODE_UE_NW = 2  # TS 29.212 §5.3.23
NETWORK_REQUEST_SUPPORTED = 1  # TS 29.212 §5.3.24
AUTHORIZE_ONLY = 0  # RFC 6733 §8.12 Re-Auth-Request-Type
DIAMETER_LOGOUT = 1  # RFC 6733 §8.15 Termination-Cause
BEARER_RELEASED = 0  # TS 29.214 §5.3.1 Abort-Cause
USER_LOCATION = 0  # TS 29.214 Required-Access-Info
INDICATION_OF_FAILED_RESOURCES_ALLOCATION = 9  # TS 29.214 §5.3.13 Specific-Action
FLOW_STATUS_ENABLED = 2  # TS 29.214 §5.3.11 / TS 29.212 Flow-Status
FLOW_USAGE_AF_SIGNALLING = 2  # TS 29.214 §5.3.12
AF_SIGNALLING_SIP = 1  # TS 29.214 AF-Signalling-Protocol
MEDIA_TYPE_AUDIO = 0  # TS 29.214 §5.3.19
FLOW_DIRECTION_DOWNLINK, FLOW_DIRECTION_UPLINK = 1, 2  # TS 29.212 §5.3.65
EPC_LEVEL_IDENTITIES = 1  # TS 29.214 AF-Requested-Data bit 0: IMSI, MSISDN, IMEI(SV)
ULI_TAI_ECGI = 130  # TS 29.061 §16.4.7.2 Geographic Location Type


# ------------------------------------------------------------------------------ AVP data


def framed_ip(address: str) -> bytes:
    return ipaddress.IPv4Address(address).packed


def framed_ipv6_prefix(prefix: str) -> bytes:
    net = ipaddress.IPv6Network(prefix, strict=False)
    return framed_ipv6_prefix_octets(int(net.network_address), net.prefixlen)


def framed_ipv6_prefix_octets(prefix: int, length: int) -> bytes:
    """RFC 3162 §2.3 of a prefix held as an integer: reserved, length, its first octets."""
    return bytes((0, length)) + prefix.to_bytes(16, "big")[:(length + 7) // 8]


def ipv6_prefix_of(data: bytes) -> ipaddress.IPv6Network | None:
    found = ipv6_prefix_value(data)
    return None if found is None else ipaddress.IPv6Network(found)


def ipv6_prefix_value(data: bytes) -> tuple[int, int] | None:
    """Framed-IPv6-Prefix (RFC 3162 §2.3) as (prefix address as an integer, prefix length),
    the bits beyond the length cleared; None if malformed."""
    if len(data) < 2 or data[1] > 128 or len(data) - 2 < (data[1] + 7) // 8:
        return None
    length = data[1]
    value = int.from_bytes(data[2:2 + (length + 7) // 8].ljust(16, b"\0"), "big")
    return value >> (128 - length) << (128 - length), length


def ipv6_text(value: int) -> str:
    """RFC 5952 text of an IPv6 address held as an integer (as `ipaddress` writes it)."""
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


@dataclass(frozen=True)
class Location:
    """TAI and ECGI of the serving cell."""

    plmn: str
    tac: int
    eci: int


def user_location(uli: Mapping[str, Any] | None) -> bytes | None:
    """A GTPv2-C ULI (TS 29.274 §8.21, as codecs/gtpv2c.py decodes it) as
    3GPP-User-Location-Info, type 130 (TS 29.061 §16.4.7.2)."""
    if not uli or "ecgi" not in uli or "tai" not in uli:
        return None
    tai, ecgi = uli["tai"], uli["ecgi"]
    return (bytes([ULI_TAI_ECGI]) + _plmn_octets(str(tai["plmn"]))
            + int(tai["tac"]).to_bytes(2, "big") + _plmn_octets(str(ecgi["plmn"]))
            + (int(ecgi["eci"]) & 0x0FFFFFFF).to_bytes(4, "big"))


@functools.lru_cache(maxsize=256)
def _plmn_octets(plmn: str) -> bytes:
    """MCC and MNC as TS 24.008 §10.5.1.13 codes them, once per PLMN."""
    return Plmn.parse(plmn).to_bytes()


def location_of(data: bytes | None) -> Location | None:
    if not data or data[0] != ULI_TAI_ECGI or len(data) != 13:
        return None
    try:
        plmn = Plmn.from_bytes(data[6:9])
    except ValueError:
        return None
    return Location(str(plmn), int.from_bytes(data[4:6], "big"),
                    int.from_bytes(data[9:13], "big") & 0x0FFFFFFF)


def subscription_ids(imsi: str | None, msisdn: str | None) -> list[tuple[str, Any]]:
    """Subscription-Id (RFC 4006 §8.46): the MSISDN (E.164) and the IMSI."""
    out: list[tuple[str, Any]] = []
    if msisdn:
        out.append(("Subscription-Id", [("Subscription-Id-Type", SubscriptionIdType.END_USER_E164),
                                        ("Subscription-Id-Data", msisdn)]))
    if imsi:
        out.append(("Subscription-Id", [("Subscription-Id-Type", SubscriptionIdType.END_USER_IMSI),
                                        ("Subscription-Id-Data", imsi)]))
    return out


def user_equipment(imeisv: str | None) -> list[tuple[str, Any]]:
    if not imeisv:
        return []
    return [("User-Equipment-Info", [("User-Equipment-Info-Type", IMEISV),
                                     ("User-Equipment-Info-Value", imeisv.encode())])]


@dataclass(frozen=True, slots=True)
class Identities:
    """What Subscription-Id and User-Equipment-Info name."""

    imsi: str | None = None
    msisdn: str | None = None
    imeisv: str | None = None


def identities_of(msg: Message) -> Identities:
    return identities_in(msg.fields.get("avps", ()))


def identities_in(entries: Iterable[Any]) -> Identities:
    """The Subscription-Ids (IMSI, E.164) and the first User-Equipment-Info (IMEISV) of a
    request's AVPs, read in one pass over them."""
    imsi = msisdn = None
    ue: Any = None  # the first User-Equipment-Info's value (a decoded group, never None)
    for entry in entries:
        name = entry[0]
        if name == "Subscription-Id":
            sub = entry[1]
            kind = dia.avp(sub, "Subscription-Id-Type")
            data = dia.avp(sub, "Subscription-Id-Data")
            if not isinstance(data, str) or not data.isdigit():
                continue
            if kind == SubscriptionIdType.END_USER_IMSI:
                imsi = data
            elif kind == SubscriptionIdType.END_USER_E164:
                msisdn = data
        elif name == "User-Equipment-Info" and ue is None:
            ue = entry[1]
    imeisv = None
    if ue is not None and dia.avp(ue, "User-Equipment-Info-Type") == IMEISV:
        value = dia.avp(ue, "User-Equipment-Info-Value")
        if isinstance(value, bytes) and value.isdigit():
            imeisv = value.decode()
    return Identities(imsi, msisdn, imeisv)


def result_of(answer: Message) -> int | None:
    """Result-Code, or the Experimental-Result-Code (TS 29.212/29.214 §5.5)."""
    code = dia.avp(answer, "Result-Code")
    if code is None:
        code = dia.avp(answer, "Experimental-Result", "Experimental-Result-Code")
    return None if code is None else int(code)


def result_avps(code: int) -> list[tuple[str, Any]]:
    """Result-Code for RFC 6733 values, Experimental-Result for the 3GPP ones (§5.5)."""
    if code in ExperimentalResult._value2member_map_:
        return [("Experimental-Result", [("Vendor-Id", dia.VENDOR_3GPP),
                                         ("Experimental-Result-Code", code)])]
    return [("Result-Code", code)]


# ------------------------------------------------------------------------------ messages


@dataclass(frozen=True)
class Origin:
    host: str
    realm: str


def _head(sid: str, app: int, me: Origin) -> list[tuple[str, Any]]:
    return [("Session-Id", sid), ("Auth-Application-Id", app), ("Origin-Host", me.host),
            ("Origin-Realm", me.realm)]


def request(name: str, sid: str, me: Origin, dest_realm: str, avps: Iterable[tuple[str, Any]],
            *, dest_host: str | None = None, application_id: int | None = None,
            shape: Any = None, varying: frozenset[str] = frozenset()) -> Message:
    """A Gx or Rx request; Hop-by-Hop and End-to-End are set by the peer that sends it.

    `shape`: a key that fixes every octet of `avps` but the values of the AVPs named in
    `varying` (their lengths included), so messages of one shape are encoded from a template
    (`dia.ShapedAvps`); None: no shape."""
    cmd, _ = dia._CMD_BY_NAME[name]
    app = cmd.application_id if application_id is None else application_id
    head = _head(sid, app, me)
    if name in ("RAR", "ASR"):  # RFC 6733 §8.3.1, §8.5.1: Destination-Realm, -Host
        head += [("Destination-Realm", dest_realm), ("Destination-Host", dest_host or "")]
    else:
        head.append(("Destination-Realm", dest_realm))
        if dest_host:
            head.append(("Destination-Host", dest_host))
    entries = [*head, *avps]
    if shape is not None:
        key = (name, len(sid), app, me.host, me.realm, dest_realm, dest_host, shape)
        entries = dia.ShapedAvps(entries, key, varying | _SESSION)
    msg = dia.request_message(name, entries, 0, 0)
    msg.fields["application_id"] = app
    return msg


_SESSION = frozenset({"Session-Id"})


def answer(req: Message, me: Origin, code: int, avps: Iterable[tuple[str, Any]] = (), *,
           shape: Any = None) -> Message:
    """The answer to `req` with its result (Session-Id first, RFC 6733 §8.8).

    `shape`: a key that fixes every octet of `avps` (`request`); None: no shape."""
    sid = dia.avp(req, "Session-Id")
    head: list[tuple[str, Any]] = [] if not isinstance(sid, str) else [("Session-Id", sid)]
    app = None
    if req.name in ("CCR", "AAR"):  # TS 29.212 §5.6.3, TS 29.214 §5.6.2
        app = req.fields.get("application_id", 0)
        head.append(("Auth-Application-Id", app))
    head += [("Origin-Host", me.host), ("Origin-Realm", me.realm), *result_avps(code)]
    cc = None
    if req.name == "CCR":
        cc = (dia.avp(req, "CC-Request-Type", default=0),
              dia.avp(req, "CC-Request-Number", default=0))
        head += [("CC-Request-Type", cc[0]), ("CC-Request-Number", cc[1])]
    entries = [*head, *avps]
    if shape is not None and type(sid) is str:
        key = (req.name, len(sid), app, me.host, me.realm, code, cc, shape)
        entries = dia.ShapedAvps(entries, key, ((0,),))
    return dia.answer_message(req, entries)


def qos_information(qci: int, arp_priority: int, *, preemption_capability: bool,
                    preemption_vulnerability: bool, mbr_ul: int = 0, mbr_dl: int = 0,
                    gbr_ul: int = 0, gbr_dl: int = 0) -> list[tuple[str, Any]]:
    """QoS-Information of a PCC rule (TS 29.212 §5.3.16): QCI, MBR, GBR, ARP (§5.3.32:
    Pre-emption-Capability 0 ENABLED, Pre-emption-Vulnerability 0 ENABLED)."""
    return [("QoS-Class-Identifier", qci),
            ("Max-Requested-Bandwidth-UL", mbr_ul), ("Max-Requested-Bandwidth-DL", mbr_dl),
            ("Guaranteed-Bitrate-UL", gbr_ul), ("Guaranteed-Bitrate-DL", gbr_dl),
            ("Allocation-Retention-Priority", [
                ("Priority-Level", arp_priority),
                ("Pre-emption-Capability", 0 if preemption_capability else 1),
                ("Pre-emption-Vulnerability", 0 if preemption_vulnerability else 1)])]


def default_bearer_qos(qci: int, arp_priority: int) -> tuple[str, Any]:
    """Default-EPS-Bearer-QoS (TS 29.212 §5.3.48): one `SharedGroup` per QCI and ARP (the
    sessions of a population share a few), written once by the encoder."""
    return ("Default-EPS-Bearer-QoS", _default_bearer_qos(qci, arp_priority))


@functools.lru_cache(maxsize=256)
def _default_bearer_qos(qci: int, arp_priority: int) -> dia.SharedGroup:
    return dia.SharedGroup([
        ("QoS-Class-Identifier", qci),
        ("Allocation-Retention-Priority", [("Priority-Level", arp_priority),
                                           ("Pre-emption-Capability", 1),
                                           ("Pre-emption-Vulnerability", 0)])])


def apn_ambr(ul_bps: int, dl_bps: int) -> tuple[str, Any]:
    """QoS-Information with the APN-AMBR alone (TS 29.212 §4.5.1, §5.3.16): one `SharedGroup`
    per pair of rates (a population's sessions share a few)."""
    return ("QoS-Information", _apn_ambr(ul_bps, dl_bps))


@functools.lru_cache(maxsize=256)
def _apn_ambr(ul_bps: int, dl_bps: int) -> dia.SharedGroup:
    return dia.SharedGroup([("APN-Aggregate-Max-Bitrate-UL", ul_bps),
                            ("APN-Aggregate-Max-Bitrate-DL", dl_bps)])


def ue_address_avps(ipv4: str | None, ipv6_prefix: str | None) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if ipv4:
        out.append(("Framed-IP-Address", framed_ip(ipv4)))
    if ipv6_prefix:
        out.append(("Framed-IPv6-Prefix", framed_ipv6_prefix(ipv6_prefix)))
    return out


def ue_address_avps_of(ipv4: int | None, ipv6_prefix: int | None,
                       length: int = 64) -> list[tuple[str, Any]]:
    """`ue_address_avps` of addresses held as integers (the P-GW's pools), no text between."""
    out: list[tuple[str, Any]] = []
    if ipv4 is not None:
        out.append(("Framed-IP-Address", ipv4.to_bytes(4, "big")))
    if ipv6_prefix is not None:
        out.append(("Framed-IPv6-Prefix", framed_ipv6_prefix_octets(ipv6_prefix, length)))
    return out


def ue_address_of(msg: Message | Iterable[Any]) -> str | None:
    """The UE address an AAR or CCR names: Framed-IP-Address, else the /64 of
    Framed-IPv6-Prefix (TS 29.214 §4.4.1 session binding)."""
    raw = dia.avp(msg, "Framed-IP-Address")
    if isinstance(raw, bytes) and len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    prefix = dia.avp(msg, "Framed-IPv6-Prefix")
    found = ipv6_prefix_value(prefix) if isinstance(prefix, bytes) else None
    return None if found is None else ipv6_text(found[0])
