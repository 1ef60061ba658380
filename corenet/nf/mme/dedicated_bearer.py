"""Network-initiated dedicated bearers at the MME: activation (TS 23.401 §5.4.1; TS 24.301
§6.4.2) and deactivation (TS 23.401 §5.4.4.1; TS 24.301 §6.4.4), e.g. the QCI 1 bearer of an
IMS voice call. One such procedure runs at a time per UE (`UeSession.bearer_procedure`), under
the UE's one NAS timer:

| step         | input                                          | next         | clause          |
|--------------|------------------------------------------------|--------------|-----------------|
| -            | Create Bearer Request                          | ACTIVATING   | 5.4.1 s3-4      |
| -            | Create Bearer Request, UE in ECM-IDLE          | - (cause 90) | 5.4.1 s3, note  |
| ACTIVATING   | E-RAB SETUP RESPONSE (E-RAB set up)            | ACTIVATING   | 5.4.1 s5        |
| ACTIVATING   | ACTIVATE DEDICATED EPS BEARER CONTEXT ACCEPT   | ACTIVATING   | §6.4.2.3        |
| ACTIVATING   | both of the above                              | - (cause 16) | 5.4.1 s8        |
| ACTIVATING   | E-RAB SETUP RESPONSE (E-RAB failed)            | - (cause 73) | 36.413 §8.2.1.2 |
| ACTIVATING   | ACTIVATE DEDICATED EPS BEARER CONTEXT REJECT   | - (cause 88) | §6.4.2.4        |
| ACTIVATING   | T3485 fifth expiry                             | - (cause 87) | §6.4.2.6 a      |
| -            | Delete Bearer Request                          | DEACTIVATING | 5.4.4.1 s3-4    |
| -            | Delete Bearer Request, UE in ECM-IDLE          | - (local)    | 5.4.4.1 s4      |
| DEACTIVATING | DEACTIVATE EPS BEARER CONTEXT ACCEPT           | - (cause 16) | §6.4.4.3        |
| DEACTIVATING | T3495 fifth expiry                             | - (local)    | §6.4.4.5 a      |

(the causes are the GTPv2-C causes of the Create / Delete Bearer Response, TS 29.274 Table
8.4-1). A UE in ECM-IDLE would be paged first (TS 23.401 §5.4.1 step 3: network-triggered
service request, §5.3.4.3); this MME does not page for a dedicated bearer and answers "Unable
to page UE" (90), leaving it to the P-GW to try again. Released without signalling while
idle, a bearer is known gone to the UE by the EPS bearer context status of its next TAU or
service request (TS 24.301 §5.5.3.2.4, §5.6.1.4).

Only what the S/P-GW of this project sends is served in full: one bearer per request. A
Delete Bearer Request for a whole PDN connection (linked EBI) or for several bearers of a
connected UE is answered "Service not supported" (68).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corenet.codecs import gtpv2c, nas, s1ap, tft
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError
from corenet.nf.mme import causes, esm, nas_path, pdn_connectivity, s1ap_build
from corenet.nf.mme.context import Bearer, BearerProcedure, BearerStep, Pdn, UeContext
from corenet.nf.mme.events import SendS11
from corenet.nf.mme.port import MmePort

Address = tuple[str, int]

# TS 29.274 Table 8.4-1
CAUSE_UNABLE_TO_PAGE_UE = 90
CAUSE_TEMPORARILY_REJECTED = 110  # "... due to handover/TAU/RAU procedure in progress"
# TS 29.274 Table 8.4-1 causes of a refused bearer activation, by what refused it
ERAB_FAILED = gtpv2c.CAUSE_NO_RESOURCES_AVAILABLE
UE_REFUSED = gtpv2c.CAUSE_UE_REFUSES
UE_SILENT = gtpv2c.CAUSE_UE_NOT_RESPONDING


class BearerReject(Exception):
    """A Create / Delete Bearer Request refused with a GTPv2-C cause."""

    def __init__(self, cause: int, detail: str) -> None:
        super().__init__(detail)
        self.cause = cause


# ============================================================================ activation


def on_create_bearer_request(mme: MmePort, ue: UeContext | None, msg: Message,
                             peer: Address | None) -> None:
    """Create Bearer Request (TS 29.274 §7.2.3; TS 23.401 §5.4.1 step 3): an EPS bearer
    identity, then E-RAB SETUP REQUEST (TS 36.413 §8.2.1) with the ACTIVATE DEDICATED EPS
    BEARER CONTEXT REQUEST (TS 24.301 §6.4.2.2) under T3485."""
    if _retransmitted(mme, ue, msg, peer):
        return
    try:
        ue, pdn = _pdn_of(ue, msg)
        bearer = _requested_bearer(ue, pdn, msg)
    except BearerReject as rej:
        mme.log("esm.bearer.refused", imsi=None if ue is None else ue.imsi,
                message=msg.name, cause=rej.cause, detail=str(rej))
        mme.emit(SendS11(_create_response(int(msg.fields["sequence"]), None, rej.cause, None),
                         peer))
        return
    proc = BearerProcedure(BearerStep.ACTIVATING, pdn, bearer, peer, int(msg.fields["sequence"]))
    ue.session.bearer_procedure = proc
    plain = nas.activate_dedicated_eps_bearer_context_request(
        bearer.ebi, pdn.bearer.ebi, _eps_qos(bearer), bearer.tft or b"")
    sht = nas_path.downlink_sht(ue)
    s1ap_build.erab_setup_request(mme, ue, bearer, nas_path.nas_pdu(ue, plain, sht))
    nas_path.start_nas_timer(mme, ue, "T3485", plain, sht)
    mme.log("esm.bearer.activating", imsi=ue.imsi, ebi=bearer.ebi, linked_ebi=pdn.bearer.ebi,
            qci=bearer.qci, gbr_kbps=list(bearer.gbr_kbps))


def _pdn_of(ue: UeContext | None, msg: Message) -> tuple[UeContext, Pdn]:
    """The PDN connection the request names by header TEID and linked EBI (TS 29.274
    §7.2.3); refusals per TS 23.401 §5.4.1 and TS 29.274 Table 8.4-1."""
    if ue is None or not ue.session.session_created:
        raise BearerReject(gtpv2c.CAUSE_CONTEXT_NOT_FOUND, "no UE for this TEID")
    pdn = pdn_connectivity.pdns(ue).get(int(msg.fields.get("linked_ebi") or 0))
    if pdn is None:
        raise BearerReject(gtpv2c.CAUSE_CONTEXT_NOT_FOUND, "no PDN connection of linked EBI")
    if ue.enb_assoc is None or ue.enb_ue_id is None:
        raise BearerReject(CAUSE_UNABLE_TO_PAGE_UE, "UE in ECM-IDLE (no paging for bearers)")
    if _busy(ue):
        raise BearerReject(CAUSE_TEMPORARILY_REJECTED, "another NAS procedure runs")
    return ue, pdn


def _retransmitted(mme: MmePort, ue: UeContext | None, msg: Message,
                   peer: Address | None) -> bool:
    """The request of the procedure running, sent again by the S-GW after the transaction
    layer forgot it (TS 29.274 §7.6): the UE still has to answer, so it is not answered."""
    proc = None if ue is None else ue.session.bearer_procedure
    if (proc is None or proc.sequence != int(msg.fields["sequence"]) or proc.sgw != peer
            or ue is None or ue.nas_timer.name not in ("T3485", "T3495")):
        return False
    mme.log("s11.retransmission", imsi=ue.imsi, message=msg.name, sequence=proc.sequence)
    return True


def _busy(ue: UeContext) -> bool:
    """Another procedure holds the UE's NAS timer. A bearer procedure whose timer is gone (the
    UE's S1 connection was released meanwhile) is over and forgotten."""
    if ue.session.bearer_procedure is not None and ue.nas_timer.name not in ("T3485", "T3495"):
        ue.session.bearer_procedure = None
    return ue.nas_timer.name is not None or ue.session.esm_procedure is not None


