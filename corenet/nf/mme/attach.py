"""The attach of a roaming UE at the MME (TS 23.401 §5.3.2.1; TS 24.301 §5.5.1.2), for full
service and for emergency bearer services (TS 23.401 §4.3.12).

`SEQUENCE` is the procedure: what the MME does on each input (a NAS message, an S6a or S11
answer or failure, an S1AP response) in each step of Figure 5.3.2.1-1. An input a step does
not list is not compatible with the protocol state (TS 24.301 §7.4). The common procedures it
runs are in `identity.py`, `authentication.py` and `security_mode.py`, the PDN connection in
`session.py`; their outcomes come back here and this module alone decides what follows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from corenet.codecs import nas, s6a
from corenet.codecs.base import Message
from corenet.codecs.nas_ies import NetworkNameValue
from corenet.core.errors import EncodeError
from corenet.crypto import kdf
from corenet.nf.mme import (
    accept,
    authentication,
    causes,
    emm_sm,
    esm,
    identity,
    nas_path,
    overload,
    policy,
    s1ap_build,
    security_mode,
    session,
)
from corenet.nf.mme.context import NO_ENTRIES, Step, UeContext, UeSecurity
from corenet.nf.mme.mvno import mvno_of, rule_for
from corenet.nf.mme.port import MmePort
from corenet.nf.mme.s6a_client import outcome

# TS 24.301 §9.9.3.11 EPS attach type
ATTACH_EPS, ATTACH_COMBINED, ATTACH_EMERGENCY = 1, 2, 6
# TS 33.401 §15.2.2: the KeNB given to the eNB for a UE without KASME (any value will do)
UNAUTHENTICATED_KENB = bytes(32)


# ============================================================================ steps 1-4


def on_attach_request(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """Attach procedure, network side (TS 24.301 §5.5.1.2.3; TS 23.401 §5.3.2.1 steps 1-3)."""
    f = msg.fields
    nas_path.stop_nas_timer(mme, ue)
    ue.step = None
    emm_sm.transition(ue, emm_sm.EmmEvent.ATTACH_REQUESTED)
    ue.attach_type = int(f.get("eps_attach_type", ATTACH_EPS))
    ue.security = UeSecurity(ue_net_cap=bytes(f.get("ue_network_capability", b"")),
                             ue_ksi=int(f.get(nas.KSI, 7)) & 0x7)
    ue.emergency = ue.authenticated = False
    ue.plan, ue.imei, ue.msisdn = None, None, None
    ue.ue_radio_capability = None  # TS 23.401 §5.11.2: deleted when the UE attaches
    container = f.get(nas.ESM_CONTAINER) or {}
    # a PDN connection already created stays until it is deleted (TS 23.401 §5.3.8.2.1)
    ue.session.pdn_request, ue.session.subscription = container, None
    ue.session.location_updated = False
    try:
        esm.requested_pdn(ue.session)
    except esm.EsmReject as rej:
        reject(mme, ue, causes.ESM_FAILURE, esm_cause=int(container.get("error")
                                                          or rej.esm_cause))
        return
    mobile_identity = f.get("eps_mobile_identity", {})
    kind = mobile_identity.get("type")
    mme.log("emm.attach.request", mme_ue_id=ue.mme_ue_id, identity=kind,
            attach_type=ue.attach_type)
    if kind == "imsi":
        identity.claim(mme, ue, str(mobile_identity["value"]), by_request=False)
        admit(mme, ue)
    elif kind == "guti" and identity.claim_known_guti(mme, ue, mobile_identity["value"]):
        admit(mme, ue)
    elif kind in ("imei", "imeisv") and ue.attach_type == ATTACH_EMERGENCY:
        # TS 24.301 §5.5.1.2.2: a UE without a valid USIM attaches for emergency with its IMEI
        identity.record_imei(ue, str(mobile_identity["value"]))
        admit(mme, ue)
    else:
        identity.identification(mme, ue)


def on_identity_response(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """Identification completion (TS 24.301 §5.4.4.4; TS 23.401 §5.3.2.1 step 4)."""
    nas_path.stop_nas_timer(mme, ue)
    mobile_identity = msg.fields.get("mobile_identity", {})
    kind = mobile_identity.get("type")
    if kind in ("imei", "imeisv") and ue.attach_type == ATTACH_EMERGENCY and ue.imsi is None:
        identity.record_imei(ue, str(mobile_identity["value"]))
    elif kind != "imsi":
        reject(mme, ue, causes.UE_IDENTITY_CANNOT_BE_DERIVED)
        return
    else:
        identity.claim(mme, ue, str(mobile_identity["value"]), by_request=True)
    admit(mme, ue)


def admit(mme: MmePort, ue: UeContext) -> None:
    """The roaming policy on an identified UE (`corenet.nf.mme.policy`), then authentication
    (TS 23.401 §5.3.2.1 step 5a) or, for emergency, the unauthenticated path (§4.3.12.1)."""
    emergency = ue.attach_type == ATTACH_EMERGENCY
    tac = ue.tai[1]
    decision, rule = policy_decision(mme, ue, emergency)
    mode = None if rule is None else rule.mode.value
    if isinstance(decision, policy.Refusal):
        mme.log("policy.attach.refused", imsi=ue.imsi, imei=ue.imei, tac=tac, mode=mode,
                emergency=emergency, emm_cause=decision.emm_cause, reason=decision.reason)
        reject(mme, ue, decision.emm_cause)
        return
    ue.plan, ue.emergency = decision, decision.emergency
    mme.log("policy.attach.admitted", imsi=ue.imsi, imei=ue.imei, tac=tac, mode=mode,
            emergency=emergency, authenticate=decision.authenticate, reason=decision.reason)
    if decision.authenticate:
        begin_authentication(mme, ue)
    else:
        if rule is not None and rule.mode is policy.Mode.EMERGENCY_AUTH:
            mme.log("policy.fallback.unauth", imsi=ue.imsi, reason=decision.reason)
        security_mode.null_command(mme, ue)


def policy_decision(mme: MmePort, ue: UeContext, emergency: bool
                    ) -> tuple[policy.Decision, policy.Policy | None]:
    """The roaming policy's decision for the UE in its current TA, and the rule it took."""
    tac = ue.tai[1]
    rule: policy.Policy | None
    if ue.imsi is None:
        rule = mme.policy.imei_only_allowed(tac)
        return policy.decide(rule, emergency=emergency, has_imsi=False, own=False,
                             hss_down=False), rule
    home = mme.home_of(ue.imsi)
    own = home == mme.plmn
    rule = None if own else mme.policy.effective(home, tac)
    mvno = None if own else mvno_of(ue.imsi, mme.mvnos)
    if mvno is not None:  # an MVNO's UE: its host's rule, as the MVNO allows it
        rule = rule_for(mvno, lambda host: mme.policy.effective(host, tac))
        mme.log("policy.mvno", imsi=ue.imsi, mvno=mvno.name, mvno_kind=mvno.kind,
                mode=None if rule is None else rule.mode.value)
    return policy.decide(rule, emergency=emergency, has_imsi=True, own=own,
                         hss_down=mme.hss_down(home.realm)), rule


