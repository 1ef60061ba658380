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
_SHARED = ref.SharedGroup
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
_VERSION_WORD = ref.VERSION << 24
_PADS = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")
_OCTET_TYPES = (bytes, bytearray)


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
_HEADER = struct.Struct(">IIIII")  # RFC 6733 §3 as five 32-bit words
_IDS = struct.Struct(">II")  # RFC 6733 §3 Hop-by-Hop and End-to-End Identifiers


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
        if isinstance(value, _OCTET_TYPES):
            return bytes(value)
        if type(value) is _SHARED:
            return value.wire or _shared_wire(value)
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
    if isinstance(value, _OCTET_TYPES):
        return bytes(value)
    raise _Decline


def _shared_wire(group: ref.SharedGroup) -> bytes:
    """The octets of a shared group's AVPs, written the first time it is encoded."""
    group.wire = _avps(list(group))
    return group.wire


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


def _entry(name: Any, value: Any, flags: int | None) -> bytes:
    """One entry of any shape the reference accepts (its own flags, an AVP outside the
    dictionary, an AVP already encoded)."""
    if not name:
        return value  # type: ignore[no-any-return]  # an AVP already encoded (RFC 6733 §7.5)
    adef = ref.AVPS.get(name) or ref._unknown_def(name)
    if adef is None:
        raise _Decline
    return _avp(adef.code, adef.flags if flags is None else flags, adef.vendor_id,
                _value(adef, value))


def _avps_generic(avps: Any) -> bytes:
    return b"".join([_entry(name, value, flags) for name, value, flags in _entries(avps)])


# How a dictionary AVP sent with its dictionary flags is written (RFC 6733 §4.1-4.4): its kind,
# AVP Code, the flags octet as the high byte of the flags/length word, Vendor-Id (None: V bit
# clear), header length; for the integer types (fixed length, so a fixed header) the header
# bytes, the octets, the signedness and the range.
_K_GROUPED, _K_INT, _K_IDENTITY, _K_TEXT, _K_ADDRESS, _K_OCTETS = range(6)
_EncodePlan = tuple[int, int, int, "int | None", int, bytes, int, bool, int, int]


def _encode_plan(adef: ref.AvpDef) -> _EncodePlan:
    typ = adef.type
    hlen = 8 if adef.vendor_id is None else 12
    word = adef.flags << 24
    ints = _INTS.get(typ._value_)
    if ints is not None:
        octets, signed, low, high = ints
        length = hlen + octets
        prefix = (_AVP_HEADER.pack(adef.code, word | length) if adef.vendor_id is None
                  else _AVP_HEADER_V.pack(adef.code, word | length, adef.vendor_id))
        return (_K_INT, adef.code, word, adef.vendor_id, hlen, prefix, octets, signed, low, high)
    kind = (_K_GROUPED if typ is _GROUPED else _K_IDENTITY if typ is _IDENTITY
            else _K_TEXT if typ is _UTF8 or typ is _URI else _K_ADDRESS if typ is _ADDRESS
            else _K_OCTETS)
    return (kind, adef.code, word, adef.vendor_id, hlen, b"", 0, False, 0, 0)


_ENCODE_PLANS: dict[str, _EncodePlan] = {name: _encode_plan(adef) for name, adef in ref.AVPS.items()}


