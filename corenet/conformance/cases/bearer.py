"""Network-initiated dedicated bearers (TS 23.401 §5.4.1, §5.4.4.1; TS 24.301 §6.4.2, §6.4.4)
against the MME, the tester playing eNB and UE, and the AF whose media authorization makes the
network ask for the bearer: Rx AAR (TS 29.214 §4.4.1) -> PCRF RAR -> P-GW Create Bearer
Request (TS 29.274 §7.2.3) -> the MME's E-RAB SETUP REQUEST with the ESM activation.

The Create Bearer Response's cause is seen through its consequence at the P-GW: a bearer the
MME accepted (cause 16) is the one the P-GW later deletes (STR -> Delete Bearer Request ->
the MME's DEACTIVATE EPS BEARER CONTEXT REQUEST for that EBI); a refused one (the UE's reject)
is reported to the PCRF (TS 29.212 §4.5.12), which tells the AF (Specific-Action
INDICATION_OF_FAILED_RESOURCES_ALLOCATION, TS 29.214 §4.4.5a).
"""

from __future__ import annotations

from typing import Any

from corenet.codecs import catalogue, gtpv2c, nas, pcc, s1ap
from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.conformance.case import case
from corenet.conformance.cases.pcrf import _aar, _af, _media, _request, _request_from
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.diameter import TesterDiameter
from corenet.conformance.tester.enb import get
from corenet.conformance.tester.gtp import TesterGtp
from corenet.conformance.tester.ue import Downlink, TesterUe
from corenet.conformance.verdicts import Inconclusive, NoAnswer, check

VOICE_QCI = 1  # TS 23.203 Table 6.1.7
PTI_NETWORK = 0  # TS 24.301 §6.4.2.2: network initiated, no PTI
ESM_INSUFFICIENT_RESOURCES = 26  # TS 24.301 §9.9.4.4


async def _voice_bearer(t: Tester) -> tuple[TesterUe, TesterDiameter, str, int, Downlink]:
    """An attached UE whose media the tester AF authorizes: (UE, AF, Rx Session-Id, the
    default bearer's EBI, the E-RAB SETUP REQUEST)."""
    t.need("pcrf")
    ue, accept = await t.attached_ue()
    esm = (accept.fields.get(nas.ESM_CONTAINER) or {}).get("fields") or {}
    address = (esm.get("pdn_address") or {}).get("ipv4")
    if not address:
        raise Inconclusive(f"no IPv4 address in the default bearer: {esm.get('pdn_address')}")
    default_ebi = int(esm.get(nas.EBI, 5))
    af = await _af(t)
    sid = af.session_id()
    aaa = await _aar(t, af, address, _media(address), sid=sid)
    if pcc.result_of(aaa) != 2001:
        raise Inconclusive(f"the PCRF refused the media authorization: {pcc.result_of(aaa)}")
    while True:
        dl = await ue.receive(what="E-RABSetupRequest")
        if dl.s1ap.name == "E-RABSetupRequest":
            return ue, af, sid, default_ebi, dl


def _erab(dl: Downlink) -> dict[str, Any]:
    items = dl.s1ap.fields.get("E-RABToBeSetupListBearerSUReq") or []
    if len(items) != 1:
        raise Inconclusive(f"E-RAB SETUP REQUEST with {len(items)} E-RABs")
    return dict(items[0])


def _activation(ue: TesterUe, item: dict[str, Any]) -> Message | None:
    raw = item.get("nAS-PDU")
    return None if raw is None else ue.decode_nas(bytes(raw))


@case("BEARER-DED-01", "A network-initiated dedicated bearer reaches the eNB as an E-RAB SETUP "
      "REQUEST (QCI 1, GBR) with ACTIVATE DEDICATED EPS BEARER CONTEXT REQUEST linked to the "
      "default bearer", "TS 24.301 §6.4.2.2 / TS 23.401 §5.4.1", "mme", ("full",))
async def dedicated_activation(t: Tester) -> None:
    ue, _, _, default_ebi, dl = await _voice_bearer(t)
    item = _erab(dl)
    qos = item.get("e-RABlevelQoSParameters") or {}
    check(qos.get("qCI") == VOICE_QCI, t.clause, f"E-RAB QCI {VOICE_QCI}", qos.get("qCI"))
    check(qos.get("gbrQosInformation") is not None, t.clause, "gbrQosInformation (a GBR "
          "bearer)", "absent")
    esm = _activation(ue, item)
    check(esm is not None and esm.name == "ActivateDedicatedEPSBearerContextRequest", t.clause,
          "ActivateDedicatedEPSBearerContextRequest in the E-RAB's NAS-PDU",
          None if esm is None else esm.name)
    assert esm is not None
    f = esm.fields
    check(f.get(nas.EBI) == item.get("e-RAB-ID"), t.clause,
          f"EPS bearer identity {item.get('e-RAB-ID')} (the E-RAB ID)", f.get(nas.EBI))
    check(f.get(nas.PTI) == PTI_NETWORK, t.clause, "PTI 0 (network initiated)", f.get(nas.PTI))
    linked = f.get("linked_eps_bearer_identity")
    check(linked == default_ebi, t.clause, f"linked EBI {default_ebi}", linked)
    tft = f.get("traffic_flow_template")
    check(bool(tft), t.clause, "a TFT (TS 24.008 §10.5.6.12)", tft)
    _accept(ue, int(item["e-RAB-ID"]))


