"""The codec boundary shared by every protocol.

A codec turns bytes into a `Message` and back. pycrate implements each codec today; a faster
implementation can be slotted in behind the same `Codec` protocol and is accepted only once the
tests prove it byte-identical to pycrate's output.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

from corenet.core.plmn import Plmn


@dataclass(frozen=True)
class Message:
    """A decoded (or to-be-encoded) message.

    protocol: "s1ap" | "nas" | "diameter" | "gtpv2" | "sip"
    name:     the spec's message name, e.g. "InitialUEMessage", "AttachRequest", "ULA",
              "CreateSessionRequest"
    code:     the number identifying it on the wire (S1AP procedureCode, NAS message type,
              Diameter command code, GTPv2 message type)
    fields:   IE values by spec name (Python values; bytes stay bytes, see `to_jsonable`)
    """

    protocol: str
    name: str
    code: int
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "message": self.name,
            "code": self.code,
            "fields": to_jsonable(self.fields),
        }


class Codec(Protocol):
    """One per protocol. `decode` raises only corenet.core.errors.DecodeError."""

    protocol: str

    def encode(self, msg: Message) -> bytes: ...

    def decode(self, data: bytes) -> Message: ...


def to_jsonable(value: Any) -> Any:
    """Bytes become lowercase hex; tuples become lists; dict keys become strings; dataclasses
    become dicts; PLMNs their MCCMNC text; enums their value; times ISO 8601 text."""
    if isinstance(value, Plmn):
        return str(value)
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(to_jsonable(v) for v in value)
    return value
