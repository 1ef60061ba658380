"""The attach's PDN connection at the MME (TS 23.401 §5.3.2.1 steps 11-16 and 23): from the
subscription or from the emergency configuration (§4.3.12.3), Create Session and Modify
Bearer towards the S-GW (TS 29.274 §7.2).

Building blocks of the attach sequence (`attach.py`), which decides what follows.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping
from typing import Any

from corenet.codecs.base import Message
from corenet.codecs.s6a import SubscriptionData, VplmnDynamicAddressAllowed
from corenet.core.plmn import Plmn
from corenet.nf.mme import causes, esm, s1ap_build
from corenet.nf.mme.context import Pdn, Step, UeContext, shared_address
from corenet.nf.mme.identity import is_roamer
from corenet.nf.mme.port import MmePort
from corenet.nf.mme.s11_client import accepted, cause_of

# TS 29.274 Table 8.4-1 -> TS 24.301 §9.9.4.4 for a refused Create Session
_GTP_TO_ESM = {78: causes.ESM_MISSING_OR_UNKNOWN_APN, 83: causes.ESM_UNKNOWN_PDN_TYPE,
               84: causes.ESM_INSUFFICIENT_RESOURCES, 73: causes.ESM_INSUFFICIENT_RESOURCES}


def subscription_profile(sub: SubscriptionData) -> SubscriptionData:
    """The Subscription-Data (TS 29.272 §7.3.2) as a UE context keeps it: without its MSISDN
    (the context's own `msisdn`), so that the UEs of one profile - its APN-Configurations and
    AMBR - share one instance instead of holding a copy each."""
    try:
        key = _PROFILE_OF(sub)
        shared = _PROFILES.get(key)
    except TypeError:  # a member that cannot be hashed: kept as it is
        return sub
    if shared is None:
        if len(_PROFILES) >= PROFILES_KEPT:
            _PROFILES.clear()
        shared = _PROFILES[key] = dataclasses.replace(sub, msisdn=None)
    return shared


# what makes a profile: every member of the Subscription-Data but the MSISDN
_PROFILE_OF = operator.attrgetter(*(f.name for f in dataclasses.fields(SubscriptionData)
                                    if f.name != "msisdn"))
_PROFILES: dict[Any, SubscriptionData] = {}
PROFILES_KEPT = 1024


def subscribed_pdn(mme: MmePort, ue: UeContext, sub: SubscriptionData) -> None:
    """The PDN connection the subscription allows (TS 23.401 §5.3.2.1 step 11), the UE-AMBR
    and APN-AMBR capped for roamers; raises `esm.EsmReject`."""
    roamer = is_roamer(mme, ue)
    cap = mme.cfg.roaming.ambr_cap
    session = ue.session
    session.ue_ambr_ul_bps, session.ue_ambr_dl_bps = esm.ue_ambr(sub, cap, roamer)
    req = esm.requested_pdn(session)
    session.pdn = esm.build_pdn(sub, req, cap, roamer)
    if roamer and ue.imsi is not None:
        home = mme.home_of(ue.imsi)
        allowed = esm.select_apn(sub, req.apn).vplmn_dynamic_address_allowed
        session.pdn.pgw_address = home_pgw(mme.cfg.home_pgws, home, allowed)
    mme.log("emm.location.updated", imsi=ue.imsi, roamer=roamer, apn=session.pdn.apn,
            ue_ambr=[session.ue_ambr_ul_bps, session.ue_ambr_dl_bps],
            home_routed=session.pdn.pgw_address)


def home_pgw(home_pgws: Mapping[str, str], home: Plmn,
             vplmn_dynamic_address_allowed: int | None) -> str | None:
    """P-GW selection for a roamer's APN (TS 23.401 §4.3.8.1, TS 29.272 §7.3.38): the home
    P-GW's S8 address, or None for the visited P-GW (`MmeConfig.pgw_s5s8_address`).

    | VPLMN-Dynamic-Address-Allowed | home P-GW of the HPLMN configured | P-GW selected        |
    |-------------------------------|-----------------------------------|----------------------|
    | ALLOWED                       | any                               | visited (breakout)   |
    | NOTALLOWED or absent          | yes                               | home (home-routed)   |
    | NOTALLOWED or absent          | no                                | visited (none known) |
    """
    if vplmn_dynamic_address_allowed == VplmnDynamicAddressAllowed.ALLOWED:
        return None
    return home_pgws.get(str(home))


def emergency_pdn(mme: MmePort, ue: UeContext) -> None:
    """The emergency PDN connection: APN, QoS and P-GW from the MME's emergency configuration,
    never from the HSS (TS 23.401 §4.3.12.3; request type "emergency", TS 24.301 §9.9.4.14);
    raises `esm.EsmReject`."""
    emergency = mme.cfg.emergency
    session = ue.session
    req = esm.requested_pdn(session)
    session.pdn = esm.emergency_pdn(emergency, req)
    session.ue_ambr_ul_bps, session.ue_ambr_dl_bps = emergency.ambr.ul_bps, emergency.ambr.dl_bps
    mme.log("emm.emergency.pdn", imsi=ue.imsi, apn=session.pdn.apn, qci=session.pdn.bearer.qci,
            authenticated=ue.authenticated, msisdn=ue.msisdn)


def create_session(mme: MmePort, ue: UeContext) -> None:
    """Create Session Request (TS 23.401 §5.3.2.1 step 12): an unauthenticated IMSI carries
    the UIMSI flag (TS 29.274 §8.12); an emergency PDN goes to the emergency P-GW, a
    home-routed one to the home P-GW's S8 address (TS 29.274 §7.2.1 PGW S5/S8 F-TEID)."""
    pdn = ue.session.pdn
    assert pdn is not None
    ue.step = Step.CREATE_SESSION
    ambr_kbps = (pdn.apn_ambr_ul_bps // 1000, pdn.apn_ambr_dl_bps // 1000)
    pgw = pdn.pgw_address  # home-routed (TS 23.401 §4.3.8.1), else the visited P-GW
    if ue.emergency:
        pgw = mme.cfg.emergency.pgw_s5s8_address or mme.cfg.pgw_s5s8_address
    uimsi = ue.unauthenticated_emergency and ue.imsi is not None
    mme.send_s11(ue, mme.s11.create_session(ue, pdn, ambr_kbps, uimsi=uimsi, pgw_address=pgw))


def session_created(mme: MmePort, ue: UeContext, msg: Message) -> int | None:
    """Create Session Response (TS 29.274 §7.2.2): the S-GW's F-TEIDs and the PDN address
    taken into the PDN connection; the ESM cause of a refusal, or None."""
    pdn = ue.session.pdn
    assert pdn is not None
    esm_cause = pdn_created(mme, ue, pdn, msg)
    if esm_cause is None:
        ue.session.session_created = True
    return esm_cause


def pdn_created(mme: MmePort, ue: UeContext, pdn: Pdn, msg: Message) -> int | None:
    """A Create Session Response (TS 29.274 §7.2.2) for `pdn`: its F-TEIDs, address and PCO
    taken in; the ESM cause of a refusal (TS 24.301 §6.5.1.4), or None."""
    if not accepted(msg):
        cause = cause_of(msg)
        mme.log("s11.session.refused", imsi=ue.imsi, apn=pdn.apn, cause=cause)
        return _GTP_TO_ESM.get(cause or 0, causes.ESM_REQUEST_REJECTED_UNSPECIFIED)
    f = msg.fields
    sgw = f.get("sender_fteid_c") or {}
    pdn.sgw_s11_teid, pdn.sgw_s11_ip = sgw.get("teid"), shared_address(sgw.get("ipv4"))
    pgw = f.get("pgw_s5s8_fteid_c")
    if pgw:  # TS 23.401 §5.7.2: the P-GW's S5/S8 control plane address and TEID
        pdn.pgw_s5_fteid = (pgw.get("teid"), shared_address(pgw.get("ipv4") or pgw.get("ipv6")))
    esm.narrow_pdn_type(pdn, cause_of(msg), f.get("paa"))
    esm.apply_paa(pdn, f.get("paa"))
    pdn.pco = f.get("pco")
    for bc in f.get("bearer_contexts_created", []):
        s1u = bc.get("s1u_sgw_fteid") or {}
        if bc.get("ebi") == pdn.bearer.ebi:
            pdn.bearer.sgw_s1u_ip = shared_address(s1u.get("ipv4") or s1u.get("ipv6"))
            pdn.bearer.sgw_s1u_teid = s1u.get("teid")
    return None


def modify_bearer(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """INITIAL CONTEXT SETUP RESPONSE (TS 36.413 §8.3.1.2), then Modify Bearer with the eNB
    S1-U F-TEID (TS 23.401 §5.3.2.1 step 23)."""
    pdn = ue.session.pdn
    if pdn is None or not ue.session.session_created:
        return
    setup = s1ap_build.erab_setup(msg, pdn.bearer.ebi)
    if setup is None:
        mme.log("s1ap.ics.no_bearer", mme_ue_id=ue.mme_ue_id)
        return
    ip, teid = setup
    pdn.bearer.enb_s1u_ip, pdn.bearer.enb_s1u_teid = shared_address(ip.split(",")[0]), teid
    mme.send_s11(ue, mme.s11.modify_bearer(ue, pdn))
