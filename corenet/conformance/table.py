"""The whole case table (every module of corenet.conformance.cases registered) and selection."""

from __future__ import annotations

import fnmatch

from corenet.conformance import cases  # noqa: F401  (registers the table)
from corenet.conformance.case import REGISTRY, Case


def all_cases() -> list[Case]:
    return list(REGISTRY.values())


def select(pattern: str | None) -> list[Case]:
    """Cases whose id or clause matches one of the comma-separated glob patterns (a clause
    also matches by a part of it: "TS 33.401" selects every case citing that specification)."""
    table = all_cases()
    if not pattern:
        return table
    pats = [p.strip() for p in pattern.split(",") if p.strip()]
    return [c for c in table
            if any(fnmatch.fnmatchcase(c.id, p) or fnmatch.fnmatchcase(c.spec, p)
                   or p in c.spec for p in pats)]
