"""TS 33.401 (EPS security) cases against an MME."""

from __future__ import annotations

from corenet.codecs import nas
from corenet.conformance.case import case
from corenet.conformance.cases.nas import first_auth, until
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.ue import EEA, EIA, Downlink, TesterUe
from corenet.conformance.verdicts import Inconclusive, NoAnswer, check
from corenet.crypto import kdf


async def smc_of(t: Tester, *, emergency: bool = False) -> tuple[TesterUe, Downlink]:
    """Attach up to the Security Mode Command (authenticating when asked)."""
    ue = await t.ue()
    ue.attach_request(emergency=emergency)
    while True:
        dl = await ue.receive_nas(what="SecurityModeCommand")
        if dl.name == "AuthenticationRequest":
            ue.uplink(ue.answer_authentication(dl, t.plmn), protect=False)
        elif dl.name == "IdentityRequest":
            ue.uplink(nas.identity_response(imsi=ue.imsi), protect=False)
        elif dl.name == "SecurityModeCommand":
            return ue, dl
        else:
            raise Inconclusive(f"attach ended before security mode control: {dl.name}")


def _algs(dl: Downlink) -> tuple[int, int]:
    assert dl.nas is not None
    a = dl.nas.fields["selected_nas_security_algorithms"]
    return int(a["eea"]), int(a["eia"])


@case("SEC-EIA-01", "A normal attach gets a non-null integrity algorithm (EIA0 only for "
      "unauthenticated emergency)", "TS 33.401 §5.1.4.1", "mme", ("full",))
async def normal_not_null(t: Tester) -> None:
    _, smc = await smc_of(t)
    eea, eia = _algs(smc)
    check(eia != 0, t.clause, "EIA1/2/3", f"EIA{eia}")


@case("SEC-EIA-02", "An authenticated emergency attach gets a non-null integrity algorithm",
      "TS 33.401 §5.1.4.1", "mme", ("emergency-auth",))
async def emergency_auth_not_null(t: Tester) -> None:
    _, smc = await smc_of(t, emergency=True)
    check(_algs(smc)[1] != 0, t.clause, "EIA1/2/3", f"EIA{_algs(smc)[1]}")


@case("SEC-EIA-03", "An unauthenticated emergency attach gets EIA0 and EEA0",
      "TS 33.401 §15.2.2", "mme", ("emergency-unauth",))
async def emergency_unauth_null(t: Tester) -> None:
    _, smc = await smc_of(t, emergency=True)
    check(_algs(smc) == (0, 0), t.clause, "EEA0/EIA0", "EEA{}/EIA{}".format(*_algs(smc)))


@case("SEC-EIA-04", "The selected algorithms are among those the UE announced",
      "TS 33.401 §7.2.4.4", "mme", ("full",))
async def algorithms_supported(t: Tester) -> None:
    _, smc = await smc_of(t)
    eea, eia = _algs(smc)
    check(eea in EEA and eia in EIA, t.clause, f"EEA in {EEA}, EIA in {EIA}", f"EEA{eea}/EIA{eia}")


@case("SEC-SMC-01", "The Security Mode Command replays the UE security capabilities",
      "TS 33.401 §7.2.4.5", "mme", ("full",))
async def replayed_caps(t: Tester) -> None:
    _, smc = await smc_of(t)
    assert smc.nas is not None
    replayed = bytes(smc.nas.fields["replayed_ue_security_capabilities"])
    sent = nas.ue_security_capability(eea=EEA, eia=EIA)
    check(replayed[:2] == sent[:2], t.clause, sent[:2].hex(), replayed[:2].hex())


@case("SEC-SMC-02", "The Security Mode Command's MAC verifies with K_NASint from the AKA's "
      "KASME", "TS 33.401 §7.2.4.5 / A.7", "mme", ("full",))
async def smc_mac(t: Tester) -> None:
    ue, smc = await smc_of(t)
    _, ok = ue.take_smc(smc)
    check(ok, t.clause, "a NAS-MAC that verifies", "MAC mismatch")


