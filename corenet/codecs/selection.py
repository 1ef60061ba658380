"""Process-wide codec selection: the fast path or pycrate.

`fast` (the default) lets each protocol codec try its fast implementation
(`corenet.codecs.fast`) first. A fast encoder either returns exactly the bytes the pycrate path
produces or declines; a fast decoder either returns exactly the `Message` the pycrate path
returns or declines. Declining hands the call to pycrate, which stays the reference: anything
outside the fast set, and every rejection (so the DecodeError/EncodeError raised is pycrate's
own), goes through it. `pycrate` skips the fast path entirely.

Set from the configuration's top-level `codec:` field, `corenet decode --codec` and the
benchmarks' `--codec`.

Each fast module reads its reference module's tables, so the reference module cannot import it:
a reference module reads its `FastPath` here, and the fast module installs its `encode`/`decode`
into it when imported (the `corenet.codecs` package imports `corenet.codecs.fast`). Until then
the fast path declines and pycrate answers.
"""

from __future__ import annotations

import enum
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


def _decline(*args: Any, **kwargs: Any) -> None:
    return None


class FastPath:
    """One protocol's fast `encode` and `decode`: return the pycrate path's result or None.

    `template(name, fixed)`, where a protocol has one: an encoder of messages `name` whose
    fields `fixed` are the same in each, coded once (it takes the other fields and returns
    `encode`'s bytes or None), or None."""

    __slots__ = ("decode", "encode", "template")

    def __init__(self) -> None:
        self.encode: Callable[..., Any] = _decline
        self.decode: Callable[..., Any] = _decline
        self.template: Callable[..., Any] = _decline

    def install(self, encode: Callable[..., Any] = _decline, decode: Callable[..., Any] = _decline,
                template: Callable[..., Any] = _decline) -> None:
        self.encode = encode
        self.decode = decode
        self.template = template

    # each codec call passes here: the choice is made inline, without a further call
    def encode_or(self, pycrate: Callable[..., T], *args: Any, **kw: Any) -> T:
        """The fast `encode` at the fast level unless it declines (None), else `pycrate`."""
        if STATE.fast:
            got = self.encode(*args, **kw)
            if got is not None:
                return got  # type: ignore[no-any-return]
        return pycrate(*args, **kw)

    def decode_or(self, pycrate: Callable[..., T], *args: Any, **kw: Any) -> T:
        """The fast `decode` at the fast level unless it declines (None), else `pycrate`."""
        if STATE.fast:
            got = self.decode(*args, **kw)
            if got is not None:
                return got  # type: ignore[no-any-return]
        return pycrate(*args, **kw)


_FAST_PATHS: dict[str, FastPath] = {}
# the NAS security protected header (TS 24.301 §9.1): encode = build, decode = parse
SECURITY_PROTOCOL = "nas-security-header"


def fast_path(protocol: str) -> FastPath:
    """The fast path of a protocol's codec (one object per protocol, filled in by its fast module)."""
    return _FAST_PATHS.setdefault(protocol, FastPath())
