"""GTPv2-C (TS 29.274) for the S11 messages of `corenet.codecs.gtpv2c`, without pycrate's
message machinery.

Encoding runs the reference codec's own field checks and value conversions
(`gtpv2c._encode_ies`: unknown keys, mandatory IEs §7.7.5, Table 8.4-1 rejections) and writes the
resulting values in the §8 layouts with `int.to_bytes`. Decoding reads the §5.1 header and the
§8.2 TLIV IEs directly; it takes an IE only in its exact §8 length (no extension octets, no
spare-bit oddities it cannot vouch for) and declines anything else, so that every odd message,
every IE the reference keeps in "other_ies" and every rejection goes through pycrate.

PCO (§8.13, TS 24.008 §10.5.6.3) and Bearer TFT (§8.19, TS 24.008 §10.5.6.12) are kept as
bytes; the reference keeps pycrate's re-encoding of them, so their acceptance is asked of the
pycrate IE element alone (a few hundred µs less than the whole message, and only when present).

`encode` returns the pycrate path's bytes or None; `decode` its Message or None (decline).
"""

from __future__ import annotations

import copy
import functools
import operator
import struct
from collections.abc import Callable
from typing import Any

from corenet.codecs import gtpv2c as ref
from corenet.codecs.base import Message
from corenet.codecs.selection import fast_path

# isort: split
from pycrate_mobile import TS29274_GTPC as G


class _Decline(Exception):
    """Internal: outside the fast set; the pycrate path takes the call."""


def _declined(v: Any) -> bytes:
    raise _Decline


def _u(value: Any, bits: int) -> int:
    if not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise _Decline
    return int(value)


# --------------------------------------------------------------------------------------------
# Encoding: the reference's pycrate values -> §8 octets
# --------------------------------------------------------------------------------------------


def _bcd(digits: Any) -> bytes:
    """TS 29.274 §8.3 (TS 24.008 §10.5.1.4 digit order): low nibble first, 0xF filler."""
    if not isinstance(digits, str) or not digits.isascii() or not digits.isdigit():
        raise _Decline
    if len(digits) % 2:
        digits += "f"
    # the digits as hex text, each octet's nibbles then swapped (`_NIBBLES_SWAPPED`)
    return bytes.fromhex(digits).translate(_NIBBLES_SWAPPED)


def _ext_empty(v: Any) -> None:
    if v != b"":
        raise _Decline


def _enc_cause(v: Any) -> bytes:  # §8.4 without the Offending IE octets
    value, _spare, pce, bce, cs, _off = v
    return bytes((_u(value, 8), (_u(pce, 1) << 2) | (_u(bce, 1) << 1) | _u(cs, 1)))


def _enc_ext_uint(size: int) -> Callable[[Any], bytes]:
    def enc(v: Any) -> bytes:
        _ext_empty(v[1])
        return _u(v[0], 8 * size).to_bytes(size, "big")
    return enc


def _enc_ebi(v: Any) -> bytes:  # §8.8
    _ext_empty(v[2])
    return bytes(((_u(v[0], 4) << 4) | _u(v[1], 4),))


def _enc_pdn_type(v: Any) -> bytes:  # §8.34
    return bytes(((_u(v[0], 5) << 3) | _u(v[1], 3),))


def _enc_selection_mode(v: Any) -> bytes:  # §8.58
    _ext_empty(v[2])
    return bytes(((_u(v[0], 6) << 2) | _u(v[1], 2),))


def _enc_apn(v: Any) -> bytes:  # §8.6, TS 23.003 §9.1 labels
    out = b""
    for length, label in v:
        if not isinstance(label, bytes) or length != len(label):
            raise _Decline
        out += bytes((_u(length, 8),)) + label
    return out


def _enc_ambr(v: Any) -> bytes:  # §8.7
    return _u(v[0], 32).to_bytes(4, "big") + _u(v[1], 32).to_bytes(4, "big")


def _enc_indication(v: Any) -> bytes:  # §8.12
    octets = v[:-1] if v and v[-1] == b"" else v
    out = bytearray()
    for bits in octets:
        octet = 0
        for bit in bits:
            octet = (octet << 1) | _u(bit, 1)
        out.append(octet)
    return bytes(out)


def _enc_paa(v: Any) -> bytes:  # §8.14
    if not isinstance(v[2], bytes):
        raise _Decline
    return bytes(((_u(v[0], 5) << 3) | _u(v[1], 3),)) + v[2]


def _enc_qos(v: Any) -> bytes:  # §8.15
    _ext_empty(v[10])
    head = (_u(v[0], 1) << 7) | (_u(v[1], 1) << 6) | (_u(v[2], 4) << 2) | (_u(v[3], 1) << 1) | _u(v[4], 1)
    return bytes((head, _u(v[5], 8))) + b"".join(_u(r, 40).to_bytes(5, "big") for r in v[6:10])


def _plmn(b: Any) -> bytes:
    if not isinstance(b, bytes) or len(b) != 3:
        raise _Decline
    return b


def _enc_serving_network(v: Any) -> bytes:  # §8.18
    _ext_empty(v[1])
    return _plmn(v[0])


def _enc_ue_time_zone(v: Any) -> bytes:  # §8.44, TS 24.008 §10.5.3.8
    _ext_empty(v[2])
    tz1, tzs, tz0 = v[0]
    return bytes(((_u(tz1, 4) << 4) | (_u(tzs, 1) << 3) | _u(tz0, 3),
                  (_u(v[1][0], 6) << 2) | _u(v[1][1], 2)))


# §8.21: parts in flag-bit order (bit 0 CGI ... bit 5 LAI) and their layouts
_ULI_ORDER = ("CGI", "SAI", "RAI", "TAI", "ECGI", "LAI")


def _enc_uli_part(name: str, v: Any) -> bytes:
    if name == "ECGI":
        return _plmn(v[0]) + ((_u(v[1], 4) << 28) | _u(v[2], 28)).to_bytes(4, "big")
    if name == "RAI":
        return _plmn(v[0]) + _u(v[1], 16).to_bytes(2, "big") + bytes((_u(v[2], 8), _u(v[3], 8)))
    if len(v) != {"CGI": 3, "SAI": 3, "TAI": 2, "LAI": 2}[name]:
        raise _Decline
    return _plmn(v[0]) + b"".join(_u(x, 16).to_bytes(2, "big") for x in v[1:])