def refusal_here(mme: MmePort, ue: UeContext, procedure: str) -> policy.Refusal | None:
    """The roaming policy's refusal of a full-service UE in its current TA (TAU, service
    request: the UE stays registered), logged; None when it may be served there."""
    decision, rule = policy_decision(mme, ue, emergency=False)
    if not isinstance(decision, policy.Refusal):
        return None
    mme.log(f"policy.{procedure}.refused", imsi=ue.imsi, tac=ue.tai[1],
            emm_cause=decision.emm_cause, mode=None if rule is None else rule.mode.value,
            reason=decision.reason)
    return decision


def _fallback_unauth(mme: MmePort, ue: UeContext, why: str, on_failure: bool) -> bool:
    """Go on unauthenticated when the plan allows it (TS 23.401 §4.3.12.1 "IMSI required,
    authentication optional"; emergency-auth with fallback while the home HSS is down)."""
    plan = ue.plan
    allowed = isinstance(plan, policy.AttachPlan) and (
        plan.unauth_on_failure if on_failure else plan.unauth_on_no_answer)
    if not allowed:
        return False
    mme.log("policy.fallback.unauth", imsi=ue.imsi, reason=why)
    nas_path.stop_nas_timer(mme, ue)
    security_mode.null_command(mme, ue)
    return True


# ============================================================================ step 5: security


