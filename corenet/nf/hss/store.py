"""The HSS subscriber store: SQLite, one row per IMSI.

SQN generation follows TS 33.102 Annex C: SQN = SEQ || IND (C.1.1), with IND the `ind_bits`
least significant bits. Each new vector takes SEQ_HE + 1 and the next IND slot, cycling over
2**ind_bits values (C.3.2), so every SQN the HSS issues is strictly greater than the last.

Durability: the SQN of a vector is committed before the vector is handed out (`next_sqns`
returns only after COMMIT). The database runs in WAL mode with synchronous=FULL: WAL keeps
readers (the `hss subscriber` CLI) off the writer's back, and FULL makes each commit survive an
operating-system crash or power loss, not only a process crash (NORMAL would not). An SQN handed
out twice is rejected by the USIM as a replay (TS 33.102 §6.3.3).

Group commit: inside `group()` the procedures of several requests share one transaction, each
in a savepoint of its own (a failing one rolls back alone), and one COMMIT, one fsync, makes
all of them durable. The caller hands out the answers of the group only after `group()` has
returned: still no vector leaves before its SQN is on disk, at a fraction of the fsyncs.

`commit_group` does the same from the event loop without waiting on the disk there: the group's
statements run on the loop, its COMMIT (the fsync) on a worker thread, and the caller gets the
answers back only once COMMIT has returned. Meanwhile the loop receives the next requests, which
form the next group; any other use of the store waits until that COMMIT is over. A group of a
single request (nothing else waiting) is committed on the loop: the hand-over to a thread
would cost more than it saves.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from corenet.config.subscribers import ApnProfile, Subscriber
from corenet.crypto.milenage import opc_from_op

SQN_BITS = 48
DEFAULT_IND_BITS = 5  # TS 33.102 C.3.2: IND of 5 bits (32 slots)
DEFAULT_DELTA = 2**28  # TS 33.102 C.2.2: delta, the largest SEQ jump a USIM accepts

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    imsi TEXT PRIMARY KEY,
    k BLOB NOT NULL,
    op BLOB,
    opc BLOB NOT NULL,
    amf BLOB NOT NULL,
    sqn INTEGER NOT NULL,
    msisdn TEXT,
    ue_ambr_ul INTEGER NOT NULL,
    ue_ambr_dl INTEGER NOT NULL,
    apns TEXT NOT NULL,
    default_apn TEXT NOT NULL,
    allowed_visited_plmns TEXT NOT NULL,
    access_restriction_data INTEGER NOT NULL DEFAULT 0,
    eps_subscription INTEGER NOT NULL DEFAULT 1,
    imei TEXT,
    mme_host TEXT,
    mme_realm TEXT,
    purged INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ims_registrations (
    impi TEXT PRIMARY KEY,
    imsi TEXT NOT NULL,
    server_name TEXT NOT NULL
)
"""

_COLUMNS = (
    "imsi", "k", "op", "opc", "amf", "sqn", "msisdn", "ue_ambr_ul", "ue_ambr_dl", "apns",
    "default_apn", "allowed_visited_plmns", "access_restriction_data", "eps_subscription", "imei",
    "mme_host", "mme_realm", "purged",
)

# Upsert: keys and profile follow the provisioning file, but the SQN never goes back (a restart
# that re-provisions from the same file must not make the HSS reuse SQNs), and the serving MME
# and purge flag are run-time state the file does not own.
_UPSERT = f"""
INSERT INTO subscribers ({", ".join(_COLUMNS[:15])})
VALUES ({", ".join("?" * 15)})
ON CONFLICT(imsi) DO UPDATE SET
    k = excluded.k, op = excluded.op, opc = excluded.opc, amf = excluded.amf,
    sqn = max(subscribers.sqn, excluded.sqn), msisdn = excluded.msisdn,
    ue_ambr_ul = excluded.ue_ambr_ul, ue_ambr_dl = excluded.ue_ambr_dl, apns = excluded.apns,
    default_apn = excluded.default_apn, allowed_visited_plmns = excluded.allowed_visited_plmns,
    access_restriction_data = excluded.access_restriction_data,
    eps_subscription = excluded.eps_subscription, imei = excluded.imei
"""


