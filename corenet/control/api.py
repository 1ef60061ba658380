"""The control API's types, shared by every control endpoint: a request is a plain dict,
validated by a pydantic model of its operation; the answer is a plain dict; what must happen
elsewhere (log an event, make an HSS stop answering) comes back as actions.

The operations on the MME's roaming policy are carried out by `corenet.nf.mme.control`; an HSS
running alone serves only its own failure injection (`HssControl`).

Operations (`op`):
  policy.list                                   every rule
  policy.get   home_plmn [tac]                  the rule in force (a TA rule wins)
  policy.set   home_plmn mode [tacs] [options]  add or replace the rule for (PLMN, TAs)
  fail         failure [home_plmn] [how]        hss-unreachable (drop | close) or home-core-failed
  restore      [home_plmn]                      undo injected failures (all PLMNs when omitted)
  status                                        policies, failures, what the MME sees of the HSSs
  name.set     full [short]                     the network name roamers are told ("JPN-ROAM X")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from corenet.config.models import PlmnStr, RoamingMode
from corenet.core.actions import LogEvent

Failure = Literal["hss-unreachable", "home-core-failed"]
# how an unreachable HSS behaves: drop requests and watchdogs silently, or close its sockets
How = Literal["drop", "close"]
A = TypeVar("A")


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyList(_Op):
    op: Literal["policy.list"]


class PolicyGet(_Op):
    op: Literal["policy.get"]
    home_plmn: PlmnStr
    tac: int | None = Field(default=None, ge=0, le=0xFFFF)


class PolicySet(_Op):
    op: Literal["policy.set"]
    home_plmn: PlmnStr
    mode: RoamingMode
    tacs: list[Annotated[int, Field(ge=0, le=0xFFFF)]] | None = None
    # omitted: kept from the rule replaced (or the default)
    try_aka_first: bool | None = None
    allow_imei_only: bool | None = None
    fallback_unauth_when_hss_down: bool | None = None
    on_home_core_failed: RoamingMode | Literal["unchanged"] | None = None


class Fail(_Op):
    op: Literal["fail"]
    failure: Failure
    home_plmn: PlmnStr = "44010"
    how: How = "drop"


class Restore(_Op):
    op: Literal["restore"]
    home_plmn: PlmnStr | None = None


class Status(_Op):
    op: Literal["status"]


class NameSet(_Op):
    """TS 24.301 §9.9.3.24 network name of EMM INFORMATION (§5.4.5); short omitted = full."""

    op: Literal["name.set"]
    full: Annotated[str, Field(min_length=1, max_length=64)]
    short: Annotated[str, Field(min_length=1, max_length=64)] | None = None


Request = Annotated[PolicyList | PolicyGet | PolicySet | Fail | Restore | Status | NameSet,
                    Field(discriminator="op")]
_REQUEST: TypeAdapter[Any] = TypeAdapter(Request)


@dataclass(frozen=True)
class SetHssFailure:
    """Make the home HSS of `realm` unreachable (`failure` = how) or serve again (None)."""

    realm: str
    failure: How | None


# what any control endpoint may ask of the process it runs in; a network function's own
# operations add their actions (corenet.nf.mme.control)
ControlAction = LogEvent | SetHssFailure


@dataclass
class ControlResult(Generic[A]):
    response: dict[str, Any]
    actions: list[A] = field(default_factory=list)


def parse(request: Any) -> Any:
    """The validated operation, or a ValueError naming what is wrong (one line)."""
    try:
        return _REQUEST.validate_python(request)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise ValueError(f"{where}: {first['msg']}") from None


def error(message: str) -> ControlResult[Any]:
    return ControlResult({"ok": False, "error": message})


class HssControl:
    """The control endpoint of an HSS running alone: only its own failure injection."""

    def __init__(self, realm: str, target: Any) -> None:
        self.realm = realm
        self.target = target
        self.failure: str | None = None

    def handle(self, request: Any, now: float) -> ControlResult[ControlAction]:
        try:
            op = parse(request)
        except ValueError as exc:
            return error(str(exc))
        if isinstance(op, Fail) and op.failure == "hss-unreachable":
            self.failure = op.how
        elif isinstance(op, Restore):
            self.failure = None
        elif not isinstance(op, Status):
            return error(f"{op.op}: not served by an HSS (only fail hss-unreachable, restore, "
                         "status)")
        if not isinstance(op, Status):
            self.target.inject_failure(self.failure)
        return ControlResult({"ok": True, "realm": self.realm, "failure": self.failure},
                             [LogEvent("hss.failure", {"failure": self.failure, "at": now})])
