"""S1AP codec (TS 36.413) over pycrate's APER runtime.

Every message of the S1AP ASN.1 (TS 36.413 §9.3) decodes; the builders below cover the
procedures the EPC uses. A `Message` carries:

* `name`  - the ASN.1 message type (TS 36.413 §9.3.3), e.g. "InitialUEMessage";
* `code`  - the procedureCode (TS 36.413 §9.3.6);
* `fields` - IE values keyed by the ProtocolIE-ID name without its "id-" prefix (§9.3.6), e.g.
  "MME-UE-S1AP-ID", "NAS-PDU", "uEaggregateMaximumBitrate".

IE values are plain Python, derived from the ASN.1 type:

* SEQUENCE -> dict keyed by component name; SEQUENCE OF -> list; CHOICE -> (alternative, value);
  ENUMERATED -> str; INTEGER -> int; NULL -> None; OCTET STRING -> bytes;
* fixed-size BIT STRING -> int (e.g. "cell-ID", MessageIdentifier); other BIT STRING -> bytes;
* PLMNidentity -> "44020"; TAC, MME-Group-ID, MME-Code, M-TMSI, GTP-TEID -> int;
  SecurityKey -> 32 bytes; TransportLayerAddress -> IP address text (TS 36.414 §5.3);
* lists of ProtocolIE-SingleContainer (e.g. E-RABToBeSetupListCtxtSUReq) -> list of the items;
* "iE-Extensions" stay in pycrate's own value form.

`encode`/`decode` try the fast path (`corenet.codecs.fast.s1ap`, the attach, detach, TAU and
S1 release messages) first when the codec selection is "fast"; it gives the same bytes and the
same Message or leaves the call to pycrate (`encode_pycrate`/`decode_pycrate`), the reference.

Errors follow TS 36.413 §10: undecodable bytes raise DecodeError with
("protocol", "transfer-syntax-error") (§10.2); abstract syntax errors (§10.3) raise DecodeError
with the cause the criticality asks for, and `extra` holds what an Error Indication needs
(see `decode`).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)

# isort: split
from pycrate_asn1dir import S1AP as _S1AP
from pycrate_asn1rt.codecs import ASN1CodecPER
from pycrate_asn1rt.utils import (
    TYPE_BIT_STR,
    TYPE_CHOICE,
    TYPE_NULL,
    TYPE_SEQ,
    TYPE_SEQ_OF,
)
from pycrate_core.charpy import Charpy

from corenet.codecs.base import Message
from corenet.codecs.selection import STATE, fast_path
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.plmn import Plmn

PROTOCOL = "s1ap"
_fast = fast_path(PROTOCOL)  # installed by corenet.codecs.fast.s1ap
Cause = tuple[str, str]

_PDU = _S1AP.S1AP_PDU_Descriptions.S1AP_PDU
_MOD = _S1AP.GLOBAL.MOD

# TS 36.413 §9.3.2: the three PDU kinds, as the ELEMENTARY-PROCEDURE class fields name them.
_KINDS = {
    "InitiatingMessage": "initiatingMessage",
    "SuccessfulOutcome": "successfulOutcome",
    "UnsuccessfulOutcome": "unsuccessfulOutcome",
}

_TRANSFER_SYNTAX = ("protocol", "transfer-syntax-error")
_REJECT = ("protocol", "abstract-syntax-error-reject")
_NOTIFY = ("protocol", "abstract-syntax-error-ignore-and-notify")
_FALSELY = ("protocol", "abstract-syntax-error-falsely-constructed-message")
_SEMANTIC = ("protocol", "semantic-error")


class _Semantic(Exception):
    """A decoded value that no Python value can carry (e.g. a PLMN with non-BCD digits)."""


# ---------------------------------------------------------------------------------------------
# Tables built once from the ASN.1 (TS 36.413 §9.3.2 elementary procedures, §9.3.3 IE sets)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _IESpec:
    id: int
    name: str
    criticality: str
    mandatory: bool
    asn: Any
    type_name: str


@dataclass(frozen=True)
class _MsgSpec:
    name: str
    code: int
    kind: str
    criticality: str
    ies: dict[str, _IESpec]
    by_id: dict[int, _IESpec]


def _type_name(obj: Any) -> str | None:
    called = getattr(obj._typeref, "called", None)
    return called[1] if called else None


def _class_set(tab: Any) -> list[dict[str, Any]]:
    return list(tab._val.root) + list(tab._val.ext or [])


def _ie_names() -> dict[int, str]:
    return {
        o._val: o._name[3:]
        for o in _S1AP.S1AP_Constants._all_
        if o._name.startswith("id-") and o._tr is not None and o._tr._name == "ProtocolIE-ID"
    }


def _msg_spec(name: str, code: int, kind: str, crit: str, ie_names: dict[int, str]) -> _MsgSpec:
    seq = _MOD["S1AP-PDU-Contents"][name]
    field_ = seq._cont["protocolIEs"]._cont._cont["value"]
    ies = [
        _IESpec(
            e["id"], ie_names[e["id"]], e["criticality"], e["presence"] == "mandatory",
            e["Value"], _type_name(e["Value"]) or "",
        )
        for e in _class_set(field_._const_tab)
    ]
    return _MsgSpec(name, code, kind, crit, {i.name: i for i in ies}, {i.id: i for i in ies})


def _build_tables() -> tuple[dict[str, _MsgSpec], dict[tuple[str, int], _MsgSpec]]:
    ie_names = _ie_names()
    by_name: dict[str, _MsgSpec] = {}
    eps = _S1AP.S1AP_PDU_Descriptions.S1AP_ELEMENTARY_PROCEDURES
    for ep in _class_set(eps):
        for field_, kind in _KINDS.items():
            if field_ not in ep:
                continue
            name = _type_name(ep[field_])
            if name is None or "protocolIEs" not in _MOD["S1AP-PDU-Contents"][name]._cont:
                continue  # PrivateMessage carries privateIEs only (§9.1.9): not modelled
            by_name[name] = _msg_spec(name, ep["procedureCode"], kind, ep["criticality"], ie_names)
    return by_name, {(s.kind, s.code): s for s in by_name.values()}


_BY_NAME, _BY_KIND_CODE = _build_tables()
PROCEDURE_CODES: dict[str, int] = {n: s.code for n, s in _BY_NAME.items()}


# ---------------------------------------------------------------------------------------------
# pycrate value <-> Python value, driven by the ASN.1 type
# ---------------------------------------------------------------------------------------------


# The conversions below are pure functions of a few distinct values (the PLMNs, the eNBs' and
# S-GWs' addresses), met in nearly every message: each value is converted once.


@functools.lru_cache(maxsize=1024)
def _plmn_to_py(v: bytes) -> str:
    try:
        return str(Plmn.from_bytes(v))
    except ValueError as exc:  # TS 36.413 §9.2.3.8: digits must be BCD
        raise _Semantic(str(exc)) from exc


def _plmn_to_asn(v: Any) -> bytes:
    return v.to_bytes() if isinstance(v, Plmn) else _plmn_text_to_asn(str(v))


@functools.lru_cache(maxsize=1024)
def _plmn_text_to_asn(text: str) -> bytes:
    return Plmn.parse(text).to_bytes()


def _uint_octets(size: int) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    return (lambda v: int.from_bytes(v, "big"), lambda v: int(v).to_bytes(size, "big"))


@functools.lru_cache(maxsize=1024)
def _tla_to_py(v: tuple[int, int]) -> Any:
    # TS 36.414 §5.3: an IPv4 (32 bit), IPv6 (128 bit) or both (160 bit) address.
    val, nbits = v
    if nbits == 32:
        return str(ipaddress.IPv4Address(val))
    if nbits == 128:
        return str(ipaddress.IPv6Address(val))
    if nbits == 160:
        return f"{ipaddress.IPv4Address(val >> 128)},{ipaddress.IPv6Address(val & (2**128 - 1))}"
    return _bits_to_bytes(v)


def _tla_to_asn(v: Any) -> tuple[int, int]:
    if isinstance(v, bytes | tuple):
        return _bytes_to_bits(v)
    return _tla_text_to_asn(str(v))


@functools.lru_cache(maxsize=1024)
def _tla_text_to_asn(text: str) -> tuple[int, int]:
    addrs = [ipaddress.ip_address(a.strip()) for a in text.split(",")]
    val, nbits = 0, 0
    for a in addrs:
        width = 32 if a.version == 4 else 128
        val, nbits = (val << width) | int(a), nbits + width
    return val, nbits


def _bits_to_bytes(v: tuple[int, int]) -> Any:
    val, nbits = v
    return val.to_bytes(nbits // 8, "big") if nbits % 8 == 0 else v


def _bytes_to_bits(v: Any) -> tuple[int, int]:
    if isinstance(v, tuple):
        return int(v[0]), int(v[1])
    return int.from_bytes(v, "big"), 8 * len(v)


# Types whose Python form is not the generic one (see module docstring).
_SPECIAL: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "PLMNidentity": (_plmn_to_py, _plmn_to_asn),  # TS 36.413 §9.2.3.8
    "TAC": _uint_octets(2),  # §9.2.3.7
    "MME-Group-ID": _uint_octets(2),  # §9.2.3.9
    "MME-Code": _uint_octets(1),  # §9.2.3.12
    "M-TMSI": _uint_octets(4),  # §9.2.3.6
    "GTP-TEID": _uint_octets(4),  # §9.2.2.2
    "SecurityKey": (_bits_to_bytes, _bytes_to_bits),  # §9.2.1.41, KeNB 256 bits
    "TransportLayerAddress": (_tla_to_py, _tla_to_asn),  # §9.2.2.1
}


def _fixed_size(obj: Any) -> int | None:
    sz = obj._const_sz
    if sz is None or len(sz.root) != 1 or not isinstance(sz.root[0], int):
        return None
    return int(sz.root[0])


def _single_entry(item: Any) -> dict[str, Any] | None:
    """The one IE a ProtocolIE-SingleContainer list item may carry (§9.3.7), if only one."""
    if _type_name(item) != "ProtocolIE-SingleContainer":
        return None
    entries = _class_set(item._cont["value"]._const_tab)
    return entries[0] if len(entries) == 1 else None


def _to_py(obj: Any, val: Any) -> Any:
    special = _SPECIAL.get(_type_name(obj) or "")
    if special is not None:
        return special[0](val)
    t = obj.TYPE
    if t == TYPE_SEQ:
        cont = obj._cont
        return {
            k: _to_py(cont[k], v) if k in cont and k != "iE-Extensions" else v
            for k, v in val.items()
        }
    if t == TYPE_SEQ_OF:
        entry = _single_entry(obj._cont)
        if entry is None:
            return [_to_py(obj._cont, v) for v in val]
        return [_single_to_py(entry, v) for v in val]
    if t == TYPE_CHOICE:
        alt, v = val
        return (alt, _to_py(obj._cont[alt], v) if alt in obj._cont else v)
    if t == TYPE_BIT_STR:
        size = _fixed_size(obj)
        return val[0] if size is not None and val[1] == size else _bits_to_bytes(val)
    if t == TYPE_NULL:
        return None
    return val


def _single_to_py(entry: dict[str, Any], item: dict[str, Any]) -> Any:
    if item["id"] != entry["id"]:
        raise _Semantic(f"IE {item['id']} where IE {entry['id']} belongs (§9.3.7)")
    return _to_py(entry["Value"], item["value"][1])


def _to_asn(obj: Any, val: Any) -> Any:
    special = _SPECIAL.get(_type_name(obj) or "")
    if special is not None:
        return special[1](val)
    t = obj.TYPE
    if t == TYPE_SEQ:
        cont = obj._cont
        return {
            k: _to_asn(cont[k], v) if k in cont and k != "iE-Extensions" else v
            for k, v in val.items()
        }
    if t == TYPE_SEQ_OF:
        entry = _single_entry(obj._cont)
        if entry is None:
            return [_to_asn(obj._cont, v) for v in val]
        return [_single_to_asn(entry, v) for v in val]
    if t == TYPE_CHOICE:
        alt, v = val
        return (alt, _to_asn(obj._cont[alt], v))
    if t == TYPE_BIT_STR:
        size = _fixed_size(obj)
        return (int(val), size) if isinstance(val, int) and size else _bytes_to_bits(val)
    if t == TYPE_NULL:
        return 0
    return val


def _single_to_asn(entry: dict[str, Any], val: Any) -> dict[str, Any]:
    asn = entry["Value"]
    return {
        "id": entry["id"],
        "criticality": entry["criticality"],
        "value": (_type_name(asn), _to_asn(asn, val)),
    }


# ---------------------------------------------------------------------------------------------
# encode / decode
# ---------------------------------------------------------------------------------------------


def encode(msg: Message) -> bytes:
    """APER-encode `msg` (TS 36.413 §9.3, X.691 aligned). Raises EncodeError on a bad message."""
    return _fast.encode_or(encode_pycrate, msg)


def encode_pycrate(msg: Message) -> bytes:
    """`encode` by pycrate alone: the reference the fast path is proven against."""
    return encode_ies(_PDU, _BY_NAME, msg, "S1AP")


def encode_ies(pdu: Any, by_name: dict[str, _MsgSpec], msg: Message, label: str) -> bytes:
    """`msg` as the protocol-IE container PDU `pdu` (an initiating / successful / unsuccessful
    outcome CHOICE, as S1AP TS 36.413 §9.3 and SBc-AP TS 29.168 §4.4 define theirs), its
    message found in `by_name`. Raises EncodeError on a bad message."""
    spec = by_name.get(msg.name)
    if spec is None:
        raise EncodeError(f"unknown {label} message {msg.name!r}")
    unknown = set(msg.fields) - set(spec.ies)
    if unknown:
        raise EncodeError(f"{msg.name}: no IE named {sorted(unknown)}")
    missing = [i.name for i in spec.ies.values() if i.mandatory and i.name not in msg.fields]
    if missing:
        raise EncodeError(f"{msg.name}: mandatory IE missing {missing}")
    try:
        ies = [
            {"id": i.id, "criticality": i.criticality,
             "value": (i.type_name, _to_asn(i.asn, msg.fields[i.name]))}
            for i in spec.ies.values()
            if i.name in msg.fields
        ]
        value = (spec.kind, {
            "procedureCode": spec.code,
            "criticality": spec.criticality,
            "value": (spec.name, {"protocolIEs": ies}),
        })
        return bytes(pdu.to_aper(value))
    except Exception as exc:  # pycrate raises many types on out-of-range values
        raise EncodeError(f"{msg.name}: {exc}") from exc


class TrailingOctets(ValueError):
    """A whole PDU followed by more octets: `pdu_octets` is where the PDU ends."""

    def __init__(self, detail: str, pdu_octets: int) -> None:
        super().__init__(detail)
        self.pdu_octets = pdu_octets


def aper_value(pdu: Any, data: bytes, label: str) -> Any:
    """APER-decode `data` as `pdu`; ValueError (with a one-line detail) when it is not one
    whole PDU: the transfer syntax error of TS 36.413 §10.2."""
    depth = len(ASN1CodecPER._off)
    try:
        char = Charpy(bytes(data))
        pdu.from_aper(char)
        rest = char.len_bit()
        val = pdu.get_val()
    except Exception as exc:  # pycrate raises many types on malformed input
        del ASN1CodecPER._off[depth:]  # pycrate leaves its offset stack dirty on failure
        raise ValueError(f"undecodable {label}: {exc}") from None
    if rest:
        # where the PDU ends, for a reader that reports the rest (corenet decode)
        raise TrailingOctets(f"{rest // 8} octet(s) after the {label}", len(data) - rest // 8)
    return val


def _pdu_value(data: bytes) -> Any:
    """APER-decode the S1AP-PDU; anything undecodable is a transfer syntax error (§10.2)."""
    try:
        return aper_value(_PDU, data, "S1AP-PDU")
    except ValueError as exc:
        extra = {"pdu_octets": exc.pdu_octets} if isinstance(exc, TrailingOctets) else {}
        raise DecodeError(PROTOCOL, _TRANSFER_SYNTAX, str(exc), **extra,
                          **_peek_code(data)) from None


def _peek_code(data: bytes) -> dict[str, Any]:
    # X.691: octet 0 holds the PDU CHOICE index, octet 1 the procedureCode (0..255).
    return {"procedure_code": data[1]} if len(data) >= 2 else {}


def _not_comprehended(crit: str) -> tuple[str, str]:
    # TS 36.413 §10.3.4.1 / §10.3.4.2: the criticality decides reject or ignore-and-notify.
    return _REJECT if crit == "reject" else _NOTIFY


def decode(data: bytes) -> Message:
    """Decode one S1AP-PDU; raises only DecodeError (see `decode_pycrate`)."""
    return _fast.decode_or(decode_pycrate, data)


def decode_pycrate(data: bytes) -> Message:
    """Decode one S1AP-PDU by pycrate alone; raises only DecodeError.

    DecodeError.extra carries, when known: "procedure_code", "triggering_message"
    ("initiatingMessage" | "successfulOutcome" | "unsuccessfulOutcome"), "procedure_criticality",
    "mme_ue_id", "enb_ue_id", "ie_errors" (list of (IE id, IE criticality, "not-understood" |
    "missing")) and "message": for causes other than reject, the Message decoded without the
    faulty IEs, which the procedure may go on with (TS 36.413 §10.3.4.2, §10.3.5).
    "report" is False when the criticality is "ignore": no Error Indication is sent then.
    """
    kind, body = _pdu_value(data)
    if kind not in _TRIGGERING:
        # §10.3.4.1A: an S1AP-PDU extension alternative is a Type of Message not comprehended.
        raise DecodeError(PROTOCOL, _REJECT, f"S1AP-PDU alternative {kind} not comprehended",
                          report=True, **_peek_code(data))
    code, crit = body["procedureCode"], body["criticality"]
    mname, content = body["value"]
    base = {"procedure_code": code, "triggering_message": kind, "procedure_criticality": crit}
    spec = _BY_KIND_CODE.get((kind, code))
    if spec is None or mname != spec.name:
        # §10.3.4.1 Procedure Code / §10.3.4.1A Type of Message not comprehended.
        raise DecodeError(PROTOCOL, _not_comprehended(crit),
                          f"procedure {code} ({kind}) not comprehended",
                          report=crit != "ignore", **base)
    return _decode_ies(spec, content["protocolIEs"], base)


def _decode_ies(spec: _MsgSpec, ies: list[dict[str, Any]], base: dict[str, Any]) -> Message:
    fields: dict[str, Any] = {}
    errors: list[tuple[int, str, str]] = []
    duplicated = False
    for ie in ies:
        ie_spec = spec.by_id.get(ie["id"])
        if ie_spec is None or ie["value"][0].startswith("_unk"):
            if ie["criticality"] != "ignore":
                errors.append((ie["id"], ie["criticality"], "not-understood"))
            continue
        if ie_spec.name in fields:
            duplicated = True  # §10.3.6: too many occurrences
            continue
        try:
            fields[ie_spec.name] = _to_py(ie_spec.asn, ie["value"][1])
        except (_Semantic, ValueError, KeyError, TypeError, IndexError) as exc:
            raise DecodeError(PROTOCOL, _SEMANTIC, f"{spec.name}.{ie_spec.name}: {exc}",
                              **base, **_ue_ids(fields)) from None
    base = {**base, **_ue_ids(fields)}
    missing = [i for i in spec.ies.values() if i.mandatory and i.name not in fields]
    # §10.3.5: a missing IE is reported unless its criticality is "ignore".
    errors += [(i.id, i.criticality, "missing") for i in missing if i.criticality != "ignore"]
    ignored = [(i.id, i.criticality, "missing") for i in missing if i.criticality == "ignore"]
    msg = Message(PROTOCOL, spec.name, spec.code, fields)
    if duplicated:
        raise DecodeError(PROTOCOL, _FALSELY, f"{spec.name}: IE repeated", ie_errors=errors,
                          report=True, **base)
    if any(c == "reject" for _, c, _ in errors):
        raise DecodeError(PROTOCOL, _REJECT, f"{spec.name}: {_describe(errors)}",
                          ie_errors=errors, report=True, **base)
    if errors:
        raise DecodeError(PROTOCOL, _NOTIFY, f"{spec.name}: {_describe(errors)}",
                          ie_errors=errors + ignored, report=True, message=msg, **base)
    if ignored:
        raise DecodeError(PROTOCOL, _NOTIFY, f"{spec.name}: {_describe(ignored)}",
                          ie_errors=ignored, report=False, message=msg, **base)
    return msg


def _describe(errors: list[tuple[int, str, str]]) -> str:
    return ", ".join(f"IE {i} ({c}) {t}" for i, c, t in errors)


def _ue_ids(fields: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    if isinstance(fields.get("MME-UE-S1AP-ID"), int):
        out["mme_ue_id"] = fields["MME-UE-S1AP-ID"]
    if isinstance(fields.get("eNB-UE-S1AP-ID"), int):
        out["enb_ue_id"] = fields["eNB-UE-S1AP-ID"]
    return out


class S1APCodec:
    """The S1AP `Codec` (corenet.codecs.base)."""

    protocol = PROTOCOL

    def encode(self, msg: Message) -> bytes:
        return encode(msg)

    def decode(self, data: bytes) -> Message:
        return decode(data)


# ---------------------------------------------------------------------------------------------
# Builders (TS 36.413 §9.1): keyword arguments named after the IEs
# ---------------------------------------------------------------------------------------------


def _message(name: str, **fields: Any) -> Message:
    spec = _BY_NAME[name]
    return Message(PROTOCOL, name, spec.code, {k: v for k, v in fields.items() if v is not None})


def _tai(plmn: Plmn | str, tac: int) -> dict[str, Any]:
    return {"pLMNidentity": str(plmn), "tAC": tac}  # §9.2.3.16


def _ecgi(plmn: Plmn | str, cell_id: int) -> dict[str, Any]:
    return {"pLMNidentity": str(plmn), "cell-ID": cell_id}  # §9.2.1.38, 28-bit cell identity


def s1_setup_request(
    global_enb_id: int,
    enb_name: str | None,
    plmn: Plmn,
    tacs: Sequence[int],
    paging_drx: str = "v64",
    broadcast_plmns: Sequence[Plmn] | None = None,
    enb_id_type: str = "macroENB-ID",
) -> Message:
    """S1 SETUP REQUEST (§9.1.8.4). global_enb_id is the eNB ID of `enb_id_type`
    (macroENB-ID 20 bits, homeENB-ID 28 bits, short-macroENB-ID 18, long-macroENB-ID 21);
    each TAC is broadcast for `broadcast_plmns` (default: `plmn`)."""
    plmns = [str(p) for p in (broadcast_plmns or [plmn])]
    return _message(
        "S1SetupRequest",
        **{
            "Global-ENB-ID": {"pLMNidentity": str(plmn), "eNB-ID": (enb_id_type, global_enb_id)},
            "eNBname": enb_name,
            "SupportedTAs": [{"tAC": t, "broadcastPLMNs": plmns} for t in tacs],
            "DefaultPagingDRX": paging_drx,
        },
    )


def s1_setup_response(
    mme_name: str | None,
    served_plmns: Sequence[Plmn],
    mme_group_id: int,
    mme_code: int,
    relative_capacity: int = 255,
) -> Message:
    """S1 SETUP RESPONSE (§9.1.8.5) with one Served GUMMEIs item (§9.2.3.9, §9.2.3.12)."""
    gummeis = [{
        "servedPLMNs": [str(p) for p in served_plmns],
        "servedGroupIDs": [mme_group_id],
        "servedMMECs": [mme_code],
    }]
    return _message(
        "S1SetupResponse",
        **{"MMEname": mme_name, "ServedGUMMEIs": gummeis, "RelativeMMECapacity": relative_capacity},
    )


def s1_setup_failure(cause: Cause, time_to_wait: str | None = None) -> Message:
    """S1 SETUP FAILURE (§9.1.8.6); time_to_wait is "v1s" .. "v60s" (§9.2.1.61)."""
    return _message("S1SetupFailure", Cause=cause, TimeToWait=time_to_wait)


def initial_ue_message(
    enb_ue_id: int,
    nas_pdu: bytes,
    tai_plmn: Plmn,
    tac: int,
    ecgi_plmn: Plmn,
    cell_id: int,
    rrc_establishment_cause: str = "mo-Signalling",
    s_tmsi: tuple[int, int] | None = None,
) -> Message:
    """INITIAL UE MESSAGE (§9.1.7.1); s_tmsi is (MMEC, M-TMSI) (§9.2.3.6)."""
    return _message(
        "InitialUEMessage",
        **{
            "eNB-UE-S1AP-ID": enb_ue_id,
            "NAS-PDU": nas_pdu,
            "TAI": _tai(tai_plmn, tac),
            "EUTRAN-CGI": _ecgi(ecgi_plmn, cell_id),
            "RRC-Establishment-Cause": rrc_establishment_cause,
            "S-TMSI": {"mMEC": s_tmsi[0], "m-TMSI": s_tmsi[1]} if s_tmsi else None,
        },
    )


def downlink_nas_transport(mme_ue_id: int, enb_ue_id: int, nas_pdu: bytes) -> Message:
    """DOWNLINK NAS TRANSPORT (§9.1.7.2)."""
    return _message(
        "DownlinkNASTransport",
        **{"MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id, "NAS-PDU": nas_pdu},
    )


def uplink_nas_transport(
    mme_ue_id: int,
    enb_ue_id: int,
    nas_pdu: bytes,
    tai_plmn: Plmn,
    tac: int,
    ecgi_plmn: Plmn,
    cell_id: int,
) -> Message:
    """UPLINK NAS TRANSPORT (§9.1.7.3)."""
    return _message(
        "UplinkNASTransport",
        **{
            "MME-UE-S1AP-ID": mme_ue_id,
            "eNB-UE-S1AP-ID": enb_ue_id,
            "NAS-PDU": nas_pdu,
            "EUTRAN-CGI": _ecgi(ecgi_plmn, cell_id),
            "TAI": _tai(tai_plmn, tac),
        },
    )


class CellMessages:
    """The INITIAL UE MESSAGEs (§9.1.7.1) and UPLINK NAS TRANSPORTs (§9.1.7.3) of one cell,
    encoded: each carries the cell's TAI and E-UTRAN CGI, so at the fast level these two IEs
    are coded once for the cell and only the S1AP IDs, the NAS-PDU and the RRC establishment
    cause per message. The octets are `encode`'s of the builders' messages (which the pycrate
    level, and any message the fast level declines, still encode)."""

    __slots__ = ("_cell", "_fixed", "_templates")

    def __init__(self, tai_plmn: Plmn, tac: int, ecgi_plmn: Plmn, cell_id: int) -> None:
        self._cell = (tai_plmn, tac, ecgi_plmn, cell_id)
        self._fixed = {"TAI": _tai(tai_plmn, tac), "EUTRAN-CGI": _ecgi(ecgi_plmn, cell_id)}
        self._templates: dict[str, Callable[[dict[str, Any]], bytes | None] | None] = {}

    def initial_ue_message(self, enb_ue_id: int, nas_pdu: bytes,
                           rrc_establishment_cause: str = "mo-Signalling",
                           s_tmsi: tuple[int, int] | None = None) -> bytes:
        fields: dict[str, Any] = {"eNB-UE-S1AP-ID": enb_ue_id, "NAS-PDU": nas_pdu,
                                  "RRC-Establishment-Cause": rrc_establishment_cause}
        if s_tmsi:
            fields["S-TMSI"] = {"mMEC": s_tmsi[0], "m-TMSI": s_tmsi[1]}
        return self._fast("InitialUEMessage", fields) or encode(initial_ue_message(
            enb_ue_id, nas_pdu, *self._cell, rrc_establishment_cause, s_tmsi))

    def uplink_nas_transport(self, mme_ue_id: int, enb_ue_id: int, nas_pdu: bytes) -> bytes:
        fields = {"MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id, "NAS-PDU": nas_pdu}
        return self._fast("UplinkNASTransport", fields) or encode(uplink_nas_transport(
            mme_ue_id, enb_ue_id, nas_pdu, *self._cell))

    def _fast(self, name: str, fields: dict[str, Any]) -> bytes | None:
        if not STATE.fast:
            return None
        try:
            encoder = self._templates[name]
        except KeyError:
            encoder = self._templates[name] = _fast.template(name, self._fixed)
        return None if encoder is None else encoder(fields)


class EnbMessages:
    """The INITIAL CONTEXT SETUP RESPONSEs (§9.1.4.3) and UE CAPABILITY INFO INDICATIONs
    (§9.1.10) of an eNB, encoded. Each is the same message from UE to UE but for its S1AP IDs
    (§9.2.3.3-4) and the eNB GTP-TEIDs of its E-RABs (§9.2.2.2), so at the fast level each
    shape (the E-RAB IDs and S1-U addresses, the UE Radio Capability, the number of octets of
    each S1AP ID) is encoded in full once and further messages of that shape are its octets
    with those values written over (a bounded few shapes). The octets are `encode`'s of the
    builders' messages (which the pycrate level, and any value the fast level declines, still
    encode)."""

    __slots__ = ("_responses", "_indications")
    _SHAPES_KEPT = 16

    def __init__(self) -> None:
        self._responses: dict[Any, _Slots] = {}
        self._indications: dict[Any, _Slots] = {}

    def initial_context_setup_response(self, mme_ue_id: int, enb_ue_id: int,
                                       e_rabs: Sequence[tuple[int, str | bytes, int]]) -> bytes:
        """`initial_context_setup_response`'s message (no failed E-RABs), encoded."""
        mme_size, enb_size = _id_size(mme_ue_id, _MME_ID_OCTETS), _id_size(enb_ue_id, _ENB_ID_OCTETS)
        if STATE.fast and mme_size and enb_size:
            teids = [t for _, _, t in e_rabs]
            key = (mme_size, enb_size, *[(i, type(i), a) for i, a, _ in e_rabs])
            try:
                slots = self._responses.get(key)
            except TypeError:  # an unhashable address: the builder's message judges it
                return encode(initial_context_setup_response(mme_ue_id, enb_ue_id, e_rabs))
            if slots is None:
                slots = _Slots.made(lambda v: encode(initial_context_setup_response(
                    v[0], v[1], [(i, a, v[2 + n]) for n, (i, a, _) in enumerate(e_rabs)])),
                    [mme_ue_id, enb_ue_id, *teids], [mme_size, enb_size, *[4] * len(teids)])
                if slots is not None:
                    _bounded(self._responses, self._SHAPES_KEPT)[key] = slots
            data = None if slots is None else slots.write((mme_ue_id, enb_ue_id, *teids))
            if data is not None:
                return data
        return encode(initial_context_setup_response(mme_ue_id, enb_ue_id, e_rabs))

    def ue_capability_info_indication(self, mme_ue_id: int, enb_ue_id: int,
                                      ue_radio_capability: bytes) -> bytes:
        """`ue_capability_info_indication`'s message, encoded."""
        mme_size, enb_size = _id_size(mme_ue_id, _MME_ID_OCTETS), _id_size(enb_ue_id, _ENB_ID_OCTETS)
        if STATE.fast and mme_size and enb_size and type(ue_radio_capability) is bytes:
            key = (mme_size, enb_size, ue_radio_capability)
            slots = self._indications.get(key)
            if slots is None:
                slots = _Slots.made(lambda v: encode(ue_capability_info_indication(
                    v[0], v[1], ue_radio_capability)), [mme_ue_id, enb_ue_id], [mme_size, enb_size])
                if slots is not None:
                    _bounded(self._indications, self._SHAPES_KEPT)[key] = slots
            data = None if slots is None else slots.write((mme_ue_id, enb_ue_id))
            if data is not None:
                return data
        return encode(ue_capability_info_indication(mme_ue_id, enb_ue_id, ue_radio_capability))