def begin_authentication(mme: MmePort, ue: UeContext, resync: bytes | None = None) -> None:
    """AIR to the home HSS (TS 23.401 §5.3.2.1 step 5a) when a route leads there."""
    assert ue.imsi is not None
    realm = identity.home_realm(mme, ue.imsi)
    if realm is None:
        mme.log("emm.attach.roaming_refused", imsi=ue.imsi)
        reject(mme, ue, causes.PLMN_NOT_ALLOWED)
        return
    if mme.s6a.route_for(realm) is None:
        mme.log("s6a.no_route", realm=realm, imsi=ue.imsi)
        if not _fallback_unauth(mme, ue, "no route to the home HSS", on_failure=False):
            reject(mme, ue, causes.NETWORK_FAILURE)
        return
    if resync is None and not mme.overload.admit_air(realm, mme.now, emergency=ue.emergency):
        # RFC 7683 §5.4.3: the home HSS asked for less traffic; TS 24.301 §5.3.7 congestion
        mme.log("emm.attach.throttled", imsi=ue.imsi, realm=realm, clause="RFC 7683 §5.4.3")
        reject(mme, ue, causes.CONGESTION, t3346=mme.overload.t3346())
        return
    authentication.request_vectors(mme, ue, realm, resync)


def _s6a_rejected(mme: MmePort, ue: UeContext, msg: Message) -> bool:
    """An S6a answer with an error: ATTACH REJECT with its cause (TS 29.272 Annex A)."""
    res = outcome(msg)
    if res.ok:
        return False
    cause = causes.emm_cause_for_s6a(res.code, res.experimental)
    mme.log("s6a.rejected", command=msg.name, imsi=ue.imsi, result_code=res.code,
            experimental=res.experimental, emm_cause=cause)
    if overload.congested(res.code, res.experimental):  # TS 24.301 §5.3.7: #22 with T3346
        reject(mme, ue, causes.CONGESTION, t3346=mme.overload.t3346())
    else:
        reject(mme, ue, cause)
    return True


