"""Diameter (RFC 6733) with the S6a dictionary (TS 29.272), without pycrate.

The wire format is the TLV layer of RFC 6733: the §3 header (version, 24-bit length, command
flags, 24-bit command code, application id, hop-by-hop and end-to-end identifiers), then AVPs
(§4.1: code, flags V/M/P, 24-bit length, Vendor-Id when V is set, data, zero padding to 4
octets). The dictionary, the `Message` shape and every accept/reject rule are those of
`corenet.codecs.diameter`; this module only replaces pycrate's element machinery with
`int.to_bytes`/`int.from_bytes`.

`encode` returns the pycrate path's bytes or None; `decode` returns the pycrate path's Message
or None. None means "let pycrate do it": a value out of a field's range, an unknown name, any
fault a receiver must answer with a Result-Code. So every error raised to a caller is pycrate's.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

from corenet.codecs import diameter as ref
from corenet.codecs.base import Message
from corenet.codecs.selection import fast_path

_AVP_V = ref.AVP_V
_HEADER_LEN = ref.HEADER_LEN
_BY_KEY = ref._BY_KEY
_CMD_BY_CODE = ref._CMD_BY_CODE
_CMD_BY_NAME = ref._CMD_BY_NAME
_MAX_DEPTH = ref.MAX_GROUPED_DEPTH
_T = ref.AvpType
_GROUPED = _T.GROUPED
_IDENTITY = _T.DIAMETER_IDENTITY
_ADDRESS = _T.ADDRESS
_OCTETS = _T.OCTET_STRING
_FIXED_LEN = ref._FIXED_LEN
# RFC 6733 §4.2: Integer32 and Enumerated (§4.3.1, an Integer32) are signed; Unsigned32, Time
# (4 octets of NTP seconds, encoded like Unsigned32 here) and Unsigned64 are not.
_SIGNED = frozenset({_T.INTEGER32, _T.ENUMERATED})
_RANGES = {
    _T.INTEGER32: (-(1 << 31), (1 << 31) - 1),
    _T.ENUMERATED: (-(1 << 31), (1 << 31) - 1),
    _T.UNSIGNED32: (0, (1 << 32) - 1),
    _T.TIME: (0, (1 << 32) - 1),
    _T.UNSIGNED64: (0, (1 << 64) - 1),
}
# the integer types by their Enum value (a str: hashed in C, unlike the Enum member):
# (octets, signed, lowest, highest)
_INTS: dict[str, tuple[int, bool, int, int]] = {
    typ.value: (_FIXED_LEN[typ], typ in _SIGNED, *rng) for typ, rng in _RANGES.items()}
_UTF8, _URI = _T.UTF8_STRING, _T.DIAMETER_URI
_U24 = (1 << 24) - 1
_U32 = (1 << 32) - 1
_PADS = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")


class _Decline(Exception):
    """Internal: outside the fast set; the pycrate path takes the call."""


class _Fault(Exception):
    """Internal: a fault the pycrate path reports (or, in Failed-AVP, tolerates)."""


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _uint(value: Any, limit: int) -> int:
    if not isinstance(value, int) or not 0 <= value <= limit:
        raise _Decline
    return int(value)


# RFC 6733 §4.1: AVP Code, then AVP Flags and the 24-bit AVP Length as one 32-bit word
# (then the Vendor-ID when the V bit is set)
_AVP_HEADER = struct.Struct(">II")
_AVP_HEADER_V = struct.Struct(">III")


def _avp(code: int, flags: int, vendor: int | None, data: bytes) -> bytes:
    """RFC 6733 §4.1 AVP: header (Vendor-Id when the V bit is set), data, zero padding."""
    if not 0 <= code <= _U32 or not 0 <= flags <= 0xFF or (vendor is not None) != bool(flags & _AVP_V):
        raise _Decline
    if vendor is not None:
        if not 0 <= vendor <= _U32:
            raise _Decline
        length = 12 + len(data)
        if length > _U24:
            raise _Decline
        return _AVP_HEADER_V.pack(code, flags << 24 | length, vendor) + data + _PADS[length & 3]
    length = 8 + len(data)
    if length > _U24:
        raise _Decline
    return _AVP_HEADER.pack(code, flags << 24 | length) + data + _PADS[length & 3]


def _value(adef: ref.AvpDef, value: Any) -> bytes:
    typ = adef.type
    if typ is _GROUPED:
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        return _avps(value)
    plan = _INTS.get(typ._value_)
    if plan is not None:
        number = int(value)
        if not plan[2] <= number <= plan[3]:
            raise _Decline
        return number.to_bytes(plan[0], "big", signed=plan[1])
    if typ is _IDENTITY:
        if not isinstance(value, str):
            raise _Decline
        return value.encode("ascii")
    if typ is _UTF8 or typ is _URI:
        if not isinstance(value, str):
            raise _Decline
        return value.encode("utf-8")
    if typ is _ADDRESS and isinstance(value, str):
        ip = ipaddress.ip_address(value)
        return (b"\x00\x01" if ip.version == 4 else b"\x00\x02") + ip.packed  # IANA family
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    raise _Decline


def _entries(avps: Any) -> Any:
    """`ref._iter_entries` without a generator for the wire-order list of (name, value[,
    flags]) tuples every message builder gives; anything else goes through it."""
    if not isinstance(avps, list):
        return ref._iter_entries(avps)
    out = []
    for entry in avps:
        if type(entry) is not tuple:
            return ref._iter_entries(avps)
        n = len(entry)
        if n == 2:
            out.append((entry[0], entry[1], None))
        elif n == 3:
            out.append(entry)
        else:
            return ref._iter_entries(avps)
    return out


def _avps(avps: Any) -> bytes:
    out = []
    for name, value, flags in _entries(avps):
        if not name:
            out.append(value)  # an AVP already encoded (Failed-AVP content, RFC 6733 §7.5)
            continue
        adef = ref.AVPS.get(name) or ref._unknown_def(name)
        if adef is None:
            raise _Decline
        out.append(_avp(adef.code, adef.flags if flags is None else flags, adef.vendor_id,
                        _value(adef, value)))
    return b"".join(out)


def encode(msg: Message) -> bytes | None:
    """The pycrate path's bytes for `msg`, or None to decline."""
    try:
        if msg.protocol != ref.PROTOCOL:
            return None
        known = _CMD_BY_NAME.get(msg.name)
        if known is not None and known[0].code != msg.code:
            return None
        f = msg.fields
        app_id = f.get("application_id", known[0].application_id if known else 0)
        body = _avps(f.get("avps", ()))
        flags = ref._header_flags(msg)
        length = _HEADER_LEN + len(body)
        if length > _U24:
            return None
        # RFC 6733 §3
        return b"".join((
            bytes((ref.VERSION,)), length.to_bytes(3, "big"), bytes((flags,)),
            _uint(msg.code, _U24).to_bytes(3, "big"), _uint(app_id, _U32).to_bytes(4, "big"),
            _uint(f.get("hop_by_hop", 0), _U32).to_bytes(4, "big"),
            _uint(f.get("end_to_end", 0), _U32).to_bytes(4, "big"), body,
        ))
    except Exception:  # _Decline, or a value the pycrate path rejects in its own words
        return None


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


