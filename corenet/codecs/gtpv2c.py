"""GTPv2-C codec (TS 29.274) over pycrate's `TS29274_GTPC`.

Messages (TS 29.274 §6.1, Table 6.1-1): Echo Request/Response (1/2), Version Not Supported
Indication (3), Create Session Request/Response (32/33), Modify Bearer Request/Response (34/35),
Delete Session Request/Response (36/37), Create Bearer Request/Response (95/96), Delete Bearer
Request/Response (99/100), Release Access Bearers Request/Response (170/171).

Representation (`Message.fields`)
---------------------------------
Header (§5.1):
  "teid"              int, or None when the T flag is 0 (Echo, Version Not Supported, §5.5.1)
  "sequence"          int, 24 bits
  "message_priority"  int 0..15, present only when the MP flag is set (§5.5.1)
  "piggybacked"       Message, present only when the P flag is set (§5.5.1, e.g. a Create Bearer
                      Request after a Create Session Response)

IEs are keyed by names listed per message in `MESSAGES` (e.g. "imsi", "sender_fteid_c",
"pgw_s5s8_fteid_c", "bearer_contexts_to_be_created"). A key maps to one (IE type, instance).
IEs that may repeat (bearer contexts, "ebis") are lists. The value of each IE type:

  IMSI (8.3), MSISDN (8.11), MEI (8.10)   str of digits
  Cause (8.4)             {"value": int, "pce": bool, "bce": bool, "cs": bool,
                           "offending_ie": None | {"type": int, "length": int, "instance": int}}
  Recovery (8.5), RAT Type (8.17), EBI (8.8), PDN Type (8.34), Selection Mode (8.58),
  APN Restriction (8.57), Charging ID (8.29), Charging Characteristics (8.30), PTI (8.35)   int
  APN (8.6)               str, labels joined by "." ("sos", "internet.mnc010.mcc440.gprs")
  AMBR (8.7)              {"ul_kbps": int, "dl_kbps": int}   (kbps on the wire, §8.7)
  IP Address (8.9)        str ("192.0.2.1" or "2001:db8::1")
  Indication (8.12)       {flag: bool} for every flag of the octets carried; flag names are the
                          §8.12 names in lowercase ("daf", "oi", "uimsi", "si", "msv",
                          "ppon_ppei", "emci", ...). Encoding carries as many octets as the
                          highest octet holding a listed flag, two at least (so {"daf": True}
                          and {"uimsi": True} give 2 octets).
  PCO (8.13), Bearer TFT (8.19)   bytes: the TS 24.008 value part (§10.5.6.3 / §10.5.6.12)
  PAA (8.14)              {"pdn_type": 1 IPv4 | 2 IPv6 | 3 IPv4v6 | 4 Non-IP | 5 Ethernet,
                           "ipv4": str | None, "ipv6": str | None,
                           "ipv6_prefix_length": int | None}
  Bearer QoS (8.15)       {"pci": 0|1, "pl": 1..15, "pvi": 0|1, "qci": int,
                           "mbr_ul_kbps", "mbr_dl_kbps", "gbr_ul_kbps", "gbr_dl_kbps": int}
                          PCI/PVI keep the wire bit: 1 = pre-emption capability /
                          vulnerability disabled (TS 29.212 §5.3.46, §5.3.47)
  Serving Network (8.18)  str PLMN "44010" (MCC+MNC, `corenet.core.plmn.Plmn.parse` reads it)
  ULI (8.21)              {"tai": {"plmn": str, "tac": int}, "ecgi": {"plmn": str, "eci": int},
                           "lai": {"plmn", "lac"}, "cgi": {"plmn", "lac", "ci"},
                           "sai": {"plmn", "lac", "sac"}, "rai": {"plmn", "lac", "rac"}}
                          only the parts present
  F-TEID (8.22)           {"interface_type": int, "teid": int, "ipv4": str | None,
                           "ipv6": str | None}   (interface types: `FTEID_*` constants)
  Bearer Context (8.28)   dict keyed like a message, with its own names per message

  "other_ies"  list of {"type": int, "instance": int, "data": bytes, "index": int}: IEs this
               codec does not interpret or that were invalid, repeated or not mandatory, kept
               verbatim (§7.7.8, §7.7.9); "index" is the IE's place in its list as received.

Encoding writes IEs in the order of the fields dict, and decoding fills the dict in wire order;
an `other_ies` entry with an "index" goes back to that place in its list (one without goes where
the "other_ies" key sits), so decode then encode gives back the same bytes and a repeated IE
stays behind the one that counts (octets beyond an IE's defined fields and spare bits are not
kept; §8.2 lets a receiver ignore them).

Errors: `decode` raises only `DecodeError("gtpv2", cause, detail, message_type=, sequence=, teid=,
...)` with the cause of §7.7: 67 Invalid length, 65 Invalid Message Format, 70 Mandatory IE
missing, 69 Mandatory IE incorrect (extra "offending_ie" = {"type", "length", "instance"} and
"bce" when the IE sits in a Bearer Context); a version other than 2 sets
extra "version_not_supported" (answer: `version_not_supported_indication`, §7.7.1); messages to
be silently discarded (§7.7.2, §7.7.3) set extra "discard".
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)

# isort: split
from pycrate_mobile import TS29274_GTPC as G

# isort: split

from corenet.codecs.base import Message
from corenet.codecs.nas_ies import time_zone_fields
from corenet.codecs.selection import fast_path
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.plmn import Plmn

PROTOCOL = "gtpv2"
_fast = fast_path(PROTOCOL)  # installed by corenet.codecs.fast.gtpv2c

# Cause values, TS 29.274 Table 8.4-1
CAUSE_LOCAL_DETACH = 2
CAUSE_COMPLETE_DETACH = 3
CAUSE_REACTIVATION_REQUESTED = 8
CAUSE_REQUEST_ACCEPTED = 16
CAUSE_REQUEST_ACCEPTED_PARTIALLY = 17
CAUSE_NEW_PDN_TYPE_NETWORK_PREFERENCE = 18
CAUSE_NEW_PDN_TYPE_SINGLE_ADDRESS_BEARER_ONLY = 19
CAUSE_CONTEXT_NOT_FOUND = 64
CAUSE_INVALID_MESSAGE_FORMAT = 65
CAUSE_VERSION_NOT_SUPPORTED_BY_NEXT_PEER = 66
CAUSE_INVALID_LENGTH = 67
CAUSE_SERVICE_NOT_SUPPORTED = 68
CAUSE_MANDATORY_IE_INCORRECT = 69
CAUSE_MANDATORY_IE_MISSING = 70
CAUSE_SYSTEM_FAILURE = 72
CAUSE_NO_RESOURCES_AVAILABLE = 73
CAUSE_SEMANTIC_ERROR_IN_TFT = 74
CAUSE_SYNTACTIC_ERROR_IN_TFT = 75
CAUSE_MISSING_OR_UNKNOWN_APN = 78
CAUSE_DENIED_IN_RAT = 82
CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED = 83
CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED = 84
CAUSE_UE_NOT_RESPONDING = 87
CAUSE_UE_REFUSES = 88
CAUSE_SERVICE_DENIED = 89
CAUSE_USER_AUTHENTICATION_FAILED = 92
CAUSE_APN_ACCESS_DENIED_NO_SUBSCRIPTION = 93
CAUSE_REQUEST_REJECTED = 94
CAUSE_IMSI_IMEI_NOT_KNOWN = 96
CAUSE_REMOTE_PEER_NOT_RESPONDING = 100
CAUSE_CONDITIONAL_IE_MISSING = 103
CAUSE_APN_CONGESTION = 113
CAUSE_MULTIPLE_PDN_CONNECTIONS_NOT_ALLOWED = 116

# RAT Type, §8.17
RAT_EUTRAN = 6
# PDN Type, §8.34
PDN_IPV4, PDN_IPV6, PDN_IPV4V6, PDN_NON_IP = 1, 2, 3, 4
# Selection Mode, §8.58
SELECTION_MS_OR_NETWORK_VERIFIED = 0
SELECTION_MS_NOT_VERIFIED = 1
SELECTION_NETWORK_NOT_VERIFIED = 2
# F-TEID interface types, §8.22 Table 8.22-1
FTEID_S1U_ENB = 0
FTEID_S1U_SGW = 1
FTEID_S5S8U_SGW = 4
FTEID_S5S8U_PGW = 5
FTEID_S5S8C_SGW = 6
FTEID_S5S8C_PGW = 7
FTEID_S11_MME = 10
FTEID_S11S4_SGW = 11
FTEID_S11U_MME = 38
FTEID_S11U_SGW = 39

_HEADER_KEYS = frozenset({"teid", "sequence", "message_priority", "piggybacked"})
_OTHER = "other_ies"


class _InvalidIE(Exception):
    """An IE's content does not follow its §8 format."""


