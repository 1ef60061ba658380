"""An Attach Request naming the IMSI (or GUTI) of an attached UE changes nothing for that UE
until the newcomer is authenticated (TS 33.401 §5.1.4; TS 24.301 §5.5.1.2.7); afterwards the
old context is implicitly detached (TS 23.401 §5.3.2.1 step 3)."""

from __future__ import annotations

from corenet.codecs import nas, s1ap
from corenet.config.models import MmeConfig
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import DOWNLINK, NasSecurityContext
from corenet.nf.mme.context import EmmState, Step
from corenet.nf.mme.policy import Mode, Policy

from .scenario import HOME_PLMN, IMSI, Scenario

IMEISV = "3534900000000101"
SOS = 4  # TS 24.008 §10.5.6.17 request type "emergency"


def _victim(cfg: MmeConfig | None = None) -> tuple[Scenario, int]:
    sc = Scenario(cfg=cfg or MmeConfig())
    sc.s1_setup()
    sc.attach()
    sc.received()  # EMM Information
    assert sc.mme_ue_id is not None
    return sc, sc.mme_ue_id


def _new_connection(sc: Scenario, enb_ue_id: int) -> None:
    """Another UE on the same eNB: a new UE-associated logical connection, no keys."""
    sc.enb_ue_id, sc.mme_ue_id, sc.ue_sec = enb_ue_id, None, None


def _assert_victim_intact(sc: Scenario, victim_id: int, enb_ue_id: int = 7) -> None:
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.mme_ue_id == victim_id
    assert ue.emm_state is EmmState.REGISTERED and ue.step is Step.ATTACHED
    assert ue.session.session_created and ue.session.pdn is not None and ue.session.pdn.sgw_s11_teid == 0x5000
    assert ue.session.pdn.ipv4 == "10.45.0.2"
    assert ue.enb_assoc == sc.assoc and ue.enb_ue_id == enb_ue_id
    assert ue.guti is not None and sc.core.ue_by_guti(ue.guti) is ue
    assert "emm.context.replaced" not in sc.log_kinds()


def _no_harm_to(sc: Scenario, victim_id: int) -> None:
    """Nothing sent so far on the victim's behalf: no Delete Session, no release command."""
    assert all(m.name != "DeleteSessionRequest" for m in sc.sent_s11())
    for m in sc.sent_s1():
        if m.name == "UEContextReleaseCommand":
            ids = m.fields["UE-S1AP-IDs"][1]
            assert ids["mME-UE-S1AP-ID"] != victim_id


