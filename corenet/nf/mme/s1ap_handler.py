"""S1AP at the MME (TS 36.413 §8): the S1 interface instances (association up and down, S1
Setup and its guard, Reset), and the routing of every received message through `ROUTES`
(procedure -> handler) and `UE_ROUTES` for the UE-associated ones. A new interface's
messages (SBc-AP, NGAP...) are new rows of such a table, not new branches.
"""

from __future__ import annotations

from collections.abc import Callable

from corenet.codecs import s1ap
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn
from corenet.nf.mme import nas_handler, pws, s1ap_build, service_request
from corenet.nf.mme.context import EmmState, EnbContext, EnbState, Step, UeContext, location
from corenet.nf.mme.dedicated_bearer import on_erab_setup_response as dedicated_erab_setup
from corenet.nf.mme.events import CloseS1
from corenet.nf.mme.port import S1Port

# timer names of the S1 setup guard and of the guard on a UE CONTEXT RELEASE COMMAND
S1_SETUP_GUARD = "S1Setup"
S1_RELEASE = "S1Release"


# ============================================================================ S1 interface


def on_enb_up(mme: S1Port, assoc: int) -> EnbContext | None:
    """A new association: refused beyond `max_associations`, otherwise guarded until S1
    Setup completes (TS 36.413 §8.7.3)."""
    if len(mme.enbs) >= mme.cfg.max_associations:
        mme.log("s1ap.association.refused", assoc=assoc, reason="too many associations",
                limit=mme.cfg.max_associations)
        mme.emit(CloseS1(assoc))
        return None
    enb = mme.enbs[assoc] = EnbContext(assoc)
    mme.start_timer(S1_SETUP_GUARD, assoc, mme.cfg.s1_setup_timeout_s)
    return enb


def on_s1_setup_guard(mme: S1Port, assoc: int) -> None:
    """No successful S1 Setup in time: the association is shut down."""
    enb = mme.enbs.get(assoc)
    if enb is None or enb.state is EnbState.READY:
        return
    mme.log("s1ap.setup.timeout", assoc=assoc, seconds=mme.cfg.s1_setup_timeout_s)
    on_enb_lost(mme, assoc)
    mme.emit(CloseS1(assoc))


def on_enb_lost(mme: S1Port, assoc: int) -> None:
    enb = mme.enbs.pop(assoc, None)
    if enb is None:
        return
    mme.stop_timer(S1_SETUP_GUARD, assoc)
    for ue_id in list(enb.ue_ids):
        ue = mme.ues.get(ue_id)
        if ue is not None:
            _lose_s1(mme, ue)
    pws.on_enb_lost(mme, assoc)
    mme.log("s1ap.association.down", assoc=assoc)


def on_s1ap(mme: S1Port, assoc: int, data: bytes) -> None:
    """One S1AP PDU from an association: decoded, then routed by `ROUTES`."""
    enb = mme.enbs.get(assoc) or on_enb_up(mme, assoc)
    if enb is None:
        return
    try:
        msg = s1ap.decode(data)
    except DecodeError as err:
        partial = s1ap_build.on_decode_error(mme, assoc, err)
        if partial is None:
            return
        msg = partial
    if msg.name != "S1SetupRequest" and enb.state is not EnbState.READY:
        # TS 36.413 §8.7.3.1: nothing but S1 Setup before the S1 interface is up
        s1ap_build.error_indication(mme, assoc, s1ap_build.NOT_COMPATIBLE)
        return
    handler = ROUTES.get(msg.name)
    if handler is None:
        mme.log("s1ap.ignored", assoc=assoc, message=msg.name)
        return
    handler(mme, enb, msg)


