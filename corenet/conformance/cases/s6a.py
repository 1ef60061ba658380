"""TS 29.272 (S6a) cases against an HSS, the tester playing an MME of the visited PLMN."""

from __future__ import annotations

from corenet.codecs import diameter, s6a
from corenet.codecs.base import Message
from corenet.conformance.case import case
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.diameter import TesterDiameter, result_code
from corenet.conformance.verdicts import check

UNKNOWN_IMSI = "440109999999999"


async def _air(t: Tester, imsi: str, vectors: int = 1,
               resync: bytes | None = None) -> tuple[TesterDiameter, Message]:
    mme = await t.diameter()
    req = s6a.air(mme.session_id(), mme.origin_host, mme.origin_realm, t.ids.home_realm, imsi,
                  t.plmn, **mme.ids(), num_vectors=vectors, resync_info=resync)
    return mme, await mme.answer_to(req)


async def _ulr(t: Tester, imsi: str, **kw: object) -> Message:
    mme = await t.diameter()
    req = s6a.ulr(mme.session_id(), mme.origin_host, mme.origin_realm, t.ids.home_realm, imsi,
                  t.plmn, **mme.ids(), **kw)  # type: ignore[arg-type]
    return await mme.answer_to(req)


def _expect_code(t: Tester, msg: Message, code: int, name: str) -> None:
    check(result_code(msg) == code, t.clause, f"{name} ({code})", result_code(msg))


def _vectors_case(n: int) -> None:
    @case(f"S6A-AIR-0{n}", f"AIR asking {n} vector(s) is answered 2001 with {n} E-UTRAN "
          "vector(s)", "TS 29.272 §5.2.3.1.3", "hss")
    async def air_vectors(t: Tester) -> None:
        _, aia = await _air(t, t.new_imsi(), n)
        _expect_code(t, aia, 2001, "DIAMETER_SUCCESS")
        got = s6a.vectors_of(aia)
        check(len(got) == n, t.clause, f"{n} E-UTRAN-Vector", len(got))


for _n in (1, 2, 3):
    _vectors_case(_n)


@case("S6A-AIR-10", "Each E-UTRAN vector has a 16-octet RAND, 16-octet AUTN and 32-octet KASME",
      "TS 29.272 §7.3.18", "hss")
async def air_vector_shape(t: Tester) -> None:
    _, aia = await _air(t, t.new_imsi())
    v = s6a.vectors_of(aia)[0]
    sizes = (len(v.rand), len(v.autn), len(v.kasme))
    check(sizes == (16, 16, 32), t.clause, "(16, 16, 32)", sizes)


@case("S6A-AIR-5001", "AIR for an unknown IMSI is answered DIAMETER_ERROR_USER_UNKNOWN (5001)",
      "TS 29.272 §5.2.3.1.3", "hss")
async def air_unknown(t: Tester) -> None:
    _, aia = await _air(t, UNKNOWN_IMSI)
    _expect_code(t, aia, 5001, "DIAMETER_ERROR_USER_UNKNOWN")


@case("S6A-AIR-5005", "AIR without User-Name is answered DIAMETER_MISSING_AVP (5005) naming it "
      "in Failed-AVP", "RFC 6733 §7.1.5 / TS 29.272 §7.2.5", "hss")
async def air_missing_avp(t: Tester) -> None:
    mme = await t.diameter()
    req = s6a.air(mme.session_id(), mme.origin_host, mme.origin_realm, t.ids.home_realm,
                  t.new_imsi(), t.plmn, **mme.ids())
    avps = [a for a in req.fields["avps"] if a[0] != "User-Name"]
    aia = await mme.answer_to(Message(req.protocol, req.name, req.code, {**req.fields, "avps": avps}))
    _expect_code(t, aia, 5005, "DIAMETER_MISSING_AVP")
    check(diameter.avp(aia, "Failed-AVP") is not None, t.clause, "a Failed-AVP", "absent")


@case("S6A-AIR-RESYNC", "AIR with Re-Synchronization-Info gives vectors whose SQN follows SQN_MS",
      "TS 29.272 §5.2.3.1.3 / TS 33.102 §6.3.5", "hss")
async def air_resync(t: Tester) -> None:
    from corenet.crypto.milenage import Milenage, build_auts, check_autn, int_to_sqn, sqn_to_int

    imsi = t.new_imsi()
    mme, aia = await _air(t, imsi)
    v = s6a.vectors_of(aia)[0]
    usim = Milenage(bytes.fromhex(t.ids.k), bytes.fromhex(t.ids.opc))
    sqn_ms = (1 << 41) + 0x40 * 32
    auts = build_auts(usim, v.rand, int_to_sqn(sqn_ms))
    req = s6a.air(mme.session_id(), mme.origin_host, mme.origin_realm, t.ids.home_realm, imsi,
                  t.plmn, **mme.ids(), resync_info=v.rand + auts)
    again = await mme.answer_to(req)
    _expect_code(t, again, 2001, "DIAMETER_SUCCESS")
    w = s6a.vectors_of(again)[0]
    sqn = sqn_to_int(check_autn(usim, w.rand, w.autn).sqn)
    check(sqn > sqn_ms, t.clause, f"SQN above {sqn_ms:#x}", f"{sqn:#x}")


@case("S6A-ULR-01", "ULR is answered 2001 with Subscription-Data and ULA-Flags",
      "TS 29.272 §5.2.1.1.3", "hss")
async def ulr_ok(t: Tester) -> None:
    ula = await _ulr(t, t.new_imsi())
    _expect_code(t, ula, 2001, "DIAMETER_SUCCESS")
    check(s6a.subscription_data_of(ula) is not None, t.clause, "Subscription-Data", "absent")
    check(diameter.avp(ula, "ULA-Flags") is not None, t.clause, "ULA-Flags", "absent")


