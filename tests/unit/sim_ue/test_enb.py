"""eNB core (TS 36.413): S1 Setup, Initial UE Message contents, NAS relay, context handling."""

from __future__ import annotations

import asyncio
from typing import Any

from corenet.codecs import nas, s1ap
from corenet.codecs.base import Message
from corenet.codecs.ue_radio_capability import JAPAN_BANDS, bands_of, ue_radio_capability
from corenet.config.models import Cell as CellCfg
from corenet.config.models import EnbConfig
from corenet.core.actions import StartTimer, TimerExpired
from corenet.core.plmn import Plmn
from sim_ue.enb import (
    STREAM_UE,
    EnbCore,
    EnbService,
    EnbState,
    ERab,
    S1apReceived,
    S1Connected,
    S1SetupDone,
    SendS1ap,
    ToUe,
    UeDone,
    cells_of,
)
from sim_ue.ue import Attach, EcmState, EmmSubstate, ProcedureDone, ServiceRequest, Ue
from sim_ue.usim import Usim

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
IMSI = "440100000000001"
RESCUER = Plmn("440", "20")

CFG = EnbConfig(name="enb1", global_enb_id=0x101, tac=7, plmn="44020",
                broadcast_plmns=["44020", "44030"], cells=[CellCfg(cell_id=1), CellCfg(cell_id=2)],
                address="127.0.1.1")


def _sent(actions: list[Any]) -> list[Message]:
    return [s1ap.decode(a.data) for a in actions if isinstance(a, SendS1ap)]


def _core_with_ue() -> tuple[EnbCore, Ue]:
    core = EnbCore(CFG, first_teid=0x100)
    core.handle(S1Connected(), 0.0)
    core.handle(S1apReceived(s1ap.encode(s1ap.s1_setup_response("mme01", [RESCUER], 0x8001, 1))),
                0.0)
    ue = Ue(Usim(IMSI, K, OPC))
    core.add_ue(ue, 42)
    return core, ue


def test_cells_have_28_bit_identities() -> None:
    cells = cells_of(CFG)
    assert [c.eci for c in cells] == [0x10101, 0x10102]
    assert cells[0].plmns == (RESCUER, Plmn("440", "30"))


def test_s1_setup_request_contents_and_response() -> None:
    core = EnbCore(CFG)
    (req,) = _sent(core.handle(S1Connected(), 0.0))
    assert req.name == "S1SetupRequest"
    f = req.fields
    assert f["Global-ENB-ID"] == {"pLMNidentity": "44020", "eNB-ID": ("macroENB-ID", 0x101)}
    assert f["eNBname"] == "enb1"
    assert f["SupportedTAs"] == [{"tAC": 7, "broadcastPLMNs": ["44020", "44030"]}]
    assert core.state is EnbState.SETUP_SENT
    out = core.handle(S1apReceived(s1ap.encode(
        s1ap.s1_setup_response("mme01", [RESCUER], 0x8001, 1))), 0.0)
    assert S1SetupDone(True, None, "mme01") in out
    assert core.state is EnbState.READY


def test_s1_setup_failure_with_time_to_wait_retries() -> None:
    core = EnbCore(CFG)
    core.handle(S1Connected(), 0.0)
    out = core.handle(S1apReceived(s1ap.encode(
        s1ap.s1_setup_failure(("misc", "unspecified"), "v5s"))), 0.0)
    assert S1SetupDone(False, ("misc", "unspecified")) in out
    assert StartTimer("TimeToWait", "enb", 5.0) in out
    assert core.state is EnbState.FAILED
    (again,) = _sent(core.handle(TimerExpired("TimeToWait", "enb"), 5.0))
    assert again.name == "S1SetupRequest"


