"""The S/P-GW session store: SQLite, one row per PDN connection (TS 23.007 §18).

A session is written (COMMIT) before the response that announces it leaves, and deleted before
the Delete Session Response does, so that a restarted S/P-GW holds exactly the PDN connections
its MMEs believe in and never hands out an address still in use. WAL with synchronous=FULL, as
the HSS store: each commit survives a killed process and an operating-system crash.

Group commit (`group_commit=True`, as the service runs it): `put`/`delete` only queue the
change, and the changes of one burst of datagrams are handed to a writer thread of the store
once the event loop has handled the burst; the writer applies everything handed to it so far in
one transaction, one COMMIT, one fsync, while the event loop goes on serving other requests
(whose changes join the next commit). The GTPv2-C endpoint hands its
datagrams to `after_durable`, which releases them once every change queued before them is on
disk: no response leaves before the session it announces is durable, and an S/P-GW under load
pays one fsync per batch instead of one per request. A ':memory:' store keeps nothing and
applies each change at once, as does a store without group commit.

A session's record is written whole when it is created or its context changes, and its access
part alone (`put_access`: the session state and the eNB's S1-U F-TEIDs, the only things a Modify
Bearer at attach or service request and a Release Access Bearers change, TS 23.401 §5.3.4.1,
§5.3.5) as a small second column over it; `sessions()` hands that part back with the record.

Also kept: the last restart counter of each MME (TS 29.274 §8.5), so that a restored session
whose MME restarted meanwhile is recognised and released.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
import logging
import operator
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from corenet.nf.sgw_pgw.pools import Allocation

MEMORY = ":memory:"
log = logging.getLogger("corenet.sgw_pgw.store")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    teid INTEGER PRIMARY KEY,
    data TEXT NOT NULL,
    access TEXT
);
CREATE TABLE IF NOT EXISTS peers (
    ip TEXT PRIMARY KEY,
    restart_counter INTEGER NOT NULL
);
"""
_PUT = "INSERT OR REPLACE INTO sessions (teid, data, access) VALUES (?, ?, NULL)"
_PUT_ACCESS = "UPDATE sessions SET access = ? WHERE teid = ?"
_DELETE = "DELETE FROM sessions WHERE teid = ?"
_PUT_PEER = "INSERT OR REPLACE INTO peers (ip, restart_counter) VALUES (?, ?)"

Change = tuple[str, tuple[Any, ...]]


