"""GTP-C restart counters (TS 23.007 §18, TS 29.274 §7.1.1, §7.1.2 and §8.5 Recovery).

A GTP-C entity sends its own restart counter in Echo Request/Response and in the first message
to a peer; a peer whose counter changes has restarted and lost its sessions.

- `load_restart_counter` gives a node its counter at start: the one kept on disk when the node
  kept its state, else that one plus one (modulo 256), written back before anything is sent.
- `RecoveryWatch` remembers the last counter of each peer and says when it changed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

RESTART_COUNTER_MODULO = 256  # TS 29.274 §8.5: one octet


def clock_counter(clock: Callable[[], float] = time.time) -> int:
    """A counter for a node with no non-volatile memory: it changes from one start to the next
    unless the two starts are a multiple of 256 s apart."""
    return int(clock()) % RESTART_COUNTER_MODULO


def load_restart_counter(path: str | os.PathLike[str] | None, *, state_kept: bool,
                         clock: Callable[[], float] = time.time) -> int:
    """The restart counter of this start (TS 23.007 §18).

    `path` None: no non-volatile memory, the counter is derived from the clock. Otherwise the
    file holds the counter of the previous start; it is kept when `state_kept` (the node
    restored every session: its peers' state still matches), else incremented and written
    back (fsync'ed) before the node answers anyone. Without a file (a first start) the
    counter starts at 0."""
    if path is None:
        return clock_counter(clock)
    file = Path(path)
    try:
        previous: int | None = int(file.read_text().strip()) % RESTART_COUNTER_MODULO
    except (OSError, ValueError):
        previous = None
    if state_kept and previous is not None:
        return previous
    counter = 0 if previous is None else (previous + 1) % RESTART_COUNTER_MODULO
    _write_atomically(file, f"{counter}\n")
    return counter


def _write_atomically(file: Path, text: str) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, file)


class RecoveryWatch:
    """The last restart counter seen from each peer (by IP address)."""

    def __init__(self, known: Mapping[str, int] | None = None) -> None:
        self.counters: dict[str, int] = dict(known or {})

    def seen(self, peer_ip: str, counter: int | None) -> int | None:
        """Record `counter` from `peer_ip`; the previous counter when it changed (the peer
        restarted, TS 23.007 §18), else None. A first counter is learnt, not a restart."""
        if counter is None:
            return None
        previous = self.counters.get(peer_ip)
        self.counters[peer_ip] = counter
        if previous is None or previous == counter:
            return None
        return previous

    def forget(self, peer_ip: str) -> None:
        self.counters.pop(peer_ip, None)
