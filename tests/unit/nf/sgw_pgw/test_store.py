"""The session store's group commit (TS 23.007 §18: a session is on disk before the response
that announces it leaves), on its own and under the service over real loopback UDP."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from corenet.codecs import gtpv2c as g
from corenet.nf.sgw_pgw import SgwPgwService
from corenet.nf.sgw_pgw.store import SessionStore
from tests.unit.nf.sgw_pgw.helpers import cause_of, create_session
from tests.unit.nf.sgw_pgw.test_service import Mme, config


def _rows(db: str) -> dict[int, str]:
    """What another process would read from the file now (committed rows only)."""
    with sqlite3.connect(db) as other:
        return {teid: data for teid, data in other.execute("SELECT teid, data FROM sessions")}


async def test_a_release_waits_until_every_earlier_change_is_committed(tmp_path: Path) -> None:
    db = str(tmp_path / "sgw.db")
    store = SessionStore(db, group_commit=True)
    seen: list[dict[int, str]] = []
    done = asyncio.Event()
    try:
        for teid in range(1, 51):
            store.put(teid, {"imsi": f"4401000000{teid:05d}"})
        store.after_durable(lambda: seen.append(_rows(db)))
        store.delete(7)
        store.after_durable(lambda: (seen.append(_rows(db)), done.set()))
        await asyncio.wait_for(done.wait(), 5)
        # each release saw every change queued before it on disk (later ones may be too)
        assert set(range(1, 51)) - {7} <= set(seen[0])
        assert seen[0][50] == '{"imsi": "440100000000050"}'
        assert 7 not in seen[1] and len(seen[1]) == 49
        # fifty changes, far fewer fsyncs: they were committed together
        assert store.commits < 50
    finally:
        store.close()
    assert len(_rows(db)) == 49


async def test_the_responses_of_one_commit_leave_with_one_wake_up_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch committed together releases its held responses in one call on the event loop
    (not one cross-thread wake-up each), in the order they were held; one that fails does not
    keep the others."""
    loop = asyncio.get_running_loop()
    wake_ups: list[int] = []
    original = loop.call_soon_threadsafe

    def counted(callback: Any, *args: Any) -> Any:
        wake_ups.append(len(args[0]) if args else 1)
        return original(callback, *args)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counted)
    store = SessionStore(str(tmp_path / "sgw.db"), group_commit=True)
    released: list[int] = []
    done = asyncio.Event()

    def failing() -> None:
        raise RuntimeError("socket gone")

    try:
        with store._lock:  # the writer cannot commit while the fifty are queued
            for teid in range(1, 51):
                store.put(teid, {"teid": teid})
                store.after_durable(failing if teid == 10 else
                                    (lambda t=teid: released.append(t)))  # type: ignore[misc]
        store.after_durable(done.set)
        await asyncio.wait_for(done.wait(), 5)
    finally:
        store.close()
    assert released == [t for t in range(1, 51) if t != 10]
    # at most the first change committed alone, then everything else in one batch
    assert len(wake_ups) <= 3 and sum(wake_ups) == 51


async def test_a_release_with_nothing_pending_runs_at_once(tmp_path: Path) -> None:
    store = SessionStore(str(tmp_path / "sgw.db"), group_commit=True)
    released: list[int] = []
    try:
        store.after_durable(lambda: released.append(1))
        assert released == [1] and store.commits == 0
    finally:
        store.close()


async def test_each_create_session_answer_follows_the_commit_of_its_session(
        tmp_path: Path, mme: Mme) -> None:
    db = str(tmp_path / "sgw.db")
    service = SgwPgwService(config(database=db))
    await service.start()
    try:
        assert mme.endpoint is not None
        for i in range(20):
            msg = create_session(seq=i + 1, imsi=f"44010000000{i:04d}", mme_teid=0x100 + i)
            mme.endpoint.sendto(g.encode(msg), service.local)
        answers = []
        for _ in range(20):
            data = await asyncio.wait_for(mme.inbox.get(), 5)
            answers.append((g.decode(data), _rows(db)))  # the file as the answer arrives
        for resp, rows in answers:
            assert cause_of(resp) == 16  # Request accepted
            assert resp.fields["sender_fteid_c"]["teid"] in rows
        assert service.store is not None and 1 <= service.store.commits <= 20
    finally:
        await service.stop()


def test_changes_of_one_batch_are_applied_in_the_order_they_were_queued(
        tmp_path: Path) -> None:
    """Runs of one kind of change go to SQLite together (executemany); a put, a delete and a
    put again of one session still end as the last one left it."""
    db = str(tmp_path / "sgw.db")
    store = SessionStore(db, group_commit=True)
    try:
        for round_ in range(3):
            for teid in range(1, 21):
                store.put(teid, {"round": round_})
            for teid in range(1, 21, 2):
                store.delete(teid)
        store.put(1, {"round": "last"})
        store.put_peer("127.0.0.2", 7)
        store.flush()
    finally:
        store.close()
    rows = _rows(db)
    assert rows == {1: '{"round": "last"}',
                    **{teid: '{"round": 2}' for teid in range(2, 21, 2)}}
    with sqlite3.connect(db) as other:
        assert other.execute("SELECT ip, restart_counter FROM peers").fetchall() == [
            ("127.0.0.2", 7)]