def _accept(ue: TesterUe, ebi: int) -> None:
    """The eNB sets the E-RAB up (TS 36.413 §8.2.1.2), the UE accepts (TS 24.301 §6.4.2.3)."""
    _erab_set_up(ue, ebi)
    ue.uplink(nas.activate_dedicated_eps_bearer_context_accept(ebi))


def _refuse(ue: TesterUe, ebi: int) -> None:
    """The eNB sets the E-RAB up, the UE rejects the context (TS 24.301 §6.4.2.4)."""
    _erab_set_up(ue, ebi)
    ue.uplink(nas.activate_dedicated_eps_bearer_context_reject(ebi, ESM_INSUFFICIENT_RESOURCES))


def _erab_set_up(ue: TesterUe, ebi: int) -> None:
    assert ue.mme_ue_id is not None
    ue.enb.send(s1ap.e_rab_setup_response(ue.mme_ue_id, ue.enb_ue_id,
                                          [(ebi, "127.0.0.1", 0x2000 + ebi)]))


@case("BEARER-DED-16", "The bearer the UE accepted is the P-GW's (Create Bearer Response cause "
      "16): ending the media removes it with DEACTIVATE EPS BEARER CONTEXT REQUEST for its EBI",
      "TS 24.301 §6.4.4.2 / TS 23.401 §5.4.4.1 / TS 29.274 §7.2.4", "mme", ("full",))
async def dedicated_accepted_then_deleted(t: Tester) -> None:
    ue, af, sid, _, dl = await _voice_bearer(t)
    ebi = int(_erab(dl)["e-RAB-ID"])
    _accept(ue, ebi)
    sta = await af.answer_to(_request(t, af, "STR", sid, [
        ("Termination-Cause", pcc.DIAMETER_LOGOUT)]))
    check(pcc.result_of(sta) == 2001, t.clause, "STA 2001", pcc.result_of(sta))
    while True:
        down = await ue.receive(what="DeactivateEPSBearerContextRequest")
        if down.nas is not None or down.s1ap.name == "E-RABReleaseCommand":
            break
    esm = down.nas
    check(esm is not None and esm.name == "DeactivateEPSBearerContextRequest", t.clause,
          "DeactivateEPSBearerContextRequest", down.name)
    assert esm is not None
    check(esm.fields.get(nas.EBI) == ebi, t.clause, f"EPS bearer identity {ebi}",
          esm.fields.get(nas.EBI))
    assert ue.mme_ue_id is not None
    ue.enb.send(s1ap.e_rab_release_response(ue.mme_ue_id, ue.enb_ue_id, [ebi]))
    ue.uplink(nas.deactivate_eps_bearer_context_accept(ebi))


@case("BEARER-DED-REJ", "A dedicated bearer the UE rejects is refused to the P-GW (Create "
      "Bearer Response), and the AF learns its resources failed", "TS 24.301 §6.4.2.5 / "
      "TS 23.401 §5.4.1 / TS 29.214 §4.4.5a", "mme", ("full",))
async def dedicated_rejected(t: Tester) -> None:
    ue, af, sid, _, dl = await _voice_bearer(t)
    _refuse(ue, int(_erab(dl)["e-RAB-ID"]))
    rar = await _request_from(af, "RAR")
    af.send(pcc.answer(rar, pcc.Origin(af.origin_host, af.origin_realm), 2001))
    check(dia.avp(rar, "Session-Id") == sid, t.clause, f"RAR for {sid}",
          dia.avp(rar, "Session-Id"))
    actions = dia.avp_all(rar, "Specific-Action")
    check(pcc.INDICATION_OF_FAILED_RESOURCES_ALLOCATION in actions, t.clause,
          "Specific-Action INDICATION_OF_FAILED_RESOURCES_ALLOCATION (9)", actions)


# ------------------------------------------------- the tester as the S-GW on the MME's S11

VOICE_TFT = catalogue.VOICE_TFT  # TS 24.008 §10.5.6.12: create new TFT, RTP both ways


async def _create_bearer(t: Tester, ue: TesterUe, linked_ebi: int, *,
                         teid: int | None = None) -> tuple[TesterGtp, int]:
    """Create Bearer Request (TS 29.274 §7.2.3) for a QCI 1 bearer, to the MME's S11 TEID of
    the UE: (the tester S-GW, the request's sequence number). The MME's S11 TEID of a UE is
    not on S1; the embedded MME uses its MME UE S1AP ID, which the tester takes."""
    gtp = await t.gtp("mme-s11")
    seq = gtp.next_sequence()
    gtp.send(gtpv2c.create_bearer_request(
        seq, teid=(ue.mme_ue_id or 0) if teid is None else teid, linked_ebi=linked_ebi,
        bearer_contexts=[{
            "ebi": 0, "tft": VOICE_TFT,
            "s1u_sgw_fteid": (gtpv2c.FTEID_S1U_SGW, 0x5100 + seq, gtp.local[0]),
            "bearer_qos": gtpv2c.bearer_qos(VOICE_QCI, 2, pci=0, pvi=1, mbr=(128, 128),
                                            gbr=(64, 64)),
            "charging_id": seq}]))
    return gtp, seq


