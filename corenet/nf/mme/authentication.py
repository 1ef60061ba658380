"""EPS authentication at the MME: authentication information from the home HSS (TS 29.272
§5.2.3.1) and the EPS AKA challenge to the UE (TS 24.301 §5.4.2; TS 33.401 §6.1).

These are the procedure's building blocks; which one runs next is the attach sequence
(`attach.py`).
"""

from __future__ import annotations

import hmac

from corenet.codecs import nas, s6a
from corenet.codecs.base import Message
from corenet.nf.mme import emm_sm, nas_path, s1ap_build
from corenet.nf.mme.context import AuthVector, Step, UeContext
from corenet.nf.mme.port import MmePort


def request_vectors(mme: MmePort, ue: UeContext, realm: str,
                    resync: bytes | None = None) -> None:
    """AIR to the home HSS (TS 29.272 §5.2.3.1; TS 23.401 §5.3.2.1 step 5a), Visited-PLMN-Id
    = the MME's PLMN; resync = RAND || AUTS after a synch failure (TS 33.102 §6.3.5)."""
    assert ue.imsi is not None
    ue.step = Step.AUTH_INFO
    emm_sm.transition(ue, emm_sm.EmmEvent.COMMON_PROCEDURE)
    mme.send_s6a(ue, mme.s6a.air(ue.imsi, realm, resync), realm)


def challenge(mme: MmePort, ue: UeContext, aia: Message) -> bool:
    """AUTHENTICATION REQUEST with the first vector of the AIA (TS 24.301 §5.4.2.2), T3460;
    False when the AIA holds no vector."""
    vectors = s6a.vectors_of(aia)
    if not vectors:
        return False
    v = vectors[0]
    sec = ue.security
    sec.vector = AuthVector(v.rand, v.xres, v.autn, v.kasme)
    # TS 24.301 §5.4.2.2: a KSI the UE does not hold (7 means "no key available")
    sec.ksi = 0 if sec.ue_ksi in (7, 6) else (sec.ue_ksi + 1) % 7
    ue.step = Step.AUTHENTICATION
    nas_path.send_guarded(mme, ue, "T3460", nas.authentication_request(sec.ksi, v.rand, v.autn),
                          nas_path.PLAIN)
    return True


def response_matches(ue: UeContext, msg: Message) -> bool:
    """TS 24.301 §5.4.2.4 / TS 33.401 §6.1.1: RES equals XRES (compared in constant time)."""
    res = bytes(msg.fields.get("authentication_response_parameter", b""))
    vector = ue.security.vector
    return vector is not None and hmac.compare_digest(res, vector.xres)


def reject(mme: MmePort, ue: UeContext) -> None:
    """AUTHENTICATION REJECT and release (TS 24.301 §5.4.2.5)."""
    nas_path.send_nas(mme, ue, nas.authentication_reject(), nas_path.PLAIN)
    emm_sm.transition(ue, emm_sm.EmmEvent.REJECTED)
    mme.log("emm.attach.rejected", imsi=ue.imsi, reason="authentication")
    mme.release(ue, s1ap_build.NAS_AUTHENTICATION_FAILURE)