def _requested_bearer(ue: UeContext, pdn: Pdn, msg: Message) -> Bearer:
    contexts = msg.fields.get("bearer_contexts") or []
    if len(contexts) != 1:
        raise BearerReject(gtpv2c.CAUSE_SERVICE_NOT_SUPPORTED, "one bearer per request")
    ctx = contexts[0]
    raw_tft = ctx.get("tft")
    try:
        op, filters = tft.decode(bytes(raw_tft or b""))
    except ValueError as exc:
        raise BearerReject(gtpv2c.CAUSE_SYNTACTIC_ERROR_IN_TFT, str(exc)) from None
    if op != tft.OP_CREATE or not filters:
        # TS 24.301 §6.4.2.4 / TS 29.274 §7.2.3: a new bearer's TFT creates its filters
        raise BearerReject(gtpv2c.CAUSE_SEMANTIC_ERROR_IN_TFT, f"TFT operation {op}")
    qos = ctx.get("bearer_qos") or {}
    sgw = ctx.get("s1u_sgw_fteid") or {}
    try:
        ebi = pdn_connectivity.free_ebi(ue)
    except esm.EsmReject:  # all eleven identities taken
        raise BearerReject(gtpv2c.CAUSE_NO_RESOURCES_AVAILABLE, "no EPS bearer identity left"
                           ) from None
    return Bearer(
        ebi=ebi, qci=int(qos.get("qci", 9)), arp_priority=int(qos.get("pl", 15)),
        pre_emption_capability=int(qos.get("pci", 1)),
        pre_emption_vulnerability=int(qos.get("pvi", 0)),
        sgw_s1u_ip=sgw.get("ipv4") or sgw.get("ipv6"), sgw_s1u_teid=sgw.get("teid"),
        linked_ebi=pdn.bearer.ebi,
        mbr_kbps=(int(qos.get("mbr_ul_kbps", 0)), int(qos.get("mbr_dl_kbps", 0))),
        gbr_kbps=(int(qos.get("gbr_ul_kbps", 0)), int(qos.get("gbr_dl_kbps", 0))),
        tft=bytes(raw_tft or b""))