def on_s1_setup_request(mme: S1Port, enb: EnbContext, msg: Message) -> None:
    """S1 Setup (TS 36.413 §8.7.3): accept an eNB of our PLMN serving one of our TAs,
    otherwise S1 SETUP FAILURE (§8.7.3.3) with a cause of §9.2.1.3. The eNB's PLMN not ours,
    or no TA broadcasting it: "unknown-PLMN" ("the MME does not identify any PLMN provided
    by the eNB"). Our PLMN but none of our TACs: no cause names a tracking area, the PLMN is
    identified (so not unknown-PLMN) and no operator acted (so not om-intervention): misc
    "unspecified", the cause for a miscellaneous reason none of the others covers."""
    plmn = Plmn.parse(mme.cfg.plmn)
    global_id = msg.fields.get("Global-ENB-ID", {})
    tacs = s1ap_build.supported_tacs(msg.fields, plmn)
    served = [t for t in tacs if t in mme.cfg.tacs]
    if global_id.get("pLMNidentity") != str(plmn) or not tacs:
        cause, reason = s1ap_build.UNKNOWN_PLMN, "PLMN not served"
    elif not served:
        cause, reason = s1ap_build.MISC_UNSPECIFIED, "no tracking area served"
    else:
        cause = None
    if cause is not None:
        s1ap_build.s1_setup_failure(mme, enb.assoc, cause)
        mme.log("s1ap.setup.refused", assoc=enb.assoc, plmn=global_id.get("pLMNidentity"),
                tacs=list(tacs), served_tacs=list(mme.cfg.tacs), reason=reason,
                cause=list(cause))
        return
    enb.state = EnbState.READY
    enb.global_enb_id = global_id.get("eNB-ID")
    enb.name = msg.fields.get("eNBname")
    enb.plmn = plmn
    enb.tacs = tuple(served)
    s1ap_build.s1_setup_response(mme, enb.assoc, plmn)
    mme.log("s1ap.setup.accepted", assoc=enb.assoc, enb_id=list(enb.global_enb_id or ()),
            tacs=list(served))
    mme.stop_timer(S1_SETUP_GUARD, enb.assoc)


def on_reset(mme: S1Port, enb: EnbContext, msg: Message) -> None:
    """Reset initiated by the eNB (TS 36.413 §8.7.1.2.2): drop the named UE connections
    (all of them for reset-all) and acknowledge."""
    pairs = s1ap_build.reset_pairs(msg)
    if pairs is None:
        ue_ids = list(enb.ue_ids)
    else:
        ue_ids = [m for m, _ in pairs if m is not None and m in enb.ue_ids]
    for ue_id in ue_ids:
        ue = mme.ues.get(ue_id)
        if ue is not None:
            _lose_s1(mme, ue)
    s1ap_build.reset_acknowledge(mme, enb.assoc, pairs)
    mme.log("s1ap.reset", assoc=enb.assoc, ues=len(ue_ids))


def _lose_s1(mme: S1Port, ue: UeContext) -> None:
    """The UE's S1 connection is gone without a release: an attached UE goes ECM-IDLE,
    any other procedure is aborted (TS 23.401 §5.3.5)."""
    mme.detach_from_enb(ue)
    if _stays_registered(ue):
        service_request.release_access_bearers(mme, ue)
        return
    mme.release(ue, s1ap_build.NAS_UNSPECIFIED)


def _stays_registered(ue: UeContext) -> bool:
    """An attached UE keeps its EMM context when its S1 connection goes (TS 23.401 §5.3.5)."""
    return ue.emm_state is EmmState.REGISTERED and ue.step is Step.ATTACHED


# ============================================================================ UE-associated


def on_initial_ue(mme: S1Port, enb: EnbContext, msg: Message) -> None:
    """INITIAL UE MESSAGE (TS 36.413 §8.6.2.1): a new UE-associated logical connection; an
    S-TMSI of ours finds the UE's context (TS 23.401 §5.3.4.1)."""
    f = msg.fields
    enb_ue_id = int(f["eNB-UE-S1AP-ID"])
    _forget_reused_id(mme, enb, enb_ue_id)
    if len(enb.ue_ids) >= mme.cfg.max_ue_contexts_per_enb:
        # TS 36.413 §8.7.4: no UE-associated connection beyond the limit; the eNB is
        # told with the cause of TS 36.413 §9.2.1.3 (control processing overload)
        mme.log("s1ap.ue.refused", assoc=enb.assoc, enb_ue_id=enb_ue_id,
                limit=mme.cfg.max_ue_contexts_per_enb)
        s1ap_build.error_indication(mme, enb.assoc, s1ap_build.OVERLOAD, None, enb_ue_id)
        return
    ue = mme.idle_ue(f.get("S-TMSI"))
    if ue is not None:
        ue.enb_assoc, ue.enb_ue_id = enb.assoc, enb_ue_id
        if "TAI" in f:  # where the UE is now (TS 36.413 §9.1.7.1)
            ue.tai = location(f["TAI"]["pLMNidentity"], f["TAI"]["tAC"])
        enb.bind(ue.mme_ue_id, enb_ue_id)
        nas_handler.on_uplink_nas(mme, ue, bytes(f["NAS-PDU"]))
        return
    ue = mme.new_ue(enb, enb_ue_id, f)
    nas_handler.on_uplink_nas(mme, ue, bytes(f["NAS-PDU"]))
    if mme.ues.get(ue.mme_ue_id) is ue and mme.idle_context(ue):
        # the first NAS message (undecodable, unexpected, not integrity protected) started
        # no procedure: the new context is released (TS 36.413 §8.3.3)
        mme.log("emm.context.unused", mme_ue_id=ue.mme_ue_id, reason="first NAS message")
        mme.release(ue, s1ap_build.NAS_UNSPECIFIED)


