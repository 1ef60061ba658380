"""Security mechanism agreement at the P-CSCF (RFC 3329, TS 33.203 §7, TS 24.229 §5.2.2), with
the IPsec security associations themselves emulated: no ESP on the wire, the Gm signalling stays
on the ports it already uses, and the agreement is what is negotiated and checked.

- REGISTER from a UE (`on_register`): `Security-Client` must offer `ipsec-3gpp` with an
  integrity algorithm of TS 33.203 §7.1 when the UE requires sec-agree, else 494 Security
  Agreement Required (RFC 3329 §2.3.1 step 2); a REGISTER that answers our challenge carries
  `Security-Verify` equal to the `Security-Server` we sent, else 494 (RFC 3329 §2.3.1 step 5,
  a downgrade). The P-CSCF then removes what is for it alone before forwarding: the sec-agree
  option tag in Require / Proxy-Require and the Security-* headers (TS 24.229 §5.2.2.1);
- 401 to a REGISTER (`on_challenge`): CK and IK leave the WWW-Authenticate (the P-CSCF keeps
  them for its associations, TS 33.203 §7.1, TS 24.229 §5.2.2.1), and `Security-Server`
  names the P-CSCF's SPIs and ports for the UE's offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corenet.codecs import sip
from corenet.codecs.sip import Header, SipRequest, SipResponse
from corenet.nf.ims.proxy import ProxyError

MECHANISM = "ipsec-3gpp"  # TS 33.203 §7.1, RFC 3329 §2.2
OPTION_TAG = "sec-agree"  # RFC 3329 §2.3
ALGORITHMS = ("hmac-sha-1-96", "hmac-md5-96")  # TS 33.203 §6.3 integrity algorithms
SECURITY_HEADERS = ("Security-Client", "Security-Verify", "Security-Server")
AGREEMENT_REQUIRED = 494  # RFC 3329 §6.1
FIRST_SPI = 0x10000  # SPIs of the P-CSCF's (emulated) associations


def mechanism_params(value: str) -> tuple[str, dict[str, str]]:
    """`ipsec-3gpp; alg=...; spi-c=...` -> ("ipsec-3gpp", {"alg": ..., "spi-c": ...})."""
    parts = [p.strip() for p in sip.split_outside(value, ";")]
    params: dict[str, str] = {}
    for p in parts[1:]:
        name, _, val = p.partition("=")
        params[name.strip().lower()] = val.strip().strip('"')
    return parts[0].lower() if parts else "", params


@dataclass
class _Agreement:
    client: str  # the UE's Security-Client offer
    server: str | None = None  # the Security-Server sent in the 401


@dataclass
class SecAgree:
    host_port: int  # the P-CSCF's port: the protected ports of its (emulated) associations
    max_ues: int = 100_000
    agreements: dict[str, _Agreement] = field(default_factory=dict)  # by UE address
    _next_spi: int = FIRST_SPI

    def on_register(self, req: SipRequest, ue: str) -> None:
        """RFC 3329 §2.3.1 at the server side, then TS 24.229 §5.2.2.1: what only the P-CSCF
        reads is removed from the REGISTER it forwards."""
        required = {t.strip().lower() for n in ("Require", "Proxy-Require")
                    for t in req.headers_all(n)}
        clients = req.headers_all("Security-Client")
        verify = req.headers_all("Security-Verify")
        offer = next((c for c in clients if _acceptable(c)), None)
        if OPTION_TAG in required and offer is None:
            raise ProxyError(AGREEMENT_REQUIRED, "sec-agree required without an acceptable "
                                                 "ipsec-3gpp Security-Client (RFC 3329 §2.3.1)",
                             headers=[("Security-Server", self._server_offer())])
        known = self.agreements.get(ue)
        if verify:
            if known is None or known.server is None or verify != [known.server]:
                raise ProxyError(AGREEMENT_REQUIRED, "Security-Verify does not repeat the "
                                                     "Security-Server sent (RFC 3329 §2.3.1)")
        elif offer is not None:
            if len(self.agreements) >= self.max_ues:
                self.agreements.pop(next(iter(self.agreements)))
            self.agreements[ue] = _Agreement(offer)
        for name in ("Security-Client", "Security-Verify"):
            req.remove_header(name)
        for name in ("Require", "Proxy-Require"):
            _remove_tag(req, name, OPTION_TAG)

    def on_challenge(self, resp: SipResponse, ue: str) -> None:
        """A 401 to a UE's REGISTER on its way back: CK and IK removed (TS 24.229 §5.2.2.1),
        Security-Server added when the UE offered sec-agree (RFC 3329 §2.3.1 step 3)."""
        resp.headers = [Header(h.name, _without_keys(h.value))
                        if sip.canonical_name(h.name) == "WWW-Authenticate" else h
                        for h in resp.headers]
        for name in SECURITY_HEADERS:
            resp.remove_header(name)  # nothing of the core's: the agreement is ours
        agreement = self.agreements.get(ue)
        if agreement is None:
            return
        agreement.server = self._server_offer()
        resp.headers.append(Header("Security-Server", agreement.server))

    def _server_offer(self) -> str:
        spi_c, spi_s = self._next_spi, self._next_spi + 1
        self._next_spi = FIRST_SPI + (self._next_spi + 2 - FIRST_SPI) % 0x7FFF0000
        return (f"{MECHANISM}; q=0.1; alg={ALGORITHMS[0]}; spi-c={spi_c}; spi-s={spi_s}; "
                f"port-c={self.host_port}; port-s={self.host_port}")


def _acceptable(value: str) -> bool:
    mech, params = mechanism_params(value)
    return mech == MECHANISM and params.get("alg", "") in ALGORITHMS and all(
        params.get(k, "").isdigit() for k in ("spi-c", "spi-s", "port-c", "port-s"))


def _remove_tag(req: SipRequest, name: str, tag: str) -> None:
    want = sip.canonical_name(name)
    kept = [t for t in req.headers_all(name) if t.strip().lower() != tag]
    idx = next((i for i, h in enumerate(req.headers) if sip.canonical_name(h.name) == want),
               None)
    if idx is None:
        return
    req.remove_header(name)
    if kept:
        req.headers.insert(idx, Header(name, ", ".join(kept)))


def _without_keys(value: str) -> str:
    """WWW-Authenticate without its ck and ik parameters (TS 24.229 §5.2.2.1)."""
    scheme, _, rest = value.strip().partition(" ")
    kept = [p.strip() for p in sip.split_outside(rest, ",")
            if p.strip().partition("=")[0].strip().lower() not in ("ck", "ik")]
    return f"{scheme} {', '.join(kept)}"
