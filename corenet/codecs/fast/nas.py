"""NAS EPS (TS 24.301) plain EMM and ESM messages: encoding without pycrate's element machinery.

The reference codec (`corenet.codecs.nas.encode_values`) maps the fields to IE value parts; this
module writes them in the TS 24.007 §11.2 formats, in the order of the TS 24.301 §8 message
definitions as pycrate lays them out (its class for the message is read once, not built per
call):

    header     EMM: security header type || PD, message type (§9.1-§9.3.1, §9.8)
               ESM: EPS bearer identity || PD, PTI, message type (§9.3.2, §9.4)
    type 1 V   a half octet; two of them share an octet, the first in bits 5-8
    type 3 V   a value of fixed length
    type 4 LV, type 6 LV-E   length (1 or 2 octets) and value
    optional   type 1 TV (IEI in bits 5-8), type 2 T, type 3 TV, type 4 TLV, type 6 TLV-E,
               written when the message holds them

`encode` returns the pycrate path's bytes or None (decline: a value outside what the format
holds, an IE pycrate would fill with a default, a message this module does not lay out).
Decoding stays with pycrate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corenet.codecs import nas as ref
from corenet.codecs.base import Message

# isort: split
from pycrate_mobile.TS24007 import (
    Type1TV,
    Type1V,
    Type2,
    Type3TV,
    Type3V,
    Type4LV,
    Type4TLV,
    Type6LVE,
    Type6TLVE,
)


class _Decline(Exception):
    """Internal: outside the fast set; the pycrate path takes the call."""


@dataclass(frozen=True, slots=True)
class _Elt:
    name: str
    kind: str  # "1V" "spare" "3V" "4LV" "6LVE" "1TV" "2" "3TV" "4TLV" "6TLVE"
    iei: int  # the tag (type 1 TV: 4 bits) or 0
    size: int | None  # fixed value length in octets (type 3), else None


@dataclass(frozen=True, slots=True)
class _Layout:
    header: bytes  # EMM: both octets; ESM: the message type octet
    esm: bool
    elements: tuple[_Elt, ...]
    names: frozenset[str]  # IE names pycrate sets from the value


_KINDS = ((Type1TV, "1TV"), (Type1V, "1V"), (Type2, "2"), (Type3TV, "3TV"), (Type3V, "3V"),
          (Type4TLV, "4TLV"), (Type4LV, "4LV"), (Type6TLVE, "6TLVE"), (Type6LVE, "6LVE"))
_LAYOUTS: dict[type, _Layout | None] = {}


def _layout(cls: type) -> _Layout | None:
    """The element list of pycrate's class for a message, or None when it holds an element
    this module does not write."""
    if cls in _LAYOUTS:
        return _LAYOUTS[cls]
    pyc: Any = cls()
    head = pyc[0]
    esm = head._name == "ESMHeader"
    header = bytes(head.to_bytes())[2:] if esm else bytes(head.to_bytes())
    elements = []
    layout: _Layout | None = None
    for elt in pyc._content[1:]:
        kind = next((k for c, k in _KINDS if isinstance(elt, c)), None)
        if kind is None:
            if elt._name != "spare" or elt.get_bl() != 4:
                break
            kind = "spare"
        iei = elt[0].get_val() if kind in ("1TV", "2", "3TV", "4TLV", "6TLVE") else 0
        size = None
        if kind in ("3V", "3TV"):
            bl = elt[-1]._bl  # None: pycrate writes the value part as given
            if bl is not None and bl % 8:
                break
            size = None if bl is None else bl // 8
        elements.append(_Elt(elt._name, kind, iei, size))
    else:
        layout = _Layout(header, esm, tuple(elements),
                         frozenset(e.name for e in elements if e.kind != "spare"))
    _LAYOUTS[cls] = layout
    return layout


def _half(value: Any) -> int:
    if not isinstance(value, int) or not 0 <= value <= 15:
        raise _Decline
    return int(value)


def _octets(value: Any, size: int | None = None, limit: int = 0xFF) -> bytes:
    if type(value) is not bytes or (size is not None and len(value) != size) or len(value) > limit:
        raise _Decline
    return value


def _body(layout: _Layout, val: dict[str, Any]) -> bytes:
    out = bytearray()
    high: int | None = None  # a half octet waiting for its low half (TS 24.007 §11.2.1.1.4)
    for e in layout.elements:
        kind = e.kind
        if kind in ("1V", "spare"):
            nibble = 0 if kind == "spare" else _half(val[e.name])
            if high is None:
                high = nibble
            else:
                out.append((high << 4) | nibble)
                high = None
            continue
        if high is not None:
            raise _Decline
        present = e.name in val
        if kind in ("3V", "4LV", "6LVE"):
            if not present:
                raise _Decline  # pycrate would write the IE's default
            v = val[e.name]
            if kind == "3V":
                out += _octets(v, e.size)
            elif kind == "4LV":
                out += bytes((len(_octets(v)),)) + v
            else:
                out += len(_octets(v, limit=0xFFFF)).to_bytes(2, "big") + v
        elif present:
            v = val[e.name]
            if kind == "1TV":
                out.append((e.iei << 4) | _half(v))
            elif kind == "2":
                out.append(e.iei)
            elif kind == "3TV":
                out.append(e.iei)
                out += _octets(v, e.size)
            elif kind == "4TLV":
                out += bytes((e.iei, len(_octets(v)))) + v
            else:
                out.append(e.iei)
                out += len(_octets(v, limit=0xFFFF)).to_bytes(2, "big") + v
    if high is not None:
        raise _Decline
    return bytes(out)


def encode(msg: Message) -> bytes | None:
    """The pycrate path's bytes for `msg`, or None to decline."""
    try:
        if msg.protocol != ref.PROTOCOL or msg.name == "ServiceRequest":
            return None
        _spec, cls, val = ref.encode_values(msg)
        layout = _layout(cls)
        if layout is None:
            return None
        header = val.pop("ESMHeader" if layout.esm else "EMMHeader")
        # keys pycrate would set on elements other than IEs, or ignore: not ours to guess
        if not layout.names.issuperset(val):
            return None
        body = _body(layout, val)
        if layout.esm:
            ebi, pti = header["EPSBearerId"], header["PTI"]
            if not (0 <= ebi <= 15 and 0 <= pti <= 255):
                return None
            return bytes(((ebi << 4) | ref.PD_ESM, pti)) + layout.header + body
        if header != {"SecHdr": ref.SHT_PLAIN}:
            return None
        return layout.header + body
    except Exception:  # _Decline, or what the pycrate path rejects in its own words
        return None

