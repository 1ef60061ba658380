"""E-CSCF of the rescuing operator (TS 23.167 §6.2.3, TS 24.229 §5.11).

Receives emergency requests from the P-CSCF, maps a dialled emergency number to its service
URN when the Request-URI is not already one (TS 24.229 §5.11.2), picks the PSAP from the
caller's cell (TS 23.167 §6.2.3: location-based PSAP selection; here the cell's ECI or TAC ->
prefecture -> PSAP table of the configuration, with a default PSAP) and routes the request
there with a Route header (RFC 3261 §16.6 step 6, loose routing), keeping the service URN as
Request-URI so the PSAP sees the service asked for. Location travels in the network-provided
P-Access-Network-Info (TS 24.229 §7.2A.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corenet.codecs import sip
from corenet.codecs.sip import Header, SipRequest, SipResponse
from corenet.config.models import EcscfConfig
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError
from corenet.nf.ims.binding import Cell, cell_from_pani
from corenet.nf.ims.dialplan import DialPlan, dialled_digits
from corenet.nf.ims.proxy import (
    Address,
    Element,
    ProxyError,
    SendSip,
    address_of,
    answer,
    forward,
    next_hop,
    pop_own_route,
    relay_response,
)

Action = SendSip | LogEvent


@dataclass(frozen=True)
class PsapChoice:
    uri: str
    prefecture: str | None


@dataclass
class EcscfCore:
    """Trust domain (RFC 3325 §2.3): requests come from the configured P-CSCFs (`pcscfs`,
    with any the service adds) and, inside their dialogs or for a call-back, from the PSAPs
    this E-CSCF routes to; anyone else gets 403. In-dialog requests only cross between the two
    sides (P-CSCF <-> PSAP): an emergency dialog leads nowhere else."""

    cfg: EcscfConfig
    dialplan: DialPlan
    me: Element
    pcscfs: set[str] = field(default_factory=set)
    psaps: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.pcscfs |= set(self.cfg.pcscfs)
        self.psaps = set()
        for uri in [r.uri for r in self.cfg.psaps] + [self.cfg.default_psap]:
            try:
                self.psaps.add(address_of(uri)[0])
            except (ProxyError, DecodeError):
                continue  # a PSAP named by a domain is not reached from here (address_of)

    def prefecture(self, cell: Cell | None) -> str | None:
        """The configured area of the cell: by E-UTRAN cell identity first, then by TAC."""
        if cell is None:
            return None
        for area in self.cfg.areas:
            if cell.eci in area.ecis:
                return area.prefecture
        for area in self.cfg.areas:
            if cell.tac in area.tacs:
                return area.prefecture
        return None

    def select_psap(self, cell: Cell | None, urn: str) -> PsapChoice:
        """TS 23.167 §6.2.3: the PSAP serving the caller's area for the service asked for."""
        pref = self.prefecture(cell)
        service = urn.lower().removeprefix("urn:service:")
        for route in self.cfg.psaps:
            if route.prefecture == pref and (not route.services or service in route.services):
                return PsapChoice(route.uri, pref)
        return PsapChoice(self.cfg.default_psap, pref)

    def handle_response(self, response: SipResponse) -> list[Action]:
        out = relay_response(response, self.me)
        return [] if out is None else [out]

    def handle_request(self, request: SipRequest, source: Address) -> list[Action]:
        try:
            return self._route(request, source)
        except (ProxyError, DecodeError) as exc:
            status = exc.status if isinstance(exc, ProxyError) else 400
            if request.method == "ACK":
                return []
            return [answer(request, status),
                    LogEvent("ecscf.request.refused", {"uri": request.uri, "status": status,
                                                       "source": source[0],
                                                       "detail": exc.detail})]

    def _route(self, req: SipRequest, source: Address) -> list[Action]:
        from_pcscf, from_psap = source[0] in self.pcscfs, source[0] in self.psaps
        if not (from_pcscf or from_psap):
            raise ProxyError(403, f"{source[0]} is not in the trust domain (RFC 3325 §2.3)")
        pop_own_route(req, self.me)
        if req.to.tag or from_psap and not from_pcscf:
            hop = next_hop(req)
            if hop is None:
                raise ProxyError(404, f"no route for {req.uri}")
            if req.to.tag and hop[0] not in (self.psaps if from_pcscf else self.pcscfs):
                raise ProxyError(403, f"an emergency dialog does not lead to {hop[0]}")
            return [SendSip(forward(req, self.me, record_route=False), hop)]
        uri = req.request_uri
        if not uri.is_emergency:
            digits = dialled_digits(uri)
            urn = self.dialplan.emergency_urn(digits) if digits else None
            if urn is None:
                raise ProxyError(404, f"{req.uri} is not an emergency service")
            req.uri = urn
        cell = cell_from_pani(req.header("P-Access-Network-Info"))
        choice = self.select_psap(cell, req.uri)
        psap = sip.parse_uri(choice.uri)
        hop = address_of(psap)
        req.remove_header("Route")
        idx = max(i for i, h in enumerate(req.headers)
                  if sip.canonical_name(h.name) == "Via") + 1
        req.headers.insert(idx, Header("Route", f"<{choice.uri};lr>"))
        return [SendSip(forward(req, self.me), hop),
                LogEvent("ecscf.psap.selected", {
                    "urn": req.uri, "psap": choice.uri, "prefecture": choice.prefecture,
                    "ecgi": cell.ecgi if cell else None})]
