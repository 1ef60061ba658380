"""What a SIP user agent core (the transaction user, RFC 3261 §8) takes in and gives out when it
is sans-I/O: the PSAP (`corenet.nf.psap.core`) and the UE's IMS UA (`sim_ue.ims_core`).

In: `SipReceived` (what the transaction layer passed up, §17) and `SendFailed` (a request the
transport could not send, §18.1.1: a transport failure). Out: `SendRequest`, `SendResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass

from corenet.codecs.sip import SipRequest, SipResponse
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
