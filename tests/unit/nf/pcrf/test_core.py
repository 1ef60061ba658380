"""PCRF procedures: one Gx or Rx request in, one answer out (TS 29.212, TS 29.214)."""

from __future__ import annotations

from corenet.codecs import diameter as dia
from corenet.codecs import pcc
from corenet.codecs.base import Message
from corenet.nf.pcrf.core import PcrfCore, SendAnswer, SendRequest
from corenet.nf.sgw_pgw.gx import rule_of
from tests.unit.nf.pcrf.helpers import (
    IMEISV,
    IMSI,
    MSISDN,
    PCRF,
    PGW,
    UE,
    aar,
    ccr,
    ccr_initial,
    media_component,
    roundtrip,
    str_,
)

REPORT = pcc.CcRequestType.UPDATE_REQUEST


def _core() -> PcrfCore:
    return PcrfCore(PCRF.host, PCRF.realm)


def _answer(actions: list) -> Message:
    answers = [a.message for a in actions if isinstance(a, SendAnswer)]
    assert len(answers) == 1
    return roundtrip(answers[0])


def _requests(actions: list) -> list[SendRequest]:
    return [a for a in actions if isinstance(a, SendRequest)]


def test_ccr_initial_is_answered_with_the_default_bearer_qos() -> None:
    core = _core()
    cca = _answer(core.handle(ccr_initial(), 0.0))
    assert cca.name == "CCA" and dia.avp(cca, "Result-Code") == 2001
    assert dia.avp(cca, "CC-Request-Type") == pcc.CcRequestType.INITIAL_REQUEST
    qos = dia.avp(cca, "Default-EPS-Bearer-QoS")
    # TS 23.401 §4.7.3: the emergency APN's bearer gets the emergency ARP
    assert dia.avp(qos, "QoS-Class-Identifier") == 5
    assert dia.avp(qos, "Allocation-Retention-Priority", "Priority-Level") == 1
    gx = core.session_by_ue_address(UE)
    assert gx is not None and gx.ids == pcc.Identities(IMSI, MSISDN, IMEISV) and gx.emergency


class _Counted(list):  # type: ignore[type-arg]
    """A request's AVP list that counts the passes made over it."""

    passes = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        _Counted.passes += 1
        return super().__iter__()


def test_ccr_initial_reads_its_avps_in_a_few_passes() -> None:
    """TS 29.212 §4.5.1: the CCR-I's AVPs (Subscription-Ids, UE address, APN, QoS, cell...)
    are read in one pass over its AVP list, not one pass per AVP read; the session and the
    answer are the same."""
    req = ccr_initial(apn="internet")
    counted = Message(req.protocol, req.name, req.code,
                      {**req.fields, "avps": _Counted(req.fields["avps"])})
    _Counted.passes = 0
    core = _core()
    cca = _answer(core.handle(counted, 0.0, checked=True))
    # the header AVPs read from the front (Session-Id, Auth-Application-Id, CC-Request-Type
    # and -Number), then one pass for the rest and one for the identities: 25 passes before
    assert _Counted.passes <= 8
    assert dia.avp(cca, "Result-Code") == 2001
    qos = dia.avp(cca, "Default-EPS-Bearer-QoS")
    assert dia.avp(qos, "QoS-Class-Identifier") == 5
    assert dia.avp(qos, "Allocation-Retention-Priority", "Priority-Level") == 9
    gx = core.session_by_ue_address(UE)
    assert gx is not None and gx.ids == pcc.Identities(IMSI, MSISDN, IMEISV)
    assert (gx.apn, gx.pcef_host, gx.ipv4, gx.emergency) == ("internet", PGW.host, UE, False)
    assert gx.location == pcc.user_location({"tai": {"plmn": "44020", "tac": 1},
                                             "ecgi": {"plmn": "44020", "eci": 0x10101}})


def test_aar_binds_by_ue_address_and_returns_the_identities() -> None:
    core = _core()
    core.handle(ccr_initial(), 0.0)
    aaa = _answer(core.handle(aar(), 0.0))
    assert aaa.name == "AAA" and dia.avp(aaa, "Result-Code") == 2001
    assert pcc.identities_of(aaa) == pcc.Identities(IMSI, MSISDN, IMEISV)
    loc = pcc.location_of(dia.avp(aaa, "3GPP-User-Location-Info"))
    assert loc == pcc.Location("44020", 1, 0x10101)


def test_aar_without_ip_can_session_is_refused_5065() -> None:
    aaa = _answer(_core().handle(aar(), 0.0))
    assert dia.avp(aaa, "Experimental-Result", "Experimental-Result-Code") == 5065
    assert dia.avp(aaa, "Experimental-Result", "Vendor-Id") == dia.VENDOR_3GPP