# --- IE value conversions: (pycrate data element) -> value, value -> pycrate value or bytes ---


def _bcd_out(d: Any) -> str:
    raw: bytes = d.get_val()
    digits = d.decode()
    # TS 29.274 §8.3: digits in BCD, filler 0xF only in the last high nibble
    if not digits.isdigit() or len(digits) not in (2 * len(raw), 2 * len(raw) - 1):
        raise _InvalidIE("not a BCD digit string")
    return str(digits)


def _bcd_in(v: str) -> Any:
    if not isinstance(v, str) or not v.isdigit():
        raise EncodeError(f"BCD digits expected, got {v!r}")
    return v


def _plmn_out(b: bytes) -> str:
    try:
        return str(Plmn.from_bytes(b))
    except ValueError as exc:
        raise _InvalidIE(str(exc)) from None


def _plmn_in(v: str | Plmn) -> bytes:
    return (v if isinstance(v, Plmn) else Plmn.parse(v)).to_bytes()


def _ip_out(b: bytes) -> str:
    if len(b) not in (4, 16):
        raise _InvalidIE("IP address is 4 or 16 octets")
    return _ip_text(bytes(b))


# A network function sends and receives the same few node addresses (F-TEIDs) over and over:
# each address is parsed once (a parse that fails raises each time, it is not kept).
@functools.lru_cache(maxsize=4096)
def _ip_text(b: bytes) -> str:
    """The address as `ipaddress` writes it; inet_ntop where both write the same text (all
    but IPv6 addresses with an embedded IPv4 address, which glibc writes dotted)."""
    if len(b) == 4:
        return socket.inet_ntop(socket.AF_INET, b)
    if len(b) == 16:
        text = socket.inet_ntop(socket.AF_INET6, b)
        if "." not in text:
            return text
    return str(ipaddress.ip_address(b))


def _ip_in(v: str) -> bytes:
    return _ip_packed(v) if isinstance(v, str) else ipaddress.ip_address(v).packed


def _ip_packed(v: str) -> bytes:
    """The octets of an address in text; what inet_pton refuses (a scope ID, a mistake) goes
    to `ipaddress`, which takes the one and rejects the other as before (ValueError)."""
    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in v else socket.AF_INET, v)
    except (OSError, ValueError):
        return ipaddress.ip_address(v).packed


def _cause_out(d: Any) -> dict[str, Any]:
    off = d["OffendingIE"]
    offending = None
    if not off.get_trans():
        offending = {"type": off[0].get_val(), "length": off[1].get_val(),
                     "instance": off[3].get_val()}
    return {"value": d[0].get_val(), "pce": bool(d[2].get_val()), "bce": bool(d[3].get_val()),
            "cs": bool(d[4].get_val()), "offending_ie": offending}


def _cause_in(v: int | Mapping[str, Any]) -> Any:
    c: Mapping[str, Any] = {"value": v} if isinstance(v, int) else v
    off = c.get("offending_ie")
    val = [c["value"], 0, int(c.get("pce", 0)), int(c.get("bce", 0)), int(c.get("cs", 0)),
           [0, 0, 0, 0] if off is None else [off["type"], off.get("length", 0), 0,
                                            off.get("instance", 0)]]
    if off is None:
        return val
    # the Offending IE octets (§8.4) are optional; pycrate keeps them transparent unless told
    elt = G.Cause()
    elt["OffendingIE"].set_trans(False)
    elt.set_val(val)
    return elt.to_bytes()


def _ext_uint_out(d: Any) -> int:
    return int(d[0].get_val())


def _ext_uint_in(v: int) -> Any:
    return [v, b""]


def _spare_uint_out(d: Any) -> int:
    return int(d[1].get_val())


def _ebi_in(v: int) -> Any:
    return [0, v, b""]


def _apn_out(d: Any) -> str:
    labels = [item[1].get_val() for item in d]
    try:
        text = ".".join(lb.decode("ascii") for lb in labels)
    except UnicodeDecodeError:
        raise _InvalidIE("APN label is not ASCII") from None
    # §8.6 / TS 23.003 §9.1: labels are non-empty and carry no dot of their own
    if any(not lb or b"." in lb for lb in labels):
        raise _InvalidIE("empty or dotted APN label")
    return text


def _apn_in(v: str) -> Any:
    return [] if v == "" else [[len(lb), lb.encode("ascii")] for lb in v.split(".")]


def _ambr_out(d: Any) -> dict[str, int]:
    return {"ul_kbps": d[0].get_val(), "dl_kbps": d[1].get_val()}


def _ambr_in(v: Mapping[str, int] | tuple[int, int]) -> Any:
    if isinstance(v, tuple | list):
        return [v[0], v[1]]
    return [v["ul_kbps"], v["dl_kbps"]]


def _indication_flag_names() -> tuple[tuple[str | None, ...], ...]:
    names = []
    for octet in G.Indication()._content[:-1]:
        names.append(tuple(None if e._name == "spare" else e._name.lower().replace("/", "_")
                           for e in octet._content))
    return tuple(names)


# flag names per octet of §8.12, from pycrate's Indication layout (None = spare bit)
INDICATION_FLAGS: tuple[tuple[str | None, ...], ...] = _indication_flag_names()
_INDICATION_POS = {n: (i, j) for i, octet in enumerate(INDICATION_FLAGS)
                   for j, n in enumerate(octet) if n is not None}


def _indication_out(d: Any) -> dict[str, bool]:
    flags: dict[str, bool] = {}
    for i, names in enumerate(INDICATION_FLAGS):
        octet = d[i]
        if octet.get_trans():
            break
        for name, bit in zip(names, octet.get_val(), strict=True):
            if name is not None:
                flags[name] = bool(bit)
    return flags


def _indication_in(v: Mapping[str, bool]) -> Any:
    try:
        # at least octets 5 and 6, the Indication IE's length since Rel-8 (§8.12 Figure 8.12-1)
        count = max(2, 1 + max((_INDICATION_POS[k][0] for k in v), default=0))
    except KeyError as exc:
        raise EncodeError(f"unknown Indication flag {exc.args[0]!r} (TS 29.274 §8.12)") from None
    octets = [[0] * 8 for _ in range(count)]
    for k, on in v.items():
        i, j = _INDICATION_POS[k]
        octets[i][j] = int(bool(on))
    return octets + [b""] if count == len(INDICATION_FLAGS) else octets


def _bytes_out(d: Any) -> bytes:
    return bytes(d.to_bytes())


def _bytes_in(v: bytes) -> bytes:
    if not isinstance(v, bytes | bytearray):
        raise EncodeError("bytes expected")
    return bytes(v)