# §9.2.3.3 MME UE S1AP ID INTEGER (0..2^32-1), §9.2.3.4 eNB UE S1AP ID INTEGER (0..2^24-1):
# X.691 §10.5.7.4, the octets of the value after a length of 1..4 / 1..3 octets
_MME_ID_OCTETS, _ENB_ID_OCTETS = 4, 3


def _id_size(value: Any, most: int) -> int:
    """How many octets ALIGNED PER gives the S1AP ID `value` (X.691 §10.5.7.4, at least one),
    0 when it is not an int of at most `most` octets."""
    if type(value) is not int or value < 0:
        return 0
    size = (value.bit_length() + 7) >> 3 or 1
    return size if size <= most else 0


def _bounded(kept: dict[Any, Any], most: int) -> dict[Any, Any]:
    """`kept`, emptied when it holds `most` entries."""
    if len(kept) >= most:
        kept.clear()
    return kept


class _Slots:
    """The octets of one message with places ("slots") for unsigned ints of fixed octet
    counts, found by encoding the message again with each slot's value changed alone: the
    octets that differ (all of the slot's, one run, and no other) are its place."""

    __slots__ = ("_whole", "_places")

    def __init__(self, whole: bytes, places: tuple[tuple[int, int], ...]) -> None:
        self._whole = whole
        self._places = places  # (offset, octets) of each slot, in order, apart

    @classmethod
    def made(cls, encoded: Callable[[list[int]], bytes], values: list[int],
             sizes: list[int]) -> _Slots | None:
        """The slots of `encoded(values)` for the values of `sizes` octets each, or None
        when the encoding does not hold them as such (or raises: the builder judges)."""
        if any(type(v) is not int for v in values):
            return None
        try:
            whole = encoded(values)
            places = []
            for n, size in enumerate(sizes):
                other = list(values)
                # every octet changed, none made zero: the same number of octets
                other[n] = int.from_bytes(bytes(o % 255 + 1 for o in
                                                values[n].to_bytes(size, "big")), "big")
                changed = encoded(other)
                if len(changed) != len(whole):
                    return None
                diff = [i for i in range(len(whole)) if whole[i] != changed[i]]
                if len(diff) != size or diff[-1] - diff[0] != size - 1:
                    return None
                places.append(diff[0])
        except (EncodeError, ValueError, TypeError, OverflowError):
            return None
        at = 0  # the slots in the order of the values, apart
        for place, size in zip(places, sizes, strict=True):
            if place < at:
                return None
            at = place + size
        return cls(whole, tuple(zip(places, sizes, strict=True)))

    def write(self, values: Sequence[int]) -> bytes | None:
        """The message with `values` in its slots, or None when one is not an int of its
        slot's octet count."""
        buf = bytearray(self._whole)
        try:
            for (place, size), value in zip(self._places, values, strict=True):
                if type(value) is not int:
                    return None
                buf[place:place + size] = value.to_bytes(size, "big")
        except OverflowError:
            return None  # negative, or more octets than the shape's
        return bytes(buf)