def test_non_emergency_aar_on_the_emergency_apn_is_refused_5067() -> None:
    core = _core()
    core.handle(ccr_initial(), 0.0)
    aaa = _answer(core.handle(aar(emergency=False), 0.0))
    assert dia.avp(aaa, "Experimental-Result", "Experimental-Result-Code") == 5067


def test_unauthenticated_session_gives_the_imsi_without_msisdn() -> None:
    core = _core()
    core.handle(ccr_initial(msisdn=None), 0.0)
    aaa = _answer(core.handle(aar(), 0.0))
    assert pcc.identities_of(aaa) == pcc.Identities(IMSI, None, IMEISV)


def test_media_aar_installs_a_qci1_rule_and_str_removes_it() -> None:
    core = _core()
    core.handle(ccr_initial(), 0.0)
    actions = core.handle(aar("pcscf;1;2", media_component(kbps=41)), 0.0)
    [rar] = _requests(actions)
    assert rar.destination_host == PGW.host
    msg = roundtrip(rar.message)
    assert msg.name == "RAR" and msg.fields["application_id"] == dia.GX_APPLICATION_ID
    assert dia.avp(msg, "Session-Id") == "pgw;1;1"
    rule = rule_of(dia.avp(msg, "Charging-Rule-Install", "Charging-Rule-Definition"))
    assert rule is not None
    assert (rule.qci, rule.gbr_dl_bps, rule.gbr_ul_bps, rule.arp_priority) == (1, 41000, 41000, 1)
    assert rule.flows == ("permit out 17 from 127.0.0.8 40000 to 127.147.0.2 50000",
                          "permit out 17 from 127.147.0.2 50000 to 127.0.0.8 40000")
    directions = dia.avp_all(msg, "Charging-Rule-Install", "Charging-Rule-Definition",
                             "Flow-Information", "Flow-Direction")
    assert directions == [pcc.FLOW_DIRECTION_DOWNLINK, pcc.FLOW_DIRECTION_UPLINK]
    actions = core.handle(str_("pcscf;1;2"), 0.0)
    assert dia.avp(_answer(actions), "Result-Code") == 2001
    [remove] = _requests(actions)
    names = dia.avp_all(roundtrip(remove.message), "Charging-Rule-Remove", "Charging-Rule-Name")
    assert names == [rule.name.encode()]


def test_str_of_an_unknown_session_is_5002() -> None:
    sta = _answer(_core().handle(str_("pcscf;9;9"), 0.0))
    assert sta.name == "STA" and dia.avp(sta, "Result-Code") == 5002


def test_ccr_update_of_an_unknown_session_is_5002() -> None:
    cca = _answer(_core().handle(ccr("pgw;9;9", REPORT, 1), 0.0))
    assert dia.avp(cca, "Result-Code") == 5002


def test_inactive_rule_report_is_told_to_the_af() -> None:
    core = _core()
    core.handle(ccr_initial(), 0.0)
    [rar] = _requests(core.handle(aar("pcscf;1;2", media_component()), 0.0))
    name = dia.avp(rar.message, "Charging-Rule-Install", "Charging-Rule-Definition",
                   "Charging-Rule-Name")
    actions = core.handle(ccr("pgw;1;1", REPORT, 1, ("Charging-Rule-Report", [
        ("Charging-Rule-Name", name), ("PCC-Rule-Status", 1), ("Rule-Failure-Code", 4)])), 0.0)
    assert dia.avp(_answer(actions), "Result-Code") == 2001
    [notify] = _requests(actions)
    msg = roundtrip(notify.message)
    assert msg.fields["application_id"] == dia.RX_APPLICATION_ID
    assert dia.avp(msg, "Specific-Action") == pcc.INDICATION_OF_FAILED_RESOURCES_ALLOCATION


def test_ccr_terminate_aborts_the_bound_rx_sessions() -> None:
    core = _core()
    core.handle(ccr_initial(), 0.0)
    core.handle(aar(), 0.0)
    actions = core.handle(ccr("pgw;1;1", pcc.CcRequestType.TERMINATION_REQUEST, 1,
                              ("Termination-Cause", 1)), 0.0)
    assert dia.avp(_answer(actions), "Result-Code") == 2001
    [asr] = _requests(actions)
    msg = roundtrip(asr.message)
    assert msg.name == "ASR" and dia.avp(msg, "Abort-Cause") == pcc.BEARER_RELEASED
    assert core.session_by_ue_address(UE) is None


