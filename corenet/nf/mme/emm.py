"""EMM at the MME (TS 24.301 §5): the attach of a roaming UE (TS 23.401 §5.3.2.1) with
identification, authentication against the home HSS, security mode control, location update,
session creation and context setup; the UE-initiated detach; and the NAS timers.

Every handler acts on one decoded NAS message (or S6a/S11 answer) for one UE and emits actions
through the `MmeCore`; which message a UE may send in which step is the table `EXPECTED`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from corenet.codecs import nas, s6a
from corenet.codecs.base import Message
from corenet.codecs.nas_ies import EmergencyNumber, Guti, NetworkNameValue, Tai
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.identifiers import home_plmn_of
from corenet.crypto import kdf
from corenet.crypto.nas_security import UPLINK, NasSecurityContext
from corenet.nf.mme import causes, esm, policy, s1ap_handler
from corenet.nf.mme.context import AuthVector, EmmState, Step, UeContext
from corenet.nf.mme.mvno import mvno_of, rule_for
from corenet.nf.mme.s6a_client import outcome
from corenet.nf.mme.s11_client import accepted, cause_of

if TYPE_CHECKING:
    from corenet.nf.mme.core import MmeCore

# TS 24.301 §9.3.1 security header types the MME sends
PLAIN = 0
INTEGRITY_NEW_CONTEXT = 3  # Security Mode Command (§5.4.3.2)
INTEGRITY_CIPHERED = 2  # everything after a successful security mode control

# TS 24.301 §4.4.4.3: plain messages the MME processes although a security context exists
_PLAIN_ALLOWED = frozenset({
    "AttachRequest", "IdentityResponse", "AuthenticationResponse", "AuthenticationFailure",
    "SecurityModeReject", "DetachRequest", "DetachAccept", "TrackingAreaUpdateRequest",
})

# TS 24.301 §5.4.4.2 identity type 2: IMSI
IDENTITY_IMSI = 1
# TS 24.301 §9.9.3.11 EPS attach type
ATTACH_EPS, ATTACH_COMBINED, ATTACH_EMERGENCY = 1, 2, 6
# TS 33.401 §15.2.2: the KeNB given to the eNB for a UE without KASME (any value will do)
UNAUTHENTICATED_KENB = bytes(32)

# Which step a UE must be in for each EMM message (TS 24.301 §5.4, §5.5); any other step is
# "message not compatible with the protocol state" (§7.4: EMM STATUS #98).
EXPECTED: dict[str, frozenset[Step | None]] = {
    "IdentityResponse": frozenset({Step.IDENTIFICATION}),
    "AuthenticationResponse": frozenset({Step.AUTHENTICATION}),
    "AuthenticationFailure": frozenset({Step.AUTHENTICATION}),
    "SecurityModeComplete": frozenset({Step.SECURITY_MODE}),
    "SecurityModeReject": frozenset({Step.SECURITY_MODE}),
    "ESMInformationResponse": frozenset({Step.ESM_INFO}),
    "AttachComplete": frozenset({Step.CONTEXT_SETUP}),
}

# The NAS timer guarding each step, and the clause of its expiry handling (TS 24.301 §10.2)
NAS_TIMER_CLAUSE = {
    "T3470": "TS 24.301 §5.4.4.6",
    "T3460": "TS 24.301 §5.4.2.7 / §5.4.3.7",
    "T3450": "TS 24.301 §5.5.1.2.7",
    "T3489": "TS 24.301 §6.6.1.2.6",
}


# ============================================================================ NAS in / out


def on_uplink_nas(mme: MmeCore, ue: UeContext, data: bytes) -> None:
    """One uplink NAS message: integrity check (TS 24.301 §4.4.4.3), then its handler."""
    try:
        msg = nas.decode(data, ue.sec, UPLINK)
    except DecodeError as err:
        _on_nas_error(mme, ue, err)
        return
    protected = "security_header_type" in msg.fields
    if ue.sec is not None and protected and not msg.fields.get("mac_valid", False):
        mme.log("nas.discarded", mme_ue_id=ue.mme_ue_id, message=msg.name,
                reason="integrity check failed (TS 24.301 §4.4.4.3)")
        return
    if ue.sec is not None and ue.secured and not protected and msg.name not in _PLAIN_ALLOWED:
        mme.log("nas.discarded", mme_ue_id=ue.mme_ue_id, message=msg.name,
                reason="not integrity protected (TS 24.301 §4.4.4.3)")
        return
    if msg.name == "SecurityProtectedNASMessage":
        mme.log("nas.discarded", mme_ue_id=ue.mme_ue_id, reason="ciphered, no security context")
        return
    _dispatch(mme, ue, msg)


def _on_nas_error(mme: MmeCore, ue: UeContext, err: DecodeError) -> None:
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
    send_nas(mme, ue, plain)


def _dispatch(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    if msg.fields.get("eps_bearer_identity") is not None and msg.name in _ESM_ONLY:
        _on_standalone_esm(mme, ue, msg)
        return
    handler = HANDLERS.get(msg.name)
    if handler is None:
        mme.log("nas.unsupported", mme_ue_id=ue.mme_ue_id, message=msg.name)
        send_nas(mme, ue, nas.emm_status(causes.MESSAGE_NOT_COMPATIBLE_WITH_STATE))
        return
    allowed = EXPECTED.get(msg.name)
    if allowed is not None and ue.step not in allowed:
        mme.log("nas.unexpected", mme_ue_id=ue.mme_ue_id, message=msg.name,
                step=None if ue.step is None else ue.step.value)
        send_nas(mme, ue, nas.emm_status(causes.MESSAGE_NOT_COMPATIBLE_WITH_STATE))
        return
    handler(mme, ue, msg)


def downlink_sht(ue: UeContext) -> int:
    """Protected once security mode control has succeeded (TS 24.301 §4.4.2.3)."""
    return INTEGRITY_CIPHERED if ue.secured and ue.sec is not None else PLAIN


def nas_pdu(ue: UeContext, plain: bytes, sht: int) -> bytes:
    if sht == PLAIN or ue.sec is None:
        return plain
    return nas.protect(plain, ue.sec, nas.DOWNLINK, sht)


def send_nas(mme: MmeCore, ue: UeContext, plain: bytes, sht: int | None = None) -> None:
    """One downlink NAS message in a DOWNLINK NAS TRANSPORT."""
    s1ap_handler.downlink_nas(mme, ue, nas_pdu(ue, plain, downlink_sht(ue) if sht is None
                                                  else sht))


def start_nas_timer(mme: MmeCore, ue: UeContext, name: str, plain: bytes, sht: int) -> None:
    """Guard a downlink message with its timer; it is resent on expiry (TS 24.301 §10.2)."""
    stop_nas_timer(mme, ue)
    ue.pending_nas = (plain, sht)
    ue.retransmissions = 0
    ue.running_timer = name
    mme.start_timer(name, ue.mme_ue_id, _timer_seconds(mme, name))


def stop_nas_timer(mme: MmeCore, ue: UeContext) -> None:
    if ue.running_timer is not None:
        mme.stop_timer(ue.running_timer, ue.mme_ue_id)
    ue.running_timer = None
    ue.pending_nas = None


def _timer_seconds(mme: MmeCore, name: str) -> float:
    t = mme.cfg.timers
    return {"T3450": t.t3450_s, "T3460": t.t3460_s, "T3470": t.t3470_s}.get(name, 4.0)


def on_nas_timer(mme: MmeCore, ue: UeContext, name: str) -> None:
    """Expiry of T3450 / T3460 / T3470 / T3489: resend the guarded message, and on the
    (max_retransmissions + 1)-th expiry abort the procedure and release everything
    (TS 24.301 §5.4.2.7 c, §5.4.3.7 b, §5.4.4.6 b, §5.5.1.2.7 c)."""
    if ue.running_timer != name or ue.pending_nas is None:
        return
    if ue.retransmissions < mme.cfg.timers.max_retransmissions:
        ue.retransmissions += 1
        plain, sht = ue.pending_nas
        s1ap_handler.downlink_nas(mme, ue, nas_pdu(ue, plain, sht))
        mme.start_timer(name, ue.mme_ue_id, _timer_seconds(mme, name))
        mme.log("nas.retransmission", mme_ue_id=ue.mme_ue_id, timer=name,
                count=ue.retransmissions)
        return
    step = None if ue.step is None else ue.step.value
    stop_nas_timer(mme, ue)
    mme.log("emm.procedure.aborted", mme_ue_id=ue.mme_ue_id, imsi=ue.imsi, timer=name,
            step=step, clause=NAS_TIMER_CLAUSE.get(name, ""))
    ue.emm_state = EmmState.DEREGISTERED
    mme.release(ue, s1ap_handler.NAS_UNSPECIFIED)


# ============================================================================ attach


def on_attach_request(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """Attach procedure, network side (TS 24.301 §5.5.1.2.3; TS 23.401 §5.3.2.1 steps 1-3)."""
    f = msg.fields
    stop_nas_timer(mme, ue)
    ue.step, ue.emm_state = None, EmmState.DEREGISTERED
    ue.attach_type = int(f.get("eps_attach_type", ATTACH_EPS))
    ue.ue_ksi = int(f.get(nas.KSI, 7)) & 0x7
    ue.ue_net_cap = bytes(f.get("ue_network_capability", b""))
    ue.resync_done = ue.mac_failure_identity_done = False
    ue.sec, ue.secured, ue.vector = None, False, None
    ue.emergency = ue.authenticated = ue.location_updated = False
    ue.plan, ue.imei, ue.msisdn, ue.subscription = None, None, None, None
    container = f.get(nas.ESM_CONTAINER) or {}
    ue.pdn_request = container
    try:
        esm.pdn_request_of(container)
    except esm.EsmReject as rej:
        reject_attach(mme, ue, causes.ESM_FAILURE, esm_cause=int(container.get("error")
                                                                 or rej.esm_cause))
        return
    identity = f.get("eps_mobile_identity", {})
    mme.log("emm.attach.request", mme_ue_id=ue.mme_ue_id, identity=identity.get("type"),
            attach_type=ue.attach_type)
    if identity.get("type") == "imsi":
        _identified(mme, ue, str(identity["value"]), by_request=False)
    elif identity.get("type") == "guti" and _known_guti(mme, ue, identity["value"]):
        admit(mme, ue)
    elif identity.get("type") in ("imei", "imeisv") and ue.attach_type == ATTACH_EMERGENCY:
        # TS 24.301 §5.5.1.2.2: a UE without a valid USIM attaches for emergency with its IMEI
        _imei_only(mme, ue, str(identity["value"]))
    else:
        identification(mme, ue)


def _known_guti(mme: MmeCore, ue: UeContext, guti: Guti) -> bool:
    """A GUTI of ours still bound to a context: take over its IMSI (TS 24.301 §5.5.1.2.3)."""
    old = mme.ue_by_guti(guti)
    if old is None or old.imsi is None:
        return False
    _identified(mme, ue, old.imsi, by_request=False, authenticate=False)
    return True


def identification(mme: MmeCore, ue: UeContext) -> None:
    """Identification procedure (TS 24.301 §5.4.4.2): ask the IMSI, start T3470."""
    plain = nas.identity_request(IDENTITY_IMSI)
    ue.step = Step.IDENTIFICATION
    ue.emm_state = EmmState.COMMON_PROCEDURE_INITIATED
    send_nas(mme, ue, plain)
    start_nas_timer(mme, ue, "T3470", plain, downlink_sht(ue))


def on_identity_response(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """Identification completion (TS 24.301 §5.4.4.4): stop T3470."""
    stop_nas_timer(mme, ue)
    identity = msg.fields.get("mobile_identity", {})
    kind = identity.get("type")
    if kind in ("imei", "imeisv") and ue.attach_type == ATTACH_EMERGENCY and ue.imsi is None:
        _imei_only(mme, ue, str(identity["value"]))
        return
    if kind != "imsi":
        reject_attach(mme, ue, causes.UE_IDENTITY_CANNOT_BE_DERIVED)
        return
    _identified(mme, ue, str(identity["value"]), by_request=True)


def _imei_only(mme: MmeCore, ue: UeContext, imei: str) -> None:
    """Emergency attach identified by IMEI (TS 23.401 §4.3.12.1 "all UEs")."""
    ue.imei = imei[:14] + "0" if len(imei) == 16 else imei  # TS 23.003 §6.2.1: IMEI, spare 0
    if len(imei) == 16:
        ue.imeisv = imei
    admit(mme, ue)


def _identified(mme: MmeCore, ue: UeContext, imsi: str, by_request: bool,
                authenticate: bool = True) -> None:
    """The UE claims an IMSI. An older context of the same IMSI (its S1 connection, S11
    session and GUTI) is left untouched: the claim is unverified until authentication and
    security mode control succeed (TS 33.401 §5.1.4, TS 24.301 §5.5.1.2.7), and only then
    does `take_over` implicitly detach the old context (TS 23.401 §5.3.2.1 step 3)."""
    old = mme.ue_by_imsi(imsi)
    ue.imsi_claimed = old is not None and old is not ue
    ue.imsi = imsi
    ue.identified_by_request = ue.identified_by_request or by_request
    if authenticate:
        admit(mme, ue)


def take_over(mme: MmeCore, ue: UeContext) -> None:
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
        old.emm_state = EmmState.DEREGISTERED
        mme.release(old, s1ap_handler.NAS_NORMAL_RELEASE)
    ue.imsi_claimed = False


def admit(mme: MmeCore, ue: UeContext) -> None:
    """The roaming policy on an identified UE (`corenet.nf.mme.policy`), then authentication
    (TS 23.401 §5.3.2.1 step 5a) or, for emergency, the unauthenticated path (§4.3.12.1)."""
    emergency = ue.attach_type == ATTACH_EMERGENCY
    tac = ue.tai[1]
    rule: policy.Policy | None
    if ue.imsi is None:
        rule = mme.policy.imei_only_allowed(tac)
        decision = policy.decide(rule, emergency=emergency, has_imsi=False, own=False,
                                 hss_down=False)
    else:
        home = home_plmn_of(ue.imsi, (mme.plmn, *mme.home_plmns))
        own = home == mme.plmn
        rule = None if own else mme.policy.effective(home, tac)
        mvno = None if own else mvno_of(ue.imsi, mme.mvnos)
        if mvno is not None:  # an MVNO's UE: its host's rule, as the MVNO allows it
            rule = rule_for(mvno, lambda host: mme.policy.effective(host, tac))
            mme.log("policy.mvno", imsi=ue.imsi, mvno=mvno.name, mvno_kind=mvno.kind,
                    mode=None if rule is None else rule.mode.value)
        decision = policy.decide(rule, emergency=emergency, has_imsi=True, own=own,
                                 hss_down=mme.hss_down(home.realm))
    mode = None if rule is None else rule.mode.value
    if isinstance(decision, policy.Refusal):
        mme.log("policy.attach.refused", imsi=ue.imsi, imei=ue.imei, tac=tac, mode=mode,
                emergency=emergency, emm_cause=decision.emm_cause, reason=decision.reason)
        reject_attach(mme, ue, decision.emm_cause)
        return
    ue.plan, ue.emergency = decision, decision.emergency
    mme.log("policy.attach.admitted", imsi=ue.imsi, imei=ue.imei, tac=tac, mode=mode,
            emergency=emergency, authenticate=decision.authenticate, reason=decision.reason)
    if decision.authenticate:
        begin_authentication(mme, ue)
    else:
        if rule is not None and rule.mode is policy.Mode.EMERGENCY_AUTH:
            mme.log("policy.fallback.unauth", imsi=ue.imsi, reason=decision.reason)
        unauthenticated(mme, ue)


def _fallback_unauth(mme: MmeCore, ue: UeContext, why: str, on_failure: bool) -> bool:
    """Go on unauthenticated when the plan allows it (TS 23.401 §4.3.12.1 "IMSI required,
    authentication optional"; emergency-auth with fallback while the home HSS is down)."""
    plan = ue.plan
    allowed = isinstance(plan, policy.AttachPlan) and (
        plan.unauth_on_failure if on_failure else plan.unauth_on_no_answer)
    if not allowed:
        return False
    mme.log("policy.fallback.unauth", imsi=ue.imsi, reason=why)
    stop_nas_timer(mme, ue)
    unauthenticated(mme, ue)
    return True


def unauthenticated(mme: MmeCore, ue: UeContext) -> None:
    """Emergency attach without authentication: SECURITY MODE COMMAND with EIA0/EEA0 (TS 33.401
    §5.1.4.1: null integrity only for unauthenticated emergency bearer services; TS 24.301
    §5.4.3.2: KSI 0). No KASME exists: no key is derived, and the NAS COUNTs of a null context
    already in use are kept."""
    ue.authenticated, ue.vector = False, None
    ue.ksi = 0
    old = ue.sec if ue.sec is not None and ue.sec.eia == 0 else None
    ue.sec = NasSecurityContext(ksi=0, kasme=b"", eia=0, eea=0, k_nas_int=b"", k_nas_enc=b"")
    if old is not None:
        ue.sec.ul_count, ue.sec.dl_count = old.ul_count, old.dl_count
    ue.secured = False
    plain = nas.security_mode_command(0, 0, 0, replayed_capabilities(ue.ue_net_cap),
                                      imeisv_request=True)
    ue.step = Step.SECURITY_MODE
    ue.emm_state = EmmState.COMMON_PROCEDURE_INITIATED
    send_nas(mme, ue, plain, INTEGRITY_NEW_CONTEXT)
    start_nas_timer(mme, ue, "T3460", plain, INTEGRITY_NEW_CONTEXT)
    mme.log("emm.security.null", imsi=ue.imsi, imei=ue.imei, clause="TS 33.401 §5.1.4.1")


def is_roamer(mme: MmeCore, ue: UeContext) -> bool:
    """A UE whose IMSI belongs to another PLMN than the MME's (TS 23.122 §1.2)."""
    return ue.imsi is not None and home_plmn_of(ue.imsi, (mme.plmn, *mme.home_plmns)) != mme.plmn


def _home_realm(mme: MmeCore, ue: UeContext) -> str | None:
    """The home realm (TS 23.003 §19.2) of a UE we may serve, or None (PLMN not allowed)."""
    assert ue.imsi is not None
    home = home_plmn_of(ue.imsi, (mme.plmn, *mme.home_plmns))
    if home != mme.plmn and home not in mme.home_plmns:
        return None
    return home.realm


def begin_authentication(mme: MmeCore, ue: UeContext, resync: bytes | None = None) -> None:
    """AIR to the home HSS (TS 29.272 §5.2.3.1; TS 23.401 §5.3.2.1 step 5a), Visited-PLMN-Id
    = the MME's PLMN; resync = RAND || AUTS after a synch failure (TS 33.102 §6.3.5)."""
    assert ue.imsi is not None
    realm = _home_realm(mme, ue)
    if realm is None:
        mme.log("emm.attach.roaming_refused", imsi=ue.imsi)
        reject_attach(mme, ue, causes.PLMN_NOT_ALLOWED)
        return
    if mme.s6a.route_for(realm) is None:
        mme.log("s6a.no_route", realm=realm, imsi=ue.imsi)
        if not _fallback_unauth(mme, ue, "no route to the home HSS", on_failure=False):
            reject_attach(mme, ue, causes.NETWORK_FAILURE)
        return
    ue.step = Step.AUTH_INFO
    ue.emm_state = EmmState.COMMON_PROCEDURE_INITIATED
    mme.send_s6a(ue, mme.s6a.air(ue.imsi, realm, resync), realm)


def on_s6a_answer(mme: MmeCore, ue: UeContext, command: str, msg: Message) -> None:
    if command == "AIR" and ue.step is Step.AUTH_INFO:
        _on_aia(mme, ue, msg)
    elif command == "ULR" and ue.step is Step.UPDATE_LOCATION:
        _on_ula(mme, ue, msg)
    else:
        mme.log("s6a.answer", command=command, mme_ue_id=ue.mme_ue_id,
                result=outcome(msg).code)


def on_s6a_failure(mme: MmeCore, ue: UeContext, command: str, reason: str) -> None:
    """No S6a answer (TS 29.272 Annex A: network failure, #17)."""
    mme.log("s6a.failed", command=command, mme_ue_id=ue.mme_ue_id, reason=reason)
    if (command, ue.step) == ("AIR", Step.AUTH_INFO):
        if not _fallback_unauth(mme, ue, f"AIR: {reason}", on_failure=False):
            reject_attach(mme, ue, causes.NETWORK_FAILURE)
    elif (command, ue.step) == ("ULR", Step.UPDATE_LOCATION):
        if ue.emergency:
            _emergency_without_subscription(mme, ue, f"ULR: {reason}")
        else:
            reject_attach(mme, ue, causes.NETWORK_FAILURE)


def _s6a_failed(mme: MmeCore, ue: UeContext, msg: Message) -> bool:
    res = outcome(msg)
    if res.ok:
        return False
    cause = causes.emm_cause_for_s6a(res.code, res.experimental)
    mme.log("s6a.rejected", command=msg.name, imsi=ue.imsi, result_code=res.code,
            experimental=res.experimental, emm_cause=cause)
    reject_attach(mme, ue, cause)
    return True


def _on_aia(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """AIA (TS 29.272 §5.2.3.1.3), then AUTHENTICATION REQUEST (TS 24.301 §5.4.2.2)."""
    res = outcome(msg)
    if not res.ok and _fallback_unauth(mme, ue, f"AIA result {res.code}", on_failure=True):
        return
    if _s6a_failed(mme, ue, msg):
        return
    vectors = s6a.vectors_of(msg)
    if not vectors:
        reject_attach(mme, ue, causes.NETWORK_FAILURE)
        return
    v = vectors[0]
    ue.vector = AuthVector(v.rand, v.xres, v.autn, v.kasme)
    # TS 24.301 §5.4.2.2: a KSI the UE does not hold (7 means "no key available")
    ue.ksi = 0 if ue.ue_ksi in (7, 6) else (ue.ue_ksi + 1) % 7
    plain = nas.authentication_request(ue.ksi, v.rand, v.autn)
    ue.step = Step.AUTHENTICATION
    send_nas(mme, ue, plain, PLAIN)
    start_nas_timer(mme, ue, "T3460", plain, PLAIN)


def on_authentication_response(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """TS 24.301 §5.4.2.4: RES = XRES completes the authentication, otherwise §5.4.2.5."""
    stop_nas_timer(mme, ue)
    res = bytes(msg.fields.get("authentication_response_parameter", b""))
    assert ue.vector is not None
    if not hmac.compare_digest(res, ue.vector.xres):
        mme.log("emm.authentication.failed", imsi=ue.imsi, reason="RES mismatch")
        if not _fallback_unauth(mme, ue, "RES mismatch", on_failure=True):
            authentication_reject(mme, ue)
        return
    ue.authenticated = True
    mme.log("emm.authentication.succeeded", imsi=ue.imsi)
    security_mode_control(mme, ue)


def on_authentication_failure(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """Authentication not accepted by the UE (TS 24.301 §5.4.2.6)."""
    stop_nas_timer(mme, ue)
    cause = int(msg.fields.get(nas.EMM_CAUSE, 0))
    mme.log("emm.authentication.ue_failure", imsi=ue.imsi, emm_cause=cause)
    if cause == causes.SYNCH_FAILURE and not ue.resync_done and ue.vector is not None:
        # §5.4.2.6 d: re-synchronise with RAND || AUTS (TS 29.272 §7.3.15), new challenge
        ue.resync_done = True
        auts = bytes(msg.fields["authentication_failure_parameter"])
        begin_authentication(mme, ue, resync=ue.vector.rand + auts)
    elif cause == causes.MAC_FAILURE and not ue.mac_failure_identity_done:
        # §5.4.2.6 c: the network may obtain the IMSI by identification, then authenticate
        ue.mac_failure_identity_done = True
        identification(mme, ue)
    elif not _fallback_unauth(mme, ue, f"authentication failure #{cause}", on_failure=True):
        authentication_reject(mme, ue)


def authentication_reject(mme: MmeCore, ue: UeContext) -> None:
    """AUTHENTICATION REJECT and release (TS 24.301 §5.4.2.5)."""
    send_nas(mme, ue, nas.authentication_reject(), PLAIN)
    ue.emm_state = EmmState.DEREGISTERED
    mme.log("emm.attach.rejected", imsi=ue.imsi, reason="authentication")
    mme.release(ue, s1ap_handler.NAS_AUTHENTICATION_FAILURE)


def _select(preferred: list[int], supported: bytes, octet: int) -> int | None:
    """The most preferred algorithm the UE supports (TS 33.401 §7.2.4.4): TS 24.301
    §9.9.3.34 octet bit 8 is algorithm 0, bit 7 algorithm 1, ..."""
    if len(supported) <= octet:
        return None
    bits = supported[octet]
    return next((a for a in preferred if bits & (0x80 >> a)), None)


def replayed_capabilities(ue_net_cap: bytes) -> bytes:
    """UE security capability (TS 24.301 §9.9.3.36) replayed from the UE network capability:
    the EEA/EIA octets, and the UEA/UIA octets when present (UIA bit 8 is spare)."""
    caps = bytearray(ue_net_cap[:2])
    if len(ue_net_cap) >= 4:
        caps += bytes([ue_net_cap[2], ue_net_cap[3] & 0x7F])
    return bytes(caps)


def security_mode_control(mme: MmeCore, ue: UeContext) -> None:
    """SECURITY MODE COMMAND with the new context (TS 24.301 §5.4.3.2: security header
    type 3; keys per TS 33.401 A.7), start T3460."""
    eia = _select(mme.cfg.security.eia, ue.ue_net_cap, 1)
    eea = _select(mme.cfg.security.eea, ue.ue_net_cap, 0)
    if eia is None or eea is None or ue.vector is None:
        mme.log("emm.security.mismatch", imsi=ue.imsi)
        reject_attach(mme, ue, causes.UE_SECURITY_CAPABILITIES_MISMATCH)
        return
    ue.sec = NasSecurityContext.from_kasme(ue.ksi, ue.vector.kasme, eia, eea)
    plain = nas.security_mode_command(eea, eia, ue.ksi, replayed_capabilities(ue.ue_net_cap),
                                      imeisv_request=True)
    ue.step = Step.SECURITY_MODE
    send_nas(mme, ue, plain, INTEGRITY_NEW_CONTEXT)
    start_nas_timer(mme, ue, "T3460", plain, INTEGRITY_NEW_CONTEXT)


def on_security_mode_complete(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """TS 24.301 §5.4.3.4: the new context is taken into use; then ESM information or ULR."""
    stop_nas_timer(mme, ue)
    ue.secured = True
    imeisv = msg.fields.get("imeisv")
    if isinstance(imeisv, dict) and imeisv.get("type") == "imeisv":
        ue.imeisv = str(imeisv["value"])
    assert ue.sec is not None
    mme.log("emm.security.established", imsi=ue.imsi, eia=ue.sec.eia, eea=ue.sec.eea)
    take_over(mme, ue)
    req = esm.pdn_request_of(ue.pdn_request)
    if req.esm_info_transfer:
        # TS 24.301 §6.6.1.2: ask for the APN / PCO now that ciphering is on
        plain = nas.esm_information_request(req.pti)
        ue.step = Step.ESM_INFO
        send_nas(mme, ue, plain)
        start_nas_timer(mme, ue, "T3489", plain, downlink_sht(ue))
        return
    after_security(mme, ue)


def on_security_mode_reject(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """TS 24.301 §5.4.3.5: abort the ongoing procedure that triggered the SMC."""
    stop_nas_timer(mme, ue)
    ue.sec = None
    mme.log("emm.security.rejected", imsi=ue.imsi, emm_cause=msg.fields.get(nas.EMM_CAUSE))
    ue.emm_state = EmmState.DEREGISTERED
    mme.release(ue, s1ap_handler.NAS_UNSPECIFIED)


def on_esm_information_response(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """ESM information request procedure completion (TS 24.301 §6.6.1.2.3)."""
    stop_nas_timer(mme, ue)
    fields = dict(ue.pdn_request.get("fields", {}))
    for key in (nas.APN, nas.PCO):
        if key in msg.fields:
            fields[key] = msg.fields[key]
    ue.pdn_request = {**ue.pdn_request, "fields": fields}
    after_security(mme, ue)


def after_security(mme: MmeCore, ue: UeContext) -> None:
    """ULR for an authenticated UE; none for an unauthenticated one (TS 23.401 §5.3.2.1
    step 8), which goes straight to the emergency PDN connection."""
    if ue.authenticated:
        update_location(mme, ue)
    else:
        _emergency_without_subscription(mme, ue, "unauthenticated")


def update_location(mme: MmeCore, ue: UeContext) -> None:
    """ULR (TS 29.272 §5.2.1.1; TS 23.401 §5.3.2.1 step 8)."""
    assert ue.imsi is not None
    realm = _home_realm(mme, ue) or ""
    ue.step = Step.UPDATE_LOCATION
    # TS 29.272 §5.2.1.1.2 / §7.3.7: Initial-Attach-Indicator on every initial attach; an
    # emergency attach (TS 24.301 §9.9.3.11, EPS attach type 6) is an initial attach too.
    initial = ue.attach_type in (ATTACH_EPS, ATTACH_COMBINED, ATTACH_EMERGENCY)
    mme.send_s6a(ue, mme.s6a.ulr(ue.imsi, realm, ue.imeisv, initial), realm)


def _on_ula(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """ULA (TS 29.272 §5.2.1.1.3): subscription, then Create Session (step 12)."""
    if _s6a_failed(mme, ue, msg):
        return
    sub = s6a.subscription_data_of(msg)
    if sub is None:
        reject_attach(mme, ue, causes.NETWORK_FAILURE)
        return
    roamer = is_roamer(mme, ue)
    cap = mme.cfg.roaming.ambr_cap
    ue.subscription, ue.msisdn = sub, sub.msisdn
    ue.location_updated = True
    if ue.emergency:
        _emergency_session(mme, ue)
        return
    ue.ue_ambr_ul_bps, ue.ue_ambr_dl_bps = esm.ue_ambr(sub, cap, roamer)
    try:
        req = esm.pdn_request_of(ue.pdn_request)
        ue.pdn = esm.build_pdn(sub, req, cap, roamer)
    except esm.EsmReject as rej:
        mme.log("esm.pdn.rejected", imsi=ue.imsi, esm_cause=rej.esm_cause, detail=str(rej))
        reject_attach(mme, ue, causes.ESM_FAILURE, esm_cause=rej.esm_cause)
        return
    mme.log("emm.location.updated", imsi=ue.imsi, roamer=roamer, apn=ue.pdn.apn,
            ue_ambr=[ue.ue_ambr_ul_bps, ue.ue_ambr_dl_bps])
    create_session(mme, ue)


def _emergency_without_subscription(mme: MmeCore, ue: UeContext, why: str) -> None:
    """An emergency attach goes on without subscription data: not authenticated (no ULR), or
    the HSS did not give it (TS 23.401 §5.3.2.1 step 11: restrictions of the subscription do
    not apply to emergency bearer services)."""
    mme.log("emm.emergency.no_subscription", imsi=ue.imsi, imei=ue.imei, reason=why)
    _emergency_session(mme, ue)


def _emergency_session(mme: MmeCore, ue: UeContext) -> None:
    """The emergency PDN connection: APN, QoS and P-GW from the MME's emergency configuration,
    never from the HSS (TS 23.401 §4.3.12.3; request type "emergency", TS 24.301 §9.9.4.14)."""
    emergency = mme.cfg.emergency
    try:
        req = esm.pdn_request_of(ue.pdn_request)
    except esm.EsmReject as rej:
        reject_attach(mme, ue, causes.ESM_FAILURE, esm_cause=rej.esm_cause)
        return
    ue.pdn = esm.emergency_pdn(emergency, req)
    ue.ue_ambr_ul_bps, ue.ue_ambr_dl_bps = emergency.ambr.ul_bps, emergency.ambr.dl_bps
    mme.log("emm.emergency.pdn", imsi=ue.imsi, apn=ue.pdn.apn, qci=ue.pdn.bearer.qci,
            authenticated=ue.authenticated, msisdn=ue.msisdn)
    create_session(mme, ue)


def create_session(mme: MmeCore, ue: UeContext) -> None:
    """Create Session Request (TS 23.401 §5.3.2.1 step 12): an unauthenticated IMSI carries
    the UIMSI flag (TS 29.274 §8.12); an emergency PDN goes to the emergency P-GW."""
    assert ue.pdn is not None
    ue.step = Step.CREATE_SESSION
    ambr_kbps = (ue.pdn.apn_ambr_ul_bps // 1000, ue.pdn.apn_ambr_dl_bps // 1000)
    pgw = None
    if ue.emergency:
        pgw = mme.cfg.emergency.pgw_s5s8_address or mme.cfg.pgw_s5s8_address
    uimsi = ue.unauthenticated_emergency and ue.imsi is not None
    mme.send_s11(ue, mme.s11.create_session(ue, ue.pdn, ambr_kbps, uimsi=uimsi,
                                            pgw_address=pgw))


# ============================================================================ S11 and S1


def on_s11_response(mme: MmeCore, ue: UeContext, name: str, msg: Message) -> None:
    if name == "CreateSessionRequest" and ue.step is Step.CREATE_SESSION:
        _on_create_session_response(mme, ue, msg)
    elif name == "DeleteSessionRequest" and ue.step is Step.DETACHING:
        finish_detach(mme, ue)
    else:
        mme.log("s11.response", message=msg.name, mme_ue_id=ue.mme_ue_id,
                cause=cause_of(msg))


def on_s11_failure(mme: MmeCore, ue: UeContext, name: str, reason: str) -> None:
    mme.log("s11.failed", request=name, mme_ue_id=ue.mme_ue_id, reason=reason)
    if name == "CreateSessionRequest" and ue.step is Step.CREATE_SESSION:
        reject_attach(mme, ue, causes.ESM_FAILURE, esm_cause=causes.ESM_NETWORK_FAILURE)
    elif name == "DeleteSessionRequest" and ue.step is Step.DETACHING:
        finish_detach(mme, ue)


# TS 29.274 Table 8.4-1 -> TS 24.301 §9.9.4.4 for a refused Create Session
_GTP_TO_ESM = {78: causes.ESM_MISSING_OR_UNKNOWN_APN, 83: causes.ESM_UNKNOWN_PDN_TYPE,
               84: causes.ESM_INSUFFICIENT_RESOURCES, 73: causes.ESM_INSUFFICIENT_RESOURCES}


def _on_create_session_response(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """Create Session Response (TS 29.274 §7.2.2), then Initial Context Setup with the
    Attach Accept (TS 23.401 §5.3.2.1 steps 16-17)."""
    pdn = ue.pdn
    assert pdn is not None
    if not accepted(msg):
        cause = cause_of(msg)
        mme.log("s11.session.refused", imsi=ue.imsi, cause=cause)
        reject_attach(mme, ue, causes.ESM_FAILURE,
                      esm_cause=_GTP_TO_ESM.get(cause or 0, causes.ESM_REQUEST_REJECTED_UNSPECIFIED))
        return
    f = msg.fields
    ue.session_created = True
    sgw = f.get("sender_fteid_c") or {}
    pdn.sgw_s11_teid, pdn.sgw_s11_ip = sgw.get("teid"), sgw.get("ipv4")
    pdn.pgw_s5_fteid = f.get("pgw_s5s8_fteid_c")
    esm.narrow_pdn_type(pdn, cause_of(msg), f.get("paa"))
    esm.apply_paa(pdn, f.get("paa"))
    pdn.pco = f.get("pco")
    for bc in f.get("bearer_contexts_created", []):
        s1u = bc.get("s1u_sgw_fteid") or {}
        if bc.get("ebi") == pdn.bearer.ebi:
            pdn.bearer.sgw_s1u_ip = s1u.get("ipv4") or s1u.get("ipv6")
            pdn.bearer.sgw_s1u_teid = s1u.get("teid")
    attach_accept(mme, ue)


def emergency_numbers(mme: MmeCore) -> list[EmergencyNumber]:
    """The Emergency Number List (TS 24.008 §10.5.3.13) from MmeConfig.roaming."""
    return [EmergencyNumber(e.digits, tuple(e.categories))
            for e in mme.cfg.roaming.emergency_numbers]


def attach_accept(mme: MmeCore, ue: UeContext) -> None:
    """ATTACH ACCEPT (TS 24.301 §5.5.1.2.4) with the ACTIVATE DEFAULT EPS BEARER CONTEXT
    REQUEST, in the INITIAL CONTEXT SETUP REQUEST with KeNB (TS 33.401 A.3, uplink NAS COUNT
    of the last uplink NAS message); T3450 guards it."""
    assert ue.pdn is not None and ue.sec is not None
    req = esm.pdn_request_of(ue.pdn_request)
    guti = mme.allocate_guti(ue)
    bearer_req = esm.activate_default_bearer_request(ue.pdn, req.pti)
    tais = [Tai(mme.plmn, tac) for tac in mme.cfg.tacs[:16]]
    plain = nas.attach_accept(
        tais, bearer_req, attach_result=1, t3412=mme.cfg.t3412_s, guti=guti,
        emergency_numbers=emergency_numbers(mme),
        eps_network_feature_support={"ims_vops": 1, "emc_bs": 1})
    if ue.vector is not None and ue.authenticated:
        kenb = kdf.kenb(ue.vector.kasme, ue.sec.ul_count.value)
    else:
        # TS 33.401 §15.2.2: without KASME the eNB is given an arbitrary KeNB and the UE
        # security capabilities of the null algorithms only, so AS runs EIA0/EEA0
        kenb = UNAUTHENTICATED_KENB
    ue.step = Step.CONTEXT_SETUP
    s1ap_handler.initial_context_setup(mme, ue, kenb, nas_pdu(ue, plain, INTEGRITY_CIPHERED))
    start_nas_timer(mme, ue, "T3450", plain, INTEGRITY_CIPHERED)
    mme.log("emm.attach.accept_sent", imsi=ue.imsi, guti_m_tmsi=guti.m_tmsi,
            ue_ambr=[ue.ue_ambr_ul_bps, ue.ue_ambr_dl_bps])


def on_ics_response(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """INITIAL CONTEXT SETUP RESPONSE (TS 36.413 §8.3.1.2), then Modify Bearer with the eNB
    S1-U F-TEID (TS 23.401 §5.3.2.1 step 23)."""
    pdn = ue.pdn
    if pdn is None or not ue.session_created:
        return
    setup = s1ap_handler.erab_setup(msg, pdn.bearer.ebi)
    if setup is None:
        mme.log("s1ap.ics.no_bearer", mme_ue_id=ue.mme_ue_id)
        return
    address, teid = setup
    pdn.bearer.enb_s1u_ip, pdn.bearer.enb_s1u_teid = address.split(",")[0], teid
    mme.send_s11(ue, mme.s11.modify_bearer(ue, pdn))


def on_attach_complete(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """ATTACH COMPLETE (TS 24.301 §5.5.1.2.4): stop T3450, EMM-REGISTERED; then EMM
    INFORMATION (§5.4.5) with the network name and time zone."""
    stop_nas_timer(mme, ue)
    container = msg.fields.get(nas.ESM_CONTAINER) or {}
    if container.get("name") != "ActivateDefaultEPSBearerContextAccept":
        mme.log("esm.default_bearer.not_accepted", imsi=ue.imsi, esm=container.get("name"))
    ue.step, ue.emm_state, ue.attach_complete = Step.ATTACHED, EmmState.REGISTERED, True
    mme.log("emm.attach.accepted", imsi=ue.imsi, imei=ue.imei, mme_ue_id=ue.mme_ue_id,
            roamer=is_roamer(mme, ue), apn=ue.pdn.apn if ue.pdn else None,
            emergency=ue.emergency, authenticated=ue.authenticated, msisdn=ue.msisdn)
    if not ue.emergency:
        # an emergency-only UE is in limited service and shows no network name (seed report)
        emm_information(mme, ue)


def emm_information(mme: MmeCore, ue: UeContext) -> None:
    """EMM INFORMATION (TS 24.301 §5.4.5): "JPN-ROAM X" names, local time and time zone."""
    name = mme.cfg.roaming.network_name
    tz = mme.cfg.time_zone_quarters
    now = datetime.fromtimestamp(mme.told_time() if mme.told_time else mme.now, UTC)
    plain = nas.emm_information(NetworkNameValue(name.full), NetworkNameValue(name.short),
                                local_time_zone=tz, universal_time=now, time_zone=tz)
    send_nas(mme, ue, plain)


def reject_attach(mme: MmeCore, ue: UeContext, cause: int, esm_cause: int | None = None) -> None:
    """ATTACH REJECT (TS 24.301 §5.5.1.2.5), integrity protected when a security context is
    in use (§4.4.4.2), then release of the UE (TS 23.401 §5.3.2.1)."""
    stop_nas_timer(mme, ue)
    container = None
    if esm_cause is not None:
        pti = int(ue.pdn_request.get("fields", {}).get(nas.PTI, 0))
        container = esm.pdn_connectivity_reject(pti, esm_cause)
    try:
        plain = nas.attach_reject(cause, container)
    except EncodeError:
        plain = nas.attach_reject(cause)
    send_nas(mme, ue, plain)
    ue.emm_state = EmmState.DEREGISTERED
    mme.log("emm.attach.rejected", imsi=ue.imsi, mme_ue_id=ue.mme_ue_id, emm_cause=cause,
            esm_cause=esm_cause)
    mme.release(ue, s1ap_handler.NAS_UNSPECIFIED)


# ============================================================================ detach


def on_detach_request(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """UE-initiated detach (TS 24.301 §5.5.2.2; TS 23.401 §5.3.8.2.1): Delete Session, Purge
    to the HSS, DETACH ACCEPT unless switch-off, then UE context release."""
    stop_nas_timer(mme, ue)
    ue.switch_off = bool(msg.fields.get("switch_off"))
    ue.emm_state = EmmState.DEREGISTERED_INITIATED
    mme.log("emm.detach.request", imsi=ue.imsi, switch_off=ue.switch_off)
    if ue.imsi is not None and ue.location_updated:
        # only an MME the HSS registered purges (TS 29.272 §5.2.1.3); never for a UE without ULR
        realm = _home_realm(mme, ue)
        if realm is not None and mme.s6a.route_for(realm) is not None:
            mme.send_s6a(ue, mme.s6a.pur(ue.imsi, realm), realm)
    if ue.session_created and ue.pdn is not None:
        ue.session_created = False
        ue.step = Step.DETACHING
        mme.send_s11(ue, mme.s11.delete_session(ue, ue.pdn))
        return
    finish_detach(mme, ue)


def finish_detach(mme: MmeCore, ue: UeContext) -> None:
    if not ue.switch_off:
        send_nas(mme, ue, nas.detach_accept())
    ue.emm_state = EmmState.DEREGISTERED
    mme.log("emm.detach.completed", imsi=ue.imsi, mme_ue_id=ue.mme_ue_id)
    mme.release(ue, s1ap_handler.NAS_DETACH)


# ============================================================================ ESM alone


_ESM_ONLY = frozenset({
    "PDNConnectivityRequest", "PDNDisconnectRequest", "BearerResourceAllocationRequest",
    "BearerResourceModificationRequest", "ActivateDefaultEPSBearerContextAccept",
    "ActivateDefaultEPSBearerContextReject", "ESMStatus",
})


def _on_standalone_esm(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """ESM outside the attach: only the default bearer exists here; a request for more is
    refused (TS 24.301 §6.5.1.4 #31) and other messages are answered by ESM STATUS #98."""
    f = msg.fields
    pti, ebi = int(f.get(nas.PTI, 0)), int(f.get(nas.EBI, 0))
    mme.log("esm.standalone", imsi=ue.imsi, message=msg.name)
    if msg.name == "ESMStatus":
        return
    if msg.name == "PDNConnectivityRequest":
        cause = causes.ESM_REQUEST_REJECTED_UNSPECIFIED
        if ue.emergency:
            # emergency-only UE (module table of corenet.nf.mme.policy; TS 24.301 §6.5.1.4)
            emergency_req = int(f.get("request_type", 1)) == esm.REQUEST_EMERGENCY
            cause = (policy.ESM_MULTIPLE_PDN_SAME_APN_NOT_ALLOWED if emergency_req
                     else policy.ESM_SERVICE_OPTION_NOT_SUPPORTED)
        mme.log("esm.pdn.rejected", imsi=ue.imsi, emergency=ue.emergency, esm_cause=cause)
        send_nas(mme, ue, esm.pdn_connectivity_reject(pti, cause))
        return
    send_nas(mme, ue, nas.esm_status(ebi, pti, causes.ESM_MESSAGE_NOT_COMPATIBLE_WITH_STATE))


def _on_emm_status(mme: MmeCore, ue: UeContext, msg: Message) -> None:
    """EMM STATUS from the UE (TS 24.301 §5.7): logged, no state change."""
    mme.log("emm.status.received", imsi=ue.imsi, emm_cause=msg.fields.get(nas.EMM_CAUSE))


Handler = Callable[["MmeCore", UeContext, Message], None]

HANDLERS: dict[str, Handler] = {
    "AttachRequest": on_attach_request,
    "IdentityResponse": on_identity_response,
    "AuthenticationResponse": on_authentication_response,
    "AuthenticationFailure": on_authentication_failure,
    "SecurityModeComplete": on_security_mode_complete,
    "SecurityModeReject": on_security_mode_reject,
    "ESMInformationResponse": on_esm_information_response,
    "AttachComplete": on_attach_complete,
    "DetachRequest": on_detach_request,
    "EMMStatus": _on_emm_status,
}

__all__ = ["EXPECTED", "HANDLERS", "on_uplink_nas"]