@dataclass(frozen=True)
class ERabToBeSetup:
    """One E-RAB To Be Setup Item (§9.1.4.1): QoS per §9.2.1.15, ARP per §9.2.1.60.

    transport_layer_address: the S-GW S1-U address, IP text or raw bytes (§9.2.2.1).
    """

    e_rab_id: int
    qci: int
    priority_level: int
    transport_layer_address: str | bytes
    gtp_teid: int
    nas_pdu: bytes | None = None
    pre_emption_capability: str = "shall-not-trigger-pre-emption"
    pre_emption_vulnerability: str = "not-pre-emptable"
    # §9.2.1.18 GBR QoS Information of a GBR bearer: (MBR DL, MBR UL, GBR DL, GBR UL), bit/s
    gbr: tuple[int, int, int, int] | None = None

    def to_field(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "e-RAB-ID": self.e_rab_id,
            "e-RABlevelQoSParameters": {
                "qCI": self.qci,
                "allocationRetentionPriority": {
                    "priorityLevel": self.priority_level,
                    "pre-emptionCapability": self.pre_emption_capability,
                    "pre-emptionVulnerability": self.pre_emption_vulnerability,
                },
            },
            "transportLayerAddress": self.transport_layer_address,
            "gTP-TEID": self.gtp_teid,
        }
        if self.gbr is not None:
            item["e-RABlevelQoSParameters"]["gbrQosInformation"] = dict(zip(
                ("e-RAB-MaximumBitrateDL", "e-RAB-MaximumBitrateUL",
                 "e-RAB-GuaranteedBitrateDL", "e-RAB-GuaranteedBitrateUL"), self.gbr,
                strict=True))
        if self.nas_pdu is not None:
            item["nAS-PDU"] = self.nas_pdu
        return item


