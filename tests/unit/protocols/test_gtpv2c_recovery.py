"""GTP-C restart counters (TS 23.007 §18, TS 29.274 §8.5)."""

from __future__ import annotations

from pathlib import Path

from corenet.protocols.gtpv2c_recovery import (
    RecoveryWatch,
    clock_counter,
    load_restart_counter,
)


def test_counter_kept_with_the_state_and_incremented_without(tmp_path: Path) -> None:
    file = tmp_path / "node.restart"
    assert load_restart_counter(file, state_kept=True) == 0  # first start
    assert file.read_text().strip() == "0"
    assert load_restart_counter(file, state_kept=True) == 0
    assert load_restart_counter(file, state_kept=False) == 1
    assert load_restart_counter(file, state_kept=False) == 2
    assert load_restart_counter(file, state_kept=True) == 2
    assert file.read_text().strip() == "2"


def test_counter_wraps_after_255(tmp_path: Path) -> None:
    file = tmp_path / "node.restart"
    file.write_text("255\n")
    assert load_restart_counter(file, state_kept=False) == 0


def test_unreadable_file_is_a_first_start(tmp_path: Path) -> None:
    file = tmp_path / "node.restart"
    file.write_text("garbage")
    assert load_restart_counter(file, state_kept=True) == 0
    assert file.read_text().strip() == "0"


def test_without_a_file_the_counter_comes_from_the_clock() -> None:
    assert load_restart_counter(None, state_kept=False, clock=lambda: 1000.0) == 1000 % 256
    assert clock_counter(lambda: 1001.9) == 1001 % 256


def test_watch_learns_then_reports_a_change() -> None:
    watch = RecoveryWatch({"10.0.0.1": 4})
    assert watch.seen("10.0.0.1", None) is None
    assert watch.seen("10.0.0.1", 4) is None
    assert watch.seen("10.0.0.2", 9) is None  # first counter of a peer: learnt
    assert watch.seen("10.0.0.1", 5) == 4
    assert watch.counters == {"10.0.0.1": 5, "10.0.0.2": 9}
    watch.forget("10.0.0.2")
    assert watch.seen("10.0.0.2", 1) is None
