"""What a fuzz target is: seeds, an entry point, and the exceptions that are its documented answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from corenet.core.errors import DecodeError

# One case: bytes in, a short outcome label out (new labels join the mutation pool).
Run = Callable[[bytes], str]


@dataclass(frozen=True)
class Target:
    """`run` is called on each case. For a decoder the documented error is `DecodeError`; a server
    handler answers bad input on the wire, so for it `expected` is empty and any exception is a
    crash. `make` builds a stateful `run` (a core that keeps its contexts between cases); it is
    rebuilt every `reset_every` cases and for each replayed regression."""

    name: str
    description: str
    seeds: Callable[[], list[bytes]]
    run: Run | None = None
    expected: tuple[type[BaseException], ...] = (DecodeError,)
    make: Callable[[], Run] | None = None
    reset_every: int = 1000

    def runner(self) -> Run:
        if self.make is not None:
            return self.make()
        assert self.run is not None, f"target {self.name} has neither run nor make"
        return self.run


def outcome(value: object) -> str:
    """A short label of what a case did: the message decoded, or the cause of the error."""
    if isinstance(value, DecodeError):
        return f"err:{value.cause}"
    name = getattr(value, "name", None) or getattr(value, "method", None) or type(value).__name__
    return f"ok:{name}"
