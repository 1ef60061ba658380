"""Diameter base protocol (RFC 6733) codec over pycrate_diameter, with the S6a dictionary.

Representation of a message (`corenet.codecs.base.Message`, protocol "diameter"):

    name    "CER", "CEA", "AIR", "AIA", ... (see `COMMANDS`); an unknown command is named
            "CMD-<code>-R" (request) or "CMD-<code>-A" (answer)
    code    the Command-Code (RFC 6733 §3)
    fields  {
        "flags": {"request": bool, "proxiable": bool, "error": bool, "retransmit": bool},
        "application_id": int,
        "hop_by_hop": int,
        "end_to_end": int,
        "avps": [entry, ...],
    }

`avps` keeps the AVPs in wire order. Each entry is a tuple `(name, value)`:
    - value is `int` for Unsigned32/Integer32/Unsigned64/Enumerated/Time, `str` for
      UTF8String/DiameterIdentity/DiameterURI, `bytes` for OctetString, `str` (an IP address) for
      Address (raw `bytes` when the address family is neither IPv4 nor IPv6), and for a Grouped
      AVP (RFC 6733 §4.4) a list of entries in turn (Failed-AVP content that does not parse,
      e.g. an AVP header with the length fault it reports, stays raw `bytes`);
    - an AVP absent from the dictionary is named "AVP-<code>" (V bit clear) or
      "AVP-<vendor>-<code>" (V bit set) and its value is the raw data `bytes`;
    - an entry has a third element, the AVP flags octet (V 0x80, M 0x40, P 0x20), only when the
      wire flags differ from the dictionary's flag rules; so decode -> encode is byte-exact;
    - for encoding only, a `bytes` item in a list is an AVP already encoded (Failed-AVP content).
`fields["flags"]` carries a "reserved" key only when reserved header bits were set.

Reading: `avp(msg, "Experimental-Result", "Experimental-Result-Code")` gives the first value
along a path of names, `avp_all(...)` every value, `avps_dict(...)` a nested dict where a name
that occurs once maps to its value and a name that occurs several times maps to the list of its
values in wire order (grouped AVPs become nested dicts). `encode` also accepts such a dict as
`avps` (a list value means a repeated AVP); wire order is then the dict's order.

Every byte on the wire is produced and parsed by pycrate (AVPHdr/AVPGeneric/DiameterHdr and the
RFC 6733 §4.2-4.3 data formats). Each AVP is encoded and parsed on its own, grouped payloads
bottom-up, with one set of pycrate elements per call: pycrate's nested automatic lengths are
re-evaluated quadratically when a whole message tree is built at once.
"""

from __future__ import annotations  # noqa: I001  (corenet.codecs._pycrate before pycrate)

import enum
import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import corenet.codecs._pycrate  # noqa: F401
from corenet.codecs.base import Message
from corenet.codecs.selection import fast_path
from corenet.core.errors import DecodeError, EncodeError
from pycrate_core.elt import Element
from pycrate_diameter.Diameter import (
    Address,
    AVPGeneric,
    DiameterHdr,
    Integer32,
    Unsigned32,
    Unsigned64,
    UTF8String,
)

PROTOCOL = "diameter"
_fast = fast_path(PROTOCOL)  # installed by corenet.codecs.fast.diameter
HEADER_LEN = 20
VERSION = 1
VENDOR_3GPP = 10415
S6A_APPLICATION_ID = 16777251  # TS 29.272 §7.1.8
BASE_APPLICATION_ID = 0  # RFC 6733 §2.4: Diameter common messages
GX_APPLICATION_ID = 16777238  # TS 29.212 §5.1
RX_APPLICATION_ID = 16777236  # TS 29.214 §5.1
CX_APPLICATION_ID = 16777216  # TS 29.229 §5.1 (Cx/Dx)

# RFC 6733 §3: command flags; §4.1: AVP flags
FLAG_R, FLAG_P, FLAG_E, FLAG_T = 0x80, 0x40, 0x20, 0x10
AVP_V, AVP_M, AVP_P = 0x80, 0x40, 0x20


class ResultCode(enum.IntEnum):
    """Result-Code AVP values, RFC 6733 §7.1."""

    DIAMETER_SUCCESS = 2001
    DIAMETER_LIMITED_SUCCESS = 2002
    DIAMETER_COMMAND_UNSUPPORTED = 3001
    DIAMETER_UNABLE_TO_DELIVER = 3002
    DIAMETER_REALM_NOT_SERVED = 3003
    DIAMETER_TOO_BUSY = 3004
    DIAMETER_LOOP_DETECTED = 3005
    DIAMETER_REDIRECT_INDICATION = 3006
    DIAMETER_APPLICATION_UNSUPPORTED = 3007
    DIAMETER_INVALID_HDR_BITS = 3008
    DIAMETER_INVALID_AVP_BITS = 3009
    DIAMETER_UNKNOWN_PEER = 3010
    DIAMETER_AUTHENTICATION_REJECTED = 4001
    DIAMETER_OUT_OF_SPACE = 4002
    ELECTION_LOST = 4003
    DIAMETER_AVP_UNSUPPORTED = 5001
    DIAMETER_UNKNOWN_SESSION_ID = 5002
    DIAMETER_AUTHORIZATION_REJECTED = 5003
    DIAMETER_INVALID_AVP_VALUE = 5004
    DIAMETER_MISSING_AVP = 5005
    DIAMETER_RESOURCES_EXCEEDED = 5006
    DIAMETER_CONTRADICTING_AVPS = 5007
    DIAMETER_AVP_NOT_ALLOWED = 5008
    DIAMETER_AVP_OCCURS_TOO_MANY_TIMES = 5009
    DIAMETER_NO_COMMON_APPLICATION = 5010
    DIAMETER_UNSUPPORTED_VERSION = 5011
    DIAMETER_UNABLE_TO_COMPLY = 5012
    DIAMETER_INVALID_BIT_IN_HEADER = 5013
    DIAMETER_INVALID_AVP_LENGTH = 5014
    DIAMETER_INVALID_MESSAGE_LENGTH = 5015
    DIAMETER_INVALID_AVP_BIT_COMBO = 5016
    DIAMETER_NO_COMMON_SECURITY = 5017


class ExperimentalResultCode(enum.IntEnum):
    """Experimental-Result-Code values with Vendor-Id 10415, TS 29.272 §7.4.

    Kept apart from `ResultCode`: 5001 here is USER_UNKNOWN, 5001 there is AVP_UNSUPPORTED.
    """

    DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE = 4181
    DIAMETER_ERROR_CAMEL_SUBSCRIPTION_PRESENT = 4182
    DIAMETER_ERROR_USER_UNKNOWN = 5001
    DIAMETER_ERROR_ROAMING_NOT_ALLOWED = 5004
    DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION = 5420
    DIAMETER_ERROR_RAT_NOT_ALLOWED = 5421
    DIAMETER_ERROR_EQUIPMENT_UNKNOWN = 5422
    DIAMETER_ERROR_UNKNOWN_SERVING_NODE = 5423


class DisconnectCause(enum.IntEnum):
    """RFC 6733 §5.4.3."""

    REBOOTING = 0
    BUSY = 1
    DO_NOT_WANT_TO_TALK_TO_YOU = 2


AUTH_SESSION_STATE_NO_STATE_MAINTAINED = 1  # RFC 6733 §8.11; TS 29.272 §7.1.4


# --------------------------------------------------------------------------------------------
# Dictionary
# --------------------------------------------------------------------------------------------


class AvpType(enum.Enum):
    """AVP data formats, RFC 6733 §4.2 (basic) and §4.3 (derived), §4.4 (Grouped)."""

    OCTET_STRING = "OctetString"
    INTEGER32 = "Integer32"
    UNSIGNED32 = "Unsigned32"
    UNSIGNED64 = "Unsigned64"
    ENUMERATED = "Enumerated"
    TIME = "Time"
    ADDRESS = "Address"
    UTF8_STRING = "UTF8String"
    DIAMETER_IDENTITY = "DiameterIdentity"
    DIAMETER_URI = "DiameterURI"
    GROUPED = "Grouped"


# RFC 6733 §4.2/§4.3: data formats of fixed length
_FIXED_LEN = {
    AvpType.INTEGER32: 4,
    AvpType.UNSIGNED32: 4,
    AvpType.ENUMERATED: 4,
    AvpType.TIME: 4,
    AvpType.UNSIGNED64: 8,
}
_INT_TYPES = frozenset(_FIXED_LEN)
_TEXT_TYPES = frozenset({AvpType.UTF8_STRING, AvpType.DIAMETER_IDENTITY, AvpType.DIAMETER_URI})