def test_initial_ue_message_carries_tai_and_ecgi() -> None:
    core, ue = _core_with_ue()
    cell = core.cells[1].camp(RESCUER)
    (msg,) = _sent(core.handle(ToUe(IMSI, Attach(cell)), 0.0))
    assert msg.name == "InitialUEMessage"
    f = msg.fields
    assert f["eNB-UE-S1AP-ID"] == 42
    assert f["TAI"] == {"pLMNidentity": "44020", "tAC": 7}
    assert f["EUTRAN-CGI"] == {"pLMNidentity": "44020", "cell-ID": 0x10102}
    assert f["RRC-Establishment-Cause"] == "mo-Signalling"
    assert nas.decode(f["NAS-PDU"], None, nas.UPLINK).name == "AttachRequest"
    assert ue.ecm is EcmState.CONNECTED


def test_downlink_nas_relayed_and_answered_uplink() -> None:
    core, ue = _core_with_ue()
    core.handle(ToUe(IMSI, Attach(core.cells[0].camp(RESCUER))), 0.0)
    dl = s1ap.downlink_nas_transport(7, 42, nas.identity_request(1))
    out = core.handle(S1apReceived(s1ap.encode(dl)), 0.0)
    (up,) = _sent(out)
    assert up.name == "UplinkNASTransport"
    assert (up.fields["MME-UE-S1AP-ID"], up.fields["eNB-UE-S1AP-ID"]) == (7, 42)
    assert up.fields["EUTRAN-CGI"]["cell-ID"] == 0x10101
    ident = nas.decode(up.fields["NAS-PDU"], None, nas.UPLINK)
    assert ident.fields["mobile_identity"] == {"type": "imsi", "value": IMSI}
    assert all(a.stream == STREAM_UE for a in out if isinstance(a, SendS1ap))


def test_receive_s1ap_is_handle_of_s1ap_received() -> None:
    """The eNB's direct entry for a received S1AP PDU (its transport's path) and the UE's for
    a NAS PDU act as handle() with the event: the same actions, the same UE state."""
    dl = s1ap.encode(s1ap.downlink_nas_transport(7, 42, nas.identity_request(1)))
    results = []
    for direct in (False, True):
        core, ue = _core_with_ue()
        core.handle(ToUe(IMSI, Attach(core.cells[0].camp(RESCUER))), 0.0)
        out = core.receive_s1ap(dl, 0.0) if direct else core.handle(S1apReceived(dl), 0.0)
        results.append(([(m.name, m.fields) for m in _sent(out)], ue.state, ue.ecm))
        assert core.ues[IMSI].mme_ue_id == 7
    assert results[0] == results[1]
    (up,) = results[1][0]
    assert up[0] == "UplinkNASTransport"
    assert nas.decode(up[1]["NAS-PDU"], None, nas.UPLINK).name == "IdentityResponse"


def test_initial_context_setup_with_radio_capability_needs_no_indication() -> None:
    core, _ = _core_with_ue()
    core.handle(ToUe(IMSI, Attach(core.cells[0].camp(RESCUER))), 0.0)
    erab = s1ap.ERabToBeSetup(5, 9, 8, "127.0.0.4", 0xABCD)
    req = s1ap.initial_context_setup_request(
        7, 42, 300_000, 300_000, [erab], 0xC000, 0xC000, b"\x11" * 32,
        s1ap.handover_restriction_list("44020"), ue_radio_capability((1, 3)))
    out = core.handle(S1apReceived(s1ap.encode(req)), 0.0)
    assert [m.name for m in _sent(out)] == ["InitialContextSetupResponse"]


def test_initial_context_setup_answered_with_enb_f_teid_and_ambr_recorded() -> None:
    core, ue = _core_with_ue()
    core.handle(ToUe(IMSI, Attach(core.cells[0].camp(RESCUER))), 0.0)
    erab = s1ap.ERabToBeSetup(5, 9, 8, "127.0.0.4", 0xABCD, nas_pdu=nas.attach_reject(15))
    req = s1ap.initial_context_setup_request(7, 42, 300_000, 300_000, [erab], 0xC000, 0xC000,
                                             b"\x11" * 32)
    out = core.handle(S1apReceived(s1ap.encode(req)), 0.0)
    resp, info = _sent(out)
    assert resp.name == "InitialContextSetupResponse"
    # no UE Radio Capability from the MME: the eNB reports the UE's (TS 36.413 §8.9.2)
    assert info.name == "UECapabilityInfoIndication"
    assert (info.fields["MME-UE-S1AP-ID"], info.fields["eNB-UE-S1AP-ID"]) == (7, 42)
    assert bands_of(info.fields["UERadioCapability"]) == list(JAPAN_BANDS)
    assert resp.fields["E-RABSetupListCtxtSURes"] == [
        {"e-RAB-ID": 5, "transportLayerAddress": "127.0.1.1", "gTP-TEID": 0x100}]
    assert core.ues[IMSI].ue_ambr == {"uplink_bps": 300_000, "downlink_bps": 300_000}
    # the NAS-PDU inside the E-RAB went to the UE
    done = [a for a in out if isinstance(a, UeDone)]
    assert done and done[0].done.cause == 15