def _enc_uli(v: Any) -> bytes:
    flags = v["Flags"]
    octet = 0
    for bit in flags:
        octet = (octet << 1) | _u(bit, 1)
    out = bytes((octet,))
    for name in _ULI_ORDER:
        present = name in v
        if present != bool(flags[{"CGI": 7, "SAI": 6, "RAI": 5, "TAI": 4, "ECGI": 3, "LAI": 2}[name]]):
            raise _Decline
        if present:
            out += _enc_uli_part(name, v[name])
    if set(v) - {"Flags", *_ULI_ORDER}:
        raise _Decline
    return out


def _enc_fteid(v: Any) -> bytes:  # §8.22
    v4, v6 = _u(v["V4"], 1), _u(v["V6"], 1)
    out = bytes(((v4 << 7) | (v6 << 6) | _u(v["IF"], 6),)) + _u(v["TEID_GREKey"], 32).to_bytes(4, "big")
    for flag, key, size in ((v4, "IPv4Addr", 4), (v6, "IPv6Addr", 16)):
        if flag:
            addr = v[key]
            if not isinstance(addr, bytes) or len(addr) != size:
                raise _Decline
            out += addr
    return out


_ENCODE_KIND: dict[str, Callable[[Any], bytes]] = {
    "bcd": _bcd, "cause": _enc_cause, "uint8": lambda v: _u(v, 8).to_bytes(1, "big"),
    "ebi": _enc_ebi, "selection_mode": _enc_selection_mode, "apn": _enc_apn,
    "ambr": _enc_ambr, "indication": _enc_indication, "paa": _enc_paa, "qos": _enc_qos,
    "serving_network": _enc_serving_network, "uli": _enc_uli, "fteid": _enc_fteid,
    "ue_time_zone": _enc_ue_time_zone,
}
# §8.17 RAT Type, §8.57 APN Restriction, §8.35 PTI: 1 octet; §8.29 Charging ID: 4; §8.30: 2
_EXT_UINT_SIZE = {82: 1, 94: 4, 95: 2, 100: 1, 127: 1}
_ENCODE_TYPE: dict[int, Callable[[Any], bytes]] = {
    typ: (_enc_ext_uint(_EXT_UINT_SIZE[typ]) if kind == "ext_uint"
          else _enc_pdn_type if kind == "spare_uint" else _ENCODE_KIND.get(kind, _declined))
    for typ, kind in ref._IE_KIND.items()
}


def _ies(values: list[Any]) -> bytes:
    """§8.2 IEs: type, length, spare/instance, value."""
    out = []
    for ie in values:
        hdr, data = ie["Hdr"], ie["Data"]
        typ, inst = hdr["Type"], hdr["Inst"]
        if len(hdr) != 2 or not 0 <= typ <= 253:
            raise _Decline  # §8.2.1A extended types: pycrate
        if isinstance(data, bytes):
            body = data
        elif typ == ref.BEARER_CONTEXT:
            body = _ies(data)  # §8.28, whatever its instance
        else:
            body = _ENCODE_TYPE.get(typ, _declined)(data)
        if len(body) > 0xFFFF or inst.__class__ is not int or not 0 <= inst <= 15:
            raise _Decline
        out.append(bytes((typ, len(body) >> 8, len(body) & 0xFF, inst)))
        out.append(body)
    return b"".join(out)


# --------------------------------------------------------------------------------------------
# Encoding in one pass: field values -> §8 octets, for the IE kinds of every attach; the values
# and checks are those of the reference's `_KINDS[kind].into` followed by `_ENCODE_TYPE`
# above, without the intermediate pycrate values. Any other kind is converted in two steps as
# above; anything odd declines, and the two-pass path then decides.
# --------------------------------------------------------------------------------------------


def _one_cause(v: Any) -> bytes:  # §8.4 without the Offending IE (the reference's _cause_in)
    if isinstance(v, int):
        return bytes((_u(v, 8), 0))
    if v.get("offending_ie") is not None:
        raise _Decline
    return bytes((_u(v["value"], 8), (_u(int(v.get("pce", 0)), 1) << 2)
                  | (_u(int(v.get("bce", 0)), 1) << 1) | _u(int(v.get("cs", 0)), 1)))


def _one_bcd(v: Any) -> bytes:
    return _bcd(v)


def _one_uint8(v: Any) -> bytes:
    return bytes((_u(v, 8),))


def _one_ext_uint(size: int) -> Callable[[Any], bytes]:
    def enc(v: Any) -> bytes:
        return _u(v, 8 * size).to_bytes(size, "big")
    return enc


def _one_ebi(v: Any) -> bytes:  # §8.8: spare nibble 0
    return bytes((_u(v, 4),))


def _one_low_bits(bits: int) -> Callable[[Any], bytes]:
    def enc(v: Any) -> bytes:  # §8.34 PDN Type, §8.58 Selection Mode: spare bits 0
        return bytes((_u(v, bits),))
    return enc


def _one_apn(v: Any) -> bytes:
    return b"" if v == "" else _enc_apn(ref._apn_in(v))


def _one_ambr(v: Any) -> bytes:
    return _enc_ambr(ref._ambr_in(v))


def _one_ip(v: Any) -> bytes:
    if not isinstance(v, str):
        raise _Decline
    return ref._ip_packed(v)


def _one_indication(v: Any) -> bytes:  # §8.12, as the reference's _indication_in
    positions = ref._INDICATION_POS
    count = 2
    for k in v:
        count = max(count, 1 + positions[k][0])
    octets = bytearray(count)
    for k, on in v.items():
        if on:
            i, j = positions[k]
            octets[i] |= 0x80 >> j
    return bytes(octets)


def _one_bytes(v: Any) -> bytes:
    if not isinstance(v, bytes | bytearray):
        raise _Decline
    return bytes(v)


def _one_paa(v: Any) -> bytes:
    return _enc_paa(ref._paa_in(v))


def _one_qos(v: Any) -> bytes:  # §8.15, as the reference's _qos_in
    head = (_u(v.get("pci", 1), 1) << 6) | (_u(v["pl"], 4) << 2) | _u(v.get("pvi", 0), 1)
    return bytes((head, _u(v["qci"], 8))) + b"".join(
        _u(v.get(k, 0), 40).to_bytes(5, "big")
        for k in ("mbr_ul_kbps", "mbr_dl_kbps", "gbr_ul_kbps", "gbr_dl_kbps"))


def _one_serving_network(v: Any) -> bytes:
    return _plmn(ref._plmn_in(v))


