"""The warning matrix reproduces the seed report's ETWS statements row by row, from the device
profiles of configs/devices and real messages (SBc-AP, S1AP, SIB10/11/12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.orchestration import etws_matrix as matrix
from sim_ue.devices import load_devices
from tests import tshark
from tests.cli_helpers import run, run_json

DEVICES = Path(__file__).resolve().parents[4] / "configs" / "devices"


@pytest.fixture(scope="module")
def rows() -> list[matrix.Row]:
    return matrix.run_matrix(load_devices([DEVICES]))


@pytest.fixture(scope="module")
def before_fix() -> list[matrix.Row]:
    return matrix.run_matrix(load_devices([DEVICES]), docomo_standard_id=False)


def _pick(rows: list[matrix.Row], **kw: object) -> list[matrix.Row]:
    out = [r for r in rows if all(getattr(r, k) == v for k, v in kw.items())]
    assert out, kw
    return out


def test_every_row_was_received_over_the_radio(rows: list[matrix.Row]) -> None:
    assert len(rows) == 4 * len(load_devices([DEVICES])) * len(matrix.WARNINGS)
    assert all(r.received for r in rows)


def test_ios_18_5_and_later_display_and_sound_every_combination(rows: list[matrix.Row]) -> None:
    ios = [r for r in rows if r.os == "ios" and tuple(map(int, r.os_version.split("."))) >= (18, 5)]
    assert {r.device for r in ios} >= {"iphone-ios18-5", "iphone-2026"}
    assert {r.rescuer for r in ios} == set(matrix.RESCUERS)
    assert all(r.displayed and r.sounded for r in ios)
    assert not any(r.displayed for r in _pick(rows, device="iphone-ios17"))


@pytest.mark.parametrize("device", ["android-softbank-2024", "android-rakuten-2024",
                                    "android-kddi-2024-sa"])
def test_docomo_evacuation_info_reaches_other_operators_android_only_with_the_standard_id(
        rows: list[matrix.Row], before_fix: list[matrix.Row], device: str) -> None:
    (now,) = _pick(rows, rescuer="docomo", device=device, warning="evacuation")
    (before,) = _pick(before_fix, rescuer="docomo", device=device, warning="evacuation")
    assert len(now.message_identifiers) == 2 and now.displayed and now.sounded
    assert before.message_identifiers == [0xA003] and not before.displayed
    assert "docomo's own" in before.reason
    # on the other rescuers, which always use the standard identifier, nothing changes
    for r in _pick(before_fix, device=device, warning="evacuation"):
        assert r.displayed is (r.rescuer != "docomo")


def test_docomo_android_presents_evacuation_info_before_and_after_the_fix(
        rows: list[matrix.Row], before_fix: list[matrix.Row]) -> None:
    for table in (rows, before_fix):
        (r,) = _pick(table, rescuer="docomo", device="android-docomo-2026", warning="evacuation")
        assert r.sounded


def test_kddi_tsunami_sounds_from_2019_h2_with_the_common_specification(
        rows: list[matrix.Row]) -> None:
    for r in _pick(rows, sold_by="kddi", os="android", warning="tsunami"):
        assert r.sounded is (r.released >= "2019-07" and r.common_spec), r


def test_kddi_evacuation_info_sounds_from_2023_h1_on_a_5g_sa_sim(rows: list[matrix.Row]) -> None:
    for r in _pick(rows, sold_by="kddi", os="android", warning="evacuation"):
        assert r.sounded is (r.released >= "2023-01" and r.sim == "5g-sa"), r


@pytest.mark.tshark
def test_cli_matrix_capture_is_tshark_clean(tmp_path: Path) -> None:
    pcap = tmp_path / "matrix.pcapng"
    code, out = run_json("corenet", "etws", "matrix", "--json", "--pcap", str(pcap),
                         "--devices", str(DEVICES / "iphone-2026.yaml"))
    assert code == 0 and out["pcap"] == str(pcap)
    assert {r["warning"] for r in out["rows"]} == {k.value for k in matrix.WARNINGS}
    assert tshark.count(pcap, "_ws.malformed || _ws.expert.severity >= warning") == 0
    assert tshark.count(pcap, "sbcap && sbc-ap.procedureCode == 0") > 0
    assert tshark.count(pcap, "s1ap.procedureCode == 36") > 0
    # the radio side: what the phones read, in Wireshark's exported-PDU framing
    rrc = Path(out["rrc_pcap"])
    assert tshark.count(rrc, "_ws.malformed") == 0
    mids = {int(v) for v in tshark.values(rrc, "lte-rrc.messageIdentifier")}
    assert {0x1100, 0x1101, 0x1102, 0x1103, 0x1104} <= mids
    assert tshark.count(rrc, "lte-rrc.etws_Indication") > 0
    assert tshark.count(rrc, "lte-rrc.systemInformationBlockType1_element") > 0
    png = tmp_path / "matrix.png"
    proc = run("corenet", "etws", "matrix", "--devices", str(DEVICES / "iphone-ios17.yaml"),
               "--png", str(png))
    assert proc.returncode == 0 and "| iphone-ios17 |" in proc.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
