"""S1AP (TS 36.413) in ALIGNED PER (ITU-T X.691) for the messages of the attach, emergency
attach, detach, TAU and S1 release paths, without pycrate's runtime.

The ASN.1 stays pycrate's: each IE type of `corenet.codecs.s1ap`'s tables is compiled once, on
first use, into a pair of closures that write and read its X.691 encoding directly and take the
Python values of the reference codec (its `_SPECIAL` types included). The message shape, the IE
order (the IE set's order on encoding, wire order on decoding) and every accept/reject rule are
those of the reference; this module only replaces the element machinery.

Covered (X.691 clause): constrained and extensible INTEGER (§13), ENUMERATED with extension
values up to 63 (§14), BOOLEAN (§12), NULL (§24), BIT STRING and OCTET STRING of fixed or
constrained size, OCTET STRING of unconstrained size below 16K octets (§16, §17), PrintableString
without a permitted-alphabet constraint (§30), SEQUENCE without DEFAULT components or present
extensions (§19), SEQUENCE OF (§20), CHOICE root alternatives (§23), open types (§11.2), and the
TS 36.413 §9.3 containers (ProtocolIE-Container, ProtocolIE-SingleContainer).

`encode` returns the pycrate path's bytes or None; `decode` its Message or None. None means "let
pycrate do it": a message outside `FAST_MESSAGES`, an IE type outside the forms above (or an
"iE-Extensions" value, kept in pycrate's form), a value outside its constraint, any extension
present on the wire, and any message the reference rejects (so every DecodeError is pycrate's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycrate_asn1rt.utils import (
    TYPE_BIT_STR,
    TYPE_BOOL,
    TYPE_CHOICE,
    TYPE_ENUM,
    TYPE_INT,
    TYPE_NULL,
    TYPE_OCT_STR,
    TYPE_SEQ,
    TYPE_SEQ_OF,
    TYPE_STR_PRINT,
)

from corenet.codecs import s1ap as ref
from corenet.codecs.base import Message
from corenet.codecs.selection import fast_path

# TS 36.413 §9.1: the messages of the attach, emergency attach, detach, TAU and S1 release paths
FAST_MESSAGES = frozenset({
    "S1SetupRequest", "S1SetupResponse", "S1SetupFailure", "InitialUEMessage",
    "DownlinkNASTransport", "UplinkNASTransport", "InitialContextSetupRequest",
    "InitialContextSetupResponse", "InitialContextSetupFailure", "UEContextReleaseCommand",
    "UEContextReleaseComplete", "UEContextReleaseRequest", "UECapabilityInfoIndication",
    "ErrorIndication",
})

# S1AP-PDU ::= CHOICE { initiatingMessage, successfulOutcome, unsuccessfulOutcome, ... }
_KIND_INDEX = {"initiatingMessage": 0, "successfulOutcome": 1, "unsuccessfulOutcome": 2}
_KIND_BY_INDEX = ("initiatingMessage", "successfulOutcome", "unsuccessfulOutcome")
# Criticality ::= ENUMERATED { reject, ignore, notify } (TS 36.413 §9.3.5)
_CRIT_INDEX = {"reject": 0, "ignore": 1, "notify": 2}
_CRIT_BY_INDEX = ("reject", "ignore", "notify")
_64K = 65536
_PRINTABLE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


class _Decline(Exception):
    """Internal: outside the fast set; the pycrate path takes the call."""


class _Unsupported(Exception):
    """Internal: an ASN.1 type this module does not compile."""


# --------------------------------------------------------------------------------------------
# Bit buffers
# --------------------------------------------------------------------------------------------


class _W:
    """X.691 field-list: bits appended to an integer."""

    __slots__ = ("acc", "n")

    def __init__(self) -> None:
        self.acc = 0
        self.n = 0

    def bits(self, value: int, width: int) -> None:
        self.acc = (self.acc << width) | value
        self.n += width

    def align(self) -> None:
        pad = -self.n & 7
        self.acc <<= pad
        self.n += pad

    def octets(self, data: bytes) -> None:
        pad = -self.n & 7
        self.acc = (self.acc << (pad + 8 * len(data))) | int.from_bytes(data, "big")
        self.n += pad + 8 * len(data)

    def complete(self) -> bytes:
        """§11.1 complete encoding: padded to an octet, one zero octet when empty (§11.2)."""
        self.align()
        return self.acc.to_bytes(self.n >> 3, "big") if self.n else b"\x00"


class _R:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.end = 8 * len(data)

    def bits(self, width: int) -> int:
        if not width:
            return 0
        start, stop = self.pos, self.pos + width
        if stop > self.end:
            raise _Decline
        self.pos = stop
        first, last = start >> 3, (stop + 7) >> 3
        if last - first == 1:  # within one octet: no slice
            return (self.data[first] >> ((last << 3) - stop)) & ((1 << width) - 1)
        value = int.from_bytes(self.data[first:last], "big")
        return (value >> ((last << 3) - stop)) & ((1 << width) - 1)

    def align(self) -> None:
        pad = -self.pos & 7
        if pad:  # the rest of the octet at pos (pos < end: end is whole octets)
            if self.data[self.pos >> 3] & ((1 << pad) - 1):
                raise _Decline  # padding bits are zero (§11.1); pycrate judges anything else
            self.pos += pad

    def octets(self, count: int) -> bytes:
        self.align()
        first = self.pos >> 3
        if 8 * (first + count) > self.end:
            raise _Decline
        self.pos += 8 * count
        return bytes(self.data[first:first + count])


# --------------------------------------------------------------------------------------------
# X.691 building blocks
# --------------------------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return type(v) is int


def _cwn_writer(lb: int, ub: int) -> Callable[[_W, int], None]:
    """§11.5.7 constrained whole number, ALIGNED variant."""
    rng = ub - lb + 1
    if rng == 1:
        return lambda w, v: None
    if rng <= 255:
        width = (rng - 1).bit_length()
        return lambda w, v: w.bits(v - lb, width)
    if rng <= _64K:
        width = 8 if rng == 256 else 16

        def aligned(w: _W, v: int) -> None:
            w.align()
            w.bits(v - lb, width)
        return aligned
    # §11.5.7.4: a length in octets (1..max) as a bit-field, then the octets, aligned
    max_octets = ((rng - 1).bit_length() + 7) // 8
    len_width = (max_octets - 1).bit_length()

    def indefinite(w: _W, v: int) -> None:
        off = v - lb
        count = max(1, (off.bit_length() + 7) // 8)
        w.bits(count - 1, len_width)
        w.align()
        w.bits(off, 8 * count)
    return indefinite


def _cwn_reader(lb: int, ub: int) -> Callable[[_R], int]:
    rng = ub - lb + 1
    if rng == 1:
        return lambda r: lb
    if rng <= 255:
        width = (rng - 1).bit_length()

        def small(r: _R) -> int:
            v = lb + r.bits(width)
            if v > ub:
                raise _Decline
            return v
        return small
    if rng <= _64K:
        width = 8 if rng == 256 else 16

        def aligned(r: _R) -> int:
            r.align()
            v = lb + r.bits(width)
            if v > ub:
                raise _Decline
            return v
        return aligned
    max_octets = ((rng - 1).bit_length() + 7) // 8
    len_width = (max_octets - 1).bit_length()

    def indefinite(r: _R) -> int:
        count = r.bits(len_width) + 1
        r.align()
        raw = r.bits(8 * count)
        if count > max_octets or (count > 1 and raw >> (8 * count - 8) == 0):
            raise _Decline  # not the minimum number of octets
        v = lb + raw
        if v > ub:
            raise _Decline
        return v
    return indefinite


def _write_unconstrained_length(w: _W, n: int) -> None:
    """§11.9.3.6-7: octet-aligned length determinant, below 16K."""
    w.align()
    if n < 128:
        w.bits(n, 8)
    elif n < 16384:
        w.bits(0x8000 | n, 16)
    else:
        raise _Decline  # §11.9.3.8 fragmentation: pycrate


def _read_unconstrained_length(r: _R) -> int:
    r.align()
    first = r.bits(8)
    if first < 128:
        return first
    if first >> 6 == 2:
        return ((first & 0x3F) << 8) | r.bits(8)
    raise _Decline


def _size(obj: Any) -> tuple[int, int, bool] | None:
    """(lb, ub, extensible) of a SIZE constraint, None when there is none."""
    const = obj._const_sz
    if const is None:
        return None
    if const.lb is None or const.ub is None or const.rdyn is None:
        raise _Unsupported(obj._name)
    return int(const.lb), int(const.ub), const.ext is not None


def _sized(obj: Any) -> tuple[int, int, bool, Callable[[_W, int], None], Callable[[_R], int]]:
    """lb, ub, extensible and the length's writer and reader (§11.9.4.1: a constrained whole
    number below 64K) of a SIZE-constrained type."""
    size = _size(obj)
    if size is None or size[1] >= _64K:
        raise _Unsupported(obj._name)
    lb, ub, ext = size
    return lb, ub, ext, _cwn_writer(lb, ub), _cwn_reader(lb, ub)


# --------------------------------------------------------------------------------------------
# Compiling an ASN.1 type into (write, read) closures on the reference codec's Python values
# --------------------------------------------------------------------------------------------

Enc = Callable[[_W, Any], None]
Dec = Callable[[_R], Any]
_COMPILED: dict[int, tuple[Enc, Dec] | None] = {}


def _compiled(obj: Any) -> tuple[Enc, Dec] | None:
    key = id(obj)
    if key not in _COMPILED:
        try:
            _COMPILED[key] = _compile(obj)
        except _Unsupported:
            _COMPILED[key] = None
    return _COMPILED[key]


def _compile(obj: Any) -> tuple[Enc, Dec]:
    special = ref._SPECIAL.get(ref._type_name(obj) or "")
    enc, dec = _BUILDERS.get(obj.TYPE, _unsupported)(obj)
    if special is None:
        return enc, dec
    to_py, to_asn = special

    def enc_special(w: _W, v: Any) -> None:
        enc(w, to_asn(v))

    def dec_special(r: _R) -> Any:
        return to_py(dec(r))
    return enc_special, dec_special


def _unsupported(obj: Any) -> tuple[Enc, Dec]:
    raise _Unsupported(f"{obj._name}: {obj.TYPE}")


def _integer(obj: Any) -> tuple[Enc, Dec]:
    const = obj._const_val
    if const is None or const.rdyn is None or obj._const_tab is not None:
        raise _Unsupported(obj._name)
    lb, ub, ext = int(const.lb), int(const.ub), const.ext is not None
    if ext and const.ext:
        raise _Unsupported(obj._name)
    # a root of several values or ranges is PER-visible as lb..ub (X.691 §10.3); values in
    # the gaps are left to pycrate
    root = const.root
    whole = len(root) == 1

    def in_root(v: int) -> bool:
        return whole or any(v == e if isinstance(e, int) else e.lb <= v <= e.ub for e in root)
    write, read = _cwn_writer(lb, ub), _cwn_reader(lb, ub)

    def enc(w: _W, v: Any) -> None:
        if not _is_int(v) or not lb <= v <= ub or not in_root(v):
            raise _Decline
        if ext:
            w.bits(0, 1)
        write(w, v)

    def dec(r: _R) -> Any:
        if ext and r.bits(1):
            raise _Decline
        v = read(r)
        if not in_root(v):
            raise _Decline
        return v
    return enc, dec


def _enumerated(obj: Any) -> tuple[Enc, Dec]:
    root = list(obj._root)
    exts = list(obj._ext) if obj._ext is not None else None
    index = {name: i for i, name in enumerate(root)}
    ext_index = {name: i for i, name in enumerate(exts or [])}
    write, read = _cwn_writer(0, len(root) - 1), _cwn_reader(0, len(root) - 1)

    def enc(w: _W, v: Any) -> None:
        if v in index:
            if exts is not None:
                w.bits(0, 1)
            write(w, index[v])
        elif v in ext_index and ext_index[v] < 64:
            w.bits(1, 1)  # §14.3: extension value, normally small number (§11.6)
            w.bits(ext_index[v], 7)
        else:
            raise _Decline

    def dec(r: _R) -> Any:
        if exts is not None and r.bits(1):
            small = r.bits(7)
            if small >= 64 or small >= len(exts):
                raise _Decline
            return exts[small]
        return root[read(r)]
    return enc, dec


def _boolean(obj: Any) -> tuple[Enc, Dec]:
    def enc(w: _W, v: Any) -> None:
        if type(v) is not bool:
            raise _Decline
        w.bits(int(v), 1)
    return enc, lambda r: bool(r.bits(1))


def _null(obj: Any) -> tuple[Enc, Dec]:
    def enc(w: _W, v: Any) -> None:
        if v is not None:
            raise _Decline
    return enc, lambda r: None


def _bit_string(obj: Any) -> tuple[Enc, Dec]:
    """§16, on pycrate's (value, length in bits) form; the Python form as the reference's."""
    if obj._const_cont is not None:
        raise _Unsupported(obj._name)
    lb, ub, ext, write_len, read_len = _sized(obj)
    fixed = ref._fixed_size(obj)

    def enc_asn(w: _W, val: int, nbits: int) -> None:
        if not lb <= nbits <= ub or not 0 <= val < (1 << nbits):
            raise _Decline
        if ext:
            w.bits(0, 1)
        if lb == ub:
            if ub > 16:
                w.align()
            w.bits(val, nbits)
            return
        write_len(w, nbits)
        w.align()
        w.bits(val, nbits)

    def dec_asn(r: _R) -> tuple[int, int]:
        if ext and r.bits(1):
            raise _Decline
        if lb == ub:
            if ub > 16:
                r.align()
            return r.bits(ub), ub
        nbits = read_len(r)
        r.align()
        return r.bits(nbits), nbits

    if ref._type_name(obj) in ref._SPECIAL:
        def enc_special(w: _W, v: Any) -> None:
            if type(v) is not tuple or len(v) != 2 or not _is_int(v[0]) or not _is_int(v[1]):
                raise _Decline
            enc_asn(w, v[0], v[1])
        return enc_special, dec_asn

    def enc(w: _W, v: Any) -> None:
        if _is_int(v) and fixed:
            enc_asn(w, v, fixed)
        elif type(v) is bytes:
            enc_asn(w, int.from_bytes(v, "big"), 8 * len(v))
        elif type(v) is tuple and len(v) == 2 and _is_int(v[0]) and _is_int(v[1]):
            enc_asn(w, v[0], v[1])
        else:
            raise _Decline

    def dec(r: _R) -> Any:
        val, nbits = dec_asn(r)
        if fixed is not None and nbits == fixed:
            return val
        return val.to_bytes(nbits // 8, "big") if nbits % 8 == 0 else (val, nbits)
    return enc, dec


def _octet_string(obj: Any) -> tuple[Enc, Dec]:
    """§17."""
    if obj._const_cont is not None:
        raise _Unsupported(obj._name)
    size = _size(obj)
    if size is None:
        def enc_unc(w: _W, v: Any) -> None:
            if type(v) is not bytes:
                raise _Decline
            _write_unconstrained_length(w, len(v))
            w.octets(v)

        def dec_unc(r: _R) -> Any:
            return r.octets(_read_unconstrained_length(r))
        return enc_unc, dec_unc
    lb, ub, ext, write_len, read_len = _sized(obj)

    def enc(w: _W, v: Any) -> None:
        if type(v) is not bytes or not lb <= len(v) <= ub:
            raise _Decline
        if ext:
            w.bits(0, 1)
        if lb == ub:
            if ub > 2:
                w.octets(v)
            elif ub:
                w.bits(int.from_bytes(v, "big"), 8 * ub)
            return
        write_len(w, len(v))
        w.octets(v)

    def dec(r: _R) -> Any:
        if ext and r.bits(1):
            raise _Decline
        if lb == ub:
            if ub > 2:
                return r.octets(ub)
            return r.bits(8 * ub).to_bytes(ub, "big")
        return r.octets(read_len(r))
    return enc, dec


def _printable_string(obj: Any) -> tuple[Enc, Dec]:
    """§30.5: PrintableString, 8 bits a character in the ALIGNED variant (b = 7, B = 8)."""
    if getattr(obj, "_const_alpha", None) is not None:
        raise _Unsupported(obj._name)
    lb, ub, ext, write_len, read_len = _sized(obj)
    if lb == ub:
        raise _Unsupported(obj._name)

    def enc(w: _W, v: Any) -> None:
        if type(v) is not str or not lb <= len(v) <= ub:
            raise _Decline
        raw = v.encode("ascii", "replace")
        if not _PRINTABLE.issuperset(raw):
            raise _Decline
        if ext:
            w.bits(0, 1)
        write_len(w, len(raw))
        w.octets(raw)

    def dec(r: _R) -> Any:
        if ext and r.bits(1):
            raise _Decline
        raw = r.octets(read_len(r))
        if not _PRINTABLE.issuperset(raw):
            raise _Decline
        return raw.decode("ascii")
    return enc, dec


def _sequence(obj: Any) -> tuple[Enc, Dec]:
    """§19: extension bit, optional bitmap, root components in order."""
    if obj._ext_group or any(getattr(c, "_def", None) is not None for c in obj._cont.values()):
        raise _Unsupported(obj._name)
    ext = obj._ext is not None
    root = list(obj._root)
    optional = [name for name in root if name in obj._root_opt]
    mandatory = frozenset(root) - frozenset(optional)
    parts: list[tuple[str, Enc | None, Dec | None]] = []
    for name in root:
        if name == "iE-Extensions":
            parts.append((name, None, None))  # kept in pycrate's form: pycrate
            continue
        comp = _compiled(obj._cont[name])
        if comp is None:
            raise _Unsupported(f"{obj._name}.{name}")
        parts.append((name, comp[0], comp[1]))
    known = frozenset(root)

    def enc(w: _W, v: Any) -> None:
        if type(v) is not dict or not known.issuperset(v) or not mandatory.issubset(v):
            raise _Decline
        if ext:
            w.bits(0, 1)
        for name in optional:
            w.bits(name in v, 1)
        for name, penc, _ in parts:
            if name in v:
                if penc is None:
                    raise _Decline
                penc(w, v[name])

    def dec(r: _R) -> Any:
        if ext and r.bits(1):
            raise _Decline
        present = {name for name in optional if r.bits(1)}
        out: dict[str, Any] = {}
        for name, _, pdec in parts:
            if name in mandatory or name in present:
                if pdec is None:
                    raise _Decline
                out[name] = pdec(r)
        return out
    return enc, dec


def _open(enc: Enc, dec: Dec) -> tuple[Enc, Dec]:
    """§11.2 open type: the complete encoding of the value, after a length determinant."""
    def enc_open(w: _W, v: Any) -> None:
        inner = _W()
        enc(inner, v)
        data = inner.complete()
        _write_unconstrained_length(w, len(data))
        w.octets(data)

    def dec_open(r: _R) -> Any:
        data = r.octets(_read_unconstrained_length(r))
        inner = _R(data)
        value = dec(inner)
        used = max(1, (inner.pos + 7) >> 3)
        if used != len(data):
            raise _Decline
        inner.align()
        if inner.pos == 0 and data != b"\x00":
            raise _Decline
        return value
    return enc_open, dec_open


def _single_container(entry: dict[str, Any]) -> tuple[Enc, Dec]:
    """TS 36.413 §9.3.7 ProtocolIE-SingleContainer: id, criticality, open type value."""
    comp = _compiled(entry["Value"])
    if comp is None:
        raise _Unsupported(str(entry["id"]))
    ie_id, crit = entry["id"], _CRIT_INDEX[entry["criticality"]]
    enc_val, dec_val = _open(*comp)

    def enc(w: _W, v: Any) -> None:
        w.align()
        w.bits(ie_id, 16)
        w.bits(crit, 2)
        enc_val(w, v)

    def dec(r: _R) -> Any:
        r.align()
        if r.bits(16) != ie_id or r.bits(2) != crit:
            raise _Decline
        return dec_val(r)
    return enc, dec


def _sequence_of(obj: Any) -> tuple[Enc, Dec]:
    """§20: the count (per the SIZE constraint), then the items."""
    entry = ref._single_entry(obj._cont)
    if entry is not None:
        item_enc, item_dec = _single_container(entry)
    elif ref._type_name(obj._cont) == "ProtocolIE-SingleContainer":
        raise _Unsupported(obj._name)
    else:
        comp = _compiled(obj._cont)
        if comp is None:
            raise _Unsupported(obj._name)
        item_enc, item_dec = comp
    lb, ub, ext, write_len, read_len = _sized(obj)

    def enc(w: _W, v: Any) -> None:
        if type(v) is not list or not lb <= len(v) <= ub:
            raise _Decline
        if ext:
            w.bits(0, 1)
        if lb != ub:
            write_len(w, len(v))
        for item in v:
            item_enc(w, item)

    def dec(r: _R) -> Any:
        if ext and r.bits(1):
            raise _Decline
        count = ub if lb == ub else read_len(r)
        return [item_dec(r) for _ in range(count)]
    return enc, dec


def _choice(obj: Any) -> tuple[Enc, Dec]:
    """§23: extension bit, index of a root alternative, its value."""
    ext = obj._ext is not None
    root = list(obj._root)
    alts: dict[str, tuple[int, Enc, Dec]] = {}
    for i, name in enumerate(root):
        comp = _compiled(obj._cont[name])
        if comp is None:
            raise _Unsupported(f"{obj._name}.{name}")
        alts[name] = (i, comp[0], comp[1])
    by_index = [alts[name] for name in root]
    write, read = _cwn_writer(0, len(root) - 1), _cwn_reader(0, len(root) - 1)

    def enc(w: _W, v: Any) -> None:
        if type(v) is not tuple or len(v) != 2 or v[0] not in alts:
            raise _Decline
        i, penc, _ = alts[v[0]]
        if ext:
            w.bits(0, 1)
        write(w, i)
        penc(w, v[1])

    def dec(r: _R) -> Any:
        if ext and r.bits(1):
            raise _Decline
        i = read(r)
        _, _, pdec = by_index[i]
        return (root[i], pdec(r))
    return enc, dec


_BUILDERS: dict[str, Callable[[Any], tuple[Enc, Dec]]] = {
    TYPE_INT: _integer, TYPE_ENUM: _enumerated, TYPE_BOOL: _boolean, TYPE_NULL: _null,
    TYPE_BIT_STR: _bit_string, TYPE_OCT_STR: _octet_string, TYPE_STR_PRINT: _printable_string,
    TYPE_SEQ: _sequence, TYPE_SEQ_OF: _sequence_of, TYPE_CHOICE: _choice,
}


# --------------------------------------------------------------------------------------------
# Messages (TS 36.413 §9.3.2 S1AP-PDU, §9.3.3 the message SEQUENCE, §9.3.7 the IE container)
#
# Above the IE values everything is octet-aligned: the PDU's CHOICE index and the procedure
# code fill whole octets, an IE's id is 16 aligned bits and its criticality the top 2 bits of
# the next octet, each open type starts with an aligned length determinant (§11.2, §11.9.3.6).
# So the PDU and the IE container are written and read as octets; only IE values go through
# the bit buffers.
# --------------------------------------------------------------------------------------------


class _IePlan:
    """One IE of a message: its header octets (id, criticality) and its value's codec,
    compiled on first use."""

    __slots__ = ("name", "mandatory", "crit", "head", "asn", "_codec")

    def __init__(self, ie: Any) -> None:
        self.name: str = ie.name
        self.mandatory: bool = ie.mandatory
        self.crit = _CRIT_INDEX[ie.criticality]
        self.head = bytes((ie.id >> 8, ie.id & 0xFF, self.crit << 6))
        self.asn = ie.asn
        self._codec: tuple[WholeEnc, WholeDec] | None | bool = False

    def codec(self) -> tuple[WholeEnc, WholeDec] | None:
        """The coders of the IE's value as the octets of its open type (§11.2)."""
        if self._codec is False:
            self._codec = _whole_value(self.asn)
        return self._codec  # type: ignore[return-value]


