"""The storm report for a person: cumulative attached curve, barred accesses on their own axis,
the HSS capacity line, the roamers that never attached with their last cause, and a report
folder named in the output."""

from __future__ import annotations

import csv
import functools
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from corenet.cli import storm_cmd
from corenet.orchestration import storm_roamers
from corenet.orchestration.storm import StormConfig, StormResult, _Second
from corenet.orchestration.storm_report import storm_figure, write_report
from tests.e2e import network


def _result() -> StormResult:
    res = StormResult(StormConfig(ues=4, hss_capacity_air_per_s=30.0), "steps:0x2,1.0")
    res.seconds = [_Second(barred=900, factor=0.0), _Second(barred=700, factor=0.0),
                   _Second(attempts=3, successes=2, failures=1, air=3, factor=1.0)]
    res.attached_at = [2.2, 2.6]
    res.latencies = [0.05, 0.07, 0.4]
    res.never_attached = [{"imsi": "440100000000003", "cause": 22, "reason": "congestion"},
                          {"imsi": "440100000000004", "cause": None, "reason": "access barred"}]
    return res


def test_report_files_and_never_attached_list(tmp_path: Path) -> None:
    paths = write_report(_result(), str(tmp_path / "r"))
    assert paths["folder"] == str(tmp_path / "r")
    data = json.loads(Path(paths["json"]).read_text())
    assert data["never_attached"][0] == {"imsi": "440100000000003", "cause": 22,
                                         "reason": "congestion"}
    with open(paths["never_attached_csv"], newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["imsi", "last_cause", "reason"], ["440100000000003", "22", "congestion"],
                    ["440100000000004", "", "access barred"]]
    assert Path(paths["png"]).stat().st_size > 10_000
    assert Path(paths["latency_png"]).stat().st_size > 5_000


def test_figure_panels() -> None:
    res = _result()
    fig = storm_figure(res, res.to_json())
    by_label = {ax.get_ylabel(): ax for ax in fig.axes}
    # 1. cumulative attached: a step curve ending at the number attached
    attached = by_label["UEs attached\n(cumulative)"]
    curve = attached.get_lines()[0]
    assert list(curve.get_ydata()) == [0, 1, 2] and list(curve.get_xdata()) == [0.0, 2.2, 2.6]
    # 3. barred accesses on their own axis (bars), not squashing the attempts' axis
    barred = by_label["barred accesses\nper second"]
    assert [p.get_height() for p in barred.patches] == [900, 700, 0]
    attempts = by_label["attaches\nper second"]
    assert max(max(line.get_ydata()) for line in attempts.get_lines()) == 3
    # 4. the HSS capacity line
    hss = by_label["AIR/s"]
    assert any(list(line.get_ydata()) == [30.0, 30.0] for line in hss.get_lines())
    # the never-attached roamers with their last cause
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("2 roamer(s) never attached" in t and "440100000000003 (#22)" in t
               and "access barred: 1" in t for t in texts)


def test_storm_cli_default_folder_is_named_in_the_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = next(network._blocks)
    monkeypatch.setattr(storm_cmd, "StormConfig", functools.partial(StormConfig, net=block))
    monkeypatch.setattr(storm_roamers, "T3411_S", 0.0)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(storm_cmd.storm, [
        "--ues", "3", "--own-ues", "0", "--release", "all-at-once", "--max-duration", "20",
        "--json"])
    assert result.exit_code == 0, result.output
    kpis = json.loads(result.output)
    folder = Path(kpis["out"])
    assert re.fullmatch(r"storm-\d{8}T\d{6}Z", str(folder))
    assert (tmp_path / folder / "storm.json").is_file()
    assert kpis["report"] == str(folder / "storm.json")
    assert kpis["plots"] == [str(folder / "storm.png"), str(folder / "storm-latency.png")]
    assert kpis["attached"] == 3 and kpis["never_attached"] == 0
