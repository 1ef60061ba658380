"""The HSS side of S6a (TS 29.272), sans-I/O: a decoded request in, answers and requests out.

`S6aServer.handle(request, now)` runs one procedure against the store and returns actions:
`SendAnswer` (always exactly one per request), `SendRequest` (a Cancel-Location to a previous
MME) and `LogEvent`s. Store effects (a new SQN, the serving MME, the purge flag) are committed
before `handle` returns, so before the answer can leave.

AIRs beyond the HSS's capacity are answered DIAMETER_TOO_BUSY, and answers to MMEs that announce
DOIC carry its overload reports (overload.py, RFC 7683).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs import s6a as s6a_codec
from corenet.codecs.base import Message
from corenet.codecs.s6a import (
    Ambr,
    ApnConfiguration,
    CancellationType,
    ClrFlags,
    EutranVector,
    PdnType,
    PuaFlags,
    SubscriptionData,
    UlrFlags,
    VplmnDynamicAddressAllowed,
)
from corenet.config.subscribers import ApnProfile
from corenet.core.actions import LogEvent
from corenet.core.errors import CorenetError, DecodeError
from corenet.core.plmn import Plmn
from corenet.crypto import kdf
from corenet.crypto.milenage import MacSFailure, Milenage, generate_vector, resync_sqn, sqn_to_int
from corenet.nf.hss.overload import AirOverload
from corenet.nf.hss.store import HssStore, SqnExhausted, SubscriberRecord

Exp = dia.ExperimentalResultCode
Rc = dia.ResultCode

RESYNC_INFO_LEN = 30  # TS 29.272 §7.3.15: RAND (16) || AUTS (14)
WB_EUTRAN_NOT_ALLOWED = 1 << 4  # TS 29.272 §7.3.31 Access-Restriction-Data
PDN_TYPE = {"ipv4": PdnType.IPV4, "ipv6": PdnType.IPV6, "ipv4v6": PdnType.IPV4V6}
UNSIGNED32_MAX = 0xFFFFFFFF


# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class SendAnswer:
    message: Message


@dataclass(frozen=True)
class SendRequest:
    """A request to the peer `destination_host` (Hop-by-Hop/End-to-End set by its connection)."""

    destination_host: str
    message: Message


Action = SendAnswer | SendRequest | LogEvent


class S6aError(CorenetError):
    """A procedure outcome answered with a Result-Code or an Experimental-Result-Code."""

    def __init__(self, code: int, detail: str, *, experimental: bool = False,
                 failed_avp: bytes | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = int(code)
        self.detail = detail
        self.experimental = experimental
        self.failed_avp = failed_avp


# ------------------------------------------------------------------------------ encodings


def sqn_ms_of(resync: bytes, avp_name: str, milenage: Milenage) -> int:
    """SQN_MS from RAND (16) || AUTS (14) as carried in `avp_name` (TS 29.272 §7.3.15,
    TS 29.229 §6.3.11), per TS 33.102 §6.3.5; MacSFailure when MAC-S does not verify."""
    if len(resync) != RESYNC_INFO_LEN:
        raise S6aError(Rc.DIAMETER_INVALID_AVP_VALUE, f"{avp_name} of {len(resync)} octets",
                       failed_avp=avp_bytes(avp_name, resync))
    return sqn_to_int(resync_sqn(milenage, resync[:16], resync[16:]))


def avp_bytes(name: str, value: Any) -> bytes:
    """One AVP as encoded on the wire, for Failed-AVP (RFC 6733 §7.5)."""
    msg = Message(dia.PROTOCOL, "CMD-0-A", 0, {
        "flags": {"request": False, "proxiable": False, "error": False, "retransmit": False},
        "avps": [(name, value)]})
    return dia.encode(msg)[dia.HEADER_LEN:]


def _ambr(ul: int, dl: int) -> Ambr:
    """AMBR (TS 29.272 §7.3.41); Unsigned32 bit/s, capped at its range."""
    return Ambr(min(ul, UNSIGNED32_MAX), min(dl, UNSIGNED32_MAX))


def apn_configuration(apn: ApnProfile, roaming: bool = False) -> ApnConfiguration:
    """APN-Configuration, TS 29.272 §7.3.35, from the provisioned APN profile.

    For a roamer (ULR from a visited PLMN) VPLMN-Dynamic-Address-Allowed (§7.3.38) follows the
    profile: ALLOWED lets the visited network's P-GW serve the APN (local breakout, TS 23.401
    §4.3.8.1); NOTALLOWED keeps it on the home P-GW. In the home PLMN the AVP has no meaning
    and is left out."""
    vplmn = None
    if roaming:
        vplmn = (VplmnDynamicAddressAllowed.ALLOWED if apn.vplmn_dynamic_address_allowed
                 else VplmnDynamicAddressAllowed.NOTALLOWED)
    return ApnConfiguration(
        context_identifier=apn.context_id, service_selection=apn.apn,
        pdn_type=PDN_TYPE[apn.pdn_type], qos_class_identifier=apn.qci,
        priority_level=apn.arp_priority, ambr=_ambr(apn.ambr_ul_bps, apn.ambr_dl_bps),
        vplmn_dynamic_address_allowed=vplmn)


def subscription_data(sub: SubscriberRecord, roaming: bool = False) -> SubscriptionData:
    """Subscription-Data, TS 29.272 §7.3.2: the EPS subscription of a stored subscriber;
    `roaming` when the ULR comes from a PLMN other than the subscriber's home PLMN."""
    default = next((a for a in sub.apns if a.apn == sub.default_apn), None)
    return SubscriptionData(
        msisdn=sub.msisdn,
        access_restriction_data=sub.access_restriction_data,
        ambr=_ambr(sub.ue_ambr_ul, sub.ue_ambr_dl),
        default_context_identifier=None if default is None else default.context_id,
        apn_configurations=_apn_configurations(sub.apns, roaming),
    )


