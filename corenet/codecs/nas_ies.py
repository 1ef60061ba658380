"""NAS EPS information elements: Python values <-> IE value parts, encoded with pycrate.

Every function here works on the *value part* of one IE (no IEI, no length): `*_to_wire`
builds it with the pycrate IE structure, `*_from_wire` decodes it with the same structure.
The message layer (`corenet.codecs.nas`) places value parts into pycrate message classes.

`*_from_wire` functions raise ValueError (or let pycrate raise) on malformed input; the message
layer turns that into `DecodeError` with the TS 24.301 §7 cause.

Two pycrate 0.8.1 structures do not follow the specification and are coded here field by field:
  - `EmergServiceCat` names the category bits from the most significant bit, while TS 24.008
    §10.5.4.33 numbers them from bit 1 (Police = bit 1 = 0x01);
  - `TimeZone.encode/decode` code the quarter-hours in binary, while TS 24.008 §10.5.3.8 (by
    reference to TS 23.040 §9.2.3.11) codes them as two swapped BCD semi-octets.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)

# isort: split
from pycrate_mobile.TS24008_IE import (
    APN,
    ID,
    IDTYPE_IMEI,
    IDTYPE_IMEISV,
    IDTYPE_IMSI,
    IDTYPE_NONE,
    IDTYPE_TMSI,
    PLMN,
    EmergNumList,
    GPRSTimer,
    NetworkName,
    PLMNList,
    TimeZone,
    TimeZoneTime,
)
from pycrate_mobile.TS24301_IE import (
    APN_AMBR,
    EPSID,
    TAI,
    EPSNetFeat,
    EPSQoS,
    NASSecAlgo,
    PDNAddr,
    TAIList,
    UENetCap,
    UESecCap,
)

# isort: split

from corenet.core.plmn import Plmn

# ---------------------------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guti:
    """GUTI = GUMMEI (PLMN, MME group ID, MME code) + M-TMSI (TS 23.003 §2.8)."""

    plmn: Plmn
    mme_group_id: int
    mme_code: int
    m_tmsi: int


@dataclass(frozen=True)
class Tai:
    """Tracking area identity (TS 23.003 §19.4.2.3; TS 24.301 §9.9.3.32)."""

    plmn: Plmn
    tac: int


# TS 24.301 §9.9.3.12 type of identity (EPS mobile identity)
_EPS_ID_TYPES = {"imsi": 1, "imei": 3, "guti": 6}
# TS 24.008 §10.5.1.4 type of identity (mobile identity)
_MOBILE_ID_TYPES = {
    "none": IDTYPE_NONE,
    "imsi": IDTYPE_IMSI,
    "imei": IDTYPE_IMEI,
    "imeisv": IDTYPE_IMEISV,
    "tmsi": IDTYPE_TMSI,
}


def imsi_identity(imsi: str) -> dict[str, Any]:
    return {"type": "imsi", "value": imsi}


def imei_identity(imei: str) -> dict[str, Any]:
    return {"type": "imei", "value": imei}


def imeisv_identity(imeisv: str) -> dict[str, Any]:
    return {"type": "imeisv", "value": imeisv}


def guti_identity(guti: Guti) -> dict[str, Any]:
    return {"type": "guti", "value": guti}


def tmsi_identity(tmsi: int) -> dict[str, Any]:
    return {"type": "tmsi", "value": tmsi}


def _check_digits(digits: str, lengths: range) -> str:
    if not digits.isdigit() or len(digits) not in lengths:
        raise ValueError(f"identity digits {digits!r} invalid")
    return digits


def eps_mobile_identity_to_wire(identity: dict[str, Any]) -> bytes:
    """TS 24.301 §9.9.3.12: IMSI (1), IMEI (3, pycrate calls it IMEISV) or GUTI (6)."""
    kind, value = identity["type"], identity["value"]
    ie = EPSID()
    if kind == "guti":
        ie.encode(6, (str(value.plmn), value.mme_group_id, value.mme_code, value.m_tmsi))
    elif kind == "imsi":
        ie.encode(1, _check_digits(value, range(6, 16)))
    elif kind == "imei":
        ie.encode(3, _check_digits(value, range(15, 16)))
    else:
        raise ValueError(f"EPS mobile identity type {kind!r} not in {sorted(_EPS_ID_TYPES)}")
    return ie.to_bytes()


def eps_mobile_identity_from_wire(raw: bytes) -> dict[str, Any]:
    ie = EPSID()
    ie.from_bytes(raw)
    typ = ie["Type"].get_val()
    if typ == 6:
        if len(raw) != 11:
            raise ValueError("GUTI is 11 octets")
        _, plmn, mmegi, mmec, mtmsi = ie.decode()
        return guti_identity(Guti(Plmn.parse(plmn), mmegi, mmec, mtmsi))
    if typ in (1, 3):
        digits = _bcd_digits(ie)
        return {"type": "imsi" if typ == 1 else "imei", "value": digits}
    raise ValueError(f"EPS mobile identity type {typ} reserved")


def mobile_identity_to_wire(identity: dict[str, Any]) -> bytes:
    """TS 24.008 §10.5.1.4 mobile identity (Identity response, IMEISV in SMC complete)."""
    kind, value = identity["type"], identity.get("value")
    typ = _MOBILE_ID_TYPES[kind]
    ie = ID()
    if kind == "tmsi":
        ie.encode(typ, int(value or 0))
    elif kind == "none":
        ie.encode(typ)
    else:
        ie.encode(typ, _check_digits(str(value), range(6, 17)))
    return ie.to_bytes()


def mobile_identity_from_wire(raw: bytes) -> dict[str, Any]:
    ie = ID()
    ie.from_bytes(raw)
    typ = ie["Type"].get_val()
    names = {v: k for k, v in _MOBILE_ID_TYPES.items()}
    if typ not in names:
        raise ValueError(f"mobile identity type {typ} not supported")
    if typ == IDTYPE_TMSI:
        return {"type": "tmsi", "value": int(ie[3].get_val())}
    if typ == IDTYPE_NONE:
        return {"type": "none", "value": None}
    return {"type": names[typ], "value": _bcd_digits(ie)}


def _bcd_digits(ie: Any) -> str:
    """Digit 1 + BCD digits; the odd/even indicator says whether the last nibble is a filler."""
    first = ie[0].get_val()
    rest = ie[3].get_val()
    nibbles = [first]
    for octet in rest:
        nibbles.extend((octet & 0x0F, octet >> 4))
    if not ie[1].get_val():
        # TS 24.008 §10.5.1.4: even number of digits, bits 5-8 of the last octet are 1111
        if nibbles[-1] != 0xF:
            raise ValueError("even identity without filler")
        nibbles = nibbles[:-1]
    if any(n > 9 for n in nibbles):
        raise ValueError("identity digit is not BCD")
    return "".join(str(n) for n in nibbles)


# ---------------------------------------------------------------------------------------------
# Tracking areas, PLMNs
# ---------------------------------------------------------------------------------------------


def _plmn_from_pycrate(plmn: Any) -> Plmn:
    return Plmn.parse(plmn.decode())


def tai_to_wire(tai: Tai) -> bytes:
    """TS 24.301 §9.9.3.32."""
    return TAI(val={"PLMN": str(tai.plmn), "TAC": tai.tac}).to_bytes()


def tai_from_wire(raw: bytes) -> Tai:
    if len(raw) != 5:
        raise ValueError("TAI is 5 octets")
    ie = TAI()
    ie.from_bytes(raw)
    return Tai(_plmn_from_pycrate(ie[0]), ie[1].get_val())


def tai_list_to_wire(tais: list[Tai]) -> bytes:
    """TS 24.301 §9.9.3.33: type 00 (one PLMN, TAC list) if all TAIs share the PLMN,
    else type 10 (list of TAIs); at most 16 TAIs in one partial list."""
    if not 1 <= len(tais) <= 16:
        raise ValueError("a partial TAI list holds 1 to 16 TAIs")
    plmns = {t.plmn for t in tais}
    ie = TAIList()
    if len(plmns) == 1:
        part = {"Type": 0, "PTAI": {"PLMN": str(tais[0].plmn), "TACs": [t.tac for t in tais]}}
    else:
        part = {
            "Type": 2,
            "PTAI": {"TAIs": [{"PLMN": str(t.plmn), "TAC": t.tac} for t in tais]},
        }
    ie.set_val([part])
    return ie.to_bytes()


def tai_list_from_wire(raw: bytes) -> list[Tai]:
    ie = TAIList()
    ie.from_bytes(raw)
    if ie.to_bytes() != raw:
        raise ValueError("TAI list length does not match its partial lists")
    out: list[Tai] = []
    for part in ie:
        kind = part["Type"].get_val()
        body = part["PTAI"].get_alt()
        if kind == 0:
            plmn = _plmn_from_pycrate(body["PLMN"])
            out.extend(Tai(plmn, tac) for tac in body["TACs"].get_val())
        elif kind == 1:
            plmn = _plmn_from_pycrate(body["PLMN"])
            first = body["TAC1"].get_val()
            out.extend(Tai(plmn, first + i) for i in range(body["Num"].get_val() + 1))
        elif kind == 2:
            out.extend(Tai(_plmn_from_pycrate(t[0]), t[1].get_val()) for t in body["TAIs"])
        else:
            raise ValueError(f"partial TAI list type {kind} reserved")
    return out


def plmn_list_to_wire(plmns: list[Plmn]) -> bytes:
    """TS 24.008 §10.5.1.13 (equivalent PLMNs)."""
    ie = PLMNList()
    ie.set_val([str(p) for p in plmns])
    return ie.to_bytes()


def plmn_list_from_wire(raw: bytes) -> list[Plmn]:
    if not raw or len(raw) % 3:
        raise ValueError("PLMN list is a multiple of 3 octets")
    out = []
    for i in range(0, len(raw), 3):
        p = PLMN()
        p.from_bytes(raw[i : i + 3])
        out.append(_plmn_from_pycrate(p))
    return out


# ---------------------------------------------------------------------------------------------
# Timers
# ---------------------------------------------------------------------------------------------

# TS 24.008 §10.5.7.3 GPRS timer units (bits 6-8), in seconds
_GPRS_TIMER_UNITS = ((0, 2), (1, 60), (2, 360))
_GPRS_TIMER_DEACTIVATED = 7


def gprs_timer_to_wire(seconds: int | None) -> bytes:
    """TS 24.008 §10.5.7.3 (also GPRS timer 2, §10.5.7.4): None = deactivated."""
    if seconds is None:
        return GPRSTimer(val={"Unit": _GPRS_TIMER_DEACTIVATED, "Value": 0}).to_bytes()
    for unit, step in _GPRS_TIMER_UNITS:
        if seconds % step == 0 and seconds // step <= 31:
            return GPRSTimer(val={"Unit": unit, "Value": seconds // step}).to_bytes()
    raise ValueError(f"{seconds} s cannot be coded as a GPRS timer")


def gprs_timer_from_wire(raw: bytes) -> int | None:
    if len(raw) != 1:
        raise ValueError("GPRS timer is 1 octet")
    ie = GPRSTimer()
    ie.from_bytes(raw)
    unit, value = ie[0].get_val(), ie[1].get_val()
    if unit == _GPRS_TIMER_DEACTIVATED:
        return None
    # §10.5.7.3: other unit values are interpreted as multiples of 1 minute
    step = dict(_GPRS_TIMER_UNITS).get(unit, 60)
    return int(value * step)


# ---------------------------------------------------------------------------------------------
# Emergency number list (TS 24.008 §10.5.3.13, categories §10.5.4.33)
# ---------------------------------------------------------------------------------------------

EMERGENCY_CATEGORY_BITS: dict[str, int] = {
    "police": 0x01,
    "ambulance": 0x02,
    "fire_brigade": 0x04,
    "marine_guard": 0x08,
    "mountain_rescue": 0x10,
}
_CATEGORY_ALIASES = {"fire": "fire_brigade", "marine": "marine_guard", "mountain": "mountain_rescue"}


@dataclass(frozen=True)
class EmergencyNumber:
    number: str
    categories: tuple[str, ...]

    @property
    def category_value(self) -> int:
        return categories_to_value(self.categories)


def categories_to_value(categories: tuple[str, ...] | list[str]) -> int:
    value = 0
    for cat in categories:
        name = _CATEGORY_ALIASES.get(cat, cat)
        if name not in EMERGENCY_CATEGORY_BITS:
            raise ValueError(f"emergency service category {cat!r} unknown")
        value |= EMERGENCY_CATEGORY_BITS[name]
    return value


def value_to_categories(value: int) -> tuple[str, ...]:
    return tuple(n for n, bit in EMERGENCY_CATEGORY_BITS.items() if value & bit)


def emergency_number_list(entries: list[tuple[str, list[str]]]) -> list[EmergencyNumber]:
    """[("110", ["police"]), ("118", ["marine_guard"]), ("119", ["fire", "ambulance"])]."""
    out = []
    for number, cats in entries:
        if not number.isdigit():
            raise ValueError(f"emergency number {number!r} must be digits")
        value = categories_to_value(cats)
        out.append(EmergencyNumber(number, value_to_categories(value)))
    return out


def emergency_number_list_to_wire(numbers: list[EmergencyNumber]) -> bytes:
    ie = EmergNumList()
    entries = []
    for num in numbers:
        value = categories_to_value(num.categories)
        # pycrate orders the 5 category bits from bit 5 down to bit 1
        bits = [(value >> (4 - i)) & 1 for i in range(5)]
        entries.append({"ServiceCat": bits, "Num": num.number})
    ie.set_val(entries)
    return ie.to_bytes()


def emergency_number_list_from_wire(raw: bytes) -> list[EmergencyNumber]:
    if len(raw) < 3:
        raise ValueError("emergency number list too short")
    ie = EmergNumList()
    ie.from_bytes(raw)
    if ie.to_bytes() != raw:
        raise ValueError("emergency number list lengths inconsistent")
    out = []
    for entry in ie:
        if entry["Len"].get_val() < 2:
            raise ValueError("emergency number entry without digits")
        cat = entry["ServiceCat"]
        value = sum(cat[i].get_val() << (4 - i) for i in range(5))
        digits = entry["Num"].decode()
        if not digits.isdigit():
            raise ValueError("emergency number is not BCD digits")
        out.append(EmergencyNumber(digits, value_to_categories(value)))
    return out


# ---------------------------------------------------------------------------------------------
# Network name, time zone, time (TS 24.008 §10.5.3.5a, §10.5.3.8, §10.5.3.9)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkNameValue:
    """Full or short network name; `add_ci` asks the UE to add the country initials."""

    text: str
    add_ci: bool = False
    ucs2: bool = False


def network_name_to_wire(name: NetworkNameValue | str) -> bytes:
    if isinstance(name, str):
        name = NetworkNameValue(name)
    ie = NetworkName()
    # §10.5.3.5a coding scheme 000 = GSM default alphabet (TS 23.038 §6.2.1), 001 = UCS2
    ie.set_val({"Coding": 1 if name.ucs2 else 0, "AddCountryInitials": int(name.add_ci),
                "Name": name.text})
    return ie.to_bytes()


def network_name_from_wire(raw: bytes) -> NetworkNameValue:
    if not raw:
        raise ValueError("network name is empty")
    ie = NetworkName()
    ie.from_bytes(raw)
    coding = ie["Coding"].get_val()
    if coding not in (0, 1):
        raise ValueError(f"network name coding scheme {coding} reserved")
    text = ie.decode()
    return NetworkNameValue(text, bool(ie["AddCountryInitials"].get_val()), coding == 1)


def time_zone_fields(quarters: int) -> dict[str, int]:
    """TZ1 (units), TZS (sign), TZ0 (tens) of a time zone in quarter-hours."""
    # TS 23.040 §9.2.3.11: two swapped BCD semi-octets, sign in bit 3 of the first one
    mag = abs(quarters)
    if mag > 79:
        raise ValueError(f"time zone {quarters} quarter-hours out of range")
    return {"TZ1": mag % 10, "TZS": int(quarters < 0), "TZ0": mag // 10}


def time_zone_to_wire(quarters: int) -> bytes:
    """TS 24.008 §10.5.3.8: offset from UTC in quarters of an hour (JST = +36)."""
    return TimeZone(val=time_zone_fields(quarters)).to_bytes()


def _time_zone_value(ie: Any) -> int:
    units, sign, tens = ie["TZ1"].get_val(), ie["TZS"].get_val(), ie["TZ0"].get_val()
    if units > 9:
        raise ValueError("time zone is not BCD")
    value = tens * 10 + units
    return -value if sign else value


def time_zone_from_wire(raw: bytes) -> int:
    if len(raw) != 1:
        raise ValueError("time zone is 1 octet")
    ie = TimeZone()
    ie.from_bytes(raw)
    return _time_zone_value(ie)


def universal_time_to_wire(value: dict[str, Any]) -> bytes:
    """TS 24.008 §10.5.3.9: {"time": UTC datetime, "time_zone": quarter-hours}."""
    when: datetime = value["time"]
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    ie = TimeZoneTime()
    parts = (when.year - 2000, when.month, when.day, when.hour, when.minute, when.second)
    for name, part in zip(("Year", "Mon", "Day", "Hour", "Min", "Sec"), parts, strict=True):
        if not 0 <= part <= 99:
            raise ValueError(f"{name} {part} cannot be coded in two BCD digits")
        ie[name].encode(part)
    ie["TimeZone"].set_val(time_zone_fields(int(value.get("time_zone", 0))))
    return ie.to_bytes()


def universal_time_from_wire(raw: bytes) -> dict[str, Any]:
    if len(raw) != 7:
        raise ValueError("time zone and time is 7 octets")
    ie = TimeZoneTime()
    ie.from_bytes(raw)
    parts = []
    for name in ("Year", "Mon", "Day", "Hour", "Min", "Sec"):
        comp = ie[name]
        units, tens = comp[0].get_val(), comp[1].get_val()
        if units > 9 or tens > 9:
            raise ValueError("time is not BCD")
        parts.append(tens * 10 + units)
    year, month, day, hour, minute, second = parts
    when = datetime(2000 + year, month, day, hour, minute, second, tzinfo=UTC)
    return {"time": when, "time_zone": _time_zone_value(ie["TimeZone"])}


# ---------------------------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------------------------


def nas_security_algorithms_to_wire(value: dict[str, int]) -> bytes:
    """TS 24.301 §9.9.3.23: type of ciphering (EEA) and integrity (EIA) algorithm."""
    return NASSecAlgo(val={"CiphAlgo": value["eea"], "IntegAlgo": value["eia"]}).to_bytes()


def nas_security_algorithms_from_wire(raw: bytes) -> dict[str, int]:
    ie = NASSecAlgo()
    ie.from_bytes(raw)
    return {"eea": ie["CiphAlgo"].get_val(), "eia": ie["IntegAlgo"].get_val()}


def _algo_bits(prefix: str, algos: tuple[int, ...] | list[int]) -> dict[str, int]:
    names = {0: f"{prefix}0", 1: f"{prefix}1_128", 2: f"{prefix}2_128", 3: f"{prefix}3_128"}
    names.update({i: f"{prefix}{i}" for i in range(4, 8)})
    return {names[i]: 1 for i in algos}


def ue_network_capability(eea: tuple[int, ...] = (0, 1, 2), eia: tuple[int, ...] = (1, 2),
                          uea: tuple[int, ...] | None = None,
                          uia: tuple[int, ...] | None = None) -> bytes:
    """TS 24.301 §9.9.3.34 value part: EEA/EIA octets, plus UEA/UIA octets if given."""
    return _ue_network_capability(tuple(eea), tuple(eia), None if uea is None else tuple(uea),
                                  None if uia is None else tuple(uia))


@lru_cache(maxsize=64)  # a device profile's capabilities: built once, sent by each of its UEs
def _ue_network_capability(eea: tuple[int, ...], eia: tuple[int, ...],
                           uea: tuple[int, ...] | None, uia: tuple[int, ...] | None) -> bytes:
    ie = UENetCap()
    ie.disable_from(16 if uea is None else 32)
    bits = _algo_bits("EEA", eea) | _algo_bits("EIA", eia)
    for i in uea or ():
        bits[f"UEA{i}"] = 1
    for i in uia or ():
        bits[f"UIA{i}"] = 1
    for name, bit in bits.items():
        ie[name].set_val(bit)
    return ie.to_bytes()


def ue_security_capability(eea: tuple[int, ...] = (0, 1, 2),
                           eia: tuple[int, ...] = (1, 2)) -> bytes:
    """TS 24.301 §9.9.3.36 value part (EEA and EIA octets)."""
    return _ue_security_capability(tuple(eea), tuple(eia))


@lru_cache(maxsize=64)
def _ue_security_capability(eea: tuple[int, ...], eia: tuple[int, ...]) -> bytes:
    ie = UESecCap()
    ie.disable_from(16)
    for name, bit in (_algo_bits("EEA", eea) | _algo_bits("EIA", eia)).items():
        ie[name].set_val(bit)
    return ie.to_bytes()


# ---------------------------------------------------------------------------------------------
# EPS network feature support (TS 24.301 §9.9.3.12A)
# ---------------------------------------------------------------------------------------------

_NET_FEAT_OCTET3 = ("cp_ciot", "erwopdn", "esr_ps", "cs_lcs", "epc_lcs", "emc_bs", "ims_vops")
_NET_FEAT_OCTET4 = ("epco", "hc_cp_ciot", "s1u_data", "up_ciot")
_NET_FEAT_PYCRATE = {
    "cp_ciot": "CP_CIoT", "erwopdn": "ERwoPDN", "esr_ps": "ESR_PS", "cs_lcs": "CS_LCS",
    "epc_lcs": "EPC_LCS", "emc_bs": "EMC_BS", "ims_vops": "IMS_VoPS", "epco": "EPCO",
    "hc_cp_ciot": "HC_CP_CIoT", "s1u_data": "S1U_Data", "up_ciot": "UP_CIoT",
}


def eps_network_feature_support_to_wire(flags: dict[str, int]) -> bytes:
    unknown = set(flags) - set(_NET_FEAT_PYCRATE)
    if unknown:
        raise ValueError(f"unknown EPS network feature flags {sorted(unknown)}")
    ie = EPSNetFeat()
    ie._set_o2_trans(not any(k in flags for k in _NET_FEAT_OCTET4))
    for name, bit in flags.items():
        ie[_NET_FEAT_PYCRATE[name]].set_val(int(bit))
    return ie.to_bytes()


def eps_network_feature_support_from_wire(raw: bytes) -> dict[str, int]:
    if len(raw) not in (1, 2):
        raise ValueError("EPS network feature support is 1 or 2 octets")
    ie = EPSNetFeat()
    ie.from_bytes(raw)
    names = _NET_FEAT_OCTET3 + (_NET_FEAT_OCTET4 if len(raw) == 2 else ())
    return {n: ie[_NET_FEAT_PYCRATE[n]].get_val() for n in names}


# ---------------------------------------------------------------------------------------------
# ESM IEs: APN, PDN address, bit rates, EPS QoS
# ---------------------------------------------------------------------------------------------


def apn_to_wire(apn: str) -> bytes:
    """TS 23.003 §9.1: each dot-separated label preceded by its length octet."""
    labels = apn.split(".")
    if not apn or any(not 1 <= len(label) <= 63 for label in labels) or len(apn) > 100:
        raise ValueError(f"APN {apn!r} invalid (TS 23.003 §9.1)")
    ie = APN()
    ie.encode(apn)
    return ie.to_bytes()


def apn_from_wire(raw: bytes) -> str:
    ie = APN()
    ie.from_bytes(raw)
    if ie.to_bytes() != raw:
        raise ValueError("APN label lengths inconsistent")
    return ie.decode()


# TS 24.301 §9.9.4.9 PDN type value
PDN_TYPE_IPV4, PDN_TYPE_IPV6, PDN_TYPE_IPV4V6 = 1, 2, 3


def pdn_address_to_wire(value: dict[str, Any]) -> bytes:
    """{"pdn_type": 1|2|3, "ipv4": "a.b.c.d", "ipv6_interface_identifier": 8 bytes}."""
    pdn_type = value["pdn_type"]
    addr = b""
    if pdn_type in (PDN_TYPE_IPV6, PDN_TYPE_IPV4V6):
        iid = bytes(value["ipv6_interface_identifier"])
        if len(iid) != 8:
            raise ValueError("IPv6 interface identifier is 8 octets")
        addr += iid
    if pdn_type in (PDN_TYPE_IPV4, PDN_TYPE_IPV4V6):
        addr += ipaddress.IPv4Address(value["ipv4"]).packed
    if pdn_type not in (1, 2, 3):
        raise ValueError(f"PDN type {pdn_type} has no address coding")
    return PDNAddr(val={"Type": pdn_type, "Addr": addr}).to_bytes()


def pdn_address_from_wire(raw: bytes) -> dict[str, Any]:
    ie = PDNAddr()
    ie.from_bytes(raw)
    pdn_type = ie["Type"].get_val()
    expected = {1: 5, 2: 9, 3: 13}
    if expected.get(pdn_type) != len(raw):
        raise ValueError(f"PDN address length {len(raw)} does not fit PDN type {pdn_type}")
    addr = ie["Addr"].get_val()
    out: dict[str, Any] = {"pdn_type": pdn_type}
    if pdn_type in (PDN_TYPE_IPV6, PDN_TYPE_IPV4V6):
        out["ipv6_interface_identifier"] = addr[:8]
        addr = addr[8:]
    if pdn_type in (PDN_TYPE_IPV4, PDN_TYPE_IPV4V6):
        out["ipv4"] = str(ipaddress.IPv4Address(addr))
    return out


def _bitrate_code(kbps: int) -> tuple[int, int]:
    """TS 24.008 §10.5.6.5 / TS 24.301 §9.9.4.2: (octet, extended octet) for the largest
    coded rate not above `kbps` (a maximum is never rounded up)."""
    if kbps <= 0:
        return 0xFF, 0  # 11111111 = 0 kbps
    if kbps <= 63:
        return kbps, 0
    if kbps <= 568:
        return 0x40 + (kbps - 64) // 8, 0
    if kbps <= 8640:
        return 0x80 + (kbps - 576) // 64, 0
    # extended octet: octet is 11111110, the extension carries the rate
    if kbps < 8700:
        return 0xFE, 0
    if kbps <= 16000:
        return 0xFE, (kbps - 8600) // 100
    if kbps <= 128000:
        return 0xFE, 0x4A + (kbps - 16000) // 1000
    return 0xFE, min(0xBA + (kbps - 128000) // 2000, 0xFA)


def _bitrate_value(octet: int, ext: int) -> int:
    if ext == 0:
        if octet == 0xFF:
            return 0
        if octet < 0x40:
            return octet
        if octet < 0x80:
            return 64 + (octet - 0x40) * 8
        return 576 + (octet - 0x80) * 64
    if ext <= 0x4A:
        return 8600 + ext * 100
    if ext <= 0xBA:
        return 16000 + (ext - 0x4A) * 1000
    return 128000 + (ext - 0xBA) * 2000


def coded_bitrate(kbps: int) -> int:
    """The rate the wire actually carries for a requested maximum (e.g. 300 -> 296 kbps)."""
    return _bitrate_value(*_bitrate_code(kbps))


_AMBR_EXT2_STEP = 256000  # TS 24.301 Table 9.9.4.2.1, octets 7/8: 256 Mbps steps


def _apn_ambr_code(kbps: int) -> tuple[int, int, int]:
    """TS 24.301 §9.9.4.2: (octet 3/4, extended octet 5/6, extended-2 octet 7/8) for one
    direction. Above 256 Mbps the extended-2 octet carries the 256 Mbps multiples and octets
    3 and 5 the rest, so rates up to 65 Gbps keep their value instead of stopping at 256 Mbps.

    Rounding rule: the value sent is the largest coded rate not above the rate given (an
    aggregate maximum is never raised). Below 8.7 Mbps the coding of TS 24.008 §10.5.6.5 has
    8 kbps steps from 64 to 568 kbps and 64 kbps steps up to 8640 kbps, and the extended
    octets have none finer (100 kbps steps from 8.7 Mbps), so e.g. 300 kbps is sent as
    296 kbps, the nearest rate the IE can carry that does not exceed it.
    """
    ext2 = min(kbps // _AMBR_EXT2_STEP, 0xFE) if kbps > _AMBR_EXT2_STEP else 0
    octet, ext = _bitrate_code(kbps - ext2 * _AMBR_EXT2_STEP)
    return octet, ext, ext2


def apn_ambr_to_wire(value: dict[str, int]) -> bytes:
    """{"downlink": kbps, "uplink": kbps} (TS 24.301 §9.9.4.2, rounding in `_apn_ambr_code`);
    extended octets only when a rate needs them."""
    dl, dl_ext, dl_ext2 = _apn_ambr_code(value["downlink"])
    ul, ul_ext, ul_ext2 = _apn_ambr_code(value["uplink"])
    vals: dict[str, int] = {"DL": dl, "UL": ul}
    if dl_ext or ul_ext or dl_ext2 or ul_ext2:
        vals |= {"DLExt": dl_ext, "ULExt": ul_ext}
    if dl_ext2 or ul_ext2:
        vals |= {"DLExt2": dl_ext2, "ULExt2": ul_ext2}
    ie = APN_AMBR()
    ie.set_val(vals)
    return ie.to_bytes()


def apn_ambr_from_wire(raw: bytes) -> dict[str, int]:
    if len(raw) not in (2, 4, 6):
        raise ValueError("APN-AMBR is 2, 4 or 6 octets")
    octets = list(raw) + [0] * (6 - len(raw))
    dl = _bitrate_value(octets[0], octets[2])
    ul = _bitrate_value(octets[1], octets[3])
    # §9.9.4.2 octets 7/8 (extended-2): 256 Mbps steps added on top
    dl += octets[4] * 256000
    ul += octets[5] * 256000
    return {"downlink": dl, "uplink": ul}


_QOS_RATES = ("max_ul", "max_dl", "gbr_ul", "gbr_dl")


def eps_qos_to_wire(value: dict[str, int]) -> bytes:
    """TS 24.301 §9.9.4.3: {"qci": n} (non-GBR), or with max_ul/max_dl/gbr_ul/gbr_dl kbps."""
    qci = value["qci"]
    if not 0 <= qci <= 255:
        raise ValueError("QCI is one octet")
    ie = EPSQoS()
    if not any(k in value for k in _QOS_RATES):
        ie.set_val({"QCI": qci})
        return ie.to_bytes()
    codes = [_bitrate_code(value.get(k, 0)) for k in _QOS_RATES]
    rates = dict(zip(("MaxULBitrate", "MaxDLBitrate", "GuaranteedULBitrate",
                      "GuaranteedDLBitrate"), codes, strict=True))
    vals: dict[str, Any] = {"QCI": qci,
                            "EPSQoSBitrate": {k: c[0] for k, c in rates.items()}}
    if any(c[1] for c in codes):
        vals["EPSQoSBitrateExt"] = {k: c[1] for k, c in rates.items()}
    ie.set_val(vals)
    return ie.to_bytes()


def eps_qos_from_wire(raw: bytes) -> dict[str, int]:
    if len(raw) not in (1, 5, 9, 13):
        raise ValueError("EPS QoS is 1, 5, 9 or 13 octets")
    ie = EPSQoS()
    ie.from_bytes(raw)
    out = {"qci": ie["QCI"].get_val()}
    if len(raw) >= 5:
        ext = list(raw[5:9]) if len(raw) >= 9 else [0, 0, 0, 0]
        for i, key in enumerate(_QOS_RATES):
            out[key] = _bitrate_value(raw[1 + i], ext[i])
    return out