def _avps(avps: Any) -> bytes:
    """The AVPs of a wire-order list of (name, value) tuples, each written by its plan; any
    other shape of list or entry by `_avps_generic`/`_entry` (the same rules)."""
    if type(avps) is not list:
        return _avps_generic(avps)
    out: list[bytes] = []
    append = out.append
    plans = _ENCODE_PLANS
    for entry in avps:
        if type(entry) is not tuple:
            return _avps_generic(avps)
        try:
            name, value = entry
        except ValueError:  # (name, value, flags): flags of its own
            if len(entry) != 3:
                return _avps_generic(avps)
            append(_entry(*entry))
            continue
        plan = plans.get(name)
        if plan is None:
            append(_entry(name, value, None))
            continue
        kind = plan[0]
        if kind == _K_INT:
            done = _LEAVES.get((name, value))
            if done is None:
                number = int(value)
                if not plan[8] <= number <= plan[9]:
                    raise _Decline
                done = plan[5] + number.to_bytes(plan[6], "big", signed=plan[7])
                if len(_LEAVES) < _LEAVES_MAX:
                    _LEAVES[name, value] = done
            append(done)
            continue
        if kind == _K_IDENTITY:
            done = _LEAVES.get((name, value))
            if done is None:
                if not isinstance(value, str):
                    raise _Decline
                done = _leaf(plan, value.encode("ascii"))
                if len(_LEAVES) < _LEAVES_MAX:
                    _LEAVES[name, value] = done
            append(done)
            continue
        if kind == _K_OCTETS:
            if type(value) is bytes:
                data = value
            elif isinstance(value, _OCTET_TYPES):
                data = bytes(value)
            else:
                raise _Decline
        elif kind == _K_GROUPED:
            if type(value) is _SHARED:
                data = value.wire or _shared_wire(value)
            elif isinstance(value, _OCTET_TYPES):
                data = bytes(value)
            else:
                data = _avps(value)
        elif kind == _K_TEXT:
            if not isinstance(value, str):
                raise _Decline
            data = value.encode("utf-8")
        elif kind == _K_ADDRESS and isinstance(value, str):
            done = _LEAVES.get((name, value))
            if done is None:
                ip = ipaddress.ip_address(value)
                family = b"\x00\x01" if ip.version == 4 else b"\x00\x02"  # IANA family
                done = _leaf(plan, family + ip.packed)
                if len(_LEAVES) < _LEAVES_MAX:
                    _LEAVES[name, value] = done
            append(done)
            continue
        elif isinstance(value, _OCTET_TYPES):
            data = bytes(value)  # an Address given as its octets (RFC 6733 §4.3.1)
        else:
            raise _Decline
        length = plan[4] + len(data)
        if length > _U24:
            raise _Decline
        if plan[3] is None:
            append(_AVP_HEADER.pack(plan[1], plan[2] | length) + data + _PADS[length & 3])
        else:
            append(_AVP_HEADER_V.pack(plan[1], plan[2] | length, plan[3]) + data
                   + _PADS[length & 3])
    return b"".join(out)


def _leaf(plan: _EncodePlan, data: bytes) -> bytes:
    """RFC 6733 §4.1: header (Vendor-Id when the V bit is set), data, zero padding."""
    length = plan[4] + len(data)
    if length > _U24:
        raise _Decline
    vendor = plan[3]
    if vendor is None:
        return _AVP_HEADER.pack(plan[1], plan[2] | length) + data + _PADS[length & 3]
    return _AVP_HEADER_V.pack(plan[1], plan[2] | length, vendor) + data + _PADS[length & 3]


# Whole AVPs of the integer types, DiameterIdentity and Address (given as text) by (name,
# value): the values a node repeats in every message (its Origin-Host, realm and address,
# Auth-Session-State, Vendor-Id, Result-Code, QCI, ...). Bounded: once full, further values are
# written each time.
_LEAVES: dict[tuple[str, Any], bytes] = {}
_LEAVES_MAX = 4096


# --------------------------------------------------------------------------------------------
# Encode templates: the AIR, ULR (TS 29.272 §7.2.3, §7.2.5) an MME sends, the AIA, ULA
# (§7.2.4, §7.2.6) an HSS sends, a P-GW's CCR-I and a PCRF's CCA-I (TS 29.212 §5.6.2-5.6.3)
# differ from one UE to the next only in the values of a few AVPs (Session-Id, User-Name, the
# vector's RAND/XRES/AUTN/KASME, the MSISDN, the UE's addresses and cell, ...), which their
# builder names, with a key (`ref.ShapedAvps`) that fixes everything else and those values'
# lengths. The AVPs of the first message of a key are written by `_avps`; those octets are kept
# with the places of the varying values, and each further message of the key is those octets
# with its own values written in (as `_avps` writes them: same lengths, same padding).
# --------------------------------------------------------------------------------------------

