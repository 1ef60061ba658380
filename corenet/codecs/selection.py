"""Process-wide codec selection: the fast path or pycrate.

`fast` (the default) lets each protocol codec try its fast implementation
(`corenet.codecs.fast`) first. A fast encoder either returns exactly the bytes the pycrate path
produces or declines; a fast decoder either returns exactly the `Message` the pycrate path
returns or declines. Declining hands the call to pycrate, which stays the reference: anything
outside the fast set, and every rejection (so the DecodeError/EncodeError raised is pycrate's
own), goes through it. `pycrate` skips the fast path entirely.

Set from the configuration's top-level `codec:` field, `corenet decode --codec` and the
benchmarks' `--codec`.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class CodecLevel(enum.Enum):
    FAST = "fast"
    PYCRATE = "pycrate"


DEFAULT = CodecLevel.FAST


class _State:
    __slots__ = ("fast",)

    def __init__(self) -> None:
        self.fast = DEFAULT is CodecLevel.FAST


# read on every encode/decode: one attribute lookup
STATE = _State()


def set_codec(level: CodecLevel | str) -> None:
    """Select the codec implementation for the whole process."""
    STATE.fast = CodecLevel(level) is CodecLevel.FAST


def codec_level() -> CodecLevel:
    return CodecLevel.FAST if STATE.fast else CodecLevel.PYCRATE


def fast_first(fast_module: str, name: str, pycrate: Callable[..., T], *args: Any, **kw: Any) -> T:
    """`name` of the fast module (imported when first needed: it reads the reference module's
    tables) when the level is fast and it does not decline (None), else `pycrate`."""
    if STATE.fast:
        got = getattr(importlib.import_module(fast_module), name)(*args, **kw)
        if got is not None:
            return got  # type: ignore[no-any-return]
    return pycrate(*args, **kw)
