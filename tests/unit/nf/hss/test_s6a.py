"""S6a procedures of the HSS (TS 29.272 §5.2) against an in-memory store."""

from __future__ import annotations

import sqlite3

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.config.subscribers import ApnProfile
from corenet.core.actions import LogEvent
from corenet.core.plmn import Plmn
from corenet.crypto import kdf
from corenet.crypto.milenage import Milenage, SqnArray, build_auts, check_autn, int_to_sqn
from corenet.nf.hss.s6a import S6aServer, SendAnswer, SendRequest
from corenet.nf.hss.store import HssStore
from tests.unit.nf.hss.helpers import (
    HSS_HOST,
    HSS_REALM,
    IMSI,
    MME2_HOST,
    MME_HOST,
    MSISDN,
    OPC,
    VISITED,
    K,
    air,
    pur,
    subscriber,
    ulr,
    wire,
    without,
)

Exp = dia.ExperimentalResultCode
USIM = Milenage(bytes.fromhex(K), bytes.fromhex(OPC))


@pytest.fixture
def store() -> HssStore:
    s = HssStore(":memory:")
    s.provision([subscriber(), subscriber(imsi="440100000000002",
                                          allowed_visited_plmns=["44030"])])
    return s


@pytest.fixture
def hss(store: HssStore) -> S6aServer:
    return S6aServer(store, origin_host=HSS_HOST, origin_realm=HSS_REALM, max_vectors=3)


def answer_of(actions: list) -> Message:
    answers = [a.message for a in actions if isinstance(a, SendAnswer)]
    assert len(answers) == 1
    return wire(answers[0])  # what the MME decodes


def result(msg: Message) -> s6a.Result:
    r = s6a.result_of(msg)
    assert r is not None
    return r


def test_air_returns_vectors_the_usim_accepts(hss: S6aServer) -> None:
    req = wire(air(n=2))
    actions = hss.handle(req, 0.0)
    aia = answer_of(actions)
    assert aia.name == "AIA"
    assert aia.fields["hop_by_hop"] == req.fields["hop_by_hop"]
    assert dia.avp(aia, "Session-Id") == dia.avp(req, "Session-Id")
    assert result(aia) == (2001, False)
    vectors = s6a.vectors_of(aia)
    assert [v.item_number for v in vectors] == [1, 2]
    usim = SqnArray(ind_bits=5)
    for v in vectors:
        chk = check_autn(USIM, v.rand, v.autn)
        assert chk.mac_ok and chk.res == v.xres
        assert chk.amf[0] & 0x80  # TS 33.401 §6.1.1 separation bit
        assert usim.accept(int.from_bytes(chk.sqn, "big"))
        # TS 33.401 A.2 with the Visited-PLMN-Id as serving network
        assert v.kasme == kdf.kasme(chk.ck, chk.ik, VISITED.to_bytes(), v.autn[:6])
    kinds = [a.kind for a in actions if isinstance(a, LogEvent)]
    assert kinds == ["s6a.air.accepted"]


def test_air_vector_count_capped(hss: S6aServer) -> None:
    aia = answer_of(hss.handle(wire(air(n=10)), 0.0))
    assert len(s6a.vectors_of(aia)) == 3


def test_air_unknown_user_5001(hss: S6aServer) -> None:
    aia = answer_of(hss.handle(wire(air("440109999999999")), 0.0))
    assert result(aia) == (Exp.DIAMETER_ERROR_USER_UNKNOWN, True)
    assert dia.avp(aia, "Experimental-Result", "Vendor-Id") == dia.VENDOR_3GPP
    assert not aia.fields["flags"]["error"]
    assert s6a.vectors_of(aia) == []


def test_air_no_eps_subscription_5420(hss: S6aServer, store: HssStore) -> None:
    store.set_eps_subscription(IMSI, False)
    aia = answer_of(hss.handle(wire(air()), 0.0))
    assert result(aia) == (Exp.DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION, True)