@functools.lru_cache(maxsize=256)
def _plmn_of(raw: bytes) -> Plmn:
    """TS 24.008 §10.5.1.13 PLMN of a Visited-PLMN-Id, once per value (a few PLMNs visit)."""
    return Plmn.from_bytes(raw)


# APN-Configurations by (stored profile, roaming), with the profile they were made from
_APN_CONFIGS: dict[tuple[int, bool], tuple[tuple[ApnProfile, ...], tuple[ApnConfiguration, ...]]] = {}


def _apn_configurations(apns: tuple[ApnProfile, ...], roaming: bool) -> tuple[ApnConfiguration, ...]:
    """The APN-Configurations of a profile, made once per (profile, roaming): the records of
    one provisioned profile share one `apns` tuple (store.py); another tuple is another key."""
    key = (id(apns), roaming)
    hit = _APN_CONFIGS.get(key)
    if hit is not None and hit[0] is apns:
        return hit[1]
    configs = tuple(apn_configuration(a, roaming) for a in apns)
    if len(_APN_CONFIGS) >= 1024:
        _APN_CONFIGS.clear()
    _APN_CONFIGS[key] = (apns, configs)  # the profile kept alive here: its id stays its own
    return configs


# ------------------------------------------------------------------------------ the core


class S6aServer:
    """HSS procedures of TS 29.272 §5.2: AIR, ULR, PUR (and CLA for the CLR it sends)."""

    def __init__(
        self,
        store: HssStore,
        *,
        origin_host: str,
        origin_realm: str,
        max_vectors: int = 5,
        random_bytes: Callable[[int], bytes] = os.urandom,
        overload: AirOverload | None = None,
    ) -> None:
        self.store = store
        self.overload = overload or AirOverload(None)
        self.origin_host = origin_host
        self.origin_realm = origin_realm
        self.max_vectors = max_vectors
        self._random = random_bytes
        self._session_high = int.from_bytes(random_bytes(4), "big")
        self._session_low = 0
        self._procedures: dict[str, Callable[[Message, float], list[Action]]] = {
            "AIR": self.authentication_information,
            "ULR": self.update_location,
            "PUR": self.purge_ue,
        }

    # -- entry points ----------------------------------------------------------------------

    def handle(self, request: Message, now: float, *, checked: bool = False) -> list[Action]:
        """One request in, exactly one answer out (RFC 6733 §6.2), errors as Result-Codes.

        `checked`: the request has passed the ABNF check already (`dia.check_mandatory`, as
        the Diameter peer machine does for every request it delivers)."""
        try:
            self._check(request, checked)
            if request.name == "AIR" and not self.overload.admit(now):
                # RFC 6733 §7.1.3 DIAMETER_TOO_BUSY: above the HSS's AIR capacity
                raise S6aError(Rc.DIAMETER_TOO_BUSY,
                               f"over the capacity of {self.overload.capacity:g} AIR/s")
            actions = self._procedures[request.name](request, now)
        except DecodeError as exc:  # RFC 6733 §7.1.5 5005 from the ABNF check
            failed = exc.extra.get("failed_avp")
            actions = self.reject(request, S6aError(int(exc.cause), exc.detail,
                                                    failed_avp=failed))
        except S6aError as exc:
            actions = self.reject(request, exc)
        return self._with_overload_report(request, actions, now)

    def _with_overload_report(self, request: Message, actions: list[Action],
                              now: float) -> list[Action]:
        """DOIC AVPs (RFC 7683 §5.1.2, §5.2.3) appended to the answer of a DOIC request."""
        extra = self.overload.answer_avps(request, now)
        if not extra:
            return actions
        out: list[Action] = []
        for action in actions:
            if isinstance(action, SendAnswer):
                msg = action.message
                fields = {**msg.fields, "avps": [*msg.fields.get("avps", []), *extra]}
                action = SendAnswer(Message(msg.protocol, msg.name, msg.code, fields))
            out.append(action)
        return out

    def handle_batch(self, requests: list[Message], now: float, *,
                     checked: bool = False) -> list[list[Action]]:
        """Several requests in one store transaction (group commit, store.py): the actions of
        each, returned once every SQN of the group is on disk, so before any AIA can leave."""
        out: list[list[Action]] = []
        with self.store.group():
            for request in requests:
                try:
                    out.append(self.handle(request, now, checked=checked))
                except Exception as exc:  # a local fault still gets its answer (5012)
                    fault = S6aError(Rc.DIAMETER_UNABLE_TO_COMPLY, f"{type(exc).__name__}: {exc}")
                    out.append(self.reject(request, fault))
        return out

    def handle_answer(self, answer: Message, request: Message, now: float) -> list[Action]:
        """Answers to our own requests (CLA, TS 29.272 §5.2.1.2)."""
        code = dia.avp(answer, "Result-Code") or dia.avp(
            answer, "Experimental-Result", "Experimental-Result-Code")
        return [LogEvent("s6a.clr.answered", {
            "imsi": dia.avp(request, "User-Name"), "mme": dia.avp(answer, "Origin-Host"),
            "result_code": code})]

    # -- procedures ------------------------------------------------------------------------

    def authentication_information(self, req: Message, now: float) -> list[Action]:
        """Authentication Information Retrieval, TS 29.272 §5.2.3.1 (HSS: §5.2.3.1.3)."""
        sub = self._subscriber(req)
        plmn_bytes, plmn = self._visited_plmn(req)
        info = dia.avp(req, "Requested-EUTRAN-Authentication-Info")
        if info is None:  # nothing requested for E-UTRAN: nothing to return
            return self._ok(s6a_codec.aia(req, self.origin_host, self.origin_realm),
                            "s6a.air.accepted", imsi=sub.imsi, vectors=0)
        n = max(1, min(int(dia.avp(info, "Number-Of-Requested-Vectors", default=1)),
                       self.max_vectors))
        milenage = Milenage(sub.k, sub.opc)
        sqn_ms = self._resync(info, milenage)
        try:
            sqns = self.store.next_sqns(sub.imsi, n, resync_sqn_ms=sqn_ms, known_sqn=sub.sqn)
        except SqnExhausted as exc:
            raise S6aError(Exp.DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE, str(exc),
                           experimental=True) from None
        # TS 33.401 §6.1.1: E-UTRAN vectors carry the AMF separation bit set to 1
        amf = bytes([sub.amf[0] | 0x80]) + sub.amf[1:]
        vectors = []
        for i, sqn in enumerate(sqns, 1):
            av = generate_vector(milenage, self._random(16), sqn.to_bytes(6, "big"), amf)
            kasme = kdf.kasme(av.ck, av.ik, plmn_bytes, av.sqn_xor_ak)  # TS 33.401 A.2
            vectors.append(EutranVector(av.rand, av.xres, av.autn, kasme, item_number=i))
        answer = s6a_codec.aia(req, self.origin_host, self.origin_realm, vectors=vectors)
        return self._ok(answer, "s6a.air.accepted", imsi=sub.imsi, visited_plmn=str(plmn),
                        vectors=n, sqns=sqns, resync=sqn_ms is not None)

    def update_location(self, req: Message, now: float) -> list[Action]:
        """Update Location, TS 29.272 §5.2.1.1 (HSS: §5.2.1.1.3)."""
        sub = self._subscriber(req)
        _, plmn = self._visited_plmn(req)
        if not sub.roaming_allowed(str(plmn)):
            raise S6aError(Exp.DIAMETER_ERROR_ROAMING_NOT_ALLOWED,
                           f"{sub.imsi} may not roam in {plmn}", experimental=True)
        rat = dia.avp(req, "RAT-Type")
        if rat == s6a_codec.RAT_TYPE_EUTRAN and sub.access_restriction_data & WB_EUTRAN_NOT_ALLOWED:
            raise S6aError(Exp.DIAMETER_ERROR_RAT_NOT_ALLOWED, "E-UTRAN not allowed",
                           experimental=True)
        flags = UlrFlags(int(dia.avp(req, "ULR-Flags", default=0)) & 0x7F)
        host, realm = dia.avp(req, "Origin-Host"), dia.avp(req, "Origin-Realm")
        old_host, old_realm = self.store.register_mme(sub.imsi, host, realm, known=sub)
        actions: list[Action] = []
        if old_host is not None and old_host != host:
            # §5.2.1.1.3: cancel the location at the MME registered before
            cancel = (CancellationType.INITIAL_ATTACH_PROCEDURE
                      if flags & UlrFlags.INITIAL_ATTACH_INDICATOR
                      else CancellationType.MME_UPDATE_PROCEDURE)
            actions.append(SendRequest(old_host, self.cancel_location(
                sub.imsi, old_host, old_realm or realm, cancel)))
            actions.append(LogEvent("s6a.clr.requested", {
                "imsi": sub.imsi, "mme": old_host, "cancellation_type": int(cancel)}))
        # TS 23.003 §2.2: the IMSI starts with the home MCC+MNC; any other PLMN is visited
        roaming = not sub.imsi.startswith(str(plmn))
        data = None if flags & UlrFlags.SKIP_SUBSCRIBER_DATA else subscription_data(sub, roaming)
        answer = s6a_codec.ula(req, self.origin_host, self.origin_realm, subscription_data=data)
        return self._ok(answer, "s6a.ulr.accepted", imsi=sub.imsi, mme=host,
                        visited_plmn=str(plmn), previous_mme=old_host) + actions

    def purge_ue(self, req: Message, now: float) -> list[Action]:
        """Purge UE, TS 29.272 §5.2.1.3 (HSS: §5.2.1.3.3)."""
        sub = self._subscriber(req)
        host = dia.avp(req, "Origin-Host")
        purged = sub.mme_host == host
        if purged:
            self.store.set_purged(sub.imsi, True)
        # freeze the M-TMSI only when the purging MME is the one registered
        flags = PuaFlags.FREEZE_M_TMSI if purged else PuaFlags(0)
        answer = s6a_codec.pua(req, self.origin_host, self.origin_realm, pua_flags=flags)
        return self._ok(answer, "s6a.pur.accepted", imsi=sub.imsi, mme=host, purged=purged)

    def cancel_location(self, imsi: str, host: str, realm: str, cancellation_type: int) -> Message:
        """Cancel-Location-Request, TS 29.272 §7.2.7 (§5.2.1.2)."""
        self._session_low += 1
        sid = dia.session_id(self.origin_host, self._session_high, self._session_low)
        return s6a_codec.clr(sid, self.origin_host, self.origin_realm, host, realm, imsi,
                             hop_by_hop=0, end_to_end=0, cancellation_type=cancellation_type,
                             clr_flags=ClrFlags.S6A_S6D_INDICATOR)

    # -- checks ----------------------------------------------------------------------------

    def _check(self, req: Message, checked: bool) -> None:
        if req.fields.get("application_id") != dia.S6A_APPLICATION_ID:
            raise S6aError(Rc.DIAMETER_APPLICATION_UNSUPPORTED,
                           f"application {req.fields.get('application_id')}")  # RFC 6733 §7.1.3
        if req.name not in self._procedures:
            raise S6aError(Rc.DIAMETER_COMMAND_UNSUPPORTED, f"{req.name} is not served by the HSS")
        if not checked:
            dia.check_mandatory(req)

    def _subscriber(self, req: Message) -> SubscriberRecord:
        imsi = dia.avp(req, "User-Name")
        if not isinstance(imsi, str) or not imsi.isdigit() or not 6 <= len(imsi) <= 15:
            # TS 29.272 §7.2.3/§7.2.5: User-Name holds the IMSI (TS 23.003 §2.2), digits only
            raise S6aError(Rc.DIAMETER_INVALID_AVP_VALUE, f"User-Name {imsi!r} is not an IMSI",
                           failed_avp=avp_bytes("User-Name", str(imsi)))
        sub = self.store.get(imsi)
        if sub is None:
            raise S6aError(Exp.DIAMETER_ERROR_USER_UNKNOWN, f"IMSI {imsi} unknown",
                           experimental=True)
        if not sub.eps_subscription:
            raise S6aError(Exp.DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION,
                           f"IMSI {imsi} has no EPS subscription", experimental=True)
        return sub

    def _visited_plmn(self, req: Message) -> tuple[bytes, Plmn]:
        """Visited-PLMN-Id, TS 29.272 §7.3.9: MCC/MNC as in TS 24.008 §10.5.1.13."""
        raw = dia.avp(req, "Visited-PLMN-Id")
        try:
            return raw, _plmn_of(raw)
        except (ValueError, TypeError):
            raise S6aError(Rc.DIAMETER_INVALID_AVP_VALUE, f"Visited-PLMN-Id {raw!r}",
                           failed_avp=avp_bytes("Visited-PLMN-Id", bytes(raw or b""))) from None

    def _resync(self, info: Any, milenage: Milenage) -> int | None:
        """Re-Synchronization-Info (TS 29.272 §7.3.15) checked per TS 33.102 §6.3.5."""
        resync = dia.avp(info, "Re-Synchronization-Info")
        if resync is None:
            return None
        try:
            return sqn_ms_of(resync, "Re-Synchronization-Info", milenage)
        except MacSFailure as exc:
            # TS 33.102 §6.3.5: no vectors when MAC-S fails; TS 29.272 §5.2.3.1.3
            raise S6aError(Exp.DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE, str(exc),
                           experimental=True) from None

    # -- answers ---------------------------------------------------------------------------

    def _ok(self, answer: Message, kind: str, **data: Any) -> list[Action]:
        return [SendAnswer(answer),
                LogEvent(kind, {**data, "result_code": int(Rc.DIAMETER_SUCCESS)})]

    def reject(self, req: Message, exc: S6aError) -> list[Action]:
        """The answer reporting `exc`: Experimental-Result (TS 29.272 §7.4) or Result-Code."""
        event = LogEvent(f"s6a.{req.name.lower()}.rejected", {
            "imsi": dia.avp(req, "User-Name"), "result_code": exc.code,
            "experimental": exc.experimental, "detail": exc.detail})
        if exc.experimental:
            builder = _ANSWERS[req.name]
            answer = builder(req, self.origin_host, self.origin_realm,
                             experimental_result=exc.code)
            return [SendAnswer(answer), event]
        # RFC 6733 §7.2: answer-message with Result-Code, Error-Message and Failed-AVP (§7.5)
        answer = dia.error_answer_message(req, exc.code, self.origin_host, self.origin_realm,
                                          failed_avp=exc.failed_avp, error_message=exc.detail)
        return [SendAnswer(answer), event]


_ANSWERS: dict[str, Callable[..., Message]] = {
    "AIR": s6a_codec.aia, "ULR": s6a_codec.ula, "PUR": s6a_codec.pua,
}
