"""Identifiers a Diameter node must never repeat, even across its restarts (RFC 6733 §3, §8.8).

- Session-Id `<DiameterIdentity>;<high 32 bits>;<low 32 bits>` (§8.8): the two halves of one
  64-bit value that only increases; at start-up the high half is the time and the low half a
  random value, so a restarted node does not reuse the Session-Ids of its previous life.
- End-to-End Identifier (§3): the high 12 bits from the clock at start-up, the low 20 bits
  from a random start, incremented per request.

Both take the start-up time and the random generator from the caller: a seeded run (`--seed`)
hands a fixed time and a seeded generator, and its captures are the same at every run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from corenet.codecs.diameter import session_id

# 2026-01-01T00:00:00Z: the start-up time of a seeded run
FROZEN_EPOCH = 1_767_225_600.0

_LOW32 = 0xFFFFFFFF
_LOW20 = 0xFFFFF


class DiameterIds:
    """Session-Ids and End-to-End Identifiers of one node from one start-up."""

    def __init__(self, origin_host: str, started: float, rng: random.Random) -> None:
        self.origin_host = origin_host
        # §8.8: high 32 bits from the time at start-up, low 32 bits a random start
        self._session = ((int(started) & _LOW32) << 32) | rng.getrandbits(32)
        # §3: high 12 bits from the clock (low 12 bits of its seconds), low 20 random
        self._e2e_high = (int(started) & 0xFFF) << 20
        self._e2e_low = rng.getrandbits(20)

    def session_id(self) -> str:
        """A new Session-Id (§8.8); the 64-bit value carries from the low to the high half."""
        self._session = (self._session + 1) & ((1 << 64) - 1)
        return session_id(self.origin_host, self._session >> 32, self._session & _LOW32)

    def end_to_end(self) -> int:
        """A new End-to-End Identifier (§3)."""
        self._e2e_low = (self._e2e_low + 1) & _LOW20
        return self._e2e_high | self._e2e_low


def start_ids(origin_host: str, seed_label: str | None,
              clock: Callable[[], float] = time.time) -> DiameterIds:
    """The identifiers of this start-up: from the clock and the system's random source, or for
    a seeded run (`seed_label`: the seed with what it seeds) from FROZEN_EPOCH and the label."""
    if seed_label is None:
        return DiameterIds(origin_host, clock(), random.SystemRandom())
    return DiameterIds(origin_host, FROZEN_EPOCH, random.Random(seed_label))
