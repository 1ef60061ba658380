"""What IMS adds to SIP and what both the network (P-CSCF, E-CSCF) and the PSAP read:
P-Access-Network-Info (TS 24.229 §7.2A.4),
dialled digits of a Request-URI (RFC 3966, RFC 3261 §19.1.1), and the one header JAPAN
Roaming adds to an emergency INVITE, `Japan-Roaming-Caller`.

Identity to the PSAP: an identity the network authenticated is asserted the standard way, in
P-Asserted-Identity (RFC 3325 §9.1; TS 24.229 §5.2.10.1). No standard carries what JAPAN
Roaming also wants the PSAP to have: the roaming mode of the caller's access, and the IMSI
(or IMEI) of an unauthenticated caller, which the network read from the IP-CAN session but
cannot vouch for. Both go in `Japan-Roaming-Caller`, set by the P-CSCF inside the trust domain
(RFC 3325 §2.3) and removed from anything a UE sends:

    Japan-Roaming-Caller: mode=full
    Japan-Roaming-Caller: mode=emergency-auth
    Japan-Roaming-Caller: mode=emergency-unauth;imsi=440100000000001
    Japan-Roaming-Caller: mode=emergency-unauth;imei=35349006987331

An `imsi` or `imei` parameter is never asserted: it is what the unauthenticated UE presented.
"""

from __future__ import annotations

from dataclasses import dataclass

from corenet.codecs.sip import Uri

CALLER_HEADER = "Japan-Roaming-Caller"
_CALLER_IDS = ("imsi", "imei")


@dataclass(frozen=True)
class RoamingCaller:
    """The value of `Japan-Roaming-Caller` (module docstring)."""

    mode: str
    imsi: str | None = None
    imei: str | None = None

    def encode(self) -> str:
        parts = [f"mode={self.mode}"]
        parts += [f"{name}={value}" for name, value in (("imsi", self.imsi),
                                                        ("imei", self.imei)) if value]
        return ";".join(parts)


def parse_roaming_caller(value: str | None) -> RoamingCaller | None:
    """The header's value, None when absent or without a mode; digits only in imsi/imei."""
    if not value:
        return None
    params: dict[str, str] = {}
    for part in value.split(";"):
        name, _, v = part.partition("=")
        params[name.strip().lower()] = v.strip()
    mode = params.get("mode")
    if not mode:
        return None
    ids = {k: params[k] for k in _CALLER_IDS if params.get(k, "").isdigit()}
    return RoamingCaller(mode, ids.get("imsi"), ids.get("imei"))

_DIAL_CHARS = frozenset("0123456789*#+")


@dataclass(frozen=True)
class Cell:
    """TAI + ECGI of the UE's serving cell (TS 29.274 §8.21.4, §8.21.5)."""

    plmn: str
    tac: int
    eci: int

    @property
    def ecgi(self) -> str:
        """PLMN-ECI, the ECI as its 7 hex digits (28 bits, TS 36.413 §9.2.1.38)."""
        return f"{self.plmn}-{self.eci:07x}"


def pani(cell: Cell) -> str:
    """TS 24.229 §7.2A.4: P-Access-Network-Info for E-UTRAN, utran-cell-id-3gpp = MCC MNC,
    TAC (4 hex digits) and ECI (7 hex digits), marked network-provided (inserted by the
    P-CSCF from the IP-CAN session, not by the UE)."""
    return (f'3GPP-E-UTRAN-FDD; utran-cell-id-3gpp={cell.plmn}{cell.tac:04X}{cell.eci:07X}; '
            f'network-provided')


def cell_from_pani(value: str | None) -> Cell | None:
    """The cell of a network-provided E-UTRAN P-Access-Network-Info, else None."""
    if not value:
        return None
    parts = [p.strip() for p in value.split(";")]
    if not parts[0].upper().startswith("3GPP-E-UTRAN") or "network-provided" not in parts:
        return None
    for p in parts[1:]:
        name, _, cid = p.partition("=")
        if name.strip().lower() == "utran-cell-id-3gpp" and len(cid) in (16, 17):
            plmn_len = len(cid) - 11
            try:
                return Cell(cid[:plmn_len], int(cid[plmn_len:plmn_len + 4], 16),
                            int(cid[plmn_len + 4:], 16))
            except ValueError:
                return None
    return None


def dialled_digits(uri: Uri) -> str | None:
    """The digits of a tel URI (RFC 3966) or of a SIP URI user part that is a telephone number
    (user=phone, RFC 3261 §19.1.1, or all dial characters); visual separators dropped."""
    if uri.scheme == "tel":
        raw = uri.user or ""
    elif uri.scheme in ("sip", "sips") and uri.user:
        raw = uri.user.split(";", 1)[0]
        if uri.param("user") != "phone" and not all(c in _DIAL_CHARS | set("-.()")
                                                     for c in raw):
            return None
    else:
        return None
    raw = raw.replace("%23", "#")
    digits = "".join(c for c in raw if c not in "-.()")
    return digits if digits and all(c in _DIAL_CHARS for c in digits) else None
