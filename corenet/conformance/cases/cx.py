"""TS 29.228 / TS 29.229 (Cx) cases against the home HSS, the tester playing the S-CSCF.

The identities are those TS 23.003 derives from a test subscriber: IMPI <IMSI>@<home IMS
domain> (§13.3), IMPU tel:+<MSISDN> (§13.4). A SUT whose CEA does not advertise Cx is not one
these cases apply to (Inconclusive).
"""

from __future__ import annotations

from corenet.codecs import cx
from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.conformance.case import case
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.diameter import TesterDiameter, result_code
from corenet.conformance.verdicts import check
from corenet.core.identifiers import ims_domain
from corenet.crypto.milenage import Milenage, build_auts, check_autn, int_to_sqn, sqn_to_int

UNKNOWN_IMSI = "440109999999999"
SCSCF = "sip:scscf-tester.ims.mnc010.mcc440.3gppnetwork.org"


def _user(t: Tester, n: int) -> tuple[str, str]:
    """(IMPI, IMPU) of the test subscriber `n` places after the first."""
    imsi = str(int(t.ids.first_imsi) + n).zfill(len(t.ids.first_imsi))
    msisdn = str(int(t.ids.first_msisdn) + n).zfill(len(t.ids.first_msisdn))
    return f"{imsi}@{ims_domain(t.ids.home_plmn)}", f"tel:+{msisdn}"


def _fresh_user(t: Tester) -> tuple[str, str]:
    imsi = t.new_imsi()
    return _user(t, int(imsi) - int(t.ids.first_imsi))


async def _scscf(t: Tester) -> TesterDiameter:
    return await t.application_peer("hss", dia.CX_APPLICATION_ID, "Cx")


async def _mar(t: Tester, peer: TesterDiameter, impi: str, impu: str,
               resync: bytes | None = None) -> Message:
    return await peer.answer_to(cx.mar(peer.session_id(), peer.origin_host, peer.origin_realm,
                                       t.ids.home_realm, impi, impu, SCSCF, **peer.ids(),
                                       resync=resync))


def _vector(t: Tester, maa: Message) -> cx.ImsAkaVector:
    check(result_code(maa) == 2001, t.clause, "DIAMETER_SUCCESS (2001)", result_code(maa))
    vectors = cx.vectors_of(maa)
    check(len(vectors) == 1, t.clause, "one SIP-Auth-Data-Item", len(vectors))
    return vectors[0]


def _usim(t: Tester) -> Milenage:
    return Milenage(bytes.fromhex(t.ids.k), bytes.fromhex(t.ids.opc))


@case("CX-UAR-01", "UAR for a provisioned, unregistered user is answered "
      "DIAMETER_FIRST_REGISTRATION (2001) with Server-Capabilities", "TS 29.228 §6.1.1.1",
      "hss")
async def uar_first(t: Tester) -> None:
    peer = await _scscf(t)
    impi, impu = _fresh_user(t)
    uaa = await peer.answer_to(cx.uar(peer.session_id(), peer.origin_host, peer.origin_realm,
                                      t.ids.home_realm, impi, impu, ims_domain(t.plmn),
                                      **peer.ids()))
    code = dia.avp(uaa, "Experimental-Result", "Experimental-Result-Code")
    check(code in (cx.CxResult.DIAMETER_FIRST_REGISTRATION,
                   cx.CxResult.DIAMETER_SUBSEQUENT_REGISTRATION), t.clause,
          "Experimental-Result-Code 2001 or 2002", result_code(uaa))
    if code == cx.CxResult.DIAMETER_FIRST_REGISTRATION:
        check(dia.avp(uaa, "Server-Capabilities") is not None
              or dia.avp(uaa, "Server-Name") is not None, t.clause,
              "Server-Capabilities or Server-Name", "neither")


@case("CX-UAR-5001", "UAR for an unknown private identity is answered "
      "DIAMETER_ERROR_USER_UNKNOWN (5001)", "TS 29.228 §6.1.1.1 / TS 29.229 §6.2.2.1", "hss")
