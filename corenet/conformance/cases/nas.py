"""TS 24.301 (EMM) cases against an MME, the tester playing eNB and UE."""

from __future__ import annotations

from corenet.codecs import nas
from corenet.codecs.nas_ies import EmergencyNumber, Guti
from corenet.conformance.case import case
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.ue import Downlink, TesterUe
from corenet.conformance.verdicts import Inconclusive, NoAnswer, check

EMERGENCY_ONLY = ("emergency-auth", "emergency-unauth")
# §5.4.2.7 c, §5.5.1.2.7 c: "on the fifth expiry of timer T3460" the procedure is aborted
RETRANSMISSIONS = 4


def emm_cause(dl: Downlink) -> int | None:
    return None if dl.nas is None else dl.nas.fields.get(nas.EMM_CAUSE)


async def until(ue: TesterUe, name: str, timeout: float = 5.0) -> Downlink:
    """The next downlink NAS message named `name`, skipping EMM Information and the like."""
    while True:
        dl = await ue.receive_nas(timeout, what=name)
        if dl.name == name:
            return dl
        if dl.name not in ("EMMInformation", "DownlinkNASTransport"):
            return dl


async def attach_ends(t: Tester, name: str, cause: int | None = None, *,
                      emergency: bool = False, identity: str = "imsi") -> TesterUe:
    """An attach whose last message must be `name` (with EMM `cause` when given)."""
    ue = await t.ue()
    dl = await ue.attach(t.plmn, emergency=emergency, identity=identity)
    want = name if cause is None else f"{name} #{cause}"
    check(dl.name == name and (cause is None or emm_cause(dl) == cause), t.clause, want,
          f"{dl.name} #{emm_cause(dl)}")
    return ue


async def first_auth(t: Tester, ue: TesterUe) -> Downlink:
    ue.attach_request()
    dl = await ue.receive_nas(what="AuthenticationRequest")
    if dl.name != "AuthenticationRequest":
        raise Inconclusive(f"no Authentication Request after Attach Request: {dl.name}")
    return dl


@case("EMM-ATT-01", "A roamer's EPS attach in full roaming ends in Attach Accept",
      "TS 24.301 §5.5.1.2.4", "mme", ("full",))
async def attach_accept(t: Tester) -> None:
    await attach_ends(t, "AttachAccept")


@case("EMM-ATT-02", "Attach Accept allocates a GUTI of the serving MME's PLMN",
      "TS 24.301 §5.5.1.2.4", "mme", ("full",))
async def attach_guti(t: Tester) -> None:
    _, accept = await t.attached_ue()
    guti = (accept.fields.get("guti") or {}).get("value")
    check(guti is not None, t.clause, "a GUTI IE", accept.fields.get("guti"))
    plmn = getattr(guti, "plmn", None)
    check(str(plmn) == str(t.plmn), t.clause, f"GUTI PLMN {t.plmn}", plmn)


@case("EMM-ATT-03", "Attach Accept carries the default bearer's Activate Default EPS Bearer "
      "Context Request", "TS 24.301 §5.5.1.2.4", "mme", ("full",))
async def attach_esm(t: Tester) -> None:
    _, accept = await t.attached_ue()
    container = accept.fields.get(nas.ESM_CONTAINER) or {}
    check(container.get("name") == "ActivateDefaultEPSBearerContextRequest", t.clause,
          "ActivateDefaultEPSBearerContextRequest", container.get("name"))


@case("EMM-ATT-04", "Attach Complete is taken: no Attach Accept retransmission afterwards",
      "TS 24.301 §5.5.1.2.4", "mme", ("full",))
