"""TS 36.413 (S1AP) cases against an MME."""

from __future__ import annotations

from corenet.codecs import s1ap
from corenet.conformance.case import case
from corenet.conformance.tester.context import Tester
from corenet.conformance.verdicts import check
from corenet.core.plmn import Plmn

UNKNOWN_PLMN = Plmn("001", "01")


@case("S1AP-SETUP-01", "S1 Setup from an eNB of a served PLMN is answered with S1 Setup Response",
      "TS 36.413 §8.7.3.2", "mme")
async def setup_ok(t: Tester) -> None:
    enb = await t.enb(setup=False)
    answer = await enb.setup()
    check(answer.name == "S1SetupResponse", t.clause, "S1SetupResponse", answer.name)
    served = [p for g in answer.fields.get("ServedGUMMEIs", []) for p in g.get("servedPLMNs", [])]
    check(str(t.plmn) in served, t.clause, f"servedPLMNs containing {t.plmn}", served)


@case("S1AP-SETUP-02", "S1 Setup from an eNB of an unknown PLMN is refused with S1 Setup Failure",
      "TS 36.413 §8.7.3.4", "mme")
async def setup_unknown_plmn(t: Tester) -> None:
    enb = await t.enb(setup=False)
    answer = await enb.setup(plmn=UNKNOWN_PLMN)
    check(answer.name == "S1SetupFailure", t.clause, "S1SetupFailure", answer.name)
    check(answer.fields.get("Cause") is not None, t.clause, "a Cause IE", answer.fields)


@case("S1AP-RESET-01", "Reset of the whole S1 interface is acknowledged", "TS 36.413 §8.7.1.2.1",
      "mme")
async def reset_all(t: Tester) -> None:
    enb = await t.enb()
    enb.send(s1ap.reset(("misc", "om-intervention")), stream=0)
    answer = await enb.receive_common()
    check(answer.name == "ResetAcknowledge", t.clause, "ResetAcknowledge", answer.name)


@case("S1AP-RESET-02", "A partial Reset is acknowledged with the listed UE-associated connections",
      "TS 36.413 §8.7.1.2.1", "mme")
async def reset_partial(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    ue.enb.send(s1ap.reset(("misc", "om-intervention"), [(ue.mme_ue_id, ue.enb_ue_id)]), stream=0)
    answer = await ue.enb.receive_common()
    check(answer.name == "ResetAcknowledge", t.clause, "ResetAcknowledge", answer.name)
    items = answer.fields.get("UE-associatedLogicalS1-ConnectionListResAck") or []
    ids = [(i.get("mME-UE-S1AP-ID"), i.get("eNB-UE-S1AP-ID")) for i in items]
    check((ue.mme_ue_id, ue.enb_ue_id) in ids, t.clause,
          f"the connection ({ue.mme_ue_id}, {ue.enb_ue_id}) echoed", ids)


@case("S1AP-ERRIND-01", "A PDU that cannot be decoded is answered with Error Indication",
      "TS 36.413 §10.3", "mme")
async def malformed(t: Tester) -> None:
    enb = await t.enb()
    # an initiatingMessage of procedure 12 (Initial UE Message) whose IE container is cut short
    enb.send(bytes.fromhex("000c4080a10000050008000200"))
    answer = await enb.receive_common()
    check(answer.name == "ErrorIndication", t.clause, "ErrorIndication", answer.name)


@case("S1AP-ERRIND-02", "An Uplink NAS Transport for an unknown MME UE S1AP ID gets Error "
      "Indication with cause unknown-mme-ue-s1ap-id", "TS 36.413 §10.6", "mme")
async def unknown_ue_id(t: Tester) -> None:
    enb = await t.enb()
    enb.send(s1ap.uplink_nas_transport(mme_ue_id=0xFFFFFF, enb_ue_id=77, nas_pdu=b"\x07\x46",
                                       tai_plmn=t.plmn, tac=t.ids.tac, ecgi_plmn=t.plmn,
                                       cell_id=0x101))
    answer = await enb.receive_common()
    check(answer.name == "ErrorIndication", t.clause, "ErrorIndication", answer.name)
    cause = answer.fields.get("Cause")
    check(isinstance(cause, tuple) and "unknown" in str(cause[1]), t.clause,
          "Cause radioNetwork unknown-mme-ue-s1ap-id (or -pair)", cause)


@case("S1AP-REL-01", "UE Context Release Request from the eNB is answered with UE Context Release "
      "Command", "TS 36.413 §8.3.2.2", "mme")
async def release_request(t: Tester) -> None:
    ue, _ = await t.attached_ue()
    assert ue.mme_ue_id is not None
    ue.enb.send(s1ap.ue_context_release_request(ue.mme_ue_id, ue.enb_ue_id,
                                                ("radioNetwork", "user-inactivity")))
    dl = await ue.receive(what="UEContextReleaseCommand")
    while dl.s1ap.name != "UEContextReleaseCommand":
        dl = await ue.receive(what="UEContextReleaseCommand")
    ue.release_complete()


@case("S1AP-ICS-01", "Initial Context Setup Request carries the UE-AMBR, an E-RAB and a KeNB",
      "TS 36.413 §8.3.1.2", "mme")
async def ics_contents(t: Tester) -> None:
    ue = await t.ue()
    dl = await ue.attach(t.plmn)
    check(dl.s1ap.name == "InitialContextSetupRequest", t.clause, "InitialContextSetupRequest",
          dl.s1ap.name)
    f = dl.s1ap.fields
    for ie in ("uEaggregateMaximumBitrate", "E-RABToBeSetupListCtxtSUReq", "SecurityKey",
               "UESecurityCapabilities"):
        key = next((k for k in f if k.lower() == ie.lower()), None)
        check(key is not None, t.clause, f"IE {ie}", sorted(f))
