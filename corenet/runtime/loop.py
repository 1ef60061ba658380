"""The event loop a process runs on: uvloop when it is installed, asyncio's own otherwise.

The choice is reported (`loop_name`), never silent: a figure measured on one loop is not a
figure of the other.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
# net allocations per gen0 collection, gen0 collections per gen1, gen1 collections per gen2
GC_THRESHOLDS = (50_000, 20, 20)


def loop_name() -> str:
    """"uvloop" when it can be imported, else "asyncio"."""
    try:
        importlib.import_module("uvloop")
    except ImportError:
        return "asyncio"
    return "uvloop"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop of the kind `loop_name` names."""
    if loop_name() == "uvloop":
        return importlib.import_module("uvloop").new_event_loop()  # type: ignore[no-any-return]
    return asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on uvloop's loop when uvloop is installed.

    What is alive when the loop starts (modules, the codecs' tables, the configuration) lives
    as long as the process: it is moved out of the cyclic garbage collector's generations
    (`gc.freeze`), which otherwise walks those objects again at every older-generation
    collection while the process serves.

    The collector then runs less often than CPython's default (700 net allocations): a process
    holding thousands of UE contexts spent ~10 % of its CPU in collections, most of them walking
    contexts that are alive (5,000 attaches in one process: 3.7 s of 38 s of CPU with the
    default thresholds, 1.0 s with these). Cyclic garbage is still collected, later."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
