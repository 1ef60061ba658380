"""Cx procedures of the HSS (TS 29.228 §6.1, §6.3; TS 29.229): one request, one answer; the
IMS AKA SQNs come from the same SQN_HE as S6a's, on disk before the answer leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.codecs import cx
from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.config.models import Endpoint, HssConfig
from corenet.core.plmn import Plmn
from corenet.crypto.milenage import Milenage, build_auts, check_autn, int_to_sqn, sqn_to_int
from corenet.nf.hss.cx import CxServer
from corenet.nf.hss.s6a import S6aServer, SendAnswer
from corenet.nf.hss.service import HssService
from corenet.nf.hss.store import HssStore
from tests.unit.nf.hss.helpers import (
    HSS_HOST,
    HSS_REALM,
    IMSI,
    MSISDN,
    OPC,
    DiameterClient,
    K,
    air,
    local_peer,
    peer_config,
    subscriber,
    wire,
    without,
)

HOME = Plmn("440", "10")
SCSCF = "scscf.ims.mnc010.mcc440.3gppnetwork.org"
SCSCF_NAME = f"sip:{SCSCF}"
IMS_REALM = "ims.mnc010.mcc440.3gppnetwork.org"
IMPI = f"{IMSI}@{IMS_REALM}"
IMPU = f"sip:+{MSISDN}@{IMS_REALM}"
ISIM = Milenage(bytes.fromhex(K), bytes.fromhex(OPC))


def _sid() -> str:
    return dia.session_id(SCSCF, 9, id(object()) & 0xFFFF)


def uar(impu: str = IMPU, impi: str = IMPI, kind: int = 0) -> Message:
    return cx.uar(_sid(), SCSCF, IMS_REALM, HSS_REALM, impi, impu,
                  "ims.mnc020.mcc440.3gppnetwork.org", hop_by_hop=1, end_to_end=1,
                  authorization_type=kind)


def mar(resync: bytes | None = None) -> Message:
    return cx.mar(_sid(), SCSCF, IMS_REALM, HSS_REALM, IMPI, IMPU, SCSCF_NAME, hop_by_hop=2,
                  end_to_end=2, resync=resync)


def sar(kind: int = cx.ServerAssignmentType.REGISTRATION) -> Message:
    return cx.sar(_sid(), SCSCF, IMS_REALM, HSS_REALM, IMPI, IMPU, SCSCF_NAME, kind,
                  hop_by_hop=3, end_to_end=3)


@pytest.fixture
def store() -> HssStore:
    s = HssStore(":memory:")
    s.provision([subscriber(), subscriber(imsi="440100000000002", msisdn=None)])
    return s


@pytest.fixture
def hss(store: HssStore) -> CxServer:
    return CxServer(store, HOME, origin_host=HSS_HOST, origin_realm=HSS_REALM)


def answer_of(actions: list) -> Message:  # type: ignore[type-arg]
    answers = [a.message for a in actions if isinstance(a, SendAnswer)]
    assert len(answers) == 1
    return wire(answers[0])


def test_uar_first_then_subsequent_registration(hss: CxServer) -> None:
    first = answer_of(hss.handle(wire(uar()), 0))
    assert first.name == "UAA" and cx.result_of(first) == cx.CxResult.DIAMETER_FIRST_REGISTRATION
    assert dia.avp(first, "Experimental-Result", "Vendor-Id") == 10415
    assert dia.avp(first, "Server-Name") is None
    assert dia.avp(first, "Server-Capabilities", "Mandatory-Capability") == 1
    saa = answer_of(hss.handle(wire(sar()), 0))
    assert cx.result_of(saa) == 2001 and dia.avp(saa, "Result-Code") == 2001
    again = answer_of(hss.handle(wire(uar("tel:+819010000001")), 0))
    assert cx.result_of(again) == cx.CxResult.DIAMETER_SUBSEQUENT_REGISTRATION
    assert dia.avp(again, "Server-Name") == SCSCF_NAME


def test_uar_identity_checks(hss: CxServer) -> None:
    other = answer_of(hss.handle(wire(uar("sip:+819099999999@" + IMS_REALM)), 0))
    assert cx.result_of(other) == cx.CxResult.DIAMETER_ERROR_IDENTITIES_DONT_MATCH
    unknown = answer_of(hss.handle(wire(uar(impi=f"440109999999999@{IMS_REALM}")), 0))
    assert cx.result_of(unknown) == cx.CxResult.DIAMETER_ERROR_USER_UNKNOWN
    # TS 23.003 §13.4B: without an MSISDN the temporary public identity sip:<IMSI>@domain
    temp = answer_of(hss.handle(wire(uar(f"sip:440100000000002@{IMS_REALM}",
                                         f"440100000000002@{IMS_REALM}")), 0))
    assert cx.result_of(temp) == cx.CxResult.DIAMETER_FIRST_REGISTRATION
    dereg = answer_of(hss.handle(wire(uar(kind=cx.UserAuthorizationType.DE_REGISTRATION)), 0))
    assert cx.result_of(dereg) == cx.CxResult.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED
    bad = answer_of(hss.handle(wire(uar(kind=7)), 0))
    assert cx.result_of(bad) == dia.ResultCode.DIAMETER_INVALID_AVP_VALUE
    assert dia.avp(bad, "Failed-AVP") is not None


def test_uar_from_a_visited_network_the_user_may_not_roam_in(store: HssStore) -> None:
    """TS 29.228 §6.1.1.1: DIAMETER_ERROR_ROAMING_NOT_ALLOWED; the visited network is read
    from the domain form of Visited-Network-Identifier (TS 23.003 §13.2)."""
    store.provision([subscriber(allowed_visited_plmns=["44030"])])
    hss = CxServer(store, HOME, origin_host=HSS_HOST, origin_realm=HSS_REALM)
    refused = answer_of(hss.handle(wire(uar()), 0))  # from ims.mnc020.mcc440
    assert cx.result_of(refused) == cx.CxResult.DIAMETER_ERROR_ROAMING_NOT_ALLOWED
    allowed = cx.uar(_sid(), SCSCF, IMS_REALM, HSS_REALM, IMPI, IMPU,
                     "ims.mnc030.mcc440.3gppnetwork.org", hop_by_hop=1, end_to_end=1)
    assert cx.result_of(answer_of(hss.handle(wire(allowed), 0))) == \
        cx.CxResult.DIAMETER_FIRST_REGISTRATION


def test_mar_gives_an_ims_aka_vector_the_isim_accepts(hss: CxServer, store: HssStore) -> None:
    maa = answer_of(hss.handle(wire(mar()), 0))
    assert maa.name == "MAA" and cx.result_of(maa) == 2001
    assert dia.avp(maa, "User-Name") == IMPI and dia.avp(maa, "SIP-Number-Auth-Items") == 1
    (vec,) = cx.vectors_of(maa)
    chk = check_autn(ISIM, vec.rand, vec.autn)
    assert chk.mac_ok and chk.res == vec.xres and (chk.ck, chk.ik) == (vec.ck, vec.ik)
    assert chk.amf[0] & 0x80 == 0  # TS 33.401 Annex H: separation bit 0 outside E-UTRAN
    assert sqn_to_int(chk.sqn) == store.get(IMSI).sqn  # type: ignore[union-attr]


def test_sqns_are_never_reused_across_s6a_and_cx(hss: CxServer, store: HssStore) -> None:
    s6a = S6aServer(store, origin_host=HSS_HOST, origin_realm=HSS_REALM)
    from corenet.codecs import s6a as s6a_codec

    seen = []
    for server, req in ((s6a, air()), (hss, mar()), (s6a, air()), (hss, mar())):
        ans = answer_of(server.handle(wire(req), 0))
        if ans.name == "AIA":
            v = s6a_codec.vectors_of(ans)[0]
            rand, autn = v.rand, v.autn
        else:
            v2 = cx.vectors_of(ans)[0]
            rand, autn = v2.rand, v2.autn
        seen.append(sqn_to_int(check_autn(ISIM, rand, autn).sqn))
    assert seen == sorted(seen) and len(set(seen)) == 4


def test_mar_sqn_is_on_disk_when_the_answer_is_made(tmp_path: Path) -> None:
    path = str(tmp_path / "hss.db")
    store = HssStore(path)
    store.provision([subscriber()])
    maa = answer_of(CxServer(store, HOME, origin_host=HSS_HOST,
                             origin_realm=HSS_REALM).handle(wire(mar()), 0))
    sqn = sqn_to_int(check_autn(ISIM, *[(v.rand, v.autn) for v in cx.vectors_of(maa)][0]).sqn)
    reopened = HssStore(path)  # another connection reads what was committed
    assert reopened.get(IMSI).sqn == sqn  # type: ignore[union-attr]
    reopened.close()
    store.close()


def test_mar_resynchronises_from_rand_and_auts(hss: CxServer, store: HssStore) -> None:
    sqn_ms = 1 << 30
    rand = bytes(range(16))
    auts = build_auts(ISIM, rand, int_to_sqn(sqn_ms))
    maa = answer_of(hss.handle(wire(mar(resync=rand + auts)), 0))
    assert cx.result_of(maa) == 2001
    (vec,) = cx.vectors_of(maa)
    assert sqn_to_int(check_autn(ISIM, vec.rand, vec.autn).sqn) > sqn_ms
    forged = answer_of(hss.handle(wire(mar(resync=rand + bytes(14))), 0))
    assert cx.result_of(forged) == dia.ResultCode.DIAMETER_AUTHORIZATION_REJECTED
    assert cx.vectors_of(forged) == []
    short = answer_of(hss.handle(wire(mar(resync=bytes(5))), 0))
    assert cx.result_of(short) == dia.ResultCode.DIAMETER_INVALID_AVP_VALUE
    assert dia.avp(short, "Failed-AVP") is not None


def test_sar_returns_the_ims_subscription_and_deregistration_clears(
        hss: CxServer, store: HssStore) -> None:
    saa = answer_of(hss.handle(wire(sar()), 0))
    assert cx.public_identities(dia.avp(saa, "User-Data")) == [IMPU, f"tel:+{MSISDN}"]
    assert store.scscf_of(IMPI) == SCSCF_NAME
    gone = answer_of(hss.handle(wire(sar(cx.ServerAssignmentType.USER_DEREGISTRATION)), 0))
    assert cx.result_of(gone) == 2001 and dia.avp(gone, "User-Data") is None
    assert store.scscf_of(IMPI) is None


def test_missing_avp_and_unknown_command(hss: CxServer) -> None:
    ans = answer_of(hss.handle(wire(without(mar(), "Server-Name")), 0))
    assert cx.result_of(ans) == dia.ResultCode.DIAMETER_MISSING_AVP
    lir = Message(dia.PROTOCOL, "CMD-302-R", 302, {**uar().fields})
    ans = answer_of(hss.handle(lir, 0))
    assert cx.result_of(ans) == dia.ResultCode.DIAMETER_COMMAND_UNSUPPORTED
    assert ans.fields["flags"]["error"]


async def test_hss_advertises_cx_and_answers_mar_over_tcp() -> None:
    cfg = HssConfig(listen=Endpoint.model_construct(host="127.0.0.1", port=0),
                    database=":memory:", subscribers_file=None, peers=[local_peer(SCSCF)])
    svc = HssService(cfg, subscribers=[subscriber()])
    await svc.start()
    try:
        client = await DiameterClient.connect(*svc.local, peer_config(
            SCSCF, IMS_REALM, auth_application_ids=(dia.CX_APPLICATION_ID,),
            vendor_specific_application_ids=()))
        opened = await client.opened()
        apps = dia.avp_all(opened.capabilities, "Vendor-Specific-Application-Id",
                           "Auth-Application-Id")
        assert dia.CX_APPLICATION_ID in apps and dia.S6A_APPLICATION_ID in apps
        maa = await client.ask(mar())
        assert maa.name == "MAA" and len(cx.vectors_of(maa)) == 1
        await client.close()
    finally:
        await svc.stop()
