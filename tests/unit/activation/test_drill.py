"""Each shipped scenario through `corenet drill` (embedded broker, accelerated clock)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from corenet.cli.drill_cmd import drill

SCENARIOS = Path(__file__).resolve().parents[3] / "configs" / "scenarios"

EXPECTED = {
    "earthquake-7": (True, "earthquake-intensity-7", "full", 11, 20),
    "earthquake-6plus": (False, "earthquake-intensity-5minus-to-6plus", None, 3, 0),
    "typhoon-alert-meeting": (True, "alert-meeting-equipment-damage", "full", 11, 0),
    "core-dual-failure": (True, "dual-failure-three-conditions", "full", 11, 0),
    "emergency-only": (True, "earthquake-intensity-7", "emergency-only", 10, 10),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_scenario(name: str, tmp_path: Path) -> None:
    db = tmp_path / "activations.db"
    res = CliRunner().invoke(drill, [str(SCENARIOS / f"{name}.yaml"), "--json",
                                     "--db", str(db), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    activated, rule, mode, steps, served = EXPECTED[name]
    assert (out["scenario"], out["activated"], out["decision_rule"], out["mode"]) == (
        name, activated, rule, mode)
    assert [s["step"] for s in out["steps"]] == list(range(1, steps + 1))
    assert set(out["steps"][0]) == {"step", "name", "started", "ended", "max_minutes", "overrun"}
    assert out["ues_served"] == served
    assert out["steps"][0]["max_minutes"] == 60
    rows = sqlite3.connect(db).execute("SELECT scenario, activated FROM activations").fetchall()
    assert rows == [(name, int(activated))]
    md = (tmp_path / f"{name}.md").read_text(encoding="utf-8")
    assert "activated" in md and "支障検知・影響把握" in md
    if name == "earthquake-7":  # its warning, delivered to the served roamers
        assert "## Warning: earthquake-tsunami (rescuer softbank, message identifiers 4354)" \
            "\n\n20/20 UEs received it" in md
        assert out["report"]["warning"]["received"] == 20
    report = out["report"]
    if activated:
        assert report["rescuers"] and all(a["accepted"] for a in report["acks"])
        assert any("JPN-ROAM" in c for c in report["changes"])
    else:
        assert report["acks"] == [] and report["end_reason"]


def test_scenario_specifics() -> None:
    runner = CliRunner()
    out = json.loads(runner.invoke(drill, [str(SCENARIOS / "core-dual-failure.yaml"),
                                           "--json"]).output)
    assert [s["step"] for s in out["steps"] if s["overrun"]] == [10]
    out = json.loads(runner.invoke(drill, [str(SCENARIOS / "typhoon-alert-meeting.yaml"),
                                           "--json"]).output)
    six = out["report"]["steps"][5]
    assert six["step"] == 6 and six["started"] == six["ended"] and "advance" in six["note"]
    factors = [r["factor"] for r in out["report"]["release"]]
    assert factors == [0.2, 0.5, None]
    out = json.loads(runner.invoke(drill, [str(SCENARIOS / "emergency-only.yaml"),
                                           "--json"]).output)
    assert out["report"]["release"] == []


def test_bad_scenario_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n", encoding="utf-8")
    res = CliRunner().invoke(drill, [str(bad)])
    assert res.exit_code == 2 and "start" in res.output