def test_air_resync_gives_fresh_vectors(hss: S6aServer, store: HssStore) -> None:
    # the USIM has seen SQNs far ahead of the HSS (e.g. vectors from another HSS instance)
    usim = SqnArray(ind_bits=5)
    sqn_ms = (5000 << 5) | 4
    assert usim.accept(sqn_ms)
    rand = bytes(range(16))
    auts = build_auts(USIM, rand, int_to_sqn(usim.highest()))
    aia = answer_of(hss.handle(wire(air(resync=rand + auts)), 0.0))
    assert result(aia) == (2001, False)
    (v,) = s6a.vectors_of(aia)
    chk = check_autn(USIM, v.rand, v.autn)
    assert chk.mac_ok
    assert int.from_bytes(chk.sqn, "big") >> 5 == 5001
    assert usim.accept(int.from_bytes(chk.sqn, "big"))
    assert store.get(IMSI).sqn == int.from_bytes(chk.sqn, "big")  # type: ignore[union-attr]


def test_air_resync_mac_s_failure_4181(hss: S6aServer, store: HssStore) -> None:
    rand = bytes(16)
    auts = bytearray(build_auts(USIM, rand, int_to_sqn(77 << 5)))
    auts[-1] ^= 1
    before = store.get(IMSI).sqn  # type: ignore[union-attr]
    aia = answer_of(hss.handle(wire(air(resync=rand + bytes(auts))), 0.0))
    assert result(aia) == (Exp.DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE, True)
    assert store.get(IMSI).sqn == before  # type: ignore[union-attr]


def test_air_resync_info_wrong_length_5004_with_failed_avp(hss: S6aServer) -> None:
    aia = answer_of(hss.handle(wire(air(resync=bytes(29))), 0.0))
    assert result(aia) == (dia.ResultCode.DIAMETER_INVALID_AVP_VALUE, False)
    assert dia.avp(aia, "Failed-AVP", "Re-Synchronization-Info") == bytes(29)


def test_air_missing_user_name_5005_with_failed_avp(hss: S6aServer) -> None:
    aia = answer_of(hss.handle(wire(without(air(), "User-Name")), 0.0))
    assert result(aia) == (dia.ResultCode.DIAMETER_MISSING_AVP, False)
    assert dia.avp(aia, "Failed-AVP", "User-Name") == ""
    assert dia.avp(aia, "Origin-Host") == HSS_HOST


def test_air_bad_visited_plmn_5004(hss: S6aServer) -> None:
    req = air()
    avps = [(n, b"\xff\xff\xff") if n == "Visited-PLMN-Id" else (n, *rest)
            for n, *rest in req.fields["avps"]]
    req = Message(req.protocol, req.name, req.code, {**req.fields, "avps": avps})
    aia = answer_of(hss.handle(wire(req), 0.0))
    assert result(aia) == (dia.ResultCode.DIAMETER_INVALID_AVP_VALUE, False)
    assert dia.avp(aia, "Failed-AVP", "Visited-PLMN-Id") == b"\xff\xff\xff"


def test_ulr_subscription_data(hss: S6aServer, store: HssStore) -> None:
    actions = hss.handle(wire(ulr()), 0.0)
    ula = answer_of(actions)
    assert ula.name == "ULA"
    assert result(ula) == (2001, False)
    assert dia.avp(ula, "ULA-Flags") == s6a.UlaFlags.SEPARATION_INDICATION
    data = s6a.subscription_data_of(ula)
    assert data is not None
    assert data.msisdn == MSISDN
    assert dia.avp(ula, "Subscription-Data", "MSISDN") == bytes.fromhex("180901000010")
    assert data.subscriber_status == s6a.SubscriberStatus.SERVICE_GRANTED
    assert data.network_access_mode == s6a.NetworkAccessMode.ONLY_PACKET
    assert data.access_restriction_data == 0
    assert data.ambr == s6a.Ambr(50_000_000, 100_000_000)
    assert data.default_context_identifier == 1
    apns = {a.service_selection: a for a in data.apn_configurations}
    assert set(apns) == {"internet", "ims"}
    assert apns["ims"].qos_class_identifier == 5 and apns["ims"].priority_level == 1
    assert apns["internet"].pdn_type == s6a.PdnType.IPV4V6
    assert not [a for a in actions if isinstance(a, SendRequest)]
    assert store.get(IMSI).mme_host == MME_HOST  # type: ignore[union-attr]


