"""The P-GW's Gx client (PCEF side of TS 29.212), sans-I/O.

- IP-CAN session establishment (TS 29.212 §4.5.1; TS 23.401 §5.3.2.1 step 14, §5.10.2): a CCR-I
  for each PDN connection the P-GW creates, naming the subscriber (Subscription-Id: the IMSI and,
  for a UE the home HSS authenticated, its MSISDN), the UE (User-Equipment-Info IMEISV), its
  address (Framed-IP-Address / Framed-IPv6-Prefix), the APN (Called-Station-Id: for an emergency
  PDN connection the emergency APN, as TS 29.212 asks of an IMS emergency session's
  IP-CAN session), the cell
  (3GPP-User-Location-Info), RAT and the default bearer's QoS. The Create Session Response is
  not held for the CCA-I: the bearer keeps the QoS the MME asked for, and a CCA-I that
  authorizes another is logged.
- IP-CAN session termination (TS 29.212 §4.5.7): a CCR-T when the PDN connection is deleted.
- PCC rule provisioning (TS 29.212 §4.5.2): RAR -> RAA at once, and the Charging-Rule-Install /
  Charging-Rule-Remove handed to the bearer side (`PccInstall` / `PccRemove`, pcc.py).
- Rules the bearer side could not enforce (`PccReport` INACTIVE) are reported by a CCR-U with
  Charging-Rule-Report (TS 29.212 §4.5.12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs import pcc as codec
from corenet.codecs.base import Message
from corenet.config.models import PcrfLink
from corenet.core.actions import LogEvent
from corenet.nf.sgw_pgw.pcc import PccInstall, PccRemove, PccReport, PccRule, PccRuleStatus
from corenet.nf.sgw_pgw.pools import IPV6_PREFIX_LENGTH
from corenet.protocols.diameter_ids import DiameterIds

Rc = dia.ResultCode
KBPS = 1000  # GTPv2-C AMBR and bearer bit rates are in kbit/s (TS 29.274 §8.7, §8.15)


@dataclass(frozen=True)
class SendGx:
    """A request to the PCRF."""

    message: Message


@dataclass(frozen=True)
class AnswerGx:
    message: Message


@dataclass(frozen=True)
class Enforce:
    event: PccInstall | PccRemove


GxAction = SendGx | AnswerGx | Enforce | LogEvent


@dataclass(slots=True)
class _GxSession:
    sid: str
    teid: int
    ue_address: str
    number: int = 0  # CC-Request-Number of the last CCR (RFC 4006 §8.2)


# The AVPs of a CCR-I that differ from one UE to the next (TS 29.212 §5.6.2): the IMSI and
# MSISDN, the UE's addresses, its IMEISV and cell
_CCR_I_VARYING = frozenset({"Subscription-Id-Data", "Framed-IP-Address", "Framed-IPv6-Prefix",
                            "User-Equipment-Info-Value", "3GPP-User-Location-Info"})


class GxClient:
    """Gx sessions of one P-GW, by the S11 TEID of their PDN connection."""

    def __init__(self, link: PcrfLink, ids: DiameterIds, an_gw_address: str) -> None:
        self.link = link
        self.me = codec.Origin(link.origin_host, link.origin_realm)
        self.ids = ids
        self.an_gw_address = an_gw_address
        self.sessions: dict[int, _GxSession] = {}
        self._by_sid: dict[str, _GxSession] = {}
        self._by_address: dict[str, _GxSession] = {}

    def _ccr(self, gx: _GxSession, kind: codec.CcRequestType,
             avps: list[tuple[str, Any]], shape: Any = None) -> SendGx:
        return SendGx(codec.request("CCR", gx.sid, self.me, self.link.realm, [
            ("CC-Request-Type", kind), ("CC-Request-Number", gx.number), *avps],
            dest_host=self.link.host,
            shape=None if shape is None else (int(kind), gx.number, shape),
            varying=_CCR_I_VARYING))

    def session_created(self, s: Any) -> list[GxAction]:
        """CCR-I for a new PDN connection (`s`: an S/P-GW `Session`)."""
        if s.home_pgw is not None:
            return []  # the home P-GW is the PCEF of a home-routed session (TS 23.401 §4.3.8.1)
        allocation = s.allocation
        address = allocation.ipv4_text or (
            "" if allocation.ipv6_prefix is None else codec.ipv6_text(allocation.ipv6_prefix))
        gx = _GxSession(self.ids.session_id(), s.s11_sgw_teid, address)
        self._forget(s.s11_sgw_teid)
        self.sessions[gx.teid] = gx
        self._by_sid[gx.sid] = gx
        self._by_address[address] = gx
        # TS 29.212 §4.5.1: an MSISDN only for a subscriber the home network authenticated; an
        # unauthenticated IMSI (TS 29.274 §8.12 UIMSI) is reported as such, without one
        msisdn = None if s.uimsi else s.msisdn
        avps: list[tuple[str, Any]] = [
            *codec.subscription_ids(s.imsi, msisdn),
            ("Network-Request-Support", codec.NETWORK_REQUEST_SUPPORTED),
            *codec.ue_address_avps_of(allocation.ipv4, allocation.ipv6_prefix,
                                      IPV6_PREFIX_LENGTH),
            ("IP-CAN-Type", codec.IP_CAN_TYPE_3GPP_EPS),
            ("RAT-Type", codec.RAT_TYPE_EUTRAN),
            *codec.user_equipment(s.mei)]
        ambr = qos = None
        if s.ambr:
            ambr = (int(s.ambr.get("ul_kbps", 0)) * KBPS, int(s.ambr.get("dl_kbps", 0)) * KBPS)
            avps.append(codec.apn_ambr(*ambr))
        default = s.bearers.get(s.default_ebi)
        if default is not None and "qci" in default.qos:
            qos = (int(default.qos["qci"]), int(default.qos.get("pl", 15)))
            avps.append(codec.default_bearer_qos(*qos))
        location = codec.user_location(s.uli)
        if location is not None:
            avps.append(("3GPP-User-Location-Info", location))
        avps += [("AN-GW-Address", self.an_gw_address), ("Called-Station-Id", s.apn)]
        # every AVP but the per-UE values (_CCR_I_VARYING) follows from these
        shape = (len(s.imsi) if s.imsi else None, len(msisdn) if msisdn else None,
                 allocation.ipv4 is None, allocation.ipv6_prefix is None,
                 len(s.mei) if s.mei else None, ambr, qos,
                 None if location is None else len(location), self.an_gw_address, s.apn)
        return [self._ccr(gx, codec.CcRequestType.INITIAL_REQUEST, avps, shape),
                LogEvent("pgw.gx.ccr_initial", {"session": gx.sid, "imsi": s.imsi,
                                                "apn": s.apn, "ue": address})]

    def session_deleted(self, teid: int) -> list[GxAction]:
        """CCR-T (TS 29.212 §4.5.7) for a deleted PDN connection."""
        gx = self._forget(teid)
        if gx is None:
            return []
        gx.number += 1
        return [self._ccr(gx, codec.CcRequestType.TERMINATION_REQUEST,
                          [("Termination-Cause", codec.DIAMETER_LOGOUT)])]

    def keep_only(self, teids: set[int]) -> list[GxAction]:
        """CCR-T for every Gx session whose PDN connection is gone (released in bulk: a lost
        path or a restarted MME, TS 23.007 §18, §20)."""
        out: list[GxAction] = []
        for teid in [t for t in self.sessions if t not in teids]:
            out += self.session_deleted(teid)
        return out

    def _forget(self, teid: int) -> _GxSession | None:
        gx = self.sessions.pop(teid, None)
        if gx is not None:
            self._by_sid.pop(gx.sid, None)
            if self._by_address.get(gx.ue_address) is gx:
                del self._by_address[gx.ue_address]
        return gx

    def on_request(self, req: Message) -> list[GxAction]:
        """RAR (TS 29.212 §4.5.2): answered at once; its rules go to the bearer side."""
        if req.name != "RAR" or req.fields.get("application_id") != dia.GX_APPLICATION_ID:
            return [AnswerGx(dia.error_answer_message(
                req, Rc.DIAMETER_COMMAND_UNSUPPORTED, self.me.host, self.me.realm))]
        gx = self._by_sid.get(str(dia.avp(req, "Session-Id")))
        if gx is None:
            return [AnswerGx(codec.answer(req, self.me, Rc.DIAMETER_UNKNOWN_SESSION_ID))]
        out: list[GxAction] = [AnswerGx(codec.answer(req, self.me, Rc.DIAMETER_SUCCESS))]
        names = tuple(n.decode(errors="replace")
                      for n in dia.avp_all(req, "Charging-Rule-Remove", "Charging-Rule-Name")
                      if isinstance(n, bytes))
        if names:
            out.append(Enforce(PccRemove(gx.ue_address, names)))
        rules = tuple(r for d in dia.avp_all(req, "Charging-Rule-Install",
                                             "Charging-Rule-Definition")
                      if (r := rule_of(d)) is not None)
        if rules:
            out.append(Enforce(PccInstall(gx.ue_address, rules)))
        out.append(LogEvent("pgw.gx.rar", {"session": gx.sid, "install": [r.name for r in rules],
                                           "remove": list(names)}))
        return out

    def on_answer(self, answer: Message, request: Message) -> list[GxAction]:
        code = codec.result_of(answer)
        kind = dia.avp(request, "CC-Request-Type")
        sid = str(dia.avp(request, "Session-Id"))
        data: dict[str, Any] = {"session": sid, "result_code": code, "cc_request_type": kind}
        qos = dia.avp(answer, "Default-EPS-Bearer-QoS")
        if qos is not None:
            data["authorized_qci"] = dia.avp(qos, "QoS-Class-Identifier")
            data["authorized_arp"] = dia.avp(qos, "Allocation-Retention-Priority",
                                             "Priority-Level")
        return [LogEvent("pgw.gx.answer" if code == Rc.DIAMETER_SUCCESS
                         else "pgw.gx.refused", data)]

    def on_report(self, report: PccReport) -> list[GxAction]:
        """CCR-U with Charging-Rule-Report for rules that could not be (or are no longer)
        enforced, TS 29.212 §4.5.12."""
        gx = self._by_address.get(report.ue_address)
        if gx is None or report.status is PccRuleStatus.ACTIVE:
            return []
        gx.number += 1
        rep: list[tuple[str, Any]] = [("Charging-Rule-Name", n.encode()) for n in report.names]
        rep.append(("PCC-Rule-Status", report.status.value))
        if report.failure_code is not None:
            rep.append(("Rule-Failure-Code", report.failure_code))
        return [self._ccr(gx, codec.CcRequestType.UPDATE_REQUEST,
                          [("Charging-Rule-Report", rep)])]


def rule_of(definition: Any) -> PccRule | None:
    """The PccRule a Charging-Rule-Definition (TS 29.212 §5.3.4) describes."""
    name = dia.avp(definition, "Charging-Rule-Name")
    qos = dia.avp(definition, "QoS-Information")
    if not isinstance(name, bytes) or qos is None:
        return None
    arp = dia.avp(qos, "Allocation-Retention-Priority") or []
    flows = tuple(str(d) for f in dia.avp_all(definition, "Flow-Information")
                  if (d := dia.avp(f, "Flow-Description")) is not None)

    def num(container: Any, name: str, default: int = 0) -> int:
        return int(dia.avp(container, name, default=default))

    return PccRule(
        name=name.decode(errors="replace"), qci=num(qos, "QoS-Class-Identifier", 9),
        arp_priority=num(arp, "Priority-Level", 15),
        preemption_capability=num(arp, "Pre-emption-Capability", 1) == 0,
        preemption_vulnerability=num(arp, "Pre-emption-Vulnerability", 0) == 0,
        mbr_ul_bps=num(qos, "Max-Requested-Bandwidth-UL"),
        mbr_dl_bps=num(qos, "Max-Requested-Bandwidth-DL"),
        gbr_ul_bps=num(qos, "Guaranteed-Bitrate-UL"), gbr_dl_bps=num(qos, "Guaranteed-Bitrate-DL"),
        flows=flows, precedence=num(definition, "Precedence", 100))