def _forget_reused_id(mme: S1Port, enb: EnbContext, enb_ue_id: int) -> None:
    """A new connection with an eNB UE S1AP ID one of our contexts still holds: the eNB ended
    that connection without telling us (TS 36.413 §9.2.3.4: the ID is unique within the eNB,
    so it is free again only once its connection is gone). The old context loses its S1
    connection locally, as when the eNB reports it lost (TS 36.413 §10.6: local release, no
    message naming the ID), so that no later UE CONTEXT RELEASE COMMAND for it names the new
    connection and tears that one down."""
    mme_ue_id = enb.by_enb_ue_id.get(enb_ue_id)
    old = None if mme_ue_id is None else mme.ues.get(mme_ue_id)
    if old is None or old.enb_assoc != enb.assoc or old.enb_ue_id != enb_ue_id:
        return
    mme.log("s1ap.ue.id_reused", assoc=enb.assoc, enb_ue_id=enb_ue_id,
            old_mme_ue_id=old.mme_ue_id, imsi=old.imsi,
            step=None if old.step is None else old.step.value)
    mme.stop_timer(S1_RELEASE, old.mme_ue_id)
    _lose_s1(mme, old)


def on_ue_message(mme: S1Port, enb: EnbContext, msg: Message) -> None:
    """A UE-associated message (TS 36.413 §8.3, §8.6): the pair of S1AP IDs must name one of
    our connections on this eNB (§10.6: otherwise Error Indication), then `UE_ROUTES`."""
    f = msg.fields
    mme_ue_id, enb_ue_id = f.get("MME-UE-S1AP-ID"), f.get("eNB-UE-S1AP-ID")
    ue = mme.ues.get(mme_ue_id) if isinstance(mme_ue_id, int) else None
    if ue is None:
        s1ap_build.error_indication(mme, enb.assoc, s1ap_build.UNKNOWN_MME_UE_ID,
                                    mme_ue_id, enb_ue_id)
        return
    if ue.enb_assoc != enb.assoc or ue.enb_ue_id != enb_ue_id:
        s1ap_build.error_indication(mme, enb.assoc, s1ap_build.UNKNOWN_PAIR,
                                    mme_ue_id, enb_ue_id)
        return
    handler = UE_ROUTES.get(msg.name)
    if handler is None:
        mme.log("s1ap.ignored", message=msg.name, mme_ue_id=ue.mme_ue_id)
        return
    handler(mme, ue, msg)


def on_uplink_nas_transport(mme: S1Port, ue: UeContext, msg: Message) -> None:
    """UPLINK NAS TRANSPORT (TS 36.413 §8.6.2.3). NAS on a connection we ordered released
    (UE CONTEXT RELEASE COMMAND sent, §8.3.3) starts nothing: the context goes with the
    connection, and the UE starts again on a new one."""
    f = msg.fields
    if ue.step is Step.RELEASING:
        mme.log("nas.discarded", mme_ue_id=ue.mme_ue_id,
                reason="UE context release in progress (TS 36.413 §8.3.3)")
        return
    if "TAI" in f:  # TS 36.413 §10.3: a missing ignore-and-notify IE is done without
        ue.tai = location(f["TAI"]["pLMNidentity"], f["TAI"]["tAC"])
    nas_handler.on_uplink_nas(mme, ue, bytes(f["NAS-PDU"]))


def on_ics_response(mme: S1Port, ue: UeContext, msg: Message) -> None:
    """INITIAL CONTEXT SETUP RESPONSE (TS 36.413 §8.3.1.2), E-RAB SETUP RESPONSE (§8.2.1.2):
    inputs of the procedure the UE's step runs (attach, UE-requested PDN connectivity)."""
    handler = nas_handler.SEQUENCE.get((ue.step, msg.name)) if ue.step else None
    if handler is not None:
        handler(mme, ue, msg)


