"""The PSAP's call records in SQLite, and what a PSAP reads from an emergency INVITE.

An identity in P-Asserted-Identity is verified (RFC 3325 §9.1: asserted by the rescuer's
P-CSCF, inside the trust domain): a tel URI is the MSISDN, a SIP URI whose user part is 15
digits the IMSI, an urn:gsma:imei the IMEI (RFC 7254). Without one, the IMSI or IMEI of
`Japan-Roaming-Caller` (codecs/ims_sip.py) is recorded unverified, since a forged IMSI would
point an enquiry at someone else (the seed); the roaming mode comes from the same header.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from corenet.codecs import sip
from corenet.codecs.ims_sip import (
    CALLER_HEADER,
    cell_from_pani,
    dialled_digits,
    parse_roaming_caller,
)
from corenet.codecs.sip import SipRequest
from corenet.core.errors import DecodeError

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    call_id TEXT NOT NULL,
    service_urn TEXT,
    dialled TEXT,
    identity TEXT,
    identity_type TEXT,
    verified INTEGER NOT NULL,
    ecgi TEXT,
    tac INTEGER,
    mode TEXT,
    outcome TEXT NOT NULL,
    callback_outcome TEXT,
    callback_status INTEGER
)
"""


@dataclass
class CallRecord:
    time: str
    call_id: str
    service_urn: str | None
    dialled: str | None
    identity: str | None
    identity_type: str | None
    verified: bool
    ecgi: str | None
    tac: int | None
    mode: str | None
    outcome: str = "answered"
    callback_outcome: str | None = None
    callback_status: int | None = None
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def identity_of(request: SipRequest) -> tuple[str | None, str | None, bool]:
    """(identity, type, verified): asserted, else as the network read it (module docstring)."""
    value = request.header("P-Asserted-Identity")
    if value is None:
        caller = parse_roaming_caller(request.header(CALLER_HEADER))
        if caller is not None and caller.imsi:
            return caller.imsi, "imsi", False
        if caller is not None and caller.imei:
            return caller.imei[:14], "imei", False
        return None, None, False
    try:
        uri = sip.parse_name_addr(value).uri
    except DecodeError:
        return None, None, False
    verified = True
    if uri.scheme == "tel":
        return (uri.user or "").lstrip("+"), "msisdn", verified
    if uri.scheme == "urn" and uri.opaque and uri.opaque.lower().startswith("gsma:imei:"):
        return uri.opaque[len("gsma:imei:"):].replace("-", "")[:14], "imei", False
    user = uri.user or ""
    if user.isdigit() and len(user) == 15:
        return user, "imsi", verified
    return str(uri), "uri", verified


def record_from_invite(request: SipRequest, time: str) -> CallRecord:
    identity, kind, verified = identity_of(request)
    cell = cell_from_pani(request.header("P-Access-Network-Info"))
    try:
        ruri = request.request_uri
        urn = str(ruri) if ruri.is_emergency else None
        dialled = dialled_digits(request.to.uri)
    except DecodeError:
        urn, dialled = None, None
    return CallRecord(time, request.call_id, urn, dialled, identity, kind, verified,
                      cell.ecgi if cell else None, cell.tac if cell else None,
                      _mode(request))


def _mode(request: SipRequest) -> str | None:
    caller = parse_roaming_caller(request.header(CALLER_HEADER))
    return caller.mode if caller else None


class CallStore:
    def __init__(self, path: str = ":memory:") -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(SCHEMA)
        self.db.commit()

    def add(self, rec: CallRecord) -> int:
        cur = self.db.execute(
            "INSERT INTO calls (time, call_id, service_urn, dialled, identity, identity_type,"
            " verified, ecgi, tac, mode, outcome) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (rec.time, rec.call_id, rec.service_urn, rec.dialled, rec.identity,
             rec.identity_type, int(rec.verified), rec.ecgi, rec.tac, rec.mode, rec.outcome))
        self.db.commit()
        rec.id = int(cur.lastrowid or 0)
        return rec.id

    def set_outcome(self, record_id: int, outcome: str) -> None:
        self.db.execute("UPDATE calls SET outcome=? WHERE id=?", (outcome, record_id))
        self.db.commit()

    def set_callback(self, record_id: int, outcome: str, status: int | None) -> None:
        self.db.execute("UPDATE calls SET callback_outcome=?, callback_status=? WHERE id=?",
                        (outcome, status, record_id))
        self.db.commit()

    def by_call_id(self, call_id: str) -> CallRecord | None:
        rows = self._select("WHERE call_id=? ORDER BY id DESC LIMIT 1", (call_id,))
        return rows[0] if rows else None

    def get(self, record_id: int) -> CallRecord | None:
        rows = self._select("WHERE id=?", (record_id,))
        return rows[0] if rows else None

    def all(self) -> list[CallRecord]:
        return self._select("ORDER BY id", ())

    def close(self) -> None:
        self.db.close()

    def _select(self, where: str, args: tuple[Any, ...]) -> list[CallRecord]:
        cur = self.db.execute(
            "SELECT id, time, call_id, service_urn, dialled, identity, identity_type, verified,"
            f" ecgi, tac, mode, outcome, callback_outcome, callback_status FROM calls {where}",
            args)
        return [CallRecord(r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9], r[10],
                           r[11], r[12], r[13], r[0]) for r in cur.fetchall()]
