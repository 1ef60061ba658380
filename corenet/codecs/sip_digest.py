"""HTTP Digest in SIP (RFC 3261 §22.4, RFC 2617) with IMS AKA (RFC 3310, TS 33.203 §6.1):
the parameters of WWW-Authenticate / Authorization and the request-digest, shared by the S-CSCF
that verifies and the UE that answers."""

from __future__ import annotations

import hashlib

from corenet.codecs import sip

AKA_ALGORITHM = "AKAv1-MD5"  # RFC 3310 §3.1


def digest_params(value: str) -> dict[str, str]:
    """RFC 2617 §3.2.1 challenge parameters (scheme dropped, quotes removed)."""
    _, _, rest = value.strip().partition(" ")
    out: dict[str, str] = {}
    for item in sip.split_outside(rest, ","):
        name, eq, val = item.partition("=")
        if eq:
            val = val.strip()
            out[name.strip().lower()] = val[1:-1] if val[:1] == val[-1:] == '"' and len(
                val) >= 2 else val
    return out


def digest_response(username: str, realm: str, password: bytes, method: str, uri: str,
                    nonce: str, qop: str | None, nc: str, cnonce: str) -> str:
    """RFC 2617 §3.2.2.1 with MD5; RFC 3310 §3.4: the password is RES (empty with AUTS)."""
    ha1 = hashlib.md5(f"{username}:{realm}:".encode() + password).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    if qop:
        data = f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"
    else:
        data = f"{ha1}:{nonce}:{ha2}"
    return hashlib.md5(data.encode()).hexdigest()