def on_ics_failure(mme: S1Port, ue: UeContext, msg: Message) -> None:
    """INITIAL CONTEXT SETUP FAILURE (TS 36.413 §8.3.1.3): the attach cannot complete; a
    registered UE (service request, TAU with the active flag) goes back to ECM-IDLE
    (TS 23.401 §5.3.4.1, §5.3.5)."""
    mme.log("s1ap.ics.failed", mme_ue_id=ue.mme_ue_id, cause=list(msg.fields.get("Cause", ())))
    mme.release(ue, s1ap_build.NAS_UNSPECIFIED, keep=_stays_registered(ue))


def on_release_request(mme: S1Port, ue: UeContext, msg: Message) -> None:
    """UE CONTEXT RELEASE REQUEST (TS 36.413 §8.3.2; TS 23.401 §5.3.5): eNB-initiated
    release; an attached UE keeps its EMM context."""
    cause = tuple(msg.fields.get("Cause", s1ap_build.NAS_NORMAL_RELEASE))
    mme.release(ue, cause, keep=_stays_registered(ue))  # type: ignore[arg-type]


def on_release_complete(mme: S1Port, ue: UeContext, _msg: Message | None = None) -> None:
    """UE CONTEXT RELEASE COMPLETE (TS 36.413 §8.3.3.2), or its guard expired."""
    mme.stop_timer(S1_RELEASE, ue.mme_ue_id)
    keep = _stays_registered(ue)
    mme.detach_from_enb(ue)
    mme.log("s1ap.ue.released", mme_ue_id=ue.mme_ue_id, kept=keep)
    if not keep:
        mme.delete_ue(ue)


def on_ue_capability_info(mme: S1Port, ue: UeContext, msg: Message) -> None:
    """UE CAPABILITY INFO INDICATION (TS 36.413 §8.9.2): the MME keeps the UE Radio
    Capability, replacing what it had (§8.9.2: "shall, if supported, use it to update"), and
    gives it back in the next INITIAL CONTEXT SETUP REQUEST (TS 23.401 §5.11.2)."""
    capability = msg.fields.get("UERadioCapability")
    if capability is None:  # mandatory IE missing: the decoder reported it (§10.3.4.2)
        return
    ue.ue_radio_capability = bytes(capability)
    mme.log("s1ap.ue_capability.stored", mme_ue_id=ue.mme_ue_id, imsi=ue.imsi,
            octets=len(ue.ue_radio_capability))


def on_erab_setup_response(mme: S1Port, ue: UeContext, msg: Message) -> None:
    """E-RAB SETUP RESPONSE (TS 36.413 §8.2.1.2): of a dedicated bearer being activated
    (dedicated_bearer.py), else of a new PDN connection (`on_ics_response`)."""
    if not dedicated_erab_setup(mme, ue, msg):
        on_ics_response(mme, ue, msg)


def _ignored(mme: S1Port, ue: UeContext, msg: Message) -> None:
    mme.log("s1ap.ignored", message=msg.name, mme_ue_id=ue.mme_ue_id)


EnbHandler = Callable[[S1Port, EnbContext, Message], None]
UeHandler = Callable[[S1Port, UeContext, Message], None]

# UE-associated messages an MME receives (TS 36.413 §8.3, §8.6)
UE_ROUTES: dict[str, UeHandler] = {
    "UplinkNASTransport": on_uplink_nas_transport,
    "InitialContextSetupResponse": on_ics_response,
    "InitialContextSetupFailure": on_ics_failure,
    "E-RABSetupResponse": on_erab_setup_response,
    "E-RABReleaseResponse": _ignored,
    "UEContextReleaseRequest": on_release_request,
    "UEContextReleaseComplete": on_release_complete,
    "UECapabilityInfoIndication": on_ue_capability_info,
    "NASNonDeliveryIndication": _ignored,
}

# Every S1AP message the MME acts on, by procedure (TS 36.413 §8)
ROUTES: dict[str, EnbHandler] = {
    "S1SetupRequest": on_s1_setup_request,  # §8.7.3
    "Reset": on_reset,  # §8.7.1
    "InitialUEMessage": on_initial_ue,  # §8.6.2.1
    **{name: on_ue_message for name in UE_ROUTES},
    # §8.13 warning message transmission, answered towards the CBC (TS 23.041 §9.1.3.5)
    **{name: pws.on_s1ap for name in pws.S1AP_MESSAGES},
}
