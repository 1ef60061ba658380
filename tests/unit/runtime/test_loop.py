"""The event loop a process runs on (`corenet.runtime.loop`)."""

from __future__ import annotations

import asyncio
import gc
import platform
import sys

from corenet.runtime import loop


class _Table:
    """Something built at start-up and kept for the life of the process."""


def test_what_lives_before_the_loop_is_out_of_the_collectors_generations() -> None:
    table = _Table()
    tracked_before = any(o is table for o in gc.get_objects())

    async def serve() -> bool:
        await asyncio.sleep(0)
        # frozen objects are in no generation: the collector no longer walks them
        return any(o is table for o in gc.get_objects())

    thresholds = gc.get_threshold()
    try:
        assert tracked_before
        assert loop.run(serve()) is False
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_collector_runs_less_often_while_the_process_serves() -> None:
    async def serve() -> tuple[int, ...]:
        return gc.get_threshold()

    thresholds = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # CPython's defaults
        assert loop.run(serve()) == loop.GC_THRESHOLDS
        assert loop.GC_THRESHOLDS[0] > 700
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_loop_is_uvloops_when_installed() -> None:
    async def kind() -> str:
        return type(asyncio.get_running_loop()).__module__.split(".")[0]

    expected = "uvloop" if loop.loop_name() == "uvloop" else "asyncio"
    assert loop.run(kind()) == expected


async def test_tests_run_on_the_loop_the_processes_run_on() -> None:
    """uvloop is a dependency on CPython/Linux (scripts/setup.sh installs it), and
    tests/conftest.py hands pytest-asyncio `loop.new_event_loop`."""
    if sys.platform == "linux" and platform.python_implementation() == "CPython":
        assert loop.loop_name() == "uvloop"
    kind = type(asyncio.get_running_loop()).__module__.split(".")[0]
    assert kind == loop.loop_name()