@dataclass(frozen=True, slots=True)
class AvpDef:
    name: str
    code: int
    vendor_id: int | None  # None: V bit clear (IETF AVP)
    type: AvpType
    mandatory: bool  # the M bit a sender sets, per the defining clause's flag rules

    @property
    def flags(self) -> int:
        return (AVP_V if self.vendor_id is not None else 0) | (AVP_M if self.mandatory else 0)


_O, _U32, _I32, _U64 = AvpType.OCTET_STRING, AvpType.UNSIGNED32, AvpType.INTEGER32, AvpType.UNSIGNED64
_EN, _TM, _AD, _UTF = AvpType.ENUMERATED, AvpType.TIME, AvpType.ADDRESS, AvpType.UTF8_STRING
_ID, _URI, _GR = AvpType.DIAMETER_IDENTITY, AvpType.DIAMETER_URI, AvpType.GROUPED
_3 = VENDOR_3GPP

# (name, code, vendor, type, M bit). Flag rules: RFC 6733 §4.5 table (Product-Name,
# Firmware-Revision, Error-Message, Error-Reporting-Host: M must not); TS 29.272 §7.3.1
# Table 7.3.1/1 (S6a AVPs: M, V) and Table 7.3.1/2 (re-used AVPs: the M bit of the
# defining specification, e.g. TS 29.229 §6.3 Supported-Features: V only; TS 29.212 §5.3
# RAT-Type and Allocation-Retention-Priority: V only).
_AVP_TABLE: tuple[tuple[str, int, int | None, AvpType, bool], ...] = (
    # RFC 6733 §4.5 base protocol AVPs
    ("User-Name", 1, None, _UTF, True),
    ("Class", 25, None, _O, True),
    ("Proxy-State", 33, None, _O, True),
    ("Host-IP-Address", 257, None, _AD, True),
    ("Auth-Application-Id", 258, None, _U32, True),
    ("Acct-Application-Id", 259, None, _U32, True),
    ("Vendor-Specific-Application-Id", 260, None, _GR, True),
    ("Session-Id", 263, None, _UTF, True),
    ("Origin-Host", 264, None, _ID, True),
    ("Supported-Vendor-Id", 265, None, _U32, True),
    ("Vendor-Id", 266, None, _U32, True),
    ("Firmware-Revision", 267, None, _U32, False),
    ("Result-Code", 268, None, _U32, True),
    ("Product-Name", 269, None, _UTF, False),
    ("Disconnect-Cause", 273, None, _EN, True),
    ("Auth-Session-State", 277, None, _EN, True),
    ("Origin-State-Id", 278, None, _U32, True),
    ("Failed-AVP", 279, None, _GR, True),
    ("Proxy-Host", 280, None, _ID, True),
    ("Error-Message", 281, None, _UTF, False),
    ("Route-Record", 282, None, _ID, True),
    ("Destination-Realm", 283, None, _ID, True),
    ("Proxy-Info", 284, None, _GR, True),
    ("Destination-Host", 293, None, _ID, True),
    ("Error-Reporting-Host", 294, None, _ID, False),
    ("Origin-Realm", 296, None, _ID, True),
    ("Experimental-Result", 297, None, _GR, True),
    ("Experimental-Result-Code", 298, None, _U32, True),
    ("Inband-Security-Id", 299, None, _U32, True),
    ("DRMP", 301, None, _EN, False),  # RFC 7944 §9.1
    ("Service-Selection", 493, None, _UTF, True),  # RFC 5778 §6.2
    # RFC 7683 §7 (DOIC): M bit clear, so that a node without DOIC ignores them (§5.1)
    ("OC-Supported-Features", 621, None, _GR, False),
    ("OC-Feature-Vector", 622, None, _U64, False),
    ("OC-OLR", 623, None, _GR, False),
    ("OC-Sequence-Number", 624, None, _U64, False),
    ("OC-Validity-Duration", 625, None, _U32, False),
    ("OC-Report-Type", 626, None, _EN, False),
    ("OC-Reduction-Percentage", 627, None, _U32, False),
    # TS 29.229 §6.3.29-31
    ("Supported-Features", 628, _3, _GR, False),
    ("Feature-List-ID", 629, _3, _U32, False),
    ("Feature-List", 630, _3, _U32, False),
    # TS 29.329 §6.3.2
    ("MSISDN", 701, _3, _O, True),
    # TS 29.214 §5.3.14-15; TS 29.212 §5.3
    ("Max-Requested-Bandwidth-DL", 515, _3, _U32, True),
    ("Max-Requested-Bandwidth-UL", 516, _3, _U32, True),
    ("QoS-Class-Identifier", 1028, _3, _EN, True),
    ("RAT-Type", 1032, _3, _EN, False),
    ("Allocation-Retention-Priority", 1034, _3, _GR, False),
    ("Priority-Level", 1046, _3, _U32, False),
    ("Pre-emption-Capability", 1047, _3, _EN, False),
    ("Pre-emption-Vulnerability", 1048, _3, _EN, False),
    # TS 32.299 §7.2
    ("Served-Party-IP-Address", 848, _3, _AD, True),
    # TS 29.272 §7.3
    ("Subscription-Data", 1400, _3, _GR, True),
    ("Terminal-Information", 1401, _3, _GR, True),
    ("IMEI", 1402, _3, _UTF, True),
    ("Software-Version", 1403, _3, _UTF, True),
    ("ULR-Flags", 1405, _3, _U32, True),
    ("ULA-Flags", 1406, _3, _U32, True),
    ("Visited-PLMN-Id", 1407, _3, _O, True),
    ("Requested-EUTRAN-Authentication-Info", 1408, _3, _GR, True),
    ("Number-Of-Requested-Vectors", 1410, _3, _U32, True),
    ("Re-Synchronization-Info", 1411, _3, _O, True),
    ("Immediate-Response-Preferred", 1412, _3, _U32, True),
    ("Authentication-Info", 1413, _3, _GR, True),
    ("E-UTRAN-Vector", 1414, _3, _GR, True),
    ("Network-Access-Mode", 1417, _3, _EN, True),
    ("Item-Number", 1419, _3, _U32, True),
    ("Cancellation-Type", 1420, _3, _EN, True),
    ("Context-Identifier", 1423, _3, _U32, True),
    ("Subscriber-Status", 1424, _3, _EN, True),
    ("Access-Restriction-Data", 1426, _3, _U32, True),
    ("All-APN-Configurations-Included-Indicator", 1428, _3, _EN, True),
    ("APN-Configuration-Profile", 1429, _3, _GR, True),
    ("APN-Configuration", 1430, _3, _GR, True),
    ("EPS-Subscribed-QoS-Profile", 1431, _3, _GR, True),
    ("VPLMN-Dynamic-Address-Allowed", 1432, _3, _EN, True),
    ("AMBR", 1435, _3, _GR, True),
    ("IDA-Flags", 1441, _3, _U32, True),
    ("PUA-Flags", 1442, _3, _U32, True),
    ("RAND", 1447, _3, _O, True),
    ("XRES", 1448, _3, _O, True),
    ("AUTN", 1449, _3, _O, True),
    ("KASME", 1450, _3, _O, True),
    ("PDN-Type", 1456, _3, _EN, True),
    ("IDR-Flags", 1490, _3, _U32, True),
    ("Error-Diagnostic", 1614, _3, _EN, False),
    ("UE-SRVCC-Capability", 1615, _3, _EN, False),
    ("Subscribed-Periodic-RAU-TAU-Timer", 1619, _3, _U32, False),
    ("PUR-Flags", 1635, _3, _U32, False),
    ("CLR-Flags", 1638, _3, _U32, False),
    # TS 29.212 Gx (Application-Id 16777238). Flag rules: TS 29.212 §5.3.1 Table 5.3.1 (the
    # Rel-7 PCC AVPs M,V; the EPS ones of Rel-8 on, V only) and Table 5.3.2 (re-used AVPs:
    # RFC 4006 §8 Subscription-Id, User-Equipment-Info (M "may": sent clear), CC-Request-*;
    # RFC 7155 §4.4 Framed-IP-Address / Framed-IPv6-Prefix, §4.2 Called-Station-Id; TS 29.061
    # §16.4.7 3GPP-User-Location-Info, V only). IPFilterRule (RFC 6733 §4.3.1) is an
    # OctetString of ASCII: read and written here as text.
    ("Framed-IP-Address", 8, None, _O, True),
    ("Called-Station-Id", 30, None, _UTF, True),
    ("Framed-IPv6-Prefix", 97, None, _O, True),
    ("Re-Auth-Request-Type", 285, None, _EN, True),
    ("Termination-Cause", 295, None, _EN, True),
    ("CC-Request-Number", 415, None, _U32, True),
    ("CC-Request-Type", 416, None, _EN, True),
    ("Subscription-Id", 443, None, _GR, True),
    ("Subscription-Id-Data", 444, None, _UTF, True),
    ("Subscription-Id-Type", 450, None, _EN, True),
    ("User-Equipment-Info", 458, None, _GR, False),
    ("User-Equipment-Info-Type", 459, None, _EN, False),
    ("User-Equipment-Info-Value", 460, None, _O, False),
    ("3GPP-User-Location-Info", 22, _3, _O, False),
    ("Charging-Rule-Install", 1001, _3, _GR, True),
    ("Charging-Rule-Remove", 1002, _3, _GR, True),
    ("Charging-Rule-Definition", 1003, _3, _GR, True),
    ("Charging-Rule-Name", 1005, _3, _O, True),
    ("Event-Trigger", 1006, _3, _EN, True),
    ("Precedence", 1010, _3, _U32, True),
    ("QoS-Information", 1016, _3, _GR, True),
    ("Charging-Rule-Report", 1018, _3, _GR, True),
    ("PCC-Rule-Status", 1019, _3, _EN, True),
    ("Bearer-Identifier", 1020, _3, _O, True),
    ("Bearer-Control-Mode", 1023, _3, _EN, True),
    ("Network-Request-Support", 1024, _3, _EN, True),
    ("Guaranteed-Bitrate-DL", 1025, _3, _U32, True),
    ("Guaranteed-Bitrate-UL", 1026, _3, _U32, True),
    ("IP-CAN-Type", 1027, _3, _EN, True),
    ("Rule-Failure-Code", 1031, _3, _EN, True),
    ("APN-Aggregate-Max-Bitrate-DL", 1040, _3, _U32, False),
    ("APN-Aggregate-Max-Bitrate-UL", 1041, _3, _U32, False),
    ("Session-Release-Cause", 1045, _3, _EN, True),
    ("Default-EPS-Bearer-QoS", 1049, _3, _GR, False),
    ("AN-GW-Address", 1050, _3, _AD, False),
    ("Flow-Information", 1058, _3, _GR, False),
    ("Resource-Allocation-Notification", 1063, _3, _EN, False),
    ("Flow-Direction", 1080, _3, _EN, False),
    # TS 29.214 Rx (Application-Id 16777236). Flag rules: TS 29.214 §5.3 Table 5.3.1 (the
    # AVPs of Rel-6/7, codes 500-527: M,V; the later ones: V only); Flow-Description (507) and
    # Max-Requested-Bandwidth-UL/DL (above) are shared with Gx.
    ("Abort-Cause", 500, _3, _EN, True),
    ("AF-Application-Identifier", 504, _3, _O, True),
    ("AF-Charging-Identifier", 505, _3, _O, True),
    ("Flow-Description", 507, _3, _UTF, True),
    ("Flow-Number", 509, _3, _U32, True),
    ("Flows", 510, _3, _GR, True),
    ("Flow-Status", 511, _3, _EN, True),
    ("Flow-Usage", 512, _3, _EN, True),
    ("Specific-Action", 513, _3, _EN, True),
    ("Media-Component-Description", 517, _3, _GR, True),
    ("Media-Component-Number", 518, _3, _U32, True),
    ("Media-Sub-Component", 519, _3, _GR, True),
    ("Media-Type", 520, _3, _EN, True),
    ("RR-Bandwidth", 521, _3, _U32, True),
    ("RS-Bandwidth", 522, _3, _U32, True),
    ("Codec-Data", 524, _3, _O, True),
    ("Service-URN", 525, _3, _O, True),
    ("AF-Signalling-Protocol", 529, _3, _EN, False),
    ("Rx-Request-Type", 533, _3, _EN, False),
    ("Required-Access-Info", 536, _3, _EN, False),
    ("AF-Requested-Data", 551, _3, _U32, False),
    # TS 29.229 Cx: §6.3 Table 6.3.1 (flag rules: M and V, except UAR-Flags, V only)
    ("Visited-Network-Identifier", 600, _3, _O, True),
    ("Public-Identity", 601, _3, _UTF, True),
    ("Server-Name", 602, _3, _UTF, True),
    ("Server-Capabilities", 603, _3, _GR, True),
    ("Mandatory-Capability", 604, _3, _U32, True),
    ("Optional-Capability", 605, _3, _U32, True),
    ("User-Data", 606, _3, _O, True),
    ("SIP-Number-Auth-Items", 607, _3, _U32, True),
    ("SIP-Authentication-Scheme", 608, _3, _UTF, True),
    ("SIP-Authenticate", 609, _3, _O, True),
    ("SIP-Authorization", 610, _3, _O, True),
    ("SIP-Authentication-Context", 611, _3, _O, True),
    ("SIP-Auth-Data-Item", 612, _3, _GR, True),
    ("SIP-Item-Number", 613, _3, _U32, True),
    ("Server-Assignment-Type", 614, _3, _EN, True),
    ("User-Authorization-Type", 623, _3, _EN, True),
    ("User-Data-Already-Available", 624, _3, _EN, True),
    ("Confidentiality-Key", 625, _3, _O, True),
    ("Integrity-Key", 626, _3, _O, True),
    ("UAR-Flags", 637, _3, _U32, False),
)

