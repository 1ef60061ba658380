"""asyncio side of named timers: StartTimer/StopTimer actions become loop.call_later handles."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable

from corenet.core.actions import StartTimer, StopTimer, TimerExpired


class TimerTable:
    """Keeps at most one pending timer per (name, key); expiry calls `on_expiry(TimerExpired)`."""

    def __init__(self, on_expiry: Callable[[TimerExpired], None]) -> None:
        self._on_expiry = on_expiry
        self._handles: dict[tuple[str, Hashable], asyncio.TimerHandle] = {}

    def apply(self, action: StartTimer | StopTimer) -> None:
        ident = (action.name, action.key)
        old = self._handles.pop(ident, None)
        if old is not None:
            old.cancel()
        if isinstance(action, StartTimer):
            loop = asyncio.get_running_loop()
            self._handles[ident] = loop.call_later(action.seconds, self._fire, ident)

    def _fire(self, ident: tuple[str, Hashable]) -> None:
        self._handles.pop(ident, None)
        self._on_expiry(TimerExpired(ident[0], ident[1]))

    def pending(self) -> int:
        return len(self._handles)

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
