"""Counting the loop handles that `EarliestDeadline` timers arm (a test helper)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from corenet.core.timers import EarliestDeadline


@contextmanager
def armed_handles() -> Iterator[list[float]]:
    """The delays of the loop handles armed by `EarliestDeadline` timers while inside."""
    loop = asyncio.get_running_loop()
    armed: list[float] = []
    real_call_later = loop.call_later

    def call_later(delay: float, callback: Callable[..., object], *args: Any,
                   **kw: Any) -> asyncio.TimerHandle:
        if isinstance(getattr(callback, "__self__", None), EarliestDeadline):
            armed.append(delay)
        return real_call_later(delay, callback, *args, **kw)

    loop.call_later = call_later  # type: ignore[method-assign]
    try:
        yield armed
    finally:
        del loop.call_later
