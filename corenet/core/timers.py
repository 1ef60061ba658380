"""asyncio side of named timers: StartTimer/StopTimer actions kept in one heap per table, with
one loop timer armed for the earliest deadline."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable, Hashable

from corenet.core.actions import StartTimer, StopTimer, TimerExpired

log = logging.getLogger(__name__)

Ident = tuple[str, Hashable]


class EarliestDeadline:
    """One loop handle for an owner's next deadline. Re-armed with a deadline no earlier than
    the one armed, it keeps that handle: firing early costs the owner one look at what is due
    (nothing), less than cancelling and re-arming a handle on every message."""

    def __init__(self, fire: Callable[[], None]) -> None:
        self._fire = fire
        self._handle: asyncio.TimerHandle | None = None
        self.at = 0.0  # the armed deadline, on the owner's clock
        # the loop of the armed handle (None when none is armed): while a handle is pending
        # the owner runs in that loop, and reads its time without asking asyncio for the
        # running loop, which costs a getpid() system call per ask
        self.loop: asyncio.AbstractEventLoop | None = None

    def arm(self, at: float | None, now: float) -> None:
        """Fire at `at` (on the owner's clock, `now` its present), or never when None."""
        if at is None:
            self.cancel()
            return
        loop = self.loop
        if self._handle is not None and loop is not None:
            if self.at <= at:
                return
            self._handle.cancel()
        else:
            loop = asyncio.get_running_loop()
        self.at = at
        self.loop = loop
        self._handle = loop.call_later(max(0.0, at - now), self._run)

    def armed_by(self, at: float) -> bool:
        """A handle is armed to fire at `at` or earlier."""
        return self._handle is not None and self.at <= at

    def _run(self) -> None:
        self._handle = self.loop = None
        self._fire()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = self.loop = None


class TimerTable:
    """Keeps at most one pending timer per (name, key); expiry calls `on_expiry(TimerExpired)`.

    A node starts and stops timers on nearly every message (NAS guards, S1 release guards):
    each is a deadline in the table's heap rather than a loop handle of its own, and the loop
    holds one handle, for the earliest deadline. A stopped or restarted timer leaves its old
    heap entry behind, skipped when it comes up (and swept when they pile up)."""

    def __init__(self, on_expiry: Callable[[TimerExpired], None]) -> None:
        self._on_expiry = on_expiry
        self._due: dict[Ident, float] = {}  # (name, key) -> deadline, on the loop's clock
        self._heap: list[tuple[float, int, Ident]] = []
        self._order = itertools.count()  # equal deadlines fire in the order they were set
        self._timer = EarliestDeadline(self._fire)

    def apply(self, action: StartTimer | StopTimer) -> None:
        if isinstance(action, StartTimer):
            self.start(action.name, action.key, action.seconds)
        else:
            self.stop(action.name, action.key)

    def start(self, name: str, key: Hashable, seconds: float) -> None:
        """Arm (or re-arm) `name` for `key`. Every live deadline is at or after the loop
        handle's, so a deadline behind it (a guard started while an earlier one runs) costs
        one heap push and leaves the handle as it is."""
        timer = self._timer
        now = (timer.loop or asyncio.get_running_loop()).time()
        at = now + seconds
        ident = (name, key)
        self._due[ident] = at
        heapq.heappush(self._heap, (at, next(self._order), ident))
        if timer.loop is None or timer.at > at:  # no handle armed by `at`
            self._arm(now)

    def stop(self, name: str, key: Hashable) -> None:
        if self._due.pop((name, key), None) is not None and \
                len(self._heap) > 2 * len(self._due) + 64:
            self._sweep()

    def _sweep(self) -> None:
        """Only the live deadlines stay in the heap."""
        self._heap = [e for e in self._heap if self._due.get(e[2]) == e[0]]
        heapq.heapify(self._heap)

    def _arm(self, now: float) -> None:
        heap, due = self._heap, self._due
        while heap and due.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)  # stopped or restarted since
        self._timer.arm(heap[0][0] if heap else None, now)

    def _fire(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        heap, due = self._heap, self._due
        # the loop runs a handle within its clock resolution of the time asked: what was due
        # at that time is due now
        limit = max(now, self._timer.at)
        while heap and heap[0][0] <= limit:
            at, _, ident = heapq.heappop(heap)
            if due.get(ident) != at:
                continue
            del due[ident]
            try:
                self._on_expiry(TimerExpired(ident[0], ident[1]))
            except Exception:
                # one owner's fault on its timer must not keep the other timers from firing
                log.exception("timer %s %r failed", ident[0], ident[1])
        self._arm(loop.time())

    def pending(self) -> int:
        return len(self._due)

    def cancel_all(self) -> None:
        self._timer.cancel()
        self._due.clear()
        self._heap.clear()