def _core(db: str) -> Any:
    from corenet.config.models import SgwPgwConfig
    from corenet.nf.sgw_pgw.core import SgwPgwCore
    return SgwPgwCore(SgwPgwConfig(database=db), store=SessionStore(db), restart_counter=1)


def test_modify_bearer_and_release_access_bearers_write_the_access_part_only(
        tmp_path: Path) -> None:
    """TS 23.401 §5.3.2.1 step 23 and §5.3.5: Modify Bearer (eNB S1-U F-TEID) and Release
    Access Bearers change only the session's state and eNB F-TEIDs; the record written at
    Create Session stays as it was, the access part is written over it, and a restart gets
    the session as the last of them left it (TS 23.007 §18)."""
    from corenet.nf.sgw_pgw.core import S11Request, SessionState
    from tests.unit.nf.sgw_pgw.helpers import MME_IP, modify_bearer, roundtrip

    db = str(tmp_path / "sgw.db")
    mme = (MME_IP, 2123)
    core = _core(db)
    core.handle(S11Request(create_session(1), mme), 1.0)
    (teid,) = core.sessions
    created = _rows(db)[teid]
    core.handle(S11Request(modify_bearer(2, teid, enb_teid=0xE7, enb_ip="127.0.1.9"), mme), 2.0)
    assert _rows(db)[teid] == created
    again = _core(db)
    s = again.sessions[teid]
    assert s.state is SessionState.ACTIVE
    assert dict(s.bearers[5].s1u_enb_fteid or {}) == g.fteid(g.FTEID_S1U_ENB, 0xE7, "127.0.1.9")
    again.store.close()  # type: ignore[union-attr]
    release = roundtrip(g.release_access_bearers_request(3, teid=teid))
    core.handle(S11Request(release, mme), 3.0)
    assert _rows(db)[teid] == created
    core.store.close()
    restored = _core(db)
    s = restored.sessions[teid]
    assert s.state is SessionState.IDLE and s.bearers[5].s1u_enb_fteid is None
    # a Modify Bearer that changes more (a new cell, TS 29.274 §7.2.7 ULI) writes it whole
    moved = roundtrip(g.modify_bearer_request(
        4, teid=teid, uli=("44020", 2, "44020", 0x101 << 8 | 2),
        bearer_contexts=[{"ebi": 5, "s1u_enb_fteid": (g.FTEID_S1U_ENB, 0xE8, "127.0.1.9")}]))
    restored.handle(S11Request(moved, mme), 4.0)
    assert _rows(db)[teid] != created
    restored.store.close()  # type: ignore[union-attr]
    last = _core(db)
    assert last.sessions[teid].uli == {"tai": {"plmn": "44020", "tac": 2},
                                       "ecgi": {"plmn": "44020", "eci": 0x101 << 8 | 2}}
    assert last.sessions[teid].bearers[5].s1u_enb_fteid["teid"] == 0xE8  # type: ignore[index]
    last.store.close()  # type: ignore[union-attr]


def test_a_database_without_the_access_column_is_read_and_given_one(tmp_path: Path) -> None:
    """A store file written before the access part existed keeps its sessions."""
    db = str(tmp_path / "sgw.db")
    with sqlite3.connect(db) as old:
        old.execute("CREATE TABLE sessions (teid INTEGER PRIMARY KEY, data TEXT NOT NULL)")
        old.execute("INSERT INTO sessions VALUES (7, ?)", ('{"teid": 7}',))
    store = SessionStore(db)
    try:
        assert list(store.sessions()) == [{"teid": 7}]
        store.put_access(7, '{"state": "idle", "enb": []}')
        assert list(store.sessions()) == [{"teid": 7, "access": {"state": "idle", "enb": []}}]
    finally:
        store.close()


async def test_the_changes_of_one_loop_burst_are_committed_together(tmp_path: Path) -> None:
    """The changes made while the event loop handles one burst of datagrams go to the writer
    once the burst is handled: one COMMIT (one fsync) for all of them, even when the loop
    releases the interpreter between them (its socket calls), rather than a writer woken by
    the first change committing it alone."""
    import time

    db = str(tmp_path / "sgw.db")
    store = SessionStore(db, group_commit=True)
    try:
        for teid in range(1, 11):
            store.put(teid, {"teid": teid})
            time.sleep(0.002)  # the loop's other work meanwhile, the interpreter released
        done = asyncio.Event()
        store.after_durable(done.set)
        await asyncio.wait_for(done.wait(), 10)
        assert store.commits == 1 and sorted(_rows(db)) == list(range(1, 11))
    finally:
        store.close()