_SHAPED_AVPS = ref.ShapedAvps
# key -> (octets between the varying values, with a None for each; (place in that list, path,
# how the value is written, its length) per varying value), or None: no template of that key
_Shape = tuple[tuple[Any, ...], tuple[tuple[int, tuple[int, ...], _EncodePlan, int], ...]]
_SHAPES: dict[Any, _Shape | None] = {}
_SHAPES_MAX = 256


def _value_octets(plan: _EncodePlan, value: Any) -> bytes:
    """A varying value's octets, as `_avps` writes them."""
    kind = plan[0]
    if kind == _K_OCTETS:
        if type(value) is bytes:
            return value
        if isinstance(value, _OCTET_TYPES):
            return bytes(value)
    elif kind == _K_TEXT:
        if isinstance(value, str):
            return value.encode("utf-8")
    elif kind == _K_IDENTITY:
        if isinstance(value, str):
            return value.encode("ascii")
    elif kind == _K_INT and type(value) is int and plan[8] <= value <= plan[9]:
        return value.to_bytes(plan[6], "big", signed=plan[7])
    raise _Decline


def _shaped(avps: ref.ShapedAvps) -> bytes | None:
    """The AVPs' octets from their shape's template, or None (no template: `_avps`)."""
    try:
        shape = _SHAPES[avps.key]
    except KeyError:
        return _new_shape(avps)
    if shape is None:
        return None
    parts, slots = shape
    out = list(parts)
    for place, path, plan, size in slots:
        value: Any = avps
        for index in path:
            value = value[index][1]
        data = _value_octets(plan, value)
        if len(data) != size:
            return None
        out[place] = data
    return b"".join(out)


def _paths_named(level: Any, names: frozenset[str], path: tuple[int, ...]
                 ) -> list[tuple[int, ...]]:
    """The paths of the AVPs named `names`, outside the `SharedGroup`s."""
    out = []
    for index, entry in enumerate(level):
        if type(entry) is not tuple:
            raise _Decline
        if entry[0] in names:
            out.append((*path, index))
        elif type(entry[1]) is list:
            out += _paths_named(entry[1], names, (*path, index))
    return out


def _new_shape(avps: ref.ShapedAvps) -> bytes | None:
    """The AVPs' octets by `_avps`, kept as the template of their key with the places of the
    varying values (found as `_avps` lays the AVPs out: each one's octets after the ones
    before it, a group's value after its header)."""
    body = _avps(list(avps))
    if len(_SHAPES) >= _SHAPES_MAX:
        _SHAPES.clear()
    spans: list[tuple[int, int, tuple[int, ...], _EncodePlan]] = []
    try:
        varying = avps.varying
        paths = _paths_named(avps, varying, ()) if isinstance(varying, frozenset) else varying
        for path in paths:
            level: Any = avps
            start = 0
            plan = None
            for index in path:
                start += sum(len(_avps([entry])) for entry in level[:index])
                entry = level[index]
                if type(entry) is not tuple or len(entry) != 2:
                    raise _Decline  # flags of its own
                plan = _ENCODE_PLANS[entry[0]]
                start += plan[4]
                level = entry[1]
            if plan is None:
                raise _Decline
            data = _value_octets(plan, level)
            if body[start:start + len(data)] != data:
                raise _Decline
            spans.append((start, start + len(data), path, plan))
    except Exception:
        _SHAPES[avps.key] = None
        return body
    spans.sort()
    parts: list[Any] = []
    slots = []
    pos = 0
    for start, end, path, plan in spans:
        if start < pos:  # overlapping paths
            _SHAPES[avps.key] = None
            return body
        parts.append(body[pos:start])
        slots.append((len(parts), path, plan, end - start))
        parts.append(None)
        pos = end
    parts.append(body[pos:])
    _SHAPES[avps.key] = (tuple(parts), tuple(slots))
    return body