def test_ue_context_release_command_is_completed() -> None:
    core, ue = _core_with_ue()
    core.handle(ToUe(IMSI, Attach(core.cells[0].camp(RESCUER))), 0.0)
    core.handle(S1apReceived(s1ap.encode(
        s1ap.downlink_nas_transport(7, 42, nas.identity_request(1)))), 0.0)
    cmd = s1ap.ue_context_release_command(7, 42, ("nas", "normal-release"))
    (done,) = _sent(core.handle(S1apReceived(s1ap.encode(cmd)), 0.0))
    assert done.name == "UEContextReleaseComplete"
    assert (done.fields["MME-UE-S1AP-ID"], done.fields["eNB-UE-S1AP-ID"]) == (7, 42)
    assert ue.ecm is EcmState.IDLE
    # TS 24.301 §5.5.1.2.6 a): released before the Attach Accept: T3411, then a new attach on
    # a new connection
    assert ue.substate is EmmSubstate.ATTEMPTING_TO_ATTACH
    (again,) = _sent(core.handle(TimerExpired("T3411", IMSI), 10.0))
    assert again.name == "InitialUEMessage"
    assert nas.decode(again.fields["NAS-PDU"], None, nas.UPLINK).name == "AttachRequest"


def test_unknown_enb_ue_id_answers_error_indication() -> None:
    core, _ = _core_with_ue()
    dl = s1ap.downlink_nas_transport(7, 999, nas.identity_request(1))
    (ei,) = _sent(core.handle(S1apReceived(s1ap.encode(dl)), 0.0))
    assert ei.name == "ErrorIndication"
    assert ei.fields["Cause"] == ("radioNetwork", "unknown-enb-ue-s1ap-id")


def test_garbage_answers_error_indication() -> None:
    core, _ = _core_with_ue()
    (ei,) = _sent(core.handle(S1apReceived(b"\x00\x0c\xff\xff"), 0.0))
    assert ei.name == "ErrorIndication"
    assert ei.fields["Cause"] == ("protocol", "transfer-syntax-error")


def test_reset_is_acknowledged() -> None:
    core, ue = _core_with_ue()
    core.handle(ToUe(IMSI, Attach(core.cells[0].camp(RESCUER))), 0.0)
    (ack,) = _sent(core.handle(S1apReceived(s1ap.encode(
        s1ap.reset(("misc", "om-intervention")))), 0.0))
    assert ack.name == "ResetAcknowledge"
    assert ue.ecm is EcmState.IDLE


def test_an_e_rab_keeps_its_id_and_s_gw_f_teid_and_ue_ambr_is_shared() -> None:
    """Of an E-RAB the eNB keeps what S1-U needs (TS 36.413 §9.1.4.1: E-RAB ID, the S-GW's
    transport address and GTP-TEID), not its NAS-PDU or QoS; equal UE-AMBRs are one value."""
    core, _ = _core_with_ue()
    other = Ue(Usim("440100000000002", K, OPC))
    core.add_ue(other, 43)
    for imsi, enb_id, mme_id in ((IMSI, 42, 7), ("440100000000002", 43, 8)):
        core.handle(ToUe(imsi, Attach(core.cells[0].camp(RESCUER))), 0.0)
        erab = s1ap.ERabToBeSetup(5, 9, 8, "127.0.0.4", 0xABCD + mme_id,
                                  nas_pdu=nas.attach_reject(15))
        req = s1ap.initial_context_setup_request(mme_id, enb_id, 300_000, 200_000, [erab],
                                                 0xC000, 0xC000, b"\x11" * 32)
        core.handle(S1apReceived(s1ap.encode(req)), 0.0)
    first, second = core.ues[IMSI], core.ues["440100000000002"]
    assert first.e_rabs == (ERab(5, "127.0.0.4", 0xABCD + 7),)
    assert second.e_rabs[0].gtp_teid == 0xABCD + 8
    assert first.ue_ambr == {"uplink_bps": 200_000, "downlink_bps": 300_000}  # DL, UL given
    assert first.ue_ambr is second.ue_ambr
    assert not hasattr(first, "__dict__")


