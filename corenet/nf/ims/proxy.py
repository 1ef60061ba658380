"""Proxy behaviour shared by the CSCFs: RFC 3261 §16 request forwarding and response relaying.

The CSCFs forward statelessly (§16.11): the branch of the Via they add is derived from the
incoming one, so a retransmission or a CANCEL is forwarded with the same branch, and responses
find their way back by the Via stack alone. Each CSCF record-routes (§16.6 step 4) so the
requests of the dialog pass through it again.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Literal

from corenet.codecs import sip
from corenet.codecs.sip import Header, SipRequest, SipResponse, Uri
from corenet.core.errors import DecodeError

Address = tuple[str, int]
Transport = Literal["UDP", "TCP"]
DEFAULT_PORT = 5060


@dataclass(frozen=True)
class SendSip:
    """Send `message` to `peer` from the element's socket, over the transport its top Via
    names (RFC 3261 §18.1.1 for a request we forward, §18.2.2 for a response)."""

    message: sip.SipMessage
    peer: Address

    @property
    def transport(self) -> Transport:
        return via_transport(self.message)


def via_transport(message: sip.SipMessage) -> Transport:
    """"TCP" when the top Via says so, else "UDP" (the transports served, §18)."""
    try:
        vias = message.vias
    except DecodeError:
        return "UDP"
    return "TCP" if vias and vias[0].transport.upper() == "TCP" else "UDP"


def hop_transport(request: SipRequest) -> Transport:
    """§18.1.1 / RFC 3263 §4.1: the transport parameter of the first Route, else of the
    Request-URI; UDP by default."""
    routes = request.headers_all("Route")
    try:
        uri = sip.parse_name_addr(routes[0]).uri if routes else request.request_uri
    except DecodeError:
        return "UDP"
    return "TCP" if (uri.param("transport") or "").lower() == "tcp" else "UDP"


class ProxyError(Exception):
    """A request this element answers itself with `status` (RFC 3261 §16.3, §16.4), and the
    `headers` that answer carries (e.g. Security-Server in a 494, RFC 3329 §2.3.1)."""

    def __init__(self, status: int, detail: str, *,
                 headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = list(headers or [])


@dataclass(frozen=True)
class Element:
    """This proxy's address, as it appears in Via, Record-Route and Route."""

    host: str
    port: int

    @property
    def uri(self) -> str:
        return f"sip:{self.host}:{self.port};lr"

    def is_me(self, uri: Uri) -> bool:
        return (uri.scheme in ("sip", "sips") and uri.host == self.host
                and (uri.port or DEFAULT_PORT) == self.port)

    def branch(self, request: SipRequest) -> str:
        """§16.11: a stateless proxy's branch is a function of the incoming request; an ACK
        for a non-2xx and a CANCEL get the INVITE's branch (same incoming branch)."""
        top = request.vias[0]
        seed = f"{top.branch}|{top.sent_by}|{self.host}:{self.port}"
        if top.branch is None or not top.branch.startswith(sip.MAGIC_COOKIE):
            seed += f"|{request.call_id}|{request.cseq.seq}|{request.uri}"
        return sip.MAGIC_COOKIE + hashlib.sha256(seed.encode()).hexdigest()[:16]


def address_of(uri: Uri | str) -> Address:
    """Where a SIP URI is reached: its host and port (RFC 3263 lookups left out: IP hosts)."""
    if isinstance(uri, str):
        uri = sip.parse_uri(uri)
    if uri.scheme not in ("sip", "sips") or not uri.host:
        raise ProxyError(416, f"no route to a {uri.scheme}: URI")
    host = uri.host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # RFC 3263 (DNS NAPTR/SRV/A) is not emulated: a domain that no configured route names
        # is not reachable from here, and no name is ever looked up.
        raise ProxyError(404, f"no route to {host}") from None
    return host, uri.port or DEFAULT_PORT