def initial_context_setup_request(
    mme_ue_id: int,
    enb_ue_id: int,
    ue_ambr_dl: int,
    ue_ambr_ul: int,
    e_rabs: Sequence[ERabToBeSetup],
    encryption_algorithms: int,
    integrity_protection_algorithms: int,
    security_key: bytes,
    handover_restriction_list: dict[str, Any] | None = None,
    ue_radio_capability: bytes | None = None,
) -> Message:
    """INITIAL CONTEXT SETUP REQUEST (§9.1.4.1).

    ue_ambr_*: bit/s (§9.2.1.20). The algorithm sets are the 16-bit maps of §9.2.1.40
    (most significant bit = 128-EEA1 / 128-EIA1). security_key: KeNB, 32 octets (§9.2.1.41).
    handover_restriction_list: a value of `handover_restriction_list` (§9.2.1.22);
    ue_radio_capability: the octets the eNB reported in UE CAPABILITY INFO INDICATION
    (§9.2.1.27), given back on the next Initial Context Setup.
    """
    return _message(
        "InitialContextSetupRequest",
        **{
            "MME-UE-S1AP-ID": mme_ue_id,
            "eNB-UE-S1AP-ID": enb_ue_id,
            "uEaggregateMaximumBitrate": {
                "uEaggregateMaximumBitRateDL": ue_ambr_dl,
                "uEaggregateMaximumBitRateUL": ue_ambr_ul,
            },
            "E-RABToBeSetupListCtxtSUReq": [e.to_field() for e in e_rabs],
            "UESecurityCapabilities": {
                "encryptionAlgorithms": encryption_algorithms,
                "integrityProtectionAlgorithms": integrity_protection_algorithms,
            },
            "SecurityKey": security_key,
            "HandoverRestrictionList": handover_restriction_list,
            "UERadioCapability": ue_radio_capability,
        },
    )