def _paa_out(d: Any) -> dict[str, Any]:
    pdn_type, addr = d[1].get_val(), d[2].get_val()
    out: dict[str, Any] = {"pdn_type": pdn_type, "ipv4": None, "ipv6": None,
                           "ipv6_prefix_length": None}
    # §8.14: IPv4 4 octets; IPv6 prefix length + 16; IPv4v6 prefix length + 16 + 4
    if pdn_type == PDN_IPV4 and len(addr) == 4:
        out["ipv4"] = _ip_out(addr)
    elif pdn_type == PDN_IPV6 and len(addr) == 17:
        out["ipv6_prefix_length"], out["ipv6"] = addr[0], _ip_out(addr[1:])
    elif pdn_type == PDN_IPV4V6 and len(addr) == 21:
        out["ipv6_prefix_length"], out["ipv6"] = addr[0], _ip_out(addr[1:17])
        out["ipv4"] = _ip_out(addr[17:])
    elif pdn_type not in (PDN_IPV4, PDN_IPV6, PDN_IPV4V6) and not addr:
        pass
    else:
        raise _InvalidIE("PDN address does not match the PDN type")
    return out


def _paa_in(v: Mapping[str, Any]) -> Any:
    pdn_type = v["pdn_type"]
    addr = b""
    if pdn_type in (PDN_IPV6, PDN_IPV4V6):
        addr = bytes([v.get("ipv6_prefix_length") or 64]) + _ip_in(v.get("ipv6") or "::")
    if pdn_type in (PDN_IPV4, PDN_IPV4V6):
        addr += _ip_in(v.get("ipv4") or "0.0.0.0")
    return [0, pdn_type, addr]


def _qos_out(d: Any) -> dict[str, int]:
    v = [e.get_val() for e in d._content]
    return {"pci": v[1], "pl": v[2], "pvi": v[4], "qci": v[5], "mbr_ul_kbps": v[6],
            "mbr_dl_kbps": v[7], "gbr_ul_kbps": v[8], "gbr_dl_kbps": v[9]}


def _qos_in(v: Mapping[str, int]) -> Any:
    # §8.15: MBR/GBR in kbps on 5 octets
    return [0, v.get("pci", 1), v["pl"], 0, v.get("pvi", 0), v["qci"], v.get("mbr_ul_kbps", 0),
            v.get("mbr_dl_kbps", 0), v.get("gbr_ul_kbps", 0), v.get("gbr_dl_kbps", 0), b""]


def _ue_time_zone_out(d: Any) -> dict[str, int]:
    # §8.44: Time Zone coded as TS 24.008 §10.5.3.8 (swapped BCD quarter-hours, sign bit)
    units, sign, tens = d[0][0].get_val(), d[0][1].get_val(), d[0][2].get_val()
    if units > 9:
        raise _InvalidIE("time zone is not BCD")
    value = tens * 10 + units
    return {"time_zone": -value if sign else value, "daylight_saving_time": d[1][1].get_val()}


def _ue_time_zone_in(v: Mapping[str, int]) -> Any:
    try:
        tz = time_zone_fields(v["time_zone"])
    except ValueError as exc:
        raise EncodeError(f"{exc} (TS 24.008 §10.5.3.8)") from None
    return [[tz["TZ1"], tz["TZS"], tz["TZ0"]], [0, v.get("daylight_saving_time", 0)], b""]


def ue_time_zone(quarters: int, daylight_saving_time: int = 0) -> dict[str, int]:
    """A UE Time Zone value (TS 29.274 §8.44): offset from UTC in quarter-hours (JST = +36),
    daylight saving adjustment 0, +1 h or +2 h."""
    return {"time_zone": quarters, "daylight_saving_time": daylight_saving_time}


def _serving_network_out(d: Any) -> str:
    return _plmn_out(d[0].get_val())


def _serving_network_in(v: str | Plmn) -> Any:
    return [_plmn_in(v), b""]


# ULI parts, §8.21: flag bit index in pycrate's Flags, element index, field names
_ULI_PARTS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("cgi", 7, 1, ("lac", "ci")),
    ("sai", 6, 2, ("lac", "sac")),
    ("rai", 5, 3, ("lac", "rac")),
    ("tai", 4, 4, ("tac",)),
    ("ecgi", 3, 5, ("eci",)),
    ("lai", 2, 6, ("lac",)),
)


def _uli_out(d: Any) -> dict[str, Any]:
    flags = d[0].get_val()
    if flags[0] or flags[1]:
        raise _InvalidIE("macro eNodeB ID parts are not interpreted")
    out: dict[str, Any] = {}
    for name, bit, idx, fields in _ULI_PARTS:
        if flags[bit]:
            part = d[idx]
            vals = [e.get_val() for e in part._content]
            item: dict[str, Any] = {"plmn": _plmn_out(vals[0])}
            if name == "ecgi":
                item["eci"] = vals[2]  # vals[1] is the spare nibble
            else:
                item.update(zip(fields, vals[1:1 + len(fields)], strict=True))
            out[name] = item
    return out


def _uli_in(v: Mapping[str, Mapping[str, Any]]) -> Any:
    flags = [0] * 8
    val: dict[str, Any] = {}
    for name, bit, _idx, fields in _ULI_PARTS:
        part = v.get(name)
        if part is None:
            continue
        flags[bit] = 1
        plmn = _plmn_in(part["plmn"])
        if name == "ecgi":
            val["ECGI"] = [plmn, 0, part["eci"]]
        elif name == "rai":
            val["RAI"] = [plmn, part["lac"], part["rac"], 0xFF]
        else:
            val[name.upper()] = [plmn] + [part[f] for f in fields]
    unknown = set(v) - {p[0] for p in _ULI_PARTS}
    if unknown:
        raise EncodeError(f"unknown ULI parts {sorted(unknown)} (TS 29.274 §8.21)")
    val["Flags"] = flags
    return val


def _fteid_out(d: Any) -> dict[str, Any]:
    v4, v6 = d[0].get_val(), d[1].get_val()
    if not (v4 or v6):
        raise _InvalidIE("F-TEID without an address (§8.22: V4 or V6 set)")
    return {"interface_type": d[2].get_val(), "teid": d[3].get_val(),
            "ipv4": _ip_out(d[4].get_val()) if v4 else None,
            "ipv6": _ip_out(d[5].get_val()) if v6 else None}


def fteid(interface_type: int, teid: int, ipv4: str | None = None,
          ipv6: str | None = None) -> dict[str, Any]:
    """An F-TEID value (TS 29.274 §8.22)."""
    return {"interface_type": interface_type, "teid": teid, "ipv4": ipv4, "ipv6": ipv6}


def _fteid_in(v: Mapping[str, Any] | tuple[Any, ...]) -> Any:
    if isinstance(v, tuple | list):
        v = fteid(*v)
    ipv4, ipv6 = v.get("ipv4"), v.get("ipv6")
    if ipv4 is None and ipv6 is None:
        raise EncodeError("F-TEID needs an IPv4 or IPv6 address (TS 29.274 §8.22)")
    # by name: pycrate skips the absent (transparent) address when given a list
    val = {"V4": int(ipv4 is not None), "V6": int(ipv6 is not None),
           "IF": v["interface_type"], "TEID_GREKey": v["teid"]}
    if ipv4 is not None:
        val["IPv4Addr"] = _ip_in(ipv4)
    if ipv6 is not None:
        val["IPv6Addr"] = _ip_in(ipv6)
    return val


@dataclass(frozen=True)
class _Kind:
    out: Callable[[Any], Any]
    into: Callable[[Any], Any]