def pop_own_route(request: SipRequest, me: Element) -> None:
    """§16.4: a top Route naming this proxy is removed."""
    routes = request.headers_all("Route")
    if routes and me.is_me(sip.parse_name_addr(routes[0]).uri):
        request.remove_header("Route")
        idx = _after_vias(request)
        request.headers[idx:idx] = [Header("Route", r) for r in routes[1:]]


def next_hop(request: SipRequest) -> Address | None:
    """§16.6 step 6/7: the first Route when there is one (loose routing), else the
    Request-URI when it is a SIP URI; None when neither routes anywhere."""
    routes = request.headers_all("Route")
    if routes:
        return address_of(sip.parse_name_addr(routes[0]).uri)
    uri = request.request_uri
    if uri.scheme in ("sip", "sips") and uri.host:
        return address_of(uri)
    return None


def forward(request: SipRequest, me: Element, *, record_route: bool = True) -> SipRequest:
    """§16.6: copy, decrement Max-Forwards (§16.3 step 3: 483 at zero), Record-Route, and push
    our Via. The caller has set the Request-URI and Route headers."""
    mf = request.max_forwards
    if mf is not None and mf <= 0:
        raise ProxyError(483, "Max-Forwards reached zero")
    out = SipRequest(headers=list(request.headers), body=request.body, method=request.method,
                     uri=request.uri)
    out.set_header("Max-Forwards", str((mf if mf is not None else 70) - 1))
    if record_route and request.method not in ("ACK", "CANCEL", "REGISTER") and \
            not request.to.tag:
        out.headers.insert(_after_vias(out), Header("Record-Route", f"<{me.uri}>"))
    via = f"SIP/2.0/{hop_transport(out)} {me.host}:{me.port};branch={me.branch(request)}"
    out.headers.insert(0, Header("Via", via))
    return out


def relay_response(response: SipResponse, me: Element) -> SendSip | None:
    """§16.7 step 3 / §16.11: remove our Via and send to the next one (received/rport of
    RFC 3581 §4 when present); a response whose top Via is not ours is dropped."""
    try:
        vias = response.vias
    except DecodeError:
        return None
    if len(vias) < 2 or (vias[0].host, vias[0].port or DEFAULT_PORT) != (me.host, me.port):
        return None
    values = [h for h in response.headers if sip.canonical_name(h.name) == "Via"]
    out = SipResponse(headers=list(response.headers), body=response.body,
                      status=response.status, reason=response.reason)
    first = values[0]
    combined = sip.split_outside(first.value, ",")
    idx = out.headers.index(first)
    if len(combined) > 1:
        out.headers[idx] = Header(first.name, ", ".join(combined[1:]))
    else:
        del out.headers[idx]
    nxt = vias[1]
    host = nxt.received or nxt.host
    port = nxt.rport or nxt.port or DEFAULT_PORT
    return SendSip(out, (host.strip("[]"), port))


def answer(request: SipRequest, status: int, *, headers: list[tuple[str, str]] | None = None,
           body: bytes = b"", content_type: str | None = None) -> SendSip:
    """§8.2.6 / §16.11: a response sent back along the request's top Via."""
    top = request.vias[0]
    host = top.received or top.host
    port = top.rport or top.port or DEFAULT_PORT
    resp = sip.response_for(request, status, to_tag=stateless_tag(request),
                            headers=list(headers or []), body=body, content_type=content_type)
    return SendSip(resp, (host.strip("[]"), port))


def stateless_tag(request: SipRequest) -> str:
    """§8.2.7: a stateless UAS gives the same To-tag to the same request every time (its
    retransmissions included): a digest of what identifies the request (§17.2.3)."""
    try:
        top = request.vias[0]
        seed = f"{request.call_id}|{request.from_.tag}|{request.cseq.seq}|{top.branch}"
    except (DecodeError, IndexError):
        seed = request.call_id or ""
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


def _after_vias(req: SipRequest) -> int:
    idx = 0
    for i, h in enumerate(req.headers):
        if sip.canonical_name(h.name) == "Via":
            idx = i + 1
    return idx

