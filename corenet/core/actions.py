"""What a sans-I/O core asks its asyncio adapter to do.

A network function's logic is `handle(event, now) -> list[Action]`. The adapter carries actions
out: it sends bytes, arms timers (which come back as `TimerExpired` events) and logs events.

Every node makes several of these per message, so each class writes its fields in its own
`__init__`, straight into the instance's dict, once: still frozen dataclasses (equality, repr,
`dataclasses.replace`, no assignment afterwards), made in half the time of the generated
`__init__`, which goes through `object.__setattr__` for every field.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, init=False)
class StartTimer:
    """Arm (or re-arm) the named timer for `key`, e.g. ("T3460", mme_ue_id)."""

    name: str
    key: Hashable
    seconds: float

    def __init__(self, name: str, key: Hashable, seconds: float) -> None:
        d = self.__dict__
        d["name"], d["key"], d["seconds"] = name, key, seconds


@dataclass(frozen=True, init=False)
class StopTimer:
    name: str
    key: Hashable

    def __init__(self, name: str, key: Hashable) -> None:
        d = self.__dict__
        d["name"], d["key"] = name, key


@dataclass(frozen=True, init=False)
class TimerExpired:
    name: str
    key: Hashable

    def __init__(self, name: str, key: Hashable) -> None:
        d = self.__dict__
        d["name"], d["key"] = name, key


@dataclass(frozen=True, init=False)
class LogEvent:
    """A structured event for logs and the event bus (kind like "emm.attach.accepted")."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def __init__(self, kind: str, data: dict[str, Any] | None = None) -> None:
        d = self.__dict__
        d["kind"], d["data"] = kind, {} if data is None else data