_KINDS: dict[str, _Kind] = {
    "bcd": _Kind(_bcd_out, _bcd_in),
    "cause": _Kind(_cause_out, _cause_in),
    "uint8": _Kind(lambda d: int(d.get_val()), lambda v: v),
    "ext_uint": _Kind(_ext_uint_out, _ext_uint_in),
    "ebi": _Kind(_spare_uint_out, _ebi_in),
    "spare_uint": _Kind(_spare_uint_out, lambda v: [0, v]),
    "selection_mode": _Kind(_spare_uint_out, lambda v: [0, v, b""]),
    "apn": _Kind(_apn_out, _apn_in),
    "ambr": _Kind(_ambr_out, _ambr_in),
    "ip": _Kind(lambda d: _ip_out(d.get_val()), _ip_in),
    "indication": _Kind(_indication_out, _indication_in),
    "bytes": _Kind(_bytes_out, _bytes_in),
    "paa": _Kind(_paa_out, _paa_in),
    "qos": _Kind(_qos_out, _qos_in),
    "serving_network": _Kind(_serving_network_out, _serving_network_in),
    "ue_time_zone": _Kind(_ue_time_zone_out, _ue_time_zone_in),
    "uli": _Kind(_uli_out, _uli_in),
    "fteid": _Kind(_fteid_out, _fteid_in),
}

# IE type -> value kind (TS 29.274 §8.1 Table 8.1-1)
_IE_KIND: dict[int, str] = {
    1: "bcd", 2: "cause", 3: "uint8", 71: "apn", 72: "ambr", 73: "ebi", 74: "ip", 75: "bcd",
    76: "bcd", 77: "indication", 78: "bytes", 79: "paa", 80: "qos", 82: "ext_uint",
    83: "serving_network", 84: "bytes", 86: "uli", 87: "fteid", 94: "ext_uint", 95: "ext_uint",
    99: "spare_uint", 100: "ext_uint", 114: "ue_time_zone", 127: "ext_uint",
    128: "selection_mode",
}

BEARER_CONTEXT = 93


@dataclass(frozen=True)
class IESpec:
    """One IE of a message or grouped IE: its key in `Message.fields`, type, instance."""

    key: str
    type: int
    instance: int = 0
    mandatory: bool = False
    multiple: bool = False
    group: tuple[IESpec, ...] = ()


@dataclass(frozen=True)
class MessageSpec:
    name: str
    code: int
    clause: str
    ies: tuple[IESpec, ...]
    has_teid: bool = True
    response: bool = False


def _ie(key: str, typ: int, inst: int = 0, m: bool = False) -> IESpec:
    return IESpec(key, typ, inst, m)


def _bc(key: str, inst: int, m: bool, *group: IESpec) -> IESpec:
    return IESpec(key, BEARER_CONTEXT, inst, m, True, group)


def _fteids(*names: str) -> tuple[IESpec, ...]:
    return tuple(_ie(n, 87, i) for i, n in enumerate(names))


_EBI_M = _ie("ebi", 73, 0, True)
_CAUSE_M = _ie("cause", 2, 0, True)

MESSAGES: tuple[MessageSpec, ...] = (
    MessageSpec("EchoRequest", 1, "7.1.1", (_ie("recovery", 3, 0, True),), has_teid=False),
    MessageSpec("EchoResponse", 2, "7.1.2", (_ie("recovery", 3, 0, True),), has_teid=False,
                response=True),
    MessageSpec("VersionNotSupportedIndication", 3, "7.1.3", (), has_teid=False),
    MessageSpec("CreateSessionRequest", 32, "7.2.1", (
        _ie("imsi", 1), _ie("msisdn", 76), _ie("mei", 75), _ie("uli", 86),
        _ie("serving_network", 83), _ie("rat_type", 82, 0, True), _ie("indication", 77),
        _ie("sender_fteid_c", 87, 0, True), _ie("pgw_s5s8_fteid_c", 87, 1),
        _ie("apn", 71, 0, True), _ie("selection_mode", 128), _ie("pdn_type", 99),
        _ie("paa", 79), _ie("max_apn_restriction", 127), _ie("ambr", 72),
        _ie("linked_ebi", 73), _ie("pco", 78),
        _bc("bearer_contexts_to_be_created", 0, True, _EBI_M, _ie("tft", 84),
            *_fteids("s1u_enb_fteid", "s4u_sgsn_fteid", "s5s8u_sgw_fteid", "s5s8u_pgw_fteid",
                     "s12_rnc_fteid", "s2bu_epdg_fteid", "s2au_twan_fteid", "s11u_mme_fteid"),
            _ie("bearer_qos", 80, 0, True)),
        _bc("bearer_contexts_to_be_removed", 1, False, _EBI_M, _ie("s4u_sgsn_fteid", 87)),
        _ie("recovery", 3), _ie("ue_time_zone", 114), _ie("charging_characteristics", 95))),
    MessageSpec("CreateSessionResponse", 33, "7.2.2", (
        _CAUSE_M, _ie("sender_fteid_c", 87, 0), _ie("pgw_s5s8_fteid_c", 87, 1),
        _ie("paa", 79), _ie("apn_restriction", 127), _ie("ambr", 72), _ie("linked_ebi", 73),
        _ie("pco", 78),
        _bc("bearer_contexts_created", 0, True, _EBI_M, _CAUSE_M,
            *_fteids("s1u_sgw_fteid", "s4u_sgw_fteid", "s5s8u_pgw_fteid", "s12_sgw_fteid",
                     "s2bu_pgw_fteid", "s2au_pgw_fteid", "s11u_sgw_fteid"),
            _ie("bearer_qos", 80), _ie("charging_id", 94)),
        _bc("bearer_contexts_marked_for_removal", 1, False, _EBI_M, _CAUSE_M),
        _ie("recovery", 3), _ie("pdn_connection_charging_id", 94), _ie("indication", 77)),
        response=True),
    MessageSpec("ModifyBearerRequest", 34, "7.2.7", (
        _ie("mei", 75), _ie("uli", 86), _ie("serving_network", 83), _ie("rat_type", 82),
        _ie("indication", 77), _ie("sender_fteid_c", 87), _ie("ambr", 72),
        _bc("bearer_contexts_to_be_modified", 0, False, _EBI_M,
            *_fteids("s1u_enb_fteid", "s5s8u_sgw_fteid", "s12_rnc_fteid", "s4u_sgsn_fteid",
                     "s11u_mme_fteid")),
        _bc("bearer_contexts_to_be_removed", 1, False, _EBI_M),
        _ie("recovery", 3))),
    MessageSpec("ModifyBearerResponse", 35, "7.2.8", (
        _CAUSE_M, _ie("msisdn", 76), _ie("linked_ebi", 73), _ie("apn_restriction", 127),
        _ie("pco", 78),
        _bc("bearer_contexts_modified", 0, False, _EBI_M, _CAUSE_M,
            *_fteids("s1u_sgw_fteid", "s12_sgw_fteid", "s4u_sgw_fteid", "s11u_sgw_fteid"),
            _ie("charging_id", 94)),
        _bc("bearer_contexts_marked_for_removal", 1, False, _EBI_M, _CAUSE_M),
        _ie("recovery", 3), _ie("indication", 77)), response=True),
    MessageSpec("DeleteSessionRequest", 36, "7.2.9.1", (
        _ie("cause", 2), _ie("linked_ebi", 73), _ie("uli", 86), _ie("indication", 77),
        _ie("pco", 78), _ie("sender_fteid_c", 87))),
    MessageSpec("DeleteSessionResponse", 37, "7.2.10.1", (
        _CAUSE_M, _ie("recovery", 3), _ie("pco", 78), _ie("indication", 77)), response=True),
    MessageSpec("CreateBearerRequest", 95, "7.2.3", (
        _ie("pti", 100), _ie("linked_ebi", 73, 0, True), _ie("pco", 78),
        _bc("bearer_contexts", 0, True, _EBI_M, _ie("tft", 84, 0, True),
            *_fteids("s1u_sgw_fteid", "s5s8u_pgw_fteid", "s12_sgw_fteid", "s4u_sgw_fteid",
                     "s2bu_pgw_fteid", "s2au_pgw_fteid"),
            _ie("bearer_qos", 80, 0, True), _ie("charging_id", 94), _ie("pco", 78)),
        _ie("indication", 77))),
    MessageSpec("CreateBearerResponse", 96, "7.2.4", (
        _CAUSE_M,
        _bc("bearer_contexts", 0, True, _EBI_M, _CAUSE_M,
            *_fteids("s1u_enb_fteid", "s1u_sgw_fteid", "s5s8u_sgw_fteid", "s5s8u_pgw_fteid",
                     "s12_rnc_fteid", "s12_sgw_fteid", "s4u_sgsn_fteid", "s4u_sgw_fteid",
                     "s2bu_epdg_fteid", "s2bu_pgw_fteid", "s2au_twan_fteid", "s2au_pgw_fteid"),
            _ie("pco", 78)),
        _ie("recovery", 3), _ie("pco", 78), _ie("uli", 86)), response=True),
    MessageSpec("DeleteBearerRequest", 99, "7.2.9.2", (
        _ie("linked_ebi", 73), IESpec("ebis", 73, 1, multiple=True),
        _bc("failed_bearer_contexts", 0, False, _EBI_M, _CAUSE_M),
        _ie("pti", 100), _ie("pco", 78), _ie("cause", 2), _ie("indication", 77))),
    MessageSpec("DeleteBearerResponse", 100, "7.2.10.2", (
        _CAUSE_M, _ie("linked_ebi", 73),
        _bc("bearer_contexts", 0, False, _EBI_M, _CAUSE_M, _ie("pco", 78)),
        _ie("recovery", 3), _ie("pco", 78), _ie("uli", 86)), response=True),
    MessageSpec("ReleaseAccessBearersRequest", 170, "7.2.21", (
        IESpec("list_of_rabs", 73, 0, multiple=True), _ie("indication", 77))),
    MessageSpec("ReleaseAccessBearersResponse", 171, "7.2.22", (
        _CAUSE_M, _ie("recovery", 3), _ie("indication", 77)), response=True),
)

