"""The case table: every case is a `Case` registered with `@case(...)` on its driving coroutine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corenet.conformance.tester.context import Tester

ALL_MODES = ("full", "emergency-auth", "emergency-unauth")
SUTS = ("mme", "hss", "sgw-pgw", "pcscf", "psap", "diameter", "pcrf")

Drive = Callable[["Tester"], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    """One conformance case. `spec` names the clause ("TS 24.301 §5.5.1.2.4"); `mode` is the
    roaming mode of the rescuer's policy the SUT runs in for it, `modes` those it applies to."""

    id: str
    title: str
    spec: str
    sut: str
    modes: tuple[str, ...]
    drive: Drive

    @property
    def specification(self) -> str:
        """The document ("TS 24.301", "RFC 6733", "JAPAN Roaming report")."""
        return self.spec.split(" §")[0].split(":")[0].strip()

    @property
    def mode(self) -> str:
        return self.modes[0]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "spec": self.spec, "sut": self.sut,
                "modes": list(self.modes)}


REGISTRY: dict[str, Case] = {}


def case(id: str, title: str, spec: str, sut: str,
         modes: tuple[str, ...] = ALL_MODES) -> Callable[[Drive], Drive]:
    if sut not in SUTS:
        raise ValueError(f"unknown SUT kind {sut!r}")

    def register(fn: Drive) -> Drive:
        if id in REGISTRY:
            raise ValueError(f"duplicate case id {id}")
        REGISTRY[id] = Case(id, title, spec, sut, modes, fn)
        return fn

    return register
