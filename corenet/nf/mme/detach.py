"""UE-initiated detach at the MME (TS 24.301 §5.5.2.2; TS 23.401 §5.3.8.2.1): Delete Session,
Purge to the HSS, DETACH ACCEPT unless switch-off, then UE context release."""

from __future__ import annotations

from typing import Any

from corenet.codecs import nas
from corenet.codecs.base import Message
from corenet.nf.mme import emm_sm, identity, nas_path, pdn_connectivity, s1ap_build
from corenet.nf.mme.context import Step, UeContext
from corenet.nf.mme.port import MmePort


def on_detach_request(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """DETACH REQUEST (TS 24.301 §5.5.2.2.1), in any step of any procedure."""
    nas_path.stop_nas_timer(mme, ue)
    ue.switch_off = bool(msg.fields.get("switch_off"))
    emm_sm.transition(ue, emm_sm.EmmEvent.DETACH_REQUESTED)
    mme.log("emm.detach.request", imsi=ue.imsi, switch_off=ue.switch_off)
    session = ue.session
    if ue.imsi is not None and session.location_updated:
        # only an MME the HSS registered purges (TS 29.272 §5.2.1.3); never for a UE without ULR
        realm = identity.home_realm(mme, ue.imsi)
        if realm is not None and mme.s6a.route_for(realm) is not None:
            mme.send_s6a(ue, mme.s6a.pur(ue.imsi, realm), realm)
    if session.session_created and session.pdn is not None:
        session.session_created = False
        ue.step = Step.DETACHING
        mme.send_s11(ue, mme.s11.delete_session(ue, session.pdn))
        pdn_connectivity.delete_additional(mme, ue)
        return
    finish(mme, ue)


def finish(mme: MmePort, ue: UeContext, _answer: Any = None) -> None:
    """The PDN connection is deleted (or its Delete Session got no answer): DETACH ACCEPT
    unless switched off (TS 24.301 §5.5.2.2.2), then release (TS 23.401 §5.3.8.2.1 step 11)."""
    if not ue.switch_off:
        nas_path.send_nas(mme, ue, nas.detach_accept())
    emm_sm.transition(ue, emm_sm.EmmEvent.DETACH_COMPLETED)
    mme.log("emm.detach.completed", imsi=ue.imsi, mme_ue_id=ue.mme_ue_id)
    mme.release(ue, s1ap_build.NAS_DETACH)


# The detach's inputs, keyed like attach.SEQUENCE
SEQUENCE = {
    (Step.DETACHING, "DeleteSessionResponse"): finish,
    (Step.DETACHING, "DeleteSessionRequest failed"): finish,
}
ANY_STEP = {"DetachRequest": on_detach_request}
