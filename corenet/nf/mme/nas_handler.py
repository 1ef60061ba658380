"""Uplink NAS at the MME: decoding and the integrity check (TS 24.301 §4.4.4.3), malformed
messages (§7), then the handler the UE's step calls for (`attach.SEQUENCE`,
`detach.SEQUENCE`, `tau.SEQUENCE`, `service_request.SEQUENCE`); ESM messages outside the attach (§6.5, `pdn_connectivity.ESM`), EMM
STATUS (§5.7)."""

from __future__ import annotations

from corenet.codecs import nas
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError
from corenet.crypto.nas_security import UPLINK
from corenet.nf.mme import (
    attach,
    causes,
    detach,
    nas_path,
    pdn_connectivity,
    service_request,
    tau,
)
from corenet.nf.mme.context import Step, UeContext
from corenet.nf.mme.dedicated_bearer import ESM as DEDICATED_BEARER_ESM
from corenet.nf.mme.port import MmePort

# TS 24.301 §4.4.4.3: plain messages the MME processes although a security context exists
_PLAIN_ALLOWED = frozenset({
    "AttachRequest", "IdentityResponse", "AuthenticationResponse", "AuthenticationFailure",
    "SecurityModeReject", "DetachRequest", "DetachAccept", "TrackingAreaUpdateRequest",
})

_ESM_ONLY = frozenset({
    "PDNConnectivityRequest", "PDNDisconnectRequest", "BearerResourceAllocationRequest",
    "BearerResourceModificationRequest", "ActivateDefaultEPSBearerContextAccept",
    "ActivateDefaultEPSBearerContextReject", "ESMStatus", "DeactivateEPSBearerContextAccept",
    "ActivateDedicatedEPSBearerContextAccept", "ActivateDedicatedEPSBearerContextReject",
})
# ESM messages of the PDN procedures and of the dedicated bearer procedures
ESM = {**pdn_connectivity.ESM, **DEDICATED_BEARER_ESM}

SEQUENCE: dict[tuple[Step, str], attach.Handler] = {
    **attach.SEQUENCE, **detach.SEQUENCE, **tau.SEQUENCE, **pdn_connectivity.SEQUENCE,
    **service_request.SEQUENCE}


def _on_emm_status(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """EMM STATUS from the UE (TS 24.301 §5.7): logged, no state change."""
    mme.log("emm.status.received", imsi=ue.imsi, emm_cause=msg.fields.get(nas.EMM_CAUSE))


ANY_STEP: dict[str, attach.Handler] = {**attach.ANY_STEP, **detach.ANY_STEP,
                                       **service_request.ANY_STEP, "EMMStatus": _on_emm_status}
# NAS messages some step expects: in any other step they are not compatible with the state
_IN_SEQUENCE = frozenset(name for _, name in SEQUENCE)


def on_uplink_nas(mme: MmePort, ue: UeContext, data: bytes) -> None:
    """One uplink NAS message: integrity check (TS 24.301 §4.4.4.3), then its handler."""
    sec = ue.security
    try:
        msg = nas.decode(data, sec.sec, UPLINK)
    except DecodeError as err:
        _on_nas_error(mme, ue, err)
        return
    if msg.name == "TrackingAreaUpdateRequest":
        # TS 24.301 §4.4.4.3 / §5.5.3.2.2: checked by the procedure against the context its
        # old GUTI names, which need not be the one the connection found
        tau.on_tau_request(mme, ue, msg, data)
        return
    if msg.name == "ServiceRequest":
        # TS 24.301 §4.4.4.3 / §5.6.1.2: its KSI and short MAC are checked by the procedure
        service_request.on_service_request(mme, ue, msg, data)
        return
    protected = "security_header_type" in msg.fields
    if sec.sec is not None and protected and not msg.fields.get("mac_valid", False):
        mme.log("nas.discarded", mme_ue_id=ue.mme_ue_id, message=msg.name,
                reason="integrity check failed (TS 24.301 §4.4.4.3)")
        return
    if sec.sec is not None and sec.secured and not protected and msg.name not in _PLAIN_ALLOWED:
        mme.log("nas.discarded", mme_ue_id=ue.mme_ue_id, message=msg.name,
                reason="not integrity protected (TS 24.301 §4.4.4.3)")
        return
    if msg.name == "SecurityProtectedNASMessage":
        mme.log("nas.discarded", mme_ue_id=ue.mme_ue_id, reason="ciphered, no security context")
        return
    _dispatch(mme, ue, msg)


def _on_nas_error(mme: MmePort, ue: UeContext, err: DecodeError) -> None:
    """TS 24.301 §7: answer a malformed message with EMM STATUS / ESM STATUS carrying the
    cause the decoder found (96, 97, 99, 100, 111); ignore what §7 says to ignore."""
    mme.log("nas.malformed", mme_ue_id=ue.mme_ue_id, cause=err.cause, detail=err.detail)
    if err.extra.get("discard") or err.cause is None:
        return
    if err.extra.get("pd") == nas.PD_ESM:
        plain = nas.esm_status(int(err.extra.get("ebi") or 0), int(err.extra.get("pti") or 0),
                               int(err.cause))
    else:
        plain = nas.emm_status(int(err.cause))
    nas_path.send_nas(mme, ue, plain)


def _dispatch(mme: MmePort, ue: UeContext, msg: Message) -> None:
    if msg.fields.get("eps_bearer_identity") is not None and msg.name in _ESM_ONLY:
        _on_standalone_esm(mme, ue, msg)
        return
    handler = ANY_STEP.get(msg.name)
    if handler is None and ue.step is not None:
        handler = SEQUENCE.get((ue.step, msg.name))
    if handler is not None:
        handler(mme, ue, msg)
    elif msg.name in _IN_SEQUENCE:
        mme.log("nas.unexpected", mme_ue_id=ue.mme_ue_id, message=msg.name,
                step=None if ue.step is None else ue.step.value)
        nas_path.send_nas(mme, ue, nas.emm_status(causes.MESSAGE_NOT_COMPATIBLE_WITH_STATE))
    else:
        mme.log("nas.unsupported", mme_ue_id=ue.mme_ue_id, message=msg.name)
        nas_path.send_nas(mme, ue, nas.emm_status(causes.MESSAGE_NOT_COMPATIBLE_WITH_STATE))


def _on_standalone_esm(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """ESM outside the attach: the UE-requested PDN procedures and the dedicated bearers
    (`ESM`); ESM STATUS is logged, any other message is answered by ESM STATUS #98 (TS
    24.301 §7.4)."""
    f = msg.fields
    mme.log("esm.standalone", imsi=ue.imsi, message=msg.name)
    handler = ESM.get(msg.name)
    if handler is not None:
        handler(mme, ue, msg)
    elif msg.name != "ESMStatus":
        nas_path.send_nas(mme, ue, nas.esm_status(
            int(f.get(nas.EBI, 0)), int(f.get(nas.PTI, 0)),
            causes.ESM_MESSAGE_NOT_COMPATIBLE_WITH_STATE))
