"""Reading messages as a dissector does, for `corenet decode`: what the network functions'
strict decoders refuse (and answer with 5001, an Error Indication...) is reported here as
`warnings` next to everything that could be read.

Diameter: the codec's own decoding with unknown AVPs kept (RFC 6733 §6.1.8, as a relay does),
then each AVP outside its dictionary named and typed from the wider dictionaries pycrate knows:
the IANA registry of RFC 6733 base AVPs and the IETF applications (NASREQ RFC 7155, EAP
RFC 4072, Credit-Control RFC 4006, ...) and the 3GPP vendor AVPs (TS 29.230: S6a/S6d, S13, Gx,
Rx, SLh, SLg, ...). An AVP none of them knows is reported with its code, vendor, flags and hex.
Octets after the Message Length are reported, not refused.

GTPv2-C: octets after the message's Length (TS 29.274 §5.5.1, without a piggybacked message) are
reported and the message before them decoded.

S1AP: octets after the S1AP-PDU (TS 36.413 §10.2 for a receiving node) are reported and the PDU
before them decoded; an IE the decoder leaves out for its criticality (§10.3) is reported next
to the message decoded without it.

Every function returns (Message, warnings); a DecodeError still leaves when nothing decodes.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)

# isort: split
from pycrate_diameter import Diameter3GPP as _D3
from pycrate_diameter import DiameterIETF as _DI

# isort: split

from corenet.codecs import diameter, gtpv2c, s1ap
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError

Report = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Diameter
# --------------------------------------------------------------------------------------------

# pycrate's data format classes (RFC 6733 §4.2-4.4, RFC 4006 §4.1 for the 64-bit integers)
_INTS = {"Unsigned32": (4, False), "Unsigned64": (8, False), "Integer32": (4, True),
         "Integer64": (8, True), "Enumerated": (4, True), "Time": (4, False)}
_TEXT = frozenset({"UTF8String", "DiameterIdentity", "DiameterURI", "IPFilterRule"})


def _format_name(cls: Any) -> str:
    return str(getattr(cls, "__name__", "OctetString"))


def _wider_dictionary() -> dict[tuple[int | None, int], tuple[str, str]]:
    """(vendor, code) -> (AVP name, data format name) from pycrate's dictionaries."""
    out: dict[tuple[int | None, int], tuple[str, str]] = {}
    for code, name in _DI.AVPCodes_dict.items():
        if isinstance(code, int) and name and name not in ("Unassigned", "Reserved"):
            out[(None, code)] = (name, _format_name(_DI.FMT_LUT_IETF.get(code)))
    for code, (name, cls) in _D3.TGPPAVPInfos_dict.items():
        out[(diameter.VENDOR_3GPP, code)] = (name, _format_name(cls))
    return out


_WIDER = _wider_dictionary()
_COMMANDS = {code: text for code, text in _DI.Cmd_dict.items() if "/" in str(text)}
_APPLICATIONS = dict(_DI.AppID_dict)


def _parse_unknown_name(name: str) -> tuple[int | None, int] | None:
    parts = name.split("-")
    if parts[0] != "AVP" or len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
        return None
    return (int(parts[1]) if len(parts) == 3 else None), int(parts[-1])


def _value(fmt: str, data: bytes, where: str, warnings: list[Report]) -> Any:
    try:
        if fmt in _INTS:
            size, signed = _INTS[fmt]
            if len(data) != size:
                raise ValueError(f"{len(data)} octets for {fmt}")
            return int.from_bytes(data, "big", signed=signed)
        if fmt in _TEXT:
            return data.decode("utf-8")
        if fmt == "Address":
            family, addr = int.from_bytes(data[:2], "big"), data[2:]
            if family in (1, 2) and len(addr) == (4 if family == 1 else 16):
                return str(ipaddress.ip_address(addr))
            return data
        if fmt == "Grouped":
            return _tlvs(data, where, warnings)
    except (ValueError, UnicodeDecodeError) as exc:
        warnings.append({"avp": where, "invalid_value": str(exc), "hex": data.hex()})
    return data