def _eps_qos(bearer: Bearer) -> dict[str, int]:
    """TS 24.301 §9.9.4.3: the QCI, and the bit rates of a GBR bearer (kbps)."""
    if bearer.gbr_kbps == (0, 0) and bearer.mbr_kbps == (0, 0):
        return {"qci": bearer.qci}
    return {"qci": bearer.qci, "max_ul": bearer.mbr_kbps[0], "max_dl": bearer.mbr_kbps[1],
            "gbr_ul": bearer.gbr_kbps[0], "gbr_dl": bearer.gbr_kbps[1]}


def _create_response(sequence: int, pdn: Pdn | None, cause: int,
                     bearer: Bearer | None) -> Message:
    """Create Bearer Response (TS 29.274 §7.2.4): to the S-GW's S11 TEID of the PDN
    connection, 0 when none is known (§5.5.2)."""
    context: dict[str, Any] = {"ebi": 0 if bearer is None else bearer.ebi, "cause": cause}
    if bearer is not None and cause == gtpv2c.CAUSE_REQUEST_ACCEPTED:
        context["s1u_enb_fteid"] = gtpv2c.fteid(gtpv2c.FTEID_S1U_ENB, bearer.enb_s1u_teid or 0,
                                                bearer.enb_s1u_ip)
        context["s1u_sgw_fteid"] = gtpv2c.fteid(gtpv2c.FTEID_S1U_SGW, bearer.sgw_s1u_teid or 0,
                                                bearer.sgw_s1u_ip)
    teid = 0 if pdn is None else pdn.sgw_s11_teid or 0
    return gtpv2c.create_bearer_response(sequence, teid=teid, cause=cause,
                                         bearer_contexts=[context])


def _activating(ue: UeContext) -> BearerProcedure | None:
    proc = ue.session.bearer_procedure
    return proc if proc is not None and proc.step is BearerStep.ACTIVATING else None