async def uar_unknown(t: Tester) -> None:
    peer = await _scscf(t)
    domain = ims_domain(t.ids.home_plmn)
    uaa = await peer.answer_to(cx.uar(peer.session_id(), peer.origin_host, peer.origin_realm,
                                      t.ids.home_realm, f"{UNKNOWN_IMSI}@{domain}",
                                      f"sip:{UNKNOWN_IMSI}@{domain}", ims_domain(t.plmn),
                                      **peer.ids()))
    code = dia.avp(uaa, "Experimental-Result", "Experimental-Result-Code")
    check(code == cx.CxResult.DIAMETER_ERROR_USER_UNKNOWN, t.clause,
          "Experimental-Result-Code DIAMETER_ERROR_USER_UNKNOWN (5001)", result_code(uaa))


@case("CX-MAR-01", "MAR is answered 2001 with a Digest-AKAv1-MD5 SIP-Auth-Data-Item: "
      "RAND||AUTN the USIM accepts, XRES, CK and IK of that RAND", "TS 29.228 §6.3.1 / "
      "TS 29.229 §6.3.13 / TS 33.203 §6.1", "hss")
async def mar_vector(t: Tester) -> None:
    peer = await _scscf(t)
    impi, impu = _fresh_user(t)
    maa = await _mar(t, peer, impi, impu)
    v = _vector(t, maa)
    item = dia.avp(maa, "SIP-Auth-Data-Item")
    scheme = dia.avp(item, "SIP-Authentication-Scheme")
    check(scheme == cx.AKA_SCHEME, t.clause, cx.AKA_SCHEME, scheme)
    usim = _usim(t)
    check(check_autn(usim, v.rand, v.autn).mac_ok, t.clause, "an AUTN whose MAC-A the USIM "
          "verifies", v.autn.hex())
    res, ck, ik, _ = usim.f2345(v.rand)
    check((v.xres, v.ck, v.ik) == (res, ck, ik), t.clause, "XRES, CK, IK = f2, f3, f4 (RAND)",
          (v.xres.hex(), v.ck.hex(), v.ik.hex()))


@case("CX-MAR-SQN", "Successive MARs give vectors whose SQN advances", "TS 29.228 §6.3.1 / "
      "TS 33.102 §6.3.2", "hss")
async def mar_sqn(t: Tester) -> None:
    peer = await _scscf(t)
    impi, impu = _fresh_user(t)
    usim = _usim(t)
    sqns = []
    for _ in range(2):
        v = _vector(t, await _mar(t, peer, impi, impu))
        sqns.append(sqn_to_int(check_autn(usim, v.rand, v.autn).sqn))
    check(sqns[1] > sqns[0], t.clause, "the second SQN above the first",
          [f"{s:#x}" for s in sqns])


@case("CX-MAR-RESYNC", "MAR with RAND||AUTS in SIP-Authorization gives a vector whose SQN "
      "follows SQN_MS", "TS 29.228 §6.3.1 / TS 29.229 §6.3.11 / TS 33.102 §6.3.5", "hss")
async def mar_resync(t: Tester) -> None:
    peer = await _scscf(t)
    impi, impu = _fresh_user(t)
    first = _vector(t, await _mar(t, peer, impi, impu))
    usim = _usim(t)
    sqn_ms = (1 << 42) + 0x40 * 32
    auts = build_auts(usim, first.rand, int_to_sqn(sqn_ms))
    again = _vector(t, await _mar(t, peer, impi, impu, resync=first.rand + auts))
    sqn = sqn_to_int(check_autn(usim, again.rand, again.autn).sqn)
    check(sqn > sqn_ms, t.clause, f"SQN above {sqn_ms:#x}", f"{sqn:#x}")


@case("CX-SAR-01", "SAR (REGISTRATION) is answered 2001 with User-Data: the IMS subscription "
      "holding the registered public identity", "TS 29.228 §6.1.2.1 / Annex D", "hss")
async def sar_user_data(t: Tester) -> None:
    peer = await _scscf(t)
    impi, impu = _fresh_user(t)
    saa = await peer.answer_to(cx.sar(peer.session_id(), peer.origin_host, peer.origin_realm,
                                      t.ids.home_realm, impi, impu, SCSCF,
                                      cx.ServerAssignmentType.REGISTRATION, **peer.ids()))
    check(result_code(saa) == 2001, t.clause, "DIAMETER_SUCCESS (2001)", result_code(saa))
    data = dia.avp(saa, "User-Data")
    check(isinstance(data, bytes), t.clause, "a User-Data AVP", data)
    assert isinstance(data, bytes)
    publics = cx.public_identities(data)
    check(impu in publics, t.clause, f"{impu} among the public identities", publics)
