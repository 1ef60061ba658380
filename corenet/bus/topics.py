"""The activation bus topic tree, version 1.

Every topic starts with ``corenet/v1``; a change that breaks a payload bumps the version segment so
old and new operators can share one broker. Operators are named by PLMN (MCC+MNC, TS 23.003 §2.2),
which is also their MQTT username, so a broker ACL can bind each topic to its only writer.

=====================================================  ========  =====  ======  ===================
topic                                                  schema    QoS    retain  written by
=====================================================  ========  =====  ======  ===================
``corenet/v1/{plmn}/status``                           status    1      yes     operator {plmn}
``corenet/v1/{rescuer}/orders/{affected}``             request   1      no      affected operator
``corenet/v1/{affected}/acks/{rescuer}``               ack       1      no      rescuing operator
``corenet/v1/{plmn}/events``                           event     1      no      operator {plmn}
``corenet/v1/disasters``                               disaster  1      no      disaster feed
=====================================================  ========  =====  ======  ===================

Orders (the common request format, steps 4-7 of the activation flow) are addressed to one rescuer
and name their sender in the last segment; acknowledgements (step 8) travel the other way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from corenet.core.plmn import Plmn

VERSION = "v1"
ROOT = f"corenet/{VERSION}"
DISASTERS = f"{ROOT}/disasters"


class Kind(enum.Enum):
    """Topic kinds; the value is the JSON Schema file (schemas/<value>.json) of the payload."""

    STATUS = "status"
    ORDER = "request"
    ACK = "ack"
    EVENT = "event"
    DISASTER = "disaster"


QOS: dict[Kind, int] = {kind: 1 for kind in Kind}
RETAIN: dict[Kind, bool] = {kind: kind is Kind.STATUS for kind in Kind}


@dataclass(frozen=True)
class Topic:
    """A parsed topic: its kind, the operator it belongs to, and the peer it names (orders: the
    sender; acks: the rescuer)."""

    kind: Kind
    operator: Plmn | None = None
    peer: Plmn | None = None

    def __str__(self) -> str:
        if self.kind is Kind.DISASTER:
            return DISASTERS
        if self.kind is Kind.STATUS:
            return f"{ROOT}/{self.operator}/status"
        if self.kind is Kind.EVENT:
            return f"{ROOT}/{self.operator}/events"
        segment = "orders" if self.kind is Kind.ORDER else "acks"
        return f"{ROOT}/{self.operator}/{segment}/{self.peer}"


def status(operator: Plmn) -> str:
    return str(Topic(Kind.STATUS, operator))


def events(operator: Plmn) -> str:
    return str(Topic(Kind.EVENT, operator))


def order(rescuer: Plmn, affected: Plmn) -> str:
    return str(Topic(Kind.ORDER, rescuer, affected))


def ack(affected: Plmn, rescuer: Plmn) -> str:
    return str(Topic(Kind.ACK, affected, rescuer))


def orders_for(rescuer: Plmn) -> str:
    """Subscription filter: every order addressed to `rescuer`."""
    return f"{ROOT}/{rescuer}/orders/+"


def acks_for(affected: Plmn) -> str:
    """Subscription filter: every acknowledgement addressed to `affected`."""
    return f"{ROOT}/{affected}/acks/+"


ALL_STATUS = f"{ROOT}/+/status"
ALL_EVENTS = f"{ROOT}/+/events"


def parse(topic: str) -> Topic:
    """Topic text -> Topic; ValueError when it is not in the v1 tree."""
    if topic == DISASTERS:
        return Topic(Kind.DISASTER)
    parts = topic.split("/")
    if parts[:2] != ["corenet", VERSION] or len(parts) not in (4, 5):
        raise ValueError(f"not a corenet/{VERSION} topic: {topic!r}")
    operator = Plmn.parse(parts[2])
    if len(parts) == 4 and parts[3] in ("status", "events"):
        return Topic(Kind.STATUS if parts[3] == "status" else Kind.EVENT, operator)
    if len(parts) == 5 and parts[3] in ("orders", "acks"):
        kind = Kind.ORDER if parts[3] == "orders" else Kind.ACK
        return Topic(kind, operator, Plmn.parse(parts[4]))
    raise ValueError(f"unknown corenet/{VERSION} topic: {topic!r}")


def acl_lines() -> list[str]:
    """A mosquitto ACL (mosquitto.conf(5) acl_file, %u = username = PLMN) binding every topic to
    its only writer, so one operator cannot order or acknowledge in another's name."""
    return [
        f"pattern readwrite {ROOT}/%u/status",
        f"pattern read {ALL_STATUS}",
        f"pattern readwrite {ROOT}/%u/events",
        f"pattern read {ALL_EVENTS}",
        f"pattern write {ROOT}/+/orders/%u",
        f"pattern read {ROOT}/%u/orders/+",
        f"pattern write {ROOT}/+/acks/%u",
        f"pattern read {ROOT}/%u/acks/+",
        f"pattern readwrite {DISASTERS}",
    ]


def writer(topic: str) -> str | None:
    """The only username (PLMN) allowed to publish on `topic`; "*" for the disaster feed; None
    for topics outside the tree. Same rule as `acl_lines`."""
    try:
        where = parse(topic)
    except ValueError:
        return None
    if where.kind is Kind.DISASTER:
        return "*"
    if where.kind in (Kind.ORDER, Kind.ACK):
        return str(where.peer)
    return str(where.operator)