def test_missing_mandatory_avp_is_5005() -> None:
    req = aar()
    req.fields["avps"] = [a for a in req.fields["avps"] if a[0] != "Destination-Realm"]
    answer = _answer(_core().handle(req, 0.0))
    assert dia.avp(answer, "Result-Code") == 5005


def test_s6a_request_is_application_unsupported() -> None:
    req = aar()
    req.fields["application_id"] = dia.S6A_APPLICATION_ID
    answer = _answer(_core().handle(req, 0.0))
    assert dia.avp(answer, "Result-Code") == 3007 and answer.fields["flags"]["error"]


def test_request_without_session_id_is_answered_5005() -> None:
    req = aar()
    req.fields["avps"] = [a for a in req.fields["avps"] if a[0] != "Session-Id"]
    answer = _answer(_core().handle(req, 0.0))
    assert dia.avp(answer, "Result-Code") == 5005 and dia.avp(answer, "Session-Id") is None


def test_emergency_pdn_of_a_normally_attached_ue_carries_its_signalling() -> None:
    """TS 23.401 §4.3.12.1: only a UE attached for emergency services alone is limited to
    emergency sessions; one with a normal PDN connection too registers over its emergency one."""
    core = _core()
    core.handle(ccr_initial("pgw;1;1", apn="ims", ue="127.146.0.2"), 0.0)
    core.handle(ccr_initial("pgw;1;2"), 0.0)
    aaa = _answer(core.handle(aar(emergency=False), 0.0))
    assert dia.avp(aaa, "Result-Code") == 2001
    # an unauthenticated IMSI is a claim: it never links to the subscriber's sessions
    core.handle(ccr_initial("pgw;1;3", msisdn=None, ue="127.147.0.3"), 0.0)
    aaa = _answer(core.handle(aar("pcscf;1;3", ue="127.147.0.3", emergency=False), 0.0))
    assert dia.avp(aaa, "Experimental-Result", "Experimental-Result-Code") == 5067


def test_sessions_bound_and_ended_one_by_one_keep_the_others() -> None:
    """TS 29.213 §4.2.2: only the Rx sessions bound to an ending IP-CAN session are aborted;
    TS 23.401 §4.3.12.1: a UE keeps its normal attachment while one normal session is left."""
    core = _core()
    core.handle(ccr_initial("pgw;1;1", apn="internet", ue="127.146.0.2"), 0.0)
    core.handle(ccr_initial("pgw;1;2", apn="ims", ue="127.146.0.3"), 0.0)
    core.handle(ccr_initial("pgw;1;3"), 0.0)  # the emergency one, on UE
    for sid in ("pcscf;1;1", "pcscf;1;2", "pcscf;1;3"):
        assert dia.avp(_answer(core.handle(aar(sid), 0.0)), "Result-Code") == 2001
    assert core.gx["pgw;1;3"].rx == ("pcscf;1;1", "pcscf;1;2", "pcscf;1;3")
    core.handle(str_("pcscf;1;2"), 0.0)
    assert core.gx["pgw;1;3"].rx == ("pcscf;1;1", "pcscf;1;3")
    core.handle(ccr("pgw;1;1", pcc.CcRequestType.TERMINATION_REQUEST, 1,
                    ("Termination-Cause", 1)), 0.0)
    # still normally attached through pgw;1;2: a non-emergency AAR is served
    aaa = _answer(core.handle(aar("pcscf;1;4", emergency=False), 0.0))
    assert dia.avp(aaa, "Result-Code") == 2001
    core.handle(ccr("pgw;1;2", pcc.CcRequestType.TERMINATION_REQUEST, 1,
                    ("Termination-Cause", 1)), 0.0)
    aaa = _answer(core.handle(aar("pcscf;1;5", emergency=False), 0.0))
    assert dia.avp(aaa, "Experimental-Result", "Experimental-Result-Code") == 5067
    actions = core.handle(ccr("pgw;1;3", pcc.CcRequestType.TERMINATION_REQUEST, 1,
                              ("Termination-Cause", 1)), 0.0)
    assert sorted(dia.avp(roundtrip(r.message), "Session-Id") for r in _requests(actions)) == [
        "pcscf;1;1", "pcscf;1;3", "pcscf;1;4"]


