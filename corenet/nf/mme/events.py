"""What goes into the sans-I/O MME (`MmeCore.handle`) and what comes out of it.

In: S1 association changes and S1AP PDUs (TS 36.412 §7: SCTP, one association per eNB), S6a
answers (decoded Diameter messages, or the failure to get one), S11 messages (decoded GTPv2-C
messages, or the transaction layer giving up) and `corenet.core.actions.TimerExpired`.
Out: bytes for an eNB, Diameter requests for a realm, GTPv2-C requests for the S-GW, and the
generic StartTimer / StopTimer / LogEvent of `corenet.core.actions`.

The ones of every attach (S1AP in and out, S6a and S11 requests and answers) write their
fields in their own `__init__`, as `corenet.core.actions` explains.
"""

from __future__ import annotations

from dataclasses import dataclass

from corenet.codecs.base import Message
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.errors import DecodeError

# TS 36.412 §7: stream 0 carries non UE-associated signalling, others UE-associated signalling
STREAM_NON_UE = 0
STREAM_UE = 1


@dataclass(frozen=True)
class S1Up:
    """An eNB opened an SCTP association (TS 36.412 §7)."""

    assoc: int


@dataclass(frozen=True)
class S1Down:
    """The association of an eNB is gone."""

    assoc: int


@dataclass(frozen=True, init=False)
class S1apReceived:
    assoc: int
    data: bytes
    stream: int = 0

    def __init__(self, assoc: int, data: bytes, stream: int = 0) -> None:
        d = self.__dict__  # frozen: written once, here (see corenet.core.actions)
        d["assoc"], d["data"], d["stream"] = assoc, data, stream


@dataclass(frozen=True, init=False)
class S6aAnswer:
    """A Diameter answer to one of our S6a requests."""

    msg: Message

    def __init__(self, msg: Message) -> None:
        self.__dict__["msg"] = msg


@dataclass(frozen=True)
class S6aFailed:
    """No answer can come for the request with this Session-Id (no peer, peer down)."""

    session_id: str
    reason: str


@dataclass(frozen=True)
class S6aPeerDown:
    """The peer of `realm` is unreachable (RFC 3539 §3.4.1 watchdog failure, connection lost)."""

    realm: str
    reason: str


@dataclass(frozen=True)
class S6aPeerUp:
    """The peer of `realm` is open again (CEA, or the watchdog back to OKAY)."""

    realm: str


@dataclass(frozen=True, init=False)
class S11Received:
    """A GTPv2-C message from the S-GW (a response, or a request such as Echo).

    `sequence` is the sequence number the core gave the request this answers, when the
    transaction layer renumbered it on the wire (TS 29.274 §7.6); `peer` is where it came
    from (an Echo Request is answered there, §7.1.1)."""

    msg: Message
    sequence: int | None = None
    peer: tuple[str, int] | None = None

    def __init__(self, msg: Message, sequence: int | None = None,
                 peer: tuple[str, int] | None = None) -> None:
        d = self.__dict__
        d["msg"], d["sequence"], d["peer"] = msg, sequence, peer


@dataclass(frozen=True)
class S11Malformed:
    """A request from the S-GW that failed decoding (TS 29.274 §7.7.4-§7.7.7): answered with
    `error.cause` and its offending IE."""

    error: DecodeError
    peer: tuple[str, int] | None = None


@dataclass(frozen=True)
class S11Failed:
    """The transaction with this sequence number got no response (TS 29.274 §7.6)."""

    sequence: int
    reason: str


@dataclass(frozen=True)
class SbcUp:
    """A CBC opened an SBc-AP association (TS 29.168 §4.1.3)."""

    cbc: int


@dataclass(frozen=True)
class SbcDown:
    cbc: int


@dataclass(frozen=True)
class SbcapReceived:
    cbc: int
    data: bytes


Event = (S1Up | S1Down | S1apReceived | S6aAnswer | S6aFailed | S6aPeerDown | S6aPeerUp
         | S11Received | S11Malformed | S11Failed | TimerExpired | SbcUp | SbcDown | SbcapReceived)


@dataclass(frozen=True, init=False)
class SendS1ap:
    assoc: int
    data: bytes
    stream: int = STREAM_NON_UE

    def __init__(self, assoc: int, data: bytes, stream: int = STREAM_NON_UE) -> None:
        d = self.__dict__
        d["assoc"], d["data"], d["stream"] = assoc, data, stream


@dataclass(frozen=True)
class CloseS1:
    """Shut the association of an eNB down (S1 Setup never completed, too many associations)."""

    assoc: int


@dataclass(frozen=True, init=False)
class SendS6a:
    """An S6a request for the peer serving `realm` (RFC 6733 §6.1.4)."""

    msg: Message
    realm: str

    def __init__(self, msg: Message, realm: str) -> None:
        d = self.__dict__
        d["msg"], d["realm"] = msg, realm


@dataclass(frozen=True, init=False)
class SendS11:
    """A GTPv2-C message for the S-GW, or for `peer` (requests go through the transaction
    layer)."""

    msg: Message
    peer: tuple[str, int] | None = None

    def __init__(self, msg: Message, peer: tuple[str, int] | None = None) -> None:
        d = self.__dict__
        d["msg"], d["peer"] = msg, peer


@dataclass(frozen=True)
class SendSbcap:
    """An SBc-AP message for a CBC (TS 29.168 §4.1.3: PPID 24)."""

    cbc: int
    data: bytes


Action = SendS1ap | CloseS1 | SendS6a | SendS11 | SendSbcap | StartTimer | StopTimer | LogEvent

__all__ = [
    "STREAM_NON_UE", "STREAM_UE", "Action", "CloseS1", "Event", "LogEvent", "S1Down", "S1Up",
    "S1apReceived", "S6aAnswer", "SbcDown", "SbcUp", "SbcapReceived", "SendSbcap", "S6aFailed", "S6aPeerDown", "S6aPeerUp", "S11Failed",
    "S11Malformed", "S11Received", "SendS1ap", "SendS6a", "SendS11", "StartTimer", "StopTimer", "TimerExpired",
]
