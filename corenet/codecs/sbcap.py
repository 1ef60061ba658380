"""SBc-AP codec (TS 29.168, the CBC-MME interface) over pycrate's APER runtime.

pycrate ships no SBc-AP module: corenet/codecs/asn1/sbcap/*.asn hold the E-UTRAN ASN.1 of
TS 29.168 §4.4 and scripts/compile_sbcap_asn1.py compiles them into corenet/codecs/sbcap_asn.py.

A `Message` carries, as the S1AP codec does (corenet.codecs.s1ap):

* `name`  - the ASN.1 message type (TS 29.168 §4.4.4), e.g. "Write-Replace-Warning-Request";
* `code`  - the procedureCode (TS 29.168 §4.4.7);
* `fields` - IE values keyed by the ProtocolIE-ID name without its "id-" prefix, e.g.
  "Message-Identifier", "Serial-Number", "Warning-Area-List".

Values follow the S1AP codec's mapping: Message-Identifier, Serial-Number, Data-Coding-Scheme
(fixed-size BIT STRINGs) -> int; PLMNidentity -> "44020"; TAC -> int; Cause -> int (`CAUSES`).

SBc-AP has no unsuccessful outcome for its two class 1 procedures; a message the MME cannot
accept is answered with the response carrying a Cause, and bytes it cannot decode with an
Error Indication. The causes are those of the Cause IE (TS 29.168 §4.4.5), assigned as
TS 36.413 §10 assigns them: transfer syntax (§10.2), abstract syntax (§10.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)

# isort: split
from corenet.codecs import sbcap_asn as _SBCAP
from corenet.codecs.base import Message
from corenet.codecs.s1ap import (
    _class_set,
    _IESpec,
    _MsgSpec,
    _peek_code,
    _to_py,
    _type_name,
    aper_value,
    diagnostics_of,
    encode_ies,
)
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn

PROTOCOL = "sbcap"
PPID = 24  # TS 29.168 §4.1.3: SCTP payload protocol identifier
PORT = 29168  # TS 29.168 §4.1.3: registered SCTP port

_PDU = _SBCAP.SBC_AP_PDU_Descriptions.SBC_AP_PDU
_MOD = _SBCAP.GLOBAL.MOD

# TS 29.168 §4.4.5 Cause values.
CAUSES: dict[str, int] = dict(_MOD["SBC-AP-IEs"]["Cause"]._cont)
CAUSE_NAMES: dict[int, str] = {v: k for k, v in CAUSES.items()}
MESSAGE_ACCEPTED = CAUSES["message-accepted"]

_KINDS = {
    "InitiatingMessage": "initiatingMessage",
    "SuccessfulOutcome": "successfulOutcome",
    "UnsuccessfulOutcome": "unsuccessfulOutcome",
}
# TS 29.168 §4.4.6 TriggeringMessage, by PDU kind.
_TRIGGERING = {
    "initiatingMessage": "initiating-message",
    "successfulOutcome": "successful-outcome",
    "unsuccessfulOutcome": "unsuccessful-outcome",
}
# Constants of §4.4.7 that are procedure codes; the other "id-" constants are IE ids.
_PROCEDURE_IDS = {
    "id-Write-Replace-Warning", "id-Stop-Warning", "id-Error-Indication",
    "id-Write-Replace-Warning-Indication", "id-Stop-Warning-Indication",
    "id-PWS-Restart-Indication", "id-PWS-Failure-Indication",
}


def _build_tables() -> tuple[dict[str, _MsgSpec], dict[tuple[str, int], _MsgSpec]]:
    ie_names = {
        o._val: o._name[3:]
        for o in _SBCAP.SBC_AP_Constants._all_
        if o._name.startswith("id-") and o._name not in _PROCEDURE_IDS
    }
    by_name: dict[str, _MsgSpec] = {}
    for ep in _class_set(_SBCAP.SBC_AP_PDU_Descriptions.SBC_AP_ELEMENTARY_PROCEDURES):
        for field_, kind in _KINDS.items():
            if field_ not in ep:
                continue
            name = _type_name(ep[field_])
            assert name is not None  # every SBc-AP message is a named type (§4.4.4)
            value = _MOD["SBC-AP-PDU-Contents"][name]._cont["protocolIEs"]._cont._cont["value"]
            ies = [
                _IESpec(e["id"], ie_names[e["id"]], e["criticality"], e["presence"] == "mandatory",
                        e["Value"], _type_name(e["Value"]) or "")
                for e in _class_set(value._const_tab)
            ]
            by_name[name] = _MsgSpec(name, ep["procedureCode"], kind, ep["criticality"],
                                     {i.name: i for i in ies}, {i.id: i for i in ies})
    return by_name, {(s.kind, s.code): s for s in by_name.values()}


_BY_NAME, _BY_KIND_CODE = _build_tables()
PROCEDURE_CODES: dict[str, int] = {n: s.code for n, s in _BY_NAME.items()}


def encode(msg: Message) -> bytes:
    """APER-encode `msg` (TS 29.168 §4.4, X.691 aligned). Raises EncodeError on a bad message."""
    return encode_ies(_PDU, _BY_NAME, msg, "SBc-AP")


def decode(data: bytes) -> Message:
    """Decode one SBC-AP-PDU; raises only DecodeError, whose cause is a `CAUSES` name.

    DecodeError.extra carries, when known, "procedure_code", "triggering_message",
    "procedure_criticality", "ie_errors" (list of (IE id, criticality, "not-understood" |
    "missing")), "message_identifier" / "serial_number" (to answer a request with its
    response), and "report": False when the criticality says to ignore silently.
    """
    try:
        kind, body = aper_value(_PDU, data, "SBC-AP-PDU")
    except ValueError as exc:
        raise DecodeError(PROTOCOL, "transfer-syntax-error", str(exc), report=True,
                          **_peek_code(data)) from None
    if kind not in _TRIGGERING:
        raise DecodeError(PROTOCOL, "abstract-syntax-error-reject",
                          f"SBC-AP-PDU alternative {kind} not comprehended", report=True,
                          **_peek_code(data))
    code, crit = body["procedureCode"], body["criticality"]
    mname, content = body["value"]
    base = {"procedure_code": code, "triggering_message": kind, "procedure_criticality": crit}
    spec = _BY_KIND_CODE.get((kind, code))
    if spec is None or mname != spec.name:
        # TS 36.413 §10.3.4.1: a procedure code not comprehended.
        cause = "abstract-syntax-error-reject" if crit == "reject" else (
            "abstract-syntax-error-ignore-and-notify")
        raise DecodeError(PROTOCOL, cause, f"procedure {code} ({kind}) not comprehended",
                          report=crit != "ignore", **base)
    return _decode_ies(spec, content["protocolIEs"], base)


def _decode_ies(spec: _MsgSpec, ies: list[dict[str, Any]], base: dict[str, Any]) -> Message:
    fields: dict[str, Any] = {}
    errors: list[tuple[int, str, str]] = []
    for ie in ies:
        ie_spec = spec.by_id.get(ie["id"])
        if ie_spec is None or ie["value"][0].startswith("_unk"):
            if ie["criticality"] != "ignore":  # TS 36.413 §10.3.4.2
                errors.append((ie["id"], ie["criticality"], "not-understood"))
            continue
        if ie_spec.name in fields:  # TS 36.413 §10.3.6: too many occurrences
            raise DecodeError(PROTOCOL, "abstract-syntax-error-falsely-constructed-message",
                              f"{spec.name}: IE {ie_spec.name} repeated", report=True,
                              **base, **_ids(fields))
        try:
            fields[ie_spec.name] = _to_py(ie_spec.asn, ie["value"][1])
        except Exception as exc:  # e.g. a PLMN with non-BCD digits
            raise DecodeError(PROTOCOL, "semantic-error", f"{spec.name}.{ie_spec.name}: {exc}",
                              report=True, **base, **_ids(fields)) from None
    # TS 36.413 §10.3.5: a missing mandatory IE is reported unless its criticality is ignore.
    errors += [(i.id, i.criticality, "missing") for i in spec.ies.values()
               if i.mandatory and i.name not in fields and i.criticality != "ignore"]
    if errors:
        reject = any(c == "reject" for _, c, _ in errors)
        cause = "abstract-syntax-error-reject" if reject else (
            "abstract-syntax-error-ignore-and-notify")
        detail = ", ".join(f"IE {i} ({c}) {t}" for i, c, t in errors)
        raise DecodeError(PROTOCOL, cause, f"{spec.name}: {detail}", ie_errors=errors,
                          report=True, **base, **_ids(fields))
    return Message(PROTOCOL, spec.name, spec.code, fields)


def _ids(fields: dict[str, Any]) -> dict[str, int]:
    return {k: fields[n] for k, n in (("message_identifier", "Message-Identifier"),
                                      ("serial_number", "Serial-Number")) if n in fields}


class SBcAPCodec:
    """The SBc-AP `Codec` (corenet.codecs.base)."""

    protocol = PROTOCOL

    def encode(self, msg: Message) -> bytes:
        return encode(msg)

    def decode(self, data: bytes) -> Message:
        return decode(data)


# ---------------------------------------------------------------------------------------------
# Builders: keyword arguments named after the IEs (TS 29.168 §4.4.4)
# ---------------------------------------------------------------------------------------------

Tai = tuple[Plmn | str, int]
Ecgi = tuple[Plmn | str, int]


def _message(name: str, **fields: Any) -> Message:
    return Message(PROTOCOL, name, _BY_NAME[name].code,
                   {k: v for k, v in fields.items() if v is not None})


def tai(plmn: Plmn | str, tac: int) -> dict[str, Any]:
    """TAI (TS 29.168 §4.4.5)."""
    return {"pLMNidentity": str(plmn), "tAC": tac}


def ecgi(plmn: Plmn | str, cell_id: int) -> dict[str, Any]:
    """EUTRAN-CGI (TS 29.168 §4.4.5), 28-bit cell identity."""
    return {"pLMNidentity": str(plmn), "cell-ID": cell_id}


def global_enb_id(plmn: Plmn | str, enb_id: int) -> dict[str, Any]:
    """Global-ENB-ID with a macro eNB ID (20 bits)."""
    return {"pLMNidentity": str(plmn), "eNB-ID": ("macroENB-ID", enb_id)}


def warning_area(
    tais: Sequence[Tai] | None = None,
    cells: Sequence[Ecgi] | None = None,
    emergency_area_ids: Sequence[int] | None = None,
) -> tuple[str, Any] | None:
    """Warning-Area-List CHOICE (TS 29.168 §4.4.5): cells, TAIs or emergency area IDs (3 octets).
    None when no list is given: the whole PLMN (TS 23.041 §9.1.3.5.1)."""
    if cells:
        return ("cell-ID-List", [ecgi(p, c) for p, c in cells])
    if tais:
        return ("tracking-Area-List-for-Warning", [tai(p, t) for p, t in tais])
    if emergency_area_ids:
        return ("emergency-Area-ID-List", [e.to_bytes(3, "big") for e in emergency_area_ids])
    return None


def write_replace_warning_request(
    message_identifier: int,
    serial_number: int,
    repetition_period: int,
    number_of_broadcasts_requested: int,
    area: tuple[str, Any] | None = None,
    warning_type: bytes | None = None,
    data_coding_scheme: int | None = None,
    warning_message_content: bytes | None = None,
    send_indication: bool = False,
    concurrent: bool = False,
    tais: Sequence[Tai] | None = None,
) -> Message:
    """WRITE-REPLACE WARNING REQUEST (TS 29.168 §4.4.4): `tais` (List of TAIs) picks the eNBs,
    `area` (Warning Area List) the cells, the eNBs are given it; repetition period in
    seconds; warning_type per TS 23.041 §9.3.24 (ETWS primary); warning_message_content is the
    CB data of TS 23.041 §9.4.2.2.5 (corenet.codecs.cbs)."""
    return _message(
        "Write-Replace-Warning-Request",
        **_warning(message_identifier, serial_number, tais, area),
        **{
            "Repetition-Period": repetition_period,
            "Number-of-Broadcasts-Requested": number_of_broadcasts_requested,
            "Warning-Type": warning_type,
            "Data-Coding-Scheme": data_coding_scheme,
            "Warning-Message-Content": warning_message_content,
            "Concurrent-Warning-Message-Indicator": "true" if concurrent else None,
            "Send-Write-Replace-Warning-Indication": "true" if send_indication else None,
        },
    )


def _response(name: str, message_identifier: int, serial_number: int, cause: int,
              unknown_tais: Sequence[Tai] | None, diagnostics: dict[str, Any] | None) -> Message:
    return _message(
        name,
        **{
            "Message-Identifier": message_identifier,
            "Serial-Number": serial_number,
            "Cause": cause,
            "Criticality-Diagnostics": diagnostics,
            "Unknown-Tracking-Area-List": (
                [{"tai": tai(p, t)} for p, t in unknown_tais] if unknown_tais else None
            ),
        },
    )


def write_replace_warning_response(
    message_identifier: int,
    serial_number: int,
    cause: int = MESSAGE_ACCEPTED,
    unknown_tais: Sequence[Tai] | None = None,
    diagnostics: dict[str, Any] | None = None,
) -> Message:
    """WRITE-REPLACE WARNING RESPONSE (TS 29.168 §4.4.4): Cause, and the TAIs of the request
    the MME does not serve (Unknown Tracking Area List)."""
    return _response("Write-Replace-Warning-Response", message_identifier, serial_number,
                     cause, unknown_tais, diagnostics)


def stop_warning_request(
    message_identifier: int,
    serial_number: int,
    area: tuple[str, Any] | None = None,
    send_indication: bool = False,
    tais: Sequence[Tai] | None = None,
) -> Message:
    """STOP WARNING REQUEST (TS 29.168 §4.4.4)."""
    return _message(
        "Stop-Warning-Request",
        **_warning(message_identifier, serial_number, tais, area),
        **{"Send-Stop-Warning-Indication": "true" if send_indication else None},
    )


def _warning(message_identifier: int, serial_number: int, tais: Sequence[Tai] | None,
             area: tuple[str, Any] | None) -> dict[str, Any]:
    """The IEs naming a warning and where it goes, common to both requests."""
    return {"Message-Identifier": message_identifier, "Serial-Number": serial_number,
            "List-of-TAIs": [{"tai": tai(p, t)} for p, t in tais] if tais else None,
            "Warning-Area-List": area}


def stop_warning_response(
    message_identifier: int,
    serial_number: int,
    cause: int = MESSAGE_ACCEPTED,
    unknown_tais: Sequence[Tai] | None = None,
    diagnostics: dict[str, Any] | None = None,
) -> Message:
    """STOP WARNING RESPONSE (TS 29.168 §4.4.4)."""
    return _response("Stop-Warning-Response", message_identifier, serial_number, cause,
                     unknown_tais, diagnostics)


def write_replace_warning_indication(
    message_identifier: int,
    serial_number: int,
    scheduled_cells: Sequence[Ecgi] | None = None,
) -> Message:
    """WRITE-REPLACE WARNING INDICATION (TS 29.168 §4.4.4): the cells where the eNBs scheduled
    the broadcast (Broadcast Scheduled Area List)."""
    cells = [{"eCGI": ecgi(p, c)} for p, c in scheduled_cells or ()]
    return _indication("Write-Replace-Warning-Indication", message_identifier, serial_number,
                       "Broadcast-Scheduled-Area-List", "cellId-Broadcast-List", cells)


def stop_warning_indication(
    message_identifier: int,
    serial_number: int,
    cancelled_cells: Sequence[Ecgi] | None = None,
) -> Message:
    """STOP WARNING INDICATION (TS 29.168 §4.4.4): the cells where the broadcast stopped
    (Broadcast Cancelled Area List; the number of broadcasts done is not reported: 0)."""
    cells = [{"eCGI": ecgi(p, c), "numberOfBroadcasts": 0} for p, c in cancelled_cells or ()]
    return _indication("Stop-Warning-Indication", message_identifier, serial_number,
                       "Broadcast-Cancelled-Area-List", "cellID-Cancelled-List", cells)


def _indication(name: str, message_identifier: int, serial_number: int, area_ie: str,
                cell_list: str, cells: list[dict[str, Any]]) -> Message:
    return _message(name, **{"Message-Identifier": message_identifier,
                             "Serial-Number": serial_number,
                             area_ie: {cell_list: cells} if cells else None})


def pws_restart_indication(
    restarted_cells: Sequence[Ecgi],
    enb: tuple[Plmn | str, int],
    tais: Sequence[Tai],
    emergency_area_ids: Sequence[int] | None = None,
) -> Message:
    """PWS RESTART INDICATION (TS 29.168 §4.4.4): an eNB's cells came back (TS 23.041
    §9.1.3.5.3); the CBC may resend its warnings there."""
    return _message(
        "PWS-Restart-Indication",
        **{
            "Restarted-Cell-List": [ecgi(p, c) for p, c in restarted_cells],
            "Global-ENB-ID": global_enb_id(*enb),
            "List-of-TAIs-Restart": [{"tai": tai(p, t)} for p, t in tais],
            "List-of-EAIs-Restart": (
                [e.to_bytes(3, "big") for e in emergency_area_ids] if emergency_area_ids else None
            ),
        },
    )


def pws_failure_indication(failed_cells: Sequence[Ecgi], enb: tuple[Plmn | str, int]) -> Message:
    """PWS FAILURE INDICATION (TS 29.168 §4.4.4): an eNB's cells can no longer broadcast."""
    return _message(
        "PWS-Failure-Indication",
        **{"Failed-Cell-List": [ecgi(p, c) for p, c in failed_cells],
           "Global-ENB-ID": global_enb_id(*enb)},
    )