# RFC 6733 §3: a message's command flags and Command-Code (its header's second word) and the
# Application-ID it gets when its fields name none, by (command name, Command-Code, its flags
# field's items): a node sends the same few (its requests, its answers, their error answers),
# so `ref._header_flags` and the checks of the name against the code run once per such key.
# None: the name's command has another code (the pycrate path takes the message). Bounded.
_CMD_HEADS: dict[tuple[Any, ...], tuple[int, int] | None] = {}
_CMD_HEADS_MAX = 256


def _cmd_head(msg: Message, key: tuple[Any, ...]) -> tuple[int, int] | None:
    known = _CMD_BY_NAME.get(msg.name)
    if known is not None and known[0].code != msg.code:
        head = None
    else:
        head = (ref._header_flags(msg) << 24 | _uint(msg.code, _U24),
                known[0].application_id if known else 0)
    if len(_CMD_HEADS) >= _CMD_HEADS_MAX:
        _CMD_HEADS.clear()
    _CMD_HEADS[key] = head
    return head


def encode(msg: Message) -> bytes | None:
    """The pycrate path's bytes for `msg`, or None to decline."""
    try:
        if msg.protocol != ref.PROTOCOL:
            return None
        f = msg.fields
        flags = f.get("flags")
        key = (msg.name, msg.code, None if flags is None else tuple(flags.items()))
        try:
            head = _CMD_HEADS[key]
        except KeyError:
            head = _cmd_head(msg, key)
        if head is None:
            return None
        avps = f.get("avps", ())
        if type(avps) is _SHAPED_AVPS:
            body = (avps.key is not None and _shaped(avps)) or _avps(list(avps))
        else:
            body = _avps(avps)
        length = _HEADER_LEN + len(body)
        if length > _U24:
            return None
        # RFC 6733 §3: Version and Message Length, command flags and Command-Code, then the
        # Application-ID, Hop-by-Hop and End-to-End Identifiers (the struct refuses a value
        # outside 32 bits, or not an integer, as `_uint` does)
        return _HEADER.pack(_VERSION_WORD | length, head[0], f.get("application_id", head[1]),
                            f.get("hop_by_hop", 0), f.get("end_to_end", 0)) + body
    except Exception:  # _Decline, or a value the pycrate path rejects in its own words
        return None


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


_AVP_WORDS = struct.Struct(">II")  # RFC 6733 §4.1: AVP Code; AVP Flags and AVP Length
_VENDOR_WORD = struct.Struct(">I")


# How a dictionary AVP is read, by its key (AVP Code, plus the Vendor-Id above 32 bits when
# the V bit is set): name, kind, the flags of its dictionary entry, for the integer types the
# struct that reads the value, and whether its content is kept (`_SHARED_GROUPS`).
_DecodePlan = tuple[str, int, int, "struct.Struct | None", ref.AvpDef, bool]

# Grouped AVPs whose content is a node's or a subscription profile's, not a subscriber's or a
# session's: the same octets arrive again and again (every S6a message's
# Vendor-Specific-Application-Id, the APN-Configuration-Profile of every subscriber of one
# profile, TS 29.272 §7.3.34). Their decoded value is kept by content as a `SharedGroup` (a
# grouped value that cannot be changed) and the same one is handed to every message carrying
# those octets, so they are read once and never copied; a reader that wants to change one
# makes a list of it. Subscriber data (Subscription-Data with its MSISDN, authentication
# vectors, Terminal-Information) is always read.
_SHARED_GROUPS = frozenset({
    "Vendor-Specific-Application-Id", "Experimental-Result", "Supported-Features",
    "OC-Supported-Features", "Requested-EUTRAN-Authentication-Info",
    "APN-Configuration-Profile", "APN-Configuration", "EPS-Subscribed-QoS-Profile",
    "Allocation-Retention-Priority", "AMBR", "QoS-Information", "Default-EPS-Bearer-QoS",
})
# (name, octets, depth) -> the decoded value, handed out as it is; emptied when full
_GROUPED_SEEN: dict[tuple[str, bytes, int], ref.SharedGroup] = {}
_GROUPED_SEEN_MAX = 1024

