"""The PCRF, sans-I/O: Gx towards the P-GW (TS 29.212), Rx towards the P-CSCF (TS 29.214).

`PcrfCore.handle(request, now)` serves one request and returns exactly one `SendAnswer`, plus
the requests it causes (`SendRequest`: a Gx RAR to the P-GW, an Rx ASR to the P-CSCF) and
`LogEvent`s; `handle_answer` reads the answers to those.

- Gx IP-CAN sessions (TS 29.212 §4.5.1 establishment, §4.5.7 termination): the CCR-I names the
  subscriber (Subscription-Id IMSI / E.164, User-Equipment-Info IMEISV), the UE address
  (Framed-IP-Address, Framed-IPv6-Prefix), the APN (Called-Station-Id) and the cell
  (3GPP-User-Location-Info); the CCA-I authorizes the default bearer's QoS
  (Default-EPS-Bearer-QoS, APN-AMBR in QoS-Information; TS 29.212 §4.5.1).
- Rx sessions are bound to the IP-CAN session holding the UE address of the AAR (TS 29.214
  §4.4.1, TS 29.213 §5.1 session binding); no such session: IP-CAN_SESSION_NOT_AVAILABLE (5065).
  An AAR without an emergency Service-URN on an IP-CAN session of the emergency APN is refused
  with UNAUTHORIZED_NON_EMERGENCY_SESSION (5067, TS 29.214 §4.4.1) when the UE is attached for
  emergency bearer services only (TS 23.401 §4.3.12.1: the emergency PDN connection is its only
  one; here: no non-emergency IP-CAN session of the same authenticated subscriber, an
  unauthenticated IMSI never counting as one): such a UE gets emergency sessions only. The
  emergency PDN connection of a normally attached UE carries its SIP signalling too.
- With AF-Requested-Data "EPC-level identities" or an emergency Service-URN, the AAA carries the
  subscriber's Subscription-Ids and User-Equipment-Info (TS 29.214 §4.4.1, §5.6.2), so that the
  P-CSCF knows who calls (TS 23.167 §6.2.1). With Required-Access-Info USER_LOCATION it carries
  the 3GPP-User-Location-Info the P-GW reported.
- A media AAR gives PCC rules (policy.py, TS 29.213 §6.3), installed by a Gx RAR with
  Charging-Rule-Install (TS 29.212 §4.5.2); its STR removes them (Charging-Rule-Remove). A
  rule the P-GW reports INACTIVE (CCR-U Charging-Rule-Report, TS 29.212 §4.5.12) is told to the
  P-CSCF by an Rx RAR with INDICATION_OF_FAILED_RESOURCES_ALLOCATION (TS 29.214 §5.3.13).
- When the IP-CAN session ends, the Rx sessions bound to it are aborted: ASR (TS 29.213
  §4.2.2, TS 23.203 §7.3).
- Requests for a Session-Id the PCRF does not hold: DIAMETER_UNKNOWN_SESSION_ID (5002, RFC 6733
  §7.1.5).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from corenet.codecs import diameter as dia
from corenet.codecs import pcc as codec
from corenet.codecs.base import Message
from corenet.core.actions import LogEvent
from corenet.core.errors import CorenetError, DecodeError
from corenet.nf.hss.s6a import SendAnswer, SendRequest
from corenet.nf.hss.s6a import avp_bytes as _avp_bytes
from corenet.nf.pcrf import policy
from corenet.nf.sgw_pgw.pcc import PccRuleStatus
from corenet.nf.sgw_pgw.pools import prefix_of

Rc = dia.ResultCode
Exp = codec.ExperimentalResult


Action = SendAnswer | SendRequest | LogEvent
_V = TypeVar("_V", str, bytes)


class PcrfError(CorenetError):
    """A request refused with a Result-Code or a 3GPP Experimental-Result-Code."""

    def __init__(self, code: int, detail: str, failed_avp: bytes | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = int(code)
        self.detail = detail
        self.failed_avp = failed_avp


@dataclass(slots=True)
class GxSession:
    """One IP-CAN session (TS 29.212 §4.5.1)."""

    sid: str
    pcef_host: str
    pcef_realm: str
    ids: codec.Identities
    apn: str
    ipv4: str | None
    ipv6: int | None  # the /64 prefix (TS 23.401 §5.3.1.2.2) as an integer: no object per UE
    location: bytes | None
    rat_type: int | None
    emergency: bool
    rx: tuple[str, ...] = ()  # bound Rx Session-Ids (a few at most: no set per session)


@dataclass(slots=True)
class RxSession:
    sid: str
    af_host: str
    af_realm: str
    gx_sid: str
    emergency: bool
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class PcrfPolicy:
    """What the PCRF authorizes (configuration `pcrf:`)."""

    emergency_apns: frozenset[str] = frozenset({"sos"})
    default_qci: int = 9  # TS 23.203 Table 6.1.7: non-GBR default bearer
    default_arp: int = 9
    emergency_arp: int = 1  # TS 23.401 §4.7.3: the highest ARP for emergency bearers
    voice_arp: int = 9


class PcrfCore:
    """Gx and Rx sessions of one PCRF."""

    def __init__(self, origin_host: str, origin_realm: str,
                 rules: PcrfPolicy | None = None) -> None:
        self.me = codec.Origin(origin_host, origin_realm)
        self.policy = rules or PcrfPolicy()
        self.gx: dict[str, GxSession] = {}
        self.rx: dict[str, RxSession] = {}
        self._by_ipv4: dict[str, str] = {}
        self._by_ipv6: dict[int, str] = {}  # by /64 prefix
        # authenticated IMSI -> its non-emergency sessions (mostly one: a tuple, not a set)
        self._normal: dict[str, tuple[str, ...]] = {}
        self._serve: dict[tuple[int, str], Callable[[Message, float], list[Action]]] = {
            (dia.GX_APPLICATION_ID, "CCR"): self._ccr,
            (dia.RX_APPLICATION_ID, "AAR"): self._aar,
            (dia.RX_APPLICATION_ID, "STR"): self._str,
        }

    # -- entry points ----------------------------------------------------------------------

    def handle(self, request: Message, now: float, *, checked: bool = False) -> list[Action]:
        """One request in, exactly one answer out (RFC 6733 §6.2); `checked`: the request has
        passed the ABNF check already (as the Diameter peer machine does for every request)."""
        try:
            serve = self._check(request, checked)
            return serve(request, now)
        except DecodeError as exc:  # RFC 6733 §7.1.5 5005 from the ABNF check
            return self._reject(request, PcrfError(int(exc.cause), exc.detail,
                                                   exc.extra.get("failed_avp")))
        except PcrfError as exc:
            return self._reject(request, exc)

    def handle_answer(self, answer: Message, request: Message, now: float) -> list[Action]:
        """RAA from the P-GW, ASA / RAA from the P-CSCF."""
        code = codec.result_of(answer)
        sid = dia.avp(request, "Session-Id")
        if request.name == "RAR" and code == Rc.DIAMETER_UNKNOWN_SESSION_ID and sid in self.gx:
            # the P-GW no longer holds the IP-CAN session: it is gone here too
            return self._end_gx(self.gx[sid], "unknown at the P-GW")
        return [LogEvent(f"pcrf.{request.name.lower()}.answered", {
            "session": sid, "result_code": code, "peer": dia.avp(answer, "Origin-Host")})]

    def session_by_ue_address(self, address: str) -> GxSession | None:
        """TS 29.214 §4.4.1 / TS 29.213 §5.1: the IP-CAN session holding this UE address
        (IPv6: any address of its prefix)."""
        try:
            if ":" in address:
                packed = socket.inet_pton(socket.AF_INET6, address)
                sid = self._by_ipv6.get(prefix_of(int.from_bytes(packed, "big")))
            else:
                packed = socket.inet_pton(socket.AF_INET, address)
                sid = self._by_ipv4.get(socket.inet_ntop(socket.AF_INET, packed))
        except (OSError, TypeError):
            return None
        return None if sid is None else self.gx.get(sid)

    # -- Gx ----------------------------------------------------------------------------------

    def _ccr(self, req: Message, now: float) -> list[Action]:
        kind = dia.avp(req, "CC-Request-Type")
        if kind == codec.CcRequestType.INITIAL_REQUEST:
            return self._ccr_initial(req, dia.first_values(req))
        gx = self._gx_session(req)
        if kind == codec.CcRequestType.TERMINATION_REQUEST:
            actions = self._end_gx(gx, "CCR-T")
            return [SendAnswer(codec.answer(req, self.me, Rc.DIAMETER_SUCCESS)), *actions]
        if kind == codec.CcRequestType.UPDATE_REQUEST:
            return [SendAnswer(codec.answer(req, self.me, Rc.DIAMETER_SUCCESS)),
                    *self._rule_reports(gx, req)]
        raise PcrfError(Rc.DIAMETER_INVALID_AVP_VALUE, f"CC-Request-Type {kind}",
                        _avp_bytes("CC-Request-Type", int(kind or 0)))

    def _ccr_initial(self, req: Message, first: dict[str, Any]) -> list[Action]:
        """IP-CAN session establishment, TS 29.212 §4.5.1: the PCRF stores the session and
        authorizes its default bearer (TS 29.212 §4.5.1, Default-EPS-Bearer-QoS). `first`:
        the first value of each AVP of the request (`dia.first_values`)."""
        sid = str(first.get("Session-Id"))
        v4_raw, prefix_raw = first.get("Framed-IP-Address"), first.get("Framed-IPv6-Prefix")
        ipv4 = (socket.inet_ntop(socket.AF_INET, v4_raw)
                if isinstance(v4_raw, bytes) and len(v4_raw) == 4 else None)
        ipv6 = codec.ipv6_prefix_value(prefix_raw) if isinstance(prefix_raw, bytes) else None
        prefix = None if ipv6 is None else codec.ipv6_text(ipv6[0])
        # TS 29.214 §4.4.1: bound by the IPv4 address, else by the IPv6 prefix
        address = ipv4 or prefix
        if address is None:
            # TS 29.212 §4.5.1: the UE address is what AF sessions are bound by
            raise PcrfError(Rc.DIAMETER_MISSING_AVP, "no Framed-IP-Address or Framed-IPv6-Prefix",
                            dia.missing_avp_bytes("Framed-IP-Address"))
        actions: list[Action] = []
        if sid in self.gx:  # a repeated CCR-I restarts the session
            actions += self._end_gx(self.gx[sid], "CCR-I again")
        apn = str(first.get("Called-Station-Id", ""))
        ids = codec.identities_in(req.fields.get("avps", ()))
        loc = first.get("3GPP-User-Location-Info")
        gx = GxSession(sid, _one(str(first.get("Origin-Host"))),
                       _one(str(first.get("Origin-Realm"))), ids, _one(apn), ipv4,
                       None if ipv6 is None else prefix_of(ipv6[0]),
                       _one(loc) if isinstance(loc, bytes) else None, first.get("RAT-Type"),
                       apn.lower() in self.policy.emergency_apns)
        self.gx[sid] = gx
        if not gx.emergency and ids.imsi and ids.msisdn:
            self._normal[ids.imsi] = (*self._normal.get(ids.imsi, ()), sid)
        if gx.ipv4 is not None:
            self._by_ipv4[gx.ipv4] = sid
        if gx.ipv6 is not None:
            self._by_ipv6[gx.ipv6] = sid
        requested = first.get("Default-EPS-Bearer-QoS") or []
        qci = int(dia.avp(requested, "QoS-Class-Identifier", default=self.policy.default_qci))
        arp = self.policy.emergency_arp if gx.emergency else int(dia.avp(
            requested, "Allocation-Retention-Priority", "Priority-Level",
            default=self.policy.default_arp))
        avps: list[tuple[str, Any]] = [
            ("Bearer-Control-Mode", codec.BEARER_CONTROL_MODE_UE_NW),
            codec.default_bearer_qos(qci, arp)]
        # every octet of these AVPs follows from the shape (encoded from a template)
        shape: Any = (qci, arp, None)
        ambr = first.get("QoS-Information")
        if ambr is not None:
            rates = [e for e in ambr if e[0] in ("APN-Aggregate-Max-Bitrate-UL",
                                                 "APN-Aggregate-Max-Bitrate-DL")]
            if [e[0] for e in rates] == ["APN-Aggregate-Max-Bitrate-UL",
                                         "APN-Aggregate-Max-Bitrate-DL"] and all(
                    type(e[1]) is int for e in rates):
                avps.append(codec.apn_ambr(rates[0][1], rates[1][1]))  # shared, written once
                shape = (qci, arp, rates[0][1], rates[1][1])
            else:
                avps.append(("QoS-Information", rates))
                shape = None
        actions.insert(0, SendAnswer(codec.answer(req, self.me, Rc.DIAMETER_SUCCESS, avps,
                                                  shape=shape)))
        actions.append(LogEvent("pcrf.gx.established", {
            "session": sid, "imsi": ids.imsi, "msisdn": ids.msisdn, "apn": apn,
            "ue_ipv4": gx.ipv4,
            "ue_ipv6_prefix": None if ipv6 is None else f"{prefix}/{ipv6[1]}",
            "emergency": gx.emergency, "pcef": gx.pcef_host}))
        return actions

    def _rule_reports(self, gx: GxSession, req: Message) -> list[Action]:
        """TS 29.212 §4.5.12: rules the P-GW could not enforce; the AF of each is told
        (Specific-Action INDICATION_OF_FAILED_RESOURCES_ALLOCATION, TS 29.214 §5.3.13)."""
        actions: list[Action] = []
        for report in dia.avp_all(req, "Charging-Rule-Report"):
            status = dia.avp(report, "PCC-Rule-Status")
            names = [n.decode(errors="replace") for n in dia.avp_all(report, "Charging-Rule-Name")
                     if isinstance(n, bytes)]
            actions.append(LogEvent("pcrf.gx.rule_report", {
                "session": gx.sid, "rules": names, "status": status,
                "failure_code": dia.avp(report, "Rule-Failure-Code")}))
            if status != PccRuleStatus.INACTIVE.value:
                continue
            for rx in [self.rx[s] for s in gx.rx if s in self.rx]:
                lost = [n for n in names if n in rx.rules]
                if not lost:
                    continue
                rx.rules = tuple(n for n in rx.rules if n not in lost)
                actions.append(SendRequest(rx.af_host, codec.request(
                    "RAR", rx.sid, self.me, rx.af_realm, [
                        ("Re-Auth-Request-Type", codec.AUTHORIZE_ONLY),
                        ("Specific-Action", codec.INDICATION_OF_FAILED_RESOURCES_ALLOCATION)],
                    dest_host=rx.af_host, application_id=dia.RX_APPLICATION_ID)))
        return actions

    def _end_gx(self, gx: GxSession, why: str) -> list[Action]:
        """IP-CAN session termination (TS 29.212 §4.5.7); its AF sessions are aborted
        (TS 29.213 §4.2.2, ASR with Abort-Cause BEARER_RELEASED)."""
        self.gx.pop(gx.sid, None)
        normal = self._normal.get(gx.ids.imsi or "")
        if normal is not None:
            left = tuple(s for s in normal if s != gx.sid)
            if left:
                self._normal[gx.ids.imsi or ""] = left
            else:
                del self._normal[gx.ids.imsi or ""]
        if gx.ipv4 is not None and self._by_ipv4.get(gx.ipv4) == gx.sid:
            del self._by_ipv4[gx.ipv4]
        if gx.ipv6 is not None and self._by_ipv6.get(gx.ipv6) == gx.sid:
            del self._by_ipv6[gx.ipv6]
        actions: list[Action] = [LogEvent("pcrf.gx.terminated", {
            "session": gx.sid, "imsi": gx.ids.imsi, "apn": gx.apn, "reason": why})]
        for sid in sorted(gx.rx):
            rx = self.rx.get(sid)
            if rx is None:
                continue
            rx.rules = ()  # gone with the IP-CAN session: nothing to remove at the P-GW
            actions.append(SendRequest(rx.af_host, codec.request(
                "ASR", sid, self.me, rx.af_realm, [("Abort-Cause", codec.BEARER_RELEASED)],
                dest_host=rx.af_host)))
        return actions

    def _gx_session(self, req: Message) -> GxSession:
        gx = self.gx.get(str(dia.avp(req, "Session-Id")))
        if gx is None:
            raise PcrfError(Rc.DIAMETER_UNKNOWN_SESSION_ID, "no such IP-CAN session")
        return gx

    # -- Rx ----------------------------------------------------------------------------------

    def _aar(self, req: Message, now: float) -> list[Action]:
        """Initial or modification AAR (TS 29.214 §4.4.1, §4.4.2)."""
        sid = str(dia.avp(req, "Session-Id"))
        rx = self.rx.get(sid)
        if rx is not None:
            gx = self.gx.get(rx.gx_sid)
            if gx is None:
                raise PcrfError(Exp.IP_CAN_SESSION_NOT_AVAILABLE, "the IP-CAN session ended")
        else:
            address = codec.ue_address_of(req)
            gx = None if address is None else self.session_by_ue_address(address)
            if gx is None:
                # TS 29.214 §4.4.1: session binding failed
                raise PcrfError(Exp.IP_CAN_SESSION_NOT_AVAILABLE,
                                f"no IP-CAN session holds {address}")
        components = dia.avp_all(req, "Media-Component-Description")
        emergency = policy.is_emergency(dia.avp(req, "Service-URN"))
        if gx.emergency and not emergency and not self._attached_normally(gx):
            # TS 29.214 §4.4.1: emergency services only (TS 23.401 §4.3.12.1)
            raise PcrfError(Exp.UNAUTHORIZED_NON_EMERGENCY_SESSION,
                            f"APN {gx.apn} is for emergency sessions only")
        if rx is None:
            rx = RxSession(sid, str(dia.avp(req, "Origin-Host")), str(dia.avp(req, "Origin-Realm")),
                           gx.sid, emergency)
            self.rx[sid] = rx
            gx.rx = (*gx.rx, sid)
        address = gx.ipv4 or (codec.ipv6_text(gx.ipv6) if gx.ipv6 is not None else "")
        arp = policy.Arp(self.policy.emergency_arp if emergency else self.policy.voice_arp,
                         True, not emergency)
        try:
            rules = policy.rules_for(_rule_prefix(sid), components, arp)
        except ValueError as exc:
            raise PcrfError(Exp.FILTER_RESTRICTIONS, str(exc)) from None  # TS 29.214 §5.5.3
        actions: list[Action] = [SendAnswer(codec.answer(req, self.me, Rc.DIAMETER_SUCCESS,
                                                         self._aaa_avps(req, gx, emergency)))]
        if rules:
            rx.rules = tuple(dict.fromkeys([*rx.rules, *(r.name for r in rules)]))
            install = [policy.rule_definition(r, address) for r in rules]
            actions.append(SendRequest(gx.pcef_host, codec.request(
                "RAR", gx.sid, self.me, gx.pcef_realm, [
                    ("Re-Auth-Request-Type", codec.AUTHORIZE_ONLY),
                    ("Charging-Rule-Install", install)], dest_host=gx.pcef_host)))
        actions.append(LogEvent("pcrf.rx.authorized", {
            "session": sid, "ue": address, "imsi": gx.ids.imsi, "emergency": emergency,
            "rules": [r.name for r in rules], "qci": [r.qci for r in rules],
            "gbr_dl": [r.gbr_dl_bps for r in rules]}))
        return actions

    def _attached_normally(self, gx: GxSession) -> bool:
        """The subscriber of an emergency IP-CAN session also holds a normal one."""
        return bool(gx.ids.msisdn and self._normal.get(gx.ids.imsi or ""))

    def _aaa_avps(self, req: Message, gx: GxSession, emergency: bool) -> list[tuple[str, Any]]:
        avps: list[tuple[str, Any]] = [("IP-CAN-Type", codec.IP_CAN_TYPE_3GPP_EPS)]
        if gx.rat_type is not None:
            avps.append(("RAT-Type", gx.rat_type))
        wanted = int(dia.avp(req, "AF-Requested-Data", default=0))
        if emergency or wanted & codec.EPC_LEVEL_IDENTITIES:
            avps += codec.subscription_ids(gx.ids.imsi, gx.ids.msisdn)
            avps += codec.user_equipment(gx.ids.imeisv)
        if (dia.avp(req, "Required-Access-Info") == codec.USER_LOCATION
                and gx.location is not None):
            avps.append(("3GPP-User-Location-Info", gx.location))
        return avps

    def _str(self, req: Message, now: float) -> list[Action]:
        """AF session termination, TS 29.214 §4.4.4: its PCC rules are removed (TS 29.212
        §4.5.2, Charging-Rule-Remove)."""
        sid = str(dia.avp(req, "Session-Id"))
        rx = self.rx.pop(sid, None)
        if rx is None:
            raise PcrfError(Rc.DIAMETER_UNKNOWN_SESSION_ID, "no such Rx session")
        actions: list[Action] = [SendAnswer(codec.answer(req, self.me, Rc.DIAMETER_SUCCESS))]
        gx = self.gx.get(rx.gx_sid)
        if gx is not None:
            gx.rx = tuple(s for s in gx.rx if s != sid)
            if rx.rules:
                actions.append(SendRequest(gx.pcef_host, codec.request(
                    "RAR", gx.sid, self.me, gx.pcef_realm, [
                        ("Re-Auth-Request-Type", codec.AUTHORIZE_ONLY),
                        ("Charging-Rule-Remove", [("Charging-Rule-Name", n.encode())
                                                  for n in rx.rules])],
                    dest_host=gx.pcef_host)))
        actions.append(LogEvent("pcrf.rx.terminated", {"session": sid, "rules": list(rx.rules)}))
        return actions

    # -- checks and errors -----------------------------------------------------------------

    def _check(self, req: Message, checked: bool) -> Callable[[Message, float], list[Action]]:
        app = req.fields.get("application_id")
        if app not in (dia.GX_APPLICATION_ID, dia.RX_APPLICATION_ID):
            raise PcrfError(Rc.DIAMETER_APPLICATION_UNSUPPORTED, f"application {app}")
        serve = self._serve.get((int(app or 0), req.name))
        if serve is None:
            raise PcrfError(Rc.DIAMETER_COMMAND_UNSUPPORTED, f"{req.name} is not served here")
        if not checked:
            dia.check_mandatory(req)
        if dia.avp(req, "Auth-Application-Id") != app:
            given = int(dia.avp(req, "Auth-Application-Id", default=0))
            raise PcrfError(Rc.DIAMETER_INVALID_AVP_VALUE, "Auth-Application-Id is not the "
                            "header's application", _avp_bytes("Auth-Application-Id", given))
        return serve

    def _reject(self, req: Message, exc: PcrfError) -> list[Action]:
        event = LogEvent(f"pcrf.{req.name.lower()}.rejected", {
            "session": dia.avp(req, "Session-Id"), "result_code": exc.code,
            "detail": exc.detail})
        if 3000 <= exc.code < 4000 or req.name not in ("CCR", "AAR", "STR"):
            answer = dia.error_answer_message(req, exc.code, self.me.host, self.me.realm,
                                              failed_avp=exc.failed_avp,
                                              error_message=exc.detail)
            return [SendAnswer(answer), event]
        extra: list[tuple[str, Any]] = [("Error-Message", exc.detail)]
        if exc.failed_avp is not None:
            extra.append(("Failed-AVP", [exc.failed_avp]))
        return [SendAnswer(codec.answer(req, self.me, exc.code, extra)), event]


_ONES: dict[str | bytes, str | bytes] = {}
_ONES_KEPT = 4096


def _one(value: _V) -> _V:
    """One object per distinct value that many Gx sessions hold (the P-GW's Origin-Host and
    Origin-Realm, the APN, the cell's location): each request brings its own copy. Bounded;
    a value it forgot stays with the sessions holding it."""
    known = _ONES.get(value)
    if known is None:
        if len(_ONES) >= _ONES_KEPT:
            _ONES.clear()
        known = _ONES[value] = value
    return known  # type: ignore[return-value]


def _rule_prefix(rx_sid: str) -> str:
    """PCC rule names unique per AF session (TS 29.212 §5.3.6 Charging-Rule-Name)."""
    parts = rx_sid.split(";")
    return "af-" + "-".join(parts[1:]) if len(parts) > 1 else "af-" + rx_sid