async def attach_complete_taken(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    await _silence(ue, t, "AttachAccept", t.sut.t3460_s * 1.5)


async def _silence(ue: TesterUe, t: Tester, name: str, seconds: float) -> None:
    try:
        while True:
            dl = await ue.receive_nas(seconds, what="nothing")
            check(dl.name != name, t.clause, f"no {name}", dl.name)
    except NoAnswer:
        return


@case("EMM-REJ-15A", "A normal attach in emergency-only (authenticated) mode is rejected with "
      "#15 No suitable cells in tracking area", "TS 24.301 §5.5.1.2.5", "mme", ("emergency-auth",))
async def reject_15_auth(t: Tester) -> None:
    await attach_ends(t, "AttachReject", 15)


@case("EMM-REJ-15U", "A normal attach in emergency-only (unauthenticated) mode is rejected with "
      "#15 No suitable cells in tracking area", "TS 24.301 §5.5.1.2.5", "mme",
      ("emergency-unauth",))
async def reject_15_unauth(t: Tester) -> None:
    await attach_ends(t, "AttachReject", 15)


@case("EMM-REJ-05", "An emergency attach with the IMEI only where the IMSI is required is "
      "rejected with #5 IMEI not accepted", "TS 24.301 §5.5.1.2.5", "mme", ("emergency-unauth",))
async def reject_imei_only(t: Tester) -> None:
    await attach_ends(t, "AttachReject", 5, emergency=True, identity="imei")


@case("EMM-EMC-01", "An emergency attach (type 6) in emergency-only authenticated mode is "
      "accepted after authentication", "TS 24.301 §5.5.1.2.4", "mme", ("emergency-auth",))
async def emergency_auth(t: Tester) -> None:
    ue = await attach_ends(t, "AttachAccept", emergency=True)
    names = [h.name for h in ue.history]
    check("AuthenticationRequest" in names, t.clause, "an Authentication Request first", names)


@case("EMM-EMC-02", "An emergency attach in unauthenticated mode is accepted without "
      "authentication", "TS 24.301 §5.5.1.2.4", "mme", ("emergency-unauth",))
async def emergency_unauth(t: Tester) -> None:
    ue = await attach_ends(t, "AttachAccept", emergency=True)
    names = [h.name for h in ue.history]
    check("AuthenticationRequest" not in names, t.clause, "no Authentication Request", names)


@case("EMM-EMC-03", "The emergency attach's default bearer is on the emergency APN",
      "TS 24.301 §6.4.1.2", "mme", ("emergency-auth",))
async def emergency_apn(t: Tester) -> None:
    _, accept = await t.attached_ue(emergency=True)
    esm = (accept.fields.get(nas.ESM_CONTAINER) or {}).get("fields") or {}
    apn = esm.get("access_point_name")
    check(apn is not None and "sos" in str(apn).lower(), t.clause, "APN sos", apn)


@case("EMM-EMC-04", "A full-roaming MME also accepts an emergency attach (type 6)",
      "TS 24.301 §5.5.1.2.4", "mme", ("full",))
async def emergency_in_full(t: Tester) -> None:
    await attach_ends(t, "AttachAccept", emergency=True)


@case("EMM-AUTH-20", "Authentication Failure #20 (MAC failure) makes the network identify the "
      "UE or reject the authentication", "TS 24.301 §5.4.2.6 c", "mme", ("full",))
async def auth_mac_failure(t: Tester) -> None:
    ue = await t.ue()
    await first_auth(t, ue)
    ue.uplink(nas.authentication_failure(20), protect=False)
    dl = await ue.receive_nas(what="IdentityRequest or AuthenticationReject")
    check(dl.name in ("IdentityRequest", "AuthenticationReject", "AttachReject"), t.clause,
          "IdentityRequest (or AuthenticationReject)", dl.name)


@case("EMM-AUTH-21", "Authentication Failure #21 with AUTS gives a new Authentication Request "
      "whose SQN follows the USIM's", "TS 24.301 §5.4.2.6 f", "mme", ("full",))
async def auth_synch_failure(t: Tester) -> None:
    from corenet.crypto.milenage import sqn_to_int

    ue = await t.ue()
    first = await first_auth(t, ue)
    sqn_ms = (1 << 40) + 0x1234 * 32
    ue.uplink(ue.synch_failure(first, sqn_ms), protect=False)
    dl = await ue.receive_nas(what="a new AuthenticationRequest")
    check(dl.name == "AuthenticationRequest", t.clause, "AuthenticationRequest", dl.name)
    chk = ue.autn_check(dl)
    check(chk.mac_ok, t.clause, "an AUTN whose MAC verifies", "MAC failure")
    check(sqn_to_int(chk.sqn) > sqn_ms, t.clause, f"SQN above SQN_MS {sqn_ms:#x}",
          f"{sqn_to_int(chk.sqn):#x}")


@case("EMM-AUTH-RES", "A wrong RES is answered with Authentication Reject",
      "TS 24.301 §5.4.2.5", "mme", ("full",))
async def auth_wrong_res(t: Tester) -> None:
    ue = await t.ue()
    await first_auth(t, ue)
    ue.uplink(nas.authentication_response(bytes(8)), protect=False)
    dl = await ue.receive_nas(what="AuthenticationReject")
    check(dl.name in ("AuthenticationReject", "IdentityRequest"), t.clause,
          "AuthenticationReject (or IdentityRequest)", dl.name)


@case("EMM-SMC-REJ", "Security Mode Reject aborts the attach", "TS 24.301 §5.4.3.5", "mme",
      ("full",))
async def smc_reject(t: Tester) -> None:
    ue = await t.ue()
    auth = await first_auth(t, ue)
    ue.uplink(ue.answer_authentication(auth, t.plmn), protect=False)
    dl = await ue.receive_nas(what="SecurityModeCommand")
    check(dl.name == "SecurityModeCommand", t.clause, "SecurityModeCommand", dl.name)
    ue.uplink(nas.security_mode_reject(23), protect=False)
    end = await ue.receive_nas(what="AttachReject or UEContextReleaseCommand")
    check(end.name in ("AttachReject", "UEContextReleaseCommand"), t.clause,
          "AttachReject or UEContextReleaseCommand", end.name)


@case("EMM-T3460-01", "Authentication Request is retransmitted with the same RAND on T3460 expiry",
      "TS 24.301 §5.4.2.7 c", "mme", ("full",))
async def t3460_retransmission(t: Tester) -> None:
    ue = await t.ue()
    first = await first_auth(t, ue)
    again = await ue.receive_nas(t.sut.t3460_s * 3, what="an Authentication Request again")
    check(again.name == "AuthenticationRequest", t.clause, "AuthenticationRequest", again.name)
    assert first.nas is not None and again.nas is not None
    r1, r2 = (d.fields["authentication_parameter_rand"] for d in (first.nas, again.nas))
    check(r1 == r2, t.clause, "the same RAND", f"{bytes(r1).hex()} then {bytes(r2).hex()}")


@case("EMM-T3460-02", "On the fifth T3460 expiry the procedure is aborted and the UE context "
      "released", "TS 24.301 §5.4.2.7 c", "mme", ("full",))
async def t3460_give_up(t: Tester) -> None:
    ue = await t.ue()
    await first_auth(t, ue)
    await _gives_up(t, ue, "AuthenticationRequest")


async def _gives_up(t: Tester, ue: TesterUe, name: str) -> None:
    """`name` resent RETRANSMISSIONS times, then UE Context Release Command."""
    seen = 0
    while True:
        dl = await ue.receive_nas(t.sut.t3460_s * 3, what="a retransmission or the release")
        if dl.name == name:
            seen += 1
            check(seen <= RETRANSMISSIONS, t.clause, f"at most {RETRANSMISSIONS} retransmissions",
                  seen)
            continue
        if dl.name == "EMMInformation":
            continue
        check(dl.s1ap.name == "UEContextReleaseCommand", t.clause, "UEContextReleaseCommand",
              dl.name)
        check(seen == RETRANSMISSIONS, t.clause, f"{RETRANSMISSIONS} retransmissions first", seen)
        return


@case("EMM-T3450-01", "Attach Accept is retransmitted on T3450 expiry when Attach Complete is "
      "missing", "TS 24.301 §5.5.1.2.7 c", "mme", ("full",))
async def t3450_retransmission(t: Tester) -> None:
    ue = await _accepted_not_completed(t)
    again = await until(ue, "AttachAccept", t.sut.t3460_s * 3)
    check(again.name == "AttachAccept", t.clause, "AttachAccept again", again.name)


@case("EMM-T3450-02", "On the fifth T3450 expiry the attach is aborted and the UE context "
      "released", "TS 24.301 §5.5.1.2.7 c", "mme", ("full",))
async def t3450_give_up(t: Tester) -> None:
    await _gives_up(t, await _accepted_not_completed(t), "AttachAccept")


async def _accepted_not_completed(t: Tester) -> TesterUe:
    """A UE whose eNB set up the context but which never sends Attach Complete."""
    ue = await attach_ends(t, "AttachAccept")
    assert ue.history
    ue.context_setup_response(ue.history[-1])
    return ue


@case("EMM-DET-01", "A UE-initiated detach (not switch-off) is answered with Detach Accept",
      "TS 24.301 §5.5.2.2.2", "mme", ("full",))
async def ue_detach(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    ue.uplink(nas.detach_request(detach_type=1, ksi=ue.ctx.ksi if ue.ctx else 0, imsi=ue.imsi))
    dl = await until(ue, "DetachAccept")
    check(dl.name == "DetachAccept", t.clause, "DetachAccept", dl.name)


@case("EMM-DET-02", "A switch-off detach gets no Detach Accept but the release of the UE "
      "context", "TS 24.301 §5.5.2.2.2", "mme", ("full",))
async def ue_detach_switch_off(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    ue.uplink(nas.detach_request(detach_type=1, switch_off=True,
                                 ksi=ue.ctx.ksi if ue.ctx else 0, imsi=ue.imsi))
    dl = await until(ue, "UEContextReleaseCommand")
    check(dl.s1ap.name == "UEContextReleaseCommand", t.clause, "UEContextReleaseCommand", dl.name)


@case("EMM-STATUS-01", "A message of a type the MME does not know is answered with EMM Status "
      "#97", "TS 24.301 §7.4", "mme", ("full",))
async def unknown_type(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    ue.uplink(bytes([nas.PD_EMM, 0x47]))  # 0x47: no EMM message (§9.8)
    dl = await until(ue, "EMMStatus")
    check(dl.name == "EMMStatus" and emm_cause(dl) == 97, t.clause, "EMMStatus #97",
          f"{dl.name} #{emm_cause(dl)}")


@case("EMM-ID-01", "An attach with an unknown GUTI starts the identification procedure "
      "(Identity Request for the IMSI)", "TS 24.301 §5.4.4.2", "mme", ("full",))
async def identity_unknown_guti(t: Tester) -> None:
    ue = await t.ue()
    esm = nas.pdn_connectivity_request(pti=1)
    guti = Guti(t.plmn, 0x8001, 0x7F, 0x0BADC0DE)
    ue.initial(nas.attach_request(attach_type=1, ksi=7, guti=guti, esm_container=esm,
                                  drx=b"\x00\x00"))
    dl = await ue.receive_nas(what="IdentityRequest")
    check(dl.name == "IdentityRequest", t.clause, "IdentityRequest", dl.name)
    assert dl.nas is not None
    check(int(dl.nas.fields.get("identity_type", 0)) == 1, t.clause, "identity type 1 (IMSI)",
          dl.nas.fields.get("identity_type"))


async def _numbers(t: Tester) -> list[str]:
    _, accept = await t.attached_ue(emergency=True)
    got = accept.fields.get("emergency_number_list") or []
    return [n.number if isinstance(n, EmergencyNumber) else str(n) for n in got]


def _number_case(digits: str, service: str) -> None:
    @case(f"EMM-ENL-{digits}", f"Attach Accept's emergency number list holds {digits} "
          f"({service})", "TS 24.301 §5.5.1.2.4", "mme", ("emergency-auth",))
    async def number(t: Tester) -> None:
        numbers = await _numbers(t)
        check(digits in numbers, t.clause, f"{digits} in the emergency number list", numbers)


for _d, _s in (("110", "police"), ("118", "marine guard"), ("119", "fire and ambulance")):
    _number_case(_d, _s)
