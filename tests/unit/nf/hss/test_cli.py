"""`hss subscriber add|list|show|delete` on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corenet.cli.hss_cmd import hss
from corenet.nf.hss.store import HssStore
from tests.unit.nf.hss.helpers import OPC, K

ROOT = Path(__file__).resolve().parents[4]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(hss, list(args))
    return result.exit_code, result.output


def test_add_show_list_delete(tmp_path: Path) -> None:
    db = str(tmp_path / "hss.db")
    code, out = run("subscriber", "add", "--db", db, "--imsi", "440100000000123", "--k", K,
                    "--opc", OPC, "--msisdn", "819012345678", "--sqn", "64", "--count", "2",
                    "--apn", "internet", "--apn", "ims:5:1", "--allowed-plmn", "440-20")
    assert code == 0, out
    assert json.loads(out) == {"db": db, "provisioned": 2, "first": "440100000000123",
                               "last": "440100000000124"}
    code, out = run("subscriber", "show", "--db", db, "440100000000124")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["msisdn"] == "819012345679" and shown["sqn"] == 64
    assert shown["opc"] == OPC and shown["amf"] == "8000"
    assert [a["apn"] for a in shown["apns"]] == ["internet", "ims"]
    assert shown["apns"][1]["qci"] == 5 and shown["apns"][1]["arp_priority"] == 1
    assert shown["allowed_visited_plmns"] == ["44020"]
    code, out = run("subscriber", "list", "--db", db)
    assert [r["imsi"] for r in json.loads(out)] == ["440100000000123", "440100000000124"]
    code, out = run("subscriber", "delete", "--db", db, "440100000000123")
    assert code == 0 and json.loads(out) == {"deleted": "440100000000123"}
    store = HssStore(db)
    assert [r.imsi for r in store.all()] == ["440100000000124"]
    store.close()


def test_add_from_file(tmp_path: Path) -> None:
    db = str(tmp_path / "hss.db")
    code, out = run("subscriber", "add", "--db", db, "--from-file",
                    str(ROOT / "configs" / "subscribers.yaml"))
    assert code == 0, out
    assert json.loads(out)["provisioned"] == 1000
    code, out = run("subscriber", "show", "--db", db, "440100000000999")
    assert json.loads(out)["msisdn"] == "819010000999"


def test_db_from_config(tmp_path: Path) -> None:
    db = tmp_path / "from-config.db"
    cfg = tmp_path / "corenet.yaml"
    cfg.write_text(f"hss:\n  database: {db}\n", encoding="utf-8")
    code, out = run("subscriber", "add", "--config", str(cfg), "--imsi", "440100000000001",
                    "--k", K, "--op", "cdc202d5123e20f62b6d676ac72cb318")
    assert code == 0, out
    assert db.exists()


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "hss.db")
    code, out = run("subscriber", "add", "--db", db, "--imsi", "44010", "--k", K, "--opc", OPC)
    assert code == 2 and "imsi" in out
    code, out = run("subscriber", "add", "--db", db, "--imsi", "440100000000001", "--k", "12")
    assert code == 2 and "--k" in out
    code, out = run("subscriber", "add", "--db", db, "--imsi", "440100000000001", "--k", K)
    assert code == 2 and "--op" in out
    HssStore(db).close()  # an empty database
    code, out = run("subscriber", "show", "--db", db, "440100000000001")
    assert code == 2 and "no subscriber" in out
    code, out = run("subscriber", "list", "--db", db, "--config", "x.yaml")
    assert code == 2


def test_a_mistyped_database_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    for args in (("list",), ("show", "440100000000001"), ("delete", "440100000000001")):
        code, out = run("subscriber", *args, "--db", str(typo))
        assert code == 2 and f"no HSS database at {typo}" in out, (args, out)
    assert not typo.exists()
