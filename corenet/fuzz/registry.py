"""Every fuzz target by name: the decoders, then the server entry points."""

from __future__ import annotations

from corenet.fuzz.decoders import DECODERS
from corenet.fuzz.handlers import HANDLERS
from corenet.fuzz.target import Target


def targets() -> dict[str, Target]:
    return {t.name: t for t in [*DECODERS, *HANDLERS]}
