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
from corenet.codecs import gtpv2c as g
from corenet.codecs import nas as n
from corenet.codecs import s1ap as s
from corenet.codecs.base import Message
from corenet.codecs.fast import diameter as fd
from corenet.codecs.fast import gtpv2c as fg
from corenet.codecs.fast import nas as fn
from corenet.codecs.fast import s1ap as fs
from corenet.core.errors import DecodeError


@contextmanager
def codec_level(level: str) -> Iterator[None]:
    before = selection.codec_level()
    selection.set_codec(level)
    try:
        yield
    finally:
        selection.set_codec(before)


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """('ok', value) or ('error', what was raised: type, protocol, cause, extra)."""
    try:
        return "ok", fn()
    except DecodeError as err:
        return "error", ("DecodeError", err.protocol, err.cause, repr(err.extra))
    except Exception as exc:  # EncodeError, or what a value conversion raises
        return "error", (type(exc).__name__,)


def check_encode(codec: Any, fast: Any, msg: Message) -> bytes | None:
    """`fast.encode` gives the pycrate path's bytes or declines; returns the fast bytes."""
    ref = _outcome(lambda: codec.encode_pycrate(msg))
    got = fast.encode(msg)
    if got is not None:
        assert ref[0] == "ok", f"the fast encoder accepted what pycrate rejects: {ref}"
        assert got == ref[1], (got.hex(), ref[1].hex())
    with codec_level("fast"):
        public = _outcome(lambda: codec.encode(msg))
    assert repr(public) == repr(ref)
    return got


def check_decode(codec: Any, fast: Any, data: bytes, **kw: Any) -> tuple[Message | None, bool]:
    """`fast.decode` gives the pycrate path's Message (same repr: types, order) or declines;
    the public decoder at the fast level raises pycrate's error with pycrate's cause.
    Returns (the fast Message or None, whether pycrate accepted)."""
    ref = _outcome(lambda: codec.decode_pycrate(data, **kw))
    got = fast.decode(data, **kw)
    if got is not None:
        assert ref[0] == "ok", f"the fast decoder accepted what pycrate rejects: {ref}"
        assert repr(got) == repr(ref[1])
    with codec_level("fast"):
        public = _outcome(lambda: codec.decode(data, **kw))
    assert repr(public) == repr(ref)
    return got, ref[0] == "ok"


def check_diameter_encode(msg: Message) -> bytes | None:
    return check_encode(d, fd, msg)


def check_diameter_decode(data: bytes, strict: bool = True) -> Message | None:
    """The fast Diameter decoder declines exactly what the pycrate path rejects."""
    got, accepted = check_decode(d, fd, data, strict=strict)
    assert (got is not None) == accepted, "the fast decoder declined a message pycrate decodes"
    return got


def octets_changed(wire: bytes) -> Iterator[tuple[int, int, bytes]]:
    """`wire` with each octet in turn changed to two other values: (offset, xor, message)."""
    for i in range(len(wire)):
        for delta in (1, 0x80):
            other = bytearray(wire)
            other[i] ^= delta
            yield i, delta, bytes(other)


def check_gtpv2c_encode(msg: Message) -> bytes | None:
    return check_encode(g, fg, msg)


def check_gtpv2c_decode(data: bytes) -> Message | None:
    return check_decode(g, fg, data)[0]


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


# --------------------------------------------------------------------------------------------
# Strategies: GTPv2-C
# --------------------------------------------------------------------------------------------


def _gtpv2c_samples() -> dict[str, Message]:
    out: dict[str, Message] = {}
    for name, msg in catalogue.gtpv2c_samples():
        out.setdefault(name, msg)
    out["ReleaseAccessBearersRequest"] = g.release_access_bearers_request(7, teid=0x10)
    out["ReleaseAccessBearersResponse"] = g.release_access_bearers_response(7, teid=0x1, recovery=3)
    return out


GTPV2C_SAMPLES = _gtpv2c_samples()
_U32 = st.integers(0, (1 << 32) - 1)
_PLMN = st.builds(lambda mcc, mnc: mcc + mnc, st.text("0123456789", min_size=3, max_size=3),
                  st.text("0123456789", min_size=2, max_size=3))