_INT_READERS = {(4, False): struct.Struct(">I"), (4, True): struct.Struct(">i"),
                (8, False): struct.Struct(">Q"), (8, True): struct.Struct(">q")}


def _decode_plan(adef: ref.AvpDef) -> _DecodePlan:
    kind = _encode_plan(adef)[0]
    ints = _INTS.get(adef.type._value_)
    reader = None if ints is None else _INT_READERS[ints[0], ints[1]]
    return (adef.name, kind, adef.flags, reader, adef,
            kind == _K_GROUPED and adef.name in _SHARED_GROUPS)


def _plan_key(vendor: int | None, code: int) -> int:
    return code if vendor is None else (vendor + 1) << 32 | code


_DECODE_PLANS: dict[int, _DecodePlan] = {
    _plan_key(adef.vendor_id, adef.code): _decode_plan(adef) for adef in ref.AVPS.values()}


# How the AVP behind one header is read, by the header's octets (AVP Code, flags and length,
# and the Vendor-ID when the V bit is set, RFC 6733 §4.1): its name, kind, integer reader, AVP
# Length, padded length, the flags octet when it differs from the dictionary's (else None),
# and its decode plan. A node's AVPs come with the same headers again and again (the same
# AVPs of the same lengths), so a header is looked up instead of read and checked anew.
# Only headers of dictionary AVPs that pass the header checks are kept; bounded, emptied
# when full.
_Head = tuple[str, int, "struct.Struct | None", int, int, "int | None", _DecodePlan]
_HEADS: dict[bytes, _Head] = {}
_HEADS_MAX = 4096
_K_FAILED = -1  # Failed-AVP (RFC 6733 §7.5): may hold the very fault it reports


def _head(data: bytes, pos: int, hlen: int) -> _Head | None:
    """The `_HEADS` entry of the header at `pos`; None for an AVP outside the dictionary;
    _Fault for a header that fails the RFC 6733 §7.1.5 length checks."""
    code, word = _AVP_WORDS.unpack_from(data, pos)
    flags = word >> 24
    length = word & _U24
    vendor = _VENDOR_WORD.unpack_from(data, pos + 8)[0] if hlen == 12 else None
    plan = _DECODE_PLANS.get(_plan_key(vendor, code))
    if length < hlen:
        raise _Fault  # RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_LENGTH
    if plan is None:
        return None
    reader = plan[3]
    if reader is not None and length - hlen != reader.size:
        raise _Fault  # RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_LENGTH
    kind = _K_FAILED if code == 279 and vendor is None else plan[1]
    head = (plan[0], kind, reader, length, (length + 3) & ~3,
            None if flags == plan[2] else flags, plan)
    if len(_HEADS) >= _HEADS_MAX:
        _HEADS.clear()
    _HEADS[data[pos:pos + hlen]] = head
    return head


