"""`corenet hss subscriber add` on an IMSI already provisioned: only the given options change."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corenet.cli.hss_cmd import hss

K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"
OP = "cdc202d5123e20f62b6d676ac72cb318"
IMSI = "440100000000123"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(hss, list(args))
    return result.exit_code, result.output


def _show(db: str, imsi: str = IMSI) -> dict[str, object]:
    code, out = run("subscriber", "show", "--db", db, imsi)
    assert code == 0, out
    shown: dict[str, object] = json.loads(out)
    return shown


def _provision(db: str) -> None:
    code, out = run("subscriber", "add", "--db", db, "--imsi", IMSI, "--k", K, "--opc", OPC,
                    "--msisdn", "819012345678", "--sqn", "640", "--apn", "internet",
                    "--apn", "ims:5:1", "--allowed-plmn", "44020", "--ambr-ul", "1000")
    assert code == 0, out


def test_re_adding_an_imsi_changes_only_the_given_options(tmp_path: Path) -> None:
    db = str(tmp_path / "hss.db")
    _provision(db)
    code, out = run("subscriber", "add", "--db", db, "--imsi", IMSI, "--ambr-dl", "2000")
    assert code == 0, out
    assert json.loads(out) == {"db": db, "provisioned": 1, "updated": 1, "first": IMSI,
                               "last": IMSI}
    shown = _show(db)
    assert shown["ue_ambr_dl_bps"] == 2000
    # everything not given stays: MSISDN, keys, SQN, APNs, roaming list, UL AMBR
    assert shown["msisdn"] == "819012345678" and shown["sqn"] == 640
    assert (shown["k"], shown["opc"], shown["op"]) == (K, OPC, None)
    assert [a["apn"] for a in shown["apns"]] == ["internet", "ims"]  # type: ignore[attr-defined]
    assert shown["allowed_visited_plmns"] == ["44020"] and shown["ue_ambr_ul_bps"] == 1000


def test_re_adding_with_new_keys_keeps_the_msisdn(tmp_path: Path) -> None:
    db = str(tmp_path / "hss.db")
    _provision(db)
    code, out = run("subscriber", "add", "--db", db, "--imsi", IMSI, "--k", K, "--op", OP,
                    "--sqn", "0")
    assert code == 0, out
    shown = _show(db)
    assert shown["msisdn"] == "819012345678"
    # TS 35.206 §4.1: OPc from K and OP; test set 1 gives the OPc stored before
    assert (shown["op"], shown["opc"]) == (OP, OPC)
    assert shown["sqn"] == 640  # TS 33.102 Annex C.1.1: SQN_HE never goes back


def test_replace_rewrites_the_whole_record(tmp_path: Path) -> None:
    db = str(tmp_path / "hss.db")
    _provision(db)
    code, out = run("subscriber", "add", "--db", db, "--imsi", IMSI, "--replace")
    assert code == 2 and "--k and one of --op or --opc are required" in out
    code, out = run("subscriber", "add", "--db", db, "--imsi", IMSI, "--replace", "--k", K,
                    "--opc", OPC)
    assert code == 0, out
    shown = _show(db)
    assert shown["msisdn"] is None and shown["allowed_visited_plmns"] == []
    assert [a["apn"] for a in shown["apns"]] == ["internet"]  # type: ignore[attr-defined]
    assert shown["sqn"] == 640


def test_a_new_imsi_still_needs_its_keys(tmp_path: Path) -> None:
    db = str(tmp_path / "hss.db")
    code, out = run("subscriber", "add", "--db", db, "--imsi", IMSI, "--msisdn", "8190")
    assert code == 2
    assert f"IMSI {IMSI} is not provisioned: --k and one of --op or --opc are required" in out
