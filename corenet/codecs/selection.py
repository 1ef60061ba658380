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
