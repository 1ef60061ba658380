"""`corenet psap calls`: database from --config, a table by default, JSON with --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corenet.cli.psap_cmd import psap
from corenet.nf.psap.records import CallRecord, CallStore


def _db(path: Path) -> None:
    store = CallStore(str(path))
    rid = store.add(CallRecord("2026-12-05T06:00:00Z", "c1@x", "urn:service:sos.fire", "119",
                               "440100000000001", "imsi", False, "44020-0010101", 1,
                               "emergency-unauth"))
    store.set_callback(rid, "failed", 404)
    store.close()


def test_config_names_the_database_from_any_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "state" / "psap.db"
    db.parent.mkdir()
    _db(db)
    cfg = tmp_path / "corenet.yaml"
    cfg.write_text(f"psap:\n  database: {db}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = CliRunner().invoke(psap, ["calls", "--config", str(cfg), "--json"])
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.output)
    assert (row["dialled"], row["identity"], row["identity_type"]) == (
        "119", "440100000000001", "imsi")
    assert (row["callback_outcome"], row["callback_status"]) == ("failed", 404)


def test_default_output_is_a_table(tmp_path: Path) -> None:
    db = tmp_path / "psap.db"
    _db(db)
    out = CliRunner().invoke(psap, ["calls", "--db", str(db)])
    assert out.exit_code == 0, out.output
    head, first, _, total = out.output.splitlines()
    assert head.split()[:4] == ["id", "time", "dialled", "service"]
    assert first.split() == ["1", "2026-12-05T06:00:00Z", "119", "urn:service:sos.fire", "imsi",
                             "440100000000001", "no", "44020-0010101", "1", "emergency-unauth",
                             "answered", "failed", "404"]
    assert total == "1 call(s)"


def test_missing_database_names_where_it_looked(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "corenet.yaml"
    cfg.write_text("psap:\n  database: gone.db\n", encoding="utf-8")
    out = CliRunner().invoke(psap, ["calls", "--config", str(cfg)])
    assert out.exit_code == 2
    assert "no database gone.db (psap.database of" in out.output
    out = CliRunner().invoke(psap, ["calls", "--config", str(cfg), "--db", "x.db"])
    assert out.exit_code == 2 and "not both" in out.output
