"""Every input in tests/fuzz/regressions/<target>/ (written by `corenet fuzz` when it found a
crash or a hang, or added by hand for a fixed bug) is replayed against a fresh instance of its
target: it must now get the documented answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.fuzz.registry import targets
from corenet.fuzz.runner import replay

REGRESSIONS = Path(__file__).parent / "regressions"
CASES = sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file())


def test_regressions_are_filed_under_known_targets() -> None:
    known = targets()
    assert CASES, "no regression inputs found"
    for path in CASES:
        assert path.parent.name in known, f"{path}: no fuzz target named {path.parent.name!r}"


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_regression_input_is_answered(path: Path) -> None:
    target = targets()[path.parent.name]
    finding = replay(target, path.read_bytes())
    assert finding is None, f"{path}: {finding.kind} {finding.signature}\n{finding.detail}"
