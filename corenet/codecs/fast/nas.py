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

`decode_plain` reads a plain message the same way pycrate's parser does (mandatory part in
order, then optional IEs by IEI in any order, each at most once) and maps it with the reference
codec's own IE conversions, giving the reference's Message or None. It declines every message
pycrate would reject or treat specially: unknown or repeated IEIs (§7.6), truncated IEs,
invalid values (§7.7), messages outside the table, and an ESM message container it does not
decode in turn. A Detach Request (§8.2.11) is read in the UE terminated form downlink, else in
the UE originating form, as the reference reads it first; when that form does not fit, the
reference decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corenet.codecs import nas as ref
from corenet.codecs.base import Message
from corenet.codecs.fast.nas_ies import REPLACES
from corenet.codecs.selection import fast_path

# isort: split
from pycrate_mobile.NASLTE import EMMTypeMOClasses, EMMTypeMTClasses, ESMTypeClasses
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
        _spec, cls, val = ref.encode_values(msg, REPLACES)
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



# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def _read(layout: _Layout, data: bytes, pos: int) -> dict[str, Any]:
    """Value parts by pycrate IE name, in the order pycrate's class lists them."""
    found: dict[str, Any] = {}
    high = True  # the next half octet is bits 5-8 of data[pos]
    optional = []
    for e in layout.elements:
        kind = e.kind
        if kind in ("1V", "spare"):
            if pos >= len(data):
                raise _Decline
            nibble = data[pos] >> 4 if high else data[pos] & 0x0F
            if not high:
                pos += 1
            high = not high
            if kind == "1V":
                found[e.name] = nibble
            continue
        if not high:
            raise _Decline
        if kind == "3V":
            if e.size is None or pos + e.size > len(data):
                raise _Decline
            found[e.name] = data[pos:pos + e.size]
            pos += e.size
        elif kind in ("4LV", "6LVE"):
            width = 1 if kind == "4LV" else 2
            length = int.from_bytes(data[pos:pos + width], "big")
            if pos + width + length > len(data):
                raise _Decline
            found[e.name] = data[pos + width:pos + width + length]
            pos += width + length
        else:
            optional.append(e)
    if not high:
        raise _Decline
    # TS 24.007 §11.2.4 / pycrate's Layer3: each optional IE matched by its IEI, at most once
    while pos < len(data):
        t8 = data[pos]
        match = next((e for e in optional if (e.kind == "1TV" and e.iei == t8 >> 4) or e.iei == t8),
                     None)
        if match is None or match.kind == "2":
            raise _Decline
        optional.remove(match)
        kind = match.kind
        if kind == "1TV":
            found[match.name] = t8 & 0x0F
            pos += 1
            continue
        if kind == "3TV":
            if match.size is None or pos + 1 + match.size > len(data):
                raise _Decline
            value, pos = data[pos + 1:pos + 1 + match.size], pos + 1 + match.size
        else:
            width = 1 if kind == "4TLV" else 2
            length = int.from_bytes(data[pos + 1:pos + 1 + width], "big")
            start = pos + 1 + width
            if start > len(data) or start + length > len(data):
                raise _Decline
            value, pos = data[start:start + length], start + length
        found[match.name] = value
    return found


def decode_plain(data: bytes, direction: int | None) -> Message | None:
    """The reference's Message for a plain EMM or ESM message, or None to decline."""
    try:
        return _decode_plain(bytes(data), direction)
    except Exception:
        return None


def _decode_plain(data: bytes, direction: int | None) -> Message:
    pd = data[0] & 0x0F
    if pd == ref.PD_EMM:
        if data[0] >> 4 != ref.SHT_PLAIN:
            raise _Decline
        code, start = data[1], 2
        classes = EMMTypeMTClasses if direction == ref.DOWNLINK else EMMTypeMOClasses
    elif pd == ref.PD_ESM:
        code, start, classes = data[2], 3, ESMTypeClasses
    else:
        raise _Decline
    spec = ref._BY_CODE.get((pd, code))
    cls = classes.get(code)
    if spec is None or cls is None:
        raise _Decline
    if spec.name == "DetachRequest" and direction == ref.DOWNLINK:
        spec = ref._DETACH_MT  # §8.2.11.2: the UE terminated form
    # §8.2.11.1: otherwise the UE originating form, which the reference also tries first
    layout = _layout(cls)
    if layout is None:
        raise _Decline
    found = _read(layout, data, start)
    fields: dict[str, Any] = {}
    if pd == ref.PD_ESM:
        fields[ref.EBI] = data[0] >> 4
        fields[ref.PTI] = data[1]
    mapped = set()
    for ie in spec.ies:
        mapped.add(ie.pyc)
        if ie.pyc not in found:
            continue
        # an invalid value declines: the reference's §7.7 handling
        value = REPLACES.get(ie.from_wire, ie.from_wire)(found[ie.pyc])
        if len(ie.names) == 1:
            fields[ie.names[0]] = value
        else:
            fields.update(zip(ie.names, value, strict=True))
    other = {e.name: found[e.name] for e in layout.elements  # in the class's order
             if e.name in found and e.name not in mapped}
    if other:
        fields["other_ies"] = other
    container = fields.get(ref.ESM_CONTAINER)
    if container is not None:
        if not container or container[0] & 0x0F != ref.PD_ESM:
            raise _Decline
        inner = _decode_plain(container, direction)
        fields[ref.ESM_CONTAINER] = {"name": inner.name, "code": inner.code,
                                     "fields": inner.fields}
    ref._check_conditional(spec.name, fields, {})
    return Message(ref.PROTOCOL, spec.name, spec.code, fields)


fast_path(ref.PROTOCOL).install(encode, decode_plain)