def _decode_avps(data: bytes, start: int, end: int, strict: bool, depth: int) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    append = out.append
    pos = start
    heads = _HEADS
    while pos < end:
        if end - pos < 8:
            raise _Fault  # RFC 6733 §7.1.5 truncated AVP header
        hlen = 12 if data[pos + 4] & _AVP_V else 8
        if end - pos < hlen:
            raise _Fault
        head = heads.get(data[pos:pos + hlen]) or _head(data, pos, hlen)
        if head is None:
            pos = _unknown_avp(data, pos, end, hlen, strict, append)
            continue
        name, kind, reader, length, padded, flags, plan = head
        if pos + padded > end:
            raise _Fault  # RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_LENGTH
        if reader is not None:
            value: Any = reader.unpack_from(data, pos + hlen)[0]
        elif kind == _K_OCTETS:
            value = data[pos + hlen:pos + length]
        elif kind == _K_GROUPED:
            if depth >= _MAX_DEPTH:
                raise _Fault
            if plan[5] and strict:
                memo_key = (name, data[pos + hlen:pos + length], depth)
                value = _GROUPED_SEEN.get(memo_key)
                if value is None:
                    value = _SHARED(_decode_avps(data, pos + hlen, pos + length, True,
                                                 depth + 1))
                    if len(_GROUPED_SEEN) >= _GROUPED_SEEN_MAX:
                        _GROUPED_SEEN.clear()
                    _GROUPED_SEEN[memo_key] = value
            else:
                value = _decode_avps(data, pos + hlen, pos + length, strict, depth + 1)
        elif kind == _K_FAILED:
            if depth >= _MAX_DEPTH:
                raise _Fault
            # Failed-AVP may hold an AVP with the very fault it reports (RFC 6733 §7.1.5)
            try:
                value = _decode_avps(data, pos + hlen, pos + length, False, depth + 1)
            except _Fault:
                value = data[pos + hlen:pos + length]
        elif kind == _K_ADDRESS:
            value = _decode_value(plan[4], data[pos + hlen:pos + length], strict, depth)
        else:
            try:  # RFC 6733 §4.3.1: DiameterIdentity in ASCII; UTF8String, DiameterURI
                value = data[pos + hlen:pos + length].decode(
                    "ascii" if kind == _K_IDENTITY else "utf-8")
            except UnicodeDecodeError:
                raise _Fault from None  # DIAMETER_INVALID_AVP_VALUE
        append((name, value) if flags is None else (name, value, flags))
        pos += padded
    return out


def _unknown_avp(data: bytes, pos: int, end: int, hlen: int, strict: bool,
                 append: Any) -> int:
    """An AVP outside the dictionary (RFC 6733 §4.1): named by its code (and vendor), its
    data kept raw; refused (5001) by a strict decode when the M bit is set. Returns the
    position of the next AVP."""
    code, word = _AVP_WORDS.unpack_from(data, pos)
    flags = word >> 24
    length = word & _U24
    vendor = _VENDOR_WORD.unpack_from(data, pos + 8)[0] if hlen == 12 else None
    padded = (length + 3) & ~3
    if pos + padded > end:
        raise _Fault  # RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_LENGTH
    if strict and flags & ref.AVP_M:
        raise _Fault  # RFC 6733 §4.1: unsupported mandatory AVP (5001)
    name = f"AVP-{code}" if vendor is None else f"AVP-{vendor}-{code}"
    payload = data[pos + hlen:pos + length]
    append((name, payload) if flags == (_AVP_V if vendor is not None else 0)
           else (name, payload, flags))
    return pos + padded


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


def _decode(data: bytes, strict: bool) -> Message:
    """The pycrate path's Message for `data`; _Fault (or another exception) for any refusal."""
    n = len(data)
    if n < _HEADER_LEN:
        raise _Fault
    word0, word1, app_id, hop_by_hop, end_to_end = _HEADER.unpack_from(data)
    length = word0 & _U24
    if word0 >> 24 != ref.VERSION or length != n or length % 4:
        raise _Fault
    flags = word1 >> 24
    code = word1 & _U24
    request = bool(flags & ref.FLAG_R)
    cmd = _CMD_BY_CODE.get(code)
    # RFC 6733 §3: no E bit in a request; PXY as the command ABNF says (§7.1.3)
    if request and (flags & ref.FLAG_E or (cmd is not None and bool(flags & ref.FLAG_P) != cmd.proxiable)):
        raise _Fault
    avps = _decode_avps(data, _HEADER_LEN, n, strict, 0)
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
        "application_id": app_id,
        "hop_by_hop": hop_by_hop,
        "end_to_end": end_to_end,
        "avps": avps,
    })


