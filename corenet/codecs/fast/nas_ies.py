"""NAS EPS IE value parts (TS 24.301 §9.9, TS 24.008 §10.5) and the security protected
message header (TS 24.301 §9.1), without pycrate.

Each function here stands for one `corenet.codecs.nas_ies` conversion (`REPLACES` maps the
reference function to its fast one) and returns exactly what the reference returns, or raises
`Decline` so that the message goes through the reference: a value outside what it vouches for,
any octet the reference would judge (spare bits set, lengths that do not fit, non-BCD digits).

The IEs whose values repeat from one UE to the next (emergency number list, network names,
EPS network feature support) keep the reference's conversion behind a bounded memo of its
results: identical by construction, and the pycrate element work is done once per value.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from corenet.codecs import nas_ies as ref
from corenet.codecs.selection import SECURITY_PROTOCOL, fast_path
from corenet.core.plmn import Plmn


class Decline(Exception):
    """Outside the fast set: the reference conversion takes the value."""


# --------------------------------------------------------------------------------------------
# Digits and PLMNs (TS 24.008 §10.5.1.3, §10.5.1.4)
# --------------------------------------------------------------------------------------------


def _plmn_from(raw: bytes) -> Plmn:
    """MCC digit 2 | MCC digit 1, MNC digit 3 | MCC digit 3, MNC digit 2 | MNC digit 1.

    One (immutable) Plmn per distinct value, shared by the GUTIs and TAIs that carry it
    (bounded: cleared when full)."""
    key = bytes(raw[:3])
    plmn = _PLMNS.get(key)
    if plmn is not None:
        return plmn
    mcc1, mcc2, mcc3 = raw[0] & 0x0F, raw[0] >> 4, raw[1] & 0x0F
    mnc3, mnc1, mnc2 = raw[1] >> 4, raw[2] & 0x0F, raw[2] >> 4
    if max(mcc1, mcc2, mcc3, mnc1, mnc2) > 9 or (mnc3 > 9 and mnc3 != 0xF):
        raise Decline
    plmn = Plmn(f"{mcc1}{mcc2}{mcc3}", f"{mnc1}{mnc2}" + ("" if mnc3 == 0xF else str(mnc3)))
    if len(_PLMNS) >= 1024:
        _PLMNS.clear()
    _PLMNS[key] = plmn
    return plmn


_PLMNS: dict[bytes, Plmn] = {}


def _plmn_bytes(plmn: Any) -> bytes:
    if type(plmn) is not Plmn:
        raise Decline
    return plmn.to_bytes()


def _digits_identity(type_code: int, digits: str) -> bytes:
    """Identity digit 1 | odd/even | type, then digit pairs, filler 1111 when even; `digits`
    ASCII digits (`_ascii_digits`)."""
    odd = len(digits) % 2
    # each pair read as hex puts its first digit in bits 5-8: swapped into bits 1-4
    rest = bytes.fromhex(digits[1:] if odd else digits[1:] + "f").translate(_NIBBLES_SWAPPED)
    return bytes((((ord(digits[0]) - 0x30) << 4) | (odd << 3) | type_code,)) + rest


_NIBBLES_SWAPPED = bytes(((b & 0x0F) << 4) | (b >> 4) for b in range(256))


# each octet after the first: digit 2k in bits 1-4, digit 2k+1 in bits 5-8 (hex, so that a
# nibble above 9 shows as a letter)
_DIGIT_PAIRS = [f"{b & 0x0F:x}{b >> 4:x}" for b in range(256)]


def _identity_digits(raw: bytes) -> str:
    digits = f"{raw[0] >> 4:x}" + "".join(map(_DIGIT_PAIRS.__getitem__, raw[1:]))
    if not raw[0] & 0x08:
        if digits[-1] != "f":
            raise Decline  # an even number of digits ends with the filler 1111
        digits = digits[:-1]
    if not digits.isdigit():
        raise Decline
    return digits


def _ascii_digits(value: Any, lengths: range) -> str:
    if type(value) is not str or not value.isascii() or not value.isdigit() or len(value) not in lengths:
        raise Decline
    return value


# --------------------------------------------------------------------------------------------
# Identities
# --------------------------------------------------------------------------------------------


def eps_mobile_identity_to_wire(identity: dict[str, Any]) -> bytes:
    """TS 24.301 §9.9.3.12: GUTI (type 6), IMSI (1), IMEI (3)."""
    kind, value = identity["type"], identity["value"]
    if kind == "guti":
        if type(value) is not ref.Guti:
            raise Decline
        if not (0 <= value.mme_group_id <= 0xFFFF and 0 <= value.mme_code <= 0xFF
                and 0 <= value.m_tmsi <= 0xFFFFFFFF):
            raise Decline
        return (b"\xf6" + _plmn_bytes(value.plmn) + value.mme_group_id.to_bytes(2, "big")
                + bytes((value.mme_code,)) + value.m_tmsi.to_bytes(4, "big"))
    if kind == "imsi":
        return _digits_identity(1, _ascii_digits(value, range(6, 16)))
    if kind == "imei":
        return _digits_identity(3, _ascii_digits(value, range(15, 16)))
    raise Decline


def eps_mobile_identity_from_wire(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise Decline
    typ = raw[0] & 0x07
    if typ == 6:
        if len(raw) != 11 or raw[0] != 0xF6:
            raise Decline
        guti = ref.Guti(_plmn_from(raw[1:4]), int.from_bytes(raw[4:6], "big"), raw[6],
                        int.from_bytes(raw[7:11], "big"))
        return ref.guti_identity(guti)
    if typ in (1, 3) and 2 <= len(raw) <= 9:
        return {"type": "imsi" if typ == 1 else "imei", "value": _identity_digits(raw)}
    raise Decline


_MOBILE_DIGIT_TYPES = {"imsi": 1, "imei": 2, "imeisv": 3}
_MOBILE_TYPE_NAMES = {1: "imsi", 2: "imei", 3: "imeisv"}


def mobile_identity_to_wire(identity: dict[str, Any]) -> bytes:
    """TS 24.008 §10.5.1.4: IMSI, IMEI, IMEISV digits; TMSI (type 4) as 4 octets."""
    kind, value = identity["type"], identity.get("value")
    if kind == "tmsi":
        if type(value) is not int or not 0 <= value <= 0xFFFFFFFF:
            raise Decline
        return b"\xf4" + value.to_bytes(4, "big")
    typ = _MOBILE_DIGIT_TYPES.get(kind)
    if typ is None:
        raise Decline
    return _digits_identity(typ, _ascii_digits(value, range(6, 17)))


def mobile_identity_from_wire(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise Decline
    typ = raw[0] & 0x07
    if typ == 4:
        if len(raw) != 5 or raw[0] != 0xF4:
            raise Decline
        return {"type": "tmsi", "value": int.from_bytes(raw[1:], "big")}
    name = _MOBILE_TYPE_NAMES.get(typ)
    if name is None or not 2 <= len(raw) <= 9:
        raise Decline
    return {"type": name, "value": _identity_digits(raw)}


# --------------------------------------------------------------------------------------------
# Tracking areas and PLMN lists (TS 24.301 §9.9.3.33, TS 24.008 §10.5.1.13)
# --------------------------------------------------------------------------------------------


def tai_list_to_wire(tais: list[ref.Tai]) -> bytes:
    """Type 00 (one PLMN, its TACs) when the TAIs share a PLMN, else type 10 (TAIs)."""
    if type(tais) is not list or not 1 <= len(tais) <= 16:
        raise Decline
    if any(type(t) is not ref.Tai or type(t.tac) is not int or not 0 <= t.tac <= 0xFFFF
           for t in tais):
        raise Decline
    count = len(tais) - 1
    if len({t.plmn for t in tais}) == 1:
        return (bytes((count,)) + _plmn_bytes(tais[0].plmn)
                + b"".join(t.tac.to_bytes(2, "big") for t in tais))
    return bytes((0x40 | count,)) + b"".join(_plmn_bytes(t.plmn) + t.tac.to_bytes(2, "big")
                                             for t in tais)


def tai_list_from_wire(raw: bytes) -> list[ref.Tai]:
    out: list[ref.Tai] = []
    pos = 0
    while pos < len(raw):
        head = raw[pos]
        kind, count = (head >> 5) & 0x03, (head & 0x1F) + 1
        if head & 0x80:
            raise Decline
        pos += 1
        if kind == 0:
            end = pos + 3 + 2 * count
            if end > len(raw):
                raise Decline
            plmn = _plmn_from(raw[pos:pos + 3])
            out.extend(ref.Tai(plmn, int.from_bytes(raw[i:i + 2], "big"))
                       for i in range(pos + 3, end, 2))
        elif kind == 2:
            end = pos + 5 * count
            if end > len(raw):
                raise Decline
            out.extend(ref.Tai(_plmn_from(raw[i:i + 3]), int.from_bytes(raw[i + 3:i + 5], "big"))
                       for i in range(pos, end, 5))
        else:
            raise Decline
        pos = end
    if not out:
        raise Decline
    return out


def plmn_list_from_wire(raw: bytes) -> list[Plmn]:
    if not raw or len(raw) % 3:
        raise Decline
    return [_plmn_from(raw[i:i + 3]) for i in range(0, len(raw), 3)]


# --------------------------------------------------------------------------------------------
# Timers, time zone, time (TS 24.008 §10.5.7.3, §10.5.3.8, §10.5.3.9)
# --------------------------------------------------------------------------------------------

_TIMER_STEPS = {0: 2, 1: 60, 2: 360}


def gprs_timer_to_wire(seconds: int | None) -> bytes:
    """Unit (bits 6-8) and value (bits 1-5); unit 111 = deactivated."""
    if seconds is None:
        return b"\xe0"
    if type(seconds) is not int:
        raise Decline
    for unit, step in ((0, 2), (1, 60), (2, 360)):
        if seconds % step == 0 and 0 <= seconds // step <= 31:
            return bytes(((unit << 5) | seconds // step,))
    raise Decline


def gprs_timer_from_wire(raw: bytes) -> int | None:
    if len(raw) != 1:
        raise Decline
    unit, value = raw[0] >> 5, raw[0] & 0x1F
    if unit == 7:
        return None
    return value * _TIMER_STEPS.get(unit, 60)  # §10.5.7.3: other units count minutes


def _tz_octet(quarters: Any) -> int:
    """TS 23.040 §9.2.3.11: units digit in bits 5-8, sign in bit 4, tens digit in bits 1-3."""
    if type(quarters) is not int or not -79 <= quarters <= 79:
        raise Decline
    mag = abs(quarters)
    return ((mag % 10) << 4) | (int(quarters < 0) << 3) | (mag // 10)


def _tz_value(octet: int) -> int:
    units, sign, tens = octet >> 4, (octet >> 3) & 1, octet & 0x07
    if units > 9:
        raise Decline
    value = tens * 10 + units
    return -value if sign else value


def time_zone_to_wire(quarters: int) -> bytes:
    return bytes((_tz_octet(quarters),))


def time_zone_from_wire(raw: bytes) -> int:
    if len(raw) != 1:
        raise Decline
    return _tz_value(raw[0])


def universal_time_to_wire(value: dict[str, Any]) -> bytes:
    """Year (from 2000), month, day, hour, minute, second as swapped BCD, then the time zone."""
    when = value["time"]
    if type(when) is not datetime:
        raise Decline
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    parts = (when.year - 2000, when.month, when.day, when.hour, when.minute, when.second)
    if not all(0 <= p <= 99 for p in parts):
        raise Decline
    return (bytes((p % 10) << 4 | p // 10 for p in parts)
            + bytes((_tz_octet(value.get("time_zone", 0)),)))


def universal_time_from_wire(raw: bytes) -> dict[str, Any]:
    if len(raw) != 7:
        raise Decline
    parts = []
    for octet in raw[:6]:
        units, tens = octet >> 4, octet & 0x0F
        if units > 9 or tens > 9:
            raise Decline
        parts.append(tens * 10 + units)
    year, month, day, hour, minute, second = parts
    try:
        when = datetime(2000 + year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise Decline from None
    return {"time": when, "time_zone": _tz_value(raw[6])}


# --------------------------------------------------------------------------------------------
# Security (TS 24.301 §9.9.3.23) and the security protected message (§9.1)
# --------------------------------------------------------------------------------------------


def nas_security_algorithms_to_wire(value: dict[str, int]) -> bytes:
    eea, eia = value["eea"], value["eia"]
    if type(eea) is not int or type(eia) is not int or not (0 <= eea <= 7 and 0 <= eia <= 7):
        raise Decline
    return bytes(((eea << 4) | eia,))


def nas_security_algorithms_from_wire(raw: bytes) -> dict[str, int]:
    if len(raw) != 1:
        raise Decline
    return {"eea": (raw[0] >> 4) & 0x07, "eia": raw[0] & 0x07}


def security_protected(security_header_type: int, mac: bytes, sqn: int, payload: bytes) -> bytes:
    """Security header type | PD 0111, MAC (4 octets), sequence number, NAS message."""
    if (type(security_header_type) is not int or not 0 <= security_header_type <= 15
            or type(mac) is not bytes or len(mac) != 4 or type(sqn) is not int
            or not 0 <= sqn <= 255 or type(payload) is not bytes):
        raise Decline
    return bytes(((security_header_type << 4) | 0x07,)) + mac + bytes((sqn,)) + payload


def parse_protected(data: bytes) -> tuple[int, bytes, int, bytes]:
    """(security header type, MAC, SQN, NAS message) of 8 octets or more."""
    data = bytes(data)
    if len(data) < 8:
        raise Decline
    return data[0] >> 4, data[1:5], data[5], data[6:]


def _security_protected_or_none(security_header_type: int, mac: bytes, sqn: int,
                                payload: bytes) -> bytes | None:
    try:
        return security_protected(security_header_type, mac, sqn, payload)
    except Decline:
        return None


def _parse_protected_or_none(data: bytes) -> tuple[int, bytes, int, bytes] | None:
    try:
        return parse_protected(data)
    except Decline:
        return None


# the security protected header of TS 24.301 §9.1 as the fast path of codecs.nas's framing
fast_path(SECURITY_PROTOCOL).install(_security_protected_or_none, _parse_protected_or_none)


# --------------------------------------------------------------------------------------------
# ESM IEs (TS 24.301 §9.9.4)
# --------------------------------------------------------------------------------------------


def apn_to_wire(apn: str) -> bytes:
    """TS 23.003 §9.1: each label after its length octet."""
    if type(apn) is not str or not apn or len(apn) > 100 or not apn.isascii():
        raise Decline
    labels = apn.split(".")
    if any(not 1 <= len(label) <= 63 for label in labels):
        raise Decline
    return b"".join(bytes((len(label),)) + label.encode("ascii") for label in labels)


def apn_from_wire(raw: bytes) -> str:
    labels = []
    pos = 0
    while pos < len(raw):
        length = raw[pos]
        label = raw[pos + 1:pos + 1 + length]
        if not length or len(label) != length or b"." in label or not label.isascii():
            raise Decline
        labels.append(label.decode("ascii"))
        pos += 1 + length
    if not labels:
        raise Decline
    return ".".join(labels)


def apn_ambr_to_wire(value: dict[str, int]) -> bytes:
    """§9.9.4.2: octets 3-4, extended 5-6 and extended-2 7-8 when a rate needs them."""
    dl, ul = value["downlink"], value["uplink"]
    if type(dl) is not int or type(ul) is not int:
        raise Decline
    d = ref._apn_ambr_code(dl)
    u = ref._apn_ambr_code(ul)
    if not all(0 <= c <= 255 for c in d + u):
        raise Decline
    out = bytes((d[0], u[0]))
    if d[1] or u[1] or d[2] or u[2]:
        out += bytes((d[1], u[1]))
    if d[2] or u[2]:
        out += bytes((d[2], u[2]))
    return out


_QOS_RATES = ("max_ul", "max_dl", "gbr_ul", "gbr_dl")


def eps_qos_to_wire(value: dict[str, int]) -> bytes:
    """§9.9.4.3: QCI, then the four rates and their extended octets when given."""
    qci = value["qci"]
    if type(qci) is not int or not 0 <= qci <= 255:
        raise Decline
    if not any(k in value for k in _QOS_RATES):
        return bytes((qci,))
    rates = [value.get(k, 0) for k in _QOS_RATES]
    if any(type(r) is not int for r in rates):
        raise Decline
    codes = [ref._bitrate_code(r) for r in rates]
    out = bytes((qci,)) + bytes(c[0] for c in codes)
    if any(c[1] for c in codes):
        out += bytes(c[1] for c in codes)
    return out


def eps_qos_from_wire(raw: bytes) -> dict[str, int]:
    if len(raw) not in (1, 5, 9):
        raise Decline
    out = {"qci": raw[0]}
    if len(raw) >= 5:
        ext = raw[5:9] if len(raw) >= 9 else b"\x00\x00\x00\x00"
        for i, key in enumerate(_QOS_RATES):
            out[key] = ref._bitrate_value(raw[1 + i], ext[i])
    return out


def pdn_address_to_wire(value: dict[str, Any]) -> bytes:
    """§9.9.4.9: spare bits and PDN type, then the IPv6 interface identifier and/or IPv4."""
    pdn_type = value["pdn_type"]
    if type(pdn_type) is not int or pdn_type not in (1, 2, 3):
        raise Decline
    addr = b""
    if pdn_type in (2, 3):
        iid = value["ipv6_interface_identifier"]
        if type(iid) is not bytes or len(iid) != 8:
            raise Decline
        addr += iid
    if pdn_type in (1, 3):
        v4 = value["ipv4"]
        if type(v4) is not str:
            raise Decline
        try:
            packed = socket.inet_pton(socket.AF_INET, v4)
        except (OSError, ValueError):
            raise Decline from None
        if socket.inet_ntop(socket.AF_INET, packed) != v4:
            raise Decline  # not the dotted decimal text the reference gives back
        addr += packed
    return bytes((pdn_type,)) + addr


def pdn_address_from_wire(raw: bytes) -> dict[str, Any]:
    if not raw or raw[0] >> 3:
        raise Decline
    pdn_type = raw[0]
    if {1: 5, 2: 9, 3: 13}.get(pdn_type) != len(raw):
        raise Decline
    out: dict[str, Any] = {"pdn_type": pdn_type}
    addr = raw[1:]
    if pdn_type in (2, 3):
        out["ipv6_interface_identifier"] = addr[:8]
        addr = addr[8:]
    if pdn_type in (1, 3):
        out["ipv4"] = socket.inet_ntop(socket.AF_INET, addr)  # as str(IPv4Address)
    return out


# --------------------------------------------------------------------------------------------
# Values that repeat from UE to UE: the reference's own conversion, once per value
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _emergency_to_wire(numbers: tuple[ref.EmergencyNumber, ...]) -> bytes:
    return ref.emergency_number_list_to_wire(list(numbers))


def emergency_number_list_to_wire(numbers: list[ref.EmergencyNumber]) -> bytes:
    if type(numbers) is not list or any(type(n) is not ref.EmergencyNumber for n in numbers):
        raise Decline
    return _emergency_to_wire(tuple(numbers))


@lru_cache(maxsize=256)
def _emergency_from_wire(raw: bytes) -> tuple[ref.EmergencyNumber, ...]:
    return tuple(ref.emergency_number_list_from_wire(raw))


def emergency_number_list_from_wire(raw: bytes) -> list[ref.EmergencyNumber]:
    return list(_emergency_from_wire(bytes(raw)))


@lru_cache(maxsize=256)
def _network_name_to_wire(name: ref.NetworkNameValue) -> bytes:
    return ref.network_name_to_wire(name)


def network_name_to_wire(name: ref.NetworkNameValue | str) -> bytes:
    if type(name) is str:
        name = ref.NetworkNameValue(name)
    if type(name) is not ref.NetworkNameValue:
        raise Decline
    return _network_name_to_wire(name)


network_name_from_wire = lru_cache(maxsize=256)(ref.network_name_from_wire)


@lru_cache(maxsize=64)
def _net_feat_to_wire(flags: tuple[tuple[str, int], ...]) -> bytes:
    return ref.eps_network_feature_support_to_wire(dict(flags))


def eps_network_feature_support_to_wire(flags: dict[str, int]) -> bytes:
    if type(flags) is not dict or any(type(v) is not int for v in flags.values()):
        raise Decline
    return _net_feat_to_wire(tuple(flags.items()))


@lru_cache(maxsize=64)
def _net_feat_from_wire(raw: bytes) -> tuple[tuple[str, int], ...]:
    return tuple(ref.eps_network_feature_support_from_wire(raw).items())


def eps_network_feature_support_from_wire(raw: bytes) -> dict[str, int]:
    return dict(_net_feat_from_wire(bytes(raw)))


REPLACES: dict[Callable[..., Any], Callable[..., Any]] = {
    ref.eps_mobile_identity_to_wire: eps_mobile_identity_to_wire,
    ref.eps_mobile_identity_from_wire: eps_mobile_identity_from_wire,
    ref.mobile_identity_to_wire: mobile_identity_to_wire,
    ref.mobile_identity_from_wire: mobile_identity_from_wire,
    ref.tai_list_to_wire: tai_list_to_wire,
    ref.tai_list_from_wire: tai_list_from_wire,
    ref.plmn_list_from_wire: plmn_list_from_wire,
    ref.gprs_timer_to_wire: gprs_timer_to_wire,
    ref.gprs_timer_from_wire: gprs_timer_from_wire,
    ref.time_zone_to_wire: time_zone_to_wire,
    ref.time_zone_from_wire: time_zone_from_wire,
    ref.universal_time_to_wire: universal_time_to_wire,
    ref.universal_time_from_wire: universal_time_from_wire,
    ref.nas_security_algorithms_to_wire: nas_security_algorithms_to_wire,
    ref.nas_security_algorithms_from_wire: nas_security_algorithms_from_wire,
    ref.apn_to_wire: apn_to_wire,
    ref.apn_from_wire: apn_from_wire,
    ref.apn_ambr_to_wire: apn_ambr_to_wire,
    ref.eps_qos_to_wire: eps_qos_to_wire,
    ref.eps_qos_from_wire: eps_qos_from_wire,
    ref.pdn_address_to_wire: pdn_address_to_wire,
    ref.pdn_address_from_wire: pdn_address_from_wire,
    ref.emergency_number_list_to_wire: emergency_number_list_to_wire,
    ref.emergency_number_list_from_wire: emergency_number_list_from_wire,
    ref.network_name_to_wire: network_name_to_wire,
    ref.network_name_from_wire: network_name_from_wire,
    ref.eps_network_feature_support_to_wire: eps_network_feature_support_to_wire,
    ref.eps_network_feature_support_from_wire: eps_network_feature_support_from_wire,
}