def _one_fteid(v: Any) -> bytes:  # §8.22, as the reference's _fteid_in
    if isinstance(v, tuple | list):
        v = ref.fteid(*v)
    ipv4, ipv6 = v.get("ipv4"), v.get("ipv6")
    if ipv4 is None and ipv6 is None:
        raise _Decline
    out = bytes((((ipv4 is not None) << 7) | ((ipv6 is not None) << 6)
                 | _u(v["interface_type"], 6),)) + _u(v["teid"], 32).to_bytes(4, "big")
    for addr, size in ((ipv4, 4), (ipv6, 16)):
        if addr is not None:
            packed = _one_ip(addr)
            if len(packed) != size:
                raise _Decline
            out += packed
    return out


_ONE_KIND: dict[str, Callable[[Any], bytes]] = {
    "bcd": _one_bcd, "cause": _one_cause, "uint8": _one_uint8, "ebi": _one_ebi,
    "spare_uint": _one_low_bits(3), "selection_mode": _one_low_bits(2), "apn": _one_apn,
    "ambr": _one_ambr, "ip": _one_ip, "indication": _one_indication, "bytes": _one_bytes,
    "paa": _one_paa, "qos": _one_qos, "serving_network": _one_serving_network,
    "fteid": _one_fteid,
}


def _two_steps(typ: int) -> Callable[[Any], bytes]:
    into, enc = ref._KINDS[ref._IE_KIND[typ]].into, _ENCODE_TYPE[typ]

    def both(v: Any) -> bytes:
        data = into(v)
        return data if isinstance(data, bytes) else enc(data)
    return both


_ONE_TYPE: dict[int, Callable[[Any], bytes]] = {
    typ: (_one_ext_uint(_EXT_UINT_SIZE[typ]) if kind == "ext_uint"
          else _ONE_KIND.get(kind) or _two_steps(typ))
    for typ, kind in ref._IE_KIND.items()
}


def _flat(v: Any) -> Any:
    return tuple(v.items())


def _nested(v: Any) -> Any:
    return tuple((name, tuple(part.items())) for name, part in v.items())


def _kept(write: Callable[[Any], bytes], key: Callable[[Any], Any]) -> Callable[[Any], bytes]:
    """`write` once per distinct value: the UEs of a population send the same cell, QoS,
    AMBR, indication flags and time zone, and their S/P-GW answers each with the same cause.
    Values equal as Python values give equal octets (the ints, booleans and texts these are
    made of); what `write` refuses is not kept (it refuses again), nor a value `key` cannot
    make hashable (written each time). Bounded as the decoder's `_memo`."""
    known: dict[Any, bytes] = {}

    def enc(v: Any) -> bytes:
        try:
            k = key(v)
            out = known.get(k)
        except Exception:  # not of the usual form: the writer decides
            return write(v)
        if out is None:
            out = write(v)
            if len(known) >= _MEMO_KEPT:
                known.clear()
            known[k] = out
        return out
    return enc


# §8.21 ULI, §8.12 Indication, §8.44 UE Time Zone, §8.15 Bearer QoS, §8.7 AMBR, §8.4 Cause
_ONE_TYPE.update({86: _kept(_ONE_TYPE[86], _nested), 77: _kept(_ONE_TYPE[77], _flat),
                  114: _kept(_ONE_TYPE[114], _flat), 80: _kept(_ONE_TYPE[80], _flat),
                  72: _kept(_ONE_TYPE[72], _flat), 2: _kept(_ONE_TYPE[2], _flat)})


# §8.2: type, length, spare/instance
_IE_HEADER = struct.Struct(">BHB").pack

# how `_direct` writes one key of a message or grouped IE: type, instance, the value's writer
# (None for a grouped IE), whether it repeats, the group's IEs
_Entry = tuple[int, int, Callable[[Any], bytes] | None, bool, tuple[ref.IESpec, ...]]
_PLANS: dict[int, tuple[tuple[ref.IESpec, ...], dict[str, _Entry], tuple[str, ...]]] = {}


def _one_declined(v: Any) -> bytes:
    raise _Decline


def _plan(ies: tuple[ref.IESpec, ...]) -> tuple[dict[str, _Entry], tuple[str, ...]]:
    """The writers of `ies` by key and its mandatory keys: made once per message or grouped
    IE (a few fixed tuples, kept with them by identity, as `_mandatory`)."""
    known = _PLANS.get(id(ies))
    if known is None or known[0] is not ies:
        by_key = {spec.key: (spec.type, spec.instance,
                             None if spec.group else _ONE_TYPE.get(spec.type, _one_declined),
                             spec.multiple, spec.group)
                  for spec in ies if spec.key not in ref._HEADER_KEYS}
        known = _PLANS[id(ies)] = (ies, by_key, _mandatory(ies))
    return known[1], known[2]


def _direct(ies: tuple[ref.IESpec, ...], fields: Any, message_level: bool = False) -> bytes:
    """§8.2 IEs of `fields`, in their order, as `_ies(ref._encode_ies(...))` gives them."""
    by_key, mandatory = _plan(ies)
    out = []
    for key, value in fields.items():
        entry = by_key.get(key)
        if entry is None:
            if key in ref._HEADER_KEYS:
                continue
            raise _Decline  # other_ies, unknown keys: the two-pass path
        if value is None:
            continue
        typ, inst, write, multiple, group = entry
        for v in (value if multiple else (value,)):
            body = write(v) if write is not None else _direct(group, v)
            if len(body) > 0xFFFF:
                raise _Decline
            out.append(_IE_HEADER(typ, len(body), inst))
            out.append(body)
    if mandatory:
        rejected = message_level and ref._rejected(fields)
        for key in mandatory:
            if fields.get(key) in (None, []) and not (rejected and key != "cause"):
                raise _Decline
    return b"".join(out)


def _body(spec: ref.MessageSpec, fields: Any) -> bytes:
    try:
        return _direct(spec.ies, fields, True)
    except Exception:
        return _ies(ref._encode_ies(spec.ies, fields, spec.name, message_level=True))


# --------------------------------------------------------------------------------------------
# Templates (TS 29.274 §7.2.1, §7.2.2, §7.2.7, §7.2.8): the MME's Create Session and Modify
# Bearer Requests and the S/P-GW's responses differ from the previous UE's only in the header's
# TEID and Sequence Number, the F-TEIDs' TEIDs and addresses (§8.22), the UE's PDN address
# (§8.14), the charging ID (§8.29), the IMSI, MSISDN and MEI (§8.3, §8.11, §8.10: BCD digits,
# their count part of the shape, so the IE lengths are the template's) and the cell (§8.21 ULI,
# as long as the template's). Such a message is written as the octets the encoder gave for the
# first one of its shape (the same keys in the same order, every other value equal) with those
# values written over them; a message of any other shape is encoded whole. The shape is
# compared as Python values in one comparison (equal values give equal octets), the varying
# values are taken by the message's plan, made once from the template's message.
# --------------------------------------------------------------------------------------------