# --------------------------------------------------------------------------------------------
# Decode templates: the AIR, ULR (TS 29.272 §7.2.3, §7.2.5) and CCR-I (TS 29.212 §5.6.2) a node
# receives, and their answers, differ from one UE to the next only in the Hop-by-Hop and
# End-to-End Identifiers (RFC 6733 §3) and the values of a few AVPs: the Session-Id (§8.8),
# the IMSI (User-Name, Subscription-Id-Data), the MSISDN, the authentication vector (RAND,
# XRES, AUTN, KASME, TS 29.272 §7.3.19-7.3.25), the terminal's identity and the UE's address
# and cell. A message whose every other octet equals a decoded message's (same length, so the
# same AVP headers and padding: the same AVPs at the same places) decodes to that message's
# values with those AVPs read anew by the same readers: what `_decode` gives. Anything else
# (and any value those readers refuse) goes through `_decode`.
# --------------------------------------------------------------------------------------------

_DEC_TEMPLATED = frozenset(code.to_bytes(3, "big") for code in (316, 318, 272))
_VARYING = frozenset({
    "Session-Id", "User-Name", "RAND", "XRES", "AUTN", "KASME", "MSISDN",
    "Subscription-Id-Data", "Framed-IP-Address", "Framed-IPv6-Prefix",
    "User-Equipment-Info-Value", "3GPP-User-Location-Info", "IMEI", "Software-Version",
})
_DEC_TEMPLATES_KEPT = 256  # (command flags and code, length) keys, each with the last few
_DEC_TEMPLATES_PER_KEY = 4
# the longest message kept as a template (an S6a or Gx message of one UE is well under it): at
# most 256 x 4 of them are kept
_DEC_TEMPLATE_MAX_LEN = 4096
# one AVP list of a template: its entries as decoded (the constant ones handed out as they
# are: tuples of immutable values, or a SharedGroup), and what is made anew per message:
# (index, name, flags, value start, value end, how, reader or AVP definition or sub-list)
_Patch = tuple[int, str, "int | None", int, int, int, Any]
_Level = tuple[tuple[tuple[Any, ...], ...], tuple[_Patch, ...]]
# the level of the message's AVPs, the constant octets as (start, end, octets), the
# Message's name and code, the command flags, the Application-ID, and whether its messages
# pass the ABNF check (`_new_dec_template`)
_DecTemplate = tuple[_Level, tuple[tuple[int, int, bytes], ...], str, int, dict[str, Any], int,
                     bool]
_dec_templates: dict[tuple[bytes, int], list[_DecTemplate]] = {}


def _dec_level(data: bytes, pos: int, end: int, avps: list[tuple[Any, ...]],
               varying: list[tuple[int, int]]) -> _Level:
    """The template of the AVPs of data[pos:end], which `_decode_avps` read as `avps`; the
    value octets of the varying AVPs go to `varying`."""
    patches: list[_Patch] = []
    index = 0
    while pos < end:
        hlen = 12 if data[pos + 4] & _AVP_V else 8
        head = _HEADS.get(data[pos:pos + hlen]) or _head(data, pos, hlen)
        if head is None or head[1] == _K_FAILED:
            raise _Decline  # an AVP outside the dictionary, a Failed-AVP: no template
        name, kind, reader, length, padded, flags, plan = head
        start, stop = pos + hlen, pos + length
        value = avps[index][1]
        if kind == _K_GROUPED:
            if type(value) is not _SHARED:  # a list of its own for each message
                patches.append((index, name, flags, start, stop, _K_GROUPED,
                                _dec_level(data, start, stop, value, varying)))
        elif name in _VARYING:
            varying.append((start, stop))
            patches.append((index, name, flags, start, stop, kind,
                            plan[4] if kind == _K_ADDRESS else reader))
        index += 1
        pos += padded
    if index != len(avps):
        raise _Decline
    return tuple(avps), tuple(patches)


