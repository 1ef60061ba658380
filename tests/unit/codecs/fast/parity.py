"""Differential oracle: the fast codecs against the pycrate path, and hypothesis strategies.

`check_*_encode(msg)`: the fast encoder returns the pycrate path's bytes or declines; when the
pycrate path raises EncodeError the fast encoder must decline.
`check_*_decode(data)`: the fast decoder returns a Message equal (same repr: same types, same
order) to the pycrate path's, or declines; when the pycrate path raises DecodeError the fast
decoder must decline, so the public decoder raises pycrate's error with pycrate's cause.
The public `encode`/`decode` (fast level) are checked against the pycrate level end to end.

Shared by tests/unit/codecs/fast, tests/fuzz and benchmarks/codec_parity.py.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import strategies as st

from corenet.codecs import catalogue, selection
from corenet.codecs import diameter as d
from corenet.codecs.base import Message
from corenet.codecs.fast import diameter as fd
from corenet.core.errors import DecodeError, EncodeError


@contextmanager
def codec_level(level: str) -> Iterator[None]:
    before = selection.codec_level()
    selection.set_codec(level)
    try:
        yield
    finally:
        selection.set_codec(before)


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """('ok', value) or ('error', (type, protocol, cause, extra))."""
    try:
        return "ok", fn()
    except DecodeError as err:
        return "error", ("DecodeError", err.protocol, err.cause, repr(err.extra))
    except EncodeError:
        return "error", ("EncodeError",)


def check_diameter_encode(msg: Message) -> bytes | None:
    """Returns the fast path's bytes (None when it declined)."""
    ref = _outcome(lambda: d.encode_pycrate(msg))
    fast = fd.encode(msg)
    if fast is not None:
        assert ref[0] == "ok", f"the fast encoder accepted what pycrate rejects: {ref}"
        assert fast == ref[1], (fast.hex(), ref[1].hex())
    with codec_level("fast"):
        public = _outcome(lambda: d.encode(msg))
    assert repr(public) == repr(ref)
    return fast


def check_diameter_decode(data: bytes, strict: bool = True) -> Message | None:
    """Returns the fast path's Message (None when it declined); the fast decoder declines
    exactly what the pycrate path rejects."""
    ref = _outcome(lambda: d.decode_pycrate(data, strict=strict))
    fast = fd.decode(data, strict=strict)
    if fast is None:
        assert ref[0] == "error", "the fast decoder declined a message pycrate decodes"
    else:
        assert ref[0] == "ok", f"the fast decoder accepted what pycrate rejects: {ref}"
        assert repr(fast) == repr(ref[1])
    with codec_level("fast"):
        public = _outcome(lambda: d.decode(data, strict=strict))
    assert repr(public) == repr(ref)
    return fast


# --------------------------------------------------------------------------------------------
# Strategies: Diameter
# --------------------------------------------------------------------------------------------

DIAMETER_SAMPLES = dict(catalogue.diameter_samples())

_T = d.AvpType
_INT_RANGE = {
    _T.INTEGER32: (-(1 << 31), (1 << 31) - 1),
    _T.ENUMERATED: (-(1 << 31), (1 << 31) - 1),
    _T.UNSIGNED32: (0, (1 << 32) - 1),
    _T.TIME: (0, (1 << 32) - 1),
    _T.UNSIGNED64: (0, (1 << 64) - 1),
}
_LEAF_NAMES = sorted(n for n, a in d.AVPS.items() if a.type is not _T.GROUPED)
_GROUPED_NAMES = sorted(n for n, a in d.AVPS.items() if a.type is _T.GROUPED)


