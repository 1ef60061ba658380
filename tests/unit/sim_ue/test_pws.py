"""ETWS / CMAS on the emulated radio: SIB10/11/12 encoded with RRCLTE (TS 36.331 §6.3.1),
segment reassembly and repetition handling at the UE, the eNB's Write-Replace Warning / Kill
(TS 36.413 §8.13), and the seed report's device decision, one test per statement."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from corenet.codecs import cbs, s1ap
from corenet.config.models import Cell as CellCfg
from corenet.config.models import EnbConfig
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.plmn import Plmn
from sim_ue import pws
from sim_ue.devices import DeviceProfile, EtwsBehaviour
from sim_ue.enb import EnbCore, S1apReceived, S1Connected, SendS1ap
from sim_ue.ue import Ue
from sim_ue.usim import Usim

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
RESCUER = Plmn("440", "20")
LONG = "大津波警報が発表されました。海岸や川沿いにいる人は、ただちに高台や避難ビルなど安全な場所へ避難してください。" * 2
SERIAL = cbs.serial_number(0, 7, 0)


def device(os: str = "android", version: str = "14", carrier: str = "kddi",
           released: dt.date = dt.date(2024, 1, 1), sim: str = "4g", **etws: Any) -> DeviceProfile:
    return DeviceProfile(name="d", os=os, os_version=version, vendor="v", model="m",  # type: ignore[arg-type]
                         carrier=carrier, release_date=released, emergency_only_roaming=True,  # type: ignore[arg-type]
                         sim=sim, etws=EtwsBehaviour(**etws))  # type: ignore[arg-type]


def test_etws_sibs_reassemble_into_the_warning_and_repeats_are_not_presented_again() -> None:
    content = cbs.warning_message_contents(LONG)
    pdus = pws.broadcast_pdus(cbs.ETWS_EARTHQUAKE_AND_TSUNAMI, SERIAL, cbs.warning_type(2),
                              content, cbs.DCS_UCS2)
    assert len(pdus) == 1 + (len(content) + pws.SEGMENT_OCTETS - 1) // pws.SEGMENT_OCTETS
    names = [pws.decode_bcch(p)[0][0] for p in pdus]
    assert names[0] == "sib10" and set(names[1:]) == {"sib11"}
    rx = pws.WarningReceiver(device(os="ios", version="18.5"))
    # segments out of order still reassemble (TS 36.331 §5.3.10.10)
    (got,) = rx.receive([pdus[0], *reversed(pdus[1:])])
    assert (got.message_identifier, got.serial_number, got.warning_type) == (0x1102, SERIAL, 2)
    assert got.text == LONG and got.dcs == cbs.DCS_UCS2
    assert got.displayed and got.sounded
    assert rx.receive(pdus) == []
    assert rx.warnings[(0x1102, SERIAL)].repetitions == 2


def test_cmas_goes_in_sib12() -> None:
    pdus = pws.broadcast_pdus(0x1113, SERIAL, None, cbs.warning_message_contents("Evacuate"),
                              cbs.DCS_GSM7)
    assert [pws.decode_bcch(p)[0][0] for p in pdus] == ["sib12-v920"]
    (got,) = pws.WarningReceiver(device(carrier="softbank")).receive(pdus)
    assert got.text == "Evacuate" and got.warning_type is None


def test_sib1_and_paging_encode() -> None:
    assert pws.sib1("44020", 7, 0x10101, etws=True, cmas=False)
    assert pws.paging(etws=True, cmas=True)


# -- the seed report, "Earthquake / tsunami warnings (ETWS) while roaming" -------------------

@pytest.mark.parametrize("mid", [cbs.ETWS_EARTHQUAKE, cbs.ETWS_TSUNAMI, 0x1104, 0xA003, 0x1113])
def test_ios_18_5_presents_every_warning(mid: int) -> None:
    got = pws.presentation(device(os="ios", version="18.5", carrier="open-market"), mid)
    assert got.displayed and got.sounded


def test_ios_before_18_5_does_not_present() -> None:
    got = pws.presentation(device(os="ios", version="17.4", earthquake_warning=False),
                           cbs.ETWS_EARTHQUAKE)
    assert not got.displayed and "18.5" in got.reason


@pytest.mark.parametrize("carrier", ["kddi", "softbank", "rakuten"])
def test_docomo_own_identifier_not_presented_by_other_operators_android(carrier: str) -> None:
    dev = device(carrier=carrier, sim="5g-sa", disaster_info_standard_id=True)
    assert not pws.presentation(dev, pws.DOCOMO_EVACUATION_ID).displayed
    # the fix: the standard identifier, which they do present (a KDDI one needs 2023-H1 + SA)
    assert pws.presentation(dev, pws.STANDARD_EVACUATION_ID).displayed


def test_docomo_android_presents_its_own_identifier() -> None:
    dev = device(carrier="docomo", disaster_info_docomo_id=True)
    assert pws.presentation(dev, pws.DOCOMO_EVACUATION_ID).sounded


@pytest.mark.parametrize(("released", "common", "sounds"), [
    (dt.date(2019, 6, 30), True, False), (dt.date(2019, 7, 1), True, True),
    (dt.date(2021, 1, 1), False, False)])
def test_kddi_tsunami_needs_2019_h2_and_common_spec(released: dt.date, common: bool,
                                                   sounds: bool) -> None:
    dev = device(carrier="kddi", released=released, common_spec=common)
    assert pws.presentation(dev, cbs.ETWS_TSUNAMI).sounded is sounds


@pytest.mark.parametrize(("released", "sim", "sounds"), [
    (dt.date(2022, 12, 31), "5g-sa", False), (dt.date(2023, 1, 1), "4g", False),
    (dt.date(2023, 1, 1), "5g-sa", True)])
def test_kddi_evacuation_needs_2023_h1_and_5g_sa(released: dt.date, sim: str,
                                                 sounds: bool) -> None:
    dev = device(carrier="kddi", released=released, sim=sim)
    assert pws.presentation(dev, pws.STANDARD_EVACUATION_ID).sounded is sounds


# -- the eNB -----------------------------------------------------------------------------------

CFG = EnbConfig(name="enb1", global_enb_id=0x101, tac=7, plmn="44020", broadcast_plmns=["44020"],
                cells=[CellCfg(cell_id=1), CellCfg(cell_id=2)], address="127.0.1.1")


def _enb() -> tuple[EnbCore, Ue]:
    core = EnbCore(CFG)
    core.handle(S1Connected(), 0.0)
    core.handle(S1apReceived(s1ap.encode(s1ap.s1_setup_response("mme", [RESCUER], 1, 1))), 0.0)
    ue = Ue(Usim("440100000000001", K, OPC), device=device(os="ios", version="26"))
    core.add_ue(ue, 1)
    return core, ue


def _request(period: int, count: int, cells: list[int] | None = None) -> bytes:
    return s1ap.encode(s1ap.write_replace_warning_request(
        cbs.ETWS_TSUNAMI, SERIAL, period, count, cbs.warning_type(1),
        cbs.warning_message_contents("津波警報"), cbs.DCS_UCS2,
        warning_area_cells=[(RESCUER, (0x101 << 8) | c) for c in cells] if cells else None))


def test_enb_broadcasts_number_of_broadcasts_times_every_repetition_period() -> None:
    core, ue = _enb()
    out = core.handle(S1apReceived(_request(10, 3, [1])), 0.0)
    (rsp,) = [s1ap.decode(a.data) for a in out if isinstance(a, SendS1ap)]
    assert rsp.name == "WriteReplaceWarningResponse"
    assert rsp.fields["BroadcastCompletedAreaList"] == (
        "cellID-Broadcast", [{"eCGI": {"pLMNidentity": "44020", "cell-ID": 0x10101}}])
    assert StartTimer(pws.REPEAT_TIMER, (cbs.ETWS_TSUNAMI, SERIAL), 10.0) in out
    (shown,) = [a for a in out if isinstance(a, LogEvent) and a.kind == "ue.warning"]
    assert shown.data["text"] == "津波警報" and shown.data["sounded"]
    out = core.handle(TimerExpired(pws.REPEAT_TIMER, (cbs.ETWS_TSUNAMI, SERIAL)), 10.0)
    assert any(isinstance(a, StartTimer) for a in out)
    out = core.handle(TimerExpired(pws.REPEAT_TIMER, (cbs.ETWS_TSUNAMI, SERIAL)), 20.0)
    assert any(isinstance(a, StopTimer) for a in out)
    done = [a for a in out if isinstance(a, LogEvent) and a.kind == "pws.broadcast.done"]
    assert done[0].data["count"] == 3
    assert ue.warnings.warnings[(cbs.ETWS_TSUNAMI, SERIAL)].repetitions == 3


def test_enb_kill_stops_the_broadcast() -> None:
    core, _ = _enb()
    core.handle(S1apReceived(_request(10, 0, None)), 0.0)
    kill = s1ap.Message("s1ap", "KillRequest", s1ap.PROCEDURE_CODES["KillRequest"],
                        {"MessageIdentifier": cbs.ETWS_TSUNAMI, "SerialNumber": SERIAL})
    out = core.handle(S1apReceived(s1ap.encode(kill)), 1.0)
    (rsp,) = [s1ap.decode(a.data) for a in out if isinstance(a, SendS1ap)]
    assert rsp.name == "KillResponse"
    kind, cells = rsp.fields["BroadcastCancelledAreaList"]
    assert kind == "cellID-Cancelled" and [c["eCGI"]["cell-ID"] for c in cells] == [0x10101, 0x10102]
    assert StopTimer(pws.REPEAT_TIMER, (cbs.ETWS_TSUNAMI, SERIAL)) in out


def test_enb_picks_its_cells_of_an_emergency_area_or_a_tai_list() -> None:
    enb_cells = EnbCore(CFG).cells
    assert pws.cells_in_area(("emergencyAreaIDList", [b"\x00\x00\x07"]), enb_cells) == enb_cells
    assert pws.cells_in_area(("emergencyAreaIDList", [b"\x00\x00\x08"]), enb_cells) == []
    tais = ("trackingAreaListforWarning", [{"pLMNidentity": "44020", "tAC": 7}])
    assert pws.cells_in_area(tais, enb_cells) == enb_cells
    one = ("cellIDList", [{"pLMNidentity": "44020", "cell-ID": (0x101 << 8) | 2}])
    assert [c.eci for c in pws.cells_in_area(one, enb_cells)] == [0x10102]
