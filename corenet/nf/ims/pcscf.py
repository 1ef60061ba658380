"""P-CSCF of the rescuing operator (TS 24.229 §5.2, emergency per §5.2.10, TS 23.167 §6.2.1).

A stateless proxy (RFC 3261 §16.11) on the Gm reference point. The caller's identity and
cell come from the IP-CAN session bound to the packet's source address (`binding.py`), never
from the UE's own headers, which are removed at this trust-domain boundary (RFC 3325 §5).

Decisions on an initial request from a UE:
- an emergency request (TS 24.229 §5.2.10.1) goes to the E-CSCF with the service URN as
  Request-URI, a P-Asserted-Identity only for an identity the network authenticated (the
  MSISDN; RFC 3325 §9.1), the roaming mode and, for an unauthenticated caller, its IMSI or
  IMEI in `Japan-Roaming-Caller` (codecs/ims_sip.py: never asserted), and the cell in a
  network-provided P-Access-Network-Info (§7.2A.4);
- a UE with only an emergency PDN connection (TS 23.401 §4.3.12) gets 403 Forbidden for any
  other request (RFC 3261 §21.4.4: understood, refused; TS 23.167 §6.2.1 limits such a UE to
  emergency sessions), REGISTER included;
- 184/186 + an emergency number: 404 Not Found by default (RFC 3261 §21.4.4: no route in the
  rescuer's dial plan); charging-area numbers blocked (403) or routed as from a fixed area;
- REGISTER and other requests of a full-roaming UE go to its home IMS (TS 23.228 §5.2.2.3:
  the P-CSCF in the visited network, the S-CSCF in the home network), with Path (RFC 3327);
  an emergency registration (TS 24.229 §5.2.10.2, "sos" in the Contact URI) too. A UE with only
  an emergency PDN connection registers nothing but that emergency registration, and only when
  the network authenticated it (emergency-auth); whether it succeeds is the home IMS's answer
  (e.g. 480 when its HSS is unreachable, §5.3.1.3), after which the UE may fall back to an
  unregistered emergency session (§5.1.6.8.2). Anything else gets 403;
Requests from the core (E-CSCF, home S-CSCF: known by configured address) toward a UE follow the
Request-URI / Route. A request from a UE that carries a To-tag follows its dialog only if this
P-CSCF took part in that dialog for the same binding (`dialogs.py`; 481 otherwise, RFC 3261
§12.2.2); an address that is neither a UE's nor a core peer's gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corenet.codecs import sip
from corenet.codecs.base import Message
from corenet.codecs.diameter import avp
from corenet.codecs.ims_sip import CALLER_HEADER, RoamingCaller
from corenet.codecs.pcc import result_of
from corenet.codecs.sip import Header, SipRequest, SipResponse
from corenet.config.models import HomeImsRoute, PcscfConfig
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError
from corenet.nf.ims.binding import AccessMode, BindingTable, IdentityType, UeBinding, pani
from corenet.nf.ims.dialogs import (
    DIALOG_CREATING,
    FAILED_LIFETIME,
    OFFER_LIFETIME,
    DialogTable,
    Offer,
)
from corenet.nf.ims.dialplan import CallKind, DialPlan, dialled_digits
from corenet.nf.ims.proxy import (
    Address,
    Element,
    ProxyError,
    SendSip,
    answer,
    forward,
    next_hop,
    pop_own_route,
    relay_response,
)
from corenet.nf.ims.rx import Binding, RxClient, SendRx
from corenet.nf.ims.sec_agree import SecAgree

# RFC 3325 §5 / TS 24.229 §5.2.6.3: headers only the network asserts, removed from UE requests
UNTRUSTED = ("P-Asserted-Identity", "P-Preferred-Identity", "P-Access-Network-Info",
             CALLER_HEADER)
# TS 24.229 §5.2.10.1 / TS 23.167 §6.2.1: what an emergency-only UE may start (its session,
# and the CANCEL of it); everything else it sends must belong to an emergency dialog
EMERGENCY_METHODS = frozenset({"INVITE", "CANCEL"})

Action = SendSip | LogEvent | SendRx
MAX_HELD = 10_000  # requests held for a binding at once; beyond, 503 (RFC 3261 §21.5.4)


@dataclass
class PcscfCore:
    cfg: PcscfConfig
    bindings: BindingTable
    dialplan: DialPlan
    me: Element
    core_peers: set[str] = field(default_factory=set)  # addresses of E-CSCF and S-CSCFs
    rx: RxClient | None = None  # the binding over Rx (rx.py); None: `bindings` alone
    dialogs: DialogTable = field(init=False)
    sec_agree: SecAgree = field(init=False)
    _answered: dict[tuple[str, int], float] = field(default_factory=dict)
    _held: dict[str, list[tuple[SipRequest, Address]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.core_peers |= {self.cfg.ecscf.host} | {r.address.host for r in self.cfg.home_ims}
        self.dialogs = DialogTable(self.cfg.dialog_lifetime_s, self.cfg.max_dialogs)
        self.sec_agree = SecAgree(self.me.port, self.cfg.max_dialogs)

    def handle_response(self, response: SipResponse, source: Address,
                        now: float) -> list[Action]:
        """RFC 3261 §16.7 (stateless, §16.11); the dialogs it creates or ends are noted."""
        out = relay_response(response, self.me)
        if out is None:
            return []
        try:
            cseq, to_tag, from_tag = response.cseq, response.to.tag, response.from_.tag
        except DecodeError:
            return [out]
        self.dialogs.on_response(response.call_id, from_tag, to_tag, cseq.method, cseq.seq,
                                 response.status, source, now)
        actions: list[Action] = [out]
        if self.rx is not None and cseq.method == "INVITE":
            media = self.rx.answered(response.call_id, response.body, response.status)
            if media is not None:
                actions.append(media)
        if cseq.method == "REGISTER" and response.status == 401 and \
                isinstance(out.message, SipResponse):
            self.sec_agree.on_challenge(out.message, out.peer[0])  # TS 24.229 §5.2.2.1
        return actions

    def handle_request(self, request: SipRequest, source: Address,
                       now: float) -> list[Action]:
        try:
            if self._unbound(request, source):
                return self._hold(request, source)
            return self._route(request, source, now)
        except (ProxyError, DecodeError) as exc:
            status = exc.status if isinstance(exc, ProxyError) else _status(exc)
            extra = exc.headers if isinstance(exc, ProxyError) else []
            return self._refuse(request, source, status, exc.detail, now, headers=extra)

    def _refuse(self, request: SipRequest, source: Address, status: int, detail: str,
                now: float, *, headers: list[tuple[str, str]] | None = None) -> list[Action]:
        if request.method == "ACK":
            return [LogEvent("pcscf.ack.dropped", {"detail": detail})]
        if request.method == "INVITE":
            if len(self._answered) >= self.cfg.max_dialogs:
                self._answered = {k: t for k, t in self._answered.items() if t > now}
            self._answered[(request.call_id, request.cseq.seq)] = now + FAILED_LIFETIME
        return [answer(request, status, headers=headers or []),
                LogEvent("pcscf.request.refused", {
                    "method": request.method, "uri": request.uri, "status": status,
                    "source": source[0], "detail": detail})]

    # -- the binding over Rx (rx.py) --------------------------------------------------------

    def _unbound(self, req: SipRequest, source: Address) -> bool:
        """A request from an address that is neither a core peer nor bound yet waits for the
        PCRF's binding (TS 29.214 §4.4.1); an ACK never does (§17.1.1.3: ours end here)."""
        return (self.rx is not None and req.method != "ACK" and source[0] not in self.core_peers
                and self.bindings.lookup(source[0]) is None)

    def _hold(self, req: SipRequest, source: Address) -> list[Action]:
        assert self.rx is not None
        if sum(len(h) for h in self._held.values()) >= MAX_HELD:
            raise ProxyError(503, "too many requests waiting for their IP-CAN binding")
        self._held.setdefault(source[0], []).append((req, source))
        if self.rx.pending(source[0]):
            return []
        return [self.rx.bind(source[0], source[1], None),
                LogEvent("pcscf.binding.asked", {"ue": source[0], "method": req.method})]

    def handle_rx_answer(self, answer_msg: Message, request: Message,
                         now: float) -> list[Action]:
        """The PCRF's answer: a binding releases the requests held for it."""
        if self.rx is None:
            return []
        outcome = self.rx.bound(answer_msg, request)
        if outcome is None:
            return [LogEvent(f"pcscf.rx.{request.name.lower()}.answered", {
                "session": dia_session(request), "result": result_of(answer_msg)})]
        return self._released(outcome, now)

    def handle_rx_failed(self, request: Message, now: float) -> list[Action]:
        if self.rx is None:
            return []
        outcome = self.rx.failed(request)
        if outcome is None:
            return [LogEvent("pcscf.rx.failed", {"command": request.name,
                                                 "session": dia_session(request)})]
        return self._released(outcome, now)

    def handle_rx_request(self, request: Message) -> tuple[Message, list[Action]]:
        """ASR when the IP-CAN session ended (TS 29.213 §4.2.2, TS 23.203 §7.3): the binding is
        forgotten, then the STR; RAR (Specific-Action): answered."""
        assert self.rx is not None
        address = self.rx.address_of(request)
        if request.name == "ASR" and address is not None:
            self.bindings.forget(address)
        answer_msg, stop = self.rx.aborted(request)
        return answer_msg, [*stop, LogEvent(f"pcscf.rx.{request.name.lower()}", {
            "session": dia_session(request), "ue": address})]

    def _released(self, outcome: Binding, now: float) -> list[Action]:
        held = self._held.pop(outcome.address, [])
        if outcome.binding is not None:
            self.bindings.learn(outcome.binding)
            out: list[Action] = [LogEvent("pcscf.binding.learned", {
                "ue": outcome.address, "mode": outcome.binding.mode.value,
                "imsi": outcome.binding.imsi})]
            for req, source in held:
                out += self.handle_request(req, source, now)
            return out
        urn = next((u for req, _ in held if (u := self._emergency_urn(req)) is not None), None)
        out = []
        keep = []
        for req, source in held:
            if outcome.emergency_only and self._emergency_urn(req) is not None:
                keep.append((req, source))
            else:
                out += self._refuse(req, source, outcome.status, outcome.detail, now)
        if keep and urn is not None and self.rx is not None:
            # TS 29.214 §4.4.1: the emergency request is bound with its Service-URN
            self._held[outcome.address] = keep
            out.append(self.rx.bind(outcome.address, keep[0][1][1], urn))
        return out

    def _emergency_urn(self, req: SipRequest) -> str | None:
        """The service URN of an emergency request (TS 24.229 §5.2.10.1), or of an emergency
        registration ("sos" Contact, §5.2.10.2)."""
        try:
            if req.method == "REGISTER":
                sos = any(any(k == "sos" for k, _ in c.uri.params) for c in req.contacts)
                return "urn:service:sos" if sos else None
            decision = self.dialplan.classify(req.request_uri)
        except DecodeError:
            return None
        if decision.kind is CallKind.EMERGENCY:
            return decision.service_urn or "urn:service:sos"
        return None

    def _route(self, req: SipRequest, source: Address, now: float) -> list[Action]:
        """Every request from a UE address passes the same checks first: the IP-CAN binding
        (TS 23.203 §6.1.1.2), removal of what only the network asserts (RFC 3325 §5, TS 24.229
        §5.2.6.3), then the dialog (RFC 3261 §12.2.2) or the emergency-only limits (TS 23.167
        §6.2.1). Core peers are known by configured address; anyone else gets 403."""
        pop_own_route(req, self.me)
        if req.method == "ACK" and self._answered.pop((req.call_id, req.cseq.seq), 0) > now:
            return []  # §17.2.1: the ACK of our own non-2xx answer ends here
        binding = self.bindings.lookup(source[0])
        if binding is not None:
            for name in UNTRUSTED:
                req.remove_header(name)
            if req.to.tag:
                return self._in_dialog(req, binding, now)
            # TS 24.229 §5.2.6.3.2: the P-CSCF, not the UE, chooses the route of an initial
            # request; what the UE put in Route is removed
            req.remove_header("Route")
            if req.method == "REGISTER":
                self.sec_agree.on_register(req, binding.address)  # RFC 3329, sec_agree.py
                return self._register(req, binding)
            return self._originating(req, binding, now)
        if source[0] in self.core_peers:
            return self._from_core(req, source, now)
        raise ProxyError(403, f"{source[0]} is neither an IP-CAN session nor a core peer")

    def _in_dialog(self, req: SipRequest, b: UeBinding, now: float) -> list[Action]:
        """RFC 3261 §12.2.2: a To-tag names a dialog; only one this proxy took part in for the
        same binding is followed (481 otherwise), and only toward the core element of that
        dialog; an emergency-only UE keeps only its emergency dialogs (TS 23.167 §6.2.1)."""
        d = self.dialogs.match(req.call_id, req.from_.tag, req.to.tag, b.address,
                               req.method, req.cseq.seq, now)
        if d is None:
            raise ProxyError(481, f"no dialog {req.call_id} of {b.address} through this proxy")
        if b.mode.emergency_only and not d.emergency:
            raise ProxyError(403, f"{b.mode.value}: only emergency dialogs are served")
        hop = next_hop(req)
        if hop != d.peer:
            raise ProxyError(403, f"route {hop} leaves the dialog's route set")
        out = forward(req, self.me, record_route=False)
        self.dialogs.passed(req.call_id, req.from_.tag, req.to.tag, req.method, now)
        return [SendSip(out, hop), *self._media_ended(req),
                LogEvent("pcscf.dialog.request", {"method": req.method, "ue": b.address,
                                                  "emergency": d.emergency})]

    def _media_ended(self, req: SipRequest) -> list[Action]:
        """BYE or CANCEL ends the call's media session over Rx (TS 29.214 §4.4.4)."""
        if self.rx is None or req.method not in ("BYE", "CANCEL"):
            return []
        stop = self.rx.ended(req.call_id)
        return [] if stop is None else [stop]

    def _from_core(self, req: SipRequest, source: Address, now: float) -> list[Action]:
        """Toward a UE (terminating, §16.6) or in a dialog; a UE address reached this way is
        noted for the dialog the request may create."""
        hop = next_hop(req)
        if hop is None:
            raise ProxyError(404, f"no route for {req.uri}")
        if not req.to.tag and req.method in DIALOG_CREATING:
            ue = self.bindings.lookup(hop[0])
            if ue is not None:
                self.dialogs.offer(req.call_id, req.from_.tag, Offer(
                    ue.address, False, False, source, now + OFFER_LIFETIME), now)
                if self.rx is not None and req.method == "INVITE":
                    self.rx.offer(req.call_id, ue.address, req.body, False, None)
        return [SendSip(forward(req, self.me, record_route=not req.to.tag), hop),
                *self._media_ended(req)]

    def _register(self, req: SipRequest, b: UeBinding) -> list[Action]:
        """TS 24.229 §5.2.2: to the home network, only for a UE with a normal PDN connection;
        the public identity must be the one bound to the address (TS 33.978 §4 idea)."""
        sos = any(any(k == "sos" for k, _ in c.uri.params) for c in req.contacts)
        if b.mode.emergency_only and not (sos and b.mode is AccessMode.EMERGENCY_AUTH):
            # TS 23.167 §6.2.1: an emergency-only UE has emergency services only; an
            # unauthenticated one has no identity its home IMS could register
            raise ProxyError(403, f"{b.mode.value}: no route to the home IMS for an "
                                  f"{'emergency ' if sos else ''}registration")
        claimed = dialled_digits(req.to.uri) or (req.to.uri.user or "")
        if not b.msisdn or claimed.lstrip("+") != b.msisdn:
            raise ProxyError(403, f"identity {req.to.uri} is not bound to {b.address}")
        home = self._home(b)
        req.headers.append(Header("Path", f"<sip:term@{self.me.host}:{self.me.port};lr>"))
        req.headers.append(Header("P-Visited-Network-ID", f'"{self.cfg.domain}"'))
        req.headers.append(Header("P-Asserted-Identity", f"<tel:+{b.msisdn}>"))
        self._route_to(req, home.address.host, home.address.port)
        return [SendSip(forward(req, self.me, record_route=False),
                        (home.address.host, home.address.port)),
                LogEvent("pcscf.register.forwarded", {"msisdn": b.msisdn,
                                                      "home": home.domain})]

    def _originating(self, req: SipRequest, b: UeBinding, now: float) -> list[Action]:
        decision = self.dialplan.classify(req.request_uri)
        if decision.kind is CallKind.EMERGENCY:
            if b.mode.emergency_only and req.method not in EMERGENCY_METHODS:
                raise ProxyError(403, f"{b.mode.value}: {req.method} is no emergency session")
            return self._emergency(req, b, decision.service_urn or "urn:service:sos",
                                   decision.digits, now)
        if decision.kind in (CallKind.NO_ROUTE, CallKind.BLOCKED):
            raise ProxyError(decision.status or 403,
                             f"{decision.kind.value} by dial rule {decision.rule}")
        if b.mode.emergency_only:
            raise ProxyError(403, f"{b.mode.value}: only emergency requests are served")
        if decision.kind is CallKind.FIXED_AREA:
            # RFC 3966 §5.1.5: the number is local to the fixed charging area's context
            req.uri = f"tel:{_escaped(decision.digits)};phone-context={decision.area}"
        home = self._home(b)
        if b.msisdn:
            req.headers.append(Header("P-Asserted-Identity", f"<tel:+{b.msisdn}>"))
        self._route_to(req, home.address.host, home.address.port)
        out = forward(req, self.me)
        self._offer(req, b, False, (home.address.host, home.address.port), now, None)
        return [SendSip(out, (home.address.host, home.address.port)),
                LogEvent("pcscf.request.home", {"method": req.method, "uri": req.uri,
                                                "kind": decision.kind.value})]

    def _emergency(self, req: SipRequest, b: UeBinding, urn: str,
                   digits: str | None, now: float) -> list[Action]:
        """TS 24.229 §5.2.10.1 / §5.2.10.3: Request-URI = the service URN, to the E-CSCF."""
        home = self._home_or_none(b)
        uri, kind, verified = b.identity(home.domain if home else None)
        req.uri = urn
        caller = RoamingCaller(b.mode.value)
        if verified:
            req.headers.append(Header("P-Asserted-Identity", f"<{uri}>"))
        elif kind is IdentityType.IMSI:
            caller = RoamingCaller(b.mode.value, imsi=b.imsi)
        else:
            caller = RoamingCaller(b.mode.value, imei=(b.imei or "")[:14])
        req.headers.append(Header(CALLER_HEADER, caller.encode()))
        if b.cell is not None:
            req.headers.append(Header("P-Access-Network-Info", pani(b.cell)))
        host, port = self.cfg.ecscf.host, self.cfg.ecscf.port
        self._route_to(req, host, port)
        out = forward(req, self.me)
        self._offer(req, b, True, (host, port), now, urn)
        return [SendSip(out, (host, port)),
                LogEvent("pcscf.emergency.forwarded", {
                    "method": req.method, "urn": urn, "dialled": digits,
                    "identity": uri, "identity_type": kind.value, "verified": verified,
                    "mode": b.mode.value, "ecgi": b.cell.ecgi if b.cell else None})]

    def _offer(self, req: SipRequest, b: UeBinding, emergency: bool, peer: Address,
               now: float, urn: str | None) -> None:
        if req.method in DIALOG_CREATING:
            self.dialogs.offer(req.call_id, req.from_.tag,
                               Offer(b.address, emergency, True, peer, now + OFFER_LIFETIME), now)
        if self.rx is not None and req.method == "INVITE":
            self.rx.offer(req.call_id, b.address, req.body, True, urn)

    def _route_to(self, req: SipRequest, host: str, port: int) -> None:
        idx = next((i for i, h in enumerate(req.headers)
                    if sip.canonical_name(h.name) == "Route"), None)
        route = Header("Route", f"<sip:{host}:{port};lr>")
        if idx is None:
            idx = max(i for i, h in enumerate(req.headers)
                      if sip.canonical_name(h.name) == "Via") + 1
        req.headers.insert(idx, route)

    def _home_or_none(self, b: UeBinding) -> HomeImsRoute | None:
        if b.imsi is None:
            return None
        return next((r for r in self.cfg.home_ims if b.imsi.startswith(r.plmn)), None)

    def _home(self, b: UeBinding) -> HomeImsRoute:
        home = self._home_or_none(b)
        if home is None:
            raise ProxyError(404, f"no home IMS for IMSI {b.imsi}")
        return home


def dia_session(msg: Message) -> str | None:
    value = avp(msg, "Session-Id")
    return value if isinstance(value, str) else None


def _status(exc: DecodeError) -> int:
    return exc.cause if isinstance(exc.cause, int) and 400 <= exc.cause <= 599 else 400


def _escaped(digits: str | None) -> str:
    """RFC 3966 §3 / RFC 3261 §25.1: '#' travels in a URI as %23."""
    return (digits or "").replace("#", "%23")
