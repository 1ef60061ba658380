"""What an ATTACH ACCEPT and a TRACKING AREA UPDATE ACCEPT tell the UE besides its GUTI and
bearers: the TAI list (TS 24.301 §5.5.1.2.4, §5.5.3.2.4), the emergency number list
(TS 24.008 §10.5.3.13) and the EPS network feature support (TS 24.301 §9.9.3.12A). They are
the same for every UE of a TAI list, so an MME's ATTACH ACCEPTs are encoded with one
`nas.AttachAccepts` per TAI list.
"""

from __future__ import annotations

from corenet.codecs import nas
from corenet.codecs.nas_ies import EmergencyNumber, Guti, Tai
from corenet.nf.mme.context import UeContext
from corenet.nf.mme.port import MmePort

# IMS voice over PS and emergency bearer services supported (TS 24.301 §9.9.3.12A)
NETWORK_FEATURES = {"ims_vops": 1, "emc_bs": 1}
# TAI lists whose ATTACH ACCEPT encoders an MME keeps: its own, and one per TA of an
# emergency-only UE
ACCEPTS_KEPT = 64


def emergency_numbers(mme: MmePort) -> list[EmergencyNumber]:
    """The Emergency Number List (TS 24.008 §10.5.3.13) from MmeConfig.roaming."""
    return [EmergencyNumber(e.digits, tuple(e.categories))
            for e in mme.cfg.roaming.emergency_numbers]


def tai_list(mme: MmePort, ue: UeContext) -> list[Tai]:
    """The TAs the UE may move in without updating (TS 24.301 §5.5.1.2.4, §5.5.3.2.4): ours,
    or only the current one for an emergency-only UE, so that it updates on every move and
    the MME knows where an emergency call is (TS 23.401 §4.3.12)."""
    if ue.emergency:
        return [Tai(ue.tai[0], ue.tai[1])]
    return [Tai(mme.plmn, tac) for tac in mme.cfg.tacs[:16]]


def attach_accept(mme: MmePort, ue: UeContext, bearer_request: bytes, guti: Guti) -> bytes:
    """The plain ATTACH ACCEPT (TS 24.301 §8.2.1, attach result "EPS only") carrying the
    ACTIVATE DEFAULT EPS BEARER CONTEXT REQUEST and the new GUTI."""
    key = ue.tai if ue.emergency else None
    accepts = mme.attach_accepts.get(key)
    if accepts is None:
        if len(mme.attach_accepts) >= ACCEPTS_KEPT:
            mme.attach_accepts.clear()
        accepts = mme.attach_accepts[key] = nas.AttachAccepts(
            tai_list(mme, ue), mme.cfg.t3412_s, emergency_numbers(mme), NETWORK_FEATURES)
    return accepts.encode(bearer_request, guti)
