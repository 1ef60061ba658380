"""The HSS side of Cx (TS 29.228 §6, TS 29.229), sans-I/O: a decoded request in, one answer out.

`CxServer.handle(request, now)` runs one procedure against the store and returns a
`SendAnswer` (exactly one per request) and `LogEvent`s:
- UAR (User registration status query, TS 29.228 §6.1.1): the identities are checked, the answer
  says first or subsequent registration and names the S-CSCF already serving the user;
- MAR (Authentication procedure, TS 29.228 §6.3): an IMS AKA vector (TS 33.203 §6.1), its SQN
  taken from the very per-IMSI SQN_HE that S6a uses (`HssStore.next_sqns`), so an SQN is never
  handed out twice across S6a and Cx; a SIP-Authorization of RAND || AUTS re-synchronises it
  first (TS 29.228 §6.3.1, TS 33.102 §6.3.5). Like the S6a answers, the MAA leaves only once the
  new SQN_HE is committed (the service's group commit);
- SAR (S-CSCF registration, TS 29.228 §6.1.2): the S-CSCF name is stored or cleared, and the
  answer carries the IMS subscription (User-Data, TS 29.228 Annex D/E).

The private and public identities of a subscriber are derived from its IMSI (TS 23.003 §13.3,
§13.4 with the MSISDN, §13.4B without): IMPI <IMSI>@ims.mncMNC.mccMCC.3gppnetwork.org, IMPUs
sip:+<MSISDN>@domain and tel:+<MSISDN> (or sip:<IMSI>@domain).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from corenet.codecs import cx
from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.codecs.cx import CxResult, ServerAssignmentType, UserAuthorizationType
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError
from corenet.core.identifiers import impi as impi_for
from corenet.core.identifiers import impu as impu_for
from corenet.core.identifiers import ims_domain, tel_uri
from corenet.core.plmn import Plmn
from corenet.crypto.milenage import MacSFailure, Milenage, generate_vector
from corenet.nf.hss.s6a import Action, S6aError, SendAnswer, avp_bytes, sqn_ms_of
from corenet.nf.hss.store import HssStore, SqnExhausted, SubscriberRecord

Rc = dia.ResultCode
_IMS_DOMAIN = re.compile(r"ims\.mnc(\d{3})\.mcc(\d{3})\.3gppnetwork\.org")
# TS 29.229 §6.3.5: capability values are operator-defined; 1 here is "serves IMS AKA"
IMS_AKA_CAPABILITY = 1


class CxError(S6aError):
    """A Cx outcome answered with a Result-Code or an Experimental-Result-Code (§6.2)."""


def identities(sub: SubscriberRecord, home: Plmn) -> tuple[str, list[str]]:
    """The IMPI and the IMPUs of a subscriber of `home` (TS 23.003 §13.3, §13.4, §13.4B)."""
    impus = [impu_for(sub.msisdn, sub.imsi, home)]
    if sub.msisdn:
        impus.append(tel_uri(sub.msisdn))
    return impi_for(sub.imsi, home), impus


def visited_plmns(network_id: bytes) -> list[str]:
    """The PLMN of a Visited-Network-Identifier in the form of TS 23.003 §13.2
    (ims.mncMNC.mccMCC.3gppnetwork.org), as MCC+MNC with the MNC of 3 and of 2 digits (the
    domain always writes 3); empty for any other form."""
    match = _IMS_DOMAIN.fullmatch(network_id.decode("utf-8", "replace").strip().lower())
    if match is None:
        return []
    mnc, mcc = match.groups()
    return [mcc + mnc] + ([mcc + mnc[1:]] if mnc.startswith("0") else [])


class CxServer:
    """HSS procedures of TS 29.228 §6.1.1, §6.1.2 and §6.3 over Cx."""

    def __init__(self, store: HssStore, home: Plmn, *, origin_host: str, origin_realm: str,
                 max_vectors: int = 5,
                 random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self.store = store
        self.home = home
        self.origin_host = origin_host
        self.origin_realm = origin_realm
        self.max_vectors = max_vectors
        self._random = random_bytes
        self._procedures: dict[str, Callable[[Message], list[Action]]] = {
            "UAR": self.user_authorization,
            "MAR": self.multimedia_auth,
            "SAR": self.server_assignment,
        }

    def handle(self, request: Message, now: float) -> list[Action]:
        """One request in, exactly one answer out (RFC 6733 §6.2), errors as result codes."""
        try:
            if request.name not in self._procedures:
                raise CxError(Rc.DIAMETER_COMMAND_UNSUPPORTED,
                              f"{request.name} is not served by the HSS")  # RFC 6733 §7.1.3
            dia.check_mandatory(request)
            return self._procedures[request.name](request)
        except DecodeError as exc:  # RFC 6733 §7.1.5 5005 from the ABNF check
            return self.reject(request, CxError(int(exc.cause), exc.detail,
                                                failed_avp=exc.extra.get("failed_avp")))
        except S6aError as exc:  # CxError, or a check shared with S6a
            return self.reject(request, exc)

    # -- procedures ------------------------------------------------------------------------

    def user_authorization(self, req: Message) -> list[Action]:
        """TS 29.228 §6.1.1.1: the registration status of the public identity; the S-CSCF
        already assigned (subsequent registration) or capabilities for the I-CSCF to select
        one (first registration)."""
        sub, impi, impu = self._identities(req)
        raw_kind = int(dia.avp(req, "User-Authorization-Type",
                               default=UserAuthorizationType.REGISTRATION))
        if raw_kind not in set(UserAuthorizationType):
            raise CxError(Rc.DIAMETER_INVALID_AVP_VALUE, f"User-Authorization-Type {raw_kind}",
                          failed_avp=avp_bytes("User-Authorization-Type", raw_kind))
        kind = UserAuthorizationType(raw_kind)
        visited = visited_plmns(dia.avp(req, "Visited-Network-Identifier") or b"")
        if kind != UserAuthorizationType.DE_REGISTRATION and visited and not any(
                sub.roaming_allowed(p) for p in visited):
            # TS 29.228 §6.1.1.1: the user may not roam in that visited network
            raise CxError(CxResult.DIAMETER_ERROR_ROAMING_NOT_ALLOWED,
                          f"{impu} may not roam in {visited[0]}", experimental=True)
        server = self.store.scscf_of(impi)
        if kind == UserAuthorizationType.DE_REGISTRATION:
            if server is None:
                raise CxError(CxResult.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED,
                              f"{impu} is not registered", experimental=True)
            code = int(Rc.DIAMETER_SUCCESS)
            answer = cx.answer(req, self.origin_host, self.origin_realm, result_code=code,
                               extra=[("Server-Name", server)])
        else:
            code = int(CxResult.DIAMETER_SUBSEQUENT_REGISTRATION if server is not None
                       else CxResult.DIAMETER_FIRST_REGISTRATION)
            extra: cx.Entries = [("Server-Name", server)] if server is not None else [
                ("Server-Capabilities", [("Mandatory-Capability", IMS_AKA_CAPABILITY)])]
            answer = cx.answer(req, self.origin_host, self.origin_realm, experimental=code,
                               extra=extra)
        return self._ok(answer, "cx.uar.accepted", sub, impu=impu, result=code,
                        scscf=server)

    def multimedia_auth(self, req: Message) -> list[Action]:
        """TS 29.228 §6.3.1: IMS AKA vectors (TS 33.203 §6.1), after a re-synchronisation
        when SIP-Authorization carries RAND || AUTS (TS 33.102 §6.3.5)."""
        sub, impi, impu = self._identities(req)
        item = dia.avp(req, "SIP-Auth-Data-Item") or []
        scheme = dia.avp(item, "SIP-Authentication-Scheme", default=cx.AKA_SCHEME)
        if scheme != cx.AKA_SCHEME:
            raise CxError(CxResult.DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED,
                          f"scheme {scheme!r}", experimental=True)
        milenage = Milenage(sub.k, sub.opc)
        sqn_ms = self._resync(dia.avp(item, "SIP-Authorization"), milenage)
        n = max(1, min(int(dia.avp(req, "SIP-Number-Auth-Items", default=1)), self.max_vectors))
        try:
            sqns = self.store.next_sqns(sub.imsi, n, resync_sqn_ms=sqn_ms)
        except SqnExhausted as exc:
            raise CxError(Rc.DIAMETER_UNABLE_TO_COMPLY, str(exc)) from None
        # TS 33.401 Annex H: the AMF separation bit is 0 outside E-UTRAN
        amf = bytes([sub.amf[0] & 0x7F]) + sub.amf[1:]
        items: cx.Entries = []
        for i, sqn in enumerate(sqns, 1):
            av = generate_vector(milenage, self._random(16), sqn.to_bytes(6, "big"), amf)
            vector = cx.ImsAkaVector(av.rand, av.autn, av.xres, av.ck, av.ik)
            items.append(("SIP-Auth-Data-Item", vector.to_avps(i)))
        answer = cx.answer(req, self.origin_host, self.origin_realm,
                           result_code=Rc.DIAMETER_SUCCESS,
                           extra=[("User-Name", impi), ("Public-Identity", impu),
                                  ("SIP-Number-Auth-Items", len(items)), *items])
        return self._ok(answer, "cx.mar.accepted", sub, impu=impu, vectors=len(items),
                        sqns=sqns, resync=sqn_ms is not None)

    def server_assignment(self, req: Message) -> list[Action]:
        """TS 29.228 §6.1.2.1: the S-CSCF name stored (registration) or cleared
        (de-registration); the IMS subscription in User-Data (Annex D/E)."""
        sub, impi, impu = self._identities(req)
        kind = int(dia.avp(req, "Server-Assignment-Type"))
        server = str(dia.avp(req, "Server-Name"))
        extra: cx.Entries = [("User-Name", impi)]
        if kind in (ServerAssignmentType.USER_DEREGISTRATION,
                    ServerAssignmentType.TIMEOUT_DEREGISTRATION):
            self.store.set_scscf(impi, sub.imsi, None)
        elif kind in (ServerAssignmentType.REGISTRATION, ServerAssignmentType.RE_REGISTRATION,
                      ServerAssignmentType.UNREGISTERED_USER):
            if kind != ServerAssignmentType.UNREGISTERED_USER:
                self.store.set_scscf(impi, sub.imsi, server)
            extra.append(("User-Data", cx.user_data(impi, identities(sub, self.home)[1])))
        else:
            raise CxError(CxResult.DIAMETER_ERROR_IN_ASSIGNMENT_TYPE,
                          f"Server-Assignment-Type {kind}", experimental=True)
        answer = cx.answer(req, self.origin_host, self.origin_realm,
                           result_code=Rc.DIAMETER_SUCCESS, extra=extra)
        return self._ok(answer, "cx.sar.accepted", sub, impu=impu, assignment=kind,
                        scscf=server)

    # -- checks ----------------------------------------------------------------------------

    def _identities(self, req: Message) -> tuple[SubscriberRecord, str, str]:
        """The subscriber of User-Name (an IMPI, TS 23.003 §13.3) and the Public-Identity,
        which must be one of its own (TS 29.228 §6.1.1.1: identities that do not match)."""
        impi = dia.avp(req, "User-Name")
        impu = dia.avp(req, "Public-Identity")
        user, _, domain = str(impi or "").partition("@")
        if not user.isdigit() or not 6 <= len(user) <= 15:
            raise CxError(CxResult.DIAMETER_ERROR_USER_UNKNOWN,
                          f"User-Name {impi!r} is no IMPI of an IMSI", experimental=True)
        sub = self.store.get(user)
        if sub is None:
            raise CxError(CxResult.DIAMETER_ERROR_USER_UNKNOWN, f"{impi} unknown",
                          experimental=True)
        own_impi, impus = identities(sub, self.home)
        if impi != own_impi or domain != ims_domain(self.home):
            raise CxError(CxResult.DIAMETER_ERROR_USER_UNKNOWN, f"{impi} unknown",
                          experimental=True)
        if impu is not None and impu not in impus:
            raise CxError(CxResult.DIAMETER_ERROR_IDENTITIES_DONT_MATCH,
                          f"{impu} is not a public identity of {impi}", experimental=True)
        return sub, own_impi, str(impu or impus[0])

    def _resync(self, authorization: Any, milenage: Milenage) -> int | None:
        """SIP-Authorization of a MAR, TS 29.229 §6.3.11: RAND || AUTS checked per TS 33.102
        §6.3.5 (no vector when MAC-S fails, TS 29.228 §6.3.1.1)."""
        if authorization is None:
            return None
        try:
            return sqn_ms_of(authorization, "SIP-Authorization", milenage)
        except MacSFailure as exc:
            raise CxError(Rc.DIAMETER_AUTHORIZATION_REJECTED, str(exc)) from None

    # -- answers ---------------------------------------------------------------------------

    def _ok(self, answer: Message, kind: str, sub: SubscriberRecord,
            **data: Any) -> list[Action]:
        return [SendAnswer(answer), LogEvent(kind, {"imsi": sub.imsi, **data})]

    def reject(self, req: Message, exc: S6aError) -> list[Action]:
        """Experimental-Result (TS 29.229 §6.2) or Result-Code; protocol errors (3xxx) and
        errors with a Failed-AVP as RFC 6733 §7.2 answer-messages."""
        event = LogEvent(f"cx.{req.name.lower()}.rejected", {
            "user": dia.avp(req, "User-Name"), "result_code": exc.code,
            "experimental": exc.experimental, "detail": exc.detail})
        if exc.experimental:
            answer = cx.answer(req, self.origin_host, self.origin_realm, experimental=exc.code)
        elif 3000 <= exc.code < 4000 or exc.failed_avp is not None:
            answer = dia.error_answer_message(req, exc.code, self.origin_host,
                                              self.origin_realm, failed_avp=exc.failed_avp,
                                              error_message=exc.detail)
        else:
            answer = cx.answer(req, self.origin_host, self.origin_realm, result_code=exc.code,
                               extra=[("Error-Message", exc.detail)])
        return [SendAnswer(answer), event]