_PCO = st.sampled_from([b"\x80\x00\x0c\x00\x00\x0d\x00", b"\x80", b"\x80\x00\x10\x00",
                        catalogue.TFT])
_TFT = st.sampled_from([catalogue.TFT, b"\x20", b"\x21\x00"])


def _fteid_value() -> st.SearchStrategy[dict[str, Any]]:
    v4 = st.integers(0, (1 << 32) - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
    v6 = st.integers(0, (1 << 128) - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
    return st.one_of(
        st.builds(g.fteid, st.integers(0, 63), _U32, v4),
        st.builds(g.fteid, st.integers(0, 63), _U32, st.none(), v6),
        st.builds(g.fteid, st.integers(0, 63), _U32, v4, v6))


def _uli_value() -> st.SearchStrategy[dict[str, Any]]:
    u16 = st.integers(0, 0xFFFF)
    parts = {
        "cgi": st.fixed_dictionaries({"plmn": _PLMN, "lac": u16, "ci": u16}),
        "sai": st.fixed_dictionaries({"plmn": _PLMN, "lac": u16, "sac": u16}),
        "rai": st.fixed_dictionaries({"plmn": _PLMN, "lac": u16, "rac": st.integers(0, 255)}),
        "tai": st.fixed_dictionaries({"plmn": _PLMN, "tac": u16}),
        "ecgi": st.fixed_dictionaries({"plmn": _PLMN, "eci": st.integers(0, (1 << 28) - 1)}),
        "lai": st.fixed_dictionaries({"plmn": _PLMN, "lac": u16}),
    }
    return st.fixed_dictionaries({}, optional=parts)


def _paa_value() -> st.SearchStrategy[dict[str, Any]]:
    v4 = st.integers(0, (1 << 32) - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
    v6 = st.integers(0, (1 << 128) - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
    return st.one_of(
        st.builds(lambda a: {"pdn_type": 1, "ipv4": a}, v4),
        st.builds(lambda a, n: {"pdn_type": 2, "ipv6": a, "ipv6_prefix_length": n}, v6, st.integers(1, 128)),
        st.builds(lambda a, b, n: {"pdn_type": 3, "ipv4": a, "ipv6": b, "ipv6_prefix_length": n},
                  v4, v6, st.integers(1, 128)),
        st.builds(lambda t: {"pdn_type": t}, st.integers(4, 7)))


def _qos_value() -> st.SearchStrategy[dict[str, int]]:
    rate = st.integers(0, (1 << 40) - 1)
    return st.fixed_dictionaries({
        "pci": st.integers(0, 1), "pl": st.integers(0, 15), "pvi": st.integers(0, 1),
        "qci": st.integers(0, 255), "mbr_ul_kbps": rate, "mbr_dl_kbps": rate,
        "gbr_ul_kbps": rate, "gbr_dl_kbps": rate})


def _cause_value() -> st.SearchStrategy[Any]:
    off = st.fixed_dictionaries({"type": st.integers(0, 255), "length": st.integers(0, 0xFFFF),
                                 "instance": st.integers(0, 15)})
    return st.one_of(
        st.integers(0, 255),
        st.builds(lambda v, o, p, b, c: g.cause(v, o, pce=p, bce=b, cs=c), st.integers(0, 255),
                  st.none() | off, st.booleans(), st.booleans(), st.booleans()))


_LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_GTP_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "bcd": st.text("0123456789", min_size=1, max_size=16),
    "cause": _cause_value(),
    "uint8": st.integers(0, 255),
    "ebi": st.integers(0, 15),
    "spare_uint": st.integers(0, 7),
    "selection_mode": st.integers(0, 3),
    "apn": st.lists(_LABEL, min_size=1, max_size=4).map(".".join),
    "ambr": st.fixed_dictionaries({"ul_kbps": _U32, "dl_kbps": _U32}),
    "ip": st.one_of(st.integers(0, (1 << 32) - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
                    st.integers(0, (1 << 128) - 1).map(lambda n: str(ipaddress.IPv6Address(n)))),
    "indication": st.dictionaries(st.sampled_from(sorted(g._INDICATION_POS)), st.booleans(),
                                  max_size=6),
    "paa": _paa_value(),
    "qos": _qos_value(),
    "serving_network": _PLMN,
    "uli": _uli_value(),
    "fteid": _fteid_value(),
    "ue_time_zone": st.builds(g.ue_time_zone, st.integers(-79, 79), st.integers(0, 3)),
}
_EXT_BITS = {82: 8, 94: 32, 95: 16, 100: 8, 127: 8}
_BAD = st.one_of(st.integers(-3, -1), st.integers(1 << 40, 1 << 41), st.text(max_size=3),
                 st.none(), st.binary(max_size=3))


def gtpv2c_value(spec: g.IESpec, valid: bool, depth: int = 0) -> st.SearchStrategy[Any]:
    if spec.group:
        return gtpv2c_fields(spec.group, valid, depth + 1)
    kind = g._IE_KIND[spec.type]
    if kind == "ext_uint":
        good: st.SearchStrategy[Any] = st.integers(0, (1 << _EXT_BITS[spec.type]) - 1)
    elif kind == "bytes":
        good = _TFT if spec.type == 84 else _PCO
        if not valid:  # TS 24.008 §10.5.6.3 content pycrate may not re-encode as received
            good = st.one_of(good, st.binary(max_size=12))
    else:
        good = _GTP_VALUES[kind]
    return good if valid else st.one_of(good, good, _BAD)


@st.composite
def gtpv2c_fields(draw: st.DrawFn, ies: tuple[g.IESpec, ...], valid: bool, depth: int = 0,
                  base: dict[str, Any] | None = None) -> dict[str, Any]:
    """IE fields for `ies`: the mandatory ones (usually), optional ones at random, values drawn;
    starting from `base` (a real message's fields) when given."""
    out: dict[str, Any] = {}
    for spec in ies:
        present = base is not None and spec.key in base
        if not present:
            present = draw(st.integers(0, 9)) < (8 if spec.mandatory else 3)
        elif not spec.mandatory and draw(st.integers(0, 9)) == 0:
            present = False
        if not present:
            continue
        if spec.multiple:
            out[spec.key] = draw(st.lists(gtpv2c_value(spec, valid, depth), min_size=1, max_size=2))
        else:
            out[spec.key] = draw(gtpv2c_value(spec, valid, depth))
    keys = list(out)
    order = draw(st.permutations(keys)) if draw(st.integers(0, 4)) == 0 else keys
    result = {k: out[k] for k in order}
    if draw(st.integers(0, 9)) == 0:
        result["other_ies"] = draw(st.lists(st.fixed_dictionaries({
            "type": st.integers(0, 253), "instance": st.integers(0, 15),
            "data": st.binary(max_size=8)}), max_size=2))
    return result


@st.composite
def gtpv2c_message(draw: st.DrawFn, name: str | None = None, valid: bool = True) -> Message:
    if name is None:
        name = draw(st.sampled_from(sorted(GTPV2C_SAMPLES)))
    sample = GTPV2C_SAMPLES[name]
    spec = g._BY_NAME[name]
    base = {k: v for k, v in sample.fields.items() if k not in ("teid", "sequence")}
    fields: dict[str, Any] = {
        "teid": draw(st.none() | _U32) if not spec.has_teid else draw(_U32),
        "sequence": draw(st.integers(0, (1 << 24) - 1) if valid else st.integers(-1, 1 << 25)),
    }
    if draw(st.integers(0, 9)) == 0:
        fields["message_priority"] = draw(st.integers(0, 15))
    fields.update(draw(gtpv2c_fields(spec.ies, valid, 0, base)))
    if draw(st.integers(0, 14)) == 0 and name == "CreateSessionResponse":
        fields["piggybacked"] = GTPV2C_SAMPLES["CreateBearerRequest"]
    return Message("gtpv2", name, spec.code, fields)


# --------------------------------------------------------------------------------------------
# Strategies: NAS (encoding)
# --------------------------------------------------------------------------------------------


def _nas_samples() -> dict[str, tuple[Message, bytes, int]]:
    out: dict[str, tuple[Message, bytes, int]] = {}
    for name, data, direction in catalogue.nas_samples():
        key = name if name not in out else f"{name}-{len(out)}"
        out[key] = (n.decode(data, direction=direction), data, direction)
    return out


NAS_WIRE = _nas_samples()
NAS_SAMPLES = {key: msg for key, (msg, _, _) in NAS_WIRE.items()}


def check_nas_encode(msg: Message) -> bytes | None:
    return check_encode(n, fn, msg)


def check_nas_decode(data: bytes, direction: int | None) -> Message | None:
    """The fast plain-message decoder gives the pycrate level's Message or declines; the
    public decoder (security protected messages and nested ESM containers included) gives the
    same Message or the same DecodeError at both levels."""
    with codec_level("pycrate"):
        ref = _outcome(lambda: n.decode(data, direction=direction))
    got = fn.decode_plain(data, direction)
    if got is not None:
        assert ref[0] == "ok", f"the fast decoder accepted what pycrate rejects: {ref}"
        assert repr(got) == repr(ref[1])
    with codec_level("fast"):
        public = _outcome(lambda: n.decode(data, direction=direction))
    assert repr(public) == repr(ref)
    return got


def _nas_value(draw: st.DrawFn, value: Any, valid: bool) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | bytes):
        return value  # typed values (identities, TAIs, names) stay as the sample has them
    if isinstance(value, int):
        return draw(st.integers(0, 15) if valid else st.integers(-2, 300))
    return draw(st.binary(min_size=0 if not valid else 1, max_size=20))


@st.composite
def nas_message(draw: st.DrawFn, key: str, valid: bool = True) -> Message:
    """A real message with its int/bytes IE values re-drawn and optional IEs dropped or added
    raw (`other_ies`, by pycrate IE name)."""
    sample = NAS_SAMPLES[key]
    spec = n._BY_NAME[sample.name]
    optional = {names for ie in spec.ies if not ie.mandatory for names in ie.names}
    fields: dict[str, Any] = {}
    for name, value in sample.fields.items():
        if name in optional and draw(st.integers(0, 4)) == 0:
            continue
        if name == n.ESM_CONTAINER:
            fields[name] = value
        elif name in (n.EBI, n.PTI):
            fields[name] = draw(st.integers(0, 15) if valid else st.integers(-1, 300))
        else:
            fields[name] = _nas_value(draw, value, valid)
    if draw(st.integers(0, 5)) == 0:
        pyc = spec.mo()
        names = [e._name for e in pyc._content[1:] if e.__class__.__name__.startswith("Type")]
        extra = draw(st.sampled_from(names)) if names else None
        if extra is not None and extra not in {ie.pyc for ie in spec.ies}:
            fields["other_ies"] = {extra: draw(st.one_of(st.binary(max_size=6), st.integers(0, 15)))}
    return Message("nas", sample.name, sample.code, fields)


# --------------------------------------------------------------------------------------------
# Strategies: S1AP (values drawn from the ASN.1 types of TS 36.413 §9.3)
# --------------------------------------------------------------------------------------------

S1AP_SAMPLES = {name: msg for name, msg in catalogue.s1ap_samples() if name in fs.FAST_MESSAGES}
S1AP_NAMES = sorted(fs.FAST_MESSAGES)


def check_s1ap_encode(msg: Message) -> bytes | None:
    return check_encode(s, fs, msg)


def check_s1ap_decode(data: bytes) -> Message | None:
    return check_decode(s, fs, data)[0]


_S1AP_PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
_V4 = st.integers(0, (1 << 32) - 1).map(lambda v: str(ipaddress.IPv4Address(v)))
_V6 = st.integers(0, (1 << 128) - 1).map(lambda v: str(ipaddress.IPv6Address(v)))
_S1AP_SPECIAL: dict[str, st.SearchStrategy[Any]] = {
    "PLMNidentity": _PLMN,
    "TAC": st.integers(0, 0xFFFF),
    "MME-Group-ID": st.integers(0, 0xFFFF),
    "MME-Code": st.integers(0, 0xFF),
    "M-TMSI": _U32,
    "GTP-TEID": _U32,
    "SecurityKey": st.binary(min_size=32, max_size=32),
    "TransportLayerAddress": st.one_of(_V4, _V6, st.builds(lambda a, b: f"{a},{b}", _V4, _V6)),
}
_S1AP_BAD = st.one_of(st.integers(-3, -1), st.integers(1 << 40, 1 << 41), st.text(max_size=3),
                      st.none(), st.binary(max_size=3), st.booleans())
_MAX_DEPTH = 6


def _size(obj: Any, cap: int) -> tuple[int, int]:
    const = obj._const_sz
    if const is None:
        return 0, cap
    lb, ub = int(const.lb), int(const.ub)
    return lb, max(lb, min(ub, lb + cap))


def s1ap_value(obj: Any, valid: bool = True, depth: int = 0) -> st.SearchStrategy[Any]:
    """A value of ASN.1 type `obj` in `corenet.codecs.s1ap`'s Python form; valid=False mixes
    in out-of-range and wrongly typed leaves."""
    good = _s1ap_good(obj, valid, depth)
    leaf = obj.TYPE not in ("SEQUENCE", "SEQUENCE OF", "CHOICE")
    return st.one_of(good, good, good, _S1AP_BAD) if leaf and not valid else good


def _s1ap_good(obj: Any, valid: bool, depth: int) -> st.SearchStrategy[Any]:
    special = _S1AP_SPECIAL.get(s._type_name(obj) or "")
    if special is not None:
        return special
    t = obj.TYPE
    if t == "INTEGER":
        const = obj._const_val
        if const is None:
            return st.integers(-(1 << 40), 1 << 40)
        return st.one_of(*(st.just(e) if isinstance(e, int) else st.integers(int(e.lb), int(e.ub))
                           for e in const.root))
    if t == "ENUMERATED":
        return st.sampled_from(list(obj._root) + list(obj._ext or []))
    if t == "BOOLEAN":
        return st.booleans()
    if t == "NULL":
        return st.none()
    if t == "BIT STRING":
        lb, ub = _size(obj, 64)
        if lb == ub:
            return st.integers(0, (1 << lb) - 1)
        return st.one_of(st.binary(min_size=(lb + 7) // 8, max_size=ub // 8),
                         st.integers(lb, ub).flatmap(
                             lambda nb: st.tuples(st.integers(0, (1 << nb) - 1), st.just(nb))))
    if t == "OCTET STRING":
        lb, ub = _size(obj, 200)
        return st.binary(min_size=lb, max_size=ub)
    if t == "PrintableString":
        lb, ub = _size(obj, 20)
        return st.text(_S1AP_PRINTABLE, min_size=lb, max_size=ub)
    if t == "SEQUENCE":
        return _s1ap_sequence(obj, valid, depth)
    if t == "SEQUENCE OF":
        entry = s._single_entry(obj._cont)
        item = entry["Value"] if entry is not None else obj._cont
        lb, ub = _size(obj, 2)
        return st.lists(st.deferred(lambda: s1ap_value(item, valid, depth + 1)),
                        min_size=lb, max_size=ub if depth < _MAX_DEPTH else lb)
    if t == "CHOICE":
        alts = list(obj._root)
        return st.sampled_from(alts).flatmap(
            lambda a: st.tuples(st.just(a), s1ap_value(obj._cont[a], valid, depth + 1)))
    return st.nothing()


@st.composite
def _s1ap_sequence(draw: st.DrawFn, obj: Any, valid: bool, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj._root:
        if name == "iE-Extensions":
            continue
        if name in obj._root_opt and (depth >= _MAX_DEPTH or draw(st.integers(0, 2)) != 0):
            continue
        out[name] = draw(s1ap_value(obj._cont[name], valid, depth + 1))
    return out


@st.composite
def s1ap_message(draw: st.DrawFn, name: str, valid: bool = True) -> Message:
    """A message of the fast set: its mandatory IEs (usually), optional ones at random."""
    spec = s._BY_NAME[name]
    fields: dict[str, Any] = {}
    for ie in spec.ies.values():
        if not draw(st.integers(0, 9)) < (9 if ie.mandatory else 2):
            continue
        fields[ie.name] = draw(s1ap_value(ie.asn, valid, 1))
    return Message("s1ap", name, spec.code, fields)