def _ip_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(0, (1 << 32) - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
        st.integers(0, (1 << 128) - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
    )


def diameter_value(adef: d.AvpDef, valid: bool, depth: int = 0) -> st.SearchStrategy[Any]:
    """A value for `adef`; valid=False mixes in out-of-range and wrongly typed values."""
    typ = adef.type
    if typ is _T.GROUPED:
        return diameter_entries(valid, depth + 1)
    if typ in _INT_RANGE:
        lo, hi = _INT_RANGE[typ]
        good = st.integers(lo, hi)
        bad = st.one_of(st.integers(hi + 1, hi << 2), st.integers(lo - (1 << 40), lo - 1),
                         st.text(max_size=3), st.booleans())
    elif typ is _T.DIAMETER_IDENTITY:
        good = st.text(st.characters(max_codepoint=127), max_size=40)
        bad = st.one_of(st.text(min_size=1, max_size=5), st.binary(max_size=5))
    elif typ in (_T.UTF8_STRING, _T.DIAMETER_URI):
        good = st.text(max_size=40)
        bad = st.one_of(st.binary(max_size=5), st.integers())
    elif typ is _T.ADDRESS:
        good = st.one_of(_ip_text(), st.binary(min_size=2, max_size=20))
        bad = st.one_of(st.text(max_size=6), st.integers())
    else:
        good = st.binary(max_size=40)
        bad = st.one_of(st.text(max_size=4), st.integers())
    return good if valid else st.one_of(good, good, bad)


@st.composite
def diameter_entry(draw: st.DrawFn, valid: bool, depth: int = 0) -> tuple[Any, ...]:
    kinds = ["leaf", "unknown"] + (["grouped"] if depth < 3 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "unknown":
        vendor = draw(st.one_of(st.none(), st.integers(0, (1 << 32) - 1)))
        code = draw(st.integers(0, (1 << 32) - 1 if valid else (1 << 33)))
        name = f"AVP-{code}" if vendor is None else f"AVP-{vendor}-{code}"
        entry: tuple[Any, ...] = (name, draw(st.binary(max_size=24)))
    else:
        name = draw(st.sampled_from(_LEAF_NAMES if kind == "leaf" else _GROUPED_NAMES))
        adef = d.AVPS[name]
        entry = (name, draw(diameter_value(adef, valid, depth)))
    if draw(st.integers(0, 9)) == 0:
        if valid:  # any M/P/reserved bits; the V bit says whether a Vendor-Id follows
            v_bit = d.AVP_V if d.avp_def(name).vendor_id is not None else 0
            flags = (draw(st.integers(0, 255)) & ~d.AVP_V) | v_bit
        else:
            flags = draw(st.integers(-2, 300))
        entry = (*entry, flags)
    return entry


def diameter_entries(valid: bool, depth: int = 0) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    return st.lists(diameter_entry(valid, depth), max_size=6 if depth else 12)


def _mutate_tree(draw: st.DrawFn, entries: list[Any], depth: int) -> list[Any]:
    """Re-draw values of a real message's AVPs (same names and shape), drop or add a few."""
    out: list[Any] = []
    for entry in entries:
        if isinstance(entry, bytes):
            out.append(entry)
            continue
        name, value = entry[0], entry[1]
        action = draw(st.integers(0, 19))
        if action == 0:
            continue  # dropped
        adef = d.avp_def(name)
        if isinstance(value, list):
            value = _mutate_tree(draw, value, depth + 1)
        elif action < 12:
            value = draw(diameter_value(adef, True, depth))
        out.append((name, value, *entry[2:]))
        if action == 19:
            out.append(draw(diameter_entry(True, depth)))
    return out


@st.composite
def diameter_message(draw: st.DrawFn, name: str | None = None, valid: bool = True) -> Message:
    """A message of command `name` (any when None): a real sample with re-drawn values, or an
    AVP tree drawn from the whole dictionary, with any header."""
    if name is None:
        name = draw(st.sampled_from(sorted(DIAMETER_SAMPLES)))
    sample = DIAMETER_SAMPLES[name]
    if draw(st.integers(0, 3)) == 0:
        avps = draw(diameter_entries(valid))
    else:
        avps = _mutate_tree(draw, list(sample.fields["avps"]), 0)
    u32 = st.integers(0, (1 << 32) - 1)
    flags = dict(sample.fields["flags"])
    if draw(st.integers(0, 4)) == 0:
        flags.update(proxiable=draw(st.booleans()), error=draw(st.booleans()),
                     retransmit=draw(st.booleans()))
        if draw(st.booleans()):
            flags["reserved"] = draw(st.integers(0, 15))
    fields = {
        "flags": flags,
        "application_id": draw(st.one_of(st.just(sample.fields["application_id"]), u32)),
        "hop_by_hop": draw(u32 if valid else st.one_of(u32, st.integers(-5, 1 << 33))),
        "end_to_end": draw(u32),
        "avps": avps,
    }
    return Message("diameter", name, sample.code, fields)


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """Bytes of a valid message damaged: octets overwritten, cut, inserted or removed."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 4))
        if not buf:
            break
        pos = draw(st.integers(0, len(buf) - 1))
        if op <= 1:
            buf[pos] = draw(st.integers(0, 255))
        elif op == 2:
            buf[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == 3:
            del buf[pos:pos + draw(st.integers(1, 8))]
        else:
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(buf)


def with_fixed_length(data: bytes) -> bytes:
    """Diameter bytes whose header Message Length is made to match (so the AVPs get parsed)."""
    if len(data) < 4:
        return data
    return data[:1] + len(data).to_bytes(3, "big") + data[4:]
