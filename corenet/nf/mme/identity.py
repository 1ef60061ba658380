"""Who the UE is: identification (TS 24.301 §5.4.4), the IMSI a UE claims and when it
becomes the context's own (TS 23.401 §5.3.2.1 step 3), and its home network (TS 23.003 §2.2).
"""

from __future__ import annotations

from corenet.codecs import nas
from corenet.codecs.nas_ies import Guti
from corenet.nf.mme import emm_sm, nas_path, s1ap_build
from corenet.nf.mme.context import Step, UeContext
from corenet.nf.mme.port import MmePort

# TS 24.301 §5.4.4.2 identity type 2: IMSI
IDENTITY_IMSI = 1


def identification(mme: MmePort, ue: UeContext) -> None:
    """Identification procedure (TS 24.301 §5.4.4.2): ask the IMSI, start T3470."""
    ue.step = Step.IDENTIFICATION
    emm_sm.transition(ue, emm_sm.EmmEvent.COMMON_PROCEDURE)
    nas_path.send_guarded(mme, ue, "T3470", nas.identity_request(IDENTITY_IMSI))


def claim(mme: MmePort, ue: UeContext, imsi: str, by_request: bool) -> None:
    """The UE claims an IMSI. An older context of the same IMSI (its S1 connection, S11
    session and GUTI) is left untouched: the claim is unverified until authentication and
    security mode control succeed (TS 33.401 §5.1.4, TS 24.301 §5.5.1.2.7), and only then
    does `take_over` implicitly detach the old context (TS 23.401 §5.3.2.1 step 3)."""
    old = mme.ue_by_imsi(imsi)
    ue.imsi_claimed = old is not None and old is not ue
    mme.set_imsi(ue, imsi)
    ue.identified_by_request = ue.identified_by_request or by_request


def claim_known_guti(mme: MmePort, ue: UeContext, guti: Guti) -> bool:
    """A GUTI of ours still bound to a context: take over its IMSI (TS 24.301 §5.5.1.2.3)."""
    old = mme.ue_by_guti(guti)
    if old is None or old.imsi is None:
        return False
    claim(mme, ue, old.imsi, by_request=False)
    return True


def record_imei(ue: UeContext, imei: str) -> None:
    """Emergency attach identified by IMEI (TS 23.401 §4.3.12.1 "all UEs")."""
    ue.imei = imei[:14] + "0" if len(imei) == 16 else imei  # TS 23.003 §6.2.1: IMEI, spare 0
    if len(imei) == 16:
        ue.imeisv = imei


def take_over(mme: MmePort, ue: UeContext) -> None:
    """Security mode control completed: the claimed IMSI becomes the context's own. An older
    context of the same IMSI is implicitly detached (TS 23.401 §5.3.2.1 step 3: its session
    deleted, its S1 connection released) when the newcomer is authenticated (EPS AKA), or when
    neither is (an unauthenticated emergency attach, TS 33.401 §5.1.4.1); an unauthenticated
    newcomer never removes an authenticated context, and stays apart from it."""
    if ue.imsi is None or not ue.imsi_claimed:
        return
    old = mme.ue_by_imsi(ue.imsi)
    if old is not None and old is not ue:
        if old.authenticated and not ue.authenticated:
            mme.log("emm.context.kept", imsi=ue.imsi, old_mme_ue_id=old.mme_ue_id,
                    mme_ue_id=ue.mme_ue_id, reason="newcomer not authenticated")
            return
        mme.log("emm.context.replaced", imsi=ue.imsi, old_mme_ue_id=old.mme_ue_id,
                mme_ue_id=ue.mme_ue_id)
        emm_sm.transition(old, emm_sm.EmmEvent.ABORTED)
        mme.release(old, s1ap_build.NAS_NORMAL_RELEASE)
    ue.imsi_claimed = False


def is_roamer(mme: MmePort, ue: UeContext) -> bool:
    """A UE whose IMSI belongs to another PLMN than the MME's (TS 23.122 §1.2)."""
    return ue.imsi is not None and mme.home_network(ue.imsi).roamer


def home_realm(mme: MmePort, imsi: str) -> str | None:
    """The home realm (TS 23.003 §19.2) of a UE we may serve, or None (PLMN not allowed)."""
    return mme.home_network(imsi).realm
