"""Warning message delivery through the MME (TS 23.041 §9.1.3.5): SBc-AP from the CBC
(TS 29.168), S1AP Write-Replace Warning and Kill to the eNBs (TS 36.413 §8.13).

* Write-Replace Warning (TS 23.041 §9.1.3.5.1): the MME picks the eNBs serving the List of
  TAIs (or the TAIs of a tracking-area Warning Area List; none: every eNB), forwards the
  request with the Warning Area List to them, and answers the CBC at once with the Cause and
  the TAIs it does not serve. The eNBs' responses are gathered into one WRITE-REPLACE WARNING
  INDICATION (the cells that scheduled the broadcast) when the CBC asked for it, once every
  eNB answered or the aggregation guard ran out.
* Stop Warning (TS 23.041 §9.1.3.5.2): the same with KILL REQUEST / RESPONSE.
* PWS Restart / Failure Indication (TS 23.041 §9.1.3.5.3 / §9.1.3.5.4): relayed from the eNB
  to every CBC.
* SBc-AP the MME cannot decode is answered as `sbcap.answer_for` says; the MME keeps serving.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from corenet.codecs import s1ap, sbcap
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.plmn import Plmn
from corenet.nf.mme.context import EnbContext, EnbState
from corenet.nf.mme.events import (
    STREAM_NON_UE,
    Action,
    SbcapReceived,
    SbcDown,
    SbcUp,
    SendS1ap,
    SendSbcap,
)

# S1AP messages from the eNB that belong here (TS 36.413 §8.13, §8.16, §8.17)
S1AP_MESSAGES = frozenset({"WriteReplaceWarningResponse", "KillResponse",
                           "PWSRestartIndication", "PWSFailureIndication"})
SBC_EVENTS = (SbcUp, SbcDown, SbcapReceived)
# Guard on the eNBs' responses before the indication goes to the CBC with what came.
AGGREGATION_TIMER = "PwsAggregation"
AGGREGATION_S = 5.0
# TS 29.168 §4.4.5 Repetition-Period: 4096 from an older CBC is sent on S1 as 4095
MAX_S1_REPETITION = 4095

_S1_AREA = {"cell-ID-List": "cellIDList",
            "tracking-Area-List-for-Warning": "trackingAreaListforWarning",
            "emergency-Area-ID-List": "emergencyAreaIDList"}
_FORWARDED = {  # SBc-AP IE -> S1AP IE of WRITE-REPLACE WARNING REQUEST (TS 36.413 §9.1.13.1)
    "Message-Identifier": "MessageIdentifier", "Serial-Number": "SerialNumber",
    "Extended-Repetition-Period": "ExtendedRepetitionPeriod",
    "Number-of-Broadcasts-Requested": "NumberofBroadcastRequest",
    "Warning-Type": "WarningType", "Warning-Security-Information": "WarningSecurityInfo",
    "Data-Coding-Scheme": "DataCodingScheme", "Warning-Message-Content": "WarningMessageContents",
    "Concurrent-Warning-Message-Indicator": "ConcurrentWarningMessageIndicator",
}


@dataclass
class Delivery:
    """One request forwarded to eNBs, waiting for their responses."""

    cbc: int
    request: str  # "Write-Replace-Warning-Request" | "Stop-Warning-Request"
    indicate: bool
    waiting: set[int]
    cells: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class PwsState:
    cbcs: set[int] = field(default_factory=set)
    deliveries: dict[tuple[int, int], Delivery] = field(default_factory=dict)


class PwsPort(Protocol):
    """What warning delivery needs of the MME (corenet.nf.mme.core.MmeCore has it): the eNB
    contexts, this state, and the outputs."""

    plmn: Plmn
    enbs: dict[int, EnbContext]
    pws: PwsState

    def emit(self, action: Action) -> None: ...

    def log(self, kind: str, **data: Any) -> None: ...

    def start_timer(self, name: str, key: Any, seconds: float) -> None: ...

    def stop_timer(self, name: str, key: Any) -> None: ...


def handle(mme: PwsPort, event: SbcUp | SbcDown | SbcapReceived) -> None:
    state: PwsState = mme.pws
    if isinstance(event, SbcUp):
        state.cbcs.add(event.cbc)
        mme.log("sbcap.up", cbc=event.cbc)
    elif isinstance(event, SbcDown):
        state.cbcs.discard(event.cbc)
        mme.log("sbcap.down", cbc=event.cbc)
    else:
        _on_sbcap(mme, event.cbc, event.data)


def _send_cbc(mme: PwsPort, cbc: int, msg: Message) -> None:
    try:
        mme.emit(SendSbcap(cbc, sbcap.encode(msg)))
    except EncodeError as exc:
        mme.log("sbcap.encode_failed", message=msg.name, detail=str(exc))


def _on_sbcap(mme: PwsPort, cbc: int, data: bytes) -> None:
    try:
        msg = sbcap.decode(data)
    except DecodeError as err:
        mme.log("sbcap.error", cbc=cbc, cause=err.cause, detail=err.detail)
        answer = sbcap.answer_for(err)
        if answer is not None:
            _send_cbc(mme, cbc, answer)
        return
    if msg.name in ("Write-Replace-Warning-Request", "Stop-Warning-Request"):
        _forward(mme, cbc, msg)
    elif msg.name == "Error-Indication":
        mme.log("sbcap.error_indication", cbc=cbc, cause=msg.fields.get("Cause"))
    else:
        # TS 36.413 §10.4 (logical error): the CBC sends no responses or indications to an MME.
        _send_cbc(mme, cbc, sbcap.error_indication(
            sbcap.CAUSES["message-not-compatible-with-receiver-state"]))


def _target_tais(msg: Message) -> list[tuple[str, int]] | None:
    """The TAIs the request names (List of TAIs, else a tracking-area Warning Area List)."""
    if "List-of-TAIs" in msg.fields:
        return [(i["tai"]["pLMNidentity"], i["tai"]["tAC"]) for i in msg.fields["List-of-TAIs"]]
    kind, items = msg.fields.get("Warning-Area-List", (None, None))
    if kind == "tracking-Area-List-for-Warning":
        return [(t["pLMNidentity"], t["tAC"]) for t in items]
    return None


def _s1ap_area(msg: Message) -> tuple[str, Any] | None:
    area = msg.fields.get("Warning-Area-List")
    if area is None:
        return None
    kind, items = area
    if kind == "emergency-Area-ID-List":
        return (_S1_AREA[kind], list(items))
    if kind == "tracking-Area-List-for-Warning":
        return (_S1_AREA[kind], [{"pLMNidentity": t["pLMNidentity"], "tAC": t["tAC"]}
                                 for t in items])
    return (_S1_AREA[kind], [{"pLMNidentity": c["pLMNidentity"], "cell-ID": c["cell-ID"]}
                             for c in items])


def _s1ap_request(msg: Message) -> Message:
    """The S1AP WRITE-REPLACE WARNING / KILL REQUEST (TS 36.413 §9.1.13.1, §9.1.13.3)."""
    area = _s1ap_area(msg)
    if msg.name == "Stop-Warning-Request":
        fields: dict[str, Any] = {"MessageIdentifier": msg.fields["Message-Identifier"],
                                  "SerialNumber": msg.fields["Serial-Number"]}
        if area is not None:
            fields["WarningAreaList"] = area
        return Message(s1ap.PROTOCOL, "KillRequest", s1ap.PROCEDURE_CODES["KillRequest"], fields)
    fields = {s1: msg.fields[sb] for sb, s1 in _FORWARDED.items() if sb in msg.fields}
    fields["RepetitionPeriod"] = min(int(msg.fields["Repetition-Period"]), MAX_S1_REPETITION)
    if area is not None:
        fields["WarningAreaList"] = area
    return Message(s1ap.PROTOCOL, "WriteReplaceWarningRequest",
                   s1ap.PROCEDURE_CODES["WriteReplaceWarningRequest"], fields)


def _forward(mme: PwsPort, cbc: int, msg: Message) -> None:
    """TS 23.041 §9.1.3.5.1 / §9.1.3.5.2: forward to the eNBs of the area, answer the CBC."""
    key = (int(msg.fields["Message-Identifier"]), int(msg.fields["Serial-Number"]))
    plmn = str(mme.plmn)
    ready = [e for e in mme.enbs.values() if e.state is EnbState.READY]
    wanted = _target_tais(msg)
    if wanted is None:
        enbs, unknown = ready, []
    else:
        enbs = [e for e in ready if any(p == plmn and t in e.tacs for p, t in wanted)]
        served = {t for e in ready for t in e.tacs}
        unknown = [(p, t) for p, t in wanted if p != plmn or t not in served]
    data = b""
    try:
        data = s1ap.encode(_s1ap_request(msg))
    except EncodeError as exc:  # a value S1AP cannot carry (TS 36.413 §9.2.1.46-§9.2.1.53)
        mme.log("pws.not_forwardable", detail=str(exc))
        enbs = []
    if not data:
        cause = sbcap.CAUSES["parameter-value-invalid"]
    elif not ready:
        cause = sbcap.CAUSES["warning-broadcast-not-operational"]
    elif not enbs:
        cause = sbcap.CAUSES["tracking-area-not-valid"]
    else:
        cause = sbcap.MESSAGE_ACCEPTED
    respond = (sbcap.write_replace_warning_response if msg.name == "Write-Replace-Warning-Request"
               else sbcap.stop_warning_response)
    if enbs:
        for enb in enbs:
            mme.emit(SendS1ap(enb.assoc, data, STREAM_NON_UE))
        indicate = ("Send-Write-Replace-Warning-Indication" in msg.fields
                    or "Send-Stop-Warning-Indication" in msg.fields)
        mme.pws.deliveries[key] = Delivery(cbc, msg.name, indicate, {e.assoc for e in enbs})
        mme.start_timer(AGGREGATION_TIMER, key, AGGREGATION_S)
    _send_cbc(mme, cbc, respond(key[0], key[1], cause, unknown_tais=unknown or None))
    mme.log("pws.forwarded", message=msg.name, message_identifier=key[0], serial_number=key[1],
            enbs=sorted(e.assoc for e in enbs), cause=sbcap.CAUSE_NAMES[cause])


def _cells(area: tuple[str, Any] | None) -> list[tuple[str, int]]:
    """The cells of a Broadcast Completed / Cancelled Area List (TS 36.413 §9.2.1.54, §9.2.1.70)."""
    if area is None:
        return []
    kind, items = area
    if kind in ("cellID-Broadcast", "cellID-Cancelled"):
        return [(i["eCGI"]["pLMNidentity"], i["eCGI"]["cell-ID"]) for i in items]
    inner = {"tAI-Broadcast": "completedCellinTAI", "tAI-Cancelled": "cancelledCellinTAI",
             "emergencyAreaID-Broadcast": "completedCellinEAI",
             "emergencyAreaID-Cancelled": "cancelledCellinEAI"}[kind]
    return [(c["eCGI"]["pLMNidentity"], c["eCGI"]["cell-ID"]) for i in items for c in i[inner]]


def on_s1ap(mme: PwsPort, enb: EnbContext, msg: Message) -> None:
    """An eNB's WRITE-REPLACE WARNING / KILL RESPONSE, PWS RESTART / FAILURE INDICATION."""
    if msg.name == "PWSRestartIndication":
        # TS 23.041 §9.1.3.5.3: relayed to the CBCs, which may send their warnings again
        out = sbcap.pws_restart_indication(
            [(c["pLMNidentity"], c["cell-ID"]) for c in msg.fields["ECGIListForRestart"]],
            (msg.fields["Global-ENB-ID"]["pLMNidentity"],
             msg.fields["Global-ENB-ID"]["eNB-ID"][1]),
            [(t["pLMNidentity"], t["tAC"]) for t in msg.fields["TAIListForRestart"]])
        for cbc in sorted(mme.pws.cbcs):
            _send_cbc(mme, cbc, out)
        mme.log("pws.restart", assoc=enb.assoc)
        return
    if msg.name == "PWSFailureIndication":
        out = sbcap.pws_failure_indication(
            [(c["pLMNidentity"], c["cell-ID"]) for c in msg.fields["PWSfailedECGIList"]],
            (msg.fields["Global-ENB-ID"]["pLMNidentity"],
             msg.fields["Global-ENB-ID"]["eNB-ID"][1]))
        for cbc in sorted(mme.pws.cbcs):
            _send_cbc(mme, cbc, out)
        mme.log("pws.failure", assoc=enb.assoc)
        return
    key = (int(msg.fields["MessageIdentifier"]), int(msg.fields["SerialNumber"]))
    delivery = mme.pws.deliveries.get(key)
    if delivery is None or enb.assoc not in delivery.waiting:
        mme.log("pws.response.unexpected", assoc=enb.assoc, message=msg.name)
        return
    delivery.waiting.discard(enb.assoc)
    delivery.cells += _cells(msg.fields.get("BroadcastCompletedAreaList")
                             or msg.fields.get("BroadcastCancelledAreaList"))
    if not delivery.waiting:
        mme.stop_timer(AGGREGATION_TIMER, key)
        _complete(mme, key)