def test_claimed_imsi_failing_aka_leaves_the_victim_attached() -> None:
    sc, victim_id = _victim()
    _new_connection(sc, 8)
    sc.attach_request()  # the attacker names the victim's IMSI
    _no_harm_to(sc, victim_id)
    (air,) = sc.sent_s6a()
    assert air.name == "AIR"
    _assert_victim_intact(sc, victim_id)
    sc.answer_air(air)
    (auth,) = sc.received()
    assert auth.name == "AuthenticationRequest"
    sc.uplink(nas.authentication_response(bytes(8)))  # the attacker has no K
    (reject,) = sc.received()
    assert reject.name == "AuthenticationReject"
    (cmd,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    assert cmd.fields["UE-S1AP-IDs"][1] == {"mME-UE-S1AP-ID": sc.mme_ue_id,
                                            "eNB-UE-S1AP-ID": 8}
    _no_harm_to(sc, victim_id)
    sc.s1(s1ap.ue_context_release_complete(sc.mme_ue_id or 0, 8))
    assert sc.core.ue_count() == 1
    _assert_victim_intact(sc, victim_id)


def test_claimed_imsi_never_answering_leaves_the_victim_attached() -> None:
    sc, victim_id = _victim()
    _new_connection(sc, 8)
    sc.attach_request()
    (air,) = sc.sent_s6a()
    sc.answer_air(air)
    attacker = sc.mme_ue_id
    for _ in range(sc.cfg.timers.max_retransmissions + 1):
        sc.expire("T3460", attacker)
        _no_harm_to(sc, victim_id)
    sc.s1(s1ap.ue_context_release_complete(attacker or 0, 8))
    assert sc.core.ue_count() == 1
    _assert_victim_intact(sc, victim_id)


def test_claimed_guti_failing_aka_leaves_the_victim_its_guti() -> None:
    sc, victim_id = _victim()
    guti = sc.core.ues[victim_id].guti
    _new_connection(sc, 8)
    esm = nas.pdn_connectivity_request(pti=1, pdn_type=1)
    sc.uplink(nas.attach_request(guti=guti, esm_container=esm))
    _no_harm_to(sc, victim_id)
    (air,) = sc.sent_s6a()
    sc.answer_air(air)
    sc.uplink(nas.authentication_response(bytes(8)))
    (reject,) = sc.received()
    assert reject.name == "AuthenticationReject"
    _no_harm_to(sc, victim_id)
    _assert_victim_intact(sc, victim_id)


def test_authenticated_reattach_replaces_the_old_context() -> None:
    sc, victim_id = _victim()
    _new_connection(sc, 8)
    sc.security_mode()  # the real UE again, on a new connection: AKA succeeds
    _no_harm_to(sc, victim_id)
    assert sc.core.ues[victim_id].session.session_created
    sc.uplink(sc.protect(nas.security_mode_complete(IMEISV), 4))
    # TS 23.401 §5.3.2.1 step 3: the old session deleted, the old S1 connection released
    dsr = next(m for m in sc.sent_s11() if m.name == "DeleteSessionRequest")
    assert dsr.fields["teid"] == 0x5000
    (cmd,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    assert cmd.fields["UE-S1AP-IDs"][1] == {"mME-UE-S1AP-ID": victim_id, "eNB-UE-S1AP-ID": 7}
    assert "emm.context.replaced" in sc.log_kinds()
    (ulr,) = sc.sent_s6a()
    assert ulr.name == "ULR"
    new_id = sc.mme_ue_id
    sc.s1(s1ap.ue_context_release_complete(victim_id, 7))
    assert victim_id not in sc.core.ues
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.mme_ue_id == new_id and ue.authenticated


def test_unauthenticated_emergency_claim_never_removes_an_authenticated_context() -> None:
    sc, victim_id = _victim()
    # the home network becomes emergency-only, unauthenticated (TS 23.401 §4.3.12.1)
    sc.core.policy.set(Policy(HOME_PLMN, None, Mode.EMERGENCY_UNAUTH))
    _new_connection(sc, 8)
    esm = nas.pdn_connectivity_request(pti=1, request_type=SOS, pdn_type=1)
    sc.uplink(nas.attach_request(attach_type=6, imsi=IMSI, esm_container=esm))
    assert sc.sent_s6a() == []
    (pdu,) = sc.downlink_nas()
    sc.ue_sec = NasSecurityContext(ksi=0, kasme=b"", eia=0, eea=0, k_nas_int=b"",
                                   k_nas_enc=b"")
    smc = nas.decode(pdu, sc.ue_sec, DOWNLINK)
    assert smc.fields["selected_nas_security_algorithms"] == {"eea": 0, "eia": 0}
    sc.uplink(sc.protect(nas.security_mode_complete(IMEISV), 4))
    (csr,) = sc.sent_s11()
    assert csr.name == "CreateSessionRequest" and csr.fields["indication"]["uimsi"] is True
    assert "emm.context.kept" in sc.log_kinds()
    _no_harm_to(sc, victim_id)
    _assert_victim_intact(sc, victim_id)
    newcomer = sc.core.ues[sc.mme_ue_id or 0]
    assert newcomer.imsi == IMSI and newcomer.imsi_claimed


def test_unauthenticated_emergency_reattach_replaces_an_unauthenticated_context() -> None:
    cfg = MmeConfig(roaming={"policies": [{"home_plmn": str(Plmn("440", "10")),
                                           "mode": "emergency-unauth"}]})
    sc = Scenario(cfg=cfg)
    sc.s1_setup()
    ids = []
    for enb_ue_id in (7, 8):
        _new_connection(sc, enb_ue_id)
        esm = nas.pdn_connectivity_request(pti=1, request_type=SOS, pdn_type=1)
        sc.uplink(nas.attach_request(attach_type=6, imsi=IMSI, esm_container=esm))
        sc.ue_sec = NasSecurityContext(ksi=0, kasme=b"", eia=0, eea=0, k_nas_int=b"",
                                       k_nas_enc=b"")
        sc.uplink(sc.protect(nas.security_mode_complete(IMEISV), 4))
        csr = next(m for m in sc.sent_s11() if m.name == "CreateSessionRequest")
        sc.answer_create_session(csr)
        ids.append(sc.mme_ue_id)
        if enb_ue_id == 8:
            assert "emm.context.replaced" in sc.log_kinds()
    assert sc.core.ue_by_imsi(IMSI) is sc.core.ues[ids[1] or 0]
    assert sc.core.ues[ids[0] or 0].step is Step.RELEASING
