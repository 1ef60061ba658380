"""What a SIP user agent core (the transaction user, RFC 3261 §8) takes in and gives out when it
is sans-I/O: the PSAP (`corenet.nf.psap.core`) and the UE's IMS UA (`sim_ue.ims_core`).

In: `SipReceived` (what the transaction layer passed up, §17) and `SendFailed` (a request the
transport could not send, §18.1.1: a transport failure). Out: `SendRequest`, `SendResponse`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from corenet.codecs.sip import Header, SipRequest, SipResponse, response_for
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