def on_aia(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """AIA (TS 29.272 §5.2.3.1.3), then AUTHENTICATION REQUEST (TS 24.301 §5.4.2.2)."""
    res = outcome(msg)
    if not res.ok and _fallback_unauth(mme, ue, f"AIA result {res.code}", on_failure=True):
        return
    if _s6a_rejected(mme, ue, msg):
        return
    if not authentication.challenge(mme, ue, msg):
        reject(mme, ue, causes.NETWORK_FAILURE)


def on_air_failed(mme: MmePort, ue: UeContext, reason: str) -> None:
    """No AIA (TS 29.272 Annex A: network failure, #17) unless the plan goes on without."""
    if not _fallback_unauth(mme, ue, f"AIR: {reason}", on_failure=False):
        reject(mme, ue, causes.NETWORK_FAILURE)


def on_authentication_response(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """TS 24.301 §5.4.2.4: RES = XRES completes the authentication, otherwise §5.4.2.5."""
    nas_path.stop_nas_timer(mme, ue)
    if not authentication.response_matches(ue, msg):
        mme.log("emm.authentication.failed", imsi=ue.imsi, reason="RES mismatch")
        if not _fallback_unauth(mme, ue, "RES mismatch", on_failure=True):
            authentication.reject(mme, ue)
        return
    ue.authenticated = True
    mme.log("emm.authentication.succeeded", imsi=ue.imsi)
    if not security_mode.command(mme, ue):
        reject(mme, ue, causes.UE_SECURITY_CAPABILITIES_MISMATCH)


def on_authentication_failure(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """Authentication not accepted by the UE (TS 24.301 §5.4.2.6)."""
    nas_path.stop_nas_timer(mme, ue)
    cause = int(msg.fields.get(nas.EMM_CAUSE, 0))
    sec = ue.security
    mme.log("emm.authentication.ue_failure", imsi=ue.imsi, emm_cause=cause)
    if cause == causes.SYNCH_FAILURE and not sec.resync_done and sec.vector is not None:
        # §5.4.2.6 d: re-synchronise with RAND || AUTS (TS 29.272 §7.3.15), new challenge
        sec.resync_done = True
        auts = bytes(msg.fields["authentication_failure_parameter"])
        begin_authentication(mme, ue, resync=sec.vector.rand + auts)
    elif cause == causes.MAC_FAILURE and not sec.mac_failure_identity_done:
        # §5.4.2.6 c: the network may obtain the IMSI by identification, then authenticate
        sec.mac_failure_identity_done = True
        identity.identification(mme, ue)
    elif not _fallback_unauth(mme, ue, f"authentication failure #{cause}", on_failure=True):
        authentication.reject(mme, ue)


def on_security_mode_complete(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """TS 24.301 §5.4.3.4: the new context is in use, the claimed IMSI the context's own;
    then ESM information (step 6) or the location update (step 8)."""
    security_mode.completed(mme, ue, msg)
    identity.take_over(mme, ue)
    req = esm.requested_pdn(ue.session)
    if req.esm_info_transfer:
        # TS 24.301 §6.6.1.2: ask for the APN / PCO now that ciphering is on
        ue.step = Step.ESM_INFO
        nas_path.send_guarded(mme, ue, "T3489", nas.esm_information_request(req.pti))
        return
    after_security(mme, ue)


def on_esm_information_response(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """ESM information request procedure completion (TS 24.301 §6.6.1.2.3)."""
    nas_path.stop_nas_timer(mme, ue)
    fields = dict(ue.session.pdn_request.get("fields", {}))
    for key in (nas.APN, nas.PCO):
        if key in msg.fields:
            fields[key] = msg.fields[key]
    ue.session.pdn_request = {**ue.session.pdn_request, "fields": fields}
    after_security(mme, ue)


# ============================================================================ steps 8-16


def after_security(mme: MmePort, ue: UeContext) -> None:
    """ULR for an authenticated UE; none for an unauthenticated one (TS 23.401 §5.3.2.1
    step 8), which goes straight to the emergency PDN connection."""
    if ue.authenticated:
        update_location(mme, ue)
    else:
        _emergency_without_subscription(mme, ue, "unauthenticated")


def update_location(mme: MmePort, ue: UeContext) -> None:
    """ULR (TS 29.272 §5.2.1.1; TS 23.401 §5.3.2.1 step 8)."""
    assert ue.imsi is not None
    realm = identity.home_realm(mme, ue.imsi) or ""
    ue.step = Step.UPDATE_LOCATION
    # TS 29.272 §5.2.1.1.2 / §7.3.7: Initial-Attach-Indicator on every initial attach; an
    # emergency attach (TS 24.301 §9.9.3.11, EPS attach type 6) is an initial attach too.
    initial = ue.attach_type in (ATTACH_EPS, ATTACH_COMBINED, ATTACH_EMERGENCY)
    mme.send_s6a(ue, mme.s6a.ulr(ue.imsi, realm, ue.imeisv, initial), realm)


def on_ula(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """ULA (TS 29.272 §5.2.1.1.3): subscription, then Create Session (step 12)."""
    if _s6a_rejected(mme, ue, msg):
        return
    sub = s6a.subscription_data_of(msg)
    if sub is None:
        reject(mme, ue, causes.NETWORK_FAILURE)
        return
    ue.session.subscription, ue.msisdn = session.subscription_profile(sub), sub.msisdn
    ue.session.location_updated = True
    if ue.emergency:
        _emergency_session(mme, ue)
        return
    try:
        session.subscribed_pdn(mme, ue, sub)
    except esm.EsmReject as rej:
        mme.log("esm.pdn.rejected", imsi=ue.imsi, esm_cause=rej.esm_cause, detail=str(rej))
        reject(mme, ue, causes.ESM_FAILURE, esm_cause=rej.esm_cause)
        return
    session.create_session(mme, ue)


def on_ulr_failed(mme: MmePort, ue: UeContext, reason: str) -> None:
    """No ULA: an emergency attach goes on without subscription (TS 23.401 §4.3.12.1), any
    other is rejected with network failure (TS 29.272 Annex A)."""
    if ue.emergency:
        _emergency_without_subscription(mme, ue, f"ULR: {reason}")
    else:
        reject(mme, ue, causes.NETWORK_FAILURE)


def _emergency_without_subscription(mme: MmePort, ue: UeContext, why: str) -> None:
    """An emergency attach goes on without subscription data: not authenticated (no ULR), or
    the HSS did not give it (TS 23.401 §5.3.2.1 step 11: restrictions of the subscription do
    not apply to emergency bearer services)."""
    mme.log("emm.emergency.no_subscription", imsi=ue.imsi, imei=ue.imei, reason=why)
    _emergency_session(mme, ue)


def _emergency_session(mme: MmePort, ue: UeContext) -> None:
    try:
        session.emergency_pdn(mme, ue)
    except esm.EsmReject as rej:
        reject(mme, ue, causes.ESM_FAILURE, esm_cause=rej.esm_cause)
        return
    session.create_session(mme, ue)


def on_create_session_response(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """Create Session Response (TS 23.401 §5.3.2.1 step 16), then the Attach Accept."""
    esm_cause = session.session_created(mme, ue, msg)
    if esm_cause is not None:
        reject(mme, ue, causes.ESM_FAILURE, esm_cause=esm_cause)
        return
    attach_accept(mme, ue)


def on_create_session_failed(mme: MmePort, ue: UeContext, reason: str) -> None:
    """No Create Session Response (TS 29.274 §7.6): ESM network failure (TS 24.301 §6.5.1.4)."""
    reject(mme, ue, causes.ESM_FAILURE, esm_cause=causes.ESM_NETWORK_FAILURE)


# ============================================================================ steps 17-23


def attach_accept(mme: MmePort, ue: UeContext) -> None:
    """ATTACH ACCEPT (TS 24.301 §5.5.1.2.4) with the ACTIVATE DEFAULT EPS BEARER CONTEXT
    REQUEST, in the INITIAL CONTEXT SETUP REQUEST with KeNB (TS 33.401 A.3, uplink NAS COUNT
    of the last uplink NAS message); T3450 guards it (step 17)."""
    sec, pdn = ue.security, ue.session.pdn
    assert pdn is not None and sec.sec is not None
    req = esm.requested_pdn(ue.session)
    guti = mme.allocate_guti(ue)
    bearer_req = esm.activate_default_bearer_request(pdn, req.pti)
    plain = accept.attach_accept(mme, ue, bearer_req, guti)
    if ue.authenticated and sec.sec.kasme:
        kenb = kdf.kenb(sec.sec.kasme, sec.sec.ul_count.value)
    else:
        # TS 33.401 §15.2.2: without KASME the eNB is given an arbitrary KeNB and the UE
        # security capabilities of the null algorithms only, so AS runs EIA0/EEA0
        kenb = UNAUTHENTICATED_KENB
    ue.step = Step.CONTEXT_SETUP
    s1ap_build.initial_context_setup(
        mme, ue, kenb, nas_path.nas_pdu(ue, plain, nas_path.INTEGRITY_CIPHERED))
    nas_path.start_nas_timer(mme, ue, "T3450", plain, nas_path.INTEGRITY_CIPHERED)
    mme.log("emm.attach.accept_sent", imsi=ue.imsi, guti_m_tmsi=guti.m_tmsi,
            ue_ambr=[ue.session.ue_ambr_ul_bps, ue.session.ue_ambr_dl_bps])


def on_attach_complete(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """ATTACH COMPLETE (TS 24.301 §5.5.1.2.4; step 21): stop T3450, EMM-REGISTERED; then EMM
    INFORMATION (§5.4.5) with the network name and time zone."""
    nas_path.stop_nas_timer(mme, ue)
    container = msg.fields.get(nas.ESM_CONTAINER) or {}
    if container.get("name") != "ActivateDefaultEPSBearerContextAccept":
        mme.log("esm.default_bearer.not_accepted", imsi=ue.imsi, esm=container.get("name"))
    ue.step, ue.attach_complete = Step.ATTACHED, True
    ue.session.pdn_request, ue.session.pdn_request_read = NO_ENTRIES, None  # answered
    emm_sm.transition(ue, emm_sm.EmmEvent.ATTACH_COMPLETED)
    pdn = ue.session.pdn
    mme.log("emm.attach.accepted", imsi=ue.imsi, imei=ue.imei, mme_ue_id=ue.mme_ue_id,
            roamer=identity.is_roamer(mme, ue), apn=pdn.apn if pdn else None,
            emergency=ue.emergency, authenticated=ue.authenticated, msisdn=ue.msisdn)
    if not ue.emergency:
        # an emergency-only UE is in limited service and shows no network name
        emm_information(mme, ue)


def emm_information(mme: MmePort, ue: UeContext) -> None:
    """EMM INFORMATION (TS 24.301 §5.4.5): "JPN-ROAM X" names, local time and time zone."""
    name = mme.cfg.roaming.network_name
    second = int(mme.told_time() if mme.told_time else mme.now)
    plain = _emm_information(name.full, name.short, mme.cfg.time_zone_quarters, second)
    nas_path.send_nas(mme, ue, plain)


@functools.lru_cache(maxsize=4)
def _emm_information(full: str, short: str, tz: int, second: int) -> bytes:
    """The plain EMM INFORMATION: its time is coded to the second (TS 24.008 §10.5.3.9), so
    the UEs told within one second get the same message, built once."""
    return nas.emm_information(NetworkNameValue(full), NetworkNameValue(short),
                               local_time_zone=tz, time_zone=tz,
                               universal_time=datetime.fromtimestamp(second, UTC))


def reject(mme: MmePort, ue: UeContext, cause: int, esm_cause: int | None = None,
           t3346: int | None = None) -> None:
    """ATTACH REJECT (TS 24.301 §5.5.1.2.5), integrity protected when a security context is
    in use (§4.4.4.2), then release of the UE (TS 23.401 §5.3.2.1)."""
    nas_path.stop_nas_timer(mme, ue)
    container = None
    if esm_cause is not None:
        pti = int(ue.session.pdn_request.get("fields", {}).get(nas.PTI, 0))
        container = esm.pdn_connectivity_reject(pti, esm_cause)
    try:
        plain = nas.attach_reject(cause, container, t3346=t3346)
    except EncodeError:
        plain = nas.attach_reject(cause, t3346=t3346)
    nas_path.send_nas(mme, ue, plain)
    emm_sm.transition(ue, emm_sm.EmmEvent.REJECTED)
    mme.log("emm.attach.rejected", imsi=ue.imsi, mme_ue_id=ue.mme_ue_id, emm_cause=cause,
            esm_cause=esm_cause, **({} if t3346 is None else {"t3346": t3346}))
    mme.release(ue, s1ap_build.NAS_UNSPECIFIED)


# ============================================================================ the sequence

# A handler gets the MME, the UE and the input: a decoded message, or the reason of a failure.
Handler = Callable[[MmePort, UeContext, Any], None]

# TS 23.401 §5.3.2.1 Figure 5.3.2.1-1, keyed by (step the UE is in, input). The inputs are
# NAS message names, "<S6a answer>" / "<S11 response>" names, "<request> failed" for a request
# without answer (TS 29.272 §5.2, TS 29.274 §7.6), and the S1AP response of step 20.
SEQUENCE: dict[tuple[Step, str], Handler] = {
    (Step.IDENTIFICATION, "IdentityResponse"): on_identity_response,  # step 4
    (Step.AUTH_INFO, "AIA"): on_aia,  # step 5a
    (Step.AUTH_INFO, "AIR failed"): on_air_failed,
    (Step.AUTHENTICATION, "AuthenticationResponse"): on_authentication_response,  # step 5a
    (Step.AUTHENTICATION, "AuthenticationFailure"): on_authentication_failure,
    (Step.SECURITY_MODE, "SecurityModeComplete"): on_security_mode_complete,  # step 5b
    (Step.SECURITY_MODE, "SecurityModeReject"): security_mode.rejected,
    (Step.ESM_INFO, "ESMInformationResponse"): on_esm_information_response,  # step 6
    (Step.UPDATE_LOCATION, "ULA"): on_ula,  # steps 8-11
    (Step.UPDATE_LOCATION, "ULR failed"): on_ulr_failed,
    (Step.CREATE_SESSION, "CreateSessionResponse"): on_create_session_response,  # steps 12-16
    (Step.CREATE_SESSION, "CreateSessionRequest failed"): on_create_session_failed,
    (Step.CONTEXT_SETUP, "InitialContextSetupResponse"): session.modify_bearer,  # steps 20, 23
    (Step.CONTEXT_SETUP, "AttachComplete"): on_attach_complete,  # step 21
}

# Inputs accepted in any step (TS 24.301 §5.5.1.2.7 d-f: a new ATTACH REQUEST restarts)
ANY_STEP: dict[str, Handler] = {"AttachRequest": on_attach_request}