async def _bearer_response(t: Tester, gtp: TesterGtp, seq: int) -> Message:
    while True:
        msg = await get(gtp.inbox, 5.0, "Create Bearer Response")
        if msg.name == "CreateBearerResponse" and msg.fields.get("sequence") == seq:
            return msg


def _bearer_cause(msg: Message) -> tuple[int | None, int | None, int | None]:
    """(cause, the bearer context's EBI, its cause) of a Create Bearer Response."""
    c = msg.fields.get("cause")
    contexts = msg.fields.get("bearer_contexts") or []
    ctx = contexts[0] if contexts else {}
    inner = ctx.get("cause")
    return (c.get("value") if isinstance(c, dict) else c, ctx.get("ebi"),
            inner.get("value") if isinstance(inner, dict) else inner)


async def _s11_activation(t: Tester) -> tuple[TesterUe, TesterGtp, int, int, Downlink]:
    ue, accept = await t.attached_ue()
    esm = (accept.fields.get(nas.ESM_CONTAINER) or {}).get("fields") or {}
    default_ebi = int(esm.get(nas.EBI, 5))
    gtp, seq = await _create_bearer(t, ue, default_ebi)
    try:
        while True:
            dl = await ue.receive(what="E-RABSetupRequest")
            if dl.s1ap.name == "E-RABSetupRequest":
                return ue, gtp, seq, default_ebi, dl
    except NoAnswer:
        if not gtp.inbox.empty():
            cause, _, _ = _bearer_cause(gtp.inbox.get_nowait())
            if cause == gtpv2c.CAUSE_CONTEXT_NOT_FOUND:
                raise Inconclusive("the MME's S11 TEID of the UE is not its MME UE S1AP ID: "
                                   "no context for the Create Bearer Request") from None
        raise


@case("BEARER-CBR-16", "Create Bearer Request from the S-GW for an attached UE: E-RAB SETUP "
      "REQUEST with ACTIVATE DEDICATED EPS BEARER CONTEXT REQUEST; once eNB and UE accept, "
      "Create Bearer Response cause 16 with the bearer's EBI", "TS 24.301 §6.4.2.3 / "
      "TS 23.401 §5.4.1 / TS 29.274 §7.2.4", "mme", ("full",))
async def create_bearer_accepted(t: Tester) -> None:
    ue, gtp, seq, default_ebi, dl = await _s11_activation(t)
    item = _erab(dl)
    esm = _activation(ue, item)
    check(esm is not None and esm.name == "ActivateDedicatedEPSBearerContextRequest"
          and esm.fields.get("linked_eps_bearer_identity") == default_ebi, t.clause,
          f"ActivateDedicatedEPSBearerContextRequest linked to EBI {default_ebi}",
          None if esm is None else (esm.name, esm.fields.get("linked_eps_bearer_identity")))
    ebi = int(item["e-RAB-ID"])
    _accept(ue, ebi)
    cause, got_ebi, bearer_cause = _bearer_cause(await _bearer_response(t, gtp, seq))
    check((cause, got_ebi, bearer_cause) == (gtpv2c.CAUSE_REQUEST_ACCEPTED, ebi,
                                             gtpv2c.CAUSE_REQUEST_ACCEPTED), t.clause,
          f"cause 16, bearer context EBI {ebi} cause 16", (cause, got_ebi, bearer_cause))


@case("BEARER-CBR-88", "A dedicated bearer the UE rejects is answered to the S-GW with Create "
      "Bearer Response cause 88 UE refuses", "TS 24.301 §6.4.2.4 / TS 29.274 §7.2.4",
      "mme", ("full",))
async def create_bearer_refused(t: Tester) -> None:
    ue, gtp, seq, _, dl = await _s11_activation(t)
    _refuse(ue, int(_erab(dl)["e-RAB-ID"]))
    cause, _, bearer_cause = _bearer_cause(await _bearer_response(t, gtp, seq))
    check(gtpv2c.CAUSE_UE_REFUSES in (cause, bearer_cause), t.clause, "cause 88 UE refuses",
          (cause, bearer_cause))


@case("BEARER-CBR-64", "Create Bearer Request for a TEID no UE holds is answered cause 64 "
      "Context not found", "TS 29.274 §7.2.4 / Table 8.4-1", "mme", ("full",))
async def create_bearer_unknown(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    gtp, seq = await _create_bearer(t, ue, 5, teid=0x7EADBEEF)
    cause, _, _ = _bearer_cause(await _bearer_response(t, gtp, seq))
    check(cause == gtpv2c.CAUSE_CONTEXT_NOT_FOUND, t.clause, "cause 64 Context not found", cause)
