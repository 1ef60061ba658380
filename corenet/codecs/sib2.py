"""RRC SystemInformationBlockType2 (TS 36.331 §6.3.1): access class barring over pycrate RRCLTE.

Step 11 of the activation flow lifts area restrictions gradually "to prevent mass simultaneous
authentication and congestion"; the rescuer does it with ACB per PLMN (TS 36.331 §6.3.1 SIB2
ac-BarringPerPLMN-List-r12) so its own subscribers are not affected.

`sib2_with_barring` builds a whole BCCH-DL-SCH-Message (TS 36.331 §6.2.1) carrying a
SystemInformation with SIB2, UPER-encoded as broadcast on the air; `decode_sib2_barring` reads the
barring parameters back. The UE's barring check (TS 36.331 §5.3.3.11) is in `sim_ue.acb`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from corenet.codecs import rrc
from corenet.codecs.selection import fast_path
from corenet.core.errors import DecodeError

# the fast path of the SIB2 this module encodes (corenet.codecs.fast.sib2)
_FAST = fast_path("rrc-sib2")

# TS 36.331 §6.3.1 AC-BarringConfig: ac-BarringFactor ENUMERATED {p00, p05, ..., p95}.
BARRING_FACTORS: tuple[float, ...] = (
    0.00, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40,
    0.50, 0.60, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95,
)
# TS 36.331 §6.3.1 AC-BarringConfig: ac-BarringTime ENUMERATED {s4, ..., s512}, in seconds.
BARRING_TIMES: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class BarringConfig:
    """One AC-BarringConfig (TS 36.331 §6.3.1).

    special_ac: ac-BarringForSpecialAC, 5 bits, the leftmost for AC 11 (bit set = barring applies).
    """

    factor: float
    time_s: int
    special_ac: int = 0b00000

    def __post_init__(self) -> None:
        if self.factor not in BARRING_FACTORS:
            raise ValueError(f"ac-BarringFactor must be one of {BARRING_FACTORS}, got {self.factor}")
        if self.time_s not in BARRING_TIMES:
            raise ValueError(f"ac-BarringTime must be one of {BARRING_TIMES} s, got {self.time_s}")
        if not 0 <= self.special_ac <= 0b11111:
            raise ValueError("ac-BarringForSpecialAC is 5 bits")


@dataclass(frozen=True)
class BarringInfo:
    """ac-BarringInfo (TS 36.331 §6.3.1 SIB2). None = that category is not barred."""

    for_emergency: bool = False
    mo_signalling: BarringConfig | None = None
    mo_data: BarringConfig | None = None


@dataclass(frozen=True)
class Sib2Barring:
    """What a UE reads from SIB2: common barring, and per-PLMN barring keyed by
    plmn-IdentityIndex-r12 (1-based index into SIB1's PLMN list, TS 36.331 §6.3.1)."""

    common: BarringInfo | None
    per_plmn: dict[int, BarringInfo]


def _factor_name(factor: float) -> str:
    return f"p{round(factor * 100):02d}"


def _config_value(cfg: BarringConfig) -> dict[str, Any]:
    return {
        "ac-BarringFactor": _factor_name(cfg.factor),
        "ac-BarringTime": f"s{cfg.time_s}",
        "ac-BarringForSpecialAC": (cfg.special_ac, 5),
    }


def _info_value(info: BarringInfo, suffix: str = "") -> dict[str, Any]:
    value: dict[str, Any] = {f"ac-BarringForEmergency{suffix}": info.for_emergency}
    if info.mo_signalling is not None:
        value[f"ac-BarringForMO-Signalling{suffix}"] = _config_value(info.mo_signalling)
    if info.mo_data is not None:
        value[f"ac-BarringForMO-Data{suffix}"] = _config_value(info.mo_data)
    return value


def _radio_resource_config_common() -> dict[str, Any]:
    """A plain 10 MHz FDD cell (TS 36.331 §6.3.2 RadioResourceConfigCommonSIB)."""
    return {
        "rach-ConfigCommon": {
            "preambleInfo": {"numberOfRA-Preambles": "n52"},
            "powerRampingParameters": {
                "powerRampingStep": "dB2",
                "preambleInitialReceivedTargetPower": "dBm-104",
            },
            "ra-SupervisionInfo": {
                "preambleTransMax": "n10",
                "ra-ResponseWindowSize": "sf10",
                "mac-ContentionResolutionTimer": "sf64",
            },
            "maxHARQ-Msg3Tx": 4,
        },
        "bcch-Config": {"modificationPeriodCoeff": "n4"},
        "pcch-Config": {"defaultPagingCycle": "rf128", "nB": "oneT"},
        "prach-Config": {
            "rootSequenceIndex": 22,
            "prach-ConfigInfo": {
                "prach-ConfigIndex": 3,
                "highSpeedFlag": False,
                "zeroCorrelationZoneConfig": 5,
                "prach-FreqOffset": 2,
            },
        },
        "pdsch-ConfigCommon": {"referenceSignalPower": 18, "p-b": 0},
        "pusch-ConfigCommon": {
            "pusch-ConfigBasic": {
                "n-SB": 1,
                "hoppingMode": "interSubFrame",
                "pusch-HoppingOffset": 0,
                "enable64QAM": False,
            },
            "ul-ReferenceSignalsPUSCH": {
                "groupHoppingEnabled": False,
                "groupAssignmentPUSCH": 0,
                "sequenceHoppingEnabled": False,
                "cyclicShift": 0,
            },
        },
        "pucch-ConfigCommon": {
            "deltaPUCCH-Shift": "ds1",
            "nRB-CQI": 1,
            "nCS-AN": 0,
            "n1PUCCH-AN": 0,
        },
        "soundingRS-UL-ConfigCommon": ("release", 0),
        "uplinkPowerControlCommon": {
            "p0-NominalPUSCH": -85,
            "alpha": "al07",
            "p0-NominalPUCCH": -117,
            "deltaFList-PUCCH": {
                "deltaF-PUCCH-Format1": "deltaF0",
                "deltaF-PUCCH-Format1b": "deltaF3",
                "deltaF-PUCCH-Format2": "deltaF1",
                "deltaF-PUCCH-Format2a": "deltaF2",
                "deltaF-PUCCH-Format2b": "deltaF2",
            },
            "deltaPreambleMsg3": 4,
        },
        "ul-CyclicPrefixLength": "len1",
    }


def sib2_with_barring(
    factor: float | None,
    time: int = 64,
    *,
    special_ac: int = 0b00000,
    for_emergency: bool = False,
    bar_signalling: bool = True,
    per_plmn: dict[int, BarringInfo] | None = None,
) -> bytes:
    """BCCH-DL-SCH-Message with SIB2 (TS 36.331 §6.2.1 SystemInformation, §6.3.1 SIB2).

    factor/time set ac-BarringForMO-Data (and ac-BarringForMO-Signalling when bar_signalling);
    factor None broadcasts no common ac-BarringInfo (no barring). per_plmn adds
    ac-BarringPerPLMN-List-r12, keyed by plmn-IdentityIndex-r12 (1..6, TS 36.331 §6.3.1).
    """
    items = tuple(sorted(per_plmn.items())) if per_plmn else ()
    return _sib2(factor, time, special_ac, for_emergency, bar_signalling, items)


@functools.lru_cache(maxsize=1024)
def _sib2(factor: float | None, time: int, special_ac: int, for_emergency: bool,
          bar_signalling: bool, per_plmn: tuple[tuple[int, BarringInfo], ...]) -> bytes:
    """One encoding per distinct broadcast: the release controller changes the factor
    every 0.1 s on every roamer cell, among the 16 values of ac-BarringFactor."""
    return _FAST.encode_or(_sib2_pycrate, factor, time, special_ac, for_emergency,
                           bar_signalling, per_plmn)


def _sib2_pycrate(factor: float | None, time: int, special_ac: int, for_emergency: bool,
                  bar_signalling: bool, per_plmn: tuple[tuple[int, BarringInfo], ...]) -> bytes:
    sib2: dict[str, Any] = {}
    if factor is not None:
        cfg = BarringConfig(factor, time, special_ac)
        info = BarringInfo(for_emergency, cfg if bar_signalling else None, cfg)
        sib2["ac-BarringInfo"] = _info_value(info)
    sib2["radioResourceConfigCommon"] = _radio_resource_config_common()
    sib2["ue-TimersAndConstants"] = {
        "t300": "ms1000", "t301": "ms1000", "t310": "ms1000",
        "n310": "n1", "t311": "ms10000", "n311": "n1",
    }
    sib2["freqInfo"] = {"additionalSpectrumEmission": 1}
    sib2["timeAlignmentTimerCommon"] = "infinity"
    if per_plmn:
        sib2["ac-BarringPerPLMN-List-r12"] = [
            {"plmn-IdentityIndex-r12": index, "ac-BarringInfo-r12": _info_value(info, "-r12")}
            for index, info in per_plmn
        ]
    pdu = rrc.definitions().BCCH_DL_SCH_Message
    pdu.set_val({
        "message": ("c1", ("systemInformation", {
            "criticalExtensions": ("systemInformation-r8", {
                "sib-TypeAndInfo": [("sib2", sib2)],
            }),
        })),
    })
    return pdu.to_uper()


def _config_from(value: dict[str, Any]) -> BarringConfig:
    factor = BARRING_FACTORS[_enum_index("ac-BarringFactor", value["ac-BarringFactor"])]
    time_s = int(str(value["ac-BarringTime"])[1:])
    bits, length = value["ac-BarringForSpecialAC"]
    if length != 5:
        raise DecodeError("rrc", "ac-BarringForSpecialAC", "ac-BarringForSpecialAC is not 5 bits")
    return BarringConfig(factor, time_s, bits)


def _enum_index(name: str, text: str) -> int:
    index = int(text[1:])
    values = [round(f * 100) for f in BARRING_FACTORS]
    if index not in values:
        raise DecodeError("rrc", name, f"{name} {text!r} out of range")
    return values.index(index)


def _info_from(value: dict[str, Any], suffix: str = "") -> BarringInfo:
    sig = value.get(f"ac-BarringForMO-Signalling{suffix}")
    data = value.get(f"ac-BarringForMO-Data{suffix}")
    return BarringInfo(
        bool(value[f"ac-BarringForEmergency{suffix}"]),
        _config_from(sig) if sig is not None else None,
        _config_from(data) if data is not None else None,
    )


def decode_sib2_barring(data: bytes) -> Sib2Barring:
    """Barring parameters of the SIB2 in a BCCH-DL-SCH-Message. Raises only DecodeError."""
    return _FAST.decode_or(_decode_pycrate, data)


def _decode_pycrate(data: bytes) -> Sib2Barring:
    pdu = rrc.definitions().BCCH_DL_SCH_Message
    try:
        pdu.from_uper(data)
        value = pdu.get_val()
        kind, msg = value["message"]
        if kind != "c1" or msg[0] != "systemInformation":
            raise DecodeError("rrc", "message", f"not a SystemInformation: {kind}")
        ext_kind, si = msg[1]["criticalExtensions"]
        if ext_kind != "systemInformation-r8":
            raise DecodeError("rrc", "criticalExtensions", f"unknown extension {ext_kind}")
        sib2 = _find_sib2(si["sib-TypeAndInfo"])
        common = sib2.get("ac-BarringInfo")
        per_plmn = {
            int(item["plmn-IdentityIndex-r12"]): _info_from(item["ac-BarringInfo-r12"], "-r12")
            for item in sib2.get("ac-BarringPerPLMN-List-r12", [])
            if "ac-BarringInfo-r12" in item
        }
        return Sib2Barring(_info_from(common) if common is not None else None, per_plmn)
    except DecodeError:
        raise
    except Exception as exc:  # pycrate raises many kinds on truncated or invalid PER
        raise DecodeError("rrc", "decode", f"BCCH-DL-SCH-Message: {exc}") from exc


def _find_sib2(items: list[tuple[str, Any]]) -> dict[str, Any]:
    for name, sib in items:
        if name == "sib2":
            return dict(sib)
    raise DecodeError("rrc", "sib-TypeAndInfo", "SystemInformation carries no SIB2")
