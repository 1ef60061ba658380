"""What a sans-I/O core asks its asyncio adapter to do.

A network function's logic is `handle(event, now) -> list[Action]`. The adapter carries actions
out: it sends bytes, arms timers (which come back as `TimerExpired` events) and logs events.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StartTimer:
    """Arm (or re-arm) the named timer for `key`, e.g. ("T3460", mme_ue_id)."""

    name: str
    key: Hashable
    seconds: float


@dataclass(frozen=True)
class StopTimer:
    name: str
    key: Hashable


@dataclass(frozen=True)
class TimerExpired:
    name: str
    key: Hashable


@dataclass(frozen=True)
class LogEvent:
    """A structured event for logs and the event bus (kind like "emm.attach.accepted")."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
