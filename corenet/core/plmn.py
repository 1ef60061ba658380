"""PLMN identities (TS 23.003 §2.2; encoded per TS 24.008 §10.5.1.13 / TS 36.413 §9.2.3.8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Plmn:
    mcc: str
    mnc: str

    def __post_init__(self) -> None:
        if len(self.mcc) != 3 or not self.mcc.isdigit():
            raise ValueError(f"MCC must be 3 digits, got {self.mcc!r}")
        if len(self.mnc) not in (2, 3) or not self.mnc.isdigit():
            raise ValueError(f"MNC must be 2 or 3 digits, got {self.mnc!r}")

    @classmethod
    def parse(cls, text: str) -> Plmn:
        """'44010' -> 440/10, '440-10' -> 440/10, '310410' -> 310/410."""
        return _kept(cls, _PARSED, text, cls._parse)

    @classmethod
    def _parse(cls, text: str) -> Plmn:
        digits = text.replace("-", "").replace("/", "").strip()
        if "-" in text or "/" in text:
            mcc, mnc = text.replace("/", "-").split("-", 1)
            return cls(mcc.strip(), mnc.strip())
        if len(digits) not in (5, 6) or not digits.isdigit():
            raise ValueError(f"PLMN must be MCC+MNC (5 or 6 digits), got {text!r}")
        return cls(digits[:3], digits[3:])

    def __str__(self) -> str:
        return self.mcc + self.mnc

    def to_bytes(self) -> bytes:
        """3 octets: MCC2|MCC1, MNC3|MCC3, MNC2|MNC1 (MNC3 = 0xF for a 2-digit MNC)."""
        packed: bytes | None = self.__dict__.get("_packed")
        if packed is None:
            packed = self._pack()
            object.__setattr__(self, "_packed", packed)  # a cache, not a field
        return packed

    def _pack(self) -> bytes:
        mcc = [int(c) for c in self.mcc]
        mnc = [int(c) for c in self.mnc]
        mnc3 = mnc[2] if len(mnc) == 3 else 0xF
        return bytes(
            [(mcc[1] << 4) | mcc[0], (mnc3 << 4) | mcc[2], (mnc[1] << 4) | mnc[0]]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Plmn:
        return _kept(cls, _DECODED, bytes(data), cls._unpack)

    @classmethod
    def _unpack(cls, data: bytes) -> Plmn:
        if len(data) != 3:
            raise ValueError(f"PLMN identity is 3 octets, got {len(data)}")
        mcc = f"{data[0] & 0xF}{data[0] >> 4}{data[1] & 0xF}"
        mnc3 = data[1] >> 4
        mnc = f"{data[2] & 0xF}{data[2] >> 4}" + ("" if mnc3 == 0xF else str(mnc3))
        return cls(mcc, mnc)

    @property
    def realm(self) -> str:
        """EPC home network realm, TS 23.003 §19.2."""
        return f"epc.mnc{self.mnc.zfill(3)}.mcc{self.mcc}.3gppnetwork.org"


# A network function meets the same few PLMNs in every message: each text and each encoding
# is parsed once. A PLMN is immutable, so the one instance is shared; a peer sending many
# distinct values only empties the table (bounded), and an invalid one is never kept.
_KEPT = 1024
_PARSED: dict[str, Plmn] = {}
_DECODED: dict[bytes, Plmn] = {}


def _kept(cls: type[Plmn], table: dict[Any, Plmn], key: Any,
          make: Callable[[Any], Plmn]) -> Plmn:
    """The PLMN `make(key)` gives, made once per key (and class)."""
    known = table.get(key)
    if known is not None and type(known) is cls:
        return known
    plmn = make(key)
    if len(table) >= _KEPT:
        table.clear()
    table[key] = plmn
    return plmn
