"""Named timers on the asyncio loop: one pending timer per (name, key), restart moves it, stop
cancels it, expiries come in deadline order, and the loop holds one handle for the table."""

from __future__ import annotations

import asyncio

import pytest

from corenet.core import timers
from corenet.core.actions import StartTimer, StopTimer, TimerExpired
from corenet.core.timers import TimerTable

from .handles import armed_handles


async def test_start_restart_stop_and_order_with_one_loop_handle() -> None:
    fired: list[tuple[str, object]] = []
    table = TimerTable(lambda e: fired.append((e.name, e.key)))
    with armed_handles() as armed:
        table.apply(StartTimer("T3450", 1, 0.05))
        for ue in range(2, 40):
            table.apply(StartTimer("T3450", ue, 0.05 + ue / 1000))
        assert len(armed) == 1  # the later deadlines share the first one's handle
        table.apply(StartTimer("T3460", 7, 0.01))  # earlier: the handle moves forward
        table.apply(StopTimer("T3450", 3))
        table.apply(StartTimer("T3450", 2, 0.2))  # restarted: fires once, later
        table.apply(StopTimer("NasGuard", 99))  # never started: nothing happens
        assert table.pending() == 40 - 1
        await asyncio.sleep(0.15)
        assert fired[0] == ("T3460", 7)
        assert fired[1:] == [("T3450", ue) for ue in range(1, 40) if ue not in (2, 3)]
        await asyncio.sleep(0.1)
        assert fired[-1] == ("T3450", 2) and fired.count(("T3450", 2)) == 1
        assert table.pending() == 0
    table.cancel_all()


async def test_a_failing_owner_does_not_stop_the_other_expiries() -> None:
    fired: list[object] = []

    def on_expiry(e: TimerExpired) -> None:
        fired.append(e.key)
        if e.key == 1:
            raise RuntimeError("owner fault")

    table = TimerTable(on_expiry)
    for key in (1, 2, 3):
        table.apply(StartTimer("T", key, 0.0))
    await asyncio.sleep(0.05)
    assert fired == [1, 2, 3]


async def test_stopped_timers_are_swept_and_cancel_all_clears() -> None:
    fired: list[object] = []
    table = TimerTable(lambda e: fired.append(e.key))
    for round_ in range(50):
        for key in range(10):
            table.apply(StartTimer("Guard", key, 30.0 + round_))
            table.apply(StopTimer("Guard", key))
    assert table.pending() == 0
    assert len(table._heap) <= 2 * 0 + 64 + 1  # swept, not 500 entries
    table.apply(StartTimer("Guard", 1, 0.01))
    table.cancel_all()
    await asyncio.sleep(0.05)
    assert fired == [] and table.pending() == 0


async def test_start_and_stop_by_name_behind_an_armed_deadline() -> None:
    """`start`/`stop` without action objects: a deadline behind the armed handle leaves the
    handle alone, and still fires at its own time once the earlier timer is stopped."""
    fired: list[tuple[str, object]] = []
    table = TimerTable(lambda e: fired.append((e.name, e.key)))
    with armed_handles() as armed:
        table.start("T3460", 1, 0.01)
        table.start("NasGuard", 1, 0.05)  # behind the armed deadline: no new handle
        table.start("T3450", 2, 0.03)
        assert len(armed) == 1
        table.stop("T3460", 1)  # the armed handle fires early, finds nothing, re-arms
        await asyncio.sleep(0.02)
        assert fired == []
        await asyncio.sleep(0.06)
        assert fired == [("T3450", 2), ("NasGuard", 1)] and table.pending() == 0
    table.cancel_all()


async def test_timers_started_behind_an_armed_handle_read_its_loop_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While a handle is armed, `start` reads the time of that handle's loop instead of
    asking asyncio for the running loop (a getpid() system call per ask); the deadlines
    are the same, and they fire in order."""
    fired: list[object] = []
    table = TimerTable(lambda e: fired.append(e.key))
    table.start("T3460", 0, 0.01)  # arms the handle
    asked: list[int] = []
    running = asyncio.get_running_loop

    def counted() -> asyncio.AbstractEventLoop:
        asked.append(1)
        return running()

    monkeypatch.setattr(timers.asyncio, "get_running_loop", counted)
    before = running().time()
    for key in range(1, 50):
        table.start("T3450", key, 0.02 + key / 10_000)
    assert asked == []
    assert all(before + 0.02 <= at <= running().time() + 0.03
               for (_, key), at in table._due.items() if key)
    await asyncio.sleep(0.06)
    assert fired == list(range(50)) and table.pending() == 0
    table.cancel_all()