def test_ipv6_prefix_binds_every_address_of_its_64_and_ends_with_the_session() -> None:
    """TS 29.214 §4.4.1 / TS 29.213 §5.1: an IPv6 UE address binds to the IP-CAN session
    whose Framed-IPv6-Prefix holds it (the UE picks its interface identifier in the /64,
    TS 23.401 §5.3.1.2.2); a dual-stack session binds by either address."""
    core = _core()
    out = core.handle(ccr_initial("pgw;1;6", apn="ims", ue=None,
                                  ipv6_prefix="2001:db8:47:5::/64"), 0.0)
    assert dia.avp(_answer(out), "Result-Code") == 2001
    [log] = [a for a in out if getattr(a, "kind", "") == "pcrf.gx.established"]
    assert (log.data["ue_ipv4"], log.data["ue_ipv6_prefix"]) == (None, "2001:db8:47:5::/64")
    for address in ("2001:db8:47:5::1", "2001:db8:47:5:abcd:1:2:3", "2001:DB8:47:5::"):
        gx = core.session_by_ue_address(address)
        assert gx is not None and gx.sid == "pgw;1;6"
    for other in ("2001:db8:47:6::1", "2001:db8:47:4:ffff::", "127.147.0.2", "nonsense", ""):
        assert core.session_by_ue_address(other) is None
    by_v6 = ("Framed-IPv6-Prefix", pcc.framed_ipv6_prefix("2001:db8:47:5::9/128"))
    aaa = _answer(core.handle(aar("pcscf;1;6", by_v6, ue=None, emergency=False), 0.0))
    assert dia.avp(aaa, "Result-Code") == 2001
    dual = core.handle(ccr_initial("pgw;1;7", apn="internet", ue="10.45.0.9",
                                   ipv6_prefix="2001:db8:45::/64"), 0.0)
    [log] = [a for a in dual if getattr(a, "kind", "") == "pcrf.gx.established"]
    assert (log.data["ue_ipv4"], log.data["ue_ipv6_prefix"]) == ("10.45.0.9", "2001:db8:45::/64")
    assert core.session_by_ue_address("10.45.0.9") is core.session_by_ue_address("2001:db8:45::7")
    core.handle(ccr("pgw;1;6", pcc.CcRequestType.TERMINATION_REQUEST, 1), 0.0)
    assert core.session_by_ue_address("2001:db8:47:5::1") is None
    assert core.session_by_ue_address("2001:db8:45::7") is not None


def test_gx_sessions_share_the_values_every_pgw_request_repeats() -> None:
    """The P-GW's Origin-Host and Origin-Realm, the APN and the cell location come with every
    CCR-I (TS 29.212 §4.5.1); the sessions hold one object of each, not one per request."""
    core = _core()
    core.handle(ccr_initial("pgw;1;1", apn="internet", ue="10.45.0.1"), 0.0)
    core.handle(ccr_initial("pgw;1;2", apn="internet", ue="10.45.0.2"), 0.0)
    a, b = core.gx["pgw;1;1"], core.gx["pgw;1;2"]
    assert (a.pcef_host, a.pcef_realm, a.apn) == (PGW.host, PGW.realm, "internet")
    assert a.pcef_host is b.pcef_host and a.pcef_realm is b.pcef_realm and a.apn is b.apn
    assert a.location is not None and a.location is b.location
    assert pcc.location_of(a.location) == pcc.Location("44020", 1, 0x10101)


def test_the_default_bearer_qos_and_apn_ambr_groups_are_shared_and_encode_as_pycrate() -> None:
    """TS 29.212 §4.5.1: the CCA-I's Default-EPS-Bearer-QoS (§5.3.48) and APN-AMBR
    (QoS-Information, §5.3.16), as the P-GW's CCR-I ones, are one shared group per value (the
    sessions of a population carry a few), written once by the encoder; the octets are the
    pycrate path's and read back as the values asked for."""
    from corenet.codecs.fast import diameter as fd
    from tests.unit.codecs.fast.parity import check_encode

    req = ccr_initial(apn="internet")
    req = Message(req.protocol, req.name, req.code, {**req.fields, "avps": [
        *req.fields["avps"], pcc.apn_ambr(2_000_000, 5_000_000)]})
    answers = [_answer(_core().handle(req, 0.0))] + [
        next(a.message for a in _core().handle(req, 0.0) if isinstance(a, SendAnswer))
        for _ in range(2)]
    raw = answers[1:]
    assert dia.avp(raw[0], "Default-EPS-Bearer-QoS") is dia.avp(raw[1], "Default-EPS-Bearer-QoS")
    assert dia.avp(raw[0], "QoS-Information") is dia.avp(raw[1], "QoS-Information")
    assert isinstance(dia.avp(raw[0], "QoS-Information"), dia.SharedGroup)
    assert check_encode(dia, fd, raw[0]) is not None
    cca = answers[0]
    assert dia.avp(cca, "QoS-Information", "APN-Aggregate-Max-Bitrate-DL") == 5_000_000
    assert dia.avp(cca, "Default-EPS-Bearer-QoS", "QoS-Class-Identifier") == 5