def on_erab_setup_response(mme: MmePort, ue: UeContext, msg: Message) -> bool:
    """E-RAB SETUP RESPONSE (TS 36.413 §8.2.1.2; TS 23.401 §5.4.1 step 5) for the bearer
    being activated; False when it is about another one."""
    proc = _activating(ue)
    if proc is None:
        return False
    setup = s1ap_build.erab_setup(msg, proc.bearer.ebi)
    failed = [int(i.get("e-RAB-ID", 0))
              for i in msg.fields.get("E-RABFailedToSetupListBearerSURes") or []]
    if setup is not None:
        address, teid = setup
        proc.bearer.enb_s1u_ip, proc.bearer.enb_s1u_teid = address.split(",")[0], teid
        proc.erab_done = True
        _complete(mme, ue, proc)
        return True
    if proc.bearer.ebi in failed:
        nas_path.stop_nas_timer(mme, ue)
        _refused(mme, ue, proc, ERAB_FAILED, "E-RAB setup failed", release=False)
        return True
    return False


def on_activate_dedicated_accept(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """ACTIVATE DEDICATED EPS BEARER CONTEXT ACCEPT (TS 24.301 §6.4.2.3): stop T3485."""
    proc = _answering(mme, ue, msg, BearerStep.ACTIVATING)
    if proc is not None:
        proc.esm_done = True
        _complete(mme, ue, proc)


def on_activate_dedicated_reject(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """ACTIVATE DEDICATED EPS BEARER CONTEXT REJECT (TS 24.301 §6.4.2.4): stop T3485, the
    bearer is refused, its E-RAB released (TS 23.401 §5.4.1 step 7, NOTE)."""
    proc = _answering(mme, ue, msg, BearerStep.ACTIVATING)
    if proc is not None:
        _refused(mme, ue, proc, UE_REFUSED, f"UE rejected, #{msg.fields.get(nas.ESM_CAUSE)}",
                 release=proc.erab_done)


def _complete(mme: MmePort, ue: UeContext, proc: BearerProcedure) -> None:
    """TS 23.401 §5.4.1 step 8: the bearer exists once both the eNB and the UE answered."""
    if not (proc.erab_done and proc.esm_done):
        return
    ue.session.bearer_procedure = None
    proc.pdn.add_dedicated(proc.bearer)
    mme.log("esm.bearer.activated", imsi=ue.imsi, ebi=proc.bearer.ebi, qci=proc.bearer.qci,
            linked_ebi=proc.pdn.bearer.ebi)
    mme.emit(SendS11(_respond(proc, gtpv2c.CAUSE_REQUEST_ACCEPTED), proc.sgw))


def _refused(mme: MmePort, ue: UeContext, proc: BearerProcedure, cause: int, why: str, *,
             release: bool) -> None:
    ue.session.bearer_procedure = None
    mme.log("esm.bearer.refused", imsi=ue.imsi, ebi=proc.bearer.ebi, cause=cause, detail=why)
    if release:
        _release_erab(mme, ue, proc.bearer.ebi, None)
    mme.emit(SendS11(_respond(proc, cause), proc.sgw))


def _respond(proc: BearerProcedure, cause: int) -> Message:
    if proc.step is BearerStep.ACTIVATING:
        return _create_response(proc.sequence, proc.pdn, cause, proc.bearer)
    return gtpv2c.delete_bearer_response(
        proc.sequence, teid=proc.pdn.sgw_s11_teid or 0, cause=cause,
        bearer_contexts=[{"ebi": proc.bearer.ebi, "cause": cause}])


# ============================================================================ deactivation


def on_delete_bearer_request(mme: MmePort, ue: UeContext | None, msg: Message,
                             peer: Address | None) -> None:
    """Delete Bearer Request (TS 29.274 §7.2.9.2; TS 23.401 §5.4.4.1 step 3): E-RAB RELEASE
    COMMAND (TS 36.413 §8.2.3) with DEACTIVATE EPS BEARER CONTEXT REQUEST #36 (TS 24.301
    §6.4.4.2) under T3495; an ECM-IDLE UE's bearers are released locally (step 4)."""
    if _retransmitted(mme, ue, msg, peer):
        return
    ebis = [int(e) for e in msg.fields.get("ebis") or []]
    found = [] if ue is None else [(p, p.dedicated[e]) for e in ebis
                                   for p in pdn_connectivity.pdns(ue).values()
                                   if e in p.dedicated]
    seq = int(msg.fields["sequence"])
    if ue is None or not found or len(found) != len(ebis):
        cause = (gtpv2c.CAUSE_SERVICE_NOT_SUPPORTED if ue is not None and not ebis
                 else gtpv2c.CAUSE_CONTEXT_NOT_FOUND)
        pdn_teid = 0 if ue is None or ue.session.pdn is None else ue.session.pdn.sgw_s11_teid
        mme.log("esm.bearer.delete_refused", imsi=None if ue is None else ue.imsi,
                ebis=ebis, cause=cause)
        mme.emit(SendS11(gtpv2c.delete_bearer_response(
            seq, teid=pdn_teid or 0, cause=cause,
            bearer_contexts=[{"ebi": e, "cause": cause} for e in ebis]), peer))
        return
    if ue.enb_assoc is None or ue.enb_ue_id is None:
        for pdn, bearer in found:
            pdn.dedicated.pop(bearer.ebi, None)
        mme.log("esm.bearer.deactivated", imsi=ue.imsi, ebis=ebis, local=True)
        mme.emit(SendS11(gtpv2c.delete_bearer_response(
            seq, teid=found[0][0].sgw_s11_teid or 0, bearer_contexts=[
                {"ebi": e, "cause": gtpv2c.CAUSE_REQUEST_ACCEPTED} for e in ebis]), peer))
        return
    if len(found) != 1 or _busy(ue):
        cause = (gtpv2c.CAUSE_SERVICE_NOT_SUPPORTED if len(found) != 1
                 else CAUSE_TEMPORARILY_REJECTED)
        mme.emit(SendS11(gtpv2c.delete_bearer_response(
            seq, teid=found[0][0].sgw_s11_teid or 0, cause=cause,
            bearer_contexts=[{"ebi": e, "cause": cause} for e in ebis]), peer))
        return
    pdn, bearer = found[0]
    ue.session.bearer_procedure = BearerProcedure(BearerStep.DEACTIVATING, pdn, bearer, peer,
                                                  seq)
    plain = nas.deactivate_eps_bearer_context_request(bearer.ebi,
                                                      causes.ESM_REGULAR_DEACTIVATION)
    sht = nas_path.downlink_sht(ue)
    _release_erab(mme, ue, bearer.ebi, nas_path.nas_pdu(ue, plain, sht))
    nas_path.start_nas_timer(mme, ue, "T3495", plain, sht)
    mme.log("esm.bearer.deactivating", imsi=ue.imsi, ebi=bearer.ebi)


def _release_erab(mme: MmePort, ue: UeContext, ebi: int, nas_pdu: bytes | None) -> None:
    if ue.enb_assoc is None or ue.enb_ue_id is None:
        return
    s1ap_build.send(mme, ue.enb_assoc, s1ap.e_rab_release_command(
        ue.mme_ue_id, ue.enb_ue_id, [(ebi, s1ap_build.NAS_NORMAL_RELEASE)], nas_pdu),
        s1ap_build.STREAM_UE)


def _deactivated(mme: MmePort, ue: UeContext, proc: BearerProcedure, local: bool) -> None:
    ue.session.bearer_procedure = None
    proc.pdn.dedicated.pop(proc.bearer.ebi, None)
    mme.log("esm.bearer.deactivated", imsi=ue.imsi, ebis=[proc.bearer.ebi], local=local)
    mme.emit(SendS11(_respond(proc, gtpv2c.CAUSE_REQUEST_ACCEPTED), proc.sgw))


def on_deactivate_accept(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """DEACTIVATE EPS BEARER CONTEXT ACCEPT (TS 24.301 §6.4.4.3) of the dedicated bearer being
    deactivated; any other goes to the PDN disconnect procedure (pdn_connectivity.py)."""
    proc = ue.session.bearer_procedure
    if (proc is None or proc.step is not BearerStep.DEACTIVATING
            or int(msg.fields.get(nas.EBI, 0)) != proc.bearer.ebi):
        pdn_connectivity.on_deactivate_accept(mme, ue, msg)
        return
    nas_path.stop_nas_timer(mme, ue)
    _deactivated(mme, ue, proc, local=False)


# ============================================================================ shared


def _answering(mme: MmePort, ue: UeContext, msg: Message, step: BearerStep
               ) -> BearerProcedure | None:
    """The procedure whose bearer `msg` answers, T3485 / T3495 stopped; ESM STATUS #43 for
    another EBI (TS 24.301 §7.3.2), #98 when none waits (§7.4)."""
    proc = ue.session.bearer_procedure
    ebi = int(msg.fields.get(nas.EBI, 0))
    if proc is None or proc.step is not step:
        nas_path.send_nas(mme, ue, nas.esm_status(
            ebi, 0, causes.ESM_MESSAGE_NOT_COMPATIBLE_WITH_STATE))
        return None
    if ebi != proc.bearer.ebi:
        nas_path.send_nas(mme, ue, nas.esm_status(ebi, 0, causes.ESM_INVALID_EPS_BEARER_IDENTITY))
        return None
    nas_path.stop_nas_timer(mme, ue)
    return proc


def on_timer(mme: MmePort, ue: UeContext, name: str) -> None:
    """T3485 / T3495 of a dedicated bearer procedure: resent, and on the fifth expiry the
    activation is refused, "UE not responding" (TS 24.301 §6.4.2.6 a), or the deactivation
    completed locally (§6.4.4.5 a). Without one, the PDN procedures' timers."""
    proc = ue.session.bearer_procedure
    if proc is None:
        pdn_connectivity.on_timer(mme, ue, name)
        return
    if name != ue.nas_timer.name or nas_path.retransmit(mme, ue, name):
        return
    nas_path.stop_nas_timer(mme, ue)
    mme.log("esm.procedure.aborted", imsi=ue.imsi, timer=name,
            clause="TS 24.301 §6.4.2.6 a" if name == "T3485" else "TS 24.301 §6.4.4.5 a")
    if proc.step is BearerStep.ACTIVATING:
        _refused(mme, ue, proc, UE_SILENT, f"{name} expired", release=proc.erab_done)
    else:
        _deactivated(mme, ue, proc, local=True)


def on_s11_request(mme: MmePort, msg: Message, peer: Address | None) -> bool:
    """A request of the S-GW for a UE (the header TEID is its MME UE S1AP ID, s11_client.py);
    False for anything else."""
    handler = S11_REQUESTS.get(msg.name)
    if handler is None:
        return False
    handler(mme, mme.ues.get(int(msg.fields.get("teid") or 0)), msg, peer)
    return True


def on_s11_malformed(mme: MmePort, err: DecodeError, peer: Address | None) -> None:
    """A Create / Delete Bearer Request that does not decode (TS 29.274 §7.7.4-§7.7.7): its
    response with the decoder's cause and offending IE, to TEID 0 (§5.5.2); other malformed
    messages are logged."""
    code, seq = err.extra.get("message_type"), err.extra.get("sequence")
    mme.log("s11.malformed", cause=err.cause, detail=err.detail, message_type=code)
    builders: dict[int, Callable[..., Message]] = {
        95: gtpv2c.create_bearer_response, 99: gtpv2c.delete_bearer_response}
    build = builders.get(code if isinstance(code, int) else -1)
    if build is None or not isinstance(seq, int):
        return
    value = err.cause if isinstance(err.cause, int) else gtpv2c.CAUSE_INVALID_MESSAGE_FORMAT
    cause = gtpv2c.cause(value, err.extra.get("offending_ie"), bce=bool(err.extra.get("bce")))
    contexts = [{"ebi": 0, "cause": value}] if code == 95 else []
    mme.emit(SendS11(build(seq, teid=0, cause=cause, bearer_contexts=contexts), peer))


S11Handler = Callable[[MmePort, UeContext | None, Message, Address | None], None]
S11_REQUESTS: dict[str, S11Handler] = {
    "CreateBearerRequest": on_create_bearer_request,
    "DeleteBearerRequest": on_delete_bearer_request,
}

# ESM messages of these procedures, by name (TS 24.301 §8.3)
ESM: dict[str, Callable[[MmePort, UeContext, Message], None]] = {
    "ActivateDedicatedEPSBearerContextAccept": on_activate_dedicated_accept,
    "ActivateDedicatedEPSBearerContextReject": on_activate_dedicated_reject,
    "DeactivateEPSBearerContextAccept": on_deactivate_accept,
}