_BY_CODE = {m.code: m for m in MESSAGES}
_BY_NAME = {m.name: m for m in MESSAGES}


@dataclass(frozen=True)
class _Table:
    by_key: Mapping[str, IESpec]
    by_tag: Mapping[tuple[int, int], IESpec]


def _table(ies: Iterable[IESpec]) -> _Table:
    ies = tuple(ies)
    return _Table({s.key: s for s in ies}, {(s.type, s.instance): s for s in ies})


_TABLES: dict[tuple[IESpec, ...], _Table] = {}
# the same lookup by the tuple's identity: hashing a tuple of IESpecs hashes every spec of
# every group again, on each message; the tuple is kept with its table, so its id stays its own
_TABLES_BY_ID: dict[int, tuple[tuple[IESpec, ...], _Table]] = {}


def _table_of(ies: tuple[IESpec, ...]) -> _Table:
    known = _TABLES_BY_ID.get(id(ies))
    if known is not None and known[0] is ies:
        return known[1]
    t = _TABLES.get(ies)
    if t is None:
        t = _TABLES[ies] = _table(ies)
    _TABLES_BY_ID[id(ies)] = (ies, t)
    return t


# ------------------------------------------------------------------------------------------ #
# Encoding
# ------------------------------------------------------------------------------------------ #


def _ie_val(typ: int, inst: int, data: Any) -> dict[str, Any]:
    if typ > 255 or typ == 254:
        # §8.2.1A: extended IE type
        return {"Hdr": {"Type": 254, "Inst": inst, "TypeExt": typ}, "Data": data}
    return {"Hdr": {"Type": typ, "Inst": inst}, "Data": data}


def _encode_value(spec: IESpec, value: Any) -> Any:
    if spec.group:
        return _encode_ies(spec.group, value, f"{spec.key} (TS 29.274 §8.28)")
    return _KINDS[_IE_KIND[spec.type]].into(value)


def _encode_ies(ies: tuple[IESpec, ...], fields: Mapping[str, Any], where: str,
                message_level: bool = False) -> list[Any]:
    table = _table_of(ies)
    out: list[Any] = []
    placed: list[Any] = []
    for key, value in fields.items():
        if key in _HEADER_KEYS:
            continue
        if key == _OTHER:
            placed = [o for o in value if o.get("index") is not None]
            out.extend(_ie_val(o["type"], o["instance"], bytes(o["data"]))
                       for o in value if o.get("index") is None)
            continue
        spec = table.by_key.get(key)
        if spec is None:
            raise EncodeError(f"{where}: unknown IE key {key!r}")
        if value is None:
            continue
        values = value if spec.multiple else (value,)
        for v in values:
            out.append(_ie_val(spec.type, spec.instance, _encode_value(spec, v)))
    for o in sorted(placed, key=lambda o: int(o["index"])):
        out.insert(int(o["index"]), _ie_val(o["type"], o["instance"], bytes(o["data"])))
    rejected = message_level and _rejected(fields)
    for spec in ies:
        if spec.mandatory and fields.get(spec.key) in (None, []):
            if not (rejected and spec.key != "cause"):
                raise EncodeError(f"{where}: mandatory IE {spec.key!r} missing")
    return out


def _rejected(fields: Mapping[str, Any]) -> bool:
    # Table 8.4-1: cause values 64..239 are rejections in a response
    cause = fields.get("cause")
    if cause is None:
        return False
    value = cause if isinstance(cause, int) else cause.get("value", 0)
    return bool(value >= 64)


# One pycrate message object per type and direction, reused: building one costs about a third
# of a decode. Encoding refills the IE list from scratch, decoding clears it (GTPCIEs._from_char).
_ENCODERS: dict[int, Any] = {}
_DECODERS: dict[int, Any] = {}


def _pycrate_msg(code: int, cache: dict[int, Any]) -> Any:
    pmsg = cache.get(code)
    if pmsg is None:
        pmsg = cache[code] = G.GTPCDispatcher[code]()
    return pmsg


def _fill(seq: Any, ies: list[dict[str, Any]]) -> None:
    """Set pycrate's IE list `seq` to exactly `ies`, each IE's header before its value.

    pycrate picks the class of an IE's value by (type, instance) in its envelope (§8.28: a
    Bearer Context's IEs differ per instance), but `set_val` on a {"Hdr", "Data"} dict picks it
    before writing the instance, so a Bearer Context with instance 1 would take instance 0's
    class; and a grouped value created by pycrate comes filled with its mandatory IEs, which a
    shorter list would leave in place. Each IE is therefore set header first, and each grouped
    value emptied before its IEs are added.
    """
    seq.set_val(None)
    for ie_val in ies:
        seq.append(seq._tmpl.clone())
        ie = seq[-1]
        hdr, data = ie_val["Hdr"], ie_val["Data"]
        ie.set_val((hdr,))
        if isinstance(ie[1], G.GTPCIEs) and isinstance(data, list):
            _fill(ie[1], data)
        else:
            ie.set_val((hdr, data))


def encode(msg: Message) -> bytes:
    """Encode a GTPv2-C message (representation in the module docstring)."""
    return _fast.encode_or(encode_pycrate, msg)