AVPS: dict[str, AvpDef] = {row[0]: AvpDef(*row) for row in _AVP_TABLE}
_BY_KEY: dict[tuple[int | None, int], AvpDef] = {(d.vendor_id, d.code): d for d in AVPS.values()}


@dataclass(frozen=True, slots=True)
class CommandDef:
    code: int
    request: str
    answer: str
    application_id: int
    proxiable: bool  # the PXY bit of the command's ABNF (RFC 6733 §3.2)


COMMANDS: tuple[CommandDef, ...] = (
    CommandDef(257, "CER", "CEA", BASE_APPLICATION_ID, False),  # RFC 6733 §5.3.1-2
    CommandDef(280, "DWR", "DWA", BASE_APPLICATION_ID, False),  # RFC 6733 §5.5.1-2
    CommandDef(282, "DPR", "DPA", BASE_APPLICATION_ID, False),  # RFC 6733 §5.4.1-2
    CommandDef(316, "ULR", "ULA", S6A_APPLICATION_ID, True),  # TS 29.272 §7.2.3-4
    CommandDef(317, "CLR", "CLA", S6A_APPLICATION_ID, True),  # TS 29.272 §7.2.7-8
    CommandDef(318, "AIR", "AIA", S6A_APPLICATION_ID, True),  # TS 29.272 §7.2.5-6
    CommandDef(319, "IDR", "IDA", S6A_APPLICATION_ID, True),  # TS 29.272 §7.2.9-10
    CommandDef(321, "PUR", "PUA", S6A_APPLICATION_ID, True),  # TS 29.272 §7.2.11-12
    # TS 29.212 Gx: CCR/CCA (RFC 4006 §3.1-2 with the Gx ABNF, TS 29.212 §5.6.2-3), RAR/RAA
    # (RFC 6733 §8.3.1-2, TS 29.212 §5.6.4-5); an Rx RAR is the same command with the Rx
    # Application-Id in its header
    CommandDef(272, "CCR", "CCA", GX_APPLICATION_ID, True),
    CommandDef(258, "RAR", "RAA", GX_APPLICATION_ID, True),
    # TS 29.214 Rx: AAR/AAA (§5.6.1-2), STR/STA (RFC 6733 §8.4.1-2, §5.6.5-6), ASR/ASA
    # (RFC 6733 §8.5.1-2, §5.6.7-8)
    CommandDef(265, "AAR", "AAA", RX_APPLICATION_ID, True),
    CommandDef(275, "STR", "STA", RX_APPLICATION_ID, True),
    CommandDef(274, "ASR", "ASA", RX_APPLICATION_ID, True),
    # TS 29.229 Cx: §6.1.1-6.1.8
    CommandDef(300, "UAR", "UAA", CX_APPLICATION_ID, True),
    CommandDef(301, "SAR", "SAA", CX_APPLICATION_ID, True),
    CommandDef(303, "MAR", "MAA", CX_APPLICATION_ID, True),
)
_CMD_BY_CODE = {c.code: c for c in COMMANDS}
_CMD_BY_NAME: dict[str, tuple[CommandDef, bool]] = {}
for _c in COMMANDS:
    _CMD_BY_NAME[_c.request] = (_c, True)
    _CMD_BY_NAME[_c.answer] = (_c, False)


def command_name(code: int, request: bool) -> str:
    cmd = _CMD_BY_CODE.get(code)
    if cmd is None:
        return f"CMD-{code}-{'R' if request else 'A'}"
    return cmd.request if request else cmd.answer


