"""TTCN-3 verdicts (ETSI ES 201 873-1 §24.1) and how a case reaches them.

- pass: the SUT behaved as the clause requires;
- fail: the SUT did something the clause forbids (`Fail` names clause, expected, observed);
- inconc: the case could not reach the point where the clause applies (`Inconclusive`);
- error: the tester itself broke (an exception the case did not foresee).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Verdict(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONC = "inconc"
    ERROR = "error"


class Fail(Exception):
    """The SUT's behaviour contradicts `clause`."""

    def __init__(self, clause: str, expected: str, observed: str) -> None:
        super().__init__(f"{clause}: expected {expected}; observed {observed}")
        self.clause, self.expected, self.observed = clause, expected, observed


class NoAnswer(Exception):
    """The SUT stayed silent where the clause requires an answer (a fail of the case's clause)."""

    def __init__(self, expected: str, timeout: float) -> None:
        super().__init__(f"expected {expected}; observed nothing within {timeout:g} s")
        self.expected, self.timeout = expected, timeout


class Inconclusive(Exception):
    """The case could not bring the SUT to the state the clause is about."""


def check(ok: bool, clause: str, expected: str, observed: Any) -> None:
    if not ok:
        raise Fail(clause, expected, str(observed))


@dataclass(frozen=True)
class CaseResult:
    id: str
    title: str
    spec: str
    verdict: Verdict
    reason: str
    pcap: str | None
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "spec": self.spec,
                "verdict": self.verdict.value, "reason": self.reason, "pcap": self.pcap,
                "duration_s": round(self.duration_s, 3)}