def encode_pycrate(msg: Message) -> bytes:
    """`encode` by pycrate alone: the reference the fast path is proven against."""
    spec = _BY_NAME.get(msg.name)
    if spec is None or spec.code != msg.code or msg.protocol != PROTOCOL:
        raise EncodeError(f"not a supported GTPv2-C message: {msg.protocol}/{msg.name}/{msg.code}")
    fields = msg.fields
    ies = _encode_ies(spec.ies, fields, spec.name, message_level=True)
    piggy = fields.get("piggybacked")
    try:
        pmsg = _pycrate_msg(spec.code, _ENCODERS)
        hdr = pmsg[0]
        teid = fields.get("teid")
        hdr["T"].set_val(0 if teid is None else 1)
        if teid is not None:
            hdr["TEID"].set_val(teid)
        hdr["SeqNum"].set_val(fields.get("sequence", 0))
        prio = fields.get("message_priority")
        # §5.5.1: MP flag and Message Priority in the high nibble of the last octet
        hdr["MP"].set_val(0 if prio is None else 1)
        if prio is not None:
            hdr["MsgPrio"].set_val(prio)
        hdr["P"].set_val(0 if piggy is None else 1)
        body = pmsg[1]
        body.clear()
        # presence was checked above; pycrate would otherwise add empty mandatory IEs
        G.GTPCIEs._SET_MAND = False
        _fill(body, ies)
        data = bytes(pmsg.to_bytes())
    except EncodeError:
        raise
    except Exception as exc:
        raise EncodeError(f"{spec.name}: {exc}") from exc
    finally:
        G.GTPCIEs._SET_MAND = True
    if piggy is not None:
        data += encode(piggy)
    return data


# ------------------------------------------------------------------------------------------ #
# Decoding
# ------------------------------------------------------------------------------------------ #


def _error(cause: int, detail: str, hdr: Mapping[str, Any], **extra: Any) -> DecodeError:
    return DecodeError(PROTOCOL, cause, detail, message_type=hdr.get("type"),
                       sequence=hdr.get("sequence"), teid=hdr.get("teid"), **extra)


def _parse_header(data: bytes) -> tuple[dict[str, Any], int, int]:
    """Header fields, header length and total length (§5.1), checked against the datagram."""
    hdr: dict[str, Any] = {"type": data[1] if len(data) > 1 else None}
    if not data:
        raise _error(CAUSE_INVALID_LENGTH, "empty message", hdr, discard=True)
    version = data[0] >> 5
    if version != 2:
        # §7.7.1: answer with Version Not Supported Indication
        raise _error(CAUSE_VERSION_NOT_SUPPORTED_BY_NEXT_PEER,
                     f"GTP version {version} not supported", hdr, version_not_supported=True,
                     version=version)
    t_flag = (data[0] >> 3) & 1
    hlen = 12 if t_flag else 8
    if len(data) < hlen:
        # §7.7.2: too short for a header, silently discarded
        raise _error(CAUSE_INVALID_LENGTH, "shorter than the GTPv2-C header", hdr, discard=True)
    if t_flag:
        hdr["teid"] = int.from_bytes(data[4:8], "big")
    hdr["sequence"] = int.from_bytes(data[hlen - 4:hlen - 1], "big")
    total = 4 + int.from_bytes(data[2:4], "big")
    piggy = (data[0] >> 4) & 1
    if total < hlen or total > len(data) or (total < len(data) and not piggy):
        # §7.7.6: the Length field disagrees with the datagram
        raise _error(CAUSE_INVALID_LENGTH, f"length field {total - 4} for {len(data)} octets",
                     hdr)
    return hdr, hlen, total


def _tlvs(data: bytes, hdr: Mapping[str, Any]) -> list[tuple[int, int, bytes]]:
    """(type, instance, value octets) of each IE; §8.2: each length must stay within its
    container (§7.7.6 otherwise)."""
    out: list[tuple[int, int, bytes]] = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 4:
            raise _error(CAUSE_INVALID_LENGTH, "truncated IE header", hdr)
        typ, ie_len, inst = data[pos], int.from_bytes(data[pos + 1:pos + 3], "big"), data[pos + 3]
        start, pos = pos + 4, pos + 4 + ie_len
        if pos > end:
            raise _error(CAUSE_INVALID_LENGTH, f"IE type {typ} overruns its container", hdr)
        if typ == 254:
            # §8.2.1A: extended type in the first two value octets
            if ie_len < 2:
                raise _error(CAUSE_INVALID_LENGTH, "extended IE type without its type", hdr)
            typ, start = int.from_bytes(data[start:start + 2], "big"), start + 2
        out.append((typ, inst & 0x0F, data[start:pos]))
    return out


def _is_raw(ie: Any) -> bool:
    return ie[1] is getattr(ie, "_data_raw", None)


def _decode_ies(seq: Any, raws: list[tuple[int, int, bytes]], ies: tuple[IESpec, ...],
                hdr: Mapping[str, Any], group: tuple[int, int] | None) -> dict[str, Any]:
    table = _table_of(ies)
    fields: dict[str, Any] = {}
    if seq.get_num() != len(raws):
        _unparsed(seq, raws, table, hdr, group)
    for index, (ie, (typ, inst, raw)) in enumerate(zip(seq, raws, strict=True)):
        spec = table.by_tag.get((typ, inst))
        value: Any = None
        if spec is not None and (spec.multiple or spec.key not in fields):
            value = _decode_value(ie, raw, spec, hdr, group)
        if value is None:
            # §7.7.8-§7.7.12: unknown, unexpected, repeated or invalid optional IEs are ignored
            fields.setdefault(_OTHER, []).append(
                {"type": typ, "instance": inst, "data": raw, "index": index})
        elif spec is not None and spec.multiple:
            fields.setdefault(spec.key, []).append(value)
        elif spec is not None:
            fields[spec.key] = value
    _check_mandatory(ies, fields, hdr, group)
    return fields


def _unparsed(seq: Any, raws: list[tuple[int, int, bytes]], table: _Table,
              hdr: Mapping[str, Any], group: tuple[int, int] | None) -> None:
    """pycrate stops reading an IE list after an IE it could not parse: name that IE."""
    num = seq.get_num()
    typ, inst, raw = raws[num - 1] if 0 < num <= len(raws) else (0, 0, b"")
    spec = table.by_tag.get((typ, inst))
    if spec is not None and spec.mandatory:
        # §7.7.7: a mandatory IE that cannot be understood
        raise _error(CAUSE_MANDATORY_IE_INCORRECT, f"{spec.key} does not parse", hdr,
                     **_offending(spec, len(raw), group))
    raise _error(CAUSE_INVALID_MESSAGE_FORMAT, f"IE type {typ} does not parse", hdr)


def _offending(spec: IESpec, length: int, group: tuple[int, int] | None) -> dict[str, Any]:
    extra: dict[str, Any] = {"offending_ie": {"type": spec.type, "length": length,
                                              "instance": spec.instance}}
    if group is not None:
        extra["bce"] = True
        extra["grouped_ie"] = {"type": group[0], "instance": group[1]}
    return extra


def _decode_value(ie: Any, raw: bytes, spec: IESpec, hdr: Mapping[str, Any],
                  group: tuple[int, int] | None) -> Any:
    try:
        if _is_raw(ie) or ie.get_type() != spec.type:
            raise _InvalidIE("pycrate could not parse the IE")
        if spec.group:
            return _decode_ies(ie[1], _tlvs(raw, hdr), spec.group, hdr,
                               (spec.type, spec.instance))
        return _KINDS[_IE_KIND[spec.type]].out(ie[1])
    except _InvalidIE as exc:
        if spec.mandatory:
            # §7.7.7: a mandatory IE that cannot be understood
            raise _error(CAUSE_MANDATORY_IE_INCORRECT, f"{spec.key}: {exc}", hdr,
                         **_offending(spec, len(raw), group)) from None
        return None


def _check_mandatory(ies: tuple[IESpec, ...], fields: Mapping[str, Any],
                     hdr: Mapping[str, Any], group: tuple[int, int] | None) -> None:
    # §7.7.5; a rejection response needs only its Cause (Table 8.4-1)
    rejected = group is None and _rejected(fields)
    for spec in ies:
        if spec.mandatory and spec.key not in fields:
            if rejected and spec.key != "cause":
                continue
            raise _error(CAUSE_MANDATORY_IE_MISSING, f"mandatory IE {spec.key} missing", hdr,
                         **_offending(spec, 0, group))