class SqnExhausted(Exception):
    """SEQ would pass 2**(48 - ind_bits) - 1: no fresh SQN is left (TS 33.102 C.1.1)."""


@dataclass(frozen=True)
class SubscriberRecord:
    """One subscriber as stored: AKA keys, SQN_HE, subscription profile, serving MME."""

    imsi: str
    k: bytes
    opc: bytes
    amf: bytes
    sqn: int
    op: bytes | None = None
    msisdn: str | None = None
    ue_ambr_ul: int = 50_000_000
    ue_ambr_dl: int = 100_000_000
    apns: tuple[ApnProfile, ...] = field(default_factory=tuple)
    default_apn: str = "internet"
    allowed_visited_plmns: tuple[str, ...] = ()
    access_restriction_data: int = 0
    eps_subscription: bool = True
    imei: str | None = None
    mme_host: str | None = None
    mme_realm: str | None = None
    purged: bool = False

    def roaming_allowed(self, plmn: str) -> bool:
        """An empty list allows every visited PLMN."""
        return not self.allowed_visited_plmns or plmn in self.allowed_visited_plmns

    def to_json(self) -> dict[str, object]:
        return {
            "imsi": self.imsi, "msisdn": self.msisdn, "k": self.k.hex(),
            "op": None if self.op is None else self.op.hex(), "opc": self.opc.hex(),
            "amf": self.amf.hex(), "sqn": self.sqn, "ue_ambr_ul_bps": self.ue_ambr_ul,
            "ue_ambr_dl_bps": self.ue_ambr_dl, "apns": [a.model_dump() for a in self.apns],
            "default_apn": self.default_apn,
            "allowed_visited_plmns": list(self.allowed_visited_plmns),
            "access_restriction_data": self.access_restriction_data,
            "eps_subscription": self.eps_subscription, "imei": self.imei,
            "mme_host": self.mme_host, "mme_realm": self.mme_realm, "purged": self.purged,
        }


def next_sqn(last: int, ind_bits: int) -> int:
    """SEQ_HE + 1 with the next IND slot (TS 33.102 C.1.1, C.3.2)."""
    mask = (1 << ind_bits) - 1
    seq = (last >> ind_bits) + 1
    if seq >> (SQN_BITS - ind_bits):
        raise SqnExhausted(f"SEQ {seq} does not fit {SQN_BITS - ind_bits} bits")
    return (seq << ind_bits) | (((last & mask) + 1) & mask)


def resynchronised_sqn(sqn_he: int, sqn_ms: int, ind_bits: int, delta: int = DEFAULT_DELTA) -> int:
    """SQN_HE after a re-synchronisation (TS 33.102 §6.3.5, Annex C.2.2 delta).

    When the next SEQ_HE + 1 would still be accepted by the USIM (SEQ_MS < SEQ_HE + 1 <=
    SEQ_MS + delta) SQN_HE is kept; otherwise SEQ_HE is reset to SEQ_MS, keeping the IND.
    """
    seq_he, seq_ms = sqn_he >> ind_bits, sqn_ms >> ind_bits
    if seq_ms < seq_he + 1 <= seq_ms + delta:
        return sqn_he
    return (seq_ms << ind_bits) | (sqn_he & ((1 << ind_bits) - 1))


@functools.lru_cache(maxsize=1024)
def _apn_profiles(text: str) -> tuple[ApnProfile, ...]:
    """The APN profiles of a stored `apns` column, validated once per distinct text (most
    subscribers share a few profiles); the instances are shared, read-only."""
    return tuple(ApnProfile.model_validate(a) for a in json.loads(text))