class SessionStore:
    """Sessions as JSON rows keyed by the S11 S-GW TEID; `path` ':memory:' keeps nothing.

    `group_commit`: changes are committed by the writer thread, in batches (module docstring),
    and their responses wait in `after_durable`; without it each change is committed before
    `put`/`delete` returns."""

    def __init__(self, path: str, *, group_commit: bool = False) -> None:
        self.path = path
        self.persistent = path != MEMORY
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if self.persistent:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(sessions)")}
        if "access" not in columns:  # a database of a version that wrote whole records only
            self._db.execute("ALTER TABLE sessions ADD COLUMN access TEXT")
        self._lock = threading.Lock()  # the connection: the writer's batch, or a reader
        self._cond = threading.Condition()
        self._queue: list[Change] = []  # changes not taken by the writer yet
        self._queued = 0  # changes queued so far
        self._released = 0  # of which handed to the writer (at the end of a loop burst)
        self._taken = 0  # of which taken by the writer
        self._release_due = False  # a release is scheduled on the event loop
        self._durable = 0  # of which committed
        self.commits = 0  # COMMITs (fsyncs) made by the writer thread
        self._failed: BaseException | None = None
        self._waiters: deque[tuple[int, asyncio.AbstractEventLoop, Callable[[], None]]] = deque()
        self._closing = False
        self._writer: threading.Thread | None = None
        if self.persistent and group_commit:
            self._writer = threading.Thread(target=self._write_loop, name=f"sgw-store:{path}",
                                            daemon=True)
            self._writer.start()

    def close(self) -> None:
        self.flush()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._writer is not None:
            self._writer.join()
        self._db.close()

    # -- changes ---------------------------------------------------------------------------

    def put(self, teid: int, record: dict[str, Any] | str) -> None:
        """Store a session: its record, or the record's JSON text (`record_text`)."""
        self._change(_PUT, (teid, record if isinstance(record, str) else record_text(record)))

    def put_access(self, teid: int, text: str) -> None:
        """Store the access part of a stored session (module docstring): JSON text, handed
        back by `sessions()` as the record's "access"; the next `put` replaces it."""
        self._change(_PUT_ACCESS, (text, teid))

    def delete(self, teid: int) -> None:
        self._change(_DELETE, (teid,))

    def put_peer(self, ip: str, restart_counter: int) -> None:
        self._change(_PUT_PEER, (ip, restart_counter))

    def after_durable(self, release: Callable[[], None]) -> None:
        """Call `release` (on the calling event loop) once every change queued so far is
        committed; at once when none is pending. Releases keep their order."""
        with self._cond:
            if self._durable == self._queued and not self._waiters:
                pending = False
            else:
                pending = True
                self._waiters.append((self._queued, asyncio.get_running_loop(), release))
        if not pending:
            release()

    def flush(self) -> None:
        """Block until every queued change is committed (reads and close see them all)."""
        with self._cond:
            self._released = self._queued
            self._cond.notify_all()
            while self._durable < self._queued and self._failed is None:
                self._cond.wait()

    def _change(self, sql: str, args: tuple[Any, ...]) -> None:
        if self._writer is None:
            with self._lock:
                self._db.execute(sql, args)
            return
        with self._cond:
            self._queue.append((sql, args))
            self._queued += 1
            if self._release_due:
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a restore, a tool): to the writer at once
                self._released = self._queued
                self._cond.notify_all()
                return
            self._release_due = True
        # the changes of one burst of datagrams go to the writer together, once the loop has
        # handled them all: one commit for the burst, not one wake-up of the writer per change
        loop.call_soon(self._release)

    def _release(self) -> None:
        with self._cond:
            self._release_due = False
            self._released = self._queued
            self._cond.notify_all()

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while self._released == self._taken and not self._closing:
                    self._cond.wait()
                count = self._released - self._taken
                if not count:
                    return
                batch, self._queue = self._queue[:count], self._queue[count:]
                self._taken = upto = self._released
            try:
                with self._lock:
                    self._commit(batch)
            except sqlite3.Error as exc:
                # nothing of the batch is durable: its responses must never leave
                log.error("S/P-GW session store commit failed (%s); %d changes lost, "
                          "their responses withheld", exc, len(batch))
                with self._cond:
                    self._failed = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self.commits += 1
                self._durable = upto
                self._cond.notify_all()
                # one wake-up per event loop for the whole batch, not one per response
                due: dict[asyncio.AbstractEventLoop, list[Callable[[], None]]] = {}
                while self._waiters and self._waiters[0][0] <= upto:
                    _, loop, release = self._waiters.popleft()
                    due.setdefault(loop, []).append(release)
            for loop, releases in due.items():
                try:
                    loop.call_soon_threadsafe(_release_all, releases)
                except RuntimeError:  # that loop is closed: nobody left to answer
                    pass

    def _commit(self, batch: list[Change]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            # each run of changes of one kind in one call, in the order they were queued
            for sql, changes in itertools.groupby(batch, key=operator.itemgetter(0)):
                self._db.executemany(sql, [args for _, args in changes])
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    # -- reading (after every queued change) -------------------------------------------------

    def sessions(self) -> Iterator[dict[str, Any]]:
        self.flush()
        with self._lock:
            rows = self._db.execute(
                "SELECT data, access FROM sessions ORDER BY teid").fetchall()
        for data, access in rows:
            record = json.loads(data, object_hook=_json_hook)
            if access is not None and isinstance(record, dict):
                record["access"] = json.loads(access)
            yield record

    def count(self) -> int:
        self.flush()
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM sessions").fetchone()[0])

    def peers(self) -> dict[str, int]:
        self.flush()
        with self._lock:
            rows = self._db.execute("SELECT ip, restart_counter FROM peers").fetchall()
        return {ip: int(c) for ip, c in rows}


def _release_all(releases: list[Callable[[], None]]) -> None:
    """The responses of one committed batch, in the order they were held."""
    for release in releases:
        try:
            release()
        except Exception:
            # one response that cannot leave must not keep the others of its batch
            log.exception("S/P-GW response after commit failed")


def allocation_record(a: Allocation) -> dict[str, Any]:
    return {"apn": a.apn, "pdn_type": a.pdn_type, "ipv4": a.ipv4_text,
            "ipv6_prefix": a.ipv6_prefix_text}


def allocation_of(r: dict[str, Any]) -> Allocation:
    v4, v6 = r.get("ipv4"), r.get("ipv6_prefix")
    return Allocation(
        apn=r["apn"], pdn_type=int(r["pdn_type"]),
        ipv4=None if v4 is None else int(ipaddress.IPv4Address(v4)),
        ipv6_prefix=None if v6 is None else int(ipaddress.IPv6Network(v6).network_address))


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, tuple):
        return list(value)
    return str(value)


# one encoder for every record (json.dumps with options builds a new one per call); records
# are trees of plain values, so no circular-reference check
_ENCODER = json.JSONEncoder(default=_json_default, check_circular=False)
record_text = _ENCODER.encode


def _json_hook(obj: dict[str, Any]) -> Any:
    if set(obj) == {"__bytes__"}:
        return bytes.fromhex(obj["__bytes__"])
    return obj
