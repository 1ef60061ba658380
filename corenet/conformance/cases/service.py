"""TS 24.301 §5.6.1 (service request) cases against an MME, the tester playing eNB and UE:
an attached UE released to ECM-IDLE comes back with a SERVICE REQUEST (TS 23.401 §5.3.4.1)."""

from __future__ import annotations

from corenet.codecs import nas
from corenet.conformance.case import case
from corenet.conformance.cases.nas import until
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.ue import Downlink, TesterUe
from corenet.conformance.verdicts import Inconclusive, check

# TS 24.301 §9.9.3.9
UE_IDENTITY_NOT_DERIVED = 9  # UE identity cannot be derived by the network
IMPLICITLY_DETACHED = 10
CS_DOMAIN_NOT_AVAILABLE = 18
MESSAGE_TYPE_NOT_IMPLEMENTED = 97
# TS 24.301 §9.9.3.27 service types: 0000 mobile originating CS fallback, 1000 packet
# services via S1
MO_CS_FALLBACK, PACKET_SERVICES_VIA_S1 = 0, 8
UNUSED_M_TMSI = 0x3FFFFFFE


async def _idle(t: Tester) -> tuple[TesterUe, tuple[int, int], int]:
    """An attached UE in ECM-IDLE: (UE, its S-TMSI, its default bearer's EBI)."""
    ue, accept = await t.attached_ue()
    guti = (accept.fields.get("guti") or {}).get("value")
    if guti is None:
        raise Inconclusive("Attach Accept without a GUTI: no S-TMSI to come back with")
    container = accept.fields.get(nas.ESM_CONTAINER) or {}
    ebi = int((container.get("fields") or {}).get(nas.EBI, 5))
    await ue.go_idle()
    return ue, (int(guti.mme_code), int(guti.m_tmsi)), ebi


async def _answer(ue: TesterUe) -> Downlink:
    """The MME's answer to a SERVICE REQUEST: an INITIAL CONTEXT SETUP REQUEST or a NAS
    message (SERVICE REJECT)."""
    while True:
        dl = await ue.receive(what="InitialContextSetupRequest or ServiceReject")
        if dl.s1ap.name == "InitialContextSetupRequest" or dl.nas is not None:
            return dl


def _rejected(t: Tester, dl: Downlink, cause: int) -> None:
    got = None if dl.nas is None else dl.nas.fields.get(nas.EMM_CAUSE)
    check(dl.name == "ServiceReject" and got == cause, t.clause, f"ServiceReject #{cause}",
          f"{dl.name} #{got}")


@case("EMM-SR-01", "A SERVICE REQUEST from ECM-IDLE is answered with an INITIAL CONTEXT SETUP "
      "REQUEST holding the default bearer's E-RAB and a KeNB", "TS 24.301 §5.6.1.4 / "
      "TS 23.401 §5.3.4.1", "mme", ("full",))
async def service_accepted(t: Tester) -> None:
    ue, s_tmsi, ebi = await _idle(t)
    ue.service_request(s_tmsi)
    dl = await _answer(ue)
    check(dl.s1ap.name == "InitialContextSetupRequest", t.clause, "InitialContextSetupRequest",
          dl.name)
    items = dl.s1ap.fields.get("E-RABToBeSetupListCtxtSUReq") or []
    erabs = sorted(int(i["e-RAB-ID"]) for i in items)
    check(ebi in erabs, t.clause, f"E-RAB {ebi} (the default bearer)", erabs)
    key = dl.s1ap.fields.get("SecurityKey")
    check(key is not None, t.clause, "a SecurityKey (KeNB, TS 33.401 §7.2.8.1)", "absent")
    ue.context_setup_response(dl)


@case("EMM-SR-09-MAC", "A SERVICE REQUEST whose short MAC fails is rejected with SERVICE "
      "REJECT #9", "TS 24.301 §5.6.1.5 / §4.4.4.3", "mme", ("full",))
async def service_bad_mac(t: Tester) -> None:
    ue, s_tmsi, _ = await _idle(t)
    assert ue.ctx is not None
    good = nas.service_request(ue.ctx.ksi & 7, ue.ctx)
    ue.service_request(s_tmsi, good[:-1] + bytes([good[-1] ^ 0xFF]))
    _rejected(t, await _answer(ue), UE_IDENTITY_NOT_DERIVED)


@case("EMM-SR-09-TMSI", "A SERVICE REQUEST with an S-TMSI no context holds is rejected with "
      "SERVICE REJECT #9", "TS 24.301 §5.6.1.5", "mme", ("full",))
async def service_unknown_tmsi(t: Tester) -> None:
    ue, (mmec, _), _ = await _idle(t)
    ue.service_request((mmec, UNUSED_M_TMSI))
    _rejected(t, await _answer(ue), UE_IDENTITY_NOT_DERIVED)


@case("EMM-SR-10", "A SERVICE REQUEST for a context no longer EMM-REGISTERED (a new ATTACH "
      "REQUEST on the connection deregistered it) is rejected with SERVICE REJECT #10",
      "TS 24.301 §5.6.1.5 / §5.5.1.2.7 d", "mme", ("full",))
async def service_not_registered(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    assert ue.ctx is not None
    ue.attach_request(on_connection=True)
    ue.send_raw(nas.service_request(ue.ctx.ksi & 7, ue.ctx))
    _rejected(t, await until_name(ue, "ServiceReject"), IMPLICITLY_DETACHED)


async def until_name(ue: TesterUe, name: str, limit: int = 5) -> Downlink:
    """The next downlink NAS message `name`, past those of the procedure running beside it."""
    for _ in range(limit):
        dl = await ue.receive_nas(what=name)
        if dl.name == name:
            return dl
    return dl


@case("EMM-ESR-18", "An EXTENDED SERVICE REQUEST for mobile originating CS fallback is "
      "rejected with SERVICE REJECT #18 (no SGs: CS domain not available)",
      "TS 24.301 §5.6.1.5 / TS 23.272 §6.6", "mme", ("full",))
async def extended_cs_fallback(t: Tester) -> None:
    ue = await _extended(t, MO_CS_FALLBACK)
    _rejected(t, await until(ue, "ServiceReject"), CS_DOMAIN_NOT_AVAILABLE)


async def _extended(t: Tester, service_type: int) -> TesterUe:
    """An attached, connected UE sends EXTENDED SERVICE REQUEST (TS 24.301 §5.6.1.2),
    integrity protected, with its M-TMSI."""
    ue, accept = await t.attached_ue()
    guti = (accept.fields.get("guti") or {}).get("value")
    if guti is None:
        raise Inconclusive("Attach Accept without a GUTI")
    assert ue.ctx is not None
    ue.uplink(nas.extended_service_request(service_type, int(guti.m_tmsi), ue.ctx.ksi & 7),
              sht=nas.SHT_INTEGRITY)
    return ue


@case("EMM-ESR-97", "An EXTENDED SERVICE REQUEST for packet services via S1, which the MME does "
      "not implement, is answered EMM STATUS #97", "TS 24.301 §7.4 / §5.6.1.5", "mme",
      ("full",))
async def extended_packet_services(t: Tester) -> None:
    ue = await _extended(t, PACKET_SERVICES_VIA_S1)
    dl = await until(ue, "EMMStatus")
    got = None if dl.nas is None else dl.nas.fields.get(nas.EMM_CAUSE)
    check(dl.name == "EMMStatus" and got == MESSAGE_TYPE_NOT_IMPLEMENTED, t.clause,
          "EMMStatus #97", f"{dl.name} #{got}")