class MmeMessages:
    """The DOWNLINK NAS TRANSPORTs (§9.1.7.2) and INITIAL CONTEXT SETUP REQUESTs (§9.1.4.1) of
    an MME, encoded. The UE-AMBR (§9.2.1.20), UE Security Capabilities (§9.2.1.40) and
    Handover Restriction List (§9.2.1.22) of a context setup are those of many UEs (a
    subscription's AMBR, a UE kind's algorithms, the serving PLMN's list), so at the fast level
    the three IEs are coded once per distinct triple (a bounded few) and only the S1AP IDs, the
    E-RABs, the KeNB and the UE Radio Capability per message. The octets are `encode`'s of the
    builders' messages (which the pycrate level, and any message the fast level declines,
    still encode)."""

    __slots__ = ("_downlink", "_setups")
    _SETUPS_KEPT = 16

    def __init__(self) -> None:
        self._downlink: Callable[[dict[str, Any]], bytes | None] | None | bool = False
        self._setups: dict[Any, Callable[[dict[str, Any]], bytes | None] | None] = {}

    def downlink_nas_transport(self, mme_ue_id: int, enb_ue_id: int, nas_pdu: bytes) -> bytes:
        if STATE.fast:
            coder = self._downlink
            if coder is False:
                coder = self._downlink = _fast.template("DownlinkNASTransport", {})
            if callable(coder):
                data = coder({"MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id,
                              "NAS-PDU": nas_pdu})
                if data is not None:
                    return data
        return encode(downlink_nas_transport(mme_ue_id, enb_ue_id, nas_pdu))

    def initial_context_setup_request(
        self, mme_ue_id: int, enb_ue_id: int, ue_ambr_dl: int, ue_ambr_ul: int,
        e_rabs: Sequence[ERabToBeSetup], encryption_algorithms: int,
        integrity_protection_algorithms: int, security_key: bytes,
        handover_restriction_list: dict[str, Any] | None = None,
        ue_radio_capability: bytes | None = None,
    ) -> bytes:
        """`initial_context_setup_request`'s message, encoded."""
        if STATE.fast:
            coder = self._setup_coder(ue_ambr_dl, ue_ambr_ul, encryption_algorithms,
                                      integrity_protection_algorithms, handover_restriction_list)
            if coder is not None:
                fields: dict[str, Any] = {
                    "MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id,
                    "E-RABToBeSetupListCtxtSUReq": [e.to_field() for e in e_rabs],
                    "SecurityKey": security_key}
                if ue_radio_capability is not None:
                    fields["UERadioCapability"] = ue_radio_capability
                data = coder(fields)
                if data is not None:
                    return data
        return encode(initial_context_setup_request(
            mme_ue_id, enb_ue_id, ue_ambr_dl, ue_ambr_ul, e_rabs, encryption_algorithms,
            integrity_protection_algorithms, security_key, handover_restriction_list,
            ue_radio_capability))

    def _setup_coder(self, ambr_dl: int, ambr_ul: int, encryption: int, integrity: int,
                     hrl: dict[str, Any] | None) -> Callable[[dict[str, Any]], bytes | None] | None:
        """The template of the context setups with these shared IEs; None: no fast coding."""
        if not type(ambr_dl) is type(ambr_ul) is type(encryption) is type(integrity) is int:
            return None  # a value of another form: the builder's message judges it
        try:
            key = (ambr_dl, ambr_ul, encryption, integrity, _frozen(hrl))
        except TypeError:
            return None
        try:
            return self._setups[key]
        except KeyError:
            pass
        fixed: dict[str, Any] = {
            "uEaggregateMaximumBitrate": {"uEaggregateMaximumBitRateDL": ambr_dl,
                                          "uEaggregateMaximumBitRateUL": ambr_ul},
            "UESecurityCapabilities": {"encryptionAlgorithms": encryption,
                                       "integrityProtectionAlgorithms": integrity}}
        if hrl is not None:
            fixed["HandoverRestrictionList"] = hrl
        if len(self._setups) >= self._SETUPS_KEPT:
            self._setups.clear()
        coder = self._setups[key] = _fast.template("InitialContextSetupRequest", fixed)
        return coder


