"""Device profiles: what a handset does during JAPAN Roaming, as the seed report describes it.

A profile (`configs/devices/*.yaml`) names the OS, vendor, model and release date and the
behaviours the report lists as device-dependent: emergency-only roaming (capable devices from
spring 2026), emergency calls in full roaming (some existing devices cannot), 184/186-prefixed
emergency calls while roaming, whether automatic network selection connects to JPN-ROAM, how the
device behaves after the user picks JPN-ROAM manually, and the ETWS behaviour (iOS 18.5 and
later; Android by vendor and release date) for cell broadcast.

`assign_devices` gives each member of a population a profile: one for all, or a seeded mix by
weights.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from corenet.codecs.voice_domain import UsageSetting, VoiceDomain
from corenet.config import loader
from corenet.core.errors import ConfigError

# The seed report: iOS 18.5 (2025-05-13) and later display and sound ETWS warnings while roaming.
IOS_ETWS_MIN = (18, 5)


class EtwsBehaviour(BaseModel):
    """What the device shows for ETWS while roaming (TS 23.041 §9.4; seed report, "ETWS")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    earthquake_warning: bool = True
    tsunami_warning: bool = True
    # "disaster / evacuation information": the standard message identifier, and the
    # docomo-specific one that only devices sold for docomo's network understand.
    disaster_info_standard_id: bool = True
    disaster_info_docomo_id: bool = False
    # supports the Japanese operators' common specification for warnings (seed: KDDI devices
    # from 2019-H2 "that support the common specification" sound tsunami warnings)
    common_spec: bool = True


class DeviceProfile(BaseModel):
    """One handset model and the roaming behaviours the seed report says vary by device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    os: Literal["ios", "android", "other"]
    os_version: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    model: str = Field(min_length=1)
    # the operator that sold the device (decides the Android ETWS cases of the report)
    carrier: Literal["docomo", "kddi", "softbank", "rakuten", "open-market"] = "open-market"
    release_date: dt.date
    # the SIM's generation (seed: KDDI devices need a 5G SA SIM for evacuation information)
    sim: Literal["4g", "5g-sa"] = "4g"
    # seed: "capable devices are expected from spring 2026"
    emergency_only_roaming: bool
    # seed: "some existing devices can use calls, SMS and data but cannot place emergency calls"
    emergency_calls_in_full_roaming: bool = True
    # seed: 184/186-prefixed emergency calls fail (always in emergency-only roaming)
    prefixed_emergency_calls_roaming: bool = False
    # seed: "capable devices may connect automatically; manual selection is more reliable"
    auto_connect_roaming: bool = False
    # After the user picks JPN-ROAM manually: try a normal attach first (and fall back to the
    # emergency attach when the user dials), or go straight to the emergency attach on dialling.
    manual_selection: Literal["normal-attach-first", "emergency-attach"] = "normal-attach-first"
    # A device without a USIM identifies itself by IMEI (TS 24.301 §5.5.1.2.2).
    usim: bool = True
    # Sent in the Attach Request (TS 24.301 §9.9.3.44, TS 24.008 §10.5.5.28): a VoLTE phone is
    # voice centric and places voice over IMS only.
    ue_usage_setting: UsageSetting = "voice-centric"
    voice_domain_preference: VoiceDomain = "ims-ps-voice-only"
    etws: EtwsBehaviour = EtwsBehaviour()

    @field_validator("os_version")
    @classmethod
    def _version(cls, v: str) -> str:
        parts = v.split(".")
        if not all(p.isdigit() for p in parts):
            raise ValueError("os_version is dotted numbers, e.g. '26' or '18.5'")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> DeviceProfile:
        if self.manual_selection == "emergency-attach" and not self.emergency_only_roaming:
            raise ValueError("manual_selection 'emergency-attach' needs emergency_only_roaming")
        if (self.os == "ios" and self.version_tuple < IOS_ETWS_MIN
                and self.etws.earthquake_warning):
            raise ValueError("iOS before 18.5 does not display ETWS warnings while roaming "
                             "(seed report); set etws.earthquake_warning: false")
        return self

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.os_version.split("."))

    @property
    def released(self) -> str:
        """Release month as the report speaks of it, e.g. "2022-09"."""
        return f"{self.release_date:%Y-%m}"

    def emergency_only_reason(self) -> str:
        """Why this device cannot use emergency-only roaming ('' when it can)."""
        if self.emergency_only_roaming:
            return ""
        return f"device does not support emergency-only roaming (released {self.released})"

    def full_roaming_call_reason(self) -> str:
        """Why this device cannot place an emergency call in full roaming ('' when it can)."""
        if self.emergency_calls_in_full_roaming:
            return ""
        return (f"device cannot place emergency calls in full roaming "
                f"(released {self.released})")


@functools.cache
def default_profile() -> DeviceProfile:
    """A capable 2026 device: what a population uses when no profile is given (one frozen
    profile, shared by every UE given none)."""
    return DeviceProfile(name="generic-2026", os="other", os_version="1", vendor="generic",
                         model="generic", release_date=dt.date(2026, 4, 1),
                         emergency_only_roaming=True, auto_connect_roaming=True,
                         manual_selection="emergency-attach")


def load_device(path: str | Path) -> DeviceProfile:
    """One profile file; a ConfigError names the file, the line and the field."""
    try:
        return loader.load(DeviceProfile, path)
    except ValueError as exc:
        # PyYAML raises a bare ValueError for an impossible date such as 2020-13-01.
        raise ConfigError(f"{path}: invalid value: {exc}") from None


def load_devices(paths: Sequence[str | Path]) -> list[DeviceProfile]:
    """Profiles from files and directories (every `*.yaml` of a directory, sorted)."""
    out: list[DeviceProfile] = []
    for p in map(Path, paths):
        files = sorted(p.glob("*.yaml")) if p.is_dir() else [p]
        out += [load_device(f) for f in files]
    if not out:
        raise ConfigError(f"no device profile found in {', '.join(map(str, paths))}")
    return out


DeviceMix = DeviceProfile | Sequence[DeviceProfile] | Sequence[tuple[DeviceProfile, float]]


def assign_devices(devices: DeviceMix | None, count: int, seed: int = 1) -> list[DeviceProfile]:
    """A profile per UE: one for all; a list used round-robin; or (profile, weight) pairs
    drawn with a seeded generator, so a run is reproducible."""
    if devices is None:
        return [default_profile()] * count
    if isinstance(devices, DeviceProfile):
        return [devices] * count
    items = list(devices)
    if not items:
        raise ValueError("no device profile given")
    if all(isinstance(i, DeviceProfile) for i in items):
        profiles = [i for i in items if isinstance(i, DeviceProfile)]
        return [profiles[n % len(profiles)] for n in range(count)]
    pairs = [i for i in items if isinstance(i, tuple)]
    if len(pairs) != len(items) or any(w < 0 for _, w in pairs) or sum(w for _, w in pairs) <= 0:
        raise ValueError("a device mix is (profile, weight) pairs with positive total weight")
    rng = random.Random(f"devices:{seed}")
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs], k=count)


def parse_mix(spec: str, profiles: dict[str, DeviceProfile]) -> list[tuple[DeviceProfile, float]]:
    """"iphone-2026=3,android-kddi-2022=1" -> weighted pairs (profile names from the files)."""
    out: list[tuple[DeviceProfile, float]] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, weight = part.partition("=")
        if name not in profiles:
            raise ConfigError(f"device mix: unknown profile {name!r} "
                              f"(known: {', '.join(sorted(profiles))})")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(f"device mix: weight of {name!r} is not a number") from None
        out.append((profiles[name], w))
    return out