def test_ulr_vplmn_dynamic_address_allowed_for_roamers(store: HssStore) -> None:
    """TS 29.272 §7.3.38 / TS 23.401 §4.3.8.1: a roamer's APN may be served by the visited
    P-GW when its profile says so (the default); a profile can keep it on the home P-GW."""
    store.provision([subscriber(imsi="440100000000003", apns=[
        ApnProfile(apn="internet", context_id=1),
        ApnProfile(apn="corp", context_id=2, vplmn_dynamic_address_allowed=False)])])
    hss = S6aServer(store, origin_host=HSS_HOST, origin_realm=HSS_REALM)
    ula = answer_of(hss.handle(wire(ulr("440100000000003")), 0.0))
    entries = dia.avp_all(dia.avp(ula, "Subscription-Data", "APN-Configuration-Profile"),
                          "APN-Configuration")
    allowed = {dia.avp(e, "Service-Selection"): dia.avp(e, "VPLMN-Dynamic-Address-Allowed")
               for e in entries}
    assert allowed == {"internet": s6a.VplmnDynamicAddressAllowed.ALLOWED,
                       "corp": s6a.VplmnDynamicAddressAllowed.NOTALLOWED}
    data = s6a.subscription_data_of(ula)
    assert data is not None
    assert [a.vplmn_dynamic_address_allowed for a in data.apn_configurations] == [1, 0]


def test_ulr_in_home_plmn_has_no_vplmn_dynamic_address_allowed(hss: S6aServer) -> None:
    """TS 29.272 §7.3.38 concerns a visited PLMN only: left out for a ULR from the home PLMN."""
    ula = answer_of(hss.handle(wire(ulr(plmn=Plmn("440", "10"))), 0.0))
    data = s6a.subscription_data_of(ula)
    assert data is not None
    assert {a.vplmn_dynamic_address_allowed for a in data.apn_configurations} == {None}


def test_ulr_subscription_follows_the_plmn_and_a_reprovisioned_profile(
        hss: S6aServer, store: HssStore) -> None:
    """TS 29.272 §7.3.35, §7.3.38: each ULA carries the profile stored now, for the PLMN the
    ULR comes from, however many ULAs came before."""
    def apns(plmn: Plmn) -> list[tuple[str, int, int | None]]:
        data = s6a.subscription_data_of(answer_of(hss.handle(wire(ulr(plmn=plmn)), 0.0)))
        assert data is not None
        return [(a.service_selection, a.qos_class_identifier, a.vplmn_dynamic_address_allowed)
                for a in data.apn_configurations]

    home = Plmn("440", "10")
    for _ in range(2):
        assert apns(VISITED) == [("internet", 9, 1), ("ims", 5, 1)]
        assert apns(home) == [("internet", 9, None), ("ims", 5, None)]
    store.provision([subscriber(apns=[ApnProfile(apn="internet", context_id=1, qci=8)])])
    assert apns(VISITED) == [("internet", 8, 1)]
    assert apns(home) == [("internet", 8, None)]


def test_ulr_skip_subscriber_data(hss: S6aServer) -> None:
    flags = s6a.UlrFlags.S6A_S6D_INDICATOR | s6a.UlrFlags.SKIP_SUBSCRIBER_DATA
    ula = answer_of(hss.handle(wire(ulr(flags=flags)), 0.0))
    assert result(ula) == (2001, False)
    assert s6a.subscription_data_of(ula) is None


def test_ulr_roaming_not_allowed_5004(hss: S6aServer, store: HssStore) -> None:
    ula = answer_of(hss.handle(wire(ulr("440100000000002")), 0.0))
    assert result(ula) == (Exp.DIAMETER_ERROR_ROAMING_NOT_ALLOWED, True)
    assert store.get("440100000000002").mme_host is None  # type: ignore[union-attr]


def test_ulr_unknown_user_5001(hss: S6aServer) -> None:
    ula = answer_of(hss.handle(wire(ulr("440109999999999")), 0.0))
    assert result(ula) == (Exp.DIAMETER_ERROR_USER_UNKNOWN, True)


