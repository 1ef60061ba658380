"""The MME's NAS path: downlink NAS messages protected and sent in DOWNLINK NAS TRANSPORT, and
the one NAS timer per UE that guards a request and resends it (TS 24.301 §10.2).

T3450 (attach accept), T3460 (authentication, security mode), T3470 (identification) and
T3489 (ESM information) come from `MmeConfig.timers`.
"""

from __future__ import annotations

from corenet.codecs import nas
from corenet.nf.mme import emm_sm, s1ap_build
from corenet.nf.mme.context import Step, UeContext
from corenet.nf.mme.port import MmePort

# TS 24.301 §9.3.1 security header types the MME sends
PLAIN = 0
INTEGRITY_NEW_CONTEXT = 3  # Security Mode Command (§5.4.3.2)
INTEGRITY_CIPHERED = 2  # everything after a successful security mode control

# The clause of each NAS timer's expiry handling (TS 24.301 §10.2)
NAS_TIMER_CLAUSE = {
    "T3470": "TS 24.301 §5.4.4.6",
    "T3460": "TS 24.301 §5.4.2.7 / §5.4.3.7",
    "T3450": "TS 24.301 §5.5.1.2.7 / §5.5.3.2.7",
    "T3489": "TS 24.301 §6.6.1.2.6",
}


def downlink_sht(ue: UeContext) -> int:
    """Protected once security mode control has succeeded (TS 24.301 §4.4.2.3)."""
    sec = ue.security
    return INTEGRITY_CIPHERED if sec.secured and sec.sec is not None else PLAIN


def nas_pdu(ue: UeContext, plain: bytes, sht: int) -> bytes:
    if sht == PLAIN or ue.security.sec is None:
        return plain
    return nas.protect(plain, ue.security.sec, nas.DOWNLINK, sht)


def send_nas(mme: MmePort, ue: UeContext, plain: bytes, sht: int | None = None) -> None:
    """One downlink NAS message in a DOWNLINK NAS TRANSPORT."""
    s1ap_build.downlink_nas(mme, ue, nas_pdu(ue, plain, downlink_sht(ue) if sht is None
                                                 else sht))


def send_guarded(mme: MmePort, ue: UeContext, timer: str, plain: bytes,
                 sht: int | None = None) -> None:
    """Send a request and guard it with its NAS timer."""
    sht = downlink_sht(ue) if sht is None else sht
    send_nas(mme, ue, plain, sht)
    start_nas_timer(mme, ue, timer, plain, sht)


# the `MmeConfig.timers` field of each NAS timer
TIMER_FIELD = {"T3450": "t3450_s", "T3460": "t3460_s", "T3470": "t3470_s",
               "T3489": "t3489_s", "T3485": "t3485_s", "T3495": "t3495_s"}


def timer_seconds(mme: MmePort, name: str) -> float:
    seconds: float = getattr(mme.cfg.timers, TIMER_FIELD[name])
    return seconds


def start_nas_timer(mme: MmePort, ue: UeContext, name: str, plain: bytes, sht: int) -> None:
    """Guard a downlink message with its timer; it is resent on expiry (TS 24.301 §10.2)."""
    stop_nas_timer(mme, ue)
    ue.nas_timer.pending = (plain, sht)
    ue.nas_timer.retransmissions = 0
    ue.nas_timer.name = name
    mme.start_timer(name, ue.mme_ue_id, timer_seconds(mme, name))


def stop_nas_timer(mme: MmePort, ue: UeContext) -> None:
    if ue.nas_timer.name is not None:
        mme.stop_timer(ue.nas_timer.name, ue.mme_ue_id)
    ue.nas_timer.name = None
    ue.nas_timer.pending = None


def retransmit(mme: MmePort, ue: UeContext, name: str) -> bool:
    """Resend the message `name` guards and start it again; False once the retransmissions
    are spent (TS 24.301 §10.2, §10.3: five expiries in all)."""
    timer = ue.nas_timer
    if timer.pending is None or timer.retransmissions >= mme.cfg.timers.max_retransmissions:
        return False
    timer.retransmissions += 1
    plain, sht = timer.pending
    s1ap_build.downlink_nas(mme, ue, nas_pdu(ue, plain, sht))
    mme.start_timer(name, ue.mme_ue_id, timer_seconds(mme, name))
    mme.log("nas.retransmission", mme_ue_id=ue.mme_ue_id, timer=name,
            count=timer.retransmissions)
    return True


def on_nas_timer(mme: MmePort, ue: UeContext, name: str) -> None:
    """Expiry of T3450 / T3460 / T3470 / T3489: resend the guarded message, and on the
    (max_retransmissions + 1)-th expiry abort the procedure and release everything
    (TS 24.301 §5.4.2.7 c, §5.4.3.7 b, §5.4.4.6 b, §5.5.1.2.7 c)."""
    if name != ue.nas_timer.name or ue.nas_timer.pending is None or retransmit(mme, ue, name):
        return
    step = None if ue.step is None else ue.step.value
    stop_nas_timer(mme, ue)
    if name == "T3450" and ue.step is Step.ATTACHED:
        # §5.5.3.2.7 c: the tracking area update is aborted; the UE stays registered and
        # both its old and its new GUTI stay valid (the next TAU may use either)
        mme.log("emm.tau.aborted", mme_ue_id=ue.mme_ue_id, imsi=ue.imsi, timer=name,
                clause="TS 24.301 §5.5.3.2.7")
        mme.release(ue, s1ap_build.NAS_UNSPECIFIED, keep=True)
        return
    mme.log("emm.procedure.aborted", mme_ue_id=ue.mme_ue_id, imsi=ue.imsi, timer=name,
            step=step, clause=NAS_TIMER_CLAUSE.get(name, ""))
    emm_sm.transition(ue, emm_sm.EmmEvent.ABORTED)
    mme.release(ue, s1ap_build.NAS_UNSPECIFIED)
