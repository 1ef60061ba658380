"""Fast UPER codec of the SIB2 an emulated eNB broadcasts (TS 36.331 §6.2.1 BCCH-DL-SCH-Message,
§6.2.2 SystemInformation, §6.3.1 SystemInformationBlockType2), byte-identical to pycrate RRCLTE.

The fast set is the SIB2 of `corenet.codecs.sib2.sib2_with_barring`: one SystemInformation-r8
carrying one SIB2 whose cell configuration (radioResourceConfigCommon, ue-TimersAndConstants,
freqInfo, timeAlignmentTimerCommon) is the reference module's, with or without a common
ac-BarringInfo, and with or without the Rel-12 extension group carrying only
ac-BarringPerPLMN-List-r12. Those fixed fields encode to `CELL_BITS` (checked against pycrate by
tests/unit/codecs/fast/test_sib2.py); everything else - other SIBs, other extensions, other
cell parameters, malformed bits - is declined and goes to pycrate. Only the barring fields are
encoded and read here, as X.691 unaligned PER lays them out:

    message c1 (1 bit), systemInformation (1), systemInformation-r8 (1), no nonCriticalExtension
    (1), sib-TypeAndInfo SIZE(1..32) length 1 (5), CHOICE ext-bit + sib2 index (1 + 4);
    SIB2: extension bit, ac-BarringInfo present, mbsfn-SubframeConfigList absent, [ac-BarringInfo],
    CELL_BITS, and when extended: the extension bitmap (14 additions, [[ac-BarringSkip.. r12]] the
    4th) and the Rel-12 group as an open type.
"""

from __future__ import annotations

from corenet.codecs.selection import fast_path
from corenet.codecs.sib2 import (
    BARRING_FACTORS,
    BARRING_TIMES,
    BarringConfig,
    BarringInfo,
    Sib2Barring,
)

# radioResourceConfigCommon .. timeAlignmentTimerCommon of `sib2_with_barring`, UPER
CELL_BITS = 0x630DFB640B06505380000000400014C52D54B686007
CELL_LEN = 174
# c1 / systemInformation / systemInformation-r8 / no nonCriticalExtension / 1 SIB / sib2
_HEADER_LEN = 14
# SIB2 extension additions (the bitmap covers all 14 of pycrate's RRC release):
# lateNonCriticalExtension, [[ssac r9]], [[csfb r10]], [[ac-BarringSkip.. r12]] (the 4th), ...
_ADDITIONS = 14
_R12_BIT = 1 << (_ADDITIONS - 4)
_MAX_PLMN = 6  # maxPLMN-r11