WholeEnc = Callable[[Any], bytes]
WholeDec = Callable[[bytes], Any]


def _whole_value(obj: Any) -> tuple[WholeEnc, WholeDec] | None:
    """An IE value's coders to and from the complete encoding of its open type: on octets
    for the IEs of nearly every UE-associated message (the S1AP IDs, TS 36.413 §9.2.3.3-4,
    and the NAS-PDU, §9.2.3.5), through the bit buffers for the others."""
    comp = _compiled(obj)
    if comp is None:
        return None
    if _flat(obj):
        return _memoised(*_buffered(*comp))
    if ref._type_name(obj) in ref._SPECIAL:
        whole = _buffered(*comp)
        size = ref._fixed_size(obj) if obj.TYPE == TYPE_BIT_STR else None
        if (size is not None and size > 16 and not size % 8 and obj._const_sz.ext is None
                and ref._SPECIAL[ref._type_name(obj) or ""][0] is ref._bits_to_bytes):
            return _key_whole(size // 8, *whole)
        return whole
    if obj.TYPE == TYPE_OCT_STR and obj._const_cont is None and obj._const_sz is None:
        return _octets_whole()
    if obj.TYPE == TYPE_SEQ_OF:
        entry = ref._single_entry(obj._cont)
        if entry is not None and (listed := _container_list(obj, entry)) is not None:
            return listed
    const = obj._const_val
    if (obj.TYPE == TYPE_INT and obj._const_tab is None and const is not None
            and const.rdyn is not None and const.ext is None and len(const.root) == 1
            and int(const.ub) - int(const.lb) + 1 > _64K):
        key = (int(const.lb), int(const.ub))
        if key not in _INDEFINITE:  # one pair of coders (and tables) per range
            _INDEFINITE[key] = _indefinite_whole(*key)
        return _INDEFINITE[key]
    return _buffered(*comp)


# The component types a flat value is made of: their Python values are immutable scalars.
_SCALAR_ASN = frozenset({TYPE_INT, TYPE_ENUM, TYPE_BOOL, TYPE_NULL, TYPE_BIT_STR, TYPE_OCT_STR,
                         TYPE_STR_PRINT})
_SCALAR_PY = frozenset({str, int, bytes})
_MEMO_MAX = 4096


def _kept(table: dict[Any, Any], key: Any, value: Any, most: int = 0) -> Any:
    """`value`, remembered under `key` in a table of at most `most` (or _MEMO_MAX) entries,
    cleared when full."""
    if len(table) >= (most or _MEMO_MAX):
        table.clear()
    table[key] = value
    return value


def _flat(obj: Any) -> bool:
    """An ENUMERATED, or a SEQUENCE of scalar components: the values that repeat from one
    message to the next (TAI §9.2.3.16, E-UTRAN CGI §9.2.1.38, RRC Establishment Cause
    §9.2.1.3a, UE-AMBR §9.2.1.20, UE Security Capabilities §9.2.1.40)."""
    if obj.TYPE == TYPE_ENUM:
        return True
    if obj.TYPE != TYPE_SEQ or ref._type_name(obj) in ref._SPECIAL:
        return False
    return all(obj._cont[name].TYPE in _SCALAR_ASN
               for name in obj._root if name != "iE-Extensions")


def _memoised(enc: WholeEnc, dec: WholeDec) -> tuple[WholeEnc, WholeDec]:
    """A flat IE's coders, each result kept per distinct value (bounded: cleared when full).
    A value is a key only when it is a str or a dict of str, int and bytes values (so 1 and
    True, which pycrate may code differently, never share an entry); a decoded dict is given
    as a copy, its values being immutable."""
    encoded: dict[Any, bytes] = {}
    decoded: dict[bytes, Any] = {}

    def enc_memo(v: Any) -> bytes:
        t = type(v)
        if t is dict:
            key: Any = tuple(v.items())
            for x in v.values():
                if type(x) not in _SCALAR_PY:
                    return enc(v)
        elif t is str:
            key = v
        else:
            return enc(v)
        got = encoded.get(key)
        return _kept(encoded, key, enc(v)) if got is None else got

    def dec_memo(data: bytes) -> Any:
        got = decoded.get(data)
        if got is None:
            got = _kept(decoded, data, dec(data))
        return dict(got) if type(got) is dict else got
    return enc_memo, dec_memo


def _buffered(enc: Enc, dec: Dec) -> tuple[WholeEnc, WholeDec]:
    def enc_whole(v: Any) -> bytes:
        w = _W()
        enc(w, v)
        return w.complete()
    return enc_whole, lambda data: _open_value(dec, data)


def _key_whole(count: int, enc: WholeEnc, dec: WholeDec) -> tuple[WholeEnc, WholeDec]:
    """A BIT STRING of a fixed size of `count` whole octets above 16 bits, not extensible,
    whose Python form is its octets (the Security Key, TS 36.413 §9.2.1.41, 256 bits): aligned
    and without a length (X.691 §16.10), so its octets are the open type's; any other value
    through the bit buffers."""
    def enc_octets(v: Any) -> bytes:
        return v if type(v) is bytes and len(v) == count else enc(v)

    def dec_octets(data: bytes) -> Any:
        return data if len(data) == count else dec(data)
    return enc_octets, dec_octets


def _octets_whole() -> tuple[WholeEnc, WholeDec]:
    """OCTET STRING without a size constraint (§17.8): its length determinant then its
    octets, filling the open type."""
    def enc(v: Any) -> bytes:
        if type(v) is not bytes:
            raise _Decline
        return _length(len(v)) + v

    def dec(data: bytes) -> Any:
        start, stop = _open_span(data, 0, len(data))
        if stop != len(data):
            raise _Decline
        return data[start:]
    return enc, dec


_INDEFINITE: dict[tuple[int, int], tuple[WholeEnc, WholeDec]] = {}
# the S1AP IDs of the connections in flight (a few messages each): a value is met again soon
# or never
_IDS_KEPT = 1024


def _indefinite_whole(lb: int, ub: int) -> tuple[WholeEnc, WholeDec]:
    """A not extensible INTEGER (lb..ub) of a range above 64K (§11.5.7.4, §13.2.6): the
    number of octets less one in the top bits of the first octet, padding, then the
    offset from lb in that many octets, filling the open type."""
    max_octets = ((ub - lb).bit_length() + 7) // 8
    shift = 8 - (max_octets - 1).bit_length()
    # the S1AP IDs of a connection come back in each of its messages: each value coded once
    # while it is in use (bounded: cleared when full), in one table for every message
    encoded: dict[int, bytes] = {}
    decoded: dict[bytes, int] = {}

    def enc(v: Any) -> bytes:
        if type(v) is not int:
            raise _Decline
        got = encoded.get(v)
        if got is not None:
            return got
        if not lb <= v <= ub:
            raise _Decline
        off = v - lb
        count = max(1, (off.bit_length() + 7) // 8)
        return _kept(encoded, v, bytes(((count - 1) << shift,)) + off.to_bytes(count, "big"),
                     _IDS_KEPT)

    def dec(data: bytes) -> Any:
        got = decoded.get(data)
        return _kept(decoded, data, dec_value(data), _IDS_KEPT) if got is None else got

    def dec_value(data: bytes) -> int:
        first = data[0]
        count = (first >> shift) + 1
        if first & ((1 << shift) - 1) or count > max_octets or len(data) != count + 1:
            raise _Decline  # padding, more octets than the range needs, unused octets
        if count > 1 and not data[1]:
            raise _Decline  # not the minimum number of octets
        v = lb + int.from_bytes(data[1:], "big")
        if v > ub:
            raise _Decline
        return v
    return enc, dec


# --------------------------------------------------------------------------------------------
# The E-RAB lists of Initial Context Setup (TS 36.413 §9.1.4.1, §9.1.4.3)
#
# A list of ProtocolIE-SingleContainer (§9.3.7) filling an open type is octet-aligned
# throughout: the count in the first octet (SIZE (1..256), §20.6, §11.5.7.2), then each
# item's id (16 aligned bits), criticality (2 bits and padding) and its value as an open type
# (§11.2). So the list is written and read on octets, and the item value of the two lists of
# every attach on octets too, in the one layout they nearly always have (no GBR QoS
# Information, no extensions, an address of whole octets); any other item goes through the
# bit buffers as before.
# --------------------------------------------------------------------------------------------


def _container_list(obj: Any, entry: dict[str, Any]) -> tuple[WholeEnc, WholeDec] | None:
    """A SEQUENCE (SIZE (lb..lb + 255)) OF ProtocolIE-SingleContainer (the E-RAB lists' SIZE
    (1..maxnoofE-RABs), 256) on octets, its count an aligned octet (§11.5.7.2); None for any
    other SIZE (the bit buffers code those)."""
    size = _size(obj)
    item = _compiled(entry["Value"])
    if size is None or size[2] or size[1] - size[0] != 255 or item is None:
        return None
    lb, ub, _ = size
    special = _ITEM_CODERS.get(ref._type_name(entry["Value"]) or "")
    item_enc, item_dec = (special(entry["Value"], *item) if special is not None
                          else _buffered(*item))
    head = bytes((entry["id"] >> 8, entry["id"] & 0xFF, _CRIT_INDEX[entry["criticality"]] << 6))

    def enc(v: Any) -> bytes:
        if type(v) is not list or not lb <= len(v) <= ub:
            raise _Decline
        parts = [bytes((len(v) - lb,))]
        for item in v:
            data = item_enc(item)
            parts += (head, _length(len(data)), data)
        return b"".join(parts)

    def dec(data: bytes) -> Any:
        end, pos = len(data), 1
        out = []
        for _ in range(data[0] + lb):
            if data[pos:pos + 3] != head or end - pos < 4:
                raise _Decline  # another id or criticality, or non-zero padding
            start, pos = _open_span(data, pos + 3, end)
            out.append(item_dec(data[start:pos]))
        if pos != end:
            raise _Decline
        return out
    return enc, dec


def _erab_to_be_setup_item(obj: Any, enc: Enc, dec: Dec) -> tuple[WholeEnc, WholeDec]:
    """E-RAB To Be Setup Item Ctxt SU Req (§9.1.4.1) on octets:

        octet 0   ext 0, nAS-PDU present, iE-Extensions 0, e-RAB-ID ext 0, e-RAB-ID (4 bits)
        octet 1   E-RAB Level QoS Parameters: ext 0, gbrQosInformation 0, iE-Extensions 0,
                  padding (qCI is an aligned octet, §11.5.7.2)
        octet 2   QCI
        octet 3   ARP: ext 0, iE-Extensions 0, priority level (4 bits), pre-emption
                  capability, pre-emption vulnerability (§9.2.1.60)
        octet 4-5 Transport Layer Address: ext 0, size - 1 (8 bits), padding (§9.2.2.1)
        then      the address, the GTP-TEID (4 octets), the NAS-PDU's length and octets
    """
    whole_enc, whole_dec = _buffered(enc, dec)
    qos_type = obj._cont["e-RABlevelQoSParameters"]
    arp_type = qos_type._cont["allocationRetentionPriority"]
    if (_shape(obj) != (_TO_BE_SETUP, ("nAS-PDU", "iE-Extensions"))
            or _shape(qos_type) != (_QOS, ("gbrQosInformation", "iE-Extensions"))
            or _shape(arp_type) != (_ARP, ("iE-Extensions",))
            or tuple(arp_type._cont["pre-emptionCapability"]._root) != _CAPABILITIES
            or tuple(arp_type._cont["pre-emptionVulnerability"]._root) != _VULNERABILITIES):
        return whole_enc, whole_dec  # another version of the ASN.1: the bit buffers
    addresses: dict[str, bytes] = {}

    def enc_item(v: Any) -> bytes:
        try:
            qos = v["e-RABlevelQoSParameters"]
            arp = qos["allocationRetentionPriority"]
            erab, qci, teid, tla = v["e-RAB-ID"], qos["qCI"], v["gTP-TEID"], v[
                "transportLayerAddress"]
            prio, cap, vuln = arp["priorityLevel"], _CAPABILITY.get(
                arp["pre-emptionCapability"]), _VULNERABILITY.get(arp["pre-emptionVulnerability"])
        except (TypeError, KeyError):
            return whole_enc(v)
        nas = v.get("nAS-PDU")
        if (len(v) != 4 + (nas is not None) or len(qos) != 2 or len(arp) != 3
                or type(erab) is not int or type(qci) is not int or type(prio) is not int
                or type(teid) is not int or type(tla) is not str
                or cap is None or vuln is None or not 0 <= erab < 16 or not 0 <= qci < 256
                or not 0 <= prio < 16 or not 0 <= teid < 1 << 32
                or (nas is not None and (type(nas) is not bytes or len(nas) >= 16384))):
            return whole_enc(v)
        address = addresses.get(tla)
        if address is None:
            address = _kept(addresses, tla, _address_octets(tla))
        head = bytes(((nas is not None) << 6 | erab, 0, qci, prio << 2 | cap << 1 | vuln))
        if nas is None:
            return b"".join((head, address, teid.to_bytes(4, "big")))
        return b"".join((head, address, teid.to_bytes(4, "big"), _length(len(nas)), nas))

    def dec_item(data: bytes) -> Any:
        end = len(data)
        if end < 11 or data[0] & 0xB0 or data[1] or data[3] & 0xC0:
            return whole_dec(data)
        got = _address(data, 4)
        if got is None:
            return whole_dec(data)
        tla, pos = got
        if pos + 4 > end:
            return whole_dec(data)
        arp = data[3]
        out = {"e-RAB-ID": data[0] & 0x0F, "e-RABlevelQoSParameters": {
                   "qCI": data[2], "allocationRetentionPriority": {
                       "priorityLevel": arp >> 2, "pre-emptionCapability": _CAPABILITIES[
                           arp >> 1 & 1], "pre-emptionVulnerability": _VULNERABILITIES[arp & 1]}},
               "transportLayerAddress": tla,
               "gTP-TEID": int.from_bytes(data[pos:pos + 4], "big")}
        pos += 4
        if data[0] & 0x40:
            if pos >= end:
                return whole_dec(data)
            try:  # an OCTET STRING's length determinant, as an open type's (§11.9.3.6-7)
                start, pos = _open_span(data, pos, end)
            except _Decline:
                return whole_dec(data)
            out["nAS-PDU"] = data[start:pos]
        return out if pos == end else whole_dec(data)
    return enc_item, dec_item


def _erab_setup_item(obj: Any, enc: Enc, dec: Dec) -> tuple[WholeEnc, WholeDec]:
    """E-RAB Setup Item Ctxt SU Res (§9.1.4.3) on octets:

        octet 0   ext 0, iE-Extensions 0, e-RAB-ID ext 0, e-RAB-ID (4 bits), the Transport
                  Layer Address's ext 0
        octet 1   the address's size - 1 (§9.2.2.1)
        then      the address, the GTP-TEID (4 octets)
    """
    whole_enc, whole_dec = _buffered(enc, dec)
    if _shape(obj) != (_SETUP, ("iE-Extensions",)):
        return whole_enc, whole_dec
    addresses: dict[str, bytes] = {}

    def enc_item(v: Any) -> bytes:
        try:
            erab, tla, teid = v["e-RAB-ID"], v["transportLayerAddress"], v["gTP-TEID"]
        except (TypeError, KeyError):
            return whole_enc(v)
        if (len(v) != 3 or type(erab) is not int or type(tla) is not str
                or type(teid) is not int or not 0 <= erab < 16 or not 0 <= teid < 1 << 32):
            return whole_enc(v)
        address = addresses.get(tla)
        if address is None:
            nbits, octets = _address_value(tla)
            address = _kept(addresses, tla, bytes((nbits - 1,)) + octets)
        return b"".join((bytes((erab << 1,)), address, teid.to_bytes(4, "big")))

    def dec_item(data: bytes) -> Any:
        end = len(data)
        nbits = data[1] + 1 if end >= 7 else 0
        stop = 2 + nbits // 8
        if data[0] & 0xE1 or not nbits or nbits % 8 or nbits > 160 or stop + 4 != end:
            return whole_dec(data)
        return {"e-RAB-ID": data[0] >> 1, "transportLayerAddress": ref._tla_to_py(
                    (int.from_bytes(data[2:stop], "big"), nbits)),
                "gTP-TEID": int.from_bytes(data[stop:], "big")}
    return enc_item, dec_item


def _address_value(text: str) -> tuple[int, bytes]:
    """A Transport Layer Address (§9.2.2.1, BIT STRING (SIZE (1..160, ...))) in the
    reference's text form: its size in bits and its octets."""
    val, nbits = ref._tla_text_to_asn(text)
    if not 8 <= nbits <= 160 or nbits % 8:
        raise _Decline
    return nbits, val.to_bytes(nbits // 8, "big")


def _address_octets(text: str) -> bytes:
    """The address as two octets (ext 0, size - 1, padding) and its octets."""
    nbits, octets = _address_value(text)
    return bytes(((nbits - 1) >> 1, ((nbits - 1) & 1) << 7)) + octets


def _shape(obj: Any) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """A SEQUENCE's root components and its optional ones; None for one with an extension
    group or no extension marker."""
    if obj._ext is None or obj._ext or obj._ext_group:
        return None
    return tuple(obj._root), tuple(n for n in obj._root if n in obj._root_opt)


def _address(data: bytes, pos: int) -> tuple[Any, int] | None:
    """The Transport Layer Address written by `_address_octets` at `pos`, and the position
    after it; None for any other form."""
    first, second = data[pos], data[pos + 1]
    nbits = ((first << 1) | (second >> 7)) + 1
    if first & 0x80 or second & 0x7F or nbits % 8 or nbits > 160:
        return None
    stop = pos + 2 + nbits // 8
    if stop > len(data):
        return None
    return ref._tla_to_py((int.from_bytes(data[pos + 2:stop], "big"), nbits)), stop


_TO_BE_SETUP = ("e-RAB-ID", "e-RABlevelQoSParameters", "transportLayerAddress", "gTP-TEID",
                "nAS-PDU", "iE-Extensions")
_QOS = ("qCI", "allocationRetentionPriority", "gbrQosInformation", "iE-Extensions")
_ARP = ("priorityLevel", "pre-emptionCapability", "pre-emptionVulnerability", "iE-Extensions")
_SETUP = ("e-RAB-ID", "transportLayerAddress", "gTP-TEID", "iE-Extensions")
_CAPABILITIES = ("shall-not-trigger-pre-emption", "may-trigger-pre-emption")
_VULNERABILITIES = ("not-pre-emptable", "pre-emptable")
_CAPABILITY = {name: i for i, name in enumerate(_CAPABILITIES)}
_VULNERABILITY = {name: i for i, name in enumerate(_VULNERABILITIES)}
_ITEM_CODERS: dict[str, Callable[[Any, Enc, Dec], tuple[WholeEnc, WholeDec]]] = {
    "E-RABToBeSetupItemCtxtSUReq": _erab_to_be_setup_item,
    "E-RABSetupItemCtxtSURes": _erab_setup_item,
}


class _MsgPlan:
    """A message of `FAST_MESSAGES`: its IEs in the IE set's order, by id, and the PDU's
    first three octets (CHOICE index, procedureCode, criticality)."""

    __slots__ = ("spec", "ies", "by_id", "known", "required", "head", "layouts", "_by_head",
                 "dec_templates")

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.ies = [_IePlan(ie) for ie in spec.ies.values()]
        self.by_id = {ie.id: plan for ie, plan in zip(spec.ies.values(), self.ies, strict=True)}
        self.known = frozenset(spec.ies)
        self.required = frozenset(ie.name for ie in self.ies if ie.mandatory)
        # §23 CHOICE index (2 bits after the extension bit), padding; procedureCode; the
        # criticality's 2 bits then the padding before the open type's length (§11.2)
        self.head = bytes((_KIND_INDEX[spec.kind] << 5, spec.code,
                           _CRIT_INDEX[spec.criticality] << 6))
        self.layouts: dict[tuple[str, ...], _Layout | None] = {}
        self._by_head: dict[bytes, tuple[str, WholeDec | None]] | None = None
        # the message's decode templates (`_DEC_TEMPLATED`), None: decoded IE by IE
        self.dec_templates: list[_DecTemplate] | None = None

    def by_head(self) -> dict[bytes, tuple[str, WholeDec | None]]:
        """Each IE by its header octets (id, criticality and its padding, §9.3.7): its name
        and its value decoder (None: no fast decoder), made on the first decode."""
        if self._by_head is None:
            self._by_head = {ie.head: (ie.name, None if (codec := ie.codec()) is None
                                       else codec[1]) for ie in self.ies}
        return self._by_head

    def layout(self, names: tuple[str, ...]) -> _Layout | None:
        """The container of a message with the IEs `names`: its first octets (§9.3.7
        ProtocolIE-Container: extension bit, padding, SIZE) and, in the IE set's order, each
        IE's name, header octets and value encoder; None when `names` is not a valid set of
        IEs or an IE has no fast encoder. A builder gives its message's IEs in one order,
        so a message type has one or a few layouts (bounded: cleared when full)."""
        got = self.layouts.get(names, False)
        if got is not False:
            return got  # type: ignore[return-value]
        present = frozenset(names)
        layout: _Layout | None = None
        if len(present) == len(names) and self.known >= present and self.required <= present:
            ies = [(ie.name, ie.head, ie.codec()) for ie in self.ies if ie.name in present]
            if all(codec is not None for _, _, codec in ies):
                layout = (b"\x00" + len(names).to_bytes(2, "big"),
                          tuple((name, head, codec[0]) for name, head, codec in ies
                                if codec is not None))
        return _kept(self.layouts, names, layout, _LAYOUTS_KEPT)  # type: ignore[no-any-return]


_Layout = tuple[bytes, tuple[tuple[str, bytes, "WholeEnc"], ...]]
_LAYOUTS_KEPT = 64


_PLANS_BY_NAME: dict[str, _MsgPlan] = {}
_PLANS_BY_HEAD: dict[tuple[int, int], _MsgPlan] = {}
for _spec in ref._BY_NAME.values():
    if _spec.name in FAST_MESSAGES:
        _plan = _MsgPlan(_spec)
        _PLANS_BY_NAME[_spec.name] = _plan
        _PLANS_BY_HEAD[(_plan.head[0], _spec.code)] = _plan


def _length(n: int) -> bytes:
    """§11.9.3.6-7: an octet-aligned length determinant, below 16K."""
    if n < 128:
        return _LENGTHS[n]
    if n < 16384:
        return bytes((0x80 | n >> 8, n & 0xFF))
    raise _Decline  # §11.9.3.8 fragmentation: pycrate


_LENGTHS = [bytes((n,)) for n in range(128)]


def _open_value(dec: Dec, data: bytes) -> Any:
    """§11.2: the value of an open type whose octets are `data`, every octet used."""
    inner = _R(data)
    value = dec(inner)
    if max(1, (inner.pos + 7) >> 3) != len(data):
        raise _Decline
    inner.align()
    if inner.pos == 0 and data != b"\x00":
        raise _Decline
    return value


def encode(msg: Message) -> bytes | None:
    """The pycrate path's bytes for `msg`, or None to decline."""
    plan = _PLANS_BY_NAME.get(msg.name)
    if plan is None or msg.protocol != ref.PROTOCOL:
        return None
    fields = msg.fields
    return _encode(plan, plan.layout(tuple(fields)), fields, _NOTHING_FIXED)


_NOTHING_FIXED: dict[str, bytes] = {}


def _encode(plan: _MsgPlan, layout: _Layout | None, fields: dict[str, Any],
            fixed: dict[str, bytes]) -> bytes | None:
    """The PDU of `plan`'s message laid out as `layout`: each IE from its value in `fields`,
    or its octets (header, length, value) in `fixed`; None to decline."""
    if layout is None:
        return None
    try:
        parts = [layout[0]]
        for name, head, enc in layout[1]:
            octets = fixed.get(name)
            if octets is not None:
                parts.append(octets)
                continue
            value = enc(fields[name])
            parts += (head, _length(len(value)), value)
        content = b"".join(parts)
        return b"".join((plan.head, _length(len(content)), content))
    except _Decline:
        return None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None  # a value the reference's conversions refuse: its own words


class _Template:
    """Messages `name` whose IEs `fixed` have the same values in each: those IEs' octets
    (header, length, value) made once, the others coded per message."""

    __slots__ = ("_plan", "_names", "_octets")

    def __init__(self, plan: _MsgPlan, octets: dict[str, bytes]) -> None:
        self._plan = plan
        self._names = tuple(octets)
        self._octets = octets

    def __call__(self, fields: dict[str, Any]) -> bytes | None:
        """`encode`'s bytes for the message with `fields` and the fixed IEs, or None."""
        plan = self._plan
        return _encode(plan, plan.layout(tuple(fields) + self._names), fields, self._octets)


def template(name: str, fixed: dict[str, Any]) -> _Template | None:
    """An encoder of messages `name` whose IEs `fixed` are the same in each (a cell's TAI and
    E-UTRAN CGI in its Initial UE Messages and Uplink NAS Transports, TS 36.413 §9.1.7.1,
    §9.1.7.3), or None when one of them has no fast coding."""
    plan = _PLANS_BY_NAME.get(name)
    if plan is None:
        return None
    octets = {}
    try:
        for ie in plan.ies:
            if ie.name in fixed:
                codec = ie.codec()
                if codec is None:
                    return None
                value = codec[0](fixed[ie.name])
                octets[ie.name] = ie.head + _length(len(value)) + value
    except (_Decline, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None
    return _Template(plan, octets) if len(octets) == len(fixed) else None


def decode(data: bytes) -> Message | None:
    """The pycrate path's Message for `data`, or None to decline."""
    try:
        data = bytes(data)
        first = data[0]
        # extension bit clear, CHOICE index 0..2, zero padding; the criticality's padding zero
        if first & 0x9F or data[2] & 0x3F:
            return None
        plan = _PLANS_BY_HEAD.get((first, data[1]))
        if plan is None or data[2] != plan.head[2]:
            return None
        start, stop = _open_span(data, 3, len(data))
        if stop != len(data):
            return None
        kept = plan.dec_templates
        if kept is None:
            return _decode_content(plan, data, start)
        for template in kept:
            msg = _from_dec_template(plan, template, data, start)
            if msg is not None:
                return msg
        msg = _decode_content(plan, data, start)
        if msg is not None:
            _new_dec_template(plan, kept, data, start, msg.fields)
        return msg
    except _Decline:
        return None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, ref._Semantic):
        return None


_NO_IE: tuple[str, WholeDec | None] = ("", None)


def _open_span(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Where the value of the open type (§11.2) whose length determinant (§11.9.3.6-7, below
    16K) is at `pos` starts and stops, within `end`."""
    size = data[pos]
    if size < 128:
        start = pos + 1
    elif size >> 6 == 2 and end - pos > 1:
        size = ((size & 0x3F) << 8) | data[pos + 1]
        start = pos + 2
    else:
        raise _Decline
    if start + size > end:
        raise _Decline
    return start, start + size


def _decode_content(plan: _MsgPlan, data: bytes, pos: int) -> Message | None:
    """The message SEQUENCE from `pos` to the end of `data` (the PDU's open type)."""
    end = len(data)
    if end - pos < 3 or data[pos]:  # extension bit and padding
        return None
    count = (data[pos + 1] << 8) | data[pos + 2]
    pos += 3
    fields: dict[str, Any] = {}
    by_head = plan.by_head()
    for _ in range(count):
        if end - pos < 4:
            return None
        # unknown IE, other criticality or non-zero padding: no entry
        name, dec = by_head.get(data[pos:pos + 3], _NO_IE)
        if dec is None or name in fields:
            return None  # no such IE (or no fast decoder for it), or a repeated IE
        start, pos = _open_span(data, pos + 3, end)
        fields[name] = dec(data[start:pos])
    if pos != end or not plan.required <= fields.keys():
        return None
    spec = plan.spec
    return Message(ref.PROTOCOL, spec.name, spec.code, fields)


# --------------------------------------------------------------------------------------------
# Decode templates (TS 36.413 §9.1.7.1-3, §9.1.4.1, §9.1.4.3, §9.1.10): the UE-associated
# messages of an attach differ from one UE to the next only in a few IEs' values: the S1AP IDs
# (§9.2.3.3-4), the NAS-PDU (§9.2.3.5), the E-RAB lists' TEIDs, addresses and NAS-PDUs
# (§9.2.1.1-2), the Security Key (§9.2.1.41), the S-TMSI (§9.2.3.6) and the UE Radio Capability
# (§9.2.1.27). A message whose every other octet equals those of one decoded before (the same
# IEs in the same order, the same criticalities, values and lengths) decodes to that one's
# values with those IEs read anew by the same readers: what `_decode_content` gives,
# refusals included. Anything else goes through `_decode_content`.
# --------------------------------------------------------------------------------------------

_DEC_TEMPLATED = frozenset({
    "DownlinkNASTransport", "InitialContextSetupRequest", "UplinkNASTransport",
    "InitialUEMessage", "InitialContextSetupResponse", "UECapabilityInfoIndication",
})
_VARYING_IES = frozenset({
    "MME-UE-S1AP-ID", "eNB-UE-S1AP-ID", "NAS-PDU", "E-RABToBeSetupListCtxtSUReq",
    "E-RABSetupListCtxtSURes", "SecurityKey", "S-TMSI", "UERadioCapability",
})
_DEC_TEMPLATES_KEPT = 4  # per message type: a population's few cells, PLMNs and UE kinds
# one step of a template: the constant octets (the IEs of constant value, then the header of
# the varying IE), how many they are, the constant IEs' (name, value, copier), then the
# varying IE's name and value reader (None after the last varying IE)
_DecStep = tuple[bytes, int, tuple[tuple[str, Any, Any], ...], str | None, WholeDec | None]
_DecTemplate = tuple[_DecStep, ...]


def _same(value: Any) -> Any:
    return value


def _deep_copy(value: Any) -> Any:
    """A copy of a decoded value (dicts, lists and CHOICE tuples over immutable scalars)."""
    t = type(value)
    if t is dict:
        return {k: _deep_copy(v) for k, v in value.items()}
    if t is list:
        return [_deep_copy(v) for v in value]
    if t is tuple:
        return tuple(_deep_copy(v) for v in value)
    return value


def _copier(value: Any) -> Callable[[Any], Any]:
    """How each message gets its own copy of a constant value (as the decoders give it)."""
    t = type(value)
    if t in (int, str, bytes, bool) or value is None:
        return _same
    if t is dict and all(type(v) in (int, str, bytes, bool) for v in value.values()):
        return dict
    if t in (dict, list, tuple):
        return _deep_copy
    raise _Decline  # a value of another form: no template


def _new_dec_template(plan: _MsgPlan, kept: list[_DecTemplate], data: bytes, pos: int,
                      fields: dict[str, Any]) -> None:
    """The message data[pos:] (accepted by `_decode_content` with `fields`) kept as a
    template of `plan`'s messages, the oldest of a full list dropped."""
    by_head = plan.by_head()
    end, pos = len(data), pos + 3  # the container's extension bit, padding and count
    steps: list[_DecStep] = []
    run = pos - 3
    consts: list[tuple[str, Any, Any]] = []
    try:
        while pos < end:
            name, dec = by_head[data[pos:pos + 3]]
            start, stop = _open_span(data, pos + 3, end)
            if name in _VARYING_IES:
                steps.append((data[run:pos + 3], pos + 3 - run, tuple(consts), name, dec))
                run, consts = stop, []
            else:
                copy = _copier(fields[name])  # the template's own: the caller has the message's
                consts.append((name, copy(fields[name]), copy))
            pos = stop
    except (_Decline, KeyError):
        return  # a value of another form than the decoders give
    if not steps:
        return  # nothing varies: the decoders' own memos serve it
    steps.append((data[run:end], end - run, tuple(consts), None, None))
    if len(kept) >= _DEC_TEMPLATES_KEPT:
        del kept[0]
    kept.append(tuple(steps))


def _from_dec_template(plan: _MsgPlan, template: _DecTemplate, data: bytes,
                       pos: int) -> Message | None:
    """The message data[pos:] read by `template`, or None when an octet outside its varying
    values differs (or a varying value is refused: `_decode_content` judges it)."""
    if not data.endswith(template[-1][0]):
        return None  # the octets after the last varying value (a cell's TAI and CGI) differ
    end = len(data)
    fields: dict[str, Any] = {}
    try:
        for octets, count, consts, name, dec in template:
            if not data.startswith(octets, pos):
                return None
            pos += count
            for const_name, value, copy in consts:
                fields[const_name] = copy(value)
            if dec is None:
                break
            size = data[pos]
            if size < 128:  # §11.9.3.6: the one-octet length of nearly every value
                start = pos + 1
                pos = start + size
                if pos > end:
                    return None
            else:
                start, pos = _open_span(data, pos, end)
            fields[name] = dec(data[start:pos])  # type: ignore[index]
    except (_Decline, ValueError, TypeError, KeyError, IndexError, OverflowError, ref._Semantic):
        return None  # `_decode_content` gives the answer
    if pos != end:
        return None
    spec = plan.spec
    return Message(ref.PROTOCOL, spec.name, spec.code, fields)


for _plan in _PLANS_BY_NAME.values():
    if _plan.spec.name in _DEC_TEMPLATED:
        _plan.dec_templates = []


fast_path(ref.PROTOCOL).install(encode, decode, template)
