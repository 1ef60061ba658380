"""UE-requested PDN connectivity (TS 24.301 §6.5.1; TS 23.401 §5.10.2) and PDN disconnect
(TS 24.301 §6.5.2; TS 23.401 §5.10.3) of an attached UE, at the MME.

A roaming UE opens its emergency PDN connection this way before an emergency registration
(TS 23.167 §6.2, §7.1; request type "emergency", TS 23.401 §4.3.12), and the `ims` PDN
connection of its normal IMS signalling (GSMA IR.92). One procedure runs at a time per UE
(`UeSession.esm_procedure`); `STEPS` is its table:

| step         | input                                   | next          | clause                |
|--------------|-----------------------------------------|---------------|-----------------------|
| -            | PDN CONNECTIVITY REQUEST                | CREATING      | §6.5.1.2; 5.10.2 s3   |
| CREATING     | Create Session Response accepted        | ACTIVATING    | 5.10.2 steps 6-7      |
| CREATING     | refused / no answer                     | - (REJECT)    | §6.5.1.4              |
| ACTIVATING   | ACTIVATE DEFAULT EPS BEARER CTX ACCEPT  | - (connected) | §6.5.1.3; 5.10.2 s12  |
| ACTIVATING   | ACTIVATE DEFAULT EPS BEARER CTX REJECT  | - (deleted)   | §6.5.1.4              |
| ACTIVATING   | T3485 fifth expiry                      | - (deleted)   | §6.5.1.5 a            |
| -            | PDN DISCONNECT REQUEST                  | DELETING      | §6.5.2.2; 5.10.3 s3   |
| DELETING     | Delete Session Response / no answer     | DEACTIVATING  | §6.4.4.2; 5.10.3 s7   |
| DEACTIVATING | DEACTIVATE EPS BEARER CONTEXT ACCEPT    | -             | §6.4.4.3              |
| DEACTIVATING | T3495 fifth expiry                      | -             | §6.4.4.5 a            |

The E-RAB Setup Response (TS 36.413 §8.2.1.2) of a new PDN connection's bearer gives the eNB
S1-U F-TEID to the S-GW in a Modify Bearer Request (TS 23.401 §5.10.2 steps 8-9, 13-14),
whenever it comes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corenet.codecs import nas
from corenet.codecs.base import Message
from corenet.nf.mme import causes, esm, nas_path, policy, s1ap_build, session
from corenet.nf.mme.context import EmmState, EsmProcedure, EsmStep, Pdn, Step, UeContext
from corenet.nf.mme.identity import is_roamer
from corenet.nf.mme.port import MmePort

# TS 24.007 §11.2.3.1.5: EPS bearer identities 5..15 are assignable
_EBIS = range(5, 16)
# TS 24.007 §11.2.3.1a: PTI 0 is "no procedure transaction identity assigned", 255 reserved
_UNASSIGNED_PTI = (0, 255)
# TS 24.301 §10.3 Table 10.3.1: the MME's ESM timers, with the clause of their expiry
ESM_TIMERS = {"T3485": "TS 24.301 §6.5.1.5 a", "T3495": "TS 24.301 §6.4.4.5 a"}


def pdns(ue: UeContext) -> dict[int, Pdn]:
    """Every PDN connection of the UE, by the EBI of its default bearer."""
    out = dict(ue.session.additional_pdns)
    if ue.session.pdn is not None and ue.session.session_created:
        out[ue.session.pdn.bearer.ebi] = ue.session.pdn
    return out


def free_ebi(ue: UeContext) -> int:
    """An EPS bearer identity no bearer of the UE holds, nor one being set up."""
    used = set(pdns(ue))
    for pdn in pdns(ue).values():
        used.update(pdn.dedicated)
    proc = ue.session.esm_procedure
    if proc is not None:
        used.add(proc.pdn.bearer.ebi)
    if ue.session.bearer_procedure is not None:
        used.add(ue.session.bearer_procedure.bearer.ebi)
    for ebi in _EBIS:
        if ebi not in used:
            return ebi
    raise esm.EsmReject(causes.ESM_MAX_EPS_BEARERS_REACHED, "no EPS bearer identity left")


def _requested_pdn(mme: MmePort, ue: UeContext, req: esm.PdnRequest) -> Pdn:
    """The PDN connection to create: the emergency one from the MME's configuration
    (TS 23.401 §4.3.12.3: never from the HSS), any other from the subscription (§5.10.2
    step 2, the APN selection of Annex A of TS 29.272); raises `esm.EsmReject`."""
    if req.request_type == esm.REQUEST_EMERGENCY:
        pdn = esm.emergency_pdn(mme.cfg.emergency, req)
    elif req.request_type == esm.REQUEST_INITIAL and ue.session.subscription is not None:
        pdn = esm.build_pdn(ue.session.subscription, req, mme.cfg.roaming.ambr_cap,
                            is_roamer(mme, ue))
    else:
        raise esm.EsmReject(causes.ESM_REQUEST_REJECTED_UNSPECIFIED,
                            f"request type {req.request_type} without a subscription")
    if any(p.apn.lower() == pdn.apn.lower() for p in pdns(ue).values()):
        # TS 24.301 §6.5.1.4: one PDN connection per APN
        raise esm.EsmReject(policy.ESM_MULTIPLE_PDN_SAME_APN_NOT_ALLOWED,
                            f"a PDN connection to {pdn.apn} exists")
    pdn.bearer.ebi = free_ebi(ue)
    return pdn


def on_pdn_connectivity_request(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """PDN CONNECTIVITY REQUEST of an attached UE (TS 24.301 §6.5.1.2, §6.5.1.3), then Create
    Session Request for the new PDN connection (TS 23.401 §5.10.2 step 3)."""
    f = msg.fields
    pti = int(f.get(nas.PTI, 0))
    if pti in _UNASSIGNED_PTI:
        # TS 24.301 §7.3.1 b: an unassigned or reserved PTI is answered by ESM STATUS #81
        nas_path.send_nas(mme, ue, nas.esm_status(0, pti, causes.ESM_INVALID_PTI))
        return
    proc = ue.session.esm_procedure
    if proc is not None and proc.pti == pti:
        mme.log("esm.pdn.retransmission", imsi=ue.imsi, pti=pti)  # TS 24.301 §6.5.1.7 b
        return
    emergency = int(f.get("request_type", 1)) == esm.REQUEST_EMERGENCY
    try:
        if ue.emergency:
            # emergency-only UE (module table of corenet.nf.mme.policy; TS 24.301 §6.5.1.4)
            raise esm.EsmReject(policy.ESM_MULTIPLE_PDN_SAME_APN_NOT_ALLOWED if emergency
                                else policy.ESM_SERVICE_OPTION_NOT_SUPPORTED,
                                "attached for emergency bearer services only")
        if ue.emm_state is not EmmState.REGISTERED or ue.step is not Step.ATTACHED:
            raise esm.EsmReject(causes.ESM_REQUEST_REJECTED_UNSPECIFIED, "not attached")
        if proc is not None:
            raise esm.EsmReject(causes.ESM_INSUFFICIENT_RESOURCES, "another ESM procedure runs")
        pdn = _requested_pdn(mme, ue, esm.pdn_request_of({"name": msg.name, "fields": f}))
    except esm.EsmReject as rej:
        mme.log("esm.pdn.rejected", imsi=ue.imsi, emergency=ue.emergency,
                request_emergency=emergency, esm_cause=rej.esm_cause, detail=str(rej))
        nas_path.send_nas(mme, ue, esm.pdn_connectivity_reject(pti, rej.esm_cause))
        return
    ue.session.esm_procedure = EsmProcedure(pti, pdn, EsmStep.CREATING)
    attach_pdn = ue.session.pdn
    assert attach_pdn is not None  # an attached UE has its attach's PDN connection
    pgw = (mme.cfg.emergency.pgw_s5s8_address if emergency else None) or mme.cfg.pgw_s5s8_address
    mme.log("esm.pdn.requested", imsi=ue.imsi, apn=pdn.apn, ebi=pdn.bearer.ebi,
            emergency=emergency, qci=pdn.bearer.qci)
    ambr_kbps = (pdn.apn_ambr_ul_bps // 1000, pdn.apn_ambr_dl_bps // 1000)
    mme.send_s11(ue, mme.s11.create_session(
        ue, pdn, ambr_kbps, pgw_address=pgw,
        sgw_teid=attach_pdn.sgw_s11_teid or 0, emergency=emergency))


def _proc(ue: UeContext, step: EsmStep) -> EsmProcedure | None:
    proc = ue.session.esm_procedure
    return proc if proc is not None and proc.step is step else None


def _answering(mme: MmePort, ue: UeContext, msg: Message, step: EsmStep
               ) -> EsmProcedure | None:
    """The procedure in `step` whose bearer `msg` answers, its timer (T3485 / T3495) stopped;
    None, with ESM STATUS #98 sent, when no procedure waits for it (TS 24.301 §7.4)."""
    proc = _proc(ue, step)
    if proc is None or int(msg.fields.get(nas.EBI, 0)) != proc.pdn.bearer.ebi:
        _not_compatible(mme, ue, msg)
        return None
    nas_path.stop_nas_timer(mme, ue)
    return proc


