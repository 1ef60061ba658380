"""The common request format (共通のフォーマット, steps ④-⑦) and the rescuer's answer (step ⑧).

The affected operator sends one request to each rescuer; a common, schema-checked format avoids
misreadings and omissions and speeds up the rescuer's check. The rescuer answers with an
acknowledgement or a refusal whose reasons come from its own-network check.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from corenet.activation.flow import Mode
from corenet.bus.topics import Kind
from corenet.bus.validate import validate
from corenet.core.plmn import Plmn

FORMAT_VERSION = "1"


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _parse_ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    role: str = ""
    email: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"name": self.name, "phone": self.phone}
        if self.role:
            out["role"] = self.role
        if self.email:
            out["email"] = self.email
        return out


@dataclass(frozen=True)
class Area:
    """Prefectures (JIS X 0401 codes) and the TACs (TS 23.003 §19.4.2.3) to serve."""

    prefectures: tuple[str, ...]
    tacs: tuple[int, ...]


@dataclass(frozen=True)
class ActivationRequest:
    request_id: str
    affected: Plmn
    rescuers: tuple[Plmn, ...]
    mode: Mode
    area: Area
    requested_start: dt.datetime
    contacts: tuple[Contact, ...]
    reason: str
    version: str = FORMAT_VERSION

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def to_json(self) -> dict[str, Any]:
        return validate(Kind.ORDER, {
            "request_id": self.request_id,
            "version": self.version,
            "affected": str(self.affected),
            "rescuers": [str(p) for p in self.rescuers],
            "mode": self.mode.value,
            "area": {"prefectures": list(self.area.prefectures), "tacs": list(self.area.tacs)},
            "requested_start": _ts(self.requested_start),
            "contacts": [c.to_json() for c in self.contacts],
            "reason": self.reason,
        })

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ActivationRequest:
        """From a payload; raises corenet.bus.validate.PayloadError naming the bad field."""
        v = validate(Kind.ORDER, value)
        return cls(
            request_id=v["request_id"],
            affected=Plmn.parse(v["affected"]),
            rescuers=tuple(Plmn.parse(p) for p in v["rescuers"]),
            mode=Mode(v["mode"]),
            area=Area(tuple(v["area"]["prefectures"]), tuple(v["area"]["tacs"])),
            requested_start=_parse_ts(v["requested_start"]),
            contacts=tuple(
                Contact(c["name"], c["phone"], c.get("role", ""), c.get("email", ""))
                for c in v["contacts"]
            ),
            reason=v["reason"],
            version=v["version"],
        )


@dataclass(frozen=True)
class Refusal:
    code: str  # ack.json reasons[].code
    text: str


@dataclass(frozen=True)
class Ack:
    request_id: str
    rescuer: Plmn
    affected: Plmn
    accepted: bool
    mode: Mode | None
    tacs: tuple[int, ...]
    reasons: tuple[Refusal, ...]
    decided_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return validate(Kind.ACK, {
            "request_id": self.request_id,
            "version": FORMAT_VERSION,
            "rescuer": str(self.rescuer),
            "affected": str(self.affected),
            "accepted": self.accepted,
            "mode": self.mode.value if self.mode else None,
            "tacs": list(self.tacs),
            "reasons": [{"code": r.code, "text": r.text} for r in self.reasons],
            "decided_at": _ts(self.decided_at),
        })

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Ack:
        v = validate(Kind.ACK, value)
        return cls(
            request_id=v["request_id"],
            rescuer=Plmn.parse(v["rescuer"]),
            affected=Plmn.parse(v["affected"]),
            accepted=v["accepted"],
            mode=Mode(v["mode"]) if v.get("mode") else None,
            tacs=tuple(v.get("tacs", [])),
            reasons=tuple(Refusal(r["code"], r["text"]) for r in v["reasons"]),
            decided_at=_parse_ts(v["decided_at"]),
        )


@dataclass(frozen=True)
class OwnNetwork:
    """What the rescuer knows of its own network at step ⑧ (自社網の状態確認)."""

    plmn: Plmn
    authorised: frozenset[Plmn]  # operators with a roaming agreement for JAPAN Roaming
    tacs: frozenset[int]  # tracking areas it covers
    spare_capacity_ues: int = 100_000
    supports_emergency_only: bool = True
    impaired: bool = False  # its own network is hit by the same disaster
    expected_roamers: int = field(default=0)


def check_request(req: ActivationRequest, own: OwnNetwork, now: dt.datetime) -> Ack:
    """Step ⑦ receive and check the request, step ⑧ decide what can be offered."""
    reasons: list[Refusal] = []
    if req.affected not in own.authorised or own.plmn not in req.rescuers:
        reasons.append(Refusal("unauthorised", f"{req.affected} may not order {own.plmn}"))
    if req.mode is Mode.EMERGENCY_ONLY and not own.supports_emergency_only:
        reasons.append(Refusal("mode-unsupported", "emergency-only roaming is not supported"))
    if own.impaired:
        reasons.append(Refusal("own-network-impaired", "own network impaired in the area"))
    if own.expected_roamers > own.spare_capacity_ues:
        reasons.append(Refusal(
            "no-capacity",
            f"{own.expected_roamers} roamers exceed spare capacity {own.spare_capacity_ues}",
        ))
    covered = tuple(t for t in req.area.tacs if t in own.tacs)
    if not covered:
        reasons.append(Refusal("area-not-covered", "none of the requested TACs is covered"))
    if reasons:
        return Ack(req.request_id, own.plmn, req.affected, False, None, (), tuple(reasons), now)
    partial: tuple[Refusal, ...] = ()
    if len(covered) < len(req.area.tacs):
        missing = sorted(set(req.area.tacs) - set(covered))
        partial = (Refusal("partial-area", f"TACs not covered: {missing}"),)
    return Ack(req.request_id, own.plmn, req.affected, True, req.mode, covered, partial, now)