def error_indication(cause: int | None, diagnostics: dict[str, Any] | None = None) -> Message:
    """ERROR INDICATION (TS 29.168 §4.4.4)."""
    return _message("Error-Indication", **{"Cause": cause, "Criticality-Diagnostics": diagnostics})


def criticality_diagnostics(err: DecodeError) -> dict[str, Any] | None:
    """Criticality-Diagnostics (TS 29.168 §4.4.5) describing a DecodeError from `decode`."""
    return diagnostics_of(err, _TRIGGERING, "iE-CriticalityDiagnostics") or None


def answer_for(err: DecodeError) -> Message | None:
    """What the receiver of undecodable or erroneous SBc-AP sends back (TS 36.413 §10 rules):

    * a Write-Replace Warning or Stop Warning request whose Message Identifier and Serial
      Number were read: its response with the Cause and Criticality Diagnostics (the
      procedures have no unsuccessful outcome, TS 29.168 §4.4.3);
    * anything else reportable: ERROR INDICATION with the Cause;
    * None when the criticality says to ignore silently.
    """
    if not err.extra.get("report", True):
        return None
    cause = CAUSES[err.cause]
    x = err.extra
    if (x.get("triggering_message") == "initiatingMessage"
            and "message_identifier" in x and "serial_number" in x):
        response = {PROCEDURE_CODES["Write-Replace-Warning-Request"]: write_replace_warning_response,
                    PROCEDURE_CODES["Stop-Warning-Request"]: stop_warning_response}
        build = response.get(x.get("procedure_code", -1))
        if build is not None:
            return build(x["message_identifier"], x["serial_number"], cause,
                         diagnostics=criticality_diagnostics(err))
    return error_indication(cause, criticality_diagnostics(err))
