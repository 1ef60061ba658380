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
