import faulthandler
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# A test that hangs ends the run with every thread's traceback instead of stalling CI.
TEST_LIMIT_S = 300


@pytest.fixture(autouse=True)
def _hang_guard():
    faulthandler.dump_traceback_later(TEST_LIMIT_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()



def pytest_asyncio_loop_factories(config, item):
    """The loop every process of the emulator runs on (`corenet.runtime.loop`): uvloop's when it
    is installed, so in-process tests exercise the same loop as `corenet run`."""
    from corenet.runtime import loop

    return {loop.loop_name(): loop.new_event_loop}