def decode(data: bytes) -> Message:
    """Decode one GTPv2-C message; raises only DecodeError."""
    return _fast.decode_or(decode_pycrate, data)


def decode_pycrate(data: bytes) -> Message:
    """`decode` by pycrate alone: the reference the fast path is proven against."""
    data = bytes(data)
    hdr, hlen, total = _parse_header(data)
    spec = _BY_CODE.get(hdr["type"])
    if spec is None:
        # §7.7.3: an unknown message is silently discarded
        raise _error(CAUSE_SERVICE_NOT_SUPPORTED, f"message type {hdr['type']} not supported",
                     hdr, discard=True)
    raws = _tlvs(data[hlen:total], hdr)
    G.GTPCIEs.VERIF_MAND = False  # presence is checked below, per §7.7.5, with IE types
    try:
        pmsg = _pycrate_msg(spec.code, _DECODERS)
        pmsg.from_bytes(data[:total])
    except Exception as exc:
        raise _error(CAUSE_INVALID_MESSAGE_FORMAT, f"{spec.name}: {exc}", hdr) from None
    finally:
        G.GTPCIEs.VERIF_MAND = True
    try:
        fields: dict[str, Any] = {"teid": hdr.get("teid"), "sequence": hdr["sequence"]}
        if (data[0] >> 2) & 1:
            fields["message_priority"] = data[hlen - 1] >> 4
        fields.update(_decode_ies(pmsg[1], raws, spec.ies, hdr, None))
    except DecodeError:
        raise
    except Exception as exc:
        raise _error(CAUSE_INVALID_MESSAGE_FORMAT, f"{spec.name}: {exc}", hdr) from None
    if total < len(data):
        fields["piggybacked"] = decode(data[total:])
    return Message(PROTOCOL, spec.name, spec.code, fields)


class GTPv2CCodec:
    """`corenet.codecs.base.Codec` for GTPv2-C."""

    protocol = PROTOCOL

    def encode(self, msg: Message) -> bytes:
        return encode(msg)

    def decode(self, data: bytes) -> Message:
        return decode(data)


# ------------------------------------------------------------------------------------------ #
# Builders
# ------------------------------------------------------------------------------------------ #

Uli = tuple[str | Plmn, int, str | Plmn, int]
FteidArg = Mapping[str, Any] | tuple[Any, ...]


def _msg(name: str, teid: int | None, sequence: int, **ies: Any) -> Message:
    spec = _BY_NAME[name]
    fields: dict[str, Any] = {"teid": teid, "sequence": sequence}
    fields.update((k, v) for k, v in ies.items() if v is not None and v != [])
    return Message(PROTOCOL, name, spec.code, fields)


def uli(tai_plmn: str | Plmn, tac: int, ecgi_plmn: str | Plmn, eci: int) -> dict[str, Any]:
    """ULI with TAI and ECGI (TS 29.274 §8.21.4, §8.21.5)."""
    return {"tai": {"plmn": _plmn_arg(tai_plmn), "tac": tac},
            "ecgi": {"plmn": _plmn_arg(ecgi_plmn), "eci": eci}}


