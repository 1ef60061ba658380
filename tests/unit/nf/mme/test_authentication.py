"""EPS authentication at the MME core (TS 24.301 §5.4.2; TS 33.401 §6.1): the AIR to the
home HSS (TS 29.272 §5.2.3.1), RES against XRES, the UE's synch and MAC failures (§5.4.2.6),
and T3460 (§5.4.2.7)."""

from __future__ import annotations

from corenet.codecs import diameter, nas
from corenet.crypto import milenage
from corenet.nf.mme.events import SendS6a

from .scenario import (
    HOME_PLMN,
    IMSI,
    MME_PLMN,
    Scenario,
    release_complete,
)


def test_air_goes_to_home_realm_with_visited_plmn() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach_request()
    (air,) = sc.sent_s6a()
    assert air.name == "AIR"
    assert diameter.avp(air, "Destination-Realm") == "epc.mnc010.mcc440.3gppnetwork.org"
    assert diameter.avp(air, "User-Name") == IMSI
    assert diameter.avp(air, "Visited-PLMN-Id") == MME_PLMN.to_bytes()
    assert diameter.avp(air, "Requested-EUTRAN-Authentication-Info",
                        "Number-Of-Requested-Vectors") == 1
    (send,) = [a for a in sc.actions if isinstance(a, SendS6a)]
    assert send.realm == HOME_PLMN.realm


def test_wrong_res_gets_authentication_reject_and_release() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.uplink(nas.authentication_response(bytes(8)))
    (reject,) = sc.received()
    assert reject.name == "AuthenticationReject"
    (cmd,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    assert cmd.fields["Cause"] == ("nas", "authentication-failure")
    release_complete(sc)
    assert sc.core.ue_count() == 0
    assert sc.timers == {}


def test_synch_failure_sends_air_with_resynchronization_info() -> None:
    sc = Scenario()
    sc.s1_setup()
    auth = sc.authenticate()
    rand = auth.fields["authentication_parameter_rand"]
    auts = milenage.build_auts(sc.usim, rand, milenage.int_to_sqn(1000))
    sc.uplink(nas.authentication_failure(21, auts))
    (air,) = sc.sent_s6a()
    info = diameter.avp(air, "Requested-EUTRAN-Authentication-Info", "Re-Synchronization-Info")
    assert info == rand + auts
    sc.sqn = 1032
    sc.answer_air(air)
    (again,) = sc.received()
    assert again.name == "AuthenticationRequest"
    assert again.fields["authentication_parameter_rand"] != rand
    sc.uplink(sc.ue_response(again))
    (smc,) = sc.downlink_nas()
    assert nas.decode(smc).name == "SecurityModeCommand"


def test_second_synch_failure_is_rejected() -> None:
    sc = Scenario()
    sc.s1_setup()
    auth = sc.authenticate()
    auts = milenage.build_auts(sc.usim, auth.fields["authentication_parameter_rand"],
                               milenage.int_to_sqn(1000))
    sc.uplink(nas.authentication_failure(21, auts))
    (air,) = sc.sent_s6a()
    sc.answer_air(air)
    sc.uplink(nas.authentication_failure(21, auts))
    (reject,) = sc.received()
    assert reject.name == "AuthenticationReject"


def test_mac_failure_identifies_then_rejects_the_second_time() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.uplink(nas.authentication_failure(20))
    (ident,) = sc.received()
    assert ident.name == "IdentityRequest" and ident.fields["identity_type"] == 1
    assert ("T3470", sc.mme_ue_id) in sc.timers
    sc.uplink(nas.identity_response(imsi=IMSI))
    (air,) = sc.sent_s6a()
    sc.answer_air(air)
    sc.uplink(nas.authentication_failure(20))
    (reject,) = sc.received()
    assert reject.name == "AuthenticationReject"


def test_t3460_retransmits_then_gives_up_and_releases_everything() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.security_mode()
    key = sc.mme_ue_id
    for i in range(sc.cfg.timers.max_retransmissions):
        sc.expire("T3460", key)
        (pdu,) = sc.downlink_nas()
        smc = nas.decode(pdu)
        assert smc.name == "SecurityModeCommand" and smc.fields["sequence_number"] == i + 1
    sc.expire("T3460", key)
    assert sc.downlink_nas() == []
    assert "emm.procedure.aborted" in sc.log_kinds()
    release_complete(sc)
    assert sc.core.ue_count() == 0
    assert sc.timers == {}
