"""The S/P-GW session store: SQLite, one row per PDN connection (TS 23.007 §18).

A session is written (COMMIT) before the response that announces it leaves, and deleted before
the Delete Session Response does, so that a restarted S/P-GW holds exactly the PDN connections
its MMEs believe in and never hands out an address still in use. WAL with synchronous=FULL, as
the HSS store: each commit survives a killed process and an operating-system crash.

Also kept: the last restart counter of each MME (TS 29.274 §8.5), so that a restored session
whose MME restarted meanwhile is recognised and released.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from corenet.nf.sgw_pgw.pools import Allocation

MEMORY = ":memory:"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    teid INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS peers (
    ip TEXT PRIMARY KEY,
    restart_counter INTEGER NOT NULL
);
"""


class SessionStore:
    """Sessions as JSON rows keyed by the S11 S-GW TEID; `path` ':memory:' keeps nothing."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.persistent = path != MEMORY
        self._db = sqlite3.connect(path, isolation_level=None)
        if self.persistent:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def put(self, teid: int, record: dict[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO sessions (teid, data) VALUES (?, ?)",
                         (teid, json.dumps(record, default=_json_default)))

    def delete(self, teid: int) -> None:
        self._db.execute("DELETE FROM sessions WHERE teid = ?", (teid,))

    def sessions(self) -> Iterator[dict[str, Any]]:
        for (data,) in self._db.execute("SELECT data FROM sessions ORDER BY teid"):
            yield json.loads(data, object_hook=_json_hook)

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM sessions").fetchone()[0])

    def put_peer(self, ip: str, restart_counter: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO peers (ip, restart_counter) VALUES (?, ?)",
                         (ip, restart_counter))

    def peers(self) -> dict[str, int]:
        return {ip: int(c) for ip, c in self._db.execute("SELECT ip, restart_counter FROM peers")}


def allocation_record(a: Allocation) -> dict[str, Any]:
    return {"apn": a.apn, "pdn_type": a.pdn_type,
            "ipv4": None if a.ipv4 is None else str(a.ipv4),
            "ipv6_prefix": None if a.ipv6_prefix is None else str(a.ipv6_prefix)}


def allocation_of(r: dict[str, Any]) -> Allocation:
    return Allocation(
        apn=r["apn"], pdn_type=int(r["pdn_type"]),
        ipv4=None if r.get("ipv4") is None else ipaddress.IPv4Address(r["ipv4"]),
        ipv6_prefix=None if r.get("ipv6_prefix") is None
        else ipaddress.IPv6Network(r["ipv6_prefix"]))


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def _json_hook(obj: dict[str, Any]) -> Any:
    if set(obj) == {"__bytes__"}:
        return bytes.fromhex(obj["__bytes__"])
    return obj
