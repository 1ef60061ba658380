"""NAS EPS (TS 24.301) plain EMM and ESM messages: encoding without pycrate's element machinery.

The reference codec's IE table maps the fields to IE value parts (with its conversions, or the
fast ones of `nas_ies.REPLACES`), as `corenet.codecs.nas.encode_values` does; this module writes
them in the TS 24.007 §11.2 formats, in the order of the TS 24.301 §8 message definitions as
pycrate lays them out (its class for the message is read once, not built per call):

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

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corenet.codecs import nas as ref
from corenet.codecs.base import Message
from corenet.codecs.fast.nas_ies import (
    REPLACES,
    Decline,
    eps_mobile_identity_to_wire,
    pdn_address_to_wire,
)
from corenet.codecs.selection import fast_path
from corenet.core.plmn import Plmn

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


# Each message is compiled once into an encoding plan: the elements of pycrate's class in
# order, each with the reference's IE conversion (the fast one where `REPLACES` has it).
_HALF, _SPARE, _W3V, _W4LV, _W6LVE, _W1TV, _W2, _W3TV, _W4TLV, _W6TLVE = range(10)
_KIND_OP = {"1V": _HALF, "spare": _SPARE, "3V": _W3V, "4LV": _W4LV, "6LVE": _W6LVE,
            "1TV": _W1TV, "2": _W2, "3TV": _W3TV, "4TLV": _W4TLV, "6TLVE": _W6TLVE}


class _EncPlan:
    """`keep_all`: every element of the class, for a message whose `other_ies` may give the
    value part of any of them; else only those the reference's fields map to."""

    __slots__ = ("layout", "steps", "outside")

    def __init__(self, spec: Any, layout: _Layout, keep_all: bool) -> None:
        self.layout = layout
        by_pyc = {ie.pyc: ie for ie in spec.ies}
        steps = []
        for e in layout.elements:
            op = _KIND_OP[e.kind]
            ie = by_pyc.get(e.name)
            if ie is None and op > _W6LVE and not keep_all:
                continue  # an optional IE no field maps to: never written
            if ie is None and op != _SPARE and not keep_all:
                raise _Decline  # a mandatory IE no field maps to: pycrate's default
            info = None if ie is None else (
                ie.names[0], ie.names[1:], REPLACES.get(ie.to_wire, ie.to_wire), ie.mandatory,
                ie.to_wire is ref.ies.gprs_timer_to_wire)
            steps.append((e.name, op, e.iei, e.size, info))
        self.steps = tuple(steps)
        # IEs of the reference's table that pycrate's class does not lay out: present, they
        # are not ours to guess; mandatory, they are always missing
        self.outside = tuple((ie.names[0], ie.mandatory, ie.to_wire is ref.ies.gprs_timer_to_wire)
                             for ie in spec.ies if ie.pyc not in layout.names)

    def body(self, fields: dict[str, Any], other: dict[str, Any] | None = None) -> bytes:
        """The message body from its fields; `other`: value parts by pycrate IE name, given
        after the fields' (the reference's `other_ies`)."""
        for name, required, timer in self.outside:
            given = fields.get(name, _ABSENT)
            if (given is not _ABSENT and (given is not None or timer)) or required:
                raise _Decline
        out = bytearray()
        high: int | None = None  # a half octet waiting for its low half (TS 24.007 §11.2.1.1.4)
        for name, op, iei, size, info in self.steps:
            v: Any = _ABSENT
            if info is not None:
                first, more, conv, mandatory, gprs = info
                v = fields.get(first, _ABSENT)
                # None is absent, except for a GPRS timer where it codes "deactivated"
                if v is _ABSENT or (v is None and not gprs):
                    if mandatory:
                        raise _Decline  # the reference's EncodeError
                    v = _ABSENT
                else:
                    v = conv(v, *[fields.get(n) for n in more]) if more else conv(v)
            if other is not None and name in other:
                v = other[name]
            if op <= _SPARE:
                nibble = 0 if op == _SPARE else _half(v)
                if high is None:
                    high = nibble
                else:
                    out.append((high << 4) | nibble)
                    high = None
                continue
            if high is not None:
                raise _Decline
            if v is _ABSENT:
                if op <= _W6LVE:
                    raise _Decline  # pycrate would write the IE's default
                continue
            if op == _W3V:
                out += _octets(v, size)
            elif op == _W4LV:
                out += bytes((len(_octets(v)),)) + v
            elif op == _W6LVE:
                out += len(_octets(v, limit=0xFFFF)).to_bytes(2, "big") + v
            elif op == _W1TV:
                out.append((iei << 4) | _half(v))
            elif op == _W2:
                out.append(iei)
            elif op == _W3TV:
                out.append(iei)
                out += _octets(v, size)
            elif op == _W4TLV:
                out += bytes((iei, len(_octets(v)))) + v
            else:
                out.append(iei)
                out += len(_octets(v, limit=0xFFFF)).to_bytes(2, "big") + v
        if high is not None:
            raise _Decline
        return bytes(out)