def _frozen(value: Any) -> Any:
    """A hashable image of a value made of dicts, lists, str, bytes and int (each scalar with
    its type, so 1 and True differ); TypeError for any other form."""
    t = type(value)
    if t is dict:
        return (dict, *[(k, _frozen(v)) for k, v in value.items()])
    if t is list:
        return (list, *[_frozen(v) for v in value])
    if t is int or t is str or t is bytes or value is None:
        return (t, value)
    raise TypeError(t)


def handover_restriction_list(
    serving_plmn: Plmn | str,
    equivalent_plmns: Sequence[Plmn | str] = (),
    forbidden_tacs: Sequence[tuple[Plmn | str, Sequence[int]]] = (),
    forbidden_inter_rats: str | None = None,
) -> dict[str, Any]:
    """Handover Restriction List (§9.2.1.22): the serving PLMN, up to 15 equivalent PLMNs,
    forbidden TAs per PLMN, and the forbidden inter-RATs ("all", "geran", "utran",
    "cdma2000", "geranandutran", "cdma2000andutran")."""
    hrl: dict[str, Any] = {"servingPLMN": str(serving_plmn)}
    if equivalent_plmns:
        hrl["equivalentPLMNs"] = [str(p) for p in equivalent_plmns]
    if forbidden_tacs:
        hrl["forbiddenTAs"] = [{"pLMN-Identity": str(p), "forbiddenTACs": list(tacs)}
                               for p, tacs in forbidden_tacs]
    if forbidden_inter_rats is not None:
        hrl["forbiddenInterRATs"] = forbidden_inter_rats
    return hrl


