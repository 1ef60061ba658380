"""NAS security mode control at the MME (TS 24.301 §5.4.3; TS 33.401 §7.2.4.4): the new
security context from KASME, or the null context of an unauthenticated emergency attach
(TS 33.401 §5.1.4.1, §15.2.2).
"""

from __future__ import annotations

import functools

from corenet.codecs import nas
from corenet.codecs.base import Message
from corenet.crypto.nas_security import NasSecurityContext
from corenet.nf.mme import emm_sm, nas_path, s1ap_build
from corenet.nf.mme.context import Step, UeContext
from corenet.nf.mme.port import MmePort


def select(preferred: list[int], supported: bytes, octet: int) -> int | None:
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


def command(mme: MmePort, ue: UeContext) -> bool:
    """SECURITY MODE COMMAND with the new context (TS 24.301 §5.4.3.2: security header
    type 3; keys per TS 33.401 A.7), start T3460. False when no algorithm fits."""
    sec = ue.security
    eia = select(mme.cfg.security.eia, sec.ue_net_cap, 1)
    eea = select(mme.cfg.security.eea, sec.ue_net_cap, 0)
    if eia is None or eea is None or sec.vector is None:
        mme.log("emm.security.mismatch", imsi=ue.imsi)
        return False
    sec.sec = NasSecurityContext.from_kasme(sec.ksi, sec.vector.kasme, eia, eea)
    plain = _command(eea, eia, sec.ksi, sec.ue_net_cap)
    ue.step = Step.SECURITY_MODE
    nas_path.send_guarded(mme, ue, "T3460", plain, nas_path.INTEGRITY_NEW_CONTEXT)
    return True


@functools.lru_cache(maxsize=256)
def _command(eea: int, eia: int, ksi: int, ue_net_cap: bytes) -> bytes:
    """The plain SECURITY MODE COMMAND (TS 24.301 §8.2.20, IMEISV requested): a function of
    the algorithms, the KSI and the UE's capabilities alone, built once for the UEs that
    announce the same."""
    return nas.security_mode_command(eea, eia, ksi, replayed_capabilities(ue_net_cap),
                                     imeisv_request=True)


def null_command(mme: MmePort, ue: UeContext) -> None:
    """Emergency attach without authentication: SECURITY MODE COMMAND with EIA0/EEA0 (TS 33.401
    §5.1.4.1: null integrity only for unauthenticated emergency bearer services; TS 24.301
    §5.4.3.2: KSI 0). No KASME exists: no key is derived, and the NAS COUNTs of a null context
    already in use are kept."""
    sec = ue.security
    ue.authenticated, sec.vector = False, None
    sec.ksi = 0
    old = sec.sec if sec.sec is not None and sec.sec.eia == 0 else None
    sec.sec = NasSecurityContext(ksi=0, kasme=b"", eia=0, eea=0, k_nas_int=b"", k_nas_enc=b"")
    if old is not None:
        sec.sec.ul_count, sec.sec.dl_count = old.ul_count, old.dl_count
    sec.secured = False
    plain = nas.security_mode_command(0, 0, 0, replayed_capabilities(sec.ue_net_cap),
                                      imeisv_request=True)
    ue.step = Step.SECURITY_MODE
    emm_sm.transition(ue, emm_sm.EmmEvent.COMMON_PROCEDURE)
    nas_path.send_guarded(mme, ue, "T3460", plain, nas_path.INTEGRITY_NEW_CONTEXT)
    mme.log("emm.security.null", imsi=ue.imsi, imei=ue.imei, clause="TS 33.401 §5.1.4.1")


def completed(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """TS 24.301 §5.4.3.4: the new context is taken into use; the IMEISV is recorded."""
    nas_path.stop_nas_timer(mme, ue)
    # the vector's RAND, XRES and AUTN have served (TS 33.401 §6.1.1): the context keeps
    # KASME in its NAS security context (§7.2.1), whence KeNB (A.3), and no more
    ue.security.secured, ue.security.vector = True, None
    imeisv = msg.fields.get("imeisv")
    if isinstance(imeisv, dict) and imeisv.get("type") == "imeisv":
        ue.imeisv = str(imeisv["value"])
    sec = ue.security.sec
    assert sec is not None
    mme.log("emm.security.established", imsi=ue.imsi, eia=sec.eia, eea=sec.eea)


def rejected(mme: MmePort, ue: UeContext, msg: Message) -> None:
    """TS 24.301 §5.4.3.5: abort the ongoing procedure that triggered the SMC."""
    nas_path.stop_nas_timer(mme, ue)
    ue.security.sec = None
    mme.log("emm.security.rejected", imsi=ue.imsi, emm_cause=msg.fields.get(nas.EMM_CAUSE))
    emm_sm.transition(ue, emm_sm.EmmEvent.ABORTED)
    mme.release(ue, s1ap_build.NAS_UNSPECIFIED)