_TEMPLATES_KEPT = 256  # (message type, keys) kept
_TEMPLATES_PER_KEY = 16  # shapes kept per key (cause, QoS, AMBR, APN, PCO... of a population)
# the writers of the variable values: a 32-bit or 24-bit unsigned integer, an IPv4 or IPv6
# address in text, BCD digits, a ULI (§8.21) as long as the template's
_U32, _U24, _IPV4, _IPV6, _DIGITS, _ULI_OCTETS = range(6)
# where a variable value lies: the (type, instance) of its IE and of the IEs around it, its
# offset in that IE's value, its writer
_Locator = tuple[tuple[tuple[int, int], ...], int, int]
# how a key of a templated message or of its bearer context is taken: kept as it is (compared),
# an F-TEID (§8.22: its TEID and addresses vary), a PDN address (§8.14: the addresses vary),
# bearer contexts (§8.28), a charging ID (§8.29: varies), BCD digits (§8.3 IMSI, §8.10 MEI,
# §8.11 MSISDN: vary), a ULI (§8.21: varies)
_KEEP, _FTEID, _PAA, _BEARERS, _CHARGING, _BCD, _ULI = range(7)
_KINDS: dict[int, tuple[tuple[ref.IESpec, ...], dict[str, tuple[int, tuple[int, int],
                                                              tuple[ref.IESpec, ...]]]]] = {}
_KIND_OF_TYPE = {87: _FTEID, 79: _PAA, 94: _CHARGING, 1: _BCD, 75: _BCD, 76: _BCD, 86: _ULI}
# a message's or bearer context's plan: its keys in order, the getter of its kept values (None
# without any) and the template's, then each varying key with its kind and what it must equal
# (an F-TEID's length, interface type and address families; a BCD value's length; a PDN
# address's `_paa_shape`; a bearer context's plan)
_Plan = tuple[tuple[str, ...], Callable[[Any], Any] | None, Any, tuple[tuple[str, int, Any], ...]]
# a template: its plan, its octets, each variable value's (offset, writer, the length of the
# template's own octets for a ULI, else 0) and the template's own values (a value equal to the
# template's is not written again)
_Template = tuple[_Plan, bytes, tuple[tuple[int, int, int], ...], tuple[Any, ...]]
_templates: dict[tuple[int, tuple[str, ...]], list[_Template]] = {}


def _kinds(ies: tuple[ref.IESpec, ...]) -> dict[str, tuple[int, tuple[int, int],
                                                         tuple[ref.IESpec, ...]]]:
    known = _KINDS.get(id(ies))
    if known is None or known[0] is not ies:
        known = _KINDS[id(ies)] = (ies, {
            spec.key: (_BEARERS if spec.group else _KIND_OF_TYPE.get(spec.type, _KEEP),
                       (spec.type, spec.instance), spec.group) for spec in ies})
    return known[1]


def _new_plan(ies: tuple[ref.IESpec, ...], fields: Any, values: list[Any],
              locators: list[_Locator], outer: tuple[tuple[int, int], ...] = ()) -> _Plan:
    """The plan of `fields` (a dict), its variable values to `values` and where they lie to
    `locators`, in the order `_taken` takes them."""
    if fields.__class__ is not dict:
        raise _Decline
    kinds = _kinds(ies)
    kept: list[str] = []
    steps: list[tuple[str, int, Any]] = []
    for key, value in fields.items():
        kind, tag, group = kinds.get(key) or (_KEEP, (0, 0), ())
        where = (*outer, tag)
        if value is None or kind == _KEEP:
            if outer or key not in ("teid", "sequence"):  # the header's: always written
                kept.append(key)
            continue
        if kind == _FTEID:
            if value.__class__ is not dict:
                raise _Decline
            v4, v6 = value.get("ipv4"), value.get("ipv6")
            steps.append((key, kind, (len(value), value.get("interface_type"), v4 is None,
                                      v6 is None)))
            values.append(value["teid"])
            locators.append((where, 1, _U32))  # after the flags octet
            if v4 is not None:
                values.append(v4)
                locators.append((where, 5, _IPV4))
            if v6 is not None:
                values.append(v6)
                locators.append((where, 5 if v4 is None else 9, _IPV6))
        elif kind == _BCD:
            if value.__class__ is not str:
                raise _Decline
            steps.append((key, kind, len(value)))  # the IE's length (§8.3)
            values.append(value)
            locators.append((where, 0, _DIGITS))
        elif kind == _ULI or kind == _CHARGING:
            steps.append((key, kind, None))
            values.append(value)
            locators.append((where, 0, _ULI_OCTETS if kind == _ULI else _U32))
        elif kind == _PAA:
            steps.append((key, kind, _paa_shape(value, where, values, locators)))
        else:  # one bearer context
            if value.__class__ is not list or len(value) != 1:
                raise _Decline
            steps.append((key, kind, _new_plan(group, value[0], values, locators, where)))
    getter = operator.itemgetter(*kept) if kept else None
    # a copy: the message's own values may change once it is sent
    own = None if getter is None else copy.deepcopy(getter(fields))
    return tuple(fields), getter, own, tuple(steps)


def _taken(plan: _Plan, fields: Any, values: list[Any]) -> bool:
    """Whether `fields` has the shape of `plan`'s (its keys already compared); its variable
    values to `values`."""
    _keys, getter, kept, steps = plan
    if getter is not None and getter(fields) != kept:
        return False
    for key, kind, expected in steps:
        value = fields[key]
        if kind == _FTEID:
            if value.__class__ is not dict:
                return False
            v4, v6 = value.get("ipv4"), value.get("ipv6")
            if (len(value), value.get("interface_type"), v4 is None, v6 is None) != expected:
                return False
            values.append(value["teid"])
            if v4 is not None:
                values.append(v4)
            if v6 is not None:
                values.append(v6)
        elif kind == _BCD:
            if value.__class__ is not str or len(value) != expected:
                return False
            values.append(value)
        elif kind == _ULI or kind == _CHARGING:
            values.append(value)
        elif kind == _PAA:
            if _paa_shape(value, (), values, None) != expected:
                return False
        else:
            if value.__class__ is not list or len(value) != 1:
                return False
            context = value[0]
            if context.__class__ is not dict or tuple(context) != expected[0] or not _taken(
                    expected, context, values):
                return False
    return True