def _refuse(mme: MmePort, ue: UeContext, proc: EsmProcedure, esm_cause: int) -> None:
    ue.session.esm_procedure = None
    mme.log("esm.pdn.rejected", imsi=ue.imsi, apn=proc.pdn.apn, esm_cause=esm_cause)
    nas_path.send_nas(mme, ue, esm.pdn_connectivity_reject(proc.pti, esm_cause))


def on_create_session_response(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """Create Session Response (TS 23.401 §5.10.2 step 6), then E-RAB SETUP REQUEST with the
    ACTIVATE DEFAULT EPS BEARER CONTEXT REQUEST (step 7; TS 36.413 §8.2.1), T3485 guarding
    it (TS 24.301 §6.5.1.3)."""
    proc = _proc(ue, EsmStep.CREATING)
    if proc is None:
        mme.log("s11.response", message=msg.name, mme_ue_id=ue.mme_ue_id, unexpected=True)
        return
    esm_cause = session.pdn_created(mme, ue, proc.pdn, msg)
    if esm_cause is not None:
        _refuse(mme, ue, proc, esm_cause)
        return
    proc.step = EsmStep.ACTIVATING
    plain = esm.activate_default_bearer_request(proc.pdn, proc.pti)
    sht = nas_path.downlink_sht(ue)
    s1ap_build.erab_setup_request(mme, ue, proc.pdn.bearer, nas_path.nas_pdu(ue, plain, sht))
    nas_path.start_nas_timer(mme, ue, "T3485", plain, sht)


def on_create_session_failed(mme: MmePort, ue: UeContext, _reason: str) -> None:
    """No Create Session Response (TS 29.274 §7.6): #38 network failure (TS 24.301 §6.5.1.4)."""
    proc = _proc(ue, EsmStep.CREATING)
    if proc is not None:
        _refuse(mme, ue, proc, causes.ESM_NETWORK_FAILURE)


def on_erab_setup_response(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """E-RAB SETUP RESPONSE (TS 36.413 §8.2.1.2): the eNB S1-U F-TEID of the new bearer goes to
    the S-GW in Modify Bearer Request (TS 23.401 §5.10.2 step 13)."""
    proc = _proc(ue, EsmStep.ACTIVATING)
    candidates = [*ue.session.additional_pdns.values(), *([proc.pdn] if proc else [])]
    for pdn in candidates:
        setup = s1ap_build.erab_setup(msg, pdn.bearer.ebi)
        if setup is not None and pdn.bearer.enb_s1u_teid is None:
            address, teid = setup
            pdn.bearer.enb_s1u_ip, pdn.bearer.enb_s1u_teid = address.split(",")[0], teid
            mme.send_s11(ue, mme.s11.modify_bearer(ue, pdn))
            return
    failed = [i.get("e-RAB-ID") for i in msg.fields.get("E-RABFailedToSetupListBearerSURes", [])]
    mme.log("s1ap.erab.not_setup", mme_ue_id=ue.mme_ue_id, failed=failed)


def on_activate_default_accept(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """ACTIVATE DEFAULT EPS BEARER CONTEXT ACCEPT (TS 24.301 §6.5.1.3): stop T3485, the PDN
    connection is up (TS 23.401 §5.10.2 step 12)."""
    proc = _answering(mme, ue, msg, EsmStep.ACTIVATING)
    if proc is None:
        return
    ue.session.esm_procedure = None
    ue.session.add_pdn(proc.pdn)
    mme.log("esm.pdn.connected", imsi=ue.imsi, apn=proc.pdn.apn, ebi=proc.pdn.bearer.ebi,
            ipv4=proc.pdn.ipv4, emergency=proc.pdn.apn == mme.cfg.emergency.apn)


def on_activate_default_reject(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """ACTIVATE DEFAULT EPS BEARER CONTEXT REJECT (TS 24.301 §6.5.1.4): stop T3485, the PDN
    connection is deleted at the S-GW."""
    proc = _answering(mme, ue, msg, EsmStep.ACTIVATING)
    if proc is None:
        return
    _abandon(mme, ue, proc, f"rejected by the UE, #{msg.fields.get(nas.ESM_CAUSE)}")


def _abandon(mme: MmePort, ue: UeContext, proc: EsmProcedure, why: str) -> None:
    ue.session.esm_procedure = None
    mme.log("esm.pdn.abandoned", imsi=ue.imsi, apn=proc.pdn.apn, reason=why)
    mme.send_s11(ue, mme.s11.delete_session(ue, proc.pdn))


def on_pdn_disconnect_request(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """PDN DISCONNECT REQUEST (TS 24.301 §6.5.2.2): Delete Session Request for the PDN
    connection of the linked EBI (TS 23.401 §5.10.3 step 3); #43 for no such connection,
    #49 for the last one (§6.5.2.4)."""
    pti = int(msg.fields.get(nas.PTI, 0))
    linked = int(msg.fields.get("linked_eps_bearer_identity", 0))
    if pti in _UNASSIGNED_PTI:
        nas_path.send_nas(mme, ue, nas.esm_status(0, pti, causes.ESM_INVALID_PTI))
        return
    connections = pdns(ue)
    if ue.session.esm_procedure is not None or ue.step is not Step.ATTACHED:
        cause = causes.ESM_MESSAGE_NOT_COMPATIBLE_WITH_STATE
    elif linked not in connections:
        cause = causes.ESM_INVALID_EPS_BEARER_IDENTITY
    elif len(connections) == 1:
        cause = causes.ESM_LAST_PDN_DISCONNECTION_NOT_ALLOWED
    else:
        pdn = connections[linked]
        ue.session.esm_procedure = EsmProcedure(pti, pdn, EsmStep.DELETING)
        _forget(ue, pdn)
        mme.log("esm.pdn.disconnecting", imsi=ue.imsi, apn=pdn.apn, ebi=linked)
        mme.send_s11(ue, mme.s11.delete_session(ue, pdn))
        return
    mme.log("esm.pdn.disconnect_rejected", imsi=ue.imsi, linked_ebi=linked, esm_cause=cause)
    nas_path.send_nas(mme, ue, nas.pdn_disconnect_reject(pti, cause))


def _forget(ue: UeContext, pdn: Pdn) -> None:
    """The PDN connection leaves the UE's context; the attach's own is replaced by another."""
    s = ue.session
    s.additional_pdns.pop(pdn.bearer.ebi, None)
    if s.pdn is pdn and s.additional_pdns:
        s.pdn = s.additional_pdns.pop(min(s.additional_pdns))


def on_delete_session_response(mme: MmePort, ue: UeContext, _answer: Any) -> None:
    """Delete Session Response, or none (TS 23.401 §5.10.3 step 6): DEACTIVATE EPS BEARER
    CONTEXT REQUEST #36 in E-RAB RELEASE COMMAND (TS 24.301 §6.4.4.2; TS 36.413 §8.2.3),
    T3495 guarding it."""
    proc = _proc(ue, EsmStep.DELETING)
    if proc is None:
        return
    proc.step = EsmStep.DEACTIVATING
    ebi = proc.pdn.bearer.ebi
    plain = nas.deactivate_eps_bearer_context_request(ebi, causes.ESM_REGULAR_DEACTIVATION,
                                                      proc.pti)
    sht = nas_path.downlink_sht(ue)
    s1ap_build.erab_release_command(mme, ue, ebi, nas_path.nas_pdu(ue, plain, sht))
    nas_path.start_nas_timer(mme, ue, "T3495", plain, sht)


def on_deactivate_accept(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """DEACTIVATE EPS BEARER CONTEXT ACCEPT (TS 24.301 §6.4.4.3): stop T3495, done."""
    proc = _answering(mme, ue, msg, EsmStep.DEACTIVATING)
    if proc is None:
        return
    ue.session.esm_procedure = None
    mme.log("esm.pdn.disconnected", imsi=ue.imsi, apn=proc.pdn.apn, ebi=proc.pdn.bearer.ebi)


def on_timer(mme: MmePort, ue: UeContext, name: str) -> None:
    """T3485 / T3495 expiry: the message is resent; on the fifth expiry the activation is
    abandoned and its PDN connection deleted (TS 24.301 §6.5.1.5 a), or the deactivation
    completed locally (§6.4.4.5 a). The UE's other PDN connections stay."""
    if name != ue.nas_timer.name or nas_path.retransmit(mme, ue, name):
        return
    nas_path.stop_nas_timer(mme, ue)
    proc = ue.session.esm_procedure
    mme.log("esm.procedure.aborted", imsi=ue.imsi, timer=name, clause=ESM_TIMERS[name])
    if proc is not None and proc.step is EsmStep.ACTIVATING:
        _abandon(mme, ue, proc, f"{name} expired")
    ue.session.esm_procedure = None


def delete_additional(mme: MmePort, ue: UeContext) -> None:
    """Delete Session for each PDN connection requested after the attach, when the UE is
    detached or its context released (TS 23.401 §5.3.8.2.1 step 2: every PDN connection)."""
    for pdn in ue.session.additional_pdns.values():
        mme.send_s11(ue, mme.s11.delete_session(ue, pdn))
    ue.session.additional_pdns.clear()
    ue.session.esm_procedure = None


def _not_compatible(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """TS 24.301 §7.4: ESM STATUS #98 for a message the procedure's state does not expect."""
    f = msg.fields
    mme.log("esm.unexpected", imsi=ue.imsi, message=msg.name)
    nas_path.send_nas(mme, ue, nas.esm_status(int(f.get(nas.EBI, 0)), int(f.get(nas.PTI, 0)),
                                              causes.ESM_MESSAGE_NOT_COMPATIBLE_WITH_STATE))


Handler = Callable[[MmePort, UeContext, Any], None]

# ESM messages of these procedures, by name (TS 24.301 §8.3)
ESM: dict[str, Handler] = {
    "PDNConnectivityRequest": on_pdn_connectivity_request,
    "ActivateDefaultEPSBearerContextAccept": on_activate_default_accept,
    "ActivateDefaultEPSBearerContextReject": on_activate_default_reject,
    "PDNDisconnectRequest": on_pdn_disconnect_request,
    "DeactivateEPSBearerContextAccept": on_deactivate_accept,
}

# S11 and S1AP inputs of an attached UE, keyed like attach.SEQUENCE
SEQUENCE: dict[tuple[Step, str], Handler] = {
    (Step.ATTACHED, "CreateSessionResponse"): on_create_session_response,
    (Step.ATTACHED, "CreateSessionRequest failed"): on_create_session_failed,
    (Step.ATTACHED, "E-RABSetupResponse"): on_erab_setup_response,
    (Step.ATTACHED, "DeleteSessionResponse"): on_delete_session_response,
    (Step.ATTACHED, "DeleteSessionRequest failed"): on_delete_session_response,
}
