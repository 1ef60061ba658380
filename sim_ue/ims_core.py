"""The UE's IMS user agent as a sans-I/O core: registration, calls, answering a call-back.

TS 24.229 UE procedures on top of the SIP transaction layer (RFC 3261 §17), with no socket,
future, sleep or clock inside: the entry points (`register`, `call`, `handle`) return the
actions to carry out (send a request or response, start or stop a named timer, report a
finished procedure). The asyncio side is `sim_ue.ims.ImsUserAgent`.

- IMS registration (TS 24.229 §5.1.1.2) with the IMPU and IMPI of the ISIM, offering the
  security mechanism agreement (RFC 3329 §2.3.1, TS 33.203 §7: `Require`/`Proxy-Require:
  sec-agree`, `Security-Client: ipsec-3gpp`); a 401 with an AKA challenge is answered once
  (§5.1.1.5.1, TS 33.203 §6.1), with `Security-Verify` echoing the P-CSCF's `Security-Server`
  -> `RegistrationDone`; an emergency
  registration (§5.1.6.2: the `sos` URI parameter in Contact) is a registration of its own,
  and an emergency call goes over it when it succeeded, else unregistered (§5.1.6.8.2);
- a call (§5.1.2A.1 normal, §5.1.6.8.2 emergency): INVITE with an SDP offer, ACK of the 2xx
  (RFC 3261 §13.2.2.4), the hold (timer `CallHold`), BYE (§15.1.1) unless the far end hangs up
  first -> `CallDone`; a retransmitted 2xx is ACKed again;
- a call-back (TS 23.167 §7.7) answered as a UAS: 180, 200 with an SDP answer (RFC 3264 §6),
  the hold, BYE unless the far end hangs up first -> `CallbackEnded`;
- every client transaction waits at most `timeout` for its final response (timer
  `SipGuard`, beyond Timer B so the transaction layer decides first).
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass, field
from typing import Any, cast

from corenet.codecs import sdp, sip
from corenet.codecs.sip import Header, SipRequest, SipResponse
from corenet.core.actions import StartTimer, StopTimer, TimerExpired
from corenet.core.errors import DecodeError
from corenet.core.identifiers import imei_uri
from corenet.protocols.sip_transactions import (
    Address,
    Dialog,
    RequestReceived,
    ResponseReceived,
    SipPeer,
    TransactionKey,
    TransactionTimeout,
    TransportFailed,
    client_key,
    via_for,
)
from corenet.protocols.sip_transactions import Event as SipEvent
from corenet.protocols.sip_ua import (
    SendFailed,
    SendRequest,
    SendResponse,
    SipIds,
    SipReceived,
    dialog_response,
)
from sim_ue.dialling import DialAnalysis
from sim_ue.isim import Isim, IsimAuthError, digest_params, digest_response

REGISTER_EXPIRES = 600_000  # TS 24.229 §5.1.1.2.1: the UE proposes 600 000 s
DEFAULT_HOLD = 1.0
DEFAULT_TIMEOUT = 35.0  # beyond Timer B (64*T1) so the transaction layer decides first
USER_AGENT = "corenet-sim-ue"
CALL_HOLD = "CallHold"
SIP_GUARD = "SipGuard"


# ------------------------------------------------------------------------------ outcomes


class CallOutcome(enum.Enum):
    ANSWERED = "answered"
    REJECTED = "rejected"  # the network or the callee refused (4xx/6xx, 3xx)
    BLOCKED = "blocked"  # 403: barred by the network's policy or dial plan
    FAILED = "failed"  # no final response, transport failure, server failure (5xx)
    NOT_ATTEMPTED = "not_attempted"  # the device did not place the call


# RFC 3261 §21.4.4: 403 "the server understood the request, but is refusing to fulfill it"
BLOCKED_STATUSES = frozenset({403})
# §21.4.9 408 and §21.5 5xx: the call did not get through; no one refused it
FAILED_STATUSES = frozenset({408, 500, 502, 503, 504})


def outcome_for(status: int | None) -> CallOutcome:
    """The outcome of an INVITE from its final status (None: no final response)."""
    if status is None or status in FAILED_STATUSES:
        return CallOutcome.FAILED
    if 200 <= status < 300:
        return CallOutcome.ANSWERED
    if status in BLOCKED_STATUSES:
        return CallOutcome.BLOCKED
    return CallOutcome.REJECTED


@dataclass
class CallResult:
    """One call the user placed; `reason` says why it was not attempted or how it ended."""

    dialled: str
    outcome: CallOutcome
    sip_status: int | None = None
    reason: str = ""
    request_uri: str | None = None
    ua: str | None = None  # the UA's address "ip:port"
    registered: bool = False  # over an IMS registration (else unregistered emergency)
    call_id: str | None = None
    # TS 24.229 §5.1.6.1: the final status of the emergency registration attempted before an
    # emergency call (None: none attempted, or no response)
    emergency_registration: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"dialled": self.dialled, "outcome": self.outcome.value,
                "sip_status": self.sip_status, "reason": self.reason,
                "request_uri": self.request_uri, "ua": self.ua, "registered": self.registered,
                "call_id": self.call_id, "emergency_registration": self.emergency_registration}


@dataclass
class CallbackResult:
    """A call the UE received (a PSAP call-back): answered, then ended by BYE."""

    caller: str
    call_id: str
    outcome: str = "answered"  # answered | failed
    sip_status: int | None = None
    ended_by: str | None = None  # "remote" | "local"
    identity: str | None = None  # P-Asserted-Identity the network gave

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Registration:
    status: int | None
    registered: bool
    reason: str = ""
    service_route: list[str] = field(default_factory=list)
    associated: list[str] = field(default_factory=list)
    emergency: bool = False  # TS 24.229 §5.1.6.2 emergency registration


# ------------------------------------------------------------------------------ events, actions


Event = SipReceived | SendFailed | TimerExpired


@dataclass(frozen=True)
class RegistrationDone:
    registration: Registration


@dataclass(frozen=True)
class CallDone:
    result: CallResult


@dataclass(frozen=True)
class CallbackEnded:
    callback: CallbackResult


Action = SendRequest | SendResponse | StartTimer | StopTimer | RegistrationDone | CallDone \
    | CallbackEnded


# ------------------------------------------------------------------------------ the core


class LegKind(enum.Enum):
    CALL = "call"  # a call the user placed
    CALLBACK = "callback"  # a call the UE answered


@dataclass
class _Leg:
    """An established dialog of this UA, and how it ends."""

    kind: LegKind
    dialog: Dialog
    peer: SipPeer
    result: CallResult | None = None
    callback: CallbackResult | None = None
    ended_by: str | None = None
    hanging_up: bool = False


@dataclass
class _Register:
    attempt: int
    emergency: bool = False
    security_verify: list[str] = field(default_factory=list)  # RFC 3329 §2.3.1 step 4


@dataclass
class _Invite:
    invite: SipRequest
    result: CallResult


@dataclass
class _Bye:
    leg: _Leg


_Op = _Register | _Invite | _Bye


class UaCore:
    """The IMS UA of one UE bound at `local` (its PDN address), towards `pcscf`."""

    def __init__(self, isim: Isim, local: Address, pcscf: SipPeer, *,
                 hold: float = DEFAULT_HOLD, timeout: float = DEFAULT_TIMEOUT,
                 pani: str | None = None, rtp_port: int = 40000,
                 imei: str | None = None, ids: SipIds | None = None) -> None:
        self.isim = isim
        self.ids = ids or SipIds()
        self.imei = imei  # the device's, for the +sip.instance of TS 24.229 §5.1.6.8.2
        self.local = local
        self.pcscf = pcscf
        self.hold = hold
        self.timeout = timeout
        self.pani = pani
        self.rtp_port = rtp_port
        self.registration: Registration | None = None
        self.emergency_registration: Registration | None = None
        self.calls: list[CallResult] = []
        self.callbacks: list[CallbackResult] = []
        self._ops: dict[TransactionKey, _Op] = {}
        self._legs: dict[tuple[str, str, str], _Leg] = {}
        self._acks: dict[str, SipRequest] = {}
        self._cseq = 0
        self._call_id = self.ids.call_id(local[0])  # §10.2: one Call-ID for all REGISTERs
        self._reg_tag = self.ids.tag()
        # §5.1.6.2: the emergency registration is a registration of its own (§10.2: its own
        # Call-ID and From-tag)
        self._sos_call_id = self.ids.call_id(local[0])
        self._sos_tag = self.ids.tag()
        # TS 33.203 §7.1: the SPIs this UE offers for its (emulated) security associations
        self._spi_c, self._spi_s = int(self.ids.hex(4), 16), int(self.ids.hex(4), 16)
        self._out: list[Action] = []

    @property
    def ua(self) -> str:
        host, port = self.local
        return f"{host}:{port}"

    # -------------------------------------------------------------- entry points

    def register(self, *, emergency: bool = False) -> list[Action]:
        """Initial registration (TS 24.229 §5.1.1.2), or emergency registration (§5.1.6.2)."""
        self._out = []
        self._request(self.register_request(emergency=emergency), _Register(1, emergency))
        return self._flush()

    def call(self, call: DialAnalysis) -> tuple[CallResult, list[Action]]:
        """Place a call (module docstring); its `CallResult` is filled in until `CallDone`."""
        self._out = []
        # §5.1.6.8.2: an emergency call over the emergency registration when there is one,
        # else unregistered; a normal call over the normal registration
        reg = self.emergency_registration if call.emergency else self.registration
        registered = bool(reg and reg.registered)
        invite = self.invite_request(call, registered=registered)
        result = CallResult(call.dialled, CallOutcome.FAILED, request_uri=call.request_uri,
                            ua=self.ua, registered=registered, call_id=invite.call_id)
        if call.emergency and self.emergency_registration is not None:
            result.emergency_registration = self.emergency_registration.status
        self._request(invite, _Invite(invite, result))
        return result, self._flush()

    def handle(self, event: Event) -> list[Action]:
        self._out = []
        if isinstance(event, SipReceived):
            self._on_sip(event.event, event.peer)
        elif isinstance(event, SendFailed):
            if event.request.method != "ACK":
                self._complete(client_key(event.request), None)
        elif event.name == SIP_GUARD:
            self._complete(cast(TransactionKey, event.key), None)
        elif event.name == CALL_HOLD:
            leg = self._legs.get(event.key)  # type: ignore[call-overload]
            if leg is not None:
                self._hang_up(leg)
        return self._flush()

    def abort(self) -> list[Action]:
        """The UA stops: every open transaction ends without a response, every call ends."""
        self._out = []
        for key in list(self._ops):
            self._complete(key, None)
        for leg in list(self._legs.values()):
            self._leg_over(leg)
        out, self._out = self._out, []
        return [a for a in out if not isinstance(a, SendRequest)]

    # -------------------------------------------------------------- building

    def contact(self, *, sos: bool = False) -> str:
        """The UA's Contact; with `sos`, that of an emergency registration (TS 24.229
        §5.1.6.2: the "sos" SIP URI parameter in the Contact URI)."""
        host, port = self.local
        user = self.isim.impu.split(":", 1)[1].split("@", 1)[0]
        transport = ";transport=tcp" if self.pcscf.transport == "TCP" else ""
        return f"<sip:{user}@{host}:{port}{transport}{';sos' if sos else ''}>"

    def _invite_contact(self, call: DialAnalysis, registered: bool) -> str:
        if not call.emergency:
            return self.contact()
        return self.contact(sos=True) if registered else self.emergency_contact()

    def emergency_contact(self) -> str:
        """TS 24.229 §5.1.6.8.2: the Contact of an unregistered emergency INVITE names the
        UA's address and no public user identity (the network has authenticated none), with
        the IMEI as instance ID (RFC 5626 §4.1, RFC 7254)."""
        host, port = self.local
        transport = ";transport=tcp" if self.pcscf.transport == "TCP" else ""
        instance = f';+sip.instance="<{imei_uri(self.imei)}>"' if self.imei else ""
        return f"<sip:{host}:{port}{transport}>{instance}"

    def via(self, peer: SipPeer | None = None) -> str:
        return via_for((peer or self.pcscf).transport, self.local, self.ids.branch())

    def _common(self) -> list[Header]:
        hs = [Header("User-Agent", USER_AGENT)]
        if self.pani:
            hs.append(Header("P-Access-Network-Info", self.pani))
        return hs

    def security_client(self) -> str:
        """TS 33.203 §7.1, TS 24.229 §5.1.1.2.1: the mechanism the UE supports; the IPsec
        security associations are emulated, the ports are those the signalling uses."""
        port = self.local[1]
        return (f"ipsec-3gpp; alg=hmac-sha-1-96; spi-c={self._spi_c}; spi-s={self._spi_s}; "
                f"port-c={port}; port-s={port}")

    def register_request(self, authorization: str | None = None, *,
                         emergency: bool = False,
                         security_verify: list[str] | None = None) -> SipRequest:
        """TS 24.229 §5.1.1.2.1: Request-URI = home domain, From = To = the IMPU, Contact =
        the UA's address, Authorization with the IMPI (and the answer to a challenge), the
        security agreement of RFC 3329 (Security-Verify: what the 401 offered, §5.1.1.5.1);
        for an emergency registration (§5.1.6.2) the Contact carries the "sos" parameter."""
        self._cseq += 1
        domain = self.isim.domain
        auth = authorization or (
            f'Digest username="{self.isim.impi}", realm="{domain}", uri="sip:{domain}", '
            'nonce="", response=""')
        headers = [Header("Expires", str(REGISTER_EXPIRES)), Header("Authorization", auth),
                   Header("Require", "sec-agree"), Header("Proxy-Require", "sec-agree"),
                   Header("Security-Client", self.security_client()),
                   *(Header("Security-Verify", v) for v in security_verify or ()),
                   Header("Supported", "path, sec-agree"), *self._common()]
        tag, call_id = (self._sos_tag, self._sos_call_id) if emergency else \
            (self._reg_tag, self._call_id)
        return sip.make_request(
            "REGISTER", f"sip:{domain}", from_=f"<{self.isim.impu}>;tag={tag}",
            to=f"<{self.isim.impu}>", call_id=call_id, cseq=self._cseq, via=self.via(),
            contact=self.contact(sos=emergency), headers=headers)

    def invite_request(self, call: DialAnalysis, *, registered: bool) -> SipRequest:
        """TS 24.229 §5.1.2A.1 (normal) and §5.1.6.8.2 (emergency) INVITE with an SDP offer
        (RFC 3264 §5)."""
        host, _ = self.local
        headers = self._common()
        if registered:
            # §5.1.2A.1.1: the public user identity this call is made from
            headers.append(Header("P-Preferred-Identity", f"<{self.isim.impu}>"))
        if call.privacy:
            headers.append(Header("Privacy", call.privacy))
        if call.emergency:
            headers.append(Header("Subject", "Emergency call"))
        offer = sdp.encode(sdp.audio_offer(host, self.rtp_port))
        from_uri = self.isim.impu if registered else "sip:anonymous@anonymous.invalid"
        return sip.make_request(
            "INVITE", call.request_uri, from_=f"<{from_uri}>;tag={self.ids.tag()}",
            to=f"<{call.to_uri}>", call_id=self.ids.call_id(host), cseq=1, via=self.via(),
            contact=self._invite_contact(call, registered), headers=headers, body=offer,
            content_type="application/sdp")

    def _answer_challenge(self, resp: SipResponse) -> str:
        """TS 33.203 §6.1, RFC 3310 §3.2-3.4: the Authorization answering an AKA challenge."""
        value = resp.header("WWW-Authenticate")
        if value is None:
            raise IsimAuthError("401 without WWW-Authenticate")
        params = digest_params(value)
        if not params.get("algorithm", "").upper().startswith("AKAV1"):
            raise IsimAuthError(f"algorithm {params.get('algorithm')!r} is not IMS AKA")
        realm, nonce = params.get("realm", self.isim.domain), params.get("nonce", "")
        res, auts = self.isim.challenge(nonce)
        uri = f"sip:{self.isim.domain}"
        qop = "auth" if "auth" in params.get("qop", "").split(",") else None
        nc, cnonce = "00000001", self.ids.hex(8)
        response = digest_response(self.isim.impi, realm, res or b"", "REGISTER", uri, nonce,
                                   qop, nc, cnonce)
        parts = [f'username="{self.isim.impi}"', f'realm="{realm}"', f'nonce="{nonce}"',
                 f'uri="{uri}"', f'response="{response}"', "algorithm=AKAv1-MD5"]
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        if auts is not None:
            # RFC 3310 §3.4: re-synchronisation, AUTS in the Authorization header
            parts.append(f'auts="{base64.b64encode(auts).decode()}"')
        if "opaque" in params:
            parts.append(f'opaque="{params["opaque"]}"')
        return "Digest " + ", ".join(parts)

    # -------------------------------------------------------------- client transactions

    def _request(self, request: SipRequest, op: _Op, peer: SipPeer | None = None) -> None:
        key = client_key(request)
        self._ops[key] = op
        self._out.append(SendRequest(request, peer or self.pcscf))
        self._out.append(StartTimer(SIP_GUARD, key, self.timeout))

    def _complete(self, key: TransactionKey, resp: SipResponse | None) -> None:
        """The final response of a client transaction, or None: Timer B/F, a transport
        failure (RFC 3261 §17.1.4) or no answer within `timeout`."""
        op = self._ops.pop(key, None)
        if op is None:
            return
        self._out.append(StopTimer(SIP_GUARD, key))
        if isinstance(op, _Register):
            self._registered(op, resp)
        elif isinstance(op, _Invite):
            self._invited(op, resp)
        else:
            self._leg_over(op.leg)

    def _registered(self, op: _Register, resp: SipResponse | None) -> None:
        """TS 24.229 §5.1.1.2-5.1.1.5: a 401 challenge is answered once."""
        if resp is not None and resp.status == 401 and op.attempt == 1:
            try:
                auth = self._answer_challenge(resp)
            except IsimAuthError as exc:
                self._registration(Registration(401, False, f"challenge not answered: {exc}",
                                                emergency=op.emergency))
                return
            # RFC 3329 §2.3.1 step 4: Security-Verify repeats the server's list
            verify = resp.headers_all("Security-Server")
            self._request(self.register_request(auth, emergency=op.emergency,
                                                security_verify=verify),
                          _Register(2, op.emergency, verify))
            return
        status = resp.status if resp is not None else None
        ok = resp is not None and 200 <= resp.status < 300
        reason = "" if ok else f"REGISTER: {status or 'no response'}"
        self._registration(Registration(
            status, ok, reason, resp.headers_all("Service-Route") if resp and ok else [],
            resp.headers_all("P-Associated-URI") if resp and ok else [], op.emergency))

    def _registration(self, registration: Registration) -> None:
        if registration.emergency:
            self.emergency_registration = registration
        else:
            self.registration = registration
        self._out.append(RegistrationDone(registration))

    def _invited(self, op: _Invite, final: SipResponse | None) -> None:
        result = op.result
        result.sip_status = final.status if final is not None else None
        result.outcome = outcome_for(result.sip_status)
        if final is None:
            result.reason = "no final response"
        elif not 200 <= final.status < 300:
            result.reason = f"{final.status} {final.reason}"
        else:
            self._talk(op.invite, final, result)
            return
        self._call_done(result)

    def _talk(self, invite: SipRequest, ok: SipResponse, result: CallResult) -> None:
        """RFC 3261 §13.2.2.4: ACK the 2xx, then hold the call."""
        try:
            dialog = Dialog.from_uac(invite, ok)
        except DecodeError:
            self._call_done(result)
            return
        ack = dialog.create_request("ACK", self.via())
        self._acks[invite.call_id] = ack
        self._out.append(SendRequest(ack, self.pcscf))
        self._hold(_Leg(LegKind.CALL, dialog, self.pcscf, result=result))

    def _call_done(self, result: CallResult) -> None:
        self.calls.append(result)
        self._out.append(CallDone(result))

    # -------------------------------------------------------------- dialogs

    def _hold(self, leg: _Leg) -> None:
        self._legs[leg.dialog.id] = leg
        self._out.append(StartTimer(CALL_HOLD, leg.dialog.id, self.hold))

    def _hang_up(self, leg: _Leg) -> None:
        """§15.1.1: the hold is over, the UE ends the call."""
        leg.ended_by = "local"
        leg.hanging_up = True
        self._request(leg.dialog.create_request("BYE", self.via(leg.peer)), _Bye(leg), leg.peer)

    def _leg_over(self, leg: _Leg) -> None:
        if self._legs.pop(leg.dialog.id, None) is None:
            return
        self._out.append(StopTimer(CALL_HOLD, leg.dialog.id))
        if leg.result is not None:
            self._call_done(leg.result)
        if leg.callback is not None:
            leg.callback.ended_by = leg.ended_by
            self._out.append(CallbackEnded(leg.callback))

    # -------------------------------------------------------------- from the network

    def _on_sip(self, event: SipEvent, peer: SipPeer) -> None:
        if isinstance(event, ResponseReceived):
            self._on_response(event)
        elif isinstance(event, RequestReceived):
            self._on_request(event.request, peer, event.key is not None)
        elif isinstance(event, TransactionTimeout | TransportFailed):
            self._complete(event.key, None)

    def _on_response(self, event: ResponseReceived) -> None:
        resp = event.response
        if event.key is None:
            # §13.2.2.4: a retransmitted 2xx is ACKed again
            ack = self._acks.get(resp.call_id)
            if ack is not None:
                self._out.append(SendRequest(ack, self.pcscf))
            return
        if resp.status >= 200:
            self._complete(event.key, resp)

    def _respond(self, req: SipRequest, status: int, peer: SipPeer, **kwargs: Any) -> None:
        self._out.append(SendResponse(sip.response_for(req, status, **kwargs), peer))

    def _on_request(self, req: SipRequest, peer: SipPeer, new: bool) -> None:
        if req.method == "ACK" or not new:
            return  # §17.2.3: the ACK for our 2xx; the transaction layer stopped the 2xx
        if req.method == "INVITE":
            self._answer(req, peer)
        elif req.method == "BYE":
            self._on_bye(req, peer)
        elif req.method in ("OPTIONS", "UPDATE", "PRACK", "NOTIFY"):
            self._respond(req, 200, peer)
        elif req.method == "CANCEL":
            self._respond(req, 481, peer)
        else:
            # RFC 3261 §8.2.1: a method the UA does not support
            self._respond(req, 405, peer, headers=[("Allow", "INVITE, ACK, BYE, OPTIONS")])

    def _on_bye(self, req: SipRequest, peer: SipPeer) -> None:
        """RFC 3261 §15.1.2: 200 to a BYE of a dialog; 481 otherwise."""
        try:
            leg = next((c for c in self._legs.values() if c.dialog.matches(req)), None)
        except DecodeError:
            leg = None
        self._respond(req, 200 if leg else 481, peer)
        if leg is not None and not leg.hanging_up:
            leg.ended_by = "remote"
            self._leg_over(leg)

    def _answer(self, req: SipRequest, peer: SipPeer) -> None:
        """A call-back (TS 23.167 §7.7): ring (180), answer (200 with an SDP answer, RFC 3264
        §6), then the dialog lasts until BYE (the UE's after the hold)."""
        try:
            caller = str(req.from_.uri)
            offer = next((p for p in req.body_parts() if p.content_type == "application/sdp"),
                         None)
            answer = sdp.encode(sdp.audio_answer(sdp.decode(offer.body), self.local[0],
                                                 self.rtp_port)) if offer else b""
        except DecodeError:
            self._respond(req, 488, peer)
            return
        tag = self.ids.tag()
        record = CallbackResult(caller, req.call_id, identity=req.header("P-Asserted-Identity"))
        # RFC 3261 §12.1.1: the 180 (early dialog) and the 200 carry the INVITE's Record-Route
        # and the UE's Contact, so the PSAP's ACK and BYE come back through the proxies
        self._out.append(SendResponse(dialog_response(req, 180, to_tag=tag,
                                                      contact=self.contact()), peer))
        ok = dialog_response(req, 200, to_tag=tag, contact=self.contact(),
                             headers=self._common(), body=answer,
                             content_type="application/sdp" if answer else None)
        self._out.append(SendResponse(ok, peer))
        record.sip_status = 200
        self.callbacks.append(record)
        self._hold(_Leg(LegKind.CALLBACK, Dialog.from_uas(req, ok), peer, callback=record))

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out