@case("S6A-ULR-AMBR", "ULA's Subscription-Data carries the subscriber's AMBR and an APN "
      "configuration profile", "TS 29.272 §7.3.2", "hss")
async def ulr_profile(t: Tester) -> None:
    ula = await _ulr(t, t.new_imsi())
    sub = s6a.subscription_data_of(ula)
    check(sub is not None and sub.ambr is not None, t.clause, "AMBR", sub)
    assert sub is not None
    check(bool(sub.apn_configurations), t.clause, "APN-Configuration", sub.apn_configurations)


@case("S6A-ULR-5001", "ULR for an unknown IMSI is answered DIAMETER_ERROR_USER_UNKNOWN (5001)",
      "TS 29.272 §5.2.1.1.3", "hss")
async def ulr_unknown(t: Tester) -> None:
    _expect_code(t, await _ulr(t, UNKNOWN_IMSI), 5001, "DIAMETER_ERROR_USER_UNKNOWN")


@case("S6A-ULR-5004", "ULR from a visited PLMN the subscriber may not roam in is answered "
      "DIAMETER_ERROR_ROAMING_NOT_ALLOWED (5004)", "TS 29.272 §5.2.1.1.3", "hss")
async def ulr_roaming_not_allowed(t: Tester) -> None:
    ula = await _ulr(t, t.ids.restricted_imsi)
    _expect_code(t, ula, 5004, "DIAMETER_ERROR_ROAMING_NOT_ALLOWED")


@case("S6A-CLR-01", "ULR from a second MME makes the HSS send CLR (MME update procedure) to the "
      "first", "TS 29.272 §5.2.1.2.2", "hss")
async def clr_on_mme_change(t: Tester) -> None:
    imsi = t.new_imsi()
    first = await t.diameter()
    ula = await first.answer_to(s6a.ulr(first.session_id(), first.origin_host, first.origin_realm,
                                        t.ids.home_realm, imsi, t.plmn, **first.ids()))
    _expect_code(t, ula, 2001, "DIAMETER_SUCCESS")
    second = await t.diameter(origin_host=t.ids.tester_mme2_host)
    ula2 = await second.answer_to(s6a.ulr(second.session_id(), second.origin_host,
                                          second.origin_realm, t.ids.home_realm, imsi, t.plmn,
                                          **second.ids()))
    _expect_code(t, ula2, 2001, "DIAMETER_SUCCESS")
    clr = await first.receive(what="CLR")
    check(clr.name == "CLR", t.clause, "CLR", clr.name)
    check(diameter.avp(clr, "User-Name") == imsi, t.clause, f"User-Name {imsi}",
          diameter.avp(clr, "User-Name"))
    kind = diameter.avp(clr, "Cancellation-Type")
    check(kind == s6a.CancellationType.MME_UPDATE_PROCEDURE, t.clause,
          "Cancellation-Type MME_UPDATE_PROCEDURE (0)", kind)
    first.send(s6a.cla(clr, first.origin_host, first.origin_realm))


@case("S6A-PUR-01", "PUR is answered 2001", "TS 29.272 §5.2.1.3.3", "hss")
async def pur_ok(t: Tester) -> None:
    imsi = t.new_imsi()
    await _ulr(t, imsi)
    mme = await t.diameter()
    pua = await mme.answer_to(s6a.pur(mme.session_id(), mme.origin_host, mme.origin_realm,
                                      t.ids.home_realm, imsi, **mme.ids()))
    _expect_code(t, pua, 2001, "DIAMETER_SUCCESS")


@case("S6A-PUR-5001", "PUR for an unknown IMSI is answered DIAMETER_ERROR_USER_UNKNOWN (5001)",
      "TS 29.272 §5.2.1.3.3", "hss")
async def pur_unknown(t: Tester) -> None:
    mme = await t.diameter()
    pua = await mme.answer_to(s6a.pur(mme.session_id(), mme.origin_host, mme.origin_realm,
                                      t.ids.home_realm, UNKNOWN_IMSI, **mme.ids()))
    _expect_code(t, pua, 5001, "DIAMETER_ERROR_USER_UNKNOWN")


@case("S6A-CER-3010", "CER from a host that is not a configured peer is answered "
      "DIAMETER_UNKNOWN_PEER (3010)", "RFC 6733 §5.3 / TS 29.272 §7.1", "hss")
async def unknown_peer(t: Tester) -> None:
    peer = TesterDiameter(t.need("hss"), "stranger.example.org", "example.org",
                          t.sut.local_host, None)
    try:
        await peer.connect()
        cea = await peer.capabilities()
        check(result_code(cea) == 3010, t.clause, "DIAMETER_UNKNOWN_PEER (3010)", result_code(cea))
    finally:
        peer.close()


@case("S6A-CMD-3001", "A request of a command the HSS does not serve is answered "
      "DIAMETER_COMMAND_UNSUPPORTED (3001)", "RFC 6733 §7.1.3", "hss")
async def unsupported_command(t: Tester) -> None:
    mme = await t.diameter()
    req = s6a.pur(mme.session_id(), mme.origin_host, mme.origin_realm, t.ids.home_realm,
                  t.new_imsi(), **mme.ids())
    raw = bytearray(diameter.encode(req))
    raw[5:8] = (999).to_bytes(3, "big")  # command code 999: no such S6a command
    mme.send(bytes(raw))
    ans = await mme.receive(what="an answer with 3001")
    check(result_code(ans) == 3001, t.clause, "DIAMETER_COMMAND_UNSUPPORTED (3001)",
          result_code(ans))