def _paa_shape(v: Any, where: tuple[tuple[int, int], ...], values: list[Any],
               locators: list[_Locator] | None) -> tuple[Any, ...]:
    """§8.14, as `ref._paa_in` lays it out: prefix length and IPv6 address, then IPv4."""
    if v.__class__ is not dict:
        raise _Decline
    pdn_type = v["pdn_type"]
    if pdn_type == ref.PDN_IPV4:
        values.append(v.get("ipv4") or "0.0.0.0")
        if locators is not None:
            locators.append((where, 1, _IPV4))
        return (pdn_type,)
    if pdn_type in (ref.PDN_IPV6, ref.PDN_IPV4V6):
        values.append(v.get("ipv6") or "::")
        if locators is not None:
            locators.append((where, 2, _IPV6))
        if pdn_type == ref.PDN_IPV4V6:
            values.append(v.get("ipv4") or "0.0.0.0")
            if locators is not None:
                locators.append((where, 18, _IPV4))
        return (pdn_type, v.get("ipv6_prefix_length") or 64)
    return (pdn_type,)


def _value_at(data: bytes, start: int, end: int, where: tuple[tuple[int, int], ...]) -> int:
    """The offset of the value of the IE at `where` (§8.2 TLIV, nested in grouped IEs)."""
    for typ, inst in where:
        pos = start
        while True:
            if pos + 4 > end:
                raise _Decline
            length = int.from_bytes(data[pos + 1:pos + 3], "big")
            if data[pos] == typ and data[pos + 3] & 0x0F == inst:
                start, end = pos + 4, pos + 4 + length
                break
            pos += 4 + length
    return start


_PACK_U32 = struct.Struct(">I").pack_into
_WRITE_ULI = _ONE_TYPE[86]


def _from_template(spec: ref.MessageSpec, msg: Message) -> bytes | None:
    fields = msg.fields
    try:
        kept = _templates.get((spec.code, tuple(fields)))
        if kept is None:
            return _new_template(spec, msg)
        # §5.1: the header's TEID (octets 5-8) and Sequence Number (octets 9-11) vary
        values: list[Any] = [fields["teid"], fields["sequence"]]
        for template in kept:
            if _taken(template[0], fields, values):
                break
            del values[2:]
        else:
            return _new_template(spec, msg)
    except Exception:
        return _encode(spec, msg)  # not of a templated shape: encoded whole
    _plan, data, slots, own = template
    out = bytearray(data)
    try:
        for (offset, writer, size), value, was in zip(slots, values, own, strict=True):
            if value == was and value.__class__ is was.__class__:
                continue
            if writer == _U32:
                if value.__class__ is not int or not 0 <= value <= 0xFFFFFFFF:
                    raise _Decline
                _PACK_U32(out, offset, value)
            elif writer == _U24:
                out[offset:offset + 3] = _u(value, 24).to_bytes(3, "big")
            elif writer == _DIGITS:  # as many digits as the template's (the shape)
                packed = _bcd(value)
                out[offset:offset + len(packed)] = packed
            elif writer == _ULI_OCTETS:
                packed = _WRITE_ULI(value)
                if len(packed) != size:
                    raise _Decline
                out[offset:offset + len(packed)] = packed
            else:
                packed = _one_ip(value)
                if len(packed) != (4 if writer == _IPV4 else 16):
                    raise _Decline
                out[offset:offset + len(packed)] = packed
    except Exception:
        return _encode(spec, msg)  # a value it cannot write as it is: encoded whole
    return bytes(out)


def _new_template(spec: ref.MessageSpec, msg: Message) -> bytes | None:
    """The message encoded whole; its octets kept as the template of its shape, with the
    offset of each variable value."""
    data = _encode(spec, msg)
    fields = msg.fields
    if (data is None or fields.get("teid") is None or fields.get("sequence") is None
            or fields.get("piggybacked") is not None
            or fields.get("message_priority") is not None):
        return data
    values: list[Any] = [fields["teid"], fields["sequence"]]
    locators: list[_Locator] = [((), 4, _U32), ((), 8, _U24)]
    try:
        plan = _new_plan(spec.ies, fields, values, locators)
        slots = tuple((_value_at(data, 12, len(data), where) + offset if where else offset,
                       writer, len(_WRITE_ULI(value)) if writer == _ULI_OCTETS else 0)
                      for (where, offset, writer), value in zip(locators, values, strict=True))
        # the template's own values, as the message will no longer hold them
        own = tuple(copy.deepcopy(values))
    except Exception:
        return data
    if len(_templates) >= _TEMPLATES_KEPT:
        _templates.clear()
    kept = _templates.setdefault((spec.code, plan[0]), [])
    if len(kept) >= _TEMPLATES_PER_KEY:
        del kept[0]
    kept.append((plan, data, slots, own))
    return data


# the S11 messages of every attach (module docstring of corenet.nf.sgw_pgw.core)
_TEMPLATED = frozenset({"CreateSessionRequest", "CreateSessionResponse", "ModifyBearerRequest",
                        "ModifyBearerResponse"})


def encode(msg: Message) -> bytes | None:
    """The pycrate path's bytes for `msg`, or None to decline."""
    spec = ref._BY_NAME.get(msg.name)
    if spec is None or spec.code != msg.code or msg.protocol != ref.PROTOCOL:
        return None
    if msg.name in _TEMPLATED:
        return _from_template(spec, msg)
    return _encode(spec, msg)


def _encode(spec: ref.MessageSpec, msg: Message) -> bytes | None:
    try:
        fields = msg.fields
        body = _body(spec, fields)
        teid, prio = fields.get("teid"), fields.get("message_priority")
        piggy = fields.get("piggybacked")
        # §5.1: version 2, P, T, MP flags; Length counts what follows the first 4 octets
        tail = b"" if teid is None else _u(teid, 32).to_bytes(4, "big")
        tail += _u(fields.get("sequence", 0), 24).to_bytes(3, "big")
        tail += bytes((0 if prio is None else _u(prio, 4) << 4,))
        first = 0x40 | (0 if piggy is None else 0x10) | (0 if teid is None else 0x08) | (
            0 if prio is None else 0x04)
        data = bytes((first, spec.code)) + _u(len(tail) + len(body), 16).to_bytes(2, "big") + tail + body
        if piggy is not None:
            more = encode(piggy)
            if more is None:
                return None
            data += more
        return data
    except Exception:  # _Decline, or what the pycrate path rejects in its own words
        return None


# --------------------------------------------------------------------------------------------
# Decoding: §8 octets -> the reference's values, exact lengths only
# --------------------------------------------------------------------------------------------


