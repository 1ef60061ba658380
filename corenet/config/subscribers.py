"""Subscriber provisioning file (`configs/subscribers.yaml`).

One list serves both sides: the HSS provisions its store from it, and sim_ue builds the USIMs of
its simulated UEs from the same entries (the SIM cards an operator would issue). An entry with
`count: N` stands for N subscribers with consecutive IMSIs and MSISDNs and the same keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from corenet.config import loader
from corenet.config.models import PlmnStr, Strict
from corenet.core.errors import ConfigError


def _hex(v: str, size: int, name: str) -> str:
    v = str(v).lower()
    try:
        raw = bytes.fromhex(v)
    except ValueError:
        raise ValueError(f"{name} must be hex") from None
    if len(raw) != size:
        raise ValueError(f"{name} must be {size} bytes ({2 * size} hex digits)")
    return v


class ApnProfile(Strict):
    """One APN-Configuration (TS 29.272 §7.3.35)."""

    apn: str
    context_id: int = Field(default=1, ge=1)
    pdn_type: Literal["ipv4", "ipv6", "ipv4v6"] = "ipv4v6"
    qci: int = Field(default=9, ge=1, le=254)
    arp_priority: int = Field(default=8, ge=1, le=15)
    ambr_ul_bps: int = Field(default=50_000_000, ge=0)
    ambr_dl_bps: int = Field(default=100_000_000, ge=0)
    # TS 29.272 §7.3.38 / TS 23.401 §4.3.8.1: a roamer may get this APN from a visited P-GW
    vplmn_dynamic_address_allowed: bool = True


class SubscriberEntry(Strict):
    imsi: str
    count: int = Field(default=1, ge=1, le=1_000_000)
    msisdn: str | None = None
    k: str
    op: str | None = None
    opc: str | None = None
    amf: str = "8000"
    sqn: int = Field(default=0, ge=0, lt=2**48)
    ue_ambr_ul_bps: int = Field(default=50_000_000, ge=0)
    ue_ambr_dl_bps: int = Field(default=100_000_000, ge=0)
    apns: list[ApnProfile] = [ApnProfile(apn="internet", context_id=1), ApnProfile(apn="ims", context_id=2, qci=5, arp_priority=1)]
    default_apn: str = "internet"
    # Empty: roaming allowed in every visited PLMN (TS 29.272 §7.3.13 is the rejection path).
    allowed_visited_plmns: list[PlmnStr] = []
    imei: str | None = None

    @field_validator("imsi")
    @classmethod
    def _imsi(cls, v: str) -> str:
        v = str(v)
        if not v.isdigit() or not 6 <= len(v) <= 15:
            raise ValueError("IMSI is 6-15 digits (TS 23.003 §2.2)")
        return v

    @field_validator("msisdn")
    @classmethod
    def _msisdn(cls, v: str | None) -> str | None:
        if v is not None and (not str(v).isdigit() or len(str(v)) > 15):
            raise ValueError("MSISDN is up to 15 digits in E.164 form (TS 23.003 §3.3)")
        return None if v is None else str(v)

    @field_validator("k")
    @classmethod
    def _k(cls, v: str) -> str:
        return _hex(v, 16, "k")

    @field_validator("op", "opc")
    @classmethod
    def _op(cls, v: str | None) -> str | None:
        return None if v is None else _hex(v, 16, "op/opc")

    @field_validator("amf")
    @classmethod
    def _amf(cls, v: str) -> str:
        return _hex(v, 2, "amf")

    @model_validator(mode="after")
    def _one_op(self) -> SubscriberEntry:
        if (self.op is None) == (self.opc is None):
            raise ValueError("give exactly one of op or opc")
        if self.default_apn not in {a.apn for a in self.apns}:
            raise ValueError(f"default_apn {self.default_apn!r} is not among apns")
        return self

    def expand(self) -> Iterator[Subscriber]:
        width = len(self.imsi)
        for i in range(self.count):
            imsi = str(int(self.imsi) + i).zfill(width)
            msisdn = None if self.msisdn is None else str(int(self.msisdn) + i).zfill(len(self.msisdn))
            yield Subscriber(
                imsi=imsi, msisdn=msisdn, k=self.k, op=self.op, opc=self.opc, amf=self.amf,
                sqn=self.sqn, ue_ambr_ul_bps=self.ue_ambr_ul_bps, ue_ambr_dl_bps=self.ue_ambr_dl_bps,
                apns=self.apns, default_apn=self.default_apn,
                allowed_visited_plmns=self.allowed_visited_plmns, imei=self.imei,
            )


class Subscriber(SubscriberEntry):
    """One expanded subscriber (count is always 1)."""


class SubscribersFile(Strict):
    subscribers: list[SubscriberEntry]

    def expand(self) -> list[Subscriber]:
        return [s for e in self.subscribers for s in e.expand()]


def _ranges(entries: list[SubscriberEntry], kind: Literal["IMSI", "MSISDN"]
            ) -> list[tuple[int, int, int, int]]:
    """(digits, first, last, entry index) of each entry's run of numbers (`count` consecutive)."""
    out = []
    for i, e in enumerate(entries):
        first = e.imsi if kind == "IMSI" else e.msisdn
        if first is None:
            continue
        out.append((len(first), int(first), int(first) + e.count - 1, i))
    return out


def check_unique(entries: list[SubscriberEntry], source: str,
                 lines: dict[tuple[object, ...], int] | None = None) -> None:
    """Every IMSI (TS 23.003 §2.1: it identifies one subscription) and every MSISDN (§3.3) is
    given once across the file, `count` runs included; ConfigError naming both entries otherwise.

    The runs are compared as intervals (sorted, each against the furthest end so far), so a file
    of large `count` runs is checked without expanding it."""
    def where(i: int) -> str:
        e = entries[i]
        line = (lines or {}).get(("subscribers", i))
        parts = ([f"line {line}"] if line else []) + [f"imsi {e.imsi}"]
        parts += [f"msisdn {e.msisdn}"] if e.msisdn is not None else []
        parts += [f"count {e.count}"] if e.count > 1 else []
        return f"entry {i + 1} ({', '.join(parts)})"

    for kind in ("IMSI", "MSISDN"):
        ranges = _ranges(entries, kind)  # type: ignore[arg-type]
        for digits, _first, last, i in ranges:
            if len(str(last)) > digits:
                raise ConfigError(f"{source}: {where(i)}: {kind} run of count {entries[i].count} "
                                  f"passes {'9' * digits}, the last {digits}-digit {kind}")
        ranges.sort()
        widest: tuple[int, int, int, int] | None = None
        for current in ranges:
            digits, first, last, i = current
            if widest is not None and widest[0] == digits and first <= widest[2]:
                j = widest[3]
                a, b = sorted((i, j))
                clash = str(first).zfill(digits)
                raise ConfigError(f"{source}: duplicate {kind} {clash}: {where(a)} and {where(b)} "
                                  f"both provision it")
            if widest is None or widest[0] != digits or last > widest[2]:
                widest = current


def load_subscribers(path: str | Path) -> list[Subscriber]:
    """The file's subscribers, expanded; ConfigError on any invalid or duplicate entry."""
    parsed, lines = loader.load_with_lines(SubscribersFile, path)
    check_unique(parsed.subscribers, str(path), lines)
    return parsed.expand()
