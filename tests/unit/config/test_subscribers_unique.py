"""A subscribers file gives each IMSI and MSISDN once (TS 23.003 §2.1, §3.3): `corenet run --check`
and the HSS's loading refuse a repeat, naming both entries, their lines and the number."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.cli.main import main
from corenet.config.subscribers import load_subscribers
from corenet.core.errors import ConfigError

KEYS = '    k: "465b5ce8b199b49faa5f0a2ee238a6bc"\n    opc: "cd63cb71954a9f4e48a5994e37a02baf"\n'


def _file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "subscribers.yaml"
    path.write_text("subscribers:\n" + "".join(entries))
    return path


def _entry(imsi: str, msisdn: str | None = None, count: int = 1) -> str:
    text = f'  - imsi: "{imsi}"\n    count: {count}\n' + KEYS
    return text + (f'    msisdn: "{msisdn}"\n' if msisdn else "")


def _check(capsys: pytest.CaptureFixture[str], tmp_path: Path, subs: Path) -> tuple[int, str, str]:
    cfg = tmp_path / "corenet.yaml"
    # free ports: --check also tries the addresses, and runs on this host may hold the defaults
    cfg.write_text(f"hss:\n  subscribers_file: {subs}\n"
                   "  listen: {host: 127.0.0.3, port: 0}\n  control: {host: 127.0.0.3, port: 0}\n")
    with pytest.raises(SystemExit) as exc:
        main(["run", "hss", "--config", str(cfg), "--check"])
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_check_refuses_a_repeated_imsi_naming_both_entries(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    subs = _file(tmp_path, _entry("440100000000001", "819010000001"),
                 _entry("440100000000002", "819010000002"),
                 _entry("440100000000001", "819010000003"))
    rc, out, err = _check(capsys, tmp_path, subs)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1
    assert f"{subs}: duplicate IMSI 440100000000001" in err
    # entry 1 starts on line 2, each entry is 5 lines long
    assert "entry 1 (line 2, imsi 440100000000001" in err
    assert "entry 3 (line 12, imsi 440100000000001" in err


def test_check_refuses_overlapping_count_ranges(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    subs = _file(tmp_path, _entry("440100000000001", count=1000),
                 _entry("440100000000990", count=20))
    rc, _, err = _check(capsys, tmp_path, subs)
    assert rc == 2
    assert "duplicate IMSI 440100000000990" in err
    assert "entry 1 (line 2, imsi 440100000000001, count 1000)" in err
    assert "entry 2 (line 6, imsi 440100000000990, count 20)" in err


def test_a_range_inside_another_is_found_behind_a_shorter_one(tmp_path: Path) -> None:
    # sorted by first IMSI, entry 2 ends before entry 3 starts, but entry 1 covers both
    subs = _file(tmp_path, _entry("440100000000001", count=100), _entry("440100000000002"),
                 _entry("440100000000050"))
    with pytest.raises(ConfigError, match=r"duplicate IMSI 440100000000002: entry 1 .* entry 2"):
        load_subscribers(subs)


def test_duplicate_msisdn_refused(tmp_path: Path) -> None:
    subs = _file(tmp_path, _entry("440100000000001", "819010000001", count=10),
                 _entry("440100000000100", "819010000005"))
    with pytest.raises(ConfigError) as exc:
        load_subscribers(subs)
    assert "duplicate MSISDN 819010000005" in str(exc.value)
    assert "entry 2 (line 7, imsi 440100000000100, msisdn 819010000005)" in str(exc.value)


def test_a_run_past_the_last_imsi_of_its_width_is_refused(tmp_path: Path) -> None:
    subs = _file(tmp_path, _entry("999999999999998", count=3))
    with pytest.raises(ConfigError, match="entry 1 .*: IMSI run of count 3 passes 999999999999999"):
        load_subscribers(subs)


def test_adjacent_ranges_and_distinct_widths_are_accepted(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    subs = _file(tmp_path, _entry("440100000000001", "819010000001", count=10),
                 _entry("440100000000011", "819010000011", count=10),
                 _entry("44010000000001", "81901000001"))
    assert len(load_subscribers(subs)) == 21
    rc, out, _ = _check(capsys, tmp_path, subs)
    assert rc == 0 and '"ok": true' in out


def test_the_shipped_subscribers_file_is_accepted() -> None:
    assert len(load_subscribers("configs/subscribers.yaml")) >= 1