_ENC_PLANS: dict[tuple[int, bool], _EncPlan | None] = {}
_ABSENT: Any = object()


def _enc_plan(spec: Any, keep_all: bool = False) -> _EncPlan | None:
    key = (id(spec), keep_all)  # the reference's specs live as long as the process
    try:
        return _ENC_PLANS[key]
    except KeyError:
        pass
    layout = _layout(spec.mt if spec is ref._DETACH_MT else spec.mo)
    try:
        plan = None if layout is None else _EncPlan(spec, layout, keep_all)
    except _Decline:
        plan = None
    _ENC_PLANS[key] = plan
    return plan


def encode(msg: Message) -> bytes | None:
    """The pycrate path's bytes for `msg`, or None to decline."""
    try:
        if msg.protocol != ref.PROTOCOL or msg.name == "ServiceRequest":
            return None
        fields = msg.fields
        other = fields.get("other_ies")
        if other is not None and type(other) is not dict:
            return None
        plan = _enc_plan(ref._spec_for_encode(msg), other is not None)
        if plan is None:
            return None
        layout = plan.layout
        # raw value parts for elements other than IEs (the header...): not ours to guess
        if other is not None and not layout.names.issuperset(other):
            return None
        body = plan.body(fields, other)
        if layout.esm:
            ebi, pti = int(fields.get(ref.EBI, 0)), int(fields.get(ref.PTI, 0))
            if not (0 <= ebi <= 15 and 0 <= pti <= 255):
                return None
            return bytes(((ebi << 4) | ref.PD_ESM, pti)) + layout.header + body
        return layout.header + body
    except Exception:  # _Decline, or what the pycrate path rejects in its own words
        return None



# --------------------------------------------------------------------------------------------
# Decoding
#
# Each message (protocol discriminator, message type, direction) is compiled once into a plan:
# its mandatory part as steps in order (two half octets read as one octet, TS 24.007
# §11.2.1.1.4), its optional IEs as candidates per first octet (TS 24.007 §11.2.4: a type 1
# IEI in bits 5-8, the others a whole octet), and the reference's IE conversions resolved.
# --------------------------------------------------------------------------------------------

_PAIR, _V, _LV, _LVE = 0, 1, 2, 3
_TV1, _TV3, _TLV, _TLVE = 4, 5, 6, 7
_OPTIONAL_OP = {"1TV": _TV1, "2": -1, "3TV": _TV3, "4TLV": _TLV, "6TLVE": _TLVE}