def _tlvs(data: bytes, where: str, warnings: list[Report]) -> list[Any]:
    """RFC 6733 §4.1 AVPs of a grouped value the codec kept raw."""
    out: list[Any] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 8:
            warnings.append({"avp": where, "trailing_octets": len(data) - pos,
                             "hex": data[pos:].hex()})
            break
        code = int.from_bytes(data[pos:pos + 4], "big")
        flags, length = data[pos + 4], int.from_bytes(data[pos + 5:pos + 8], "big")
        head = 12 if flags & diameter.AVP_V else 8
        if length < head or pos + length > len(data):
            warnings.append({"avp": where, "invalid_avp_length": length, "hex": data[pos:].hex()})
            break
        vendor = int.from_bytes(data[pos + 8:pos + 12], "big") if head == 12 else None
        out.append(_named(vendor, code, flags, data[pos + head:pos + length], warnings))
        pos += (length + 3) & ~3
    return out


def _named(vendor: int | None, code: int, flags: int, data: bytes,
           warnings: list[Report]) -> tuple[str, Any]:
    """One AVP by the codec's dictionary, else the wider one, else reported."""
    adef = diameter._BY_KEY.get((vendor, code))
    if adef is not None:
        return adef.name, _value(adef.type.value, data, adef.name, warnings)
    known = _WIDER.get((vendor, code))
    if known is not None:
        return known[0], _value(known[1], data, known[0], warnings)
    warnings.append({"unknown_avp": {"code": code, "vendor": vendor, "flags": flags,
                                     "hex": data.hex()}})
    return diameter._unknown_name(vendor, code), data


def _resolve(entries: list[Any], warnings: list[Report]) -> list[Any]:
    out: list[Any] = []
    for entry in entries:
        name, value = entry[0], entry[1]
        key = _parse_unknown_name(name)
        if key is not None and isinstance(value, bytes):
            vendor, code = key
            flags = entry[2] if len(entry) == 3 else (diameter.AVP_V if vendor is not None else 0)
            out.append(_named(vendor, code, flags, value, warnings))
        elif isinstance(value, list):
            out.append((name, _resolve(value, warnings), *entry[2:]))
        else:
            out.append(entry)
    return out


def dissect_diameter(data: bytes) -> tuple[Message, list[Report]]:
    warnings: list[Report] = []
    data = bytes(data)
    if len(data) >= diameter.HEADER_LEN:
        length = int.from_bytes(data[1:4], "big")
        if diameter.HEADER_LEN <= length < len(data):
            warnings.append({"trailing_octets": len(data) - length, "hex": data[length:].hex()})
            data = data[:length]
    msg = diameter.decode(data, strict=False)
    fields = dict(msg.fields)
    fields["avps"] = _resolve(list(fields["avps"]), warnings)
    name = msg.name
    if name.startswith("CMD-") and msg.code in _COMMANDS:
        request, answer = (p.strip() for p in str(_COMMANDS[msg.code]).split("/", 1))
        name = request if fields["flags"]["request"] else answer
    app = _APPLICATIONS.get(fields["application_id"])
    if app is not None:
        fields["application"] = app
    return Message(msg.protocol, name, msg.code, fields), warnings


# --------------------------------------------------------------------------------------------
# S1AP
# --------------------------------------------------------------------------------------------


def dissect_s1ap(data: bytes) -> tuple[Message, list[Report]]:
    warnings: list[Report] = []
    data = bytes(data)
    try:
        return s1ap.decode(data), warnings
    except DecodeError as err:
        end = err.extra.get("pdu_octets")
        if end is None or not 0 < end < len(data):
            return _s1ap_partial(err, warnings)
        warnings.append({"trailing_octets": len(data) - end, "hex": data[end:].hex()})
        data = data[:end]
    try:
        return s1ap.decode(data), warnings
    except DecodeError as err:
        return _s1ap_partial(err, warnings)


def _s1ap_partial(err: DecodeError, warnings: list[Report]) -> tuple[Message, list[Report]]:
    """TS 36.413 §10.3.4.2: a message the procedure may go on with, its IE errors reported."""
    msg = err.extra.get("message")
    if not isinstance(msg, Message):
        raise err
    warnings.append({"cause": list(err.cause), "detail": err.detail,
                     "ie_errors": [list(e) for e in err.extra.get("ie_errors", ())]})
    return msg, warnings


# --------------------------------------------------------------------------------------------
# GTPv2-C
# --------------------------------------------------------------------------------------------


def dissect_gtpv2(data: bytes) -> tuple[Message, list[Report]]:
    warnings: list[Report] = []
    data = bytes(data)
    if len(data) >= 4 and not data[0] & 0x10:  # P flag clear: one message
        end = 4 + int.from_bytes(data[2:4], "big")
        if 4 < end < len(data):
            warnings.append({"trailing_octets": len(data) - end, "hex": data[end:].hex()})
            data = data[:end]
    return gtpv2c.decode(data), warnings