_AVP_WORDS = struct.Struct(">II")  # RFC 6733 §4.1: AVP Code; AVP Flags and AVP Length
_VENDOR_WORD = struct.Struct(">I")


def _decode_avps(data: bytes, start: int, end: int, strict: bool, depth: int) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    pos = start
    by_key = _BY_KEY
    unpack = _AVP_WORDS.unpack_from
    while pos < end:
        if end - pos < 8:
            raise _Fault  # RFC 6733 §7.1.5 truncated AVP header
        code, word = unpack(data, pos)
        flags = word >> 24
        length = word & _U24
        if flags & _AVP_V:
            hlen = 12
            if end - pos < 12:
                raise _Fault
            vendor: int | None = _VENDOR_WORD.unpack_from(data, pos + 8)[0]
        else:
            hlen, vendor = 8, None
        padded = (length + 3) & ~3
        if length < hlen or pos + padded > end:
            raise _Fault  # RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_LENGTH
        adef = by_key.get((vendor, code))
        payload = data[pos + hlen:pos + length]
        if adef is None:
            if strict and flags & ref.AVP_M:
                raise _Fault  # RFC 6733 §4.1: unsupported mandatory AVP (5001)
            name = f"AVP-{code}" if vendor is None else f"AVP-{vendor}-{code}"
            out.append((name, payload) if flags == (_AVP_V if vendor is not None else 0)
                       else (name, payload, flags))
        else:
            value = _decode_value(adef, payload, strict, depth)
            out.append((adef.name, value) if flags == adef.flags else (adef.name, value, flags))
        pos += padded
    return out