class _DecPlan:
    __slots__ = ("spec", "name", "code", "esm", "steps", "cands", "convs", "mapped", "others",
                 "varying", "templates")

    def __init__(self, spec: Any, layout: _Layout, esm: bool) -> None:
        self.spec = spec
        self.name: str = spec.name
        self.code: int = spec.code
        self.esm = esm
        steps: list[tuple[int, Any, Any]] = []
        half: str | None = None  # the element in bits 5-8 waiting for bits 1-4
        pending = False
        optional: list[tuple[int, _Elt]] = []
        for e in layout.elements:
            name = None if e.kind == "spare" else e.name
            if e.kind in ("1V", "spare"):
                if pending:
                    steps.append((_PAIR, half, name))
                    pending = False
                else:
                    half, pending = name, True
                continue
            if pending:
                raise _Decline  # a half octet alone before a whole one: pycrate decides
            if e.kind == "3V":
                if e.size is None:
                    raise _Decline
                steps.append((_V, e.name, e.size))
            elif e.kind in ("4LV", "6LVE"):
                steps.append((_LV if e.kind == "4LV" else _LVE, e.name, None))
            else:
                if e.kind == "3TV" and e.size is None:
                    optional.append((-1, e))  # matched, then declined
                else:
                    optional.append((_OPTIONAL_OP[e.kind], e))
        if pending:
            raise _Decline
        self.steps = tuple(steps)
        # per first octet, the optional IEs it may start, in the class's order (the first one
        # not yet seen is taken, as pycrate's Layer3 parser does)
        self.cands: tuple[tuple[tuple[int, str, int], ...], ...] = tuple(
            tuple((op, e.name, e.size or 0) for op, e in optional
                  if (e.kind == "1TV" and e.iei == t8 >> 4) or e.iei == t8)
            for t8 in range(256))
        convs = []
        for ie in spec.ies:
            conv = REPLACES.get(ie.from_wire, ie.from_wire)
            convs.append((ie.pyc, ie.names[0] if len(ie.names) == 1 else ie.names, conv))
        self.convs = tuple(convs)
        self.mapped = frozenset(ie.pyc for ie in spec.ies)
        self.others = tuple(e.name for e in layout.elements
                            if e.kind != "spare" and e.name not in self.mapped)
        # decode templates (`_DecTemplate`) for the messages of an attach: the IEs, by pycrate
        # name, whose value parts differ from one UE's message to the next
        varying = _VARYING.get(spec.name)
        self.varying = None if varying is None else frozenset(
            ie.pyc for ie in spec.ies if ie.names[0] in varying)
        self.templates: list[_DecTemplate] = []

    def read(self, data: bytes, pos: int,
             spans: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
        """Value parts by pycrate IE name; `spans`, when given, receives where each value part
        of more than a half octet lies in `data`."""
        found: dict[str, Any] = {}
        end = len(data)
        for op, name, arg in self.steps:
            if op == _PAIR:
                if pos >= end:
                    raise _Decline
                octet = data[pos]
                if name is not None:
                    found[name] = octet >> 4
                if arg is not None:
                    found[arg] = octet & 0x0F
                pos += 1
            elif op == _V:
                stop = pos + arg
                if stop > end:
                    raise _Decline
                found[name] = data[pos:stop]
                if spans is not None:
                    spans[name] = (pos, stop)
                pos = stop
            else:
                if op == _LV:
                    if pos >= end:
                        raise _Decline
                    start = pos + 1
                    stop = start + data[pos]
                else:
                    start = pos + 2
                    if start > end:
                        raise _Decline
                    stop = start + ((data[pos] << 8) | data[pos + 1])
                if stop > end:
                    raise _Decline
                found[name] = data[start:stop]
                if spans is not None:
                    spans[name] = (start, stop)
                pos = stop
        cands = self.cands
        while pos < end:
            t8 = data[pos]
            for cand in cands[t8]:
                if cand[1] not in found:
                    break
            else:
                raise _Decline  # unknown or repeated IEI (§7.6): pycrate decides
            op, name, size = cand
            if op == _TV1:
                found[name] = t8 & 0x0F
                pos += 1
                continue
            if op == _TV3:
                start = pos + 1
                stop = start + size
            elif op == _TLV:
                start = pos + 2
                if start > end:
                    raise _Decline
                stop = start + data[pos + 1]
            elif op == _TLVE:
                start = pos + 3
                if start > end:
                    raise _Decline
                stop = start + ((data[pos + 1] << 8) | data[pos + 2])
            else:
                raise _Decline  # type 2, or a type 3 of no fixed length
            if stop > end:
                raise _Decline
            found[name] = data[start:stop]
            if spans is not None:
                spans[name] = (start, stop)
            pos = stop
        return found


_DEC_PLANS: dict[tuple[int, int, bool], _DecPlan | None] = {}


def _dec_plan(pd: int, code: int, downlink: bool) -> _DecPlan | None:
    key = (pd, code, downlink)
    try:
        return _DEC_PLANS[key]
    except KeyError:
        pass
    plan = None
    spec = ref._BY_CODE.get((pd, code))
    if pd == ref.PD_EMM:
        cls = (EMMTypeMTClasses if downlink else EMMTypeMOClasses).get(code)
    else:
        cls = ESMTypeClasses.get(code)
    if spec is not None and cls is not None:
        if spec.name == "DetachRequest" and downlink:
            spec = ref._DETACH_MT  # §8.2.11.2: the UE terminated form
        # §8.2.11.1: otherwise the UE originating form, which the reference also tries first
        layout = _layout(cls)
        if layout is not None:
            try:
                plan = _DecPlan(spec, layout, pd == ref.PD_ESM)
            except _Decline:
                plan = None
    _DEC_PLANS[key] = plan
    return plan


def decode_plain(data: bytes, direction: int | None) -> Message | None:
    """The reference's Message for a plain EMM or ESM message, or None to decline."""
    try:
        plan, fields = _decode_plain(bytes(data), direction)
    except Exception:
        return None
    return Message(ref.PROTOCOL, plan.name, plan.code, fields)


def _decode_plain(data: bytes, direction: int | None) -> tuple[_DecPlan, dict[str, Any]]:
    """The message's plan and its Message's fields."""
    first = data[0]
    pd = first & 0x0F
    if pd == ref.PD_EMM:
        if first >> 4 != ref.SHT_PLAIN:
            raise _Decline
        code, start = data[1], 2
    elif pd == ref.PD_ESM:
        code, start = data[2], 3
    else:
        raise _Decline
    plan = _dec_plan(pd, code, direction == ref.DOWNLINK)
    if plan is None:
        raise _Decline
    for template in plan.templates:
        got = template.decode(data, direction)
        if got is not None:
            return plan, got
    if plan.varying is None:
        return plan, _decode_read(plan, data, start, direction, None)
    spans: dict[str, tuple[int, int]] = {}
    fields = _decode_read(plan, data, start, direction, spans)
    _learn(plan, data, spans, fields)
    return plan, fields


def _decode_read(plan: _DecPlan, data: bytes, start: int, direction: int | None,
                 spans: dict[str, tuple[int, int]] | None) -> dict[str, Any]:
    found = plan.read(data, start, spans)
    fields: dict[str, Any] = {}
    if plan.esm:
        fields[ref.EBI] = data[0] >> 4
        fields[ref.PTI] = data[1]
    for pyc, names, conv in plan.convs:
        raw = found.get(pyc, _ABSENT)
        if raw is _ABSENT:
            continue
        # an invalid value declines: the reference's §7.7 handling
        if type(names) is str:
            fields[names] = conv(raw)
        else:
            fields.update(zip(names, conv(raw), strict=True))
    if not plan.mapped.issuperset(found):
        other = {name: found[name] for name in plan.others if name in found}
        if other:
            fields["other_ies"] = other
    container = fields.get(ref.ESM_CONTAINER)
    if container is not None:
        fields[ref.ESM_CONTAINER] = _esm_container(container, direction)
    ref._check_conditional(plan.name, fields, {})
    return fields


def _esm_container(raw: bytes, direction: int | None) -> dict[str, Any]:
    """The ESM message container's message (§9.9.3.15), decoded in turn."""
    if not raw or raw[0] & 0x0F != ref.PD_ESM:
        raise _Decline
    plan, fields = _decode_plain(raw, direction)
    return {"name": plan.name, "code": plan.code, "fields": fields}


# --------------------------------------------------------------------------------------------
# Decode templates
#
# The messages of an attach differ from one UE to the next in a few value parts only (identity,
# RAND/AUTN, RES, GUTI, PDN address, time, the ESM message container; the EPS bearer identity and PTI
# of an ESM header, §9.3.2, §9.4). A message decoded in full leaves a template: its octets
# outside those value parts, and its Message. A message of the same length whose every octet
# outside them equals the template's has the same IEs at the same places (all the length
# octets and IEIs are among the octets compared, TS 24.007 §11.2): its Message is the
# template's with the varying value parts converted as the full decode converts them. Any
# other message, or a varying value the conversion refuses, goes the full way.
# --------------------------------------------------------------------------------------------

_PCO = ref.PCO
_VARYING: dict[str, frozenset[str]] = {
    "AttachRequest": frozenset({"eps_mobile_identity", ref.ESM_CONTAINER}),
    "AuthenticationRequest": frozenset({"authentication_parameter_rand", "authentication_parameter_autn"}),
    "AuthenticationResponse": frozenset({"authentication_response_parameter"}),
    "SecurityModeCommand": frozenset(),
    "SecurityModeComplete": frozenset({"imeisv"}),
    "AttachAccept": frozenset({"guti", ref.ESM_CONTAINER}),
    "AttachComplete": frozenset({ref.ESM_CONTAINER}),
    "PDNConnectivityRequest": frozenset({_PCO}),
    "ActivateDefaultEPSBearerContextRequest": frozenset({"pdn_address", _PCO}),
    "ActivateDefaultEPSBearerContextAccept": frozenset({_PCO}),
    # §8.2.13: the time of the attach
    "EMMInformation": frozenset({"universal_time_and_local_time_zone"}),
}
# per message type and direction: a few shapes (KSI, cell, device profile...), the oldest
# replaced by a new one
_TEMPLATES_PER_MESSAGE = 4


def _shared(value: Any) -> bool:
    """Whether a decoded value can be handed to every message: nothing in it can change."""
    kind = type(value)
    if kind in (int, str, bytes, bool) or value is None:
        return True
    if kind is tuple:
        return all(_shared(v) for v in value)
    params = getattr(kind, "__dataclass_params__", None)
    return bool(params is not None and params.frozen and all(
        _shared(getattr(value, f)) for f in kind.__dataclass_fields__))


def _copyable(value: Any) -> bool:
    if type(value) is dict:
        return all(_copyable(v) for v in value.values())
    if type(value) is list:
        return all(_copyable(v) for v in value)
    return _shared(value)


def _fresh(value: Any) -> Any:
    """A copy of a decoded dict or list (of `_copyable` values) for one message."""
    if type(value) is dict:
        return {k: _fresh(v) for k, v in value.items()}
    if type(value) is list:
        return [_fresh(v) for v in value]
    return value


def _copier(value: Any) -> Callable[[Any], Any]:
    """How each message gets its own copy of a decoded dict or list (TAI list, QoS...)."""
    if not _copyable(value):
        raise _Decline
    parts = value.values() if type(value) is dict else value
    if all(_shared(v) for v in parts):
        return type(value).copy  # type: ignore[no-any-return]
    return _fresh


class _DecTemplate:
    __slots__ = ("size", "fixed", "varying", "fields", "copied", "name", "esm")

    def __init__(self, plan: _DecPlan, data: bytes, spans: dict[str, tuple[int, int]],
                 fields: dict[str, Any]) -> None:
        varying = sorted((*spans[pyc], names, conv) for pyc, names, conv in plan.convs
                         if pyc in spans and pyc in plan.varying)  # type: ignore[operator]
        fixed = []
        at = 2 if plan.esm else 0  # ESM: the EPS bearer identity || PD and the PTI vary
        for start, stop, _, _ in varying:
            fixed.append((at, start, data[at:start]))
            at = stop
        fixed.append((at, len(data), data[at:]))
        self.size = len(data)
        self.fixed = tuple(run for run in fixed if run[0] < run[1])
        self.varying = tuple(varying)
        names = {n for _, _, ns, _ in varying for n in ((ns,) if type(ns) is str else ns)}
        self.copied = tuple((k, _copier(v)) for k, v in fields.items()
                            if k not in names and not _shared(v))
        # in the full decode's order, the varying ones overwritten; apart from the Message
        # of `data`, which its receiver may change
        self.fields = {k: _fresh(v) for k, v in fields.items()}
        self.name, self.esm = plan.name, plan.esm

    def decode(self, data: bytes, direction: int | None) -> dict[str, Any] | None:
        """`_decode_read`'s fields for `data`, or None when `data` is not of this shape."""
        if len(data) != self.size:
            return None
        for start, stop, octets in self.fixed:
            if data[start:stop] != octets:
                return None
        fields = self.fields.copy()
        for name, copy in self.copied:
            fields[name] = copy(fields[name])
        if self.esm:
            fields[ref.EBI] = data[0] >> 4
            fields[ref.PTI] = data[1]
        try:
            for start, stop, names, conv in self.varying:
                value = conv(data[start:stop])
                if names == ref.ESM_CONTAINER:
                    fields[names] = _esm_container(value, direction)
                elif type(names) is str:
                    fields[names] = value
                else:
                    fields.update(zip(names, value, strict=True))
            ref._check_conditional(self.name, fields, {})
        except Exception:  # as the full decode: declined, and the reference decides
            return None
        return fields


def _learn(plan: _DecPlan, data: bytes, spans: dict[str, tuple[int, int]],
           fields: dict[str, Any]) -> None:
    try:
        template = _DecTemplate(plan, data, spans, fields)
    except _Decline:
        return
    templates = plan.templates
    if len(templates) >= _TEMPLATES_PER_MESSAGE:
        del templates[0]
    templates.append(template)


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------

# TS 24.301 §8.2.1: the IEs of an ATTACH ACCEPT up to its TAI list (LV) are one octet each:
# header, message type, EPS attach result with its spare half octet, T3412 value; the ESM
# message container (LV-E) follows, then the GUTI, the first optional IE (IEI 0x50)
_ACCEPT_TAI_LIST_AT = 4
_GUTI_IEI = 0x50
_PROBE_ESM = b"\x52\x01\xc1"
_PROBE_GUTI = ref.Guti(Plmn("001", "01"), 1, 1, 1)


class _AttachAcceptTemplate:
    """ATTACH ACCEPTs that share all but their ESM message container and GUTI: the octets
    before the container and after the GUTI kept from one message encoded in full."""

    __slots__ = ("head", "tail")

    def __init__(self, fixed: dict[str, Any]) -> None:
        probe = encode(Message(ref.PROTOCOL, "AttachAccept", ref._BY_NAME["AttachAccept"].code, {
            **fixed, ref.ESM_CONTAINER: _PROBE_ESM, "guti": ref.guti_identity(_PROBE_GUTI)}))
        if probe is None:
            raise _Decline
        at = _ACCEPT_TAI_LIST_AT + 1 + probe[_ACCEPT_TAI_LIST_AT]
        self.head = probe[:at]
        self.tail = probe[at + len(self._middle(_PROBE_ESM, _PROBE_GUTI)):]
        if self.encode({ref.ESM_CONTAINER: _PROBE_ESM, "guti": _PROBE_GUTI}) != probe:
            raise _Decline

    @staticmethod
    def _middle(esm: bytes, guti: ref.Guti) -> bytes:
        identity = eps_mobile_identity_to_wire({"type": "guti", "value": guti})
        return b"".join((len(esm).to_bytes(2, "big"), esm,
                         bytes((_GUTI_IEI, len(identity))), identity))

    def encode(self, fields: dict[str, Any]) -> bytes | None:
        esm, guti = fields[ref.ESM_CONTAINER], fields["guti"]
        if type(esm) is not bytes or not 0 < len(esm) <= 0xFFFF or type(guti) is not ref.Guti:
            return None
        try:
            return b"".join((self.head, self._middle(esm, guti), self.tail))
        except Decline:
            return None


# TS 24.301 §8.3.6: an ACTIVATE DEFAULT EPS BEARER CONTEXT REQUEST is the ESM header (EPS
# bearer identity || PD, PTI, message type), then EPS QoS, access point name and PDN address,
# each LV, then its optional IEs
_ESM_HEADER_LEN = 3
_PROBE_PDN_ADDRESS = {"pdn_type": 1, "ipv4": "0.0.0.0"}


class _DefaultBearerTemplate:
    """ACTIVATE DEFAULT EPS BEARER CONTEXT REQUESTs that share all but their EPS bearer
    identity, PTI and PDN address: the QoS and APN before the address and the optional IEs
    after it kept from one message encoded in full."""

    __slots__ = ("type", "head", "tail")

    def __init__(self, fixed: dict[str, Any]) -> None:
        probe = encode(Message(ref.PROTOCOL, _DEFAULT_BEARER, ref._BY_NAME[_DEFAULT_BEARER].code, {
            **fixed, ref.EBI: 5, ref.PTI: 1, "pdn_address": _PROBE_PDN_ADDRESS}))
        if probe is None:
            raise _Decline
        self.type = probe[2]
        at = _ESM_HEADER_LEN
        at += 1 + probe[at]  # EPS QoS
        at += 1 + probe[at]  # access point name
        self.head = probe[_ESM_HEADER_LEN:at]
        self.tail = probe[at + 1 + probe[at]:]
        if self.encode({ref.EBI: 5, ref.PTI: 1, "pdn_address": _PROBE_PDN_ADDRESS}) != probe:
            raise _Decline

    def encode(self, fields: dict[str, Any]) -> bytes | None:
        ebi, pti = fields[ref.EBI], fields[ref.PTI]
        if type(ebi) is not int or type(pti) is not int or not (0 <= ebi <= 15
                                                                and 0 <= pti <= 255):
            return None
        try:
            address = pdn_address_to_wire(fields["pdn_address"])
        except Exception:  # Decline, or a value pdn_address_to_wire cannot read
            return None
        return b"".join((bytes(((ebi << 4) | ref.PD_ESM, pti, self.type)), self.head,
                         bytes((len(address),)), address, self.tail))


# TS 24.301 §8.2.7: an AUTHENTICATION REQUEST is the EMM header, the NAS key set identifier
# (bits 1-4, spare half octet above), RAND (V, 16 octets), then AUTN (LV, 16 octets)
_AUTN_LEN = 16
_PROBE_KSI, _PROBE_RAND, _PROBE_AUTN = 5, bytes(range(16)), bytes(range(16, 32))


class _AuthenticationRequestTemplate:
    """AUTHENTICATION REQUESTs: the header kept from one message encoded in full, the KSI,
    RAND and AUTN written after it."""

    __slots__ = ("head",)

    def __init__(self, fixed: dict[str, Any]) -> None:
        probe_fields = {ref.KSI: _PROBE_KSI, _RAND: _PROBE_RAND, _AUTN: _PROBE_AUTN}
        probe = encode(Message(ref.PROTOCOL, _AUTH_REQUEST, ref._BY_NAME[_AUTH_REQUEST].code,
                               {**fixed, **probe_fields}))
        if probe is None:
            raise _Decline
        self.head = probe[:2]
        if self.encode(probe_fields) != probe:
            raise _Decline

    def encode(self, fields: dict[str, Any]) -> bytes | None:
        ksi, rand, autn = fields[ref.KSI], fields[_RAND], fields[_AUTN]
        if (type(ksi) is not int or not 0 <= ksi <= 15 or type(rand) is not bytes
                or len(rand) != 16 or type(autn) is not bytes or len(autn) != _AUTN_LEN):
            return None
        return b"".join((self.head, bytes((ksi,)), rand, bytes((_AUTN_LEN,)), autn))


# type 3 V, type 4 LV / TLV, type 6 LV-E / TLV-E (TS 24.007 §11.2.1.1): the octets of the
# length indicator before the value part, the longest value part
_LENGTHS = {"3V": (0, 0xFF), "3TV": (0, 0xFF), "4LV": (1, 0xFF), "4TLV": (1, 0xFF),
            "6LVE": (2, 0xFFFF), "6TLVE": (2, 0xFFFF)}


class _SpliceTemplate:
    """Messages that share all their fields but a few, each of them the value part of one IE
    of type 3, 4 or 6 (the UE's identity, RES, IMEISV, the ESM message container): the octets
    around those IEs kept from one message encoded in full (`probe`, the values it is encoded
    with), each varying value part converted as the full encoder converts it and written with
    its length indicator."""

    __slots__ = ("head", "parts")

    def __init__(self, name: str, probe: dict[str, Any], fixed: dict[str, Any]) -> None:
        spec = ref._BY_NAME[name]
        whole = encode(Message(ref.PROTOCOL, name, spec.code, {**fixed, **probe}))
        plan = _dec_plan(spec.pd, spec.code, False)
        if whole is None or plan is None or plan.esm or "other_ies" in fixed:
            raise _Decline
        spans: dict[str, tuple[int, int]] = {}
        plan.read(whole, 2, spans)
        layout = _layout(spec.mo)
        kinds = {} if layout is None else {e.name: (e.kind, e.size) for e in layout.elements}
        varying = []
        for ie in spec.ies:
            if ie.names[0] in probe:
                kind, size = kinds[ie.pyc]
                if len(ie.names) > 1 or ie.pyc not in spans or kind not in _LENGTHS:
                    raise _Decline
                start, stop = spans[ie.pyc]
                varying.append((start - _LENGTHS[kind][0], stop, ie.names[0],
                                REPLACES.get(ie.to_wire, ie.to_wire), kind, size))
        varying.sort()
        at = varying[0][0]
        self.head = whole[:at]
        parts = []
        for i, (_, stop, field, conv, kind, size) in enumerate(varying):
            upto = varying[i + 1][0] if i + 1 < len(varying) else len(whole)
            parts.append((field, conv, _LENGTHS[kind][0], size, _LENGTHS[kind][1],
                          whole[stop:upto]))
        self.parts = tuple(parts)
        if self.encode(probe) != whole:
            raise _Decline

    def encode(self, fields: dict[str, Any]) -> bytes | None:
        out = [self.head]
        try:
            for field, conv, length, size, limit, after in self.parts:
                value = fields[field]
                if value is None:
                    return None  # absent: not this template's shape
                wire = _octets(conv(value), size, limit)
                if length:
                    out.append(len(wire).to_bytes(length, "big"))
                out.append(wire)
                out.append(after)
        except Exception:  # as the full encoder: declined, and the reference decides
            return None
        return b"".join(out)


def _splice(name: str, probe: dict[str, Any]) -> tuple[frozenset[str], Callable[..., Any]]:
    return frozenset(probe), functools.partial(_SpliceTemplate, name, probe)


_AUTH_REQUEST = "AuthenticationRequest"
_RAND, _AUTN = "authentication_parameter_rand", "authentication_parameter_autn"
_DEFAULT_BEARER = "ActivateDefaultEPSBearerContextRequest"
# per message name: the fields each message gives itself, and the template class
_TEMPLATES: dict[str, tuple[frozenset[str], Callable[[dict[str, Any]], Any]]] = {
    "AttachAccept": (frozenset({ref.ESM_CONTAINER, "guti"}), _AttachAcceptTemplate),
    _DEFAULT_BEARER: (frozenset({ref.EBI, ref.PTI, "pdn_address"}), _DefaultBearerTemplate),
    _AUTH_REQUEST: (frozenset({ref.KSI, _RAND, _AUTN}), _AuthenticationRequestTemplate),
    # the UE's messages of an attach (§8.2.4, §8.2.8, §8.2.21)
    "AttachRequest": _splice("AttachRequest", {
        "eps_mobile_identity": ref.imsi_identity("001010000000001"),
        ref.ESM_CONTAINER: _PROBE_ESM}),
    "AuthenticationResponse": _splice("AuthenticationResponse", {
        "authentication_response_parameter": bytes(8)}),
    "SecurityModeComplete": _splice("SecurityModeComplete", {
        "imeisv": ref.imeisv_identity("3500000000000000")}),
}


def template(name: str, fixed: dict[str, Any]) -> Callable[[dict[str, Any]], bytes | None] | None:
    """An encoder of messages `name` whose fields `fixed` are the same in each (ATTACH ACCEPT:
    all but the ESM message container and the GUTI; ACTIVATE DEFAULT EPS BEARER CONTEXT
    REQUEST: all but the EPS bearer identity, PTI and PDN address; AUTHENTICATION REQUEST:
    none, its KSI, RAND and AUTN written after its header; ATTACH REQUEST: all but the EPS
    mobile identity and the ESM message container; AUTHENTICATION RESPONSE: none but the RES;
    SECURITY MODE COMPLETE: none but the IMEISV), or None."""
    kind = _TEMPLATES.get(name)
    if kind is None or kind[0] & set(fixed):
        return None
    try:
        encoder: Callable[[dict[str, Any]], bytes | None] = kind[1](fixed).encode
    except Exception:  # _Decline, or a fixed field the reference rejects
        return None
    return encoder


fast_path(ref.PROTOCOL).install(encode, decode_plain, template)
