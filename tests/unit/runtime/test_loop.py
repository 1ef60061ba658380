"""The event loop a process runs on (`corenet.runtime.loop`)."""

from __future__ import annotations

import asyncio
import gc

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

    try:
        assert tracked_before
        assert loop.run(serve()) is False
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
