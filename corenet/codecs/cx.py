"""Cx (TS 29.228 procedures, TS 29.229 protocol) messages over the Diameter codec: builders
for UAR/UAA, MAR/MAA and SAR/SAA, their AVP values, and the IMS subscription of User-Data.

Requests take a Session-Id and the hop-by-hop / end-to-end identifiers (set again by the peer
machine); answers copy them from the request (RFC 6733 §6.2). Every Cx message carries
Vendor-Specific-Application-Id {10415, 16777216} and Auth-Session-State NO_STATE_MAINTAINED
(TS 29.229 §6.1). Answers carry Result-Code or Experimental-Result with Vendor-Id 10415 (§6.2).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from corenet.codecs.base import Message
from corenet.codecs.diameter import (
    AUTH_SESSION_STATE_NO_STATE_MAINTAINED,
    CX_APPLICATION_ID,
    VENDOR_3GPP,
    answer_message,
    avp,
    avp_all,
    request_message,
)
from corenet.core.errors import DecodeError

Entries = list[tuple[Any, ...]]

# TS 33.203 §6.1, TS 29.229 §6.3.9: the SIP-Authentication-Scheme of IMS AKA
AKA_SCHEME = "Digest-AKAv1-MD5"
RAND_LEN, AUTN_LEN, AUTS_LEN = 16, 16, 14


class CxResult(enum.IntEnum):
    """Experimental-Result-Code values of Cx (Vendor-Id 10415), TS 29.229 §6.2."""

    DIAMETER_FIRST_REGISTRATION = 2001
    DIAMETER_SUBSEQUENT_REGISTRATION = 2002
    DIAMETER_UNREGISTERED_SERVICE = 2003
    DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED = 2004
    DIAMETER_ERROR_USER_UNKNOWN = 5001
    DIAMETER_ERROR_IDENTITIES_DONT_MATCH = 5002
    DIAMETER_ERROR_IDENTITY_NOT_REGISTERED = 5003
    DIAMETER_ERROR_ROAMING_NOT_ALLOWED = 5004
    DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED = 5005
    DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED = 5006
    DIAMETER_ERROR_IN_ASSIGNMENT_TYPE = 5007
    DIAMETER_ERROR_TOO_MUCH_DATA = 5008
    DIAMETER_ERROR_NOT_SUPPORTED_USER_DATA = 5009


class UserAuthorizationType(enum.IntEnum):
    """TS 29.229 §6.3.24."""

    REGISTRATION = 0
    DE_REGISTRATION = 1
    REGISTRATION_AND_CAPABILITIES = 2


class ServerAssignmentType(enum.IntEnum):
    """TS 29.229 §6.3.15 (the values used here)."""

    NO_ASSIGNMENT = 0
    REGISTRATION = 1
    RE_REGISTRATION = 2
    UNREGISTERED_USER = 3
    TIMEOUT_DEREGISTRATION = 4
    USER_DEREGISTRATION = 5


class UserDataAlreadyAvailable(enum.IntEnum):
    """TS 29.229 §6.3.26."""

    USER_DATA_NOT_AVAILABLE = 0
    USER_DATA_ALREADY_AVAILABLE = 1


@dataclass(frozen=True)
class ImsAkaVector:
    """One SIP-Auth-Data-Item of IMS AKA (TS 29.229 §6.3.13, TS 33.203 §6.1)."""

    rand: bytes
    autn: bytes
    xres: bytes
    ck: bytes
    ik: bytes

    @property
    def nonce(self) -> bytes:
        """SIP-Authenticate, §6.3.10: RAND || AUTN."""
        return self.rand + self.autn

    def to_avps(self, item: int = 1) -> Entries:
        return [("SIP-Item-Number", item), ("SIP-Authentication-Scheme", AKA_SCHEME),
                ("SIP-Authenticate", self.nonce), ("SIP-Authorization", self.xres),
                ("Confidentiality-Key", self.ck), ("Integrity-Key", self.ik)]

    @classmethod
    def from_avps(cls, entries: Any) -> ImsAkaVector:
        nonce = avp(entries, "SIP-Authenticate")
        xres, ck, ik = (avp(entries, n) for n in ("SIP-Authorization", "Confidentiality-Key",
                                                  "Integrity-Key"))
        if not isinstance(nonce, bytes) or len(nonce) != RAND_LEN + AUTN_LEN or not all(
                isinstance(v, bytes) for v in (xres, ck, ik)):
            raise DecodeError("diameter", "bad-vector", "SIP-Auth-Data-Item is no AKA vector")
        return cls(nonce[:RAND_LEN], nonce[RAND_LEN:], xres, ck, ik)


def _head(session_id: str, origin_host: str, origin_realm: str,
          destination_realm: str | None, destination_host: str | None) -> Entries:
    """< Session-Id > { Vendor-Specific-Application-Id } { Auth-Session-State } { Origin-Host }
    { Origin-Realm } [ Destination-Host ] { Destination-Realm }, TS 29.229 §6.1.1."""
    avps: Entries = [("Session-Id", session_id), _vsai(),
                     ("Auth-Session-State", AUTH_SESSION_STATE_NO_STATE_MAINTAINED),
                     ("Origin-Host", origin_host), ("Origin-Realm", origin_realm)]
    if destination_host is not None:
        avps.append(("Destination-Host", destination_host))
    if destination_realm is not None:
        avps.append(("Destination-Realm", destination_realm))
    return avps


def _vsai() -> tuple[str, Entries]:
    return ("Vendor-Specific-Application-Id", [("Vendor-Id", VENDOR_3GPP),
                                               ("Auth-Application-Id", CX_APPLICATION_ID)])


def answer(request: Message, origin_host: str, origin_realm: str, *,
           result_code: int | None = None, experimental: int | None = None,
           extra: Entries | None = None) -> Message:
    """A Cx answer (§6.1.2/4/8): the head, Result-Code or Experimental-Result, then `extra`."""
    avps: Entries = [("Session-Id", avp(request, "Session-Id")), _vsai()]
    if experimental is not None:
        avps.append(("Experimental-Result", [("Vendor-Id", VENDOR_3GPP),
                                             ("Experimental-Result-Code", int(experimental))]))
    else:
        avps.append(("Result-Code", int(result_code or 2001)))
    avps += [("Auth-Session-State", AUTH_SESSION_STATE_NO_STATE_MAINTAINED),
             ("Origin-Host", origin_host), ("Origin-Realm", origin_realm), *(extra or [])]
    return answer_message(request, avps)


def uar(session_id: str, origin_host: str, origin_realm: str, destination_realm: str,
        impi: str, impu: str, visited_network: str, *, hop_by_hop: int = 0,
        end_to_end: int = 0, authorization_type: int = UserAuthorizationType.REGISTRATION,
        destination_host: str | None = None) -> Message:
    """User-Authorization-Request, TS 29.229 §6.1.1 (TS 29.228 §6.1.1)."""
    avps = _head(session_id, origin_host, origin_realm, destination_realm, destination_host)
    avps += [("User-Name", impi), ("Public-Identity", impu),
             ("Visited-Network-Identifier", visited_network.encode()),
             ("User-Authorization-Type", int(authorization_type))]
    return request_message("UAR", avps, hop_by_hop, end_to_end)


def mar(session_id: str, origin_host: str, origin_realm: str, destination_realm: str,
        impi: str, impu: str, server_name: str, *, hop_by_hop: int = 0, end_to_end: int = 0,
        resync: bytes | None = None, destination_host: str | None = None) -> Message:
    """Multimedia-Auth-Request, TS 29.229 §6.1.7 (TS 29.228 §6.3.1); with `resync`, RAND ||
    AUTS in SIP-Authorization (§6.3.11, TS 33.203 §6.1.2)."""
    avps = _head(session_id, origin_host, origin_realm, destination_realm, destination_host)
    item: Entries = [("SIP-Authentication-Scheme", AKA_SCHEME)]
    if resync is not None:
        item.append(("SIP-Authorization", resync))
    avps += [("User-Name", impi), ("Public-Identity", impu), ("SIP-Number-Auth-Items", 1),
             ("SIP-Auth-Data-Item", item), ("Server-Name", server_name)]
    return request_message("MAR", avps, hop_by_hop, end_to_end)


def sar(session_id: str, origin_host: str, origin_realm: str, destination_realm: str,
        impi: str, impu: str, server_name: str, assignment: int, *, hop_by_hop: int = 0,
        end_to_end: int = 0, destination_host: str | None = None) -> Message:
    """Server-Assignment-Request, TS 29.229 §6.1.3 (TS 29.228 §6.1.2)."""
    avps = _head(session_id, origin_host, origin_realm, destination_realm, destination_host)
    avps += [("User-Name", impi), ("Public-Identity", impu), ("Server-Name", server_name),
             ("Server-Assignment-Type", int(assignment)),
             ("User-Data-Already-Available", UserDataAlreadyAvailable.USER_DATA_NOT_AVAILABLE)]
    return request_message("SAR", avps, hop_by_hop, end_to_end)


def result_of(msg: Message) -> int | None:
    """The Result-Code, else the Experimental-Result-Code of an answer."""
    code = avp(msg, "Result-Code")
    if code is None:
        code = avp(msg, "Experimental-Result", "Experimental-Result-Code")
    return None if code is None else int(code)


def vectors_of(maa: Message) -> list[ImsAkaVector]:
    return [ImsAkaVector.from_avps(item) for item in avp_all(maa, "SIP-Auth-Data-Item")]


# ------------------------------------------------------------------------------ User-Data


def user_data(impi: str, impus: list[str]) -> bytes:
    """The IMS subscription (TS 29.228 Annex D, Table D.1; Annex E XML schema): one
    service profile with the public identities of the private identity `impi`."""
    root = ElementTree.Element("IMSSubscription")
    ElementTree.SubElement(root, "PrivateID").text = impi
    profile = ElementTree.SubElement(root, "ServiceProfile")
    for uri in impus:
        public = ElementTree.SubElement(profile, "PublicIdentity")
        ElementTree.SubElement(public, "BarringIndication").text = "0"
        ElementTree.SubElement(public, "Identity").text = uri
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ElementTree.tostring(root)


def public_identities(data: bytes) -> list[str]:
    """The unbarred public identities of a User-Data IMS subscription (TS 29.228 Annex D)."""
    if b"<!DOCTYPE" in data.upper():
        # TS 29.228 Annex E: the schema has no DTD; entities are not expanded for a peer
        raise DecodeError("diameter", "user-data", "User-Data with a DOCTYPE")
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, LookupError, ValueError) as exc:
        raise DecodeError("diameter", "user-data", f"User-Data is not XML: {exc}") from None
    out = []
    for public in root.iter("PublicIdentity"):
        if (public.findtext("BarringIndication") or "0").strip() == "1":
            continue
        ident = (public.findtext("Identity") or "").strip()
        if ident:
            out.append(ident)
    return out