@case("SEC-SMC-03", "The Security Mode Command is integrity protected with a new context "
      "(security header type 3)", "TS 33.401 §7.2.4.5", "mme", ("full",))
async def smc_header(t: Tester) -> None:
    _, smc = await smc_of(t)
    assert smc.raw_nas is not None
    check(smc.raw_nas[0] >> 4 == nas.SHT_INTEGRITY_NEW_CONTEXT, t.clause,
          "security header type 3", smc.raw_nas[0] >> 4)


@case("SEC-KENB-01", "KeNB in Initial Context Setup derives from KASME and the uplink NAS COUNT",
      "TS 33.401 §7.2.8.1 / A.3", "mme", ("full",))
async def kenb(t: Tester) -> None:
    ue = await t.ue()
    dl = await ue.attach(t.plmn)
    if dl.s1ap.name != "InitialContextSetupRequest" or ue.kasme is None:
        raise Inconclusive(f"no Initial Context Setup after AKA: {dl.s1ap.name}")
    got = bytes(dl.s1ap.fields.get("SecurityKey") or b"")
    # the uplink NAS COUNT of the Security Mode Complete, the first message of the context
    candidates = {kdf.kenb(ue.kasme, c) for c in (0, 1)}
    check(got in candidates, t.clause, "KDF(KASME, uplink NAS COUNT)", got.hex())


@case("SEC-REPLAY-01", "A replayed uplink NAS message (NAS COUNT already seen) is discarded",
      "TS 33.401 §8.1", "mme", ("full",))
async def replay(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    assert ue.ctx is not None
    # a message of no EMM type (§9.8 of TS 24.301): answered with EMM Status #97 once ...
    pdu = ue.uplink(bytes([nas.PD_EMM, 0x47]))
    first = await until(ue, "EMMStatus")
    if first.name != "EMMStatus":
        raise Inconclusive(f"no EMM Status for an unknown message type: {first.name}")
    # ... and, replayed with the same NAS COUNT, not acted upon again
    ue.send_raw(pdu)
    try:
        dl = await ue.receive_nas(1.0, what="nothing")
        check(dl.name != "EMMStatus", t.clause, "the replay discarded", dl.name)
    except NoAnswer:
        pass


@case("SEC-MAC-01", "An uplink NAS message with a wrong MAC is discarded", "TS 33.401 §8.1",
      "mme", ("full",))
async def bad_mac(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    assert ue.ctx is not None
    pdu = bytearray(nas.protect(nas.detach_request(detach_type=1, ksi=ue.ctx.ksi, imsi=ue.imsi),
                                ue.ctx, 0, nas.SHT_INTEGRITY_CIPHERED))
    pdu[1] ^= 0xFF  # the first MAC octet
    ue.send_raw(bytes(pdu))
    try:
        dl = await ue.receive_nas(1.0, what="nothing")
        check(dl.name != "DetachAccept", t.clause, "the message discarded", dl.name)
    except NoAnswer:
        pass


@case("SEC-AUTH-01", "Authentication Request carries a RAND and an AUTN whose MAC verifies at "
      "the USIM", "TS 33.401 §6.1.1", "mme", ("full",))
async def autn(t: Tester) -> None:
    ue = await t.ue()
    chk = ue.autn_check(await first_auth(t, ue))
    check(chk.mac_ok, t.clause, "MAC-A that verifies", "MAC failure")


@case("SEC-AUTH-02", "The AUTN's AMF has the E-UTRAN separation bit set",
      "TS 33.401 §6.1.1", "mme", ("full",))
async def amf_separation(t: Tester) -> None:
    from corenet.crypto.milenage import eps_separation_bit

    ue = await t.ue()
    chk = ue.autn_check(await first_auth(t, ue))
    check(eps_separation_bit(chk.amf), t.clause, "AMF separation bit 1", chk.amf.hex())
