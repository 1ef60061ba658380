"""Tracking area update at the MME, without S-GW change (TS 24.301 §5.5.3.2; TS 23.401
§5.3.3.2): normal and periodic updating of a registered UE, found by its old GUTI and checked
with its current NAS security context; TRACKING AREA UPDATE ACCEPT with the TAI list and a new
GUTI, TRACKING AREA UPDATE COMPLETE, or TRACKING AREA UPDATE REJECT (§5.5.3.2.5).

| the request                                        | answer                              |
|----------------------------------------------------|-------------------------------------|
| old GUTI not ours, or no context holds it           | REJECT #9 (identity cannot be derived) |
| the context found is not EMM-REGISTERED            | REJECT #10 (implicitly detached)    |
| integrity check fails with the context found (§4.4.4.3) | REJECT #9 (the UE attaches again) |
| the roaming policy refuses a full-service UE in the new TA | REJECT with the policy's cause |
| otherwise                                          | ACCEPT; COMPLETE awaited under T3450 |

An emergency-only UE (TS 23.401 §4.3.12) is accepted wherever it moves (§5.5.3.2.5: the MME
does not reject a UE with a PDN connection for emergency bearer services over a restriction);
its TAI list holds the current TA only, so that it updates on every move. With the "active"
flag (§9.9.3.14) the accept rides in an INITIAL CONTEXT SETUP REQUEST (TS 23.401 §5.3.3.2
step 20) that gives the eNB the stored UE Radio Capability; without, the S1 connection is
released once the procedure ends (step 21).
"""

from __future__ import annotations

from corenet.codecs import nas
from corenet.codecs.base import Message
from corenet.codecs.nas_ies import Guti
from corenet.core.errors import DecodeError
from corenet.crypto import kdf
from corenet.crypto.nas_security import UPLINK
from corenet.nf.mme import causes, nas_path, s1ap_build
from corenet.nf.mme.accept import NETWORK_FEATURES, emergency_numbers, tai_list
from corenet.nf.mme.attach import UNAUTHENTICATED_KENB, refusal_here
from corenet.nf.mme.context import EmmState, Step, UeContext
from corenet.nf.mme.port import MmePort

# TS 24.301 §9.9.3.13 EPS update result
TA_UPDATED = 0


def on_tau_request(mme: MmePort, conn: UeContext, msg: Message, data: bytes) -> None:
    """TRACKING AREA UPDATE REQUEST on the connection `conn` (TS 24.301 §5.5.3.2.2): a new
    connection whose first message it is, or the UE's own context."""
    old = msg.fields.get("old_guti", {}).get("value")
    ue = _context_of(mme, conn, old)
    update_type = int(msg.fields.get("eps_update_type", 0))
    mme.log("emm.tau.request", mme_ue_id=conn.mme_ue_id, update_type=update_type & 0x7,
            active=bool(update_type & nas.ACTIVE_FLAG), found=ue is not None)
    if ue is None:
        reject(mme, conn, causes.UE_IDENTITY_CANNOT_BE_DERIVED, "old GUTI unknown")
        return
    if ue.emm_state is not EmmState.REGISTERED or ue.step is not Step.ATTACHED:
        reject(mme, conn, causes.IMPLICITLY_DETACHED, "not registered")
        return
    if not _integrity_ok(ue, conn, msg, data):
        reject(mme, conn, causes.UE_IDENTITY_CANNOT_BE_DERIVED,
               "integrity check failed (TS 24.301 §4.4.4.3)")
        return
    if ue is not conn:
        mme.adopt_connection(ue, conn)
    if not ue.emergency and _refused_here(mme, ue):
        return
    accept(mme, ue, active=bool(update_type & nas.ACTIVE_FLAG))


def _refused_here(mme: MmePort, ue: UeContext) -> bool:
    """The roaming policy in the new TA (`corenet.nf.mme.policy`): a full-service UE that
    may not be served there gets the policy's cause (#12, #13, #15, §5.5.3.2.5) and stays
    registered; an emergency-only UE is exempt (§5.5.3.2.5, emergency bearer services)."""
    refusal = refusal_here(mme, ue, "tau")
    if refusal is not None:
        reject(mme, ue, refusal.emm_cause, refusal.reason)
    return refusal is not None


def _context_of(mme: MmePort, conn: UeContext, old: object) -> UeContext | None:
    if not isinstance(old, Guti):
        return None
    if conn.guti == old or (conn.old_m_tmsi is not None and conn.guti is not None
                            and old.m_tmsi == conn.old_m_tmsi):
        return conn
    return mme.ue_by_guti(old)


