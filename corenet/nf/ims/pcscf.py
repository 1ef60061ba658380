"""P-CSCF of the rescuing operator (TS 24.229 §5.2, emergency per §5.2.10, TS 23.167 §6.2.1).

A stateless proxy (RFC 3261 §16.11) on the Gm reference point. The caller's identity and
cell come from the IP-CAN session bound to the packet's source address (`binding.py`), never
from the UE's own headers, which are removed at this trust-domain boundary (RFC 3325 §5).

Decisions on an initial request from a UE:
- an emergency request (TS 24.229 §5.2.10.1) goes to the E-CSCF with the service URN as
  Request-URI, P-Asserted-Identity per mode (MSISDN verified; IMSI or IMEI unverified, the
  verification carried in the `verstat` parameter of TS 24.229 §7.2A.20) and the cell in a
  network-provided P-Access-Network-Info (§7.2A.4);
- a UE with only an emergency PDN connection (TS 23.401 §4.3.12) gets 403 Forbidden for any
  other request (RFC 3261 §21.4.4: understood, refused; TS 23.167 §6.2.1 limits such a UE to
  emergency sessions), REGISTER included;
- 184/186 + an emergency number: 404 Not Found by default (RFC 3261 §21.4.4: no route in the
  rescuer's dial plan); charging-area numbers blocked (403) or routed as from a fixed area;
- REGISTER and other requests of a full-roaming UE go to its home IMS (TS 23.228 §5.2.2.3:
  the P-CSCF in the visited network, the S-CSCF in the home network), with Path (RFC 3327).
Requests from the core (E-CSCF, home S-CSCF) toward a UE follow the Request-URI / Route.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corenet.codecs import sip
from corenet.codecs.sip import Header, SipRequest, SipResponse
from corenet.config.models import HomeImsRoute, PcscfConfig
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError
from corenet.nf.ims.binding import BindingTable, UeBinding, pani
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

# a header inside the trust domain giving the PSAP the roaming mode of the caller's access
MODE_HEADER = "P-Emergency-Roaming-Mode"
# RFC 3325 §5 / TS 24.229 §5.2.6.3: headers only the network asserts, removed from UE requests
UNTRUSTED = ("P-Asserted-Identity", "P-Preferred-Identity", "P-Access-Network-Info",
             MODE_HEADER)
VERIFIED = "TN-Validation-Passed"  # TS 24.229 §7.2A.20 verstat
UNVERIFIED = "No-TN-Validation"

Action = SendSip | LogEvent


@dataclass
class PcscfCore:
    cfg: PcscfConfig
    bindings: BindingTable
    dialplan: DialPlan
    me: Element
    core_peers: set[str] = field(default_factory=set)  # addresses of E-CSCF and S-CSCFs
    _answered: set[tuple[str, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.core_peers |= {self.cfg.ecscf.host} | {r.address.host for r in self.cfg.home_ims}

    def handle_response(self, response: SipResponse) -> list[Action]:
        """RFC 3261 §16.7 (stateless, §16.11)."""
        out = relay_response(response, self.me)
        return [] if out is None else [out]

    def handle_request(self, request: SipRequest, source: Address) -> list[Action]:
        try:
            return self._route(request, source)
        except (ProxyError, DecodeError) as exc:
            status = exc.status if isinstance(exc, ProxyError) else _status(exc)
            detail = exc.detail
            if request.method == "ACK":
                return [LogEvent("pcscf.ack.dropped", {"detail": detail})]
            if request.method == "INVITE":
                self._answered.add((request.call_id, request.cseq.seq))
            return [answer(request, status),
                    LogEvent("pcscf.request.refused", {
                        "method": request.method, "uri": request.uri, "status": status,
                        "source": source[0], "detail": detail})]

    def _route(self, req: SipRequest, source: Address) -> list[Action]:
        pop_own_route(req, self.me)
        if req.method == "ACK" and (req.call_id, req.cseq.seq) in self._answered:
            self._answered.discard((req.call_id, req.cseq.seq))
            return []  # §17.2.1: the ACK of our own non-2xx answer ends here
        binding = self.bindings.lookup(source[0])
        if req.to.tag or (binding is None and source[0] in self.core_peers):
            return self._follow(req)  # in-dialog (§16.12) or toward a UE (terminating)
        if binding is None:
            raise ProxyError(403, f"{source[0]} is not the address of an IP-CAN session")
        for name in UNTRUSTED:
            req.remove_header(name)
        if req.method == "REGISTER":
            return self._register(req, binding)
        return self._originating(req, binding)

    def _follow(self, req: SipRequest) -> list[Action]:
        hop = next_hop(req)
        if hop is None:
            raise ProxyError(404, f"no route for {req.uri}")
        return [SendSip(forward(req, self.me, record_route=not req.to.tag), hop)]

    def _register(self, req: SipRequest, b: UeBinding) -> list[Action]:
        """TS 24.229 §5.2.2: to the home network, only for a UE with a normal PDN connection;
        the public identity must be the one bound to the address (TS 33.978 §4 idea)."""
        if b.mode.emergency_only:
            raise ProxyError(403, f"{b.mode.value}: no IMS registration")
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

    def _originating(self, req: SipRequest, b: UeBinding) -> list[Action]:
        decision = self.dialplan.classify(req.request_uri)
        if decision.kind is CallKind.EMERGENCY:
            return self._emergency(req, b, decision.service_urn or "urn:service:sos",
                                   decision.digits)
        if decision.kind in (CallKind.NO_ROUTE, CallKind.BLOCKED):
            raise ProxyError(decision.status or 403,
                             f"{decision.kind.value} by dial rule {decision.rule}")
        if b.mode.emergency_only:
            raise ProxyError(403, f"{b.mode.value}: only emergency requests are served")
        if decision.kind is CallKind.FIXED_AREA:
            # RFC 3966 §5.1.5: the number is local to the fixed charging area's context
            req.uri = f"tel:{decision.digits};phone-context={decision.area}"
        home = self._home(b)
        if b.msisdn:
            req.headers.append(Header("P-Asserted-Identity", f"<tel:+{b.msisdn}>"))
        self._route_to(req, home.address.host, home.address.port)
        return [SendSip(forward(req, self.me), (home.address.host, home.address.port)),
                LogEvent("pcscf.request.home", {"method": req.method, "uri": req.uri,
                                                "kind": decision.kind.value})]

    def _emergency(self, req: SipRequest, b: UeBinding, urn: str,
                   digits: str | None) -> list[Action]:
        """TS 24.229 §5.2.10.1 / §5.2.10.3: Request-URI = the service URN, to the E-CSCF."""
        home = self._home_or_none(b)
        uri, kind, verified = b.identity(home.domain if home else None)
        req.uri = urn
        verstat = VERIFIED if verified else UNVERIFIED
        req.headers.append(Header("P-Asserted-Identity", f"<{_with_verstat(uri, verstat)}>"))
        req.headers.append(Header(MODE_HEADER, b.mode.value))
        if b.cell is not None:
            req.headers.append(Header("P-Access-Network-Info", pani(b.cell)))
        host, port = self.cfg.ecscf.host, self.cfg.ecscf.port
        self._route_to(req, host, port)
        return [SendSip(forward(req, self.me), (host, port)),
                LogEvent("pcscf.emergency.forwarded", {
                    "method": req.method, "urn": urn, "dialled": digits,
                    "identity": uri, "identity_type": kind.value, "verified": verified,
                    "mode": b.mode.value, "ecgi": b.cell.ecgi if b.cell else None})]

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


def _with_verstat(uri: str, verstat: str) -> str:
    if uri.startswith("tel:") or uri.startswith("sip:"):
        return f"{uri};verstat={verstat}"
    return uri


def _status(exc: DecodeError) -> int:
    return exc.cause if isinstance(exc.cause, int) and 400 <= exc.cause <= 599 else 400