@pytest.mark.parametrize(("flags", "cancel"), [
    (s6a.UlrFlags.S6A_S6D_INDICATOR, s6a.CancellationType.MME_UPDATE_PROCEDURE),
    (s6a.UlrFlags.S6A_S6D_INDICATOR | s6a.UlrFlags.INITIAL_ATTACH_INDICATOR,
     s6a.CancellationType.INITIAL_ATTACH_PROCEDURE),
])
def test_ulr_from_new_mme_cancels_old(hss: S6aServer, flags: int, cancel: int) -> None:
    hss.handle(wire(ulr(host=MME_HOST)), 0.0)
    actions = hss.handle(wire(ulr(host=MME2_HOST, flags=flags)), 1.0)
    assert result(answer_of(actions)) == (2001, False)
    (req,) = [a for a in actions if isinstance(a, SendRequest)]
    assert req.destination_host == MME_HOST
    clr = wire(req.message)
    assert clr.name == "CLR"
    assert dia.avp(clr, "Destination-Host") == MME_HOST
    assert dia.avp(clr, "User-Name") == IMSI
    assert dia.avp(clr, "Cancellation-Type") == cancel
    assert dia.avp(clr, "Origin-Host") == HSS_HOST
    dia.check_mandatory(clr)
    # the same MME again: nothing to cancel
    again = hss.handle(wire(ulr(host=MME2_HOST)), 2.0)
    assert not [a for a in again if isinstance(a, SendRequest)]


def test_pur_from_serving_mme_purges(hss: S6aServer, store: HssStore) -> None:
    hss.handle(wire(ulr()), 0.0)
    pua = answer_of(hss.handle(wire(pur()), 1.0))
    assert pua.name == "PUA"
    assert result(pua) == (2001, False)
    assert dia.avp(pua, "PUA-Flags") == s6a.PuaFlags.FREEZE_M_TMSI
    assert store.get(IMSI).purged  # type: ignore[union-attr]


def test_pur_from_other_mme_does_not_purge(hss: S6aServer, store: HssStore) -> None:
    hss.handle(wire(ulr(host=MME2_HOST)), 0.0)
    pua = answer_of(hss.handle(wire(pur(host=MME_HOST)), 1.0))
    assert result(pua) == (2001, False)
    assert dia.avp(pua, "PUA-Flags") == 0
    assert not store.get(IMSI).purged  # type: ignore[union-attr]


def test_pur_unknown_user(hss: S6aServer) -> None:
    pua = answer_of(hss.handle(wire(pur("440109999999999")), 0.0))
    assert result(pua) == (Exp.DIAMETER_ERROR_USER_UNKNOWN, True)


def test_command_unsupported_3001(hss: S6aServer) -> None:
    data = s6a.SubscriptionData(msisdn=MSISDN)
    idr = s6a.idr("sid;1;2", MME_HOST, "r", HSS_HOST, HSS_REALM, IMSI, data,
                  hop_by_hop=5, end_to_end=6)
    ans = answer_of(hss.handle(wire(idr), 0.0))
    assert ans.name == "IDA"
    assert result(ans) == (dia.ResultCode.DIAMETER_COMMAND_UNSUPPORTED, False)
    assert ans.fields["flags"]["error"]


def test_application_unsupported_3007(hss: S6aServer) -> None:
    req = air()
    req = Message(req.protocol, req.name, req.code, {**req.fields, "application_id": 16777216})
    ans = answer_of(hss.handle(wire(req), 0.0))
    assert result(ans) == (dia.ResultCode.DIAMETER_APPLICATION_UNSUPPORTED, False)
    assert ans.fields["application_id"] == 16777216 and ans.fields["flags"]["error"]


def test_batch_answers_each_request_after_one_commit(tmp_path) -> None:
    """Group commit (store.py): every SQN of the batch is in the file when the answers are
    returned; a failing request gets its own answer and does not undo the others."""
    path = str(tmp_path / "hss.db")
    store = HssStore(path)
    store.provision([subscriber()])
    server = S6aServer(store, origin_host=HSS_HOST, origin_realm=HSS_REALM)
    results = server.handle_batch([air(), air("440109999999999"), air()], 1.0)
    answers = [wire(next(a.message for a in r if isinstance(a, SendAnswer))) for r in results]
    assert [result(a) for a in answers] == [
        (2001, False), (int(Exp.DIAMETER_ERROR_USER_UNKNOWN), True), (2001, False)]
    sqns = [int.from_bytes(check_autn(USIM, v.rand, v.autn).sqn, "big")
            for a in (answers[0], answers[2]) for v in s6a.vectors_of(a)]
    db = sqlite3.connect(path)
    (on_disk,) = db.execute("SELECT sqn FROM subscribers WHERE imsi = ?", (IMSI,)).fetchone()
    db.close()
    assert on_disk == max(sqns) and sqns[1] > sqns[0]
