"""The UE's IMS UA core and the PSAP core wired together in memory (no transaction layer, no
socket): the UE's emergency call is answered and recorded, and the PSAP's call-back reaches
the UE, which answers it; each side's BYE ends its call (RFC 3261 §13, §15; TS 23.167 §7.7)."""

from __future__ import annotations

from collections.abc import Callable

from corenet.codecs.sip import SipRequest
from corenet.config.models import Endpoint, PsapConfig
from corenet.core.actions import StartTimer, TimerExpired
from corenet.core.plmn import Plmn
from corenet.crypto.milenage import Milenage
from corenet.nf.psap.core import (
    CALLBACK_HOLD,
    CallBackFinished,
    CallBackRequested,
    PsapCore,
    StoreCall,
)
from corenet.protocols.sip_transactions import (
    RequestReceived,
    ResponseReceived,
    SipPeer,
    client_key,
    server_key,
)
from corenet.protocols.sip_ua import SendRequest, SendResponse, SipReceived
from sim_ue.dialling import analyse_dialled
from sim_ue.ims_core import CALL_HOLD, CallbackEnded, CallDone, CallOutcome, UaCore
from sim_ue.isim import Isim

UE = ("127.145.0.9", 5060)
PSAP = ("127.0.0.8", 5060)
NOW = 1_767_225_600.0
DOMAIN = "ims.mnc010.mcc440.3gppnetwork.org"


class Wire:
    """Carries each side's SIP actions to the other; other actions are collected."""

    def __init__(self) -> None:
        isim = Isim("440100000000001", "819010000001", Plmn.parse("44010"),
                    Milenage(bytes(16), bytes(16)))
        self.ue = UaCore(isim, UE, SipPeer("UDP", PSAP), hold=1.0)
        self.psap = PsapCore(PsapConfig(database=":memory:", trusted_peers=[UE[0]],
                                        callback_route=Endpoint(host=UE[0], port=UE[1])), PSAP)
        self.requests: dict[str, SipRequest] = {}  # client key -> request, for responses
        self.seen: list[object] = []

    def ue_does(self, actions: list[object]) -> None:
        self._carry(actions, UE, lambda e: self.psap.handle(e, NOW))

    def psap_does(self, actions: list[object]) -> None:
        self._carry(actions, PSAP, self.ue.handle)

    def _carry(self, actions: list[object], source: tuple[str, int],
               other: Callable[[SipReceived], list[object]]) -> None:
        back = self.psap_does if source == UE else self.ue_does
        for a in actions:
            self.seen.append(a)
            if isinstance(a, SendRequest):
                key = server_key(a.request) if a.request.method != "ACK" else None
                if a.request.method != "ACK":
                    self.requests[str(client_key(a.request))] = a.request
                back(other(SipReceived(RequestReceived(a.request, source, key),
                                       SipPeer("UDP", source))))
            elif isinstance(a, SendResponse) and a.response.status >= 200:
                req = self.requests[str(client_key(a.response))]
                back(other(SipReceived(ResponseReceived(a.response, source, client_key(req),
                                                        req), SipPeer("UDP", source))))

    def timer(self, name: str) -> StartTimer:
        return next(a for a in reversed(self.seen)
                    if isinstance(a, StartTimer) and a.name == name)


def test_emergency_call_then_call_back_between_the_two_cores() -> None:
    wire = Wire()
    result, actions = wire.ue.call(analyse_dialled("119", domain=DOMAIN))
    wire.ue_does(actions)
    (stored,) = [a.record for a in wire.seen if isinstance(a, StoreCall)]
    assert stored.service_urn == "urn:service:sos.fire" and stored.dialled == "119"
    wire.ue_does(wire.ue.handle(TimerExpired(CALL_HOLD, wire.timer(CALL_HOLD).key)))
    assert [a.result for a in wire.seen if isinstance(a, CallDone)] == [result]
    assert (result.outcome, result.sip_status) == (CallOutcome.ANSWERED, 200)
    assert wire.psap.dialog_count() == 0  # the UE's BYE ended the PSAP's dialog

    stored.id, stored.identity, stored.identity_type = 1, "819010000001", "msisdn"
    wire.psap_does(wire.psap.handle(CallBackRequested(stored, ref=1), NOW))
    (callback,) = wire.ue.callbacks
    assert callback.sip_status == 200
    wire.psap_does(wire.psap.handle(TimerExpired(CALLBACK_HOLD, wire.timer(CALLBACK_HOLD).key),
                                    NOW + 1))
    assert [a for a in wire.seen if isinstance(a, CallBackFinished)] == [
        CallBackFinished(1, 1, "answered", 200)]
    assert [a.callback for a in wire.seen if isinstance(a, CallbackEnded)] == [callback]
    assert callback.ended_by == "remote"  # the PSAP's BYE came first