def on_enb_lost(mme: PwsPort, assoc: int) -> None:
    """An eNB whose association is gone will not answer: the deliveries stop waiting for it."""
    for key, delivery in list(mme.pws.deliveries.items()):
        if assoc in delivery.waiting:
            delivery.waiting.discard(assoc)
            if not delivery.waiting:
                mme.stop_timer(AGGREGATION_TIMER, key)
                _complete(mme, key)


def on_timer(mme: PwsPort, key: tuple[int, int]) -> None:
    """The aggregation guard ran out: indicate what the eNBs that answered reported."""
    if key in mme.pws.deliveries:
        mme.log("pws.aggregation.timeout", message_identifier=key[0],
                missing=sorted(mme.pws.deliveries[key].waiting))
        _complete(mme, key)


def _complete(mme: PwsPort, key: tuple[int, int]) -> None:
    delivery = mme.pws.deliveries.pop(key)
    mme.log("pws.completed", request=delivery.request, message_identifier=key[0],
            cells=[c for _, c in delivery.cells])
    if not delivery.indicate or delivery.cbc not in mme.pws.cbcs:
        return
    if delivery.request == "Write-Replace-Warning-Request":
        _send_cbc(mme, delivery.cbc, sbcap.write_replace_warning_indication(
            key[0], key[1], delivery.cells or None))
    else:
        _send_cbc(mme, delivery.cbc, sbcap.stop_warning_indication(
            key[0], key[1], delivery.cells or None))