# each octet with its nibbles swapped: BCD digits (low nibble first) read as hex text
_NIBBLES_SWAPPED = bytes(((octet & 0x0F) << 4) | (octet >> 4) for octet in range(256))


def _dec_bcd(raw: bytes) -> str:  # §8.3, §8.10, §8.11
    if not raw:
        raise _Decline
    # low nibble first; 0xF only as the filler of the last high nibble
    digits = raw.translate(_NIBBLES_SWAPPED).hex()
    if digits[-1] == "f":
        digits = digits[:-1]
    if not digits.isdigit():
        raise _Decline
    return digits


def _dec_cause(raw: bytes) -> dict[str, Any]:  # §8.4
    if len(raw) not in (2, 6):
        raise _Decline
    offending = None
    if len(raw) == 6:
        offending = {"type": raw[2], "length": int.from_bytes(raw[3:5], "big"),
                     "instance": raw[5] & 0x0F}
    return {"value": raw[0], "pce": bool(raw[1] & 4), "bce": bool(raw[1] & 2),
            "cs": bool(raw[1] & 1), "offending_ie": offending}


def _dec_int(size: int, mask: int = -1) -> Callable[[bytes], int]:
    def dec(raw: bytes) -> int:
        if len(raw) != size:
            raise _Decline
        return int.from_bytes(raw, "big") & mask
    return dec


def _dec_apn(raw: bytes) -> str:  # §8.6
    labels = []
    pos = 0
    while pos < len(raw):
        length = raw[pos]
        label = raw[pos + 1:pos + 1 + length]
        if length == 0 or len(label) != length or b"." in label or not label.isascii():
            raise _Decline
        labels.append(label.decode("ascii"))
        pos += 1 + length
    return ".".join(labels)


def _dec_ambr(raw: bytes) -> dict[str, int]:  # §8.7
    if len(raw) != 8:
        raise _Decline
    return {"ul_kbps": int.from_bytes(raw[:4], "big"), "dl_kbps": int.from_bytes(raw[4:], "big")}


def _ip(raw: bytes) -> str:
    if len(raw) not in (4, 16):
        raise _Decline
    return ref._ip_text(bytes(raw))


def _dec_indication(raw: bytes) -> dict[str, bool]:  # §8.12
    if not 1 <= len(raw) <= len(ref.INDICATION_FLAGS):
        raise _Decline
    flags: dict[str, bool] = {}
    for octet, names in zip(raw, ref.INDICATION_FLAGS, strict=False):
        for j, name in enumerate(names):
            if name is not None:
                flags[name] = bool(octet & (0x80 >> j))
    return flags


_PCO = G.PCO()
_TFT = G.BearerTFT()


def _dec_pycrate_ie(elt: Any) -> Callable[[bytes], bytes]:
    """PCO/TFT: the reference keeps pycrate's re-encoding; accept only what it keeps as is.
    The verdict on the last distinct values is kept: the UEs of a population send the same
    PCO, and their S/P-GW answers each with the same one."""
    @functools.lru_cache(maxsize=256)
    def kept(raw: bytes) -> bool:
        try:
            elt.from_bytes(raw)
            again = bytes(elt.to_bytes())
        except Exception:
            return False
        return again == raw

    def dec(raw: bytes) -> bytes:
        if not kept(bytes(raw)):
            raise _Decline
        return raw
    return dec


def _dec_paa(raw: bytes) -> dict[str, Any]:  # §8.14
    if not raw or raw[0] >> 3:
        raise _Decline
    pdn_type, addr = raw[0] & 7, raw[1:]
    out: dict[str, Any] = {"pdn_type": pdn_type, "ipv4": None, "ipv6": None,
                           "ipv6_prefix_length": None}
    if pdn_type == ref.PDN_IPV4 and len(addr) == 4:
        out["ipv4"] = _ip(addr)
    elif pdn_type == ref.PDN_IPV6 and len(addr) == 17:
        out["ipv6_prefix_length"], out["ipv6"] = addr[0], _ip(addr[1:])
    elif pdn_type == ref.PDN_IPV4V6 and len(addr) == 21:
        out["ipv6_prefix_length"], out["ipv6"] = addr[0], _ip(addr[1:17])
        out["ipv4"] = _ip(addr[17:])
    elif pdn_type in (ref.PDN_IPV4, ref.PDN_IPV6, ref.PDN_IPV4V6) or addr:
        raise _Decline
    return out


def _dec_qos(raw: bytes) -> dict[str, int]:  # §8.15
    if len(raw) != 22:
        raise _Decline
    rates = [int.from_bytes(raw[i:i + 5], "big") for i in range(2, 22, 5)]
    return {"pci": (raw[0] >> 6) & 1, "pl": (raw[0] >> 2) & 0xF, "pvi": raw[0] & 1, "qci": raw[1],
            "mbr_ul_kbps": rates[0], "mbr_dl_kbps": rates[1], "gbr_ul_kbps": rates[2],
            "gbr_dl_kbps": rates[3]}


def _plmn_text(raw: bytes) -> str:
    try:
        return ref._plmn_out(raw)
    except ref._InvalidIE:
        raise _Decline from None


def _dec_serving_network(raw: bytes) -> str:  # §8.18
    if len(raw) != 3:
        raise _Decline
    return _plmn_text(raw)


def _dec_ue_time_zone(raw: bytes) -> dict[str, int]:  # §8.44, TS 24.008 §10.5.3.8
    if len(raw) != 2 or raw[0] >> 4 > 9 or raw[1] & 0xFC:
        raise _Decline  # not BCD, spare bits or extra octets: the reference decides
    value = (raw[0] & 0x07) * 10 + (raw[0] >> 4)
    return {"time_zone": -value if raw[0] & 0x08 else value, "daylight_saving_time": raw[1] & 0x03}


# §8.21: (name, flag bit, size, field names) in the order the parts follow the flags octet
_ULI_PARTS = (("cgi", 0, 7, ("lac", "ci")), ("sai", 1, 7, ("lac", "sac")),
              ("rai", 2, 7, ("lac", "rac")), ("tai", 3, 5, ("tac",)),
              ("ecgi", 4, 7, ("eci",)), ("lai", 5, 5, ("lac",)))