def ue_capability_info_indication(mme_ue_id: int, enb_ue_id: int,
                                  ue_radio_capability: bytes) -> Message:
    """UE CAPABILITY INFO INDICATION (§9.1.10): the UE Radio Capability (§9.2.1.27) the eNB
    learnt from the UE (TS 36.331 UERadioAccessCapabilityInformation)."""
    return _message(
        "UECapabilityInfoIndication",
        **{"MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id,
           "UERadioCapability": ue_radio_capability},
    )


def initial_context_setup_response(
    mme_ue_id: int,
    enb_ue_id: int,
    e_rabs: Sequence[tuple[int, str | bytes, int]],
    failed: Sequence[tuple[int, Cause]] | None = None,
) -> Message:
    """INITIAL CONTEXT SETUP RESPONSE (§9.1.4.3): e_rabs are (E-RAB ID, eNB S1-U address,
    eNB GTP-TEID); failed are (E-RAB ID, Cause) (§9.2.1.36)."""
    return _message(
        "InitialContextSetupResponse",
        **{
            "MME-UE-S1AP-ID": mme_ue_id,
            "eNB-UE-S1AP-ID": enb_ue_id,
            "E-RABSetupListCtxtSURes": [
                {"e-RAB-ID": i, "transportLayerAddress": a, "gTP-TEID": t} for i, a, t in e_rabs
            ],
            "E-RABFailedToSetupListCtxtSURes": (
                [{"e-RAB-ID": i, "cause": c} for i, c in failed] if failed else None
            ),
        },
    )


def e_rab_setup_request(mme_ue_id: int, enb_ue_id: int, e_rabs: Sequence[ERabToBeSetup],
                        ue_ambr: tuple[int, int] | None = None) -> Message:
    """E-RAB SETUP REQUEST (§9.1.3.1): ue_ambr is (DL, UL) in bit/s when it changes."""
    ambr = None if ue_ambr is None else {"uEaggregateMaximumBitRateDL": ue_ambr[0],
                                         "uEaggregateMaximumBitRateUL": ue_ambr[1]}
    return _message("E-RABSetupRequest", **{
        "MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id,
        "uEaggregateMaximumBitrate": ambr,
        "E-RABToBeSetupListBearerSUReq": [e.to_field() for e in e_rabs]})


def e_rab_setup_response(mme_ue_id: int, enb_ue_id: int,
                         e_rabs: Sequence[tuple[int, str | bytes, int]],
                         failed: Sequence[tuple[int, Cause]] | None = None) -> Message:
    """E-RAB SETUP RESPONSE (§9.1.3.2), items as in `initial_context_setup_response`."""
    return _message("E-RABSetupResponse", **{
        "MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id,
        "E-RABSetupListBearerSURes": [
            {"e-RAB-ID": i, "transportLayerAddress": a, "gTP-TEID": t} for i, a, t in e_rabs
        ] or None,
        "E-RABFailedToSetupListBearerSURes": (
            [{"e-RAB-ID": i, "cause": c} for i, c in failed] if failed else None)})


def e_rab_release_command(mme_ue_id: int, enb_ue_id: int, e_rabs: Sequence[tuple[int, Cause]],
                          nas_pdu: bytes | None = None) -> Message:
    """E-RAB RELEASE COMMAND (§9.1.3.5): (E-RAB ID, Cause) items and the NAS PDU."""
    return _message("E-RABReleaseCommand", **{
        "MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id,
        "E-RABToBeReleasedList": [{"e-RAB-ID": i, "cause": c} for i, c in e_rabs],
        "NAS-PDU": nas_pdu})


def e_rab_release_response(mme_ue_id: int, enb_ue_id: int, released: Sequence[int]) -> Message:
    """E-RAB RELEASE RESPONSE (§9.1.3.6)."""
    return _message("E-RABReleaseResponse", **{
        "MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id,
        "E-RABReleaseListBearerRelComp": [{"e-RAB-ID": i} for i in released] or None})


