"""UE address -> network-asserted identity, learned from the IP-CAN session.

The P-CSCF presents the UE's IP address to the PCRF over Rx, and the PCRF, which holds the Gx
IP-CAN session the P-GW established, binds it to the subscriber (TS 23.203 §6.1.1.2 session
binding; TS 29.214 §4.4.1, the Subscription-Id and User-Equipment-Info returned to the P-CSCF):
`rx.py` asks, and the bindings it learns are kept here (`learn`, `forget` when the PCRF aborts
the Rx session because the IP-CAN session ended). Without a PCRF, the S/P-GW of the same process
is read directly: the same session data (IMSI, MSISDN, MEI, the UIMSI flag of TS 29.274 §8.12,
the ULI of §8.21 and the APN) the P-GW gives the PCRF. Whatever identity the UE claims in SIP is
never used.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import Any, Protocol

from corenet.codecs.ims_sip import Cell, cell_from_pani, pani
from corenet.core import identifiers
from corenet.core.identifiers import imei_uri, imsi_uri, tel_uri
from corenet.core.identifiers import imei_urn as imei_urn  # the PSAP reads it from here
from corenet.core.plmn import Plmn

__all__ = ["AccessMode", "BindingTable", "Cell", "IdentityType", "UeBinding",
           "binding_from_session", "cell_from_pani", "cell_from_uli", "imei_urn",
           "ims_domain", "pani"]


class AccessMode(enum.Enum):
    """The seed's three modes as seen from the IP-CAN session."""

    FULL = "full"  # TS 23.401 §5.3.2.1 roaming attach: a normal PDN connection exists
    EMERGENCY_AUTH = "emergency-auth"  # TS 23.401 §4.3.12.1, authenticated emergency attach
    EMERGENCY_UNAUTH = "emergency-unauth"  # TS 29.274 §8.12 UIMSI, or IMEI only

    @property
    def emergency_only(self) -> bool:
        return self is not AccessMode.FULL


class IdentityType(enum.Enum):
    MSISDN = "msisdn"
    IMSI = "imsi"
    IMEI = "imei"


@dataclass(frozen=True)
class UeBinding:
    """What the network knows of the UE behind one PDN address."""

    address: str
    mode: AccessMode
    imsi: str | None = None
    msisdn: str | None = None
    imei: str | None = None
    apn: str = ""
    cell: Cell | None = None

    @property
    def authenticated(self) -> bool:
        return self.mode is not AccessMode.EMERGENCY_UNAUTH

    def identity(self, home_domain: str | None = None) -> tuple[str, IdentityType, bool]:
        """(URI, type, verified) given to the PSAP (TS 23.167 §6.2.1 / §7.1):
        the MSISDN as a tel URI when the home network authenticated the UE; otherwise the IMSI
        (unverified: the seed warns it may be forged) or, with no USIM, the IMEI (RFC 7254)."""
        if self.authenticated and self.msisdn:
            return tel_uri(self.msisdn), IdentityType.MSISDN, True
        if self.imsi:
            return imsi_uri(self.imsi, home_domain), IdentityType.IMSI, self.authenticated
        if self.imei:
            return imei_uri(self.imei), IdentityType.IMEI, False
        raise ValueError("a binding without identity")


def ims_domain(mcc: str, mnc: str) -> str:
    """TS 23.003 §13.2 home IMS domain of a PLMN given as MCC and MNC."""
    return identifiers.ims_domain(Plmn(mcc, mnc))


class SessionSource(Protocol):
    """The S/P-GW service (or a stand-in): the session holding a UE address."""

    def session_by_ue_address(self, ip: Any) -> Any: ...


def cell_from_uli(uli: dict[str, Any] | None) -> Cell | None:
    if not uli or "ecgi" not in uli:
        return None
    ecgi, tai = uli["ecgi"], uli.get("tai") or {}
    return Cell(str(ecgi["plmn"]), int(tai.get("tac", 0)), int(ecgi["eci"]))


def binding_from_session(address: str, session: Any, emergency_apn: str,
                         others: list[Any] | None = None) -> UeBinding:
    """The mode follows from the sessions: UIMSI or no IMSI -> unauthenticated emergency; only
    the emergency APN (TS 23.401 §4.3.12.3) -> authenticated emergency; else full roaming."""
    imsi, uimsi = getattr(session, "imsi", None), bool(getattr(session, "uimsi", False))
    apns = {str(getattr(s, "apn", "")).lower() for s in [session, *(others or [])]}
    if imsi is None or uimsi:
        mode = AccessMode.EMERGENCY_UNAUTH
    elif apns <= {emergency_apn.lower()}:
        mode = AccessMode.EMERGENCY_AUTH
    else:
        mode = AccessMode.FULL
    return UeBinding(address, mode, imsi, getattr(session, "msisdn", None),
                     getattr(session, "mei", None), str(getattr(session, "apn", "")),
                     cell_from_uli(getattr(session, "uli", None)))


class BindingTable:
    """Static entries (tests, interop) first, then bindings learned over Rx, then the S/P-GW's
    live sessions of the same process."""

    def __init__(self, sessions: SessionSource | None = None, *,
                 emergency_apn: str = "sos") -> None:
        self.sessions = sessions
        self.emergency_apn = emergency_apn
        self.static: dict[str, UeBinding] = {}
        self.learned: dict[str, UeBinding] = {}

    def add(self, binding: UeBinding) -> None:
        self.static[_norm(binding.address)] = binding

    def learn(self, binding: UeBinding) -> None:
        self.learned[_norm(binding.address)] = binding

    def forget(self, address: str) -> UeBinding | None:
        return self.learned.pop(_norm(address), None)

    def lookup(self, address: str) -> UeBinding | None:
        key = _norm(address)
        if key in self.static:
            return self.static[key]
        if key in self.learned:
            return self.learned[key]
        if self.sessions is None or not key:
            return None
        session = self.sessions.session_by_ue_address(key)
        if session is None:
            return None
        others: list[Any] = []
        by_imsi = getattr(getattr(self.sessions, "core", None), "session_by_imsi", None)
        if callable(by_imsi) and getattr(session, "imsi", None):
            others = list(by_imsi(session.imsi))
        return binding_from_session(key, session, self.emergency_apn, others)


def norm(address: str) -> str:
    """The canonical text of an IP address ("" for anything else)."""
    return _norm(address)


def _norm(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        return ""