def _decode_value(adef: ref.AvpDef, payload: bytes, strict: bool, depth: int) -> Any:
    typ = adef.type
    plan = _INTS.get(typ._value_)
    if plan is not None:
        if len(payload) != plan[0]:
            raise _Fault  # RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_LENGTH
        return int.from_bytes(payload, "big", signed=plan[1])
    if typ is _GROUPED:
        if depth >= _MAX_DEPTH:
            raise _Fault
        if adef.code == 279:
            # Failed-AVP may hold an AVP with the very fault it reports (RFC 6733 §7.1.5)
            try:
                return _decode_avps(payload, 0, len(payload), False, depth + 1)
            except _Fault:
                return payload
        return _decode_avps(payload, 0, len(payload), strict, depth + 1)
    try:
        if typ is _IDENTITY:
            return payload.decode("ascii")  # RFC 6733 §4.3.1
        if typ is _UTF8 or typ is _URI:
            return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise _Fault from None  # DIAMETER_INVALID_AVP_VALUE
    if typ is _ADDRESS:
        if len(payload) < 2:
            raise _Fault
        family = int.from_bytes(payload[:2], "big")
        raw = payload[2:]
        if family == 1:
            if len(raw) != 4:
                raise _Fault
            return str(ipaddress.IPv4Address(raw))
        if family == 2:
            if len(raw) != 16:
                raise _Fault
            return str(ipaddress.IPv6Address(raw))
        return payload
    return payload


def decode(data: bytes, *, strict: bool = True) -> Message | None:
    """The pycrate path's Message for `data`, or None to decline (every rejection included)."""
    try:
        data = bytes(data)
        n = len(data)
        if n < _HEADER_LEN or data[0] != ref.VERSION:
            return None
        length = int.from_bytes(data[1:4], "big")
        if length != n or length % 4:
            return None
        flags = data[4]
        code = int.from_bytes(data[5:8], "big")
        request = bool(flags & ref.FLAG_R)
        cmd = _CMD_BY_CODE.get(code)
        # RFC 6733 §3: no E bit in a request; PXY as the command ABNF says (§7.1.3)
        if request and (flags & ref.FLAG_E or (cmd is not None and bool(flags & ref.FLAG_P) != cmd.proxiable)):
            return None
        avps = _decode_avps(data, _HEADER_LEN, n, strict, 0)
    except Exception:  # _Fault: pycrate answers it with its Result-Code
        return None
    hflags: dict[str, Any] = {
        "request": request,
        "proxiable": bool(flags & ref.FLAG_P),
        "error": bool(flags & ref.FLAG_E),
        "retransmit": bool(flags & ref.FLAG_T),
    }
    if flags & 0x0F:
        hflags["reserved"] = flags & 0x0F
    if cmd is None:
        name = f"CMD-{code}-{'R' if request else 'A'}"
    else:
        name = cmd.request if request else cmd.answer
    return Message(ref.PROTOCOL, name, code, {
        "flags": hflags,
        "application_id": int.from_bytes(data[8:12], "big"),
        "hop_by_hop": int.from_bytes(data[12:16], "big"),
        "end_to_end": int.from_bytes(data[16:20], "big"),
        "avps": avps,
    })


fast_path(ref.PROTOCOL).install(encode, decode)