def _uli_arg(value: Uli | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    return uli(*value)


def _fteid_arg(value: FteidArg | None) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    return fteid(*value)


def bearer_qos(qci: int, pl: int, pci: int = 1, pvi: int = 0, mbr: tuple[int, int] = (0, 0),
               gbr: tuple[int, int] = (0, 0)) -> dict[str, int]:
    """Bearer QoS (TS 29.274 §8.15); mbr/gbr are (uplink, downlink) in kbps."""
    return {"pci": pci, "pl": pl, "pvi": pvi, "qci": qci, "mbr_ul_kbps": mbr[0],
            "mbr_dl_kbps": mbr[1], "gbr_ul_kbps": gbr[0], "gbr_dl_kbps": gbr[1]}


def cause(value: int, offending_ie: Mapping[str, int] | None = None, *, pce: bool = False,
          bce: bool = False, cs: bool = False) -> dict[str, Any]:
    """Cause IE value (TS 29.274 §8.4)."""
    return {"value": value, "pce": pce, "bce": bce, "cs": cs,
            "offending_ie": None if offending_ie is None else dict(offending_ie)}


def _cause_arg(value: int | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    return cause(value)


def _ambr_arg(value: tuple[int, int] | Mapping[str, int] | None) -> Mapping[str, int] | None:
    if value is None or isinstance(value, Mapping):
        return value
    return {"ul_kbps": value[0], "dl_kbps": value[1]}


def _plmn_arg(value: str | Plmn | None) -> str | None:
    return None if value is None else str(value if isinstance(value, Plmn) else Plmn.parse(value))


def echo_request(sequence: int, recovery: int) -> Message:
    """Echo Request, TS 29.274 §7.1.1."""
    return _msg("EchoRequest", None, sequence, recovery=recovery)


def echo_response(sequence: int, recovery: int) -> Message:
    """Echo Response, TS 29.274 §7.1.2."""
    return _msg("EchoResponse", None, sequence, recovery=recovery)


def version_not_supported_indication(sequence: int) -> Message:
    """Version Not Supported Indication, TS 29.274 §7.1.3 (answer of §7.7.1)."""
    return _msg("VersionNotSupportedIndication", None, sequence)


def create_session_request(
    sequence: int,
    *,
    teid: int = 0,
    imsi: str | None = None,
    msisdn: str | None = None,
    mei: str | None = None,
    uli: Uli | Mapping[str, Any] | None = None,
    serving_network: str | Plmn | None = None,
    rat_type: int = RAT_EUTRAN,
    indication: Mapping[str, bool] | None = None,
    sender_fteid: FteidArg,
    pgw_fteid: FteidArg | None = None,
    apn: str,
    selection_mode: int | None = None,
    pdn_type: int | None = PDN_IPV4,
    paa: Mapping[str, Any] | None = None,
    apn_restriction: int | None = None,
    ambr: tuple[int, int] | Mapping[str, int] | None = None,
    linked_ebi: int | None = None,
    pco: bytes | None = None,
    bearer_contexts: Sequence[Mapping[str, Any]] = (),
    recovery: int | None = None,
    ue_time_zone: Mapping[str, int] | None = None,
) -> Message:
    """Create Session Request, TS 29.274 §7.2.1 (teid 0 towards a new peer, §5.5.2).

    An unauthenticated emergency attach sends the IMSI with indication {"uimsi": True} (§8.12)
    or no IMSI and the MEI (TS 23.401 §5.3.2.1)."""
    return _msg(
        "CreateSessionRequest", teid, sequence, imsi=imsi, msisdn=msisdn, mei=mei,
        uli=_uli_arg(uli), serving_network=_plmn_arg(serving_network), rat_type=rat_type,
        indication=indication, sender_fteid_c=_fteid_arg(sender_fteid),
        pgw_s5s8_fteid_c=_fteid_arg(pgw_fteid), apn=apn, selection_mode=selection_mode,
        pdn_type=pdn_type, paa=paa, max_apn_restriction=apn_restriction, ambr=_ambr_arg(ambr),
        linked_ebi=linked_ebi, pco=pco,
        bearer_contexts_to_be_created=[_bearer(b) for b in bearer_contexts],
        recovery=recovery, ue_time_zone=ue_time_zone)


def _bearer(b: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in b.items():
        if v is None:
            continue
        if k.endswith("fteid"):
            v = _fteid_arg(v)
        elif k == "cause":
            v = _cause_arg(v)
        out[k] = v
    return out


def create_session_response(
    sequence: int,
    *,
    teid: int,
    cause: int | Mapping[str, Any] = CAUSE_REQUEST_ACCEPTED,
    sender_fteid: FteidArg | None = None,
    pgw_fteid: FteidArg | None = None,
    paa: Mapping[str, Any] | None = None,
    apn_restriction: int | None = None,
    ambr: tuple[int, int] | Mapping[str, int] | None = None,
    linked_ebi: int | None = None,
    pco: bytes | None = None,
    bearer_contexts: Sequence[Mapping[str, Any]] = (),
    recovery: int | None = None,
    indication: Mapping[str, bool] | None = None,
) -> Message:
    """Create Session Response, TS 29.274 §7.2.2."""
    return _msg(
        "CreateSessionResponse", teid, sequence, cause=_cause_arg(cause),
        sender_fteid_c=_fteid_arg(sender_fteid), pgw_s5s8_fteid_c=_fteid_arg(pgw_fteid),
        paa=paa, apn_restriction=apn_restriction, ambr=_ambr_arg(ambr), linked_ebi=linked_ebi,
        pco=pco, bearer_contexts_created=[_bearer(b) for b in bearer_contexts],
        recovery=recovery, indication=indication)


def modify_bearer_request(
    sequence: int,
    *,
    teid: int,
    mei: str | None = None,
    uli: Uli | Mapping[str, Any] | None = None,
    serving_network: str | Plmn | None = None,
    rat_type: int | None = None,
    indication: Mapping[str, bool] | None = None,
    sender_fteid: FteidArg | None = None,
    ambr: tuple[int, int] | Mapping[str, int] | None = None,
    bearer_contexts: Sequence[Mapping[str, Any]] = (),
    bearer_contexts_to_be_removed: Sequence[Mapping[str, Any]] = (),
    recovery: int | None = None,
) -> Message:
    """Modify Bearer Request, TS 29.274 §7.2.7 (e.g. eNB S1-U F-TEID after attach)."""
    return _msg(
        "ModifyBearerRequest", teid, sequence, mei=mei, uli=_uli_arg(uli),
        serving_network=_plmn_arg(serving_network), rat_type=rat_type, indication=indication,
        sender_fteid_c=_fteid_arg(sender_fteid), ambr=_ambr_arg(ambr),
        bearer_contexts_to_be_modified=[_bearer(b) for b in bearer_contexts],
        bearer_contexts_to_be_removed=[_bearer(b) for b in bearer_contexts_to_be_removed],
        recovery=recovery)


def modify_bearer_response(
    sequence: int,
    *,
    teid: int,
    cause: int | Mapping[str, Any] = CAUSE_REQUEST_ACCEPTED,
    msisdn: str | None = None,
    linked_ebi: int | None = None,
    apn_restriction: int | None = None,
    pco: bytes | None = None,
    bearer_contexts: Sequence[Mapping[str, Any]] = (),
    recovery: int | None = None,
    indication: Mapping[str, bool] | None = None,
) -> Message:
    """Modify Bearer Response, TS 29.274 §7.2.8."""
    return _msg(
        "ModifyBearerResponse", teid, sequence, cause=_cause_arg(cause), msisdn=msisdn,
        linked_ebi=linked_ebi, apn_restriction=apn_restriction, pco=pco,
        bearer_contexts_modified=[_bearer(b) for b in bearer_contexts], recovery=recovery,
        indication=indication)


def delete_session_request(
    sequence: int,
    *,
    teid: int,
    linked_ebi: int | None = None,
    cause: int | Mapping[str, Any] | None = None,
    uli: Uli | Mapping[str, Any] | None = None,
    indication: Mapping[str, bool] | None = None,
    pco: bytes | None = None,
    sender_fteid: FteidArg | None = None,
) -> Message:
    """Delete Session Request, TS 29.274 §7.2.9.1."""
    return _msg(
        "DeleteSessionRequest", teid, sequence, cause=_cause_arg(cause), linked_ebi=linked_ebi,
        uli=_uli_arg(uli), indication=indication, pco=pco,
        sender_fteid_c=_fteid_arg(sender_fteid))


def delete_session_response(
    sequence: int,
    *,
    teid: int,
    cause: int | Mapping[str, Any] = CAUSE_REQUEST_ACCEPTED,
    recovery: int | None = None,
    pco: bytes | None = None,
) -> Message:
    """Delete Session Response, TS 29.274 §7.2.10.1."""
    return _msg("DeleteSessionResponse", teid, sequence, cause=_cause_arg(cause),
                recovery=recovery, pco=pco)


def create_bearer_request(
    sequence: int,
    *,
    teid: int,
    linked_ebi: int,
    bearer_contexts: Sequence[Mapping[str, Any]],
    pti: int | None = None,
    pco: bytes | None = None,
    indication: Mapping[str, bool] | None = None,
) -> Message:
    """Create Bearer Request, TS 29.274 §7.2.3 (dedicated bearer, e.g. QCI 1 for IMS voice)."""
    return _msg(
        "CreateBearerRequest", teid, sequence, pti=pti, linked_ebi=linked_ebi, pco=pco,
        bearer_contexts=[_bearer(b) for b in bearer_contexts], indication=indication)


def create_bearer_response(
    sequence: int,
    *,
    teid: int,
    bearer_contexts: Sequence[Mapping[str, Any]],
    cause: int | Mapping[str, Any] = CAUSE_REQUEST_ACCEPTED,
    recovery: int | None = None,
    pco: bytes | None = None,
    uli: Uli | Mapping[str, Any] | None = None,
) -> Message:
    """Create Bearer Response, TS 29.274 §7.2.4."""
    return _msg(
        "CreateBearerResponse", teid, sequence, cause=_cause_arg(cause),
        bearer_contexts=[_bearer(b) for b in bearer_contexts], recovery=recovery, pco=pco,
        uli=_uli_arg(uli))


def delete_bearer_request(
    sequence: int,
    *,
    teid: int,
    linked_ebi: int | None = None,
    ebis: Sequence[int] = (),
    cause: int | Mapping[str, Any] | None = None,
    pti: int | None = None,
    pco: bytes | None = None,
) -> Message:
    """Delete Bearer Request, TS 29.274 §7.2.9.2: linked_ebi deletes the PDN connection,
    ebis the listed dedicated bearers."""
    return _msg("DeleteBearerRequest", teid, sequence, linked_ebi=linked_ebi, ebis=list(ebis),
                pti=pti, pco=pco, cause=_cause_arg(cause))


def delete_bearer_response(
    sequence: int,
    *,
    teid: int,
    cause: int | Mapping[str, Any] = CAUSE_REQUEST_ACCEPTED,
    linked_ebi: int | None = None,
    bearer_contexts: Sequence[Mapping[str, Any]] = (),
    recovery: int | None = None,
    uli: Uli | Mapping[str, Any] | None = None,
) -> Message:
    """Delete Bearer Response, TS 29.274 §7.2.10.2."""
    return _msg(
        "DeleteBearerResponse", teid, sequence, cause=_cause_arg(cause), linked_ebi=linked_ebi,
        bearer_contexts=[_bearer(b) for b in bearer_contexts], recovery=recovery,
        uli=_uli_arg(uli))


def release_access_bearers_request(sequence: int, *, teid: int) -> Message:
    """Release Access Bearers Request, TS 29.274 §7.2.21 (S1 release)."""
    return _msg("ReleaseAccessBearersRequest", teid, sequence)


def release_access_bearers_response(
    sequence: int, *, teid: int, cause: int | Mapping[str, Any] = CAUSE_REQUEST_ACCEPTED,
    recovery: int | None = None,
) -> Message:
    """Release Access Bearers Response, TS 29.274 §7.2.22."""
    return _msg("ReleaseAccessBearersResponse", teid, sequence, cause=_cause_arg(cause),
                recovery=recovery)
