"""`corenet fuzz`: every target runs; a crash or a hang is counted and its input written where
tests/fuzz/test_regressions.py replays it from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corenet.cli.fuzz_cmd import fuzz_cmd
from corenet.fuzz.registry import targets
from corenet.fuzz.runner import fuzz, replay
from corenet.fuzz.target import Target

DECODERS = {"s1ap", "nas", "diameter", "gtpv2c", "cbs", "sip", "sdp", "pidf-lo"}
HANDLERS = {"sctp-framing", "sip-framing", "mme", "mme-nas", "hss", "pcrf", "sgw-pgw", "pcscf", "ecscf",
            "scscf", "psap", "control", "bus"}


def test_every_decoder_and_server_entry_point_is_a_target() -> None:
    assert set(targets()) == DECODERS | HANDLERS


@pytest.mark.parametrize("name", sorted(DECODERS | HANDLERS))
def test_each_target_answers_its_seeds_and_runs_mutations(name: str, tmp_path: Path) -> None:
    target = targets()[name]
    seeds = target.seeds()
    assert seeds and all(isinstance(s, bytes) for s in seeds)
    report = fuzz(target, len(seeds) + 20, seed=1, timeout=0, regressions=tmp_path)
    assert report.cases == len(seeds) + 20
    # the seeds are valid messages: each is answered as documented
    for seed in seeds:
        assert replay(target, seed) is None


def _boom(data: bytes) -> str:
    if data[:1] == b"\xff":
        raise KeyError("a bug")
    if data[:1] == b"\xfe":
        while True:
            pass
    return "ok"


def test_crashes_and_hangs_are_counted_and_written(tmp_path: Path) -> None:
    target = Target("boom", "test", lambda: [b"\x00", b"\xff", b"\xfe\x00"], run=_boom)
    report = fuzz(target, 3, seed=0, timeout=0.5, regressions=tmp_path)
    assert (report.cases, report.crashes, report.hangs) == (3, 1, 1)
    kinds = sorted((f.kind, f.signature.split("@")[0]) for f in report.findings)
    assert kinds == [("crash", "KeyError"), ("hang", "hang")]
    written = sorted(p.name.split("-")[0] for p in (tmp_path / "boom").iterdir())
    assert written == ["crash", "hang"]
    crash = next(p for p in (tmp_path / "boom").iterdir() if p.name.startswith("crash"))
    assert crash.read_bytes() == b"\xff"
    found = replay(target, crash.read_bytes())
    assert found is not None and found.signature.startswith("KeyError@")


def test_a_documented_error_is_no_crash(tmp_path: Path) -> None:
    from corenet.core.errors import DecodeError

    def decode(data: bytes) -> str:
        raise DecodeError("x", 1, "bad")

    report = fuzz(Target("doc", "test", lambda: [b"a"], run=decode), 50, regressions=tmp_path)
    assert (report.crashes, report.hangs) == (0, 0)
    assert not (tmp_path / "doc").exists()


def test_command_runs_a_target_and_reports_json(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    result = CliRunner().invoke(fuzz_cmd, [
        "--target", "control", "--cases", "200", "--seed", "7", "--timeout", "5",
        "--corpus", str(corpus), "--regressions", str(tmp_path / "reg")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[0])
    assert report["target"] == "control" and report["cases"] == 200
    assert report["crashes"] == 0 and report["hangs"] == 0
    # outcomes not seen before were kept as corpus for the next run
    assert any((corpus / "control").iterdir())


def test_command_lists_targets_and_refuses_an_unknown_one() -> None:
    listed = CliRunner().invoke(fuzz_cmd, ["--list"])
    assert {json.loads(line)["target"] for line in listed.stdout.splitlines()} == DECODERS | HANDLERS
    bad = CliRunner().invoke(fuzz_cmd, ["--target", "nope"])
    assert bad.exit_code == 2 and "unknown target 'nope'" in bad.output