def _dec_uli(raw: bytes) -> dict[str, Any]:
    if not raw or raw[0] & 0xC0:
        raise _Decline  # macro eNB ID parts: the reference does not take them
    flags, pos = raw[0], 1
    out: dict[str, Any] = {}
    for name, bit, size, names in _ULI_PARTS:
        if not flags & (1 << bit):
            continue
        part = raw[pos:pos + size]
        if len(part) != size:
            raise _Decline
        item: dict[str, Any] = {"plmn": _plmn_text(part[:3])}
        if name == "ecgi":
            item["eci"] = int.from_bytes(part[3:], "big") & 0x0FFFFFFF
        elif name == "rai":
            item["lac"], item["rac"] = int.from_bytes(part[3:5], "big"), part[5]
        else:
            for i, field in enumerate(names):
                item[field] = int.from_bytes(part[3 + 2 * i:5 + 2 * i], "big")
        out[name] = item
        pos += size
    if pos != len(raw):
        raise _Decline
    return out


def _dec_fteid(raw: bytes) -> dict[str, Any]:  # §8.22
    if not raw:
        raise _Decline
    v4, v6 = raw[0] >> 7, (raw[0] >> 6) & 1
    if not (v4 or v6) or len(raw) != 5 + 4 * v4 + 16 * v6:
        raise _Decline
    return {"interface_type": raw[0] & 0x3F, "teid": int.from_bytes(raw[1:5], "big"),
            "ipv4": _ip(raw[5:9]) if v4 else None,
            "ipv6": _ip(raw[5 + 4 * v4:]) if v6 else None}


_MEMO_KEPT = 1024  # distinct values kept per IE type (a population sends a few)


def _memo(dec: Callable[[bytes], Any], copy: Callable[[Any], Any]) -> Callable[[bytes], Any]:
    """`dec` once per distinct value: the UEs of a population send the same cell, QoS, AMBR,
    APN, indication flags, and their S/P-GW answers each with the same. Each call gets its own
    `copy` of a mutable value; what `dec` declines is not kept (it declines again)."""
    known: dict[bytes, Any] = {}

    def memo(raw: bytes) -> Any:
        value = known.get(raw)
        if value is None:
            value = dec(raw)
            if len(known) >= _MEMO_KEPT:
                known.clear()
            known[raw] = value
        return copy(value)
    return memo


def _same(value: Any) -> Any:
    return value


def _copy_uli(value: dict[str, Any]) -> dict[str, Any]:
    return {name: dict(part) for name, part in value.items()}


_DECODE_TYPE: dict[int, Callable[[bytes], Any]] = {
    1: _dec_bcd, 2: _dec_cause, 3: _dec_int(1), 71: _memo(_dec_apn, _same),
    72: _memo(_dec_ambr, dict), 73: _dec_int(1, 0x0F), 74: _ip, 75: _dec_bcd, 76: _dec_bcd,
    77: _memo(_dec_indication, dict), 78: _dec_pycrate_ie(_PCO), 79: _dec_paa,
    80: _memo(_dec_qos, dict), 82: _dec_int(1), 83: _memo(_dec_serving_network, _same),
    84: _dec_pycrate_ie(_TFT), 86: _memo(_dec_uli, _copy_uli), 87: _dec_fteid,
    94: _dec_int(4), 95: _dec_int(2), 99: _dec_int(1, 0x07), 100: _dec_int(1),
    114: _memo(_dec_ue_time_zone, dict), 127: _dec_int(1), 128: _dec_int(1, 0x03),
}


# how `_decode_ies` reads an IE of a message or grouped IE, by its type and instance (type << 4
# | instance): its key, the value's reader (None for a grouped IE), whether it repeats, the group
_DecEntry = tuple[str, Callable[[bytes], Any] | None, bool, tuple[ref.IESpec, ...]]
_DEC_PLANS: dict[int, tuple[tuple[ref.IESpec, ...], dict[int, _DecEntry], tuple[str, ...]]] = {}
_IE_HEAD = struct.Struct(">BHB").unpack_from


def _dec_declined(raw: bytes) -> Any:
    raise _Decline


def _dec_plan(ies: tuple[ref.IESpec, ...]) -> tuple[dict[int, _DecEntry], tuple[str, ...]]:
    """The readers of `ies` and its mandatory keys, made once per message or grouped IE (kept
    with the tuple by identity, as `_mandatory`)."""
    known = _DEC_PLANS.get(id(ies))
    if known is None or known[0] is not ies:
        table = {(spec.type << 4) | spec.instance: (
            spec.key, None if spec.group else _DECODE_TYPE.get(spec.type, _dec_declined),
            spec.multiple, spec.group) for spec in ies}
        known = _DEC_PLANS[id(ies)] = (ies, table, _mandatory(ies))
    return known[1], known[2]


def _decode_ies(data: bytes, ies: tuple[ref.IESpec, ...], message_level: bool) -> dict[str, Any]:
    table, mandatory = _dec_plan(ies)
    fields: dict[str, Any] = {}
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 4:
            raise _Decline
        typ, length, inst = _IE_HEAD(data, pos)
        raw = data[pos + 4:pos + 4 + length]
        pos += 4 + length
        # spare bits, unknown or repeated IEs, extended types: the reference (other_ies)
        entry = None if len(raw) != length or inst > 0x0F else table.get((typ << 4) | inst)
        if entry is None:
            raise _Decline
        key, read, multiple, group = entry
        value = _decode_ies(raw, group, False) if read is None else read(raw)
        if multiple:
            fields.setdefault(key, []).append(value)
        elif key in fields:
            raise _Decline
        else:
            fields[key] = value
    # §7.7.5 mandatory IEs; a rejection response needs only its Cause (Table 8.4-1)
    if mandatory:
        rejected = message_level and ref._rejected(fields)
        for key in mandatory:
            if key not in fields and not (rejected and key != "cause"):
                raise _Decline
    return fields


_MANDATORY: dict[int, tuple[tuple[ref.IESpec, ...], tuple[str, ...]]] = {}


def _mandatory(ies: tuple[ref.IESpec, ...]) -> tuple[str, ...]:
    """The keys of the mandatory IEs of `ies` (a message's or a grouped IE's: a few fixed
    tuples, kept with them by identity)."""
    known = _MANDATORY.get(id(ies))
    if known is None or known[0] is not ies:
        known = _MANDATORY[id(ies)] = (ies, tuple(s.key for s in ies if s.mandatory))
    return known[1]


def _decode(data: bytes) -> Message:
    if len(data) < 8 or data[0] >> 5 != 2 or data[0] & 0x03:
        raise _Decline
    t_flag, mp_flag, p_flag = (data[0] >> 3) & 1, (data[0] >> 2) & 1, (data[0] >> 4) & 1
    hlen = 12 if t_flag else 8
    total = 4 + int.from_bytes(data[2:4], "big")
    spec = ref._BY_CODE.get(data[1])
    if spec is None or total < hlen or total > len(data) or (total < len(data) and not p_flag):
        raise _Decline
    fields: dict[str, Any] = {"teid": int.from_bytes(data[4:8], "big") if t_flag else None,
                              "sequence": int.from_bytes(data[hlen - 4:hlen - 1], "big")}
    if mp_flag:
        fields["message_priority"] = data[hlen - 1] >> 4
    fields.update(_decode_ies(data[hlen:total], spec.ies, True))
    if total < len(data):
        fields["piggybacked"] = _decode(data[total:])
    return Message(ref.PROTOCOL, spec.name, spec.code, fields)


