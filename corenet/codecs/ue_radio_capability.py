"""UE Radio Capability (TS 36.413 §9.2.1.27): the RRC UERadioAccessCapabilityInformation
(TS 36.331 §10.2.2) holding a UECapabilityInformation (§6.2.2) with one UE-EUTRA-Capability
(§6.3.6), encoded with pycrate RRCLTE (UPER), as an eNB puts it in UE CAPABILITY INFO
INDICATION (TS 36.413 §8.9).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from corenet.codecs import rrc
from corenet.core.errors import DecodeError

# TS 36.323 / TS 36.331 §6.3.6 PDCP-Parameters: no ROHC profile supported
_ROHC_PROFILES = ("0x0001", "0x0002", "0x0003", "0x0004", "0x0006", "0x0101", "0x0102",
                  "0x0103", "0x0104")
# E-UTRA bands of a handset sold in Japan (TS 36.101 Table 5.5-1)
JAPAN_BANDS = (1, 3, 8, 11, 18, 19, 21, 26, 28, 41, 42)
# The emulated handset's UE Radio Capability (JAPAN_BANDS, category 4): pycrate's encoding of
# `_encode(JAPAN_BANDS, 4)`, kept here so a process that only reports it (every eNB of a storm
# worker) never loads RRCLTE; tests/unit/codecs/test_ue_radio_capability.py checks the two agree.
JAPAN_HANDSET = bytes.fromhex(
    "015801028018000a001071444914326d429142bff8affe2bff8affe2bff8affe2bff8affe2bff8affe2bff8000")


def eutra_capability(bands: Sequence[int], category: int = 4,
                     release: str = "rel8") -> bytes:
    """UE-EUTRA-Capability (TS 36.331 §6.3.6), UPER: access stratum release, UE category
    (TS 36.306 §4.1), the supported bands and, per band, whether measuring each other band
    needs gaps."""
    n = len(bands)
    cap = rrc.definitions().UE_EUTRA_Capability
    cap.set_val({
        "accessStratumRelease": release,
        "ue-Category": category,
        "pdcp-Parameters": {"supportedROHC-Profiles": {
            f"profile{p}-r15": False for p in _ROHC_PROFILES}},
        "phyLayerParameters": {"ue-TxAntennaSelectionSupported": False,
                               "ue-SpecificRefSigsSupported": False},
        "rf-Parameters": {"supportedBandListEUTRA": [
            {"bandEUTRA": b, "halfDuplex": False} for b in bands]},
        "measParameters": {"bandListEUTRA": [
            {"interFreqBandList": [{"interFreqNeedForGaps": True}] * n}] * n},
        "interRAT-Parameters": {},
    })
    return bytes(cap.to_uper())


def ue_radio_capability(bands: tuple[int, ...] = JAPAN_BANDS, category: int = 4) -> bytes:
    """The UE Radio Capability octets of TS 36.413 §9.2.1.27 for an E-UTRA-only UE."""
    if bands == JAPAN_BANDS and category == 4:
        return JAPAN_HANDSET
    return _encode(bands, category)


@functools.cache
def _encode(bands: tuple[int, ...], category: int) -> bytes:
    info = rrc.definitions().UECapabilityInformation
    info.set_val({"rrc-TransactionIdentifier": 0, "criticalExtensions": (
        "c1", ("ueCapabilityInformation-r8", {"ue-CapabilityRAT-ContainerList": [
            {"rat-Type": "eutra",
             "ueCapabilityRAT-Container": eutra_capability(bands, category)}]}))})
    inner = info.to_uper()
    outer = rrc.inter_node().UERadioAccessCapabilityInformation
    outer.set_val({"criticalExtensions": (
        "c1", ("ueRadioAccessCapabilityInformation-r8",
               {"ue-RadioAccessCapabilityInfo": inner}))})
    return bytes(outer.to_uper())


def bands_of(data: bytes) -> list[int]:
    """The E-UTRA bands a UE Radio Capability announces (TS 36.331 §6.3.6)."""
    try:
        outer = rrc.inter_node().UERadioAccessCapabilityInformation
        outer.from_uper(data)
        r8: Any = outer.get_val()["criticalExtensions"][1][1]
        inner = r8["ue-RadioAccessCapabilityInfo"]  # CONTAINING: decoded in place
        if isinstance(inner, bytes | bytearray):
            info = rrc.definitions().UECapabilityInformation
            info.from_uper(bytes(inner))
            inner = ("UECapabilityInformation", info.get_val())
        r8_info = inner[1]["criticalExtensions"][1][1]
        containers = r8_info["ue-CapabilityRAT-ContainerList"]
        bands: list[int] = []
        for c in containers:
            if c["rat-Type"] != "eutra":
                continue
            cap = rrc.definitions().UE_EUTRA_Capability
            cap.from_uper(c["ueCapabilityRAT-Container"])
            bands += [b["bandEUTRA"] for b in cap.get_val()["rf-Parameters"][
                "supportedBandListEUTRA"]]
        return bands
    except Exception as exc:  # pycrate raises its own errors on malformed input
        raise DecodeError("rrc", None, f"UE Radio Capability: {exc}") from exc