def _integrity_ok(ue: UeContext, conn: UeContext, msg: Message, data: bytes) -> bool:
    """The request is integrity protected and its MAC checks with the UE's current
    context (TS 24.301 §4.4.4.3; §5.5.3.2.2: sent protected with the current context)."""
    sec = ue.security.sec
    if sec is None or not ue.security.secured:
        return False
    if ue is conn:
        return "security_header_type" in msg.fields and bool(msg.fields.get("mac_valid"))
    try:
        checked = nas.decode(data, sec, UPLINK)
    except DecodeError:
        return False
    return "security_header_type" in checked.fields and bool(checked.fields.get("mac_valid"))


def accept(mme: MmePort, ue: UeContext, active: bool) -> None:
    """TRACKING AREA UPDATE ACCEPT (TS 24.301 §5.5.3.2.4) with T3412, the TAI list and a new
    GUTI; T3450 guards it until TRACKING AREA UPDATE COMPLETE."""
    old_m_tmsi = ue.guti.m_tmsi if ue.guti is not None else None
    guti = mme.allocate_guti(ue)
    if old_m_tmsi is not None and old_m_tmsi not in mme.by_mtmsi:
        # both GUTIs valid until the complete (§5.5.3.2.4)
        ue.old_m_tmsi = old_m_tmsi
        mme.by_mtmsi[old_m_tmsi] = ue.mme_ue_id
    plain = nas.tracking_area_update_accept(
        TA_UPDATED, t3412=mme.cfg.t3412_s, guti=guti, tai_list=tai_list(mme, ue),
        emergency_numbers=emergency_numbers(mme),
        eps_network_feature_support=NETWORK_FEATURES)
    sht = nas_path.INTEGRITY_CIPHERED
    ue.tau_active = active
    if active and ue.session.pdn is not None:
        s1ap_build.initial_context_setup(mme, ue, _kenb(ue), nas_path.nas_pdu(ue, plain, sht))
        nas_path.start_nas_timer(mme, ue, "T3450", plain, sht)
    else:
        nas_path.send_guarded(mme, ue, "T3450", plain, sht)
    mme.log("emm.tau.accept_sent", imsi=ue.imsi, mme_ue_id=ue.mme_ue_id, tac=ue.tai[1],
            guti_m_tmsi=guti.m_tmsi, active=active, emergency=ue.emergency)


def _kenb(ue: UeContext) -> bytes:
    """KeNB from KASME and the uplink NAS COUNT of the TAU request (TS 33.401 A.3, §7.2.8.1)."""
    sec = ue.security
    if sec.sec is None or not sec.sec.kasme or not ue.authenticated:
        return UNAUTHENTICATED_KENB  # TS 33.401 §15.2.2
    return kdf.kenb(sec.sec.kasme, sec.sec.ul_count.value)


def on_tau_complete(mme: MmePort, ue: UeContext, _msg: Message) -> None:
    """TRACKING AREA UPDATE COMPLETE (TS 24.301 §5.5.3.2.4): the new GUTI is in use; without
    the active flag the S1 connection is released (TS 23.401 §5.3.3.2 step 21)."""
    if ue.nas_timer.name != "T3450":
        mme.log("nas.unexpected", mme_ue_id=ue.mme_ue_id, message="TrackingAreaUpdateComplete")
        return
    nas_path.stop_nas_timer(mme, ue)
    if ue.old_m_tmsi is not None and mme.by_mtmsi.get(ue.old_m_tmsi) == ue.mme_ue_id:
        del mme.by_mtmsi[ue.old_m_tmsi]
    ue.old_m_tmsi = None
    mme.log("emm.tau.completed", imsi=ue.imsi, mme_ue_id=ue.mme_ue_id, tac=ue.tai[1])
    if not ue.tau_active:
        mme.release(ue, s1ap_build.NAS_NORMAL_RELEASE, keep=True)


def reject(mme: MmePort, conn: UeContext, cause: int, reason: str) -> None:
    """TRACKING AREA UPDATE REJECT (TS 24.301 §5.5.3.2.5), then the S1 connection goes; a
    context the connection made goes with it, a registered one stays as it was."""
    nas_path.send_nas(mme, conn, nas.tracking_area_update_reject(cause), nas_path.PLAIN)
    mme.log("emm.tau.rejected", mme_ue_id=conn.mme_ue_id, imsi=conn.imsi, emm_cause=cause,
            reason=reason)
    keep = conn.emm_state is EmmState.REGISTERED and conn.step is Step.ATTACHED
    mme.release(conn, s1ap_build.NAS_NORMAL_RELEASE, keep=keep)


SEQUENCE = {(Step.ATTACHED, "TrackingAreaUpdateComplete"): on_tau_complete}