@functools.lru_cache(maxsize=1024)
def _plmn_list(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


_SELECT_RECORD = f"SELECT {', '.join(_COLUMNS)} FROM subscribers"


def _row_to_record(row: tuple[Any, ...]) -> SubscriberRecord:
    """A record from the columns of `_SELECT_RECORD` (in `_COLUMNS` order), read by position."""
    (imsi, k, op, opc, amf, sqn, msisdn, ue_ambr_ul, ue_ambr_dl, apns, default_apn,
     allowed_visited_plmns, access_restriction_data, eps_subscription, imei, mme_host,
     mme_realm, purged) = row
    return SubscriberRecord(
        imsi, bytes(k), bytes(opc), bytes(amf), int(sqn), None if op is None else bytes(op),
        msisdn, int(ue_ambr_ul), int(ue_ambr_dl), _apn_profiles(apns), default_apn,
        _plmn_list(allowed_visited_plmns), int(access_restriction_data),
        bool(eps_subscription), imei, mme_host, mme_realm, bool(purged))


def _subscriber_row(sub: Subscriber) -> tuple[object, ...]:
    k = bytes.fromhex(sub.k)
    op = None if sub.op is None else bytes.fromhex(sub.op)
    opc = bytes.fromhex(sub.opc) if sub.opc is not None else opc_from_op(k, op or b"")
    return (
        sub.imsi, k, op, opc, bytes.fromhex(sub.amf), sub.sqn, sub.msisdn, sub.ue_ambr_ul_bps,
        sub.ue_ambr_dl_bps, json.dumps([a.model_dump() for a in sub.apns]), sub.default_apn,
        json.dumps(list(sub.allowed_visited_plmns)), 0, 1, sub.imei,
    )


class HssStore:
    """SQLite-backed subscriber data; every mutation is committed before the call returns."""

    def __init__(
        self, path: str = ":memory:", *, ind_bits: int = DEFAULT_IND_BITS,
        delta: int = DEFAULT_DELTA, commit_on_thread: bool = True,
    ) -> None:
        if not 0 <= ind_bits < SQN_BITS:
            raise ValueError(f"IND length must be 0..47 bits, got {ind_bits}")
        self.path = path
        self.ind_bits = ind_bits
        self.delta = delta
        # autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        # records are read by position (`_row_to_record`): plain tuples, no sqlite3.Row
        self._records = self._db.cursor()
        self._records.row_factory = None
        self._group_depth = 0
        self._committing = threading.Lock()  # held while a COMMIT runs on a worker thread
        self.commits = 0  # COMMITs of `commit_group`
        # False: `commit_group` commits on the loop (a seeded run keeps its event order)
        self.commit_on_thread = commit_on_thread

    def close(self) -> None:
        self._idle()
        self._db.close()

    def _idle(self) -> None:
        """Wait for a COMMIT running on a worker thread (`commit_group`) to end."""
        if self._group_depth == 0:
            with self._committing:
                pass

    # -- provisioning ----------------------------------------------------------------------

    def provision(self, subscribers: Iterable[Subscriber]) -> int:
        """Insert or update subscribers (upsert by IMSI); returns how many were written."""
        rows = [_subscriber_row(s) for s in subscribers]
        with self._transaction():
            self._db.executemany(_UPSERT, rows)
        return len(rows)

    def set_eps_subscription(self, imsi: str, subscribed: bool) -> bool:
        return self._update(imsi, "eps_subscription = ?", int(subscribed))

    def set_access_restriction(self, imsi: str, value: int) -> bool:
        """Access-Restriction-Data bits, TS 29.272 §7.3.31."""
        return self._update(imsi, "access_restriction_data = ?", int(value))

    def set_sqn(self, imsi: str, sqn: int) -> bool:
        if not 0 <= sqn < 1 << SQN_BITS:
            raise ValueError(f"SQN is 48 bits, got {sqn}")
        return self._update(imsi, "sqn = ?", sqn)

    def delete(self, imsi: str) -> bool:
        with self._transaction():
            cur = self._db.execute("DELETE FROM subscribers WHERE imsi = ?", (imsi,))
        return cur.rowcount > 0

    # -- reading ---------------------------------------------------------------------------

    def get(self, imsi: str) -> SubscriberRecord | None:
        self._idle()
        row = self._records.execute(_SELECT_RECORD + " WHERE imsi = ?", (imsi,)).fetchone()
        return None if row is None else _row_to_record(row)

    def all(self) -> list[SubscriberRecord]:
        self._idle()
        rows = self._records.execute(_SELECT_RECORD + " ORDER BY imsi").fetchall()
        return [_row_to_record(r) for r in rows]

    def count(self) -> int:
        self._idle()
        return int(self._db.execute("SELECT count(*) FROM subscribers").fetchone()[0])

    # -- AKA -------------------------------------------------------------------------------

    def next_sqns(self, imsi: str, n: int, *, resync_sqn_ms: int | None = None,
                  known_sqn: int | None = None) -> list[int]:
        """Allocate `n` fresh SQNs and commit SQN_HE before returning them.

        With `resync_sqn_ms` (SQN_MS recovered from a verified AUTS), SQN_HE is first
        re-synchronised per TS 33.102 §6.3.5 in the same transaction. Raises KeyError for an
        unknown IMSI and SqnExhausted when SEQ would overflow.

        `known_sqn`: SQN_HE as the caller read it (`get`). The new SQN_HE is then written by
        one UPDATE that holds only if SQN_HE is still that value (one statement: atomic, no
        savepoint, no second read); if it no longer is, SQN_HE is read again and the SQNs
        follow it, as without `known_sqn`.
        """
        if known_sqn is not None:
            out, last = self._sqns_after(known_sqn, n, resync_sqn_ms)
            if self._group_depth == 0:
                self._idle()  # autocommit: the UPDATE is its own transaction
            cur = self._db.execute("UPDATE subscribers SET sqn = ? WHERE imsi = ? AND sqn = ?",
                                   (last, imsi, known_sqn))
            if cur.rowcount == 1:
                return out
        with self._transaction():
            row = self._db.execute("SELECT sqn FROM subscribers WHERE imsi = ?",
                                   (imsi,)).fetchone()
            if row is None:
                raise KeyError(imsi)
            out, last = self._sqns_after(int(row["sqn"]), n, resync_sqn_ms)
            self._db.execute("UPDATE subscribers SET sqn = ? WHERE imsi = ?", (last, imsi))
        return out

    def _sqns_after(self, sqn: int, n: int, resync_sqn_ms: int | None) -> tuple[list[int], int]:
        """The `n` SQNs that follow SQN_HE `sqn` (TS 33.102 C.1.1, C.3.2), re-synchronised
        first to `resync_sqn_ms` when given (§6.3.5), and the SQN_HE to store."""
        if resync_sqn_ms is not None:
            sqn = resynchronised_sqn(sqn, resync_sqn_ms, self.ind_bits, self.delta)
        out = []
        for _ in range(n):
            sqn = next_sqn(sqn, self.ind_bits)
            out.append(sqn)
        return out, sqn

    # -- location management ---------------------------------------------------------------

    def register_mme(self, imsi: str, host: str, realm: str, *,
                     known: SubscriberRecord | None = None) -> tuple[str | None, str | None]:
        """Store the serving MME (TS 29.272 §5.2.1.1.3), clear the purge flag; return the old one.

        `known`: the subscriber as the caller read it (`get`). Inside a `group()` (one
        transaction, so still the stored row) nothing is written when that MME is already
        registered and not purged; otherwise one UPDATE holds only if the row still names
        the MME read, and the row is read again if it does not.
        """
        if known is not None:
            previous = known.mme_host, known.mme_realm
            if self._group_depth and previous == (host, realm) and not known.purged:
                return previous
            if self._group_depth == 0:
                self._idle()  # autocommit: the UPDATE is its own transaction
            cur = self._db.execute(
                "UPDATE subscribers SET mme_host = ?, mme_realm = ?, purged = 0 WHERE imsi = ?"
                " AND mme_host IS ? AND mme_realm IS ?", (host, realm, imsi, *previous))
            if cur.rowcount == 1:
                return previous
        with self._transaction():
            row = self._db.execute("SELECT mme_host, mme_realm FROM subscribers WHERE imsi = ?",
                                   (imsi,)).fetchone()
            if row is None:
                raise KeyError(imsi)
            self._db.execute(
                "UPDATE subscribers SET mme_host = ?, mme_realm = ?, purged = 0 WHERE imsi = ?",
                (host, realm, imsi))
        return row["mme_host"], row["mme_realm"]

    def set_purged(self, imsi: str, purged: bool = True) -> bool:
        """TS 29.272 §5.2.1.3.3: 'UE purged in MME'."""
        return self._update(imsi, "purged = ?", int(purged))

    # -- IMS registration (Cx) -------------------------------------------------------------

    def scscf_of(self, impi: str) -> str | None:
        """The S-CSCF serving the private identity (TS 29.228 §6.1.2.1), None if unregistered."""
        self._idle()
        row = self._db.execute("SELECT server_name FROM ims_registrations WHERE impi = ?",
                               (impi,)).fetchone()
        return None if row is None else str(row["server_name"])

    def set_scscf(self, impi: str, imsi: str, server_name: str | None) -> None:
        """Store (TS 29.228 §6.1.2.1 REGISTRATION) or clear (USER_DEREGISTRATION) the S-CSCF
        name of a private identity."""
        with self._transaction():
            if server_name is None:
                self._db.execute("DELETE FROM ims_registrations WHERE impi = ?", (impi,))
            else:
                self._db.execute(
                    "INSERT INTO ims_registrations (impi, imsi, server_name) VALUES (?, ?, ?) "
                    "ON CONFLICT(impi) DO UPDATE SET server_name = excluded.server_name",
                    (impi, imsi, server_name))

    # -- internals -------------------------------------------------------------------------

    def _update(self, imsi: str, assignment: str, value: object) -> bool:
        with self._transaction():
            cur = self._db.execute(f"UPDATE subscribers SET {assignment} WHERE imsi = ?",
                                   (value, imsi))
        return cur.rowcount > 0

    @contextmanager
    def group(self) -> Iterator[None]:
        """One transaction, one COMMIT, for every mutation made inside (module docstring)."""
        if self._group_depth:
            self._group_depth += 1
            try:
                yield
            finally:
                self._group_depth -= 1
            return
        self._idle()
        self._db.execute("BEGIN IMMEDIATE")
        self._group_depth = 1
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # a failed COMMIT too: nothing of the group stays
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._group_depth = 0

    async def commit_group(self, work: Callable[[], T], *, on_thread: bool = True) -> T:
        """`work()` in one transaction (as `group()`), its COMMIT on a worker thread; returns
        what `work` returned once COMMIT has (module docstring). On any failure the whole
        group is rolled back and the error raised: nothing of it may be handed out.

        `on_thread=False` commits on the loop: for a group of one request, when nothing else
        was waiting to be served, a worker thread's hand-over costs more CPU than the loop
        saves by going on while the disk works (requests arriving meanwhile wait in the
        socket and form the next group, which is then larger)."""
        self._idle()
        self._db.execute("BEGIN IMMEDIATE")
        self._group_depth = 1
        try:
            result = work()
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        finally:
            self._group_depth = 0
        self._committing.acquire()  # released by the worker thread once COMMIT is over
        if on_thread and self.commit_on_thread:
            done = asyncio.get_running_loop().run_in_executor(None, self._commit_and_release)
            await asyncio.shield(done)
        else:
            self._commit_and_release()
        self.commits += 1
        return result

    def _commit_and_release(self) -> None:
        try:
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # a failed COMMIT: nothing of the group stays
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._committing.release()

    def _transaction(self) -> _Transaction | _Savepoint:
        if self._group_depth:
            # one name for all: RELEASE / ROLLBACK TO act on the innermost savepoint of that
            # name, and one SQL text keeps the statements in the connection's cache
            return _Savepoint(self._db, "s")
        self._idle()
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): the write lock is taken up front."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


class _Savepoint:
    """A mutation inside a group: undone alone on error, committed with the group."""

    def __init__(self, db: sqlite3.Connection, name: str) -> None:
        self._db = db
        self._name = name

    def __enter__(self) -> None:
        self._db.execute(f"SAVEPOINT {self._name}")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self._db.execute(f"ROLLBACK TO {self._name}")
        self._db.execute(f"RELEASE {self._name}")
