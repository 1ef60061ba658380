"""Home IMS of the affected operator: registrar and S-CSCF (TS 24.229 §5.4), full roaming.

With Cx configured (`cx`), REGISTER is authenticated by IMS AKA against the home HSS, this
element also playing the I-CSCF's part (UAR): `registrar.py` (TS 24.229 §5.3.1.2, §5.4.1.2,
TS 33.203 §6.1); the REGISTER stays pending while its Cx request is out (`handle_cx_answer`,
`handle_cx_failure`). Without Cx it is accepted on the identity the visited P-CSCF asserted from
the IP-CAN session binding (P-Asserted-Identity inside the trust domain), in the manner of early
IMS security (TS 33.978 §4, IP address bound to the identity). The binding keeps the contact and the Path (RFC 3327 §5.3) so a terminating request, e.g. a
PSAP call-back (TS 23.167 §7.7), reaches the UE through its P-CSCF. A home subscriber with no
binding is unreachable: 480 (RFC 3261 §21.4.18); a URI that is no public identity: 404. Any
other number is answered here as by a PSTN breakout (an emulated called party).

Trust domain (RFC 3325 §2.3): a P-Asserted-Identity is believed only from a configured P-CSCF,
so REGISTER and originating service (the breakout) are for requests from P-CSCFs; from any
other address (a PSAP's call-back, another network) only registered users are reached, and the
rest is 403.

An emergency registration (TS 24.229 §5.1.6.2: the "sos" parameter in the Contact URI; TS 23.167
§6.2.1) is accepted as a binding of its own: it never replaces the UE's normal binding, which
is the one terminating requests (the call-back) are routed to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from corenet.codecs import sdp, sip
from corenet.codecs.base import Message
from corenet.codecs.sip import Header, SipRequest, SipResponse, Uri
from corenet.codecs.sip_digest import digest_params
from corenet.config.models import HomeImsConfig
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError
from corenet.nf.ims.dialplan import dialled_digits
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
from corenet.nf.ims.registrar import CxRegistrar, Outcome, Registered, SendCx
from corenet.protocols.sip_ua import dialog_response

Action = SendSip | SendCx | LogEvent
PSTN_USER = "pstn"


@dataclass
class Registration:
    identity: str
    contact: str
    path: list[str]
    expires_at: float


def public_key(uri: Uri) -> str | None:
    """A public user identity as E.164 digits (national 0... numbers as +81), or a SIP user."""
    digits = dialled_digits(uri)
    if digits is not None:
        if digits.startswith("+"):
            return digits
        if digits.startswith("0") and not digits.startswith("00"):
            return "+81" + digits[1:]  # ITU-T E.164 national significant number of Japan
        return digits
    return uri.user


@dataclass
class ScscfCore:
    cfg: HomeImsConfig
    me: Element
    registrations: dict[str, Registration] = field(default_factory=dict)
    emergency_registrations: dict[str, Registration] = field(default_factory=dict)
    pcscfs: set[str] = field(default_factory=set)
    cx: CxRegistrar | None = field(init=False)

    def __post_init__(self) -> None:
        self.pcscfs |= set(self.cfg.pcscfs)
        self.cx = None if self.cfg.cx is None else CxRegistrar(self.cfg.cx, self.cfg.domain)

    def handle_cx_answer(self, answer: Message, now: float) -> list[Action]:
        """A Cx answer of the home HSS (TS 29.229) to a pending REGISTER."""
        return [] if self.cx is None else self._outcomes(self.cx.on_answer(answer, now), now)

    def handle_cx_failure(self, session_id: str, reason: str, now: float) -> list[Action]:
        """A Cx request left unanswered (timeout, HSS unreachable, RFC 6733 §5.5.4)."""
        if self.cx is None:
            return []
        return self._outcomes(self.cx.on_failure(session_id, reason), now)

    def _outcomes(self, outcomes: list[Outcome], now: float) -> list[Action]:
        out: list[Action] = []
        for o in outcomes:
            if isinstance(o, Registered):
                out += self._bind(o.request, now, o.associated)
            else:
                out.append(o)
        return out

    def handle_response(self, response: SipResponse) -> list[Action]:
        out = relay_response(response, self.me)
        return [] if out is None else [out]

    def handle_request(self, request: SipRequest, source: Address,
                       now: float) -> list[Action]:
        try:
            return self._route(request, now, source[0] in self.pcscfs)
        except (ProxyError, DecodeError) as exc:
            status = exc.status if isinstance(exc, ProxyError) else 400
            if request.method == "ACK":
                return []
            return [answer(request, status),
                    LogEvent("scscf.request.refused", {"method": request.method,
                                                       "uri": request.uri, "status": status,
                                                       "source": source[0],
                                                       "detail": exc.detail})]

    def registered(self, identity: str, now: float) -> Registration | None:
        reg = self.registrations.get(identity)
        if reg is not None and reg.expires_at <= now:
            del self.registrations[identity]
            return None
        return reg

    def _route(self, req: SipRequest, now: float, trusted: bool) -> list[Action]:
        pop_own_route(req, self.me)
        ruri = req.request_uri
        if not trusted and (req.method == "REGISTER" or ruri.scheme == "sip" and ruri.user ==
                            PSTN_USER and self.me.is_me(ruri)):
            raise ProxyError(403, "not from a P-CSCF of the trust domain (RFC 3325 §2.3)")
        if ruri.scheme == "sip" and ruri.user == PSTN_USER and self.me.is_me(ruri):
            return self._pstn(req)
        if req.method == "REGISTER":
            return self._register(req, now)
        if req.to.tag:
            hop = next_hop(req)
            if hop is None:
                raise ProxyError(404, f"no route for {req.uri}")
            return [SendSip(forward(req, self.me, record_route=False), hop)]
        return self._terminating(req, now, trusted)

    def _register(self, req: SipRequest, now: float) -> list[Action]:
        """TS 24.229 §5.4.1.2: IMS AKA over Cx, or the asserted identity (module docstring)."""
        identity = public_key(req.to.uri)
        asserted = req.header("P-Asserted-Identity")
        if identity is None or asserted is None or \
                public_key(sip.parse_name_addr(asserted).uri) != identity:
            raise ProxyError(403, f"{req.to.uri} not asserted by a P-CSCF")
        if self.cx is None:
            return self._bind(req, now, [f"<tel:{identity}>"])
        contacts = req.contacts
        impu = str(req.to.uri)
        if contacts and (contacts[0].star or contacts[0].param("expires") == "0"
                         or req.header("Expires") == "0"):
            # TS 24.229 §5.4.1.4: a de-registration (over the security association) needs
            # no challenge; the HSS is told (SAR, user de-registration)
            impi = digest_params(req.header("Authorization") or "").get("username", "")
            tell = self.cx.deregister(impi, impu) if impi else []
            return [*self._bind(req, now, [f"<{impu}>"]), *self._outcomes(tell, now)]
        return self._outcomes(self.cx.register(req, impu, now), now)

    def _bind(self, req: SipRequest, now: float, associated: list[str]) -> list[Action]:
        """TS 24.229 §5.4.1.2.2: the binding of the contact, 200 with Path, Service-Route and
        P-Associated-URI (the public identities of the subscription)."""
        identity = public_key(req.to.uri) or ""
        contacts = req.contacts
        expires_hdr = req.header("Expires")
        default = int(expires_hdr) if expires_hdr and expires_hdr.isdigit() else \
            self.cfg.default_expires_s
        headers: list[tuple[str, str]] = []
        emergency = bool(contacts) and any(k == "sos" for k, _ in contacts[0].uri.params)
        table = self.emergency_registrations if emergency else self.registrations
        if contacts and not contacts[0].star:
            c = contacts[0]
            expires = int(c.param("expires") or default)
            if expires == 0:
                table.pop(identity, None)
            else:
                table[identity] = Registration(
                    identity, str(c.uri), req.headers_all("Path"), now + expires)
                headers.append(("Contact", f"<{c.uri}>;expires={expires}"))
        elif contacts:
            self.registrations.pop(identity, None)  # RFC 3261 §10.2.2: Contact: *
        headers += [("Path", p) for p in req.headers_all("Path")]
        headers.append(("Service-Route", f"<sip:orig@{self.me.host}:{self.me.port};lr>"))
        headers += [("P-Associated-URI", u if u.startswith("<") else f"<{u}>")
                    for u in associated]
        return [answer(req, 200, headers=headers),
                LogEvent("scscf.registered", {"identity": identity, "emergency": emergency,
                                              "bound": identity in table})]

    def _terminating(self, req: SipRequest, now: float, trusted: bool) -> list[Action]:
        """TS 24.229 §5.4.3.3: to the registered contact, through the stored Path."""
        identity = public_key(req.request_uri)
        reg = self.registered(identity, now) if identity else None
        if reg is None and not trusted and req.request_uri.scheme == "tel" and \
                not (identity and any(identity.startswith(p)
                                      for p in self.cfg.subscriber_prefixes)):
            raise ProxyError(403, "no originating service outside the trust domain")
        if reg is None:
            if identity and any(identity.startswith(p) for p in self.cfg.subscriber_prefixes):
                raise ProxyError(480, f"{identity} has no registration")
            if req.request_uri.scheme == "tel" and self.cfg.answer_other_numbers:
                return self._pstn(req)
            raise ProxyError(404, f"{req.uri} is not a reachable public identity")
        req.uri = reg.contact
        req.remove_header("Route")
        idx = max(i for i, h in enumerate(req.headers)
                  if sip.canonical_name(h.name) == "Via") + 1
        req.headers[idx:idx] = [Header("Route", p) for p in reg.path]
        hop = next_hop(req)
        if hop is None:
            raise ProxyError(480, "registered contact is not routable")
        return [SendSip(forward(req, self.me), hop),
                LogEvent("scscf.terminating", {"identity": identity, "contact": reg.contact})]

    def _pstn(self, req: SipRequest) -> list[Action]:
        """The called party behind the breakout: answers INVITE (RFC 3264 answer), BYE."""
        if req.method == "ACK":
            return []
        if req.method != "INVITE":
            return [answer(req, 200)]
        tag = hashlib.sha256(req.call_id.encode()).hexdigest()[:12]
        body, ctype = b"", None
        parts = [p for p in req.body_parts() if p.content_type == "application/sdp"]
        if parts:
            body = sdp.encode(sdp.audio_answer(sdp.decode(parts[0].body), self.me.host, 42000))
            ctype = "application/sdp"
        contact = f"<sip:{PSTN_USER}@{self.me.host}:{self.me.port}>"
        resp = dialog_response(req, 200, to_tag=tag, contact=contact, body=body,
                               content_type=ctype)
        sent = answer(req, 200)
        return [SendSip(resp, sent.peer),
                LogEvent("scscf.breakout.answered", {"uri": req.uri})]
