"""The rescuing operator's side of the request exchange (steps ⑦-⑩), sans-I/O.

`Rescuer.handle_order(topic, data, now)` returns what to publish: an acknowledgement or refusal on
the affected operator's ack topic, a `configured` event once the accepted request has been applied,
or an `error` event naming the field when the payload fails its schema (and nothing changes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from corenet.activation.request import Ack, ActivationRequest, OwnNetwork, Refusal, check_request
from corenet.bus import topics
from corenet.bus.topics import Kind
from corenet.bus.validate import PayloadError, load


@dataclass(frozen=True)
class Publish:
    topic: str
    kind: Kind
    payload: dict[str, Any]


class RescuerConfigurator(Protocol):
    """Reconfigures the rescuer for an accepted request: MME roaming policy, the PLMN its eNBs
    broadcast, the "JPN-ROAM X" network name. Returns the changes made, one line each."""

    def apply(self, request: ActivationRequest) -> list[str]: ...


@dataclass
class RecordingConfigurator:
    """Applies nothing; records each request it was asked to apply."""

    applied: list[ActivationRequest] = field(default_factory=list)

    def apply(self, request: ActivationRequest) -> list[str]:
        self.applied.append(request)
        return [
            f"mme: admit roamers of {request.affected} ({request.mode.value})",
            f"enb: broadcast roaming PLMN in TACs {list(request.area.tacs)}",
            f"enb: network name JPN-ROAM for {request.affected}",
        ]


def event(operator: str, kind: str, now: dt.datetime, **extra: Any) -> dict[str, Any]:
    return {"operator": operator, "type": kind, "at": now.isoformat(), **extra}


@dataclass
class Rescuer:
    own: OwnNetwork
    configurator: RescuerConfigurator
    answered: dict[str, Ack] = field(default_factory=dict)

    def handle_order(self, topic: str, data: bytes, now: dt.datetime) -> list[Publish]:
        me = str(self.own.plmn)
        try:
            where = topics.parse(topic)
            payload = load(Kind.ORDER, data)
            request = ActivationRequest.from_json(payload)
        except PayloadError as exc:
            return [self._error(now, topic, exc.field, exc.message)]
        except ValueError as exc:
            return [self._error(now, topic, "$topic", str(exc))]
        previous = self.answered.get(request.request_id)
        if previous is not None:
            # A resent order (the sender's outbox after a reconnect): answer it again, once applied.
            return [self._ack(previous)]
        if where.peer != request.affected:
            ack = Ack(request.request_id, self.own.plmn, request.affected, False, None, (),
                      (Refusal("unauthorised", f"sent by {where.peer}, not {request.affected}"),),
                      now)
            return [self._ack(ack)]
        ack = check_request(request, self.own, now)
        self.answered[request.request_id] = ack
        out = [self._ack(ack)]
        if ack.accepted:
            changes = self.configurator.apply(request)
            out.append(Publish(topics.events(self.own.plmn), Kind.EVENT, event(
                me, "configured", now, request_id=request.request_id,
                detail={"changes": changes},
            )))
        return out

    def _ack(self, ack: Ack) -> Publish:
        return Publish(topics.ack(ack.affected, ack.rescuer), Kind.ACK, ack.to_json())

    def _error(self, now: dt.datetime, topic: str, name: str, message: str) -> Publish:
        return Publish(topics.events(self.own.plmn), Kind.EVENT, event(
            str(self.own.plmn), "error", now, field=name, message=message, topic=topic,
        ))
