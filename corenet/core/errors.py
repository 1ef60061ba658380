"""Typed errors. Each carries the cause the catching layer answers with on the wire.

`DecodeError` is the one exception a decoder may raise: the S1AP layer answers it with an
Error Indication (TS 36.413 §8.7.4), NAS with EMM/ESM Status (TS 24.301 §5.7, §6.7), Diameter
with an answer carrying the Result-Code (RFC 6733 §7.1), GTPv2-C with the cause (TS 29.274 §7.7).
"""

from __future__ import annotations

from typing import Any


class CorenetError(Exception):
    """Base of all corenet errors."""


class DecodeError(CorenetError):
    """Bytes from a peer could not be decoded.

    protocol: "s1ap" | "nas" | "diameter" | "gtpv2" | "sip" | ...
    cause:    the wire cause to answer with, in the protocol's own terms:
              s1ap     -> (group, value) of S1AP Cause, e.g. ("protocol", "transfer-syntax-error")
              nas      -> EMM/ESM cause number (TS 24.301 §9.9.3.9 / §9.9.4.4), e.g. 96, 97, 99, 100, 111
              diameter -> Result-Code (RFC 6733 §7.1), e.g. 5004, 5005, 5014, 3008
              gtpv2    -> GTPv2 cause (TS 29.274 Table 8.4-1), e.g. 64..73
    detail:   one human-readable line.
    extra:    protocol specifics (e.g. Diameter "failed_avp" bytes, "hop_by_hop", S1AP "procedure_code").
    """

    def __init__(self, protocol: str, cause: Any, detail: str, **extra: Any) -> None:
        super().__init__(f"{protocol}: {detail} (cause {cause})")
        self.protocol = protocol
        self.cause = cause
        self.detail = detail
        self.extra = extra


class EncodeError(CorenetError):
    """We were asked to build a message that cannot be encoded (a local bug, never peer input)."""


class ConfigError(CorenetError):
    """A configuration file is invalid; the message names the file, the field and the line."""