def _new_dec_template(data: bytes, msg: Message) -> bool:
    """`data`, which `_decode` read as `msg`, kept as a template; whether `msg` is an answer
    or a request that passes the ABNF check (`ref.check_mandatory`), as every message the
    template gives will (the same AVP names in the same groups)."""
    varying = [(12, 20)]  # RFC 6733 §3 Hop-by-Hop and End-to-End Identifiers
    f = msg.fields
    try:
        level = _dec_level(data, _HEADER_LEN, len(data), f["avps"], varying)
    except Exception:
        return False
    checked = True
    if f["flags"]["request"]:
        try:
            ref.check_mandatory(msg)
        except Exception:  # DIAMETER_MISSING_AVP: raised for each message by its reader
            checked = False
    # the octets between the varying spans (in order, apart): 0..s1, e1..s2, ..., en..end
    edges = [0, *(edge for span in varying for edge in span), len(data)]
    constant = tuple((start, end, data[start:end])
                     for start, end in zip(edges[::2], edges[1::2], strict=True) if end > start)
    if len(_dec_templates) >= _DEC_TEMPLATES_KEPT:
        _dec_templates.clear()
    kept = _dec_templates.setdefault((data[4:8], len(data)), [])
    if len(kept) >= _DEC_TEMPLATES_PER_KEY:
        kept.pop(0)  # the oldest
    kept.append((level, constant, msg.name, msg.code, f["flags"], f["application_id"], checked))
    return checked


def _build(level: _Level, data: bytes) -> list[tuple[Any, ...]]:
    """The AVPs of a template's list for `data`: its constant entries, its varying values read
    as `_decode_avps` reads them, its groups made anew."""
    entries, patches = level
    out = list(entries)
    for index, name, flags, start, stop, kind, how in patches:
        if kind == _K_GROUPED:
            value: Any = _build(how, data)
        elif kind == _K_OCTETS:
            value = data[start:stop]
        elif kind == _K_ADDRESS:
            value = _decode_value(how, data[start:stop], True, 0)
        elif how is not None:
            value = how.unpack_from(data, start)[0]
        else:  # RFC 6733 §4.3.1: DiameterIdentity in ASCII; UTF8String, DiameterURI
            value = data[start:stop].decode("ascii" if kind == _K_IDENTITY else "utf-8")
        out[index] = (name, value) if flags is None else (name, value, flags)
    return out


def _from_dec_template(data: bytes) -> tuple[Message, bool]:
    """The message of `data`, and whether it needs no ABNF check (`decode_checked`)."""
    for level, constant, name, code, hflags, app_id, checked in _dec_templates.get(
            (data[4:8], len(data)), ()):
        for start, end, octets in constant:
            if data[start:end] != octets:
                break
        else:
            try:
                avps = _build(level, data)
            except Exception:  # a value its reader refuses: as `_decode` answers it
                break
            hop_by_hop, end_to_end = _IDS.unpack_from(data, 12)
            return Message(ref.PROTOCOL, name, code, {
                "flags": dict(hflags), "application_id": app_id, "hop_by_hop": hop_by_hop,
                "end_to_end": end_to_end, "avps": avps}), checked
    msg = _decode(data, True)
    return msg, _new_dec_template(data, msg)


def decode(data: bytes, *, strict: bool = True) -> Message | None:
    """The pycrate path's Message for `data`, or None to decline (every rejection included)."""
    if strict:
        got = decode_checked(data)
        return None if got is None else got[0]
    try:
        return _decode(bytes(data), False)
    except Exception:  # _Fault: pycrate answers it with its Result-Code
        return None


def decode_checked(data: bytes) -> tuple[Message, bool] | None:
    """`decode` (strict), and whether the message needs no ABNF check on receipt (an answer,
    or a request read from a template whose request passed it: `ref.decode_checked`); None
    to decline."""
    try:
        data = bytes(data)
        if data[5:8] in _DEC_TEMPLATED and _HEADER_LEN < len(data) <= _DEC_TEMPLATE_MAX_LEN:
            return _from_dec_template(data)
        return _decode(data, True), False
    except Exception:  # _Fault: pycrate answers it with its Result-Code
        return None


fast_path(ref.PROTOCOL).install(encode, decode)
fast_path(ref.CHECKED_DECODE).install(decode=decode_checked)
