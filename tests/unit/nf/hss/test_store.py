"""HSS store: SQN generation (TS 33.102 Annex C), persistence, provisioning upsert."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from corenet.crypto.milenage import SqnArray, opc_from_op
from corenet.nf.hss.store import (
    HssStore,
    SqnExhausted,
    next_sqn,
    resynchronised_sqn,
)
from tests.unit.nf.hss.helpers import IMSI, MME2_HOST, MME_HOST, MME_REALM, K, subscriber


@pytest.fixture
def store() -> HssStore:
    s = HssStore(":memory:")
    s.provision([subscriber()])
    return s


def test_next_sqn_increments_seq_and_cycles_ind() -> None:
    sqns = []
    last = 0
    for _ in range(34):
        last = next_sqn(last, 5)
        sqns.append(last)
    seqs = [s >> 5 for s in sqns]
    inds = [s & 31 for s in sqns]
    assert seqs == list(range(1, 35))
    assert inds[:3] == [1, 2, 3]
    assert inds[30:34] == [31, 0, 1, 2]  # IND wraps over 2**5 slots
    assert sqns == sorted(sqns) and len(set(sqns)) == 34


def test_store_sqns_are_accepted_by_the_usim_array(store: HssStore) -> None:
    usim = SqnArray(ind_bits=5)
    sqns = store.next_sqns(IMSI, 5) + store.next_sqns(IMSI, 40)
    assert all(usim.accept(s) for s in sqns)
    assert store.get(IMSI).sqn == sqns[-1]  # type: ignore[union-attr]
    # vectors used out of order (another MME kept an older one) are still fresh in their slot
    later = store.next_sqns(IMSI, 3)
    assert usim.accept(later[2]) and usim.accept(later[0]) and usim.accept(later[1])


def test_sqn_exhausted_at_48_bits(store: HssStore) -> None:
    store.set_sqn(IMSI, (1 << 48) - 1)
    with pytest.raises(SqnExhausted):
        store.next_sqns(IMSI, 1)
    assert store.get(IMSI).sqn == (1 << 48) - 1  # type: ignore[union-attr]  # rolled back


def test_unknown_imsi_raises_key_error(store: HssStore) -> None:
    with pytest.raises(KeyError):
        store.next_sqns("440109999999999", 1)


def test_resync_keeps_sqn_he_in_range_else_resets_to_sqn_ms() -> None:
    he = (100 << 5) | 7
    assert resynchronised_sqn(he, (99 << 5) | 3, 5) == he  # SEQ_HE + 1 still fresh
    assert resynchronised_sqn(he, (500 << 5) | 3, 5) == (500 << 5) | 7  # USIM ahead
    assert resynchronised_sqn(he, 5 << 5, 5, delta=10) == (5 << 5) | 7  # HSS too far ahead


def test_resync_in_next_sqns(store: HssStore) -> None:
    sqns = store.next_sqns(IMSI, 2, resync_sqn_ms=(1000 << 5) | 9)
    assert [s >> 5 for s in sqns] == [1001, 1002]


def test_persistence_across_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "hss.db")
    first = HssStore(path)
    first.provision([subscriber()])
    issued = first.next_sqns(IMSI, 3)
    first.close()
    second = HssStore(path)
    assert second.get(IMSI).sqn == issued[-1]  # type: ignore[union-attr]
    assert second.next_sqns(IMSI, 1)[0] > issued[-1]
    mode = second._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    second.close()


def test_provision_upsert_keeps_higher_sqn_and_runtime_state(store: HssStore) -> None:
    issued = store.next_sqns(IMSI, 4)
    store.register_mme(IMSI, MME_HOST, MME_REALM)
    store.provision([subscriber(msisdn="819099999999", sqn=0)])
    rec = store.get(IMSI)
    assert rec is not None
    assert rec.msisdn == "819099999999"
    assert rec.sqn == issued[-1]
    assert rec.mme_host == MME_HOST
    store.provision([subscriber(sqn=1 << 40)])
    assert store.get(IMSI).sqn == 1 << 40  # type: ignore[union-attr]
    assert store.count() == 1


def test_provision_expands_and_derives_opc_from_op() -> None:
    op = "cdc202d5123e20f62b6d676ac72cb318"
    s = HssStore()
    n = s.provision([subscriber(imsi=f"44010000000010{i}", opc=None, op=op) for i in range(3)])
    assert n == 3
    rec = s.get("440100000000102")
    assert rec is not None
    assert rec.op == bytes.fromhex(op)
    assert rec.opc == opc_from_op(bytes.fromhex(K), bytes.fromhex(op))
    assert [r.imsi for r in s.all()] == [f"44010000000010{i}" for i in range(3)]
    assert rec.apns[1].apn == "ims" and rec.apns[1].qci == 5


def test_register_mme_returns_previous_and_clears_purge(store: HssStore) -> None:
    assert store.register_mme(IMSI, MME_HOST, MME_REALM) == (None, None)
    store.set_purged(IMSI, True)
    assert store.get(IMSI).purged  # type: ignore[union-attr]
    assert store.register_mme(IMSI, MME2_HOST, MME_REALM) == (MME_HOST, MME_REALM)
    rec = store.get(IMSI)
    assert rec is not None and rec.mme_host == MME2_HOST and not rec.purged


def test_delete(store: HssStore) -> None:
    assert store.delete(IMSI)
    assert not store.delete(IMSI)
    assert store.get(IMSI) is None


# ---------------------------------------------------------------- group commit


def _on_disk(path: Path, imsi: str = IMSI) -> int:
    """SQN_HE as another connection (a restarted HSS) reads it from the file."""
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT sqn FROM subscribers WHERE imsi = ?", (imsi,)).fetchone()[0])
    finally:
        db.close()


def test_group_commits_once_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "hss.db"
    s = HssStore(str(path))
    s.provision([subscriber(sqn=0)])
    with s.group():
        issued = [s.next_sqns(IMSI, 1)[0] for _ in range(5)]
        assert _on_disk(path) == 0  # nothing committed yet: no answer may leave
    assert _on_disk(path) == issued[-1]
    assert issued == sorted(set(issued))


def test_group_failure_of_one_mutation_rolls_back_alone(tmp_path: Path) -> None:
    path = tmp_path / "hss.db"
    s = HssStore(str(path))
    top = ((1 << (48 - 5)) - 1) << 5
    s.provision([subscriber(sqn=0), subscriber(imsi="440100000000002", sqn=top)])
    with s.group():
        issued = []
        for _ in range(3):  # savepoints in a row, each undone or kept alone
            issued += s.next_sqns(IMSI, 1)
            with pytest.raises(SqnExhausted):
                s.next_sqns("440100000000002", 1)
            s.register_mme(IMSI, MME_HOST, MME_REALM)
    assert _on_disk(path) == issued[-1] and issued == sorted(set(issued))
    assert _on_disk(path, "440100000000002") == top
    assert s.get(IMSI).mme_host == MME_HOST  # type: ignore[union-attr]


def test_records_of_one_profile_share_its_validated_apns(store: HssStore) -> None:
    store.provision([subscriber(), subscriber(imsi="440100000000002")])
    one, two = store.get(IMSI), store.get("440100000000002")
    assert one is not None and two is not None
    assert [(a.apn, a.context_id, a.qci) for a in one.apns] == [("internet", 1, 9), ("ims", 2, 5)]
    assert one.apns is two.apns  # validated once, not per request


def test_group_error_rolls_back_everything(tmp_path: Path) -> None:
    path = tmp_path / "hss.db"
    s = HssStore(str(path))
    s.provision([subscriber(sqn=0)])
    with pytest.raises(RuntimeError), s.group():
        s.next_sqns(IMSI, 1)
        raise RuntimeError("commit never reached")
    assert _on_disk(path) == 0
    assert s.next_sqns(IMSI, 1)[0] > 0  # the store is usable again


async def test_commit_group_returns_only_once_its_sqns_are_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "hss.db"
    s = HssStore(str(path))
    s.provision([subscriber(sqn=0)])

    def work() -> list[int]:
        issued = [s.next_sqns(IMSI, 1)[0] for _ in range(5)]
        assert _on_disk(path) == 0  # not committed while the group runs
        return issued

    issued = await s.commit_group(work)
    assert _on_disk(path) == issued[-1]  # on disk when the caller gets the SQNs back
    assert issued == sorted(set(issued)) and s.commits == 1
    assert s.next_sqns(IMSI, 1)[0] > issued[-1]  # the store serves again after the COMMIT
    s.close()


async def test_commit_group_error_rolls_back_everything(tmp_path: Path) -> None:
    path = tmp_path / "hss.db"
    s = HssStore(str(path))
    s.provision([subscriber(sqn=0)])

    def work() -> None:
        s.next_sqns(IMSI, 1)
        raise RuntimeError("commit never reached")

    with pytest.raises(RuntimeError):
        await s.commit_group(work)
    assert _on_disk(path) == 0 and s.commits == 0
    assert s.next_sqns(IMSI, 1)[0] > 0
    s.close()


def test_known_values_write_once_and_never_over_a_newer_row(tmp_path: Path) -> None:
    """With the row the caller read, an AIR's SQN_HE is one UPDATE and a ULR from the MME
    already registered writes nothing (TS 29.272 §5.2.1.1.3); a row changed since it was read
    is read again, so no SQN is issued twice (TS 33.102 §6.3.3) and the old MME is the
    stored one."""
    path = tmp_path / "hss.db"
    s = HssStore(str(path))
    s.provision([subscriber(sqn=0)])
    statements: list[str] = []
    with s.group():
        s._db.set_trace_callback(statements.append)
        rec = s.get(IMSI)
        assert rec is not None
        statements.clear()
        issued = s.next_sqns(IMSI, 2, known_sqn=rec.sqn)
        assert [q.split()[0] for q in statements] == ["UPDATE"]
        assert s.register_mme(IMSI, MME_HOST, MME_REALM, known=rec) == (None, None)
        rec = s.get(IMSI)
        assert rec is not None
        statements.clear()
        assert s.register_mme(IMSI, MME_HOST, MME_REALM, known=rec) == (MME_HOST, MME_REALM)
        assert statements == []  # the same MME, not purged: nothing to store
        s._db.set_trace_callback(None)
    assert _on_disk(path) == issued[-1]
    stale = s.get(IMSI)
    assert stale is not None
    more = s.next_sqns(IMSI, 1)
    s.register_mme(IMSI, MME2_HOST, MME_REALM)
    s.set_purged(IMSI, True)
    again = s.next_sqns(IMSI, 1, known_sqn=stale.sqn)  # SQN_HE moved on since `stale`
    assert again[0] > more[0] > issued[-1] and _on_disk(path) == again[0]
    assert s.register_mme(IMSI, MME_HOST, MME_REALM, known=stale) == (MME2_HOST, MME_REALM)
    rec = s.get(IMSI)
    assert rec is not None and rec.mme_host == MME_HOST and not rec.purged


async def test_a_group_committed_on_the_loop_is_on_disk_as_well(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A group of one request commits on the loop (no worker thread), still before its SQNs
    are handed out; a larger group commits on a worker thread."""
    import asyncio

    path = tmp_path / "hss.db"
    s = HssStore(str(path))
    s.provision([subscriber(sqn=0)])
    loop = asyncio.get_running_loop()
    handed: list[object] = []
    real = loop.run_in_executor

    def counting(executor: object, fn: object, *args: object) -> object:
        handed.append(fn)
        return real(executor, fn, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "run_in_executor", counting)
    alone = await s.commit_group(lambda: s.next_sqns(IMSI, 1), on_thread=False)
    assert handed == [] and _on_disk(path) == alone[-1]
    more = await s.commit_group(lambda: s.next_sqns(IMSI, 2))
    assert len(handed) == 1 and _on_disk(path) == more[-1] > alone[-1]
    assert s.commits == 2
    s.close()