def _unknown_def(name: str) -> AvpDef | None:
    """'AVP-<code>' / 'AVP-<vendor>-<code>': an AVP outside the dictionary."""
    parts = name.split("-")
    if parts[0] != "AVP" or len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
        return None
    vendor = int(parts[1]) if len(parts) == 3 else None
    return AvpDef(name, int(parts[-1]), vendor, AvpType.OCTET_STRING, False)


def _unknown_name(vendor: int | None, code: int) -> str:
    return f"AVP-{code}" if vendor is None else f"AVP-{vendor}-{code}"


def avp_def(name: str) -> AvpDef:
    adef = AVPS.get(name) or _unknown_def(name)
    if adef is None:
        raise EncodeError(f"unknown AVP name {name!r}")
    return adef


# --------------------------------------------------------------------------------------------
# pycrate elements, one set per encode/decode call
# --------------------------------------------------------------------------------------------


class _Elements:
    """pycrate elements reused for every AVP of one message (cheap versus instantiation)."""

    __slots__ = ("avp", "hdr", "u32", "i32", "u64", "utf8", "addr")

    def __init__(self) -> None:
        self.avp = AVPGeneric()
        self.hdr = DiameterHdr()
        self.u32 = Unsigned32()
        self.i32 = Integer32()
        self.u64 = Unsigned64()
        self.utf8 = UTF8String()
        self.addr = Address()

    def int_elt(self, typ: AvpType) -> Element:
        if typ is AvpType.UNSIGNED64:
            return self.u64
        if typ is AvpType.INTEGER32 or typ is AvpType.ENUMERATED:
            return self.i32
        return self.u32  # Unsigned32, Time (RFC 6733 §4.3.1: NTP seconds, 4 octets)

    def avp_bytes(
        self, code: int, flags: int, vendor: int | None, data: bytes, length: int | None = None
    ) -> bytes:
        """One AVP, RFC 6733 §4.1; `length` overrides the AVP Length (Failed-AVP copies)."""
        avp = self.avp
        avp[0].set_val(
            [code, flags >> 7, (flags >> 6) & 1, (flags >> 5) & 1, flags & 0x1F, length, vendor or 0]
        )
        if (vendor is not None) != bool(flags & AVP_V):
            raise EncodeError(f"AVP {code}: V bit and Vendor-Id disagree")
        avp[1].set_val(data)
        return avp.to_bytes()

    def header_bytes(
        self, flags: int, code: int, app_id: int, hbh: int, e2e: int, length: int
    ) -> bytes:
        """RFC 6733 §3 header."""
        self.hdr.set_val(
            [VERSION, length, flags >> 7, (flags >> 6) & 1, (flags >> 5) & 1, (flags >> 4) & 1,
             flags & 0x0F, code, app_id, hbh, e2e]
        )
        return self.hdr.to_bytes()


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _iter_entries(avps: Any) -> Iterator[tuple[str, Any, int | None]]:
    """Entries from the wire-order list, or from a name-keyed dict (list value = repeated)."""
    if isinstance(avps, Mapping):
        for name, value in avps.items():
            values = value if isinstance(value, list) else [value]
            for v in values:
                yield name, v, None
        return
    for entry in avps:
        if isinstance(entry, bytes):
            yield "", entry, None
        elif len(entry) == 2:
            yield entry[0], entry[1], None
        elif len(entry) == 3:
            yield entry[0], entry[1], entry[2]
        else:
            raise EncodeError(f"AVP entry must be (name, value[, flags]), got {entry!r}")


