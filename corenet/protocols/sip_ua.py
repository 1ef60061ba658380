"""What a SIP user agent core (the transaction user, RFC 3261 §8) takes in and gives out when it
is sans-I/O: the PSAP (`corenet.nf.psap.core`) and the UE's IMS UA (`sim_ue.ims_core`).

In: `SipReceived` (what the transaction layer passed up, §17) and `SendFailed` (a request the
transport could not send, §18.1.1: a transport failure). Out: `SendRequest`, `SendResponse`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from corenet.codecs.sip import MAGIC_COOKIE, Header, SipRequest, SipResponse, response_for
from corenet.protocols.sip_transactions import Event, SipPeer


@dataclass(frozen=True)
class SipReceived:
    """What the SIP transaction layer passed up (RFC 3261 §17), and from where."""

    event: Event
    peer: SipPeer


@dataclass(frozen=True)
class SendFailed:
    """A request the transport could not send (no TCP connection): a transport failure."""

    request: SipRequest


@dataclass(frozen=True)
class SendRequest:
    request: SipRequest
    peer: SipPeer


@dataclass(frozen=True)
class SendResponse:
    response: SipResponse
    peer: SipPeer


def dialog_response(request: SipRequest, status: int, *, to_tag: str, contact: str,
                    headers: Iterable[Header | tuple[str, str]] = (), body: bytes = b"",
                    content_type: str | None = None) -> SipResponse:
    """RFC 3261 §12.1.1: a UAS response that creates a dialog (a 101-199 with a To-tag, or a
    2xx) copies every Record-Route of the request, in order, and carries the UAS's Contact, so
    the caller's route set and remote target lead back through the same proxies."""
    rr = [Header("Record-Route", r) for r in request.headers_all("Record-Route")]
    return response_for(request, status, to_tag=to_tag,
                        headers=[*rr, Header("Contact", contact), *headers], body=body,
                        content_type=content_type)


class SipIds:
    """The identifiers a UA makes up: Call-IDs (RFC 3261 §8.1.1.4), tags (§19.3: at least 32
    random bits) and Via branches (§8.1.1.7). From the system's randomness by default; from a
    seeded generator (`seeded`) when a run must be reproducible byte for byte (a capture made
    with `--seed`): still unique within the run, the same in every run with that seed."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.SystemRandom()

    @classmethod
    def seeded(cls, seed: int | None, label: str) -> SipIds:
        """Seeded by (`seed`, `label`), one label per UA; system randomness if `seed` is None."""
        return cls(None if seed is None else random.Random(f"sip-ids:{label}:{seed}"))

    def hex(self, octets: int) -> str:
        return f"{self._rng.getrandbits(8 * octets):0{2 * octets}x}"

    def tag(self) -> str:
        return self.hex(6)

    def call_id(self, host: str) -> str:
        return f"{self.hex(10)}@{host}"

    def branch(self) -> str:
        return MAGIC_COOKIE + self.hex(8)