def initial_context_setup_failure(mme_ue_id: int, enb_ue_id: int, cause: Cause) -> Message:
    """INITIAL CONTEXT SETUP FAILURE (§9.1.4.4)."""
    return _message(
        "InitialContextSetupFailure",
        **{"MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id, "Cause": cause},
    )


def ue_context_release_request(mme_ue_id: int, enb_ue_id: int, cause: Cause) -> Message:
    """UE CONTEXT RELEASE REQUEST (§9.1.4.5)."""
    return _message(
        "UEContextReleaseRequest",
        **{"MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id, "Cause": cause},
    )


def ue_context_release_command(mme_ue_id: int, enb_ue_id: int | None, cause: Cause) -> Message:
    """UE CONTEXT RELEASE COMMAND (§9.1.4.6): UE S1AP IDs is the pair, or the MME ID alone
    when the eNB ID is unknown."""
    ids: tuple[str, Any] = (
        ("mME-UE-S1AP-ID", mme_ue_id)
        if enb_ue_id is None
        else ("uE-S1AP-ID-pair", {"mME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id})
    )
    return _message("UEContextReleaseCommand", **{"UE-S1AP-IDs": ids, "Cause": cause})


def ue_context_release_complete(mme_ue_id: int, enb_ue_id: int) -> Message:
    """UE CONTEXT RELEASE COMPLETE (§9.1.4.7)."""
    return _message(
        "UEContextReleaseComplete", **{"MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id}
    )


def error_indication(
    cause: Cause | None,
    mme_ue_id: int | None = None,
    enb_ue_id: int | None = None,
    criticality_diagnostics: dict[str, Any] | None = None,
) -> Message:
    """ERROR INDICATION (§9.1.8.7); criticality_diagnostics per §9.2.1.21."""
    return _message(
        "ErrorIndication",
        **{
            "MME-UE-S1AP-ID": mme_ue_id,
            "eNB-UE-S1AP-ID": enb_ue_id,
            "Cause": cause,
            "CriticalityDiagnostics": criticality_diagnostics,
        },
    )


# §9.2.1.21 TriggeringMessage values, by PDU kind (the ASN.1 of TS 36.413 §9.3.4 spells the
# third one "unsuccessfull-outcome").
_TRIGGERING = {
    "initiatingMessage": "initiating-message",
    "successfulOutcome": "successful-outcome",
    "unsuccessfulOutcome": "unsuccessfull-outcome",
}


def criticality_diagnostics(err: DecodeError) -> dict[str, Any]:
    """Criticality Diagnostics (§9.2.1.21) describing a DecodeError raised by `decode`."""
    return diagnostics_of(err, _TRIGGERING, "iEsCriticalityDiagnostics")


def diagnostics_of(err: DecodeError, triggering: dict[str, str], ie_list: str) -> dict[str, Any]:
    """The Criticality Diagnostics value of a protocol whose decoder fills DecodeError.extra as
    `decode` does; `triggering` maps PDU kinds to TriggeringMessage values, `ie_list` names
    the list of IE errors (S1AP and SBc-AP spell both differently)."""
    x = err.extra
    cd: dict[str, Any] = {}
    if "procedure_code" in x:
        cd["procedureCode"] = x["procedure_code"]
    if "triggering_message" in x:
        cd["triggeringMessage"] = triggering[x["triggering_message"]]
    if "procedure_criticality" in x:
        cd["procedureCriticality"] = x["procedure_criticality"]
    if x.get("ie_errors"):
        cd[ie_list] = [
            {"iECriticality": c, "iE-ID": i, "typeOfError": t} for i, c, t in x["ie_errors"]
        ]
    return cd


def error_indication_for(err: DecodeError) -> Message:
    """The ERROR INDICATION answering a DecodeError from `decode` (§10.2, §10.3)."""
    cd = criticality_diagnostics(err)
    return error_indication(
        tuple(err.cause), err.extra.get("mme_ue_id"), err.extra.get("enb_ue_id"), cd or None
    )


def _connections(pairs: Sequence[tuple[int | None, int | None]]) -> list[dict[str, Any]]:
    # §9.1.8.1 UE-associated logical S1-connection Item: either ID may be absent.
    out = []
    for mme, enb in pairs:
        item = {"mME-UE-S1AP-ID": mme, "eNB-UE-S1AP-ID": enb}
        out.append({k: v for k, v in item.items() if v is not None})
    return out


def reset(
    cause: Cause, connections: Sequence[tuple[int | None, int | None]] | None = None
) -> Message:
    """RESET (§9.1.8.1): the whole S1 interface when `connections` is None, else the listed
    (MME UE S1AP ID, eNB UE S1AP ID) pairs."""
    rtype: tuple[str, Any] = (
        ("s1-Interface", "reset-all")
        if connections is None
        else ("partOfS1-Interface", _connections(connections))
    )
    return _message("Reset", Cause=cause, ResetType=rtype)


def reset_acknowledge(
    connections: Sequence[tuple[int | None, int | None]] | None = None,
) -> Message:
    """RESET ACKNOWLEDGE (§9.1.8.2): echoes the connections of a partial reset."""
    return _message(
        "ResetAcknowledge",
        **{
            "UE-associatedLogicalS1-ConnectionListResAck": (
                _connections(connections) if connections else None
            ),
        },
    )


def write_replace_warning_request(
    message_identifier: int,
    serial_number: int,
    repetition_period: int,
    number_of_broadcasts_requested: int,
    warning_type: bytes | None = None,
    warning_message_contents: bytes | None = None,
    data_coding_scheme: int | None = None,
    warning_area_cells: Sequence[tuple[Plmn, int]] | None = None,
    warning_area_tais: Sequence[tuple[Plmn, int]] | None = None,
) -> Message:
    """WRITE-REPLACE WARNING REQUEST (§9.1.13.1).

    Message Identifier / Serial Number: TS 23.041 §9.4.1.2 (see corenet.codecs.cbs).
    repetition_period in seconds (§9.2.1.48); warning_type: 2 octets (TS 23.041 §9.3.24);
    warning_message_contents: CB data (TS 23.041 §9.4.2.2.5); data_coding_scheme: TS 23.038 §5.
    The Warning Area List (§9.2.1.46) holds either (PLMN, cell id) ECGIs or (PLMN, TAC) TAIs.
    """
    area: tuple[str, Any] | None = None
    if warning_area_cells is not None:
        area = ("cellIDList", [_ecgi(p, c) for p, c in warning_area_cells])
    elif warning_area_tais is not None:
        area = ("trackingAreaListforWarning", [_tai(p, t) for p, t in warning_area_tais])
    return _message(
        "WriteReplaceWarningRequest",
        **{
            "MessageIdentifier": message_identifier,
            "SerialNumber": serial_number,
            "WarningAreaList": area,
            "RepetitionPeriod": repetition_period,
            "NumberofBroadcastRequest": number_of_broadcasts_requested,
            "WarningType": warning_type,
            "DataCodingScheme": data_coding_scheme,
            "WarningMessageContents": warning_message_contents,
        },
    )


def write_replace_warning_response(
    message_identifier: int,
    serial_number: int,
    broadcast_completed_cells: Sequence[tuple[Plmn, int]] | None = None,
) -> Message:
    """WRITE-REPLACE WARNING RESPONSE (§9.1.13.2); cells where the broadcast is done
    (Broadcast Completed Area List, §9.2.1.54)."""
    area = (
        ("cellID-Broadcast", [{"eCGI": _ecgi(p, c)} for p, c in broadcast_completed_cells])
        if broadcast_completed_cells
        else None
    )
    return _message(
        "WriteReplaceWarningResponse",
        **{
            "MessageIdentifier": message_identifier,
            "SerialNumber": serial_number,
            "BroadcastCompletedAreaList": area,
        },
    )