def test_a_procedure_without_outcome_ends_at_its_time_limit() -> None:
    """EnbService.run: a UE procedure that does not end within its time limit is reported
    failed, and its waiter is gone; one that ends is reported as it ended."""
    async def main() -> tuple[ProcedureDone, ProcedureDone, int]:
        service = EnbService(CFG, reconnect_s=None)
        service.add_ue(Ue(Usim(IMSI, K, OPC)), 42)
        late = await service.run(IMSI, ServiceRequest(), "never", 0.01)
        loop = asyncio.get_running_loop()
        done = ProcedureDone("attach", True, None)
        loop.call_soon(service._carry_out, UeDone(IMSI, done))
        ended = await service.run(IMSI, ServiceRequest(), "attach", 30.0)
        return late, ended, len(service._waiters)

    late, ended, waiting = asyncio.run(main())
    assert (late.procedure, late.ok, late.reason) == ("never", False, "no answer within 0.01 s")
    assert ended == ProcedureDone("attach", True, None) and waiting == 0


def test_ues_of_one_cell_share_its_values_and_another_cell_gets_its_own() -> None:
    """The UEs camped on one cell read the SIB2 it broadcasts (TS 36.331 §5.2.2.4): a cell
    that already carries it and its PLMN index is given as it is; after a SIB2 change it is
    given anew. Each UE's Uplink NAS Transport carries its own cell's E-UTRAN CGI (TS 36.413
    §9.1.7.3), however the UEs alternate between cells."""
    core, ue = _core_with_ue()
    other = Ue(Usim("440100000000002", K, OPC))
    core.add_ue(other, 43)
    first, second = (core.system_information(c.camp(RESCUER)) for c in core.cells)
    assert core.system_information(first) is first
    core.set_barring(RESCUER, 0.5)
    changed = core.system_information(first)
    assert changed is not first and changed.sib2 == core.sib2 and changed.cell_id == 0x10101
    core.set_barring(RESCUER, None)  # no barring: both UEs get through
    core.handle(ToUe(IMSI, Attach(first)), 0.0)
    core.handle(ToUe("440100000000002", Attach(second)), 0.0)
    cells = []
    for _ in range(2):
        for mme_id, enb_id in ((7, 42), (8, 43)):
            dl = s1ap.downlink_nas_transport(mme_id, enb_id, nas.identity_request(1))
            (up,) = _sent(core.handle(S1apReceived(s1ap.encode(dl)), 0.0))
            cells.append(up.fields["EUTRAN-CGI"]["cell-ID"])
    assert cells == [0x10101, 0x10102] * 2


def test_a_ues_back_off_timers_run_on_the_accelerated_clock() -> None:
    """`timer_scale`: T3346, T3411 and T3402 (TS 24.301 §5.5.1.2.5-6) run that many wall
    seconds per second; a supervision timer (T3410) keeps its value."""
    async def main() -> dict[tuple[str, object], float]:
        service = EnbService(CFG, reconnect_s=None, timer_scale=0.01)
        now = asyncio.get_running_loop().time()
        service._carry_out(StartTimer("T3346", IMSI, 100.0))
        service._carry_out(StartTimer("T3410", IMSI, 15.0))
        due = {ident: round(at - now, 1) for ident, at in service._timers._due.items()}
        service._timers.cancel_all()
        return due

    assert asyncio.run(main()) == {("T3346", IMSI): 1.0, ("T3410", IMSI): 15.0}
