"""Service request at the MME (TS 24.301 §5.6.1; TS 23.401 §5.3.4.1, UE triggered Service
Request): an ECM-IDLE UE found by the S-TMSI of its INITIAL UE MESSAGE gets the user plane of
every PDN connection back.

| the request                                                | answer                          |
|------------------------------------------------------------|---------------------------------|
| no context holds the S-TMSI (unknown, not ours, absent)    | SERVICE REJECT #9 (§5.6.1.5)    |
| the context found is not EMM-REGISTERED                    | SERVICE REJECT #10 (§5.6.1.5)   |
| KSI not the current context's, or the short MAC fails (§4.4.4.3) | SERVICE REJECT #9         |
| the roaming policy refuses a full-service UE in its TA      | SERVICE REJECT #11/#12/#13/#15  |
| the home HSS's overload report drops it (not emergency)    | SERVICE REJECT #22 with T3346   |
| otherwise                                                  | INITIAL CONTEXT SETUP REQUEST   |
| EXTENDED SERVICE REQUEST, CS fallback service types        | SERVICE REJECT #18              |
| EXTENDED SERVICE REQUEST, any other service type           | EMM STATUS #97                  |

The INITIAL CONTEXT SETUP REQUEST (TS 23.401 §5.3.4.1 step 4) lists an E-RAB per EPS bearer
of every PDN connection, with its QoS and S-GW S1-U F-TEID, and a KeNB derived from KASME and
the uplink NAS COUNT of the SERVICE REQUEST (TS 33.401 §7.2.8.1, A.3). Its response gives the
eNB's S1-U F-TEIDs to the S-GW in one Modify Bearer Request per PDN connection (steps 8-9;
TS 29.274 §7.2.7). An emergency-only UE (TS 23.401 §4.3.12) keeps its restrictions: no policy
refusal nor congestion (§5.6.1.5: #22 is not used for emergency bearer services), the null
algorithms when unauthenticated (TS 33.401 §15.2.2) and the serving PLMN only in its Handover
Restriction List, as at its attach.

NAS level congestion (TS 23.401 §4.3.7.4.2.1): while a home HSS asks the MME for less traffic
(`overload.DoicThrottle`), the service requests of its subscribers share the loss algorithm
of their attaches. The CS fallback of an EXTENDED SERVICE REQUEST (§5.6.1.2, TS 23.272) needs an
SGs association this MME does not have: the UE is told the CS domain is not available (#18,
§5.6.1.5; TS 23.272 §6.6), and calls over IMS. A service type of packet services via S1 is an
EXTENDED SERVICE REQUEST the MME does not implement (§7.4: EMM STATUS #97).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corenet.codecs import gtpv2c, nas
from corenet.codecs.base import Message
from corenet.crypto import kdf
from corenet.nf.mme import causes, identity, nas_path, s1ap_build
from corenet.nf.mme.attach import UNAUTHENTICATED_KENB, refusal_here
from corenet.nf.mme.context import Bearer, EmmState, Pdn, Step, UeContext
from corenet.nf.mme.port import MmePort
from corenet.nf.mme.s11_client import accepted, cause_of

# TS 24.301 §9.9.3.9
CS_DOMAIN_NOT_AVAILABLE = 18
MESSAGE_TYPE_NOT_IMPLEMENTED = 97
# TS 24.301 §9.9.3.27 service type: 0000-0111 CS fallback (or 1xCS fallback) variants,
# 1000 and above packet services via S1
_FIRST_PACKET_SERVICE_TYPE = 8
# TS 24.301 §9.9.3.28: the SERVICE REQUEST carries the 5 LSBs of the uplink NAS COUNT
_SHORT_SQN_MASK = 0x1F


def estimate_ul_count(last: int, short_sqn: int) -> int:
    """The uplink NAS COUNT of a SERVICE REQUEST from its 5-bit sequence number (TS 24.301
    §4.4.3.1, §9.9.3.28): the smallest count above `last`, the count of the last uplink
    message accepted, whose 5 LSBs are `short_sqn`."""
    count = (last & ~_SHORT_SQN_MASK) | (short_sqn & _SHORT_SQN_MASK)
    return count if count > last else count + _SHORT_SQN_MASK + 1


def short_mac_ok(ue: UeContext, msg: Message, data: bytes) -> int | None:
    """The uplink NAS COUNT of the SERVICE REQUEST when its KSI names the current EPS
    security context and its short MAC checks with it (TS 24.301 §4.4.4.3: the 2 LSBs of
    the NAS-MAC over octets 1 and 2, §9.9.3.28), the count then taken as received; None
    otherwise."""
    sec = ue.security.sec
    if sec is None or not ue.security.secured or len(data) != 4:
        return None
    if int(msg.fields.get(nas.KSI, 7)) & 0x7 != sec.ksi & 0x7:
        return None
    received = sec.ul_count
    count = estimate_ul_count(received.value, int(msg.fields.get("sequence_number", 0)))
    if count > 0xFFFFFF or sec.mac(nas.UPLINK, count, data[:2])[2:4] != data[2:4]:
        return None
    return count if received.accept(count) else None


def on_service_request(mme: MmePort, ue: UeContext, msg: Message, data: bytes) -> None:
    """SERVICE REQUEST (TS 24.301 §5.6.1.2; TS 23.401 §5.3.4.1 steps 1-4), the first message
    of the connection `ue` (the module table)."""
    mme.log("emm.service.request", mme_ue_id=ue.mme_ue_id, imsi=ue.imsi,
            ksi=msg.fields.get(nas.KSI), sequence_number=msg.fields.get("sequence_number"))
    if ue.imsi is None and ue.imei is None:
        reject(mme, ue, causes.UE_IDENTITY_CANNOT_BE_DERIVED, "S-TMSI unknown")
        return
    if ue.emm_state is not EmmState.REGISTERED or ue.step is not Step.ATTACHED:
        reject(mme, ue, causes.IMPLICITLY_DETACHED, "not registered")
        return
    count = short_mac_ok(ue, msg, data)
    if count is None:
        reject(mme, ue, causes.UE_IDENTITY_CANNOT_BE_DERIVED,
               "KSI or short MAC check failed (TS 24.301 §4.4.4.3)")
        return
    if not ue.emergency and (_refused_here(mme, ue) or _congested(mme, ue)):
        return
    accept(mme, ue, count)


def _refused_here(mme: MmePort, ue: UeContext) -> bool:
    """The roaming policy in the UE's TA (`corenet.nf.mme.policy`), as for a tracking area
    update: a full-service UE that may not be served there gets the policy's cause
    (§5.6.1.5: #11, #12, #13, #15) and stays registered."""
    refusal = refusal_here(mme, ue, "service")
    if refusal is not None:
        reject(mme, ue, refusal.emm_cause, refusal.reason)
    return refusal is not None


def _congested(mme: MmePort, ue: UeContext) -> bool:
    """NAS level congestion control (TS 23.401 §4.3.7.4.2.1; TS 24.301 §5.3.7, §5.6.1.5 #22):
    the module docstring."""
    realm = None if ue.imsi is None else identity.home_realm(mme, ue.imsi)
    if realm is None or mme.overload.admit_air(realm, mme.now, emergency=ue.emergency):
        return False
    t3346 = mme.overload.t3346()
    mme.log("emm.service.throttled", imsi=ue.imsi, realm=realm, t3346=t3346,
            clause="TS 23.401 §4.3.7.4.2.1")
    reject(mme, ue, causes.CONGESTION, "home HSS overloaded", t3346=t3346)
    return True


def accept(mme: MmePort, ue: UeContext, ul_count: int) -> None:
    """INITIAL CONTEXT SETUP REQUEST with the E-RABs of every PDN connection and the KeNB of
    the SERVICE REQUEST's uplink NAS COUNT (TS 23.401 §5.3.4.1 step 4; TS 33.401 A.3)."""
    sec = ue.security
    if ue.authenticated and sec.sec is not None and sec.sec.kasme:
        kenb = kdf.kenb(sec.sec.kasme, ul_count)
    else:
        kenb = UNAUTHENTICATED_KENB  # TS 33.401 §15.2.2
    s1ap_build.initial_context_setup(mme, ue, kenb, None)
    mme.log("emm.service.accepted", imsi=ue.imsi, mme_ue_id=ue.mme_ue_id, ul_count=ul_count,
            e_rabs=[b.ebi for pdn in _pdns(ue) for b in pdn.bearers()],
            emergency=ue.emergency)


def _pdns(ue: UeContext) -> list[Pdn]:
    s = ue.session
    return [*([s.pdn] if s.pdn is not None else []), *s.additional_pdns.values()]


def on_ics_response(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """INITIAL CONTEXT SETUP RESPONSE of a registered UE (TS 36.413 §8.3.1.2): each PDN
    connection's bearers get the eNB S1-U F-TEIDs, sent to the S-GW in one Modify Bearer
    Request per PDN connection (TS 23.401 §5.3.4.1 step 8; TS 29.274 §7.2.7). An E-RAB the
    eNB could not set up is left out (§5.3.4.1 step 8: the bearers not accepted)."""
    for pdn in _pdns(ue):
        set_up: list[Bearer] = []
        for bearer in pdn.bearers():
            setup = s1ap_build.erab_setup(msg, bearer.ebi)
            if setup is not None:
                address, teid = setup
                bearer.enb_s1u_ip, bearer.enb_s1u_teid = address.split(",")[0], teid
                set_up.append(bearer)
        if set_up:
            mme.send_s11(ue, modify_bearer(mme, pdn, set_up))
    failed = [i.get("e-RAB-ID") for i in msg.fields.get("E-RABFailedToSetupListCtxtSURes", [])]
    if failed:
        mme.log("s1ap.ics.not_setup", mme_ue_id=ue.mme_ue_id, failed=failed)


def modify_bearer(mme: MmePort, pdn: Pdn, bearers: list[Bearer]) -> Message:
    """Modify Bearer Request for one PDN connection with the eNB S1-U F-TEID of each of its
    bearers (TS 29.274 §7.2.7, Bearer Context to be modified)."""
    return gtpv2c.modify_bearer_request(
        mme.s11.next_sequence(), teid=pdn.sgw_s11_teid or 0,
        bearer_contexts=[{"ebi": b.ebi, "s1u_enb_fteid": gtpv2c.fteid(
            gtpv2c.FTEID_S1U_ENB, b.enb_s1u_teid or 0, b.enb_s1u_ip)} for b in bearers])


def on_modify_bearer_response(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """Modify Bearer Response (TS 23.401 §5.3.4.1 step 11: the downlink path is the eNB's),
    Release Access Bearers Response (§5.3.5 step 3: the S-GW holds downlink data)."""
    kind = "modified" if msg.name == "ModifyBearerResponse" else "access_released"
    mme.log(f"s11.bearer.{kind}", imsi=ue.imsi, mme_ue_id=ue.mme_ue_id,
            accepted=accepted(msg), cause=cause_of(msg))


def release_access_bearers(mme: MmePort, ue: UeContext) -> None:
    """S1 release of a registered UE (TS 23.401 §5.3.5 step 2): the S-GW forgets the eNB's
    S1-U F-TEIDs (Release Access Bearers Request, TS 29.274 §7.2.21), one request per PDN
    connection since this S-GW gives each its own S11 TEID; the service request sets them up
    again."""
    for pdn in _pdns(ue):
        if pdn.sgw_s11_teid is None:
            continue
        for bearer in pdn.bearers():
            bearer.enb_s1u_ip, bearer.enb_s1u_teid = None, None
        mme.send_s11(ue, gtpv2c.release_access_bearers_request(
            mme.s11.next_sequence(), teid=pdn.sgw_s11_teid))


def on_extended_service_request(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """EXTENDED SERVICE REQUEST (TS 24.301 §5.6.1.2): the module table."""
    service_type = int(msg.fields.get("service_type", 0))
    mme.log("emm.service.extended", mme_ue_id=ue.mme_ue_id, imsi=ue.imsi,
            service_type=service_type)
    if service_type >= _FIRST_PACKET_SERVICE_TYPE:
        nas_path.send_nas(mme, ue, nas.emm_status(MESSAGE_TYPE_NOT_IMPLEMENTED))
        return
    reject(mme, ue, CS_DOMAIN_NOT_AVAILABLE, "CS fallback: no SGs (TS 23.272 §6.6)")


def reject(mme: MmePort, conn: UeContext, cause: int, reason: str,
           t3346: int | None = None) -> None:
    """SERVICE REJECT (TS 24.301 §5.6.1.5), then the S1 connection goes (TS 23.401 §5.3.4.1); a
    registered context stays, one the connection made goes with it."""
    keep = conn.emm_state is EmmState.REGISTERED and conn.step is Step.ATTACHED
    # a request that failed its checks may come from a UE without our context: it must be
    # able to read the reject (§4.4.4.2, a SERVICE REJECT is processed unprotected)
    sht = nas_path.downlink_sht(conn) if keep and cause != causes.UE_IDENTITY_CANNOT_BE_DERIVED \
        else nas_path.PLAIN
    nas_path.send_nas(mme, conn, nas.service_reject(cause, t3346=t3346), sht)
    mme.log("emm.service.rejected", mme_ue_id=conn.mme_ue_id, imsi=conn.imsi, emm_cause=cause,
            reason=reason, **({} if t3346 is None else {"t3346": t3346}))
    mme.release(conn, s1ap_build.NAS_NORMAL_RELEASE, keep=keep)


Handler = Callable[[MmePort, UeContext, Any], None]

# S1AP and S11 inputs of a registered UE, keyed like attach.SEQUENCE
SEQUENCE: dict[tuple[Step, str], Handler] = {
    (Step.ATTACHED, "InitialContextSetupResponse"): on_ics_response,
    (Step.ATTACHED, "ModifyBearerResponse"): on_modify_bearer_response,
    (Step.ATTACHED, "ReleaseAccessBearersResponse"): on_modify_bearer_response,
}

ANY_STEP: dict[str, Handler] = {"ExtendedServiceRequest": on_extended_service_request}
