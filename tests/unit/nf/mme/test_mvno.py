"""MVNO subscribers under the rescuer's roaming policy (corenet.nf.mme.mvno): full MVNOs reached
by their own realm, light MVNOs as their host's own subscribers, MVNOs without JAPAN Roaming
refused #11 (TS 24.301 §5.5.1.2.5), and the emergency modes as for the host (TS 23.401
§4.3.12.1), driven with encoded messages."""

from __future__ import annotations

from typing import Any

from corenet.codecs import diameter, nas
from corenet.config.models import MmeConfig, MvnoEntry
from corenet.core.plmn import Plmn
from corenet.nf.mme.mvno import Mvno, mode_for, mvno_of
from corenet.nf.mme.policy import Mode

from .scenario import Scenario

FULL_IMSI = "440110000000001"  # full MVNO with its own PLMN 440-11
LIGHT_IMSI = "440105000000001"  # light MVNO: host 440-10's IMSIs 4401050...
HOST_IMSI = "440100000000001"
MVNO_REALM = Plmn("440", "11").realm
HOST_REALM = Plmn("440", "10").realm
SOS = 4  # TS 24.008 §10.5.6.17 request type "emergency"


def _mvnos(**full: Any) -> list[MvnoEntry]:
    return [MvnoEntry(name="mvno-full", kind="full", host_plmn="44010", home_plmn="44011",
                      **full),
            MvnoEntry(name="mvno-light", kind="light", host_plmn="44010",
                      imsi_prefixes=["4401050"])]


def _scenario(mode: str = "full", **full: Any) -> Scenario:
    cfg = MmeConfig.model_validate({
        "roaming": {"policies": [{"home_plmn": "44010", "mode": mode}],
                    "mvnos": [m.model_dump() for m in _mvnos(**full)]},
        "diameter_routes": [
            {"realm": HOST_REALM, "host": "dea.epc.mnc020.mcc440.3gppnetwork.org",
             "peer": {"host": "127.0.0.10", "port": 3868}, "agent": True},
            {"realm": MVNO_REALM, "host": "dea.epc.mnc020.mcc440.3gppnetwork.org",
             "peer": {"host": "127.0.0.10", "port": 3868}, "agent": True}]})
    sc = Scenario(cfg=cfg)
    sc.s1_setup()
    return sc


def _emergency_attach(sc: Scenario, imsi: str) -> None:
    esm = nas.pdn_connectivity_request(pti=1, request_type=SOS, pdn_type=1)
    sc.uplink(nas.attach_request(attach_type=6, imsi=imsi, esm_container=esm))


def _reject_cause(sc: Scenario) -> int:
    (reject,) = sc.received()
    assert reject.name == "AttachReject"
    return int(reject.fields["emm_cause"])


def _mvno_log(sc: Scenario) -> dict[str, Any]:
    (event,) = [e for e in sc.logs if e.kind == "policy.mvno"]
    return event.data


def test_imsi_ranges_win_over_home_plmn_and_others_are_no_mvno() -> None:
    mvnos = [Mvno.of(m) for m in _mvnos()]
    assert mvno_of(FULL_IMSI, mvnos) is mvnos[0]
    assert mvno_of(LIGHT_IMSI, mvnos) is mvnos[1]
    assert mvno_of(HOST_IMSI, mvnos) is None
    wide = Mvno.of(MvnoEntry(name="wide", kind="light", host_plmn="44010",
                             imsi_prefixes=["440105"]))
    assert mvno_of(LIGHT_IMSI, [wide, *mvnos]) is mvnos[1]  # the longest prefix


def test_mode_table() -> None:
    m = Mvno.of(_mvnos()[0])
    for host in Mode:
        assert mode_for(m, host) is host
    none = Mvno.of(_mvnos(offers_roaming=False)[0])
    assert {mode_for(none, host) for host in Mode} == {Mode.OFF}
    sos_only = Mvno.of(_mvnos(modes=["emergency-unauth", "emergency-auth"])[0])
    assert mode_for(sos_only, Mode.FULL) is Mode.EMERGENCY_AUTH
    assert mode_for(sos_only, Mode.EMERGENCY_UNAUTH) is Mode.EMERGENCY_UNAUTH
    auth_only = Mvno.of(_mvnos(modes=["full"])[0])
    assert mode_for(auth_only, Mode.EMERGENCY_AUTH) is Mode.OFF


def test_full_mvno_offering_roaming_is_authenticated_by_its_own_realm() -> None:
    sc = _scenario()
    sc.attach_request(FULL_IMSI)
    (air,) = sc.sent_s6a()
    assert diameter.avp(air, "User-Name") == FULL_IMSI
    assert diameter.avp(air, "Destination-Realm") == MVNO_REALM
    assert _mvno_log(sc) == {"imsi": FULL_IMSI, "mvno": "mvno-full", "mvno_kind": "full",
                             "mode": "full"}


def test_full_mvno_without_japan_roaming_is_refused_11_without_diameter() -> None:
    sc = _scenario(offers_roaming=False)
    sc.attach_request(FULL_IMSI)
    assert _reject_cause(sc) == 11
    assert sc.sent_s6a() == []
    sc = _scenario(offers_roaming=False)
    _emergency_attach(sc, FULL_IMSI)
    assert _reject_cause(sc) == 11


def test_light_mvno_is_admitted_as_the_host_with_the_host_realm() -> None:
    sc = _scenario()
    sc.attach_request(LIGHT_IMSI)
    (air,) = sc.sent_s6a()
    assert diameter.avp(air, "Destination-Realm") == HOST_REALM
    assert _mvno_log(sc)["mvno"] == "mvno-light"


def test_emergency_modes_apply_to_mvno_subscribers_as_to_the_host() -> None:
    for imsi, realm in ((FULL_IMSI, MVNO_REALM), (LIGHT_IMSI, HOST_REALM)):
        sc = _scenario("emergency-auth")
        sc.attach_request(imsi)
        assert _reject_cause(sc) == 15  # normal attach: emergency only, as the host's UEs
        sc = _scenario("emergency-auth")
        _emergency_attach(sc, imsi)
        (air,) = sc.sent_s6a()  # authenticated UEs only: AIR through the same path
        assert diameter.avp(air, "Destination-Realm") == realm
        sc = _scenario("emergency-unauth")
        _emergency_attach(sc, imsi)
        assert sc.sent_s6a() == []  # no Diameter at all
        assert sc.downlink_nas(), imsi  # the null-algorithm Security Mode Command


def test_mvno_offering_emergency_only_gets_15_while_host_roams_fully() -> None:
    sc = _scenario(modes=["emergency-auth"])
    sc.attach_request(FULL_IMSI)
    assert _reject_cause(sc) == 15
    assert _mvno_log(sc)["mode"] == "emergency-auth"
