"""Identification at the MME core (TS 24.301 §5.4.4): a GUTI we cannot resolve is answered
by an Identity Request, guarded by T3470 (§5.4.4.6)."""

from __future__ import annotations

from corenet.codecs import diameter, nas

from .scenario import (
    IMSI,
    MME_PLMN,
    Scenario,
    release_complete,
)


def test_unknown_guti_triggers_identification() -> None:
    sc = Scenario()
    sc.s1_setup()
    guti = nas.Guti(MME_PLMN, 0x8001, 1, 0xABCDEF)
    esm = nas.pdn_connectivity_request(pti=1)
    sc.uplink(nas.attach_request(guti=guti, esm_container=esm))
    (ident,) = sc.received()
    assert ident.name == "IdentityRequest"
    sc.uplink(nas.identity_response(imsi=IMSI))
    (air,) = sc.sent_s6a()
    assert diameter.avp(air, "User-Name") == IMSI


def test_t3470_retransmits_identity_request_then_gives_up() -> None:
    """TS 24.301 §5.4.4.6 (a): IDENTITY REQUEST retransmitted on each T3470 expiry; on the fifth
    expiry the identification procedure is aborted and the UE released."""
    sc = Scenario()
    sc.s1_setup()
    guti = nas.Guti(MME_PLMN, 0x8001, 1, 0xABCDEF)
    sc.uplink(nas.attach_request(guti=guti, esm_container=nas.pdn_connectivity_request(pti=1)))
    (ident,) = sc.received()
    assert ident.name == "IdentityRequest"
    key = sc.mme_ue_id
    for _ in range(sc.cfg.timers.max_retransmissions):
        sc.expire("T3470", key)
        (again,) = sc.received()
        assert again.name == "IdentityRequest"
    sc.expire("T3470", key)
    assert sc.received() == []
    assert sc.sent_s6a() == []
    assert "emm.procedure.aborted" in sc.log_kinds()
    release_complete(sc)
    assert sc.core.ue_count() == 0
    assert sc.timers == {}