# --------------------------------------------------------------------------------------------
# Decode templates (TS 29.274 §7.2.1, §7.2.2, §7.2.7, §7.2.8, §7.2.21, §7.2.22): the Create
# Session, Modify Bearer and Release Access Bearers Requests an S/P-GW receives and the
# responses an MME receives differ from one UE to the next only in the header's TEID and
# Sequence Number and the values of a few IEs: IMSI, MEI, MSISDN (§8.3, §8.10, §8.11), F-TEIDs
# (§8.22), PDN address (§8.14), charging ID (§8.29). A message whose every
# other octet equals a decoded message's (same length, so the same IE headers and lengths: the
# same IEs at the same places) decodes to that message's values with those IEs read anew by the
# same readers: what `_decode` gives, refusals included. Anything else goes through `_decode`.
# --------------------------------------------------------------------------------------------

# Create Session, Modify Bearer, Release Access Bearers Request and Response
_DEC_TEMPLATED = frozenset({32, 33, 34, 35, 170, 171})
_VARYING_TYPES = frozenset({1, 75, 76, 87, 79, 94})
_DEC_TEMPLATES_KEPT = 256  # (message type, length) keys, each with the last few templates
_DEC_TEMPLATES_PER_KEY = 4
# an IE of a template: key, repeated, how its value is made (_CONST: a copy of the template's;
# _VAR: its reader on the message's octets; _GROUP: the group's IEs), then the value and its
# copier, the value's (start, end) and reader, or the group's plan
_CONST, _VAR, _GROUP = range(3)
_DecStep = tuple[str, bool, int, Any, Any]
# the template's plan, its constant octets as (start, end, octets) and the header's slots
_DecTemplate = tuple[tuple[_DecStep, ...], tuple[tuple[int, int, bytes], ...], bool]
_dec_templates: dict[tuple[int, int], list[_DecTemplate]] = {}


def _copier(value: Any) -> Callable[[Any], Any]:
    """How each message gets its own copy of a constant value (as `_memo` gives it)."""
    if value is None or value.__class__ in (int, str, bytes, bool):
        return _same
    if value.__class__ is dict:
        kinds = {v.__class__ for v in value.values()}
        if kinds <= {int, str, bytes, bool, type(None)}:
            return dict
        if kinds == {dict} and all({w.__class__ for w in v.values()} <= {int, str, bool}
                                   for v in value.values()):
            return _copy_uli
    raise _Decline


def _dec_steps(data: bytes, pos: int, end: int, ies: tuple[ref.IESpec, ...],
               varying: list[tuple[int, int]]) -> tuple[_DecStep, ...]:
    """The plan of the IEs of data[pos:end], read as `_decode_ies` reads them (which has
    accepted them); the value octets of the varying IEs go to `varying`."""
    table, _ = _dec_plan(ies)
    steps: list[_DecStep] = []
    while pos < end:
        typ, length, inst = _IE_HEAD(data, pos)
        start, pos = pos + 4, pos + 4 + length
        key, read, multiple, group = table[(typ << 4) | inst]
        if read is None:
            steps.append((key, multiple, _GROUP, _dec_steps(data, start, pos, group, varying), None))
        elif typ in _VARYING_TYPES:
            varying.append((start, pos))
            steps.append((key, multiple, _VAR, (start, pos), read))
        else:
            value = read(data[start:pos])
            steps.append((key, multiple, _CONST, value, _copier(value)))
    return tuple(steps)


def _new_dec_template(data: bytes) -> None:
    """`data` (accepted by `_decode`, no piggybacked message) kept as a template."""
    t_flag, hlen = bool(data[0] & 0x08), 12 if data[0] & 0x08 else 8
    varying = [(4, 8)] if t_flag else []
    varying.append((hlen - 4, hlen - 1))
    try:
        plan = _dec_steps(data, hlen, len(data), ref._BY_CODE[data[1]].ies, varying)
    except Exception:  # a value of another form than the readers give: no template
        return
    constant, pos = [], 0
    for start, end in varying:
        if start > pos:
            constant.append((pos, start, data[pos:start]))
        pos = end
    if pos < len(data):
        constant.append((pos, len(data), data[pos:]))
    if len(_dec_templates) >= _DEC_TEMPLATES_KEPT:
        _dec_templates.clear()
    kept = _dec_templates.setdefault((data[1], len(data)), [])
    if len(kept) >= _DEC_TEMPLATES_PER_KEY:
        del kept[0]
    kept.append((plan, tuple(constant), t_flag))


def _build(steps: tuple[_DecStep, ...], data: bytes) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, multiple, how, a, b in steps:
        if how == _CONST:
            value = b(a)
        elif how == _VAR:
            value = b(data[a[0]:a[1]])
        else:
            value = _build(a, data)
        if multiple:
            fields.setdefault(key, []).append(value)
        else:
            fields[key] = value
    return fields


def _from_dec_template(data: bytes) -> Message:
    for plan, constant, t_flag in _dec_templates.get((data[1], len(data)), ()):
        for start, end, octets in constant:
            if data[start:end] != octets:
                break
        else:
            hlen = 12 if t_flag else 8
            fields: dict[str, Any] = {
                "teid": int.from_bytes(data[4:8], "big") if t_flag else None,
                "sequence": int.from_bytes(data[hlen - 4:hlen - 1], "big")}
            if data[0] & 0x04:
                fields["message_priority"] = data[hlen - 1] >> 4
            fields.update(_build(plan, data))
            spec = ref._BY_CODE[data[1]]
            return Message(ref.PROTOCOL, spec.name, spec.code, fields)
    msg = _decode(data)
    if "piggybacked" not in msg.fields:
        _new_dec_template(data)
    return msg


def decode(data: bytes) -> Message | None:
    """The pycrate path's Message for `data`, or None to decline (every rejection included)."""
    try:
        data = bytes(data)
        if len(data) > 11 and data[1] in _DEC_TEMPLATED:
            return _from_dec_template(data)
        return _decode(data)
    except Exception:
        return None


fast_path(ref.PROTOCOL).install(encode, decode)