class SharedGroup(list):  # type: ignore[type-arg]
    """The value of a grouped AVP that many messages carry alike (a subscription profile's
    APN-Configuration-Profile, TS 29.272 §7.3.34): its entries, read like any grouped value,
    and its octets once written (`wire`, kept by the fast encoder), so each further message
    copies them instead of writing the group again. It cannot be changed once built, which
    keeps those octets its own."""

    __slots__ = ("wire",)

    def __init__(self, entries: Iterable[Any] = ()) -> None:
        super().__init__(entries)
        self.wire: bytes | None = None

    def _frozen(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a SharedGroup is not changed once built; copy it with list()")

    append = extend = insert = pop = remove = clear = sort = reverse = _frozen
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _frozen

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle rebuild it from its entries
        return (SharedGroup, (list(self),))


class ShapedAvps(list):  # type: ignore[type-arg]
    """The AVPs of a message a builder made, with the shape it names: every message whose
    AVPs carry an equal `key` has the same octets but for the values of the AVPs `varying`
    names (as paths of indices through the nested lists, or as AVP names found anywhere
    outside a `SharedGroup`), whose lengths the key includes. So the fast encoder writes such
    a message from the octets of the first one of its shape (a template), patching those
    values in. Read like any list; changing it drops the key (its shape is then unknown), and
    a copy is a plain list."""

    __slots__ = ("key", "varying")

    def __init__(self, entries: Iterable[Any], key: Any,
                 varying: tuple[tuple[int, ...], ...] | frozenset[str]) -> None:
        super().__init__(entries)
        self.key: Any = key
        self.varying = varying

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle give a plain list
        return (list, (list(self),))


def _dropping_key(method: Any) -> Any:
    def changed(self: ShapedAvps, *args: Any, **kwargs: Any) -> Any:
        self.key = None
        return method(self, *args, **kwargs)
    changed.__name__ = method.__name__
    return changed


for _name in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
              "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(ShapedAvps, _name, _dropping_key(getattr(list, _name)))
del _name


def _encode_value(elts: _Elements, adef: AvpDef, value: Any) -> bytes:
    typ = adef.type
    if typ is AvpType.GROUPED:
        if isinstance(value, bytes | bytearray):
            return bytes(value)  # Failed-AVP content kept raw by decode
        return _encode_avps(elts, value)
    if typ in _INT_TYPES:
        elt = elts.int_elt(typ)
        elt.set_val(int(value))
        return elt.to_bytes()
    if typ in _TEXT_TYPES:
        if not isinstance(value, str):
            raise EncodeError(f"{adef.name}: expected str, got {type(value).__name__}")
        if typ is AvpType.DIAMETER_IDENTITY:
            return value.encode("ascii")  # RFC 6733 §4.3.1: an FQDN or realm in ASCII
        elts.utf8.set_val(value)
        return elts.utf8.to_bytes()
    if typ is AvpType.ADDRESS and isinstance(value, str):
        ip = ipaddress.ip_address(value)
        elts.addr.set_val((1 if ip.version == 4 else 2, ip.packed))  # IANA address family
        return elts.addr.to_bytes()
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    raise EncodeError(f"{adef.name}: expected bytes, got {type(value).__name__}")


def _encode_avps(elts: _Elements, avps: Any) -> bytes:
    out = []
    for name, value, flags in _iter_entries(avps):
        if not name:
            out.append(value)  # an AVP already encoded (Failed-AVP content, RFC 6733 §7.5)
            continue
        adef = avp_def(name)
        data = _encode_value(elts, adef, value)
        out.append(elts.avp_bytes(adef.code, adef.flags if flags is None else flags,
                                  adef.vendor_id, data))
    return b"".join(out)


def _header_flags(msg: Message) -> int:
    known = _CMD_BY_NAME.get(msg.name)
    flags = msg.fields.get("flags")
    if flags is None:
        if known is None:
            raise EncodeError(f"{msg.name}: flags are required for an unknown command")
        cmd, request = known
        return (FLAG_R if request else 0) | (FLAG_P if cmd.proxiable else 0)
    value = (
        (FLAG_R if flags.get("request") else 0)
        | (FLAG_P if flags.get("proxiable") else 0)
        | (FLAG_E if flags.get("error") else 0)
        | (FLAG_T if flags.get("retransmit") else 0)
        | (int(flags.get("reserved", 0)) & 0x0F)
    )
    if known is not None and known[1] != bool(value & FLAG_R):
        raise EncodeError(f"{msg.name}: R bit disagrees with the command name")
    return value


def encode(msg: Message) -> bytes:
    """Message -> bytes (RFC 6733 §3 header + §4 AVPs)."""
    return _fast.encode_or(encode_pycrate, msg)


def encode_pycrate(msg: Message) -> bytes:
    """`encode` by pycrate alone: the reference the fast path is proven against."""
    if msg.protocol != PROTOCOL:
        raise EncodeError(f"not a diameter message: {msg.protocol}")
    known = _CMD_BY_NAME.get(msg.name)
    if known is not None and known[0].code != msg.code:
        raise EncodeError(f"{msg.name} has command code {known[0].code}, not {msg.code}")
    f = msg.fields
    app_id = f.get("application_id", known[0].application_id if known else 0)
    elts = _Elements()
    try:
        body = _encode_avps(elts, f.get("avps", ()))
        head = elts.header_bytes(_header_flags(msg), msg.code, app_id, f.get("hop_by_hop", 0),
                                 f.get("end_to_end", 0), HEADER_LEN + len(body))
    except EncodeError:
        raise
    except Exception as exc:  # pycrate range/type errors on our own values
        raise EncodeError(f"{msg.name}: {exc}") from exc
    return head + body


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Header:
    flags: int
    code: int
    application_id: int
    hop_by_hop: int
    end_to_end: int
    length: int

    def extra(self) -> dict[str, Any]:
        return {
            "command_code": self.code,
            "request": bool(self.flags & FLAG_R),
            "proxiable": bool(self.flags & FLAG_P),
            "application_id": self.application_id,
            "hop_by_hop": self.hop_by_hop,
            "end_to_end": self.end_to_end,
        }


def _partial_extra(data: bytes) -> dict[str, Any]:
    """Whatever header fields the bytes hold (RFC 6733 §3 offsets), for an answer."""
    extra: dict[str, Any] = {}
    if len(data) >= 5:
        extra["request"] = bool(data[4] & FLAG_R)
        extra["proxiable"] = bool(data[4] & FLAG_P)
    if len(data) >= 8:
        extra["command_code"] = int.from_bytes(data[5:8], "big")
    if len(data) >= 12:
        extra["application_id"] = int.from_bytes(data[8:12], "big")
    if len(data) >= 16:
        extra["hop_by_hop"] = int.from_bytes(data[12:16], "big")
    if len(data) >= 20:
        extra["end_to_end"] = int.from_bytes(data[16:20], "big")
    return extra


def message_length(header: bytes) -> int:
    """Message Length from the first 4 octets (RFC 6733 §3), for framing over TCP."""
    if len(header) < 4:
        raise DecodeError(PROTOCOL, ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
                          "fewer than 4 octets of header")
    if header[0] != VERSION:
        raise DecodeError(PROTOCOL, ResultCode.DIAMETER_UNSUPPORTED_VERSION,
                          f"version {header[0]}", **_partial_extra(header))
    length = int.from_bytes(header[1:4], "big")
    if length < HEADER_LEN or length % 4:
        raise DecodeError(PROTOCOL, ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
                          f"message length {length}", **_partial_extra(header))
    return length


def _read_header(data: bytes, elts: _Elements) -> _Header:
    length = message_length(data)
    if length != len(data):
        raise DecodeError(PROTOCOL, ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
                          f"message length {length} but {len(data)} octets",
                          **_partial_extra(data))
    elts.hdr.from_bytes(data[:HEADER_LEN])
    v = elts.hdr.get_val()
    flags = (v[2] << 7) | (v[3] << 6) | (v[4] << 5) | (v[5] << 4) | v[6]
    hdr = _Header(flags, v[7], v[8], v[9], v[10], v[1])
    # RFC 6733 §3: the E bit MUST NOT be set in requests; PXY as the command ABNF says (§7.1.3)
    cmd = _CMD_BY_CODE.get(hdr.code)
    if flags & FLAG_R and (
        flags & FLAG_E or (cmd is not None and bool(flags & FLAG_P) != cmd.proxiable)
    ):
        raise DecodeError(PROTOCOL, ResultCode.DIAMETER_INVALID_HDR_BITS,
                          f"invalid command flags 0x{flags:02x}", **hdr.extra())
    return hdr


class _AvpFault(Exception):
    """Internal: an AVP failed; carries the Result-Code and the Failed-AVP content."""

    def __init__(self, cause: int, detail: str, failed_avp: bytes) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail
        self.failed_avp = failed_avp


def _zero_payload(adef: AvpDef | None) -> bytes:
    """RFC 6733 §7.5: the minimum payload of the data type, zero-filled."""
    if adef is None:
        return b""
    if adef.type is AvpType.ADDRESS:
        return bytes(6)
    return bytes(_FIXED_LEN.get(adef.type, 0))


MAX_GROUPED_DEPTH = 16  # deeper nesting than any TS 29.272 grouped AVP is refused


def _decode_avps(
    elts: _Elements, data: bytes, strict: bool, depth: int = 0
) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    pos, end = 0, len(data)
    while pos < end:
        out.append(_decode_one(elts, data, pos, strict, depth))
        pos += (int.from_bytes(data[pos + 5:pos + 8], "big") + 3) & ~3
    return out


def _decode_one(
    elts: _Elements, data: bytes, pos: int, strict: bool, depth: int
) -> tuple[Any, ...]:
    end = len(data)
    if end - pos < 8:
        # RFC 6733 §7.1.5: pad an incomplete header with zeros to the minimum header length
        raw = data[pos:end] + bytes(8 - (end - pos))
        raise _AvpFault(ResultCode.DIAMETER_INVALID_AVP_LENGTH, "truncated AVP header",
                        _failed_header(elts, raw))
    code = int.from_bytes(data[pos:pos + 4], "big")
    flags = data[pos + 4]
    length = int.from_bytes(data[pos + 5:pos + 8], "big")
    hlen = 12 if flags & AVP_V else 8
    vendor = int.from_bytes(data[pos + 8:pos + 12], "big") if hlen == 12 and end - pos >= 12 else None
    adef = _BY_KEY.get((vendor, code))
    padded = (length + 3) & ~3
    if length < hlen or end - pos < hlen or pos + padded > end:
        # RFC 6733 §7.1.5: the offending header and a zero payload of the minimum length
        raw = (data[pos:pos + hlen] + bytes(hlen))[:hlen]
        raise _AvpFault(ResultCode.DIAMETER_INVALID_AVP_LENGTH,
                        f"AVP {code} length {length} invalid",
                        _failed_header(elts, raw, _zero_payload(adef)))
    wire = data[pos:pos + padded]
    fixed = _FIXED_LEN.get(adef.type) if adef is not None else None
    if fixed is not None and length - hlen != fixed:
        raise _AvpFault(ResultCode.DIAMETER_INVALID_AVP_LENGTH,
                        f"{adef.name} has {length - hlen} octets, not {fixed}", wire)  # type: ignore[union-attr]
    try:
        elts.avp.from_bytes(wire)
        payload = elts.avp[1].get_val()
    except Exception as exc:
        raise _AvpFault(ResultCode.DIAMETER_INVALID_AVP_LENGTH, f"AVP {code}: {exc}",
                        wire) from exc
    if adef is None:
        if strict and flags & AVP_M:
            # RFC 6733 §4.1: an unrecognized AVP with the M bit set must be rejected (5001)
            raise _AvpFault(ResultCode.DIAMETER_AVP_UNSUPPORTED,
                            f"unsupported mandatory AVP {code} (vendor {vendor})", wire)
        name = _unknown_name(vendor, code)
        return (name, payload) if flags == (AVP_V if vendor is not None else 0) else (
            name, payload, flags)
    value = _decode_value(elts, adef, payload, wire, strict, depth)
    return (adef.name, value) if flags == adef.flags else (adef.name, value, flags)


def _failed_header(elts: _Elements, raw_header: bytes, payload: bytes = b"") -> bytes:
    """Failed-AVP content for a length fault: the header as received, via pycrate."""
    code = int.from_bytes(raw_header[0:4], "big")
    flags = raw_header[4]
    length = int.from_bytes(raw_header[5:8], "big")
    vendor = int.from_bytes(raw_header[8:12], "big") if flags & AVP_V else None
    return elts.avp_bytes(code, flags, vendor, payload, length=length)


def _decode_value(
    elts: _Elements, adef: AvpDef, payload: bytes, wire: bytes, strict: bool, depth: int
) -> Any:
    typ = adef.type
    try:
        if typ is AvpType.GROUPED:
            if depth >= MAX_GROUPED_DEPTH:
                raise ValueError(f"grouped AVPs nested deeper than {MAX_GROUPED_DEPTH}")
            if adef.code == 279:
                return _decode_failed_avp(elts, payload, depth + 1)
            return _decode_avps(elts, payload, strict, depth + 1)
        if typ in _INT_TYPES:
            elt = elts.int_elt(typ)
            elt.from_bytes(payload)
            return elt.get_val()
        if typ is AvpType.DIAMETER_IDENTITY:
            return payload.decode("ascii")  # RFC 6733 §4.3.1
        if typ in _TEXT_TYPES:
            elts.utf8.from_bytes(payload)
            return elts.utf8.get_val()
        if typ is AvpType.ADDRESS:
            return _decode_address(elts, payload)
        return payload
    except _AvpFault:
        raise
    except Exception as exc:
        # RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_VALUE, with the AVP in Failed-AVP
        raise _AvpFault(ResultCode.DIAMETER_INVALID_AVP_VALUE,
                        f"{adef.name}: invalid value ({exc})", wire) from exc


def _decode_failed_avp(
    elts: _Elements, payload: bytes, depth: int
) -> list[tuple[Any, ...]] | bytes:
    """Failed-AVP may hold an AVP with the very length fault it reports (RFC 6733 §7.1.5):
    its content stays raw bytes when it does not parse."""
    try:
        return _decode_avps(elts, payload, False, depth)
    except _AvpFault:
        return payload


def _decode_address(elts: _Elements, payload: bytes) -> str | bytes:
    if len(payload) < 2:
        raise ValueError("Address shorter than its 2-octet family")
    elts.addr.from_bytes(payload)
    family, raw = elts.addr.get_val()
    if family == 1:
        return str(ipaddress.IPv4Address(raw))  # raises on a wrong length
    if family == 2:
        return str(ipaddress.IPv6Address(raw))
    return payload


def _session_id_of(data: bytes) -> str | None:
    """RFC 6733 §8.8: Session-Id is the first AVP; read it even from a damaged message."""
    if len(data) < HEADER_LEN + 8 or int.from_bytes(data[20:24], "big") != 263:
        return None
    length = int.from_bytes(data[25:28], "big")
    if data[24] & AVP_V or length < 8 or HEADER_LEN + length > len(data):
        return None
    try:
        return data[28:HEADER_LEN + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode(data: bytes, *, strict: bool = True) -> Message:
    """bytes -> Message; raises only DecodeError carrying the Result-Code to answer with.

    strict=False keeps unknown AVPs with the M bit (a relay agent forwards them, RFC 6733 §6.1.8).
    """
    return _fast.decode_or(decode_pycrate, data, strict=strict)


# the fast path's decode that also tells whether the message needs no ABNF check
# (`check_mandatory`): an answer, or a request known to pass it; None to decline. Installed by
# corenet.codecs.fast.diameter, as the NAS security header's fast path is (its own protocol key)
CHECKED_DECODE = "diameter-checked-decode"
_fast_checked = fast_path(CHECKED_DECODE)


def decode_checked(data: bytes) -> Message:
    """`decode`, then for a request the ABNF check of `check_mandatory` (RFC 6733 §7.1.5,
    DIAMETER_MISSING_AVP): what a Diameter node does with each message it receives. A request
    the fast path reads from a decode template has the AVPs of the template's, in the same
    groups, so the template's check answers for it."""
    msg, checked = _fast_checked.decode_or(_unchecked_pycrate, data)
    if not checked and msg.fields["flags"]["request"]:
        check_mandatory(msg)
    return msg


def _unchecked_pycrate(data: bytes) -> tuple[Message, bool]:
    return decode_pycrate(data), False


def decode_pycrate(data: bytes, *, strict: bool = True) -> Message:
    """`decode` by pycrate alone: the reference the fast path is proven against."""
    data = bytes(data)
    elts = _Elements()
    hdr = _read_header(data, elts)
    try:
        avps = _decode_avps(elts, data[HEADER_LEN:], strict)
    except _AvpFault as fault:
        extra = hdr.extra()
        sid = _session_id_of(data)
        if sid is not None:
            extra["session_id"] = sid
        raise DecodeError(PROTOCOL, int(fault.cause), fault.detail,
                          failed_avp=fault.failed_avp, **extra) from None
    except Exception as exc:  # defensive: nothing but DecodeError leaves a decoder
        raise DecodeError(PROTOCOL, int(ResultCode.DIAMETER_UNABLE_TO_COMPLY), str(exc),
                          **hdr.extra()) from None
    flags: dict[str, Any] = {
        "request": bool(hdr.flags & FLAG_R),
        "proxiable": bool(hdr.flags & FLAG_P),
        "error": bool(hdr.flags & FLAG_E),
        "retransmit": bool(hdr.flags & FLAG_T),
    }
    if hdr.flags & 0x0F:
        flags["reserved"] = hdr.flags & 0x0F
    return Message(
        PROTOCOL,
        command_name(hdr.code, flags["request"]),
        hdr.code,
        {
            "flags": flags,
            "application_id": hdr.application_id,
            "hop_by_hop": hdr.hop_by_hop,
            "end_to_end": hdr.end_to_end,
            "avps": avps,
        },
    )


class DiameterCodec:
    """corenet.codecs.base.Codec for Diameter."""

    protocol = PROTOCOL

    def encode(self, msg: Message) -> bytes:
        return encode(msg)

    def decode(self, data: bytes) -> Message:
        return decode(data)


# --------------------------------------------------------------------------------------------
# Reading AVPs
# --------------------------------------------------------------------------------------------


def _entries_of(container: Message | Iterable[Any]) -> Iterable[Any]:
    if isinstance(container, Message):
        return container.fields.get("avps", ())
    return container


def avp_all(container: Message | Iterable[Any], *path: str) -> list[Any]:
    """Every value at `path` (names through grouped AVPs), in wire order."""
    level: list[Any] = [_entries_of(container)]
    for depth, name in enumerate(path):
        found = [e[1] for entries in level for e in entries if e[0] == name]
        if depth == len(path) - 1:
            return found
        level = [f for f in found if isinstance(f, list)]
    return []


def avp(container: Message | Iterable[Any], *path: str, default: Any = None) -> Any:
    """The first value at `path`, e.g. avp(msg, "Experimental-Result", "Experimental-Result-Code")."""
    entries = container.fields.get("avps", ()) if isinstance(container, Message) else container
    if len(path) == 1:
        name = path[0]
        for e in entries:
            if e[0] == name:
                return e[1]
        return default
    found = _first(entries, path, 0) if path else _ABSENT
    return default if found is _ABSENT else found


_ABSENT = object()


def _first(entries: Iterable[Any], path: tuple[str, ...], depth: int) -> Any:
    """The first value at `path[depth:]` in wire order (the first of `avp_all`), or _ABSENT."""
    name, last = path[depth], depth == len(path) - 1
    for e in entries:
        if e[0] != name:
            continue
        if last:
            return e[1]
        if isinstance(e[1], list):
            found = _first(e[1], path, depth + 1)
            if found is not _ABSENT:
                return found
    return _ABSENT


def first_values(container: Message | Iterable[Any]) -> dict[str, Any]:
    """The first value of each AVP name (what `avp` reads for that name), in one pass over the
    entries: for a reader that asks for many of them."""
    first: dict[str, Any] = {}
    for entry in _entries_of(container):
        first.setdefault(entry[0], entry[1])
    return first


def avps_dict(container: Message | Iterable[Any]) -> dict[str, Any]:
    """Nested dict: a name seen once maps to its value, a repeated name to a list of values."""
    out: dict[str, Any] = {}
    for entry in _entries_of(container):
        name, value = entry[0], entry[1]
        if isinstance(value, list):
            value = avps_dict(value)
        if name in out:
            prev = out[name]
            if isinstance(prev, _Repeated):
                prev.append(value)
            else:
                out[name] = _Repeated([prev, value])
        else:
            out[name] = value
    return {k: list(v) if isinstance(v, _Repeated) else v for k, v in out.items()}


class _Repeated(list):  # type: ignore[type-arg]
    """Marks a list built from repeated AVPs (a value may itself be a list)."""


# --------------------------------------------------------------------------------------------
# Validation and error answers
# --------------------------------------------------------------------------------------------

_ORIGIN = ("Origin-Host", "Origin-Realm")
_S6A_REQ = ("Session-Id", "Auth-Session-State", *_ORIGIN)
_RESULT = "Result-Code|Experimental-Result"  # TS 29.272 §7.2: one of the two
_CX_REQ = ("Session-Id", "Vendor-Specific-Application-Id", "Auth-Session-State", *_ORIGIN)

# Required ({ } / < >) AVPs of each command's ABNF.
MANDATORY: dict[str, tuple[str, ...]] = {
    # RFC 6733 §5.3.1-2, §5.5.1-2, §5.4.1-2
    "CER": (*_ORIGIN, "Host-IP-Address", "Vendor-Id", "Product-Name"),
    "CEA": ("Result-Code", *_ORIGIN, "Host-IP-Address", "Vendor-Id", "Product-Name"),
    "DWR": _ORIGIN,
    "DWA": ("Result-Code", *_ORIGIN),
    "DPR": (*_ORIGIN, "Disconnect-Cause"),
    "DPA": ("Result-Code", *_ORIGIN),
    # TS 29.272 §7.2.3-12
    "ULR": (*_S6A_REQ, "Destination-Realm", "User-Name", "RAT-Type", "ULR-Flags",
            "Visited-PLMN-Id"),
    "ULA": (*_S6A_REQ, _RESULT),
    "AIR": (*_S6A_REQ, "Destination-Realm", "User-Name", "Visited-PLMN-Id"),
    "AIA": (*_S6A_REQ, _RESULT),
    "CLR": (*_S6A_REQ, "Destination-Host", "Destination-Realm", "User-Name",
            "Cancellation-Type"),
    "CLA": (*_S6A_REQ, _RESULT),
    "IDR": (*_S6A_REQ, "Destination-Host", "Destination-Realm", "User-Name",
            "Subscription-Data"),
    "IDA": (*_S6A_REQ, _RESULT),
    "PUR": (*_S6A_REQ, "Destination-Realm", "User-Name"),
    "PUA": (*_S6A_REQ, _RESULT),
    # TS 29.212 Gx §5.6.2-5
    "CCR": ("Session-Id", "Auth-Application-Id", *_ORIGIN, "Destination-Realm",
            "CC-Request-Type", "CC-Request-Number"),
    "CCA": ("Session-Id", "Auth-Application-Id", *_ORIGIN, "CC-Request-Type",
            "CC-Request-Number"),
    "RAR": ("Session-Id", "Auth-Application-Id", *_ORIGIN, "Destination-Realm",
            "Destination-Host", "Re-Auth-Request-Type"),
    "RAA": ("Session-Id", *_ORIGIN),
    # TS 29.214 Rx §5.6.1-8
    "AAR": ("Session-Id", "Auth-Application-Id", *_ORIGIN, "Destination-Realm"),
    "AAA": ("Session-Id", "Auth-Application-Id", *_ORIGIN),
    "STR": ("Session-Id", "Auth-Application-Id", *_ORIGIN, "Destination-Realm",
            "Termination-Cause"),
    "STA": ("Session-Id", *_ORIGIN),
    "ASR": ("Session-Id", "Auth-Application-Id", *_ORIGIN, "Destination-Realm",
            "Destination-Host", "Abort-Cause"),
    "ASA": ("Session-Id", *_ORIGIN),
    # TS 29.229 Cx: §6.1.1-6.1.4, §6.1.7-6.1.8
    "UAR": (*_CX_REQ, "Destination-Realm", "User-Name", "Public-Identity",
            "Visited-Network-Identifier"),
    "UAA": (*_CX_REQ, _RESULT),
    "MAR": (*_CX_REQ, "Destination-Realm", "User-Name", "Public-Identity",
            "SIP-Number-Auth-Items", "SIP-Auth-Data-Item", "Server-Name"),
    "MAA": (*_CX_REQ, _RESULT),
    "SAR": (*_CX_REQ, "Destination-Realm", "Server-Name", "Server-Assignment-Type",
            "User-Data-Already-Available"),
    "SAA": (*_CX_REQ, _RESULT),
}

# Required members of grouped AVPs.
MANDATORY_GROUPED: dict[str, tuple[str, ...]] = {
    "Vendor-Specific-Application-Id": ("Vendor-Id",),  # RFC 6733 §6.11
    "Experimental-Result": ("Vendor-Id", "Experimental-Result-Code"),  # RFC 6733 §7.6
    "Proxy-Info": ("Proxy-Host", "Proxy-State"),  # RFC 6733 §6.7.2
    "Supported-Features": ("Vendor-Id", "Feature-List-ID", "Feature-List"),  # TS 29.229 §6.3.29
    "E-UTRAN-Vector": ("RAND", "XRES", "AUTN", "KASME"),  # TS 29.272 §7.3.18
    "AMBR": ("Max-Requested-Bandwidth-UL", "Max-Requested-Bandwidth-DL"),  # TS 29.272 §7.3.41
    "APN-Configuration-Profile": (  # TS 29.272 §7.3.34
        "Context-Identifier", "All-APN-Configurations-Included-Indicator", "APN-Configuration"),
    "APN-Configuration": ("Context-Identifier", "PDN-Type", "Service-Selection"),  # §7.3.35
    "EPS-Subscribed-QoS-Profile": (  # TS 29.272 §7.3.37
        "QoS-Class-Identifier", "Allocation-Retention-Priority"),
    "Allocation-Retention-Priority": ("Priority-Level",),  # TS 29.212 §5.3.32
    "OC-OLR": ("OC-Sequence-Number", "OC-Report-Type"),  # RFC 7683 §7.3
    # TS 29.212 Gx / TS 29.214 Rx
    "Subscription-Id": ("Subscription-Id-Type", "Subscription-Id-Data"),  # RFC 4006 §8.46
    "User-Equipment-Info": (  # RFC 4006 §8.49
        "User-Equipment-Info-Type", "User-Equipment-Info-Value"),
    "Charging-Rule-Definition": ("Charging-Rule-Name",),  # TS 29.212 §5.3.4
    "Media-Component-Description": ("Media-Component-Number",),  # TS 29.214 §5.3.8
    "Media-Sub-Component": ("Flow-Number",),  # TS 29.214 §5.3.11
}


def missing_avp_bytes(name: str) -> bytes:
    """RFC 6733 §7.5 / §7.1.5 (5005): the missing AVP with a zero payload of minimum length."""
    adef = avp_def(name)
    return _Elements().avp_bytes(adef.code, adef.flags, adef.vendor_id, _zero_payload(adef))


def _missing(msg: Message, name: str, where: str) -> DecodeError:
    f = msg.fields
    flags = f.get("flags", {})
    return DecodeError(
        PROTOCOL, int(ResultCode.DIAMETER_MISSING_AVP), f"{where} lacks {name}",
        failed_avp=missing_avp_bytes(name), missing_avp=name, command_code=msg.code,
        request=bool(flags.get("request")), proxiable=bool(flags.get("proxiable")),
        application_id=f.get("application_id"), hop_by_hop=f.get("hop_by_hop"),
        end_to_end=f.get("end_to_end"), session_id=avp(msg, "Session-Id"),
    )


# MANDATORY with each "A|B" choice split once
_MANDATORY_CHOICES: dict[str, tuple[tuple[str, ...], ...]] = {
    name: tuple(tuple(req.split("|")) for req in reqs) for name, reqs in MANDATORY.items()}


def _check_grouped(msg: Message, entries: Iterable[Any]) -> None:
    for entry in entries:
        value = entry[1]
        if not isinstance(value, list):
            continue
        required = MANDATORY_GROUPED.get(entry[0])
        if required is not None:
            names = {e[0] for e in value}
            for req in required:
                if req not in names:
                    raise _missing(msg, req, entry[0])
        _check_grouped(msg, value)


def check_mandatory(msg: Message) -> None:
    """Raise DecodeError 5005 (with Failed-AVP) when a required AVP is absent."""
    entries = list(_entries_of(msg))
    names = {e[0] for e in entries}
    for alternatives in _MANDATORY_CHOICES.get(msg.name, ()):
        if len(alternatives) == 1:
            if alternatives[0] not in names:
                raise _missing(msg, alternatives[0], msg.name)
        elif names.isdisjoint(alternatives):
            raise _missing(msg, alternatives[0], msg.name)
    _check_grouped(msg, entries)


def answer_header(request: Message) -> dict[str, Any]:
    """Answer header fields from a request, RFC 6733 §6.2: same HbH, E2E, application, PXY."""
    f = request.fields
    return {
        "flags": {"request": False, "proxiable": bool(f.get("flags", {}).get("proxiable")),
                  "error": False, "retransmit": False},
        "application_id": f.get("application_id", 0),
        "hop_by_hop": f.get("hop_by_hop", 0),
        "end_to_end": f.get("end_to_end", 0),
    }


def error_answer(
    request_header: bytes | Message,
    result_code: int,
    origin_host: str,
    origin_realm: str,
    failed_avp: bytes | None = None,
    error_message: str | None = None,
) -> bytes:
    """`error_answer_message`, encoded."""
    return encode(error_answer_message(request_header, result_code, origin_host, origin_realm,
                                       failed_avp, error_message))


def error_answer_message(
    request_header: bytes | Message,
    result_code: int,
    origin_host: str,
    origin_realm: str,
    failed_avp: bytes | None = None,
    error_message: str | None = None,
) -> Message:
    """An answer reporting `result_code` (RFC 6733 §7.2 answer-message).

    The E bit is set for protocol errors (3xxx, §7.1.3); Failed-AVP (§7.5) wraps the offending
    AVP. Works from the raw request (only its 20-octet header need be intact) or a Message.
    """
    if isinstance(request_header, Message):
        req = request_header
        code, app_id = req.code, req.fields.get("application_id", 0)
        hbh, e2e = req.fields.get("hop_by_hop", 0), req.fields.get("end_to_end", 0)
        proxiable = bool(req.fields.get("flags", {}).get("proxiable"))
        session_id = avp(req, "Session-Id")
        proxy_infos = avp_all(req, "Proxy-Info")
    else:
        raw = bytes(request_header)
        if len(raw) < HEADER_LEN:
            raise EncodeError("an answer needs the request's 20-octet header")
        extra = _partial_extra(raw)
        code, app_id = extra["command_code"], extra["application_id"]
        hbh, e2e, proxiable = extra["hop_by_hop"], extra["end_to_end"], extra["proxiable"]
        session_id, proxy_infos = _session_id_of(raw), []
    avps: list[tuple[Any, ...]] = []
    if session_id is not None:
        avps.append(("Session-Id", session_id))  # RFC 6733 §6.2
    protocol_error = 3000 <= result_code < 4000
    if app_id == S6A_APPLICATION_ID and not protocol_error:
        avps.append(("Auth-Session-State", AUTH_SESSION_STATE_NO_STATE_MAINTAINED))
    avps += [("Origin-Host", origin_host), ("Origin-Realm", origin_realm),
             ("Result-Code", int(result_code))]
    if error_message is not None:
        avps.append(("Error-Message", error_message))
    if failed_avp is not None:
        avps.append(("Failed-AVP", [bytes(failed_avp)]))
    avps += [("Proxy-Info", p) for p in proxy_infos]  # RFC 6733 §6.2: copied unchanged
    return Message(PROTOCOL, command_name(code, False), code, {
        "flags": {"request": False, "proxiable": proxiable, "error": protocol_error,
                  "retransmit": False},
        "application_id": app_id, "hop_by_hop": hbh, "end_to_end": e2e, "avps": avps,
    })



# --------------------------------------------------------------------------------------------
# Base protocol messages (RFC 6733 §5)
# --------------------------------------------------------------------------------------------


def session_id(origin_host: str, high: int, low: int, optional: str | None = None) -> str:
    """RFC 6733 §8.8: <DiameterIdentity>;<high 32 bits>;<low 32 bits>[;<optional value>]."""
    sid = f"{origin_host};{high & 0xFFFFFFFF};{low & 0xFFFFFFFF}"
    return sid if optional is None else f"{sid};{optional}"


def request_message(name: str, avps: list[tuple[Any, ...]], hop_by_hop: int, end_to_end: int) -> Message:
    """A request of a command in `COMMANDS`, header flags per its ABNF (RFC 6733 §3.2)."""
    cmd, _ = _CMD_BY_NAME[name]
    return Message(PROTOCOL, name, cmd.code, {
        "flags": {"request": True, "proxiable": cmd.proxiable, "error": False,
                  "retransmit": False},
        "application_id": cmd.application_id,
        "hop_by_hop": hop_by_hop,
        "end_to_end": end_to_end,
        "avps": avps,
    })


def answer_message(request: Message, avps: list[tuple[Any, ...]]) -> Message:
    """The answer to `request`: same HbH, E2E, application and PXY bit (RFC 6733 §6.2)."""
    cmd, is_request = _CMD_BY_NAME[request.name]
    if not is_request:
        raise EncodeError(f"{request.name} is not a request")
    return Message(PROTOCOL, cmd.answer, cmd.code, {**answer_header(request), "avps": avps})


def _capabilities(
    host_ip_addresses: Iterable[str],
    vendor_id: int,
    product_name: str,
    origin_state_id: int | None,
    supported_vendor_ids: Iterable[int],
    auth_application_ids: Iterable[int],
    vendor_specific_application_ids: Iterable[tuple[int, int]],
    firmware_revision: int | None,
) -> list[tuple[Any, ...]]:
    """The capability AVPs common to CER and CEA, in the RFC 6733 §5.3.1 order."""
    avps: list[tuple[Any, ...]] = [("Host-IP-Address", ip) for ip in host_ip_addresses]
    avps += [("Vendor-Id", vendor_id), ("Product-Name", product_name)]
    if origin_state_id is not None:
        avps.append(("Origin-State-Id", origin_state_id))
    avps += [("Supported-Vendor-Id", v) for v in supported_vendor_ids]
    avps += [("Auth-Application-Id", a) for a in auth_application_ids]
    avps += [
        ("Vendor-Specific-Application-Id", [("Vendor-Id", v), ("Auth-Application-Id", a)])
        for v, a in vendor_specific_application_ids
    ]
    if firmware_revision is not None:
        avps.append(("Firmware-Revision", firmware_revision))
    return avps


def cer(
    origin_host: str,
    origin_realm: str,
    host_ip_addresses: Iterable[str],
    *,
    hop_by_hop: int,
    end_to_end: int,
    vendor_id: int = 0,
    product_name: str = "corenet",
    origin_state_id: int | None = None,
    supported_vendor_ids: Iterable[int] = (VENDOR_3GPP,),
    auth_application_ids: Iterable[int] = (),
    vendor_specific_application_ids: Iterable[tuple[int, int]] = (
        (VENDOR_3GPP, S6A_APPLICATION_ID),),
    firmware_revision: int | None = None,
) -> Message:
    """Capabilities-Exchange-Request, RFC 6733 §5.3.1."""
    avps: list[tuple[Any, ...]] = [("Origin-Host", origin_host), ("Origin-Realm", origin_realm)]
    avps += _capabilities(host_ip_addresses, vendor_id, product_name, origin_state_id,
                          supported_vendor_ids, auth_application_ids,
                          vendor_specific_application_ids, firmware_revision)
    return request_message("CER", avps, hop_by_hop, end_to_end)


def cea(
    request: Message,
    origin_host: str,
    origin_realm: str,
    host_ip_addresses: Iterable[str],
    *,
    result_code: int = ResultCode.DIAMETER_SUCCESS,
    vendor_id: int = 0,
    product_name: str = "corenet",
    origin_state_id: int | None = None,
    error_message: str | None = None,
    supported_vendor_ids: Iterable[int] = (VENDOR_3GPP,),
    auth_application_ids: Iterable[int] = (),
    vendor_specific_application_ids: Iterable[tuple[int, int]] = (
        (VENDOR_3GPP, S6A_APPLICATION_ID),),
    firmware_revision: int | None = None,
) -> Message:
    """Capabilities-Exchange-Answer, RFC 6733 §5.3.2."""
    avps: list[tuple[Any, ...]] = [("Result-Code", int(result_code)),
                                   ("Origin-Host", origin_host), ("Origin-Realm", origin_realm)]
    caps = _capabilities(host_ip_addresses, vendor_id, product_name, origin_state_id,
                         supported_vendor_ids, auth_application_ids,
                         vendor_specific_application_ids, firmware_revision)
    if error_message is not None:
        # §5.3.2 places Error-Message after Origin-State-Id
        split = sum(1 for a in caps if a[0] in ("Host-IP-Address", "Vendor-Id", "Product-Name",
                                                 "Origin-State-Id"))
        caps.insert(split, ("Error-Message", error_message))
    return answer_message(request, avps + caps)


def dwr(
    origin_host: str, origin_realm: str, *, hop_by_hop: int, end_to_end: int,
    origin_state_id: int | None = None,
) -> Message:
    """Device-Watchdog-Request, RFC 6733 §5.5.1."""
    avps: list[tuple[Any, ...]] = [("Origin-Host", origin_host), ("Origin-Realm", origin_realm)]
    if origin_state_id is not None:
        avps.append(("Origin-State-Id", origin_state_id))
    return request_message("DWR", avps, hop_by_hop, end_to_end)


def dwa(
    request: Message, origin_host: str, origin_realm: str, *,
    result_code: int = ResultCode.DIAMETER_SUCCESS, origin_state_id: int | None = None,
) -> Message:
    """Device-Watchdog-Answer, RFC 6733 §5.5.2."""
    avps: list[tuple[Any, ...]] = [("Result-Code", int(result_code)),
                                   ("Origin-Host", origin_host), ("Origin-Realm", origin_realm)]
    if origin_state_id is not None:
        avps.append(("Origin-State-Id", origin_state_id))
    return answer_message(request, avps)


def dpr(
    origin_host: str, origin_realm: str, *, hop_by_hop: int, end_to_end: int,
    disconnect_cause: int = DisconnectCause.DO_NOT_WANT_TO_TALK_TO_YOU,
) -> Message:
    """Disconnect-Peer-Request, RFC 6733 §5.4.1."""
    return request_message("DPR", [("Origin-Host", origin_host), ("Origin-Realm", origin_realm),
                            ("Disconnect-Cause", int(disconnect_cause))], hop_by_hop, end_to_end)


def dpa(
    request: Message, origin_host: str, origin_realm: str, *,
    result_code: int = ResultCode.DIAMETER_SUCCESS,
) -> Message:
    """Disconnect-Peer-Answer, RFC 6733 §5.4.2."""
    return answer_message(request, [("Result-Code", int(result_code)), ("Origin-Host", origin_host),
                             ("Origin-Realm", origin_realm)])