class _Writer:
    __slots__ = ("n", "v")

    def __init__(self) -> None:
        self.v = 0
        self.n = 0

    def put(self, value: int, bits: int) -> None:
        self.v = (self.v << bits) | value
        self.n += bits

    def octets(self) -> bytes:
        pad = -self.n % 8
        return (self.v << pad).to_bytes((self.n + pad) // 8, "big")


class _Reader:
    __slots__ = ("n", "pos", "v")

    def __init__(self, data: bytes) -> None:
        self.v = int.from_bytes(data, "big")
        self.n = len(data) * 8
        self.pos = 0

    def get(self, bits: int) -> int:
        end = self.pos + bits
        if end > self.n:
            raise _Decline
        self.pos = end
        return (self.v >> (self.n - end)) & ((1 << bits) - 1)


class _Decline(Exception):
    pass


# ------------------------------------------------------------------ encode


def _config(w: _Writer, cfg: BarringConfig) -> None:
    """AC-BarringConfig: ac-BarringFactor ENUMERATED(16), ac-BarringTime ENUMERATED(8),
    ac-BarringForSpecialAC BIT STRING (SIZE(5))."""
    w.put(BARRING_FACTORS.index(cfg.factor), 4)
    w.put(BARRING_TIMES.index(cfg.time_s), 3)
    w.put(cfg.special_ac, 5)


def _info(w: _Writer, info: BarringInfo) -> None:
    """ac-BarringInfo(-r12): two presence bits, ac-BarringForEmergency, the configurations."""
    w.put(info.mo_signalling is not None, 1)
    w.put(info.mo_data is not None, 1)
    w.put(info.for_emergency, 1)
    for cfg in (info.mo_signalling, info.mo_data):
        if cfg is not None:
            _config(w, cfg)


def _r12_group(per_plmn: tuple[tuple[int, BarringInfo], ...]) -> bytes:
    """The Rel-12 extension group with only ac-BarringPerPLMN-List-r12 present."""
    w = _Writer()
    w.put(0b0001, 4)  # skip MMTEL voice / video / SMS absent, per-PLMN list present
    w.put(len(per_plmn) - 1, 3)  # SIZE (1..maxPLMN-r11)
    for index, info in per_plmn:
        w.put(0b1000000, 7)  # ac-BarringInfo-r12 present, the six others absent
        w.put(index - 1, 3)  # plmn-IdentityIndex-r12 INTEGER (1..maxPLMN-r11)
        _info(w, info)
    return w.octets()


def encode(factor: float | None, time: int, special_ac: int, for_emergency: bool,
           bar_signalling: bool, per_plmn: tuple[tuple[int, BarringInfo], ...]) -> bytes | None:
    if len(per_plmn) > _MAX_PLMN or any(not 1 <= i <= _MAX_PLMN for i, _ in per_plmn):
        return None  # pycrate rejects it
    w = _Writer()
    w.put(0, _HEADER_LEN)
    w.put(bool(per_plmn), 1)  # extension additions present
    w.put(factor is not None, 1)  # ac-BarringInfo
    w.put(0, 1)  # mbsfn-SubframeConfigList absent
    if factor is not None:
        cfg = BarringConfig(factor, time, special_ac)
        _info(w, BarringInfo(for_emergency, cfg if bar_signalling else None, cfg))
    w.put(CELL_BITS, CELL_LEN)
    if per_plmn:
        group = _r12_group(per_plmn)
        w.put(_ADDITIONS - 1, 7)  # bitmap length, normally small (X.691 §11.6): 0 + 6 bits
        w.put(_R12_BIT, _ADDITIONS)
        if len(group) > 127:
            return None
        w.put(len(group), 8)  # open type length (X.691 §11.9.3.6)
        w.put(int.from_bytes(group, "big"), len(group) * 8)
    return w.octets()


# ------------------------------------------------------------------ decode


def _read_config(r: _Reader) -> BarringConfig:
    factor, time_index, special = r.get(4), r.get(3), r.get(5)
    return BarringConfig(BARRING_FACTORS[factor], BARRING_TIMES[time_index], special)


def _read_info(r: _Reader) -> BarringInfo:
    sig, data, emergency = r.get(1), r.get(1), r.get(1)
    return BarringInfo(bool(emergency), _read_config(r) if sig else None,
                       _read_config(r) if data else None)


def _read_r12_group(r: _Reader) -> dict[int, BarringInfo]:
    if r.get(7) != _ADDITIONS - 1 or r.get(_ADDITIONS) != _R12_BIT:
        raise _Decline
    length = r.get(8)
    if length & 0x80:
        raise _Decline
    end = r.pos + 8 * length
    if r.get(4) != 0b0001:
        raise _Decline
    per_plmn: dict[int, BarringInfo] = {}
    for _ in range(r.get(3) + 1):
        present = r.get(7)
        if present & 0b0111111:
            raise _Decline
        index = r.get(3) + 1
        if index > _MAX_PLMN:
            raise _Decline
        if present:
            per_plmn[index] = _read_info(r)
    if r.pos > end or r.get(end - r.pos):  # the open type's padding is zeros
        raise _Decline
    return per_plmn


def decode(data: bytes) -> Sib2Barring | None:
    try:
        r = _Reader(data)
        if r.get(_HEADER_LEN):
            raise _Decline
        extended, common_present, mbsfn = r.get(1), r.get(1), r.get(1)
        if mbsfn:
            raise _Decline
        common = _read_info(r) if common_present else None
        if r.get(CELL_LEN) != CELL_BITS:
            raise _Decline
        per_plmn = _read_r12_group(r) if extended else {}
        rest = r.n - r.pos
        if rest >= 8 or r.get(rest):  # only the final octet's zero padding remains
            raise _Decline
    except (_Decline, IndexError):
        return None
    return Sib2Barring(common, per_plmn)


fast_path("rrc-sib2").install(encode, decode)
