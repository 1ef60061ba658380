"""The sans-I/O CBC: `CbcCore.handle(event, now) -> list[Action]`.

The CBC side of the warning procedures of TS 23.041 §9.1.3.5 over SBc-AP (TS 29.168): it sends
Write-Replace Warning and Stop Warning Requests to its MMEs, matches their responses by
(Message Identifier, Serial Number), takes the Write-Replace / Stop Warning Indications and the
PWS Restart / Failure Indications, and answers what it cannot decode (TS 29.168 §4.4, with the
causes of TS 36.413 §10). After a PWS Restart Indication it sends the warnings still running
in the restarted tracking areas again (TS 23.041 §9.1.3.5.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corenet.codecs import sbcap
from corenet.codecs.base import Message
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.errors import DecodeError, EncodeError

# Guard on an MME's response to a request (TS 29.168 names no timer; the CBC gives up after it).
RESPONSE_TIMER = "SBcResponse"
RESPONSE_GUARD_S = 5.0


@dataclass(frozen=True)
class MmeUp:
    """The SCTP association to an MME is up (TS 29.168 §4.1.3: the CBC establishes it)."""

    peer: int


@dataclass(frozen=True)
class MmeDown:
    peer: int


@dataclass(frozen=True)
class SbcapReceived:
    peer: int
    data: bytes


@dataclass(frozen=True)
class Send:
    """Send these Write-Replace Warning / Stop Warning Requests to every MME that is up."""

    requests: tuple[Message, ...]


Event = MmeUp | MmeDown | SbcapReceived | Send | TimerExpired


@dataclass(frozen=True)
class SendSbcap:
    peer: int
    data: bytes


@dataclass(frozen=True)
class Answered:
    """An MME's response to a request, or None when none came in time."""

    peer: int
    key: tuple[int, int]
    response: Message | None


@dataclass(frozen=True)
class Indicated:
    """An indication from an MME (Write-Replace / Stop Warning, PWS Restart / Failure)."""

    peer: int
    message: Message


Action = SendSbcap | Answered | Indicated | StartTimer | StopTimer | LogEvent

_RESPONSES = {"Write-Replace-Warning-Response", "Stop-Warning-Response"}
_INDICATIONS = {"Write-Replace-Warning-Indication", "Stop-Warning-Indication",
                "PWS-Restart-Indication", "PWS-Failure-Indication"}


def key_of(msg: Message) -> tuple[int, int]:
    """A warning is named by its Message Identifier and Serial Number (TS 23.041 §9.4.1.2)."""
    return int(msg.fields["Message-Identifier"]), int(msg.fields["Serial-Number"])


@dataclass
class CbcCore:
    peers: set[int] = field(default_factory=set)
    # (peer, key) -> the request waiting for its response
    pending: dict[tuple[int, tuple[int, int]], Message] = field(default_factory=dict)
    # key -> the Write-Replace Warning Request of a warning being broadcast
    active: dict[tuple[int, int], Message] = field(default_factory=dict)
    _out: list[Action] = field(default_factory=list)

    def handle(self, event: Event, now: float) -> list[Action]:
        self._out = []
        if isinstance(event, MmeUp):
            self.peers.add(event.peer)
            self._log("cbc.mme.up", peer=event.peer)
        elif isinstance(event, MmeDown):
            self._on_down(event.peer)
        elif isinstance(event, Send):
            for request in event.requests:
                for peer in sorted(self.peers):
                    self._request(peer, request)
        elif isinstance(event, SbcapReceived):
            self._on_sbcap(event.peer, event.data)
        elif isinstance(event, TimerExpired) and event.name == RESPONSE_TIMER:
            ident: Any = event.key  # (peer, (Message Identifier, Serial Number))
            self._timeout(int(ident[0]), (int(ident[1][0]), int(ident[1][1])))
        out, self._out = self._out, []
        return out

    def _timeout(self, peer: int, key: tuple[int, int]) -> None:
        if self.pending.pop((peer, key), None) is not None:
            self._log("cbc.response.timeout", peer=peer, message_identifier=key[0])
            self._out.append(Answered(peer, key, None))

    def _log(self, kind: str, **data: Any) -> None:
        self._out.append(LogEvent(kind, data))

    def _send(self, peer: int, msg: Message) -> None:
        try:
            self._out.append(SendSbcap(peer, sbcap.encode(msg)))
        except EncodeError as exc:
            self._log("cbc.encode_failed", message=msg.name, detail=str(exc))

    def _request(self, peer: int, request: Message) -> None:
        key = key_of(request)
        if request.name == "Write-Replace-Warning-Request":
            self.active[key] = request
        else:
            self.active.pop(key, None)
        self.pending[(peer, key)] = request
        self._send(peer, request)
        self._out.append(StartTimer(RESPONSE_TIMER, (peer, key), RESPONSE_GUARD_S))

    def _on_down(self, peer: int) -> None:
        self.peers.discard(peer)
        for pk in [pk for pk in self.pending if pk[0] == peer]:
            del self.pending[pk]
            self._out += [StopTimer(RESPONSE_TIMER, pk), Answered(peer, pk[1], None)]
        self._log("cbc.mme.down", peer=peer)

    def _on_sbcap(self, peer: int, data: bytes) -> None:
        try:
            msg = sbcap.decode(data)
        except DecodeError as err:
            self._log("cbc.sbcap.error", peer=peer, cause=err.cause, detail=err.detail)
            answer = sbcap.answer_for(err)
            if answer is not None:
                self._send(peer, answer)
            return
        if msg.name in _RESPONSES:
            key = key_of(msg)
            if self.pending.pop((peer, key), None) is None:
                self._log("cbc.response.unexpected", peer=peer, message=msg.name)
                return
            self._out += [StopTimer(RESPONSE_TIMER, (peer, key)), Answered(peer, key, msg)]
            self._log("cbc.response", peer=peer, message=msg.name, message_identifier=key[0],
                      cause=sbcap.CAUSE_NAMES.get(msg.fields["Cause"], msg.fields["Cause"]))
        elif msg.name in _INDICATIONS:
            self._out.append(Indicated(peer, msg))
            self._log("cbc.indication", peer=peer, message=msg.name)
            if msg.name == "PWS-Restart-Indication":
                self._on_restart(peer, msg)
        elif msg.name == "Error-Indication":
            self._log("cbc.error_indication", peer=peer, cause=msg.fields.get("Cause"))
        else:
            # TS 36.413 §10.4: a request the CBC never serves (it is the initiator of both
            # class 1 procedures) is a message not compatible with the receiver state.
            self._send(peer, sbcap.error_indication(
                sbcap.CAUSES["message-not-compatible-with-receiver-state"]))

    def _on_restart(self, peer: int, msg: Message) -> None:
        """TS 23.041 §9.1.3.5.3: on a PWS Restart Indication the CBC may send its running
        warnings again, to the restarted tracking areas."""
        restarted = [i["tai"] for i in msg.fields.get("List-of-TAIs-Restart", [])]
        for request in list(self.active.values()):
            fields = dict(request.fields)
            fields["List-of-TAIs"] = [{"tai": t} for t in restarted]
            self._request(peer, Message(request.protocol, request.name, request.code, fields))
