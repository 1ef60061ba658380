"""Network-initiated dedicated bearers at the S/P-GW, sans-I/O (TS 23.401 §5.4.1, §5.4.4.1;
TS 29.274 §7.2.3-§7.2.4, §7.2.9.2-§7.2.10.2), driven by the PCC rules of pcc.py.

`BearerBinding` binds PCC rules to EPS bearers (TS 23.203 §6.1.1.4, TS 29.212 §4.5.2):

| rule installed whose QCI and ARP ...          | outcome                                        |
|-----------------------------------------------|------------------------------------------------|
| match the default bearer of the PDN connection| bound to it, ACTIVE at once                    |
| match a dedicated bearer                      | joins it, ACTIVE at once                       |
| match a bearer being created                  | joins that creation, reported with it          |
| match none                                    | Create Bearer Request (TS 23.401 §5.4.1 s2-3)  |

Rules of one install with the same QCI and ARP share one new bearer, whose TFT holds the
packet filters of all their Flow-Descriptions (TS 24.008 §10.5.6.12). A rule joining a bearer
that exists already does not change that bearer's TFT at the UE: the bearer modification that
would (Update Bearer Request, TS 29.274 §7.2.15; TS 23.401 §5.4.2.1) is not implemented.

The Create Bearer Response (TS 29.274 §7.2.4) gives the EBI the MME assigned and the eNB's
S1-U F-TEID: the bearer joins the session and its rules are reported ACTIVE with that EBI;
a refusal or no response reports them INACTIVE, RESOURCE_ALLOCATION_FAILURE (TS 29.212
§5.3.38). Removing a bearer's last rule sends Delete Bearer Request (TS 23.401 §5.4.4.1
step 3); its response, or the lack of one, removes the bearer and reports INACTIVE.

The module knows nothing of the core around it: `BearerBinding` gets the PDN connection
(`PdnConnection`), TEIDs and charging identifiers from its owner and returns the requests to
send and the reports to give.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from corenet.codecs import gtpv2c as g
from corenet.codecs import tft
from corenet.codecs.base import Message
from corenet.nf.sgw_pgw.pcc import PccReport, PccRule, PccRuleStatus

# TS 29.212 §5.3.38 Rule-Failure-Code
UNKNOWN_RULE_NAME = 1
GW_PCEF_MALFUNCTION = 4
MAX_NR_BEARERS_REACHED = 6
MISSING_FLOW_INFORMATION = 9
RESOURCE_ALLOCATION_FAILURE = 10
UNSUCCESSFUL_QOS_VALIDATION = 11
INCORRECT_FLOW_INFORMATION = 12
NO_BEARER_BOUND = 15
# TS 23.203 Table 6.1.7: the standardized GBR QCIs (a GBR bearer needs a GBR)
GBR_QCIS = frozenset({1, 2, 3, 4, 65, 66, 67, 71, 72, 73, 74, 76})
STANDARD_QCIS = GBR_QCIS | {5, 6, 7, 8, 9, 69, 70, 79, 80}
EBI_RANGE = range(5, 16)  # TS 24.007 §11.2.3.1.5
MAX_BEARERS = len(EBI_RANGE)


FTEID_KEYS = ("interface_type", "teid", "ipv4", "ipv6")  # an F-TEID as the codec gives it


class Fteid(Mapping[str, Any]):
    """A received F-TEID (TS 29.274 §8.22) kept with a PDN connection: the codec's dict in
    four slots (~64 octets where the dict takes ~184, and a storm keeps the MME's and the
    eNB's of 100,000 of them), read as that dict is."""

    __slots__ = FTEID_KEYS

    def __init__(self, interface_type: int, teid: int, ipv4: str | None,
                 ipv6: str | None) -> None:
        self.interface_type, self.teid, self.ipv4, self.ipv6 = interface_type, teid, ipv4, ipv6

    @classmethod
    def of(cls, fteid: Mapping[str, Any]) -> Mapping[str, Any]:
        """To keep: an F-TEID of the codec's four keys as an `Fteid`, anything else copied."""
        if tuple(fteid) != FTEID_KEYS:
            return dict(fteid)
        return cls(fteid["interface_type"], fteid["teid"], fteid["ipv4"], fteid["ipv6"])

    def __getitem__(self, key: str) -> Any:
        if key not in FTEID_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(FTEID_KEYS)

    def __len__(self) -> int:
        return len(FTEID_KEYS)

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass(slots=True)
class Bearer:
    """One EPS bearer (TS 23.401 §4.7.2); QoS as received in Create Session, or for a
    dedicated bearer as sent in Create Bearer Request; `rules`: the PCC rules bound to it."""

    ebi: int
    qos: dict[str, int]
    charging_id: int
    s1u_sgw_teid: int
    s5u_pgw_teid: int
    s1u_enb_fteid: Mapping[str, Any] | None = None
    tft: bytes | None = None
    s5u_pgw_fteid: Mapping[str, Any] | None = None  # the home P-GW's, of a home-routed session
    # a tuple: a default bearer (most of them) holds no rule, and `()` is one shared object
    rules: tuple[str, ...] = ()


class PdnConnection(Protocol):
    """What the binding needs of a session (core.Session)."""

    s11_sgw_teid: int
    default_ebi: int
    bearers: dict[int, Bearer]
    mme: tuple[str, int]

    @property
    def mme_teid(self) -> int: ...

    @property
    def ue_ipv4(self) -> ipaddress.IPv4Address | None: ...

    @property
    def ue_ipv6_prefix(self) -> ipaddress.IPv6Network | None: ...


@dataclass
class _Creating:
    """A Create Bearer Request awaiting its response, by its S1-U S-GW TEID."""

    session: int  # S11 S-GW TEID of the PDN connection
    bearer: Bearer  # EBI 0 until the MME assigns one
    ue_address: str


@dataclass
class _Deleting:
    session: int
    ebi: int
    names: tuple[str, ...]
    ue_address: str


Out = Message | PccReport


class BearerBinding:
    """PCC rules -> dedicated bearers of the S/P-GW's sessions (module docstring)."""

    def __init__(self, sessions: Mapping[int, PdnConnection], *, s1u_address: str,
                 s5_address: str, take_teid: Callable[[], int],
                 give_back_teid: Callable[[int], None],
                 next_charging_id: Callable[[], int]) -> None:
        self._sessions = sessions  # by S11 S-GW TEID
        self._s1u_address = s1u_address
        self._s5_address = s5_address
        self._take_teid = take_teid
        self._give_back_teid = give_back_teid
        self._next_charging_id = next_charging_id
        self._creating: dict[int, _Creating] = {}
        self._deleting: dict[tuple[int, int], _Deleting] = {}

    # -- PCC rules from Gx -------------------------------------------------------------------

    def install(self, s: PdnConnection | None, ue_address: str,
                rules: tuple[PccRule, ...]) -> list[Out]:
        """TS 29.212 §4.5.2: bind each rule (module table)."""
        if s is None:
            return [_inactive(ue_address, [r.name for r in rules], NO_BEARER_BOUND)]
        out: list[Out] = []
        new: dict[tuple[int, int, bool, bool], list[PccRule]] = {}
        bound: dict[int, list[str]] = {}
        for rule in rules:
            code = _validate(rule)
            if code is not None:
                out.append(_inactive(ue_address, [rule.name], code))
                continue
            self._unbind(s, rule.name)
            existing = _bearer_for(s, rule)
            if existing is not None:
                existing.rules = (*existing.rules, rule.name)
                bound.setdefault(existing.ebi, []).append(rule.name)
                continue
            creating = self._creating_for(s, rule)
            if creating is not None:
                creating.bearer.rules = (*creating.bearer.rules, rule.name)
                continue
            new.setdefault(_arp_key(rule), []).append(rule)
        for ebi, names in bound.items():
            out.append(PccReport(ue_address, tuple(names), PccRuleStatus.ACTIVE, ebi=ebi))
        for group in new.values():
            out += self._create(s, ue_address, group)
        return out

    def remove(self, s: PdnConnection | None, ue_address: str,
               names: tuple[str, ...]) -> list[Out]:
        """Unbind the rules; a dedicated bearer left without any is deleted (TS 23.401
        §5.4.4.1 steps 2-3), its rules reported when the MME answered."""
        if s is None:
            return [_inactive(ue_address, list(names), UNKNOWN_RULE_NAME)]
        out: list[Out] = []
        unknown: list[str] = []
        released: list[str] = []
        for name in names:
            bearer = self._unbind(s, name)
            if bearer is None:
                unknown.append(name)
            elif bearer.ebi != s.default_ebi and not bearer.rules:
                key = (s.s11_sgw_teid, bearer.ebi)
                deleting = self._deleting.get(key)
                if deleting is None:
                    self._deleting[key] = _Deleting(s.s11_sgw_teid, bearer.ebi, (name,),
                                                    ue_address)
                    out.append(g.delete_bearer_request(0, teid=s.mme_teid, ebis=[bearer.ebi]))
                else:
                    deleting.names += (name,)
            else:
                released.append(name)
        if released:
            out.append(PccReport(ue_address, tuple(released), PccRuleStatus.INACTIVE))
        if unknown:
            out.append(_inactive(ue_address, unknown, UNKNOWN_RULE_NAME))
        return out

    # -- answers from the MME ----------------------------------------------------------------

    def created(self, request: Message, response: Message | None) -> list[Out]:
        """Create Bearer Response (TS 29.274 §7.2.4; TS 23.401 §5.4.1 steps 8-10), or none
        after N3-REQUESTS attempts (§7.6)."""
        pending = self._pending_creation(request)
        if pending is None:
            return []
        bearer = pending.bearer
        names = list(bearer.rules)
        s = self._sessions.get(pending.session)
        ctx = _first_context(response)
        ebi = int(ctx.get("ebi") or 0)
        accepted = (response is not None and _accepted(response.fields)
                    and _accepted(ctx) and ebi in EBI_RANGE)
        if s is None or not accepted or ebi in s.bearers:
            self._give_back(bearer)
            # an EBI already in use is the MME's error, not a lack of resources
            code = (GW_PCEF_MALFUNCTION if s is not None and accepted
                    else RESOURCE_ALLOCATION_FAILURE)
            return [_inactive(pending.ue_address, names, code)]
        bearer.ebi = ebi
        enb = ctx.get("s1u_enb_fteid")
        bearer.s1u_enb_fteid = None if enb is None else Fteid.of(enb)
        s.bearers[ebi] = bearer
        return [PccReport(pending.ue_address, tuple(names), PccRuleStatus.ACTIVE, ebi=ebi)]

    def deleted(self, request: Message) -> list[Out]:
        """Delete Bearer Response (TS 29.274 §7.2.10.2; TS 23.401 §5.4.4.1 step 8), or none:
        the bearer goes either way, the MME having released it or lost it."""
        teid = int(request.fields.get("teid") or 0)
        ebis = request.fields.get("ebis") or []
        for key, pending in list(self._deleting.items()):
            s = self._sessions.get(pending.session)
            if s is None or s.mme_teid != teid or pending.ebi not in ebis:
                continue
            del self._deleting[key]
            bearer = s.bearers.get(pending.ebi)
            if bearer is not None and not bearer.rules:
                del s.bearers[pending.ebi]
                self._give_back(bearer)
            return [PccReport(pending.ue_address, pending.names, PccRuleStatus.INACTIVE,
                              ebi=pending.ebi)]
        return []

    def forget(self, session_teid: int) -> None:
        """The PDN connection is gone: its pending procedures go with it (their TEIDs are
        given back when their answer comes)."""
        for key in [k for k in self._deleting if k[0] == session_teid]:
            del self._deleting[key]

    # -- helpers -----------------------------------------------------------------------------

    def _create(self, s: PdnConnection, ue_address: str, rules: list[PccRule]) -> list[Out]:
        names = [r.name for r in rules]
        taken = len(s.bearers) + sum(1 for c in self._creating.values()
                                     if c.session == s.s11_sgw_teid)
        if taken >= MAX_BEARERS:
            return [_inactive(ue_address, names, MAX_NR_BEARERS_REACHED)]
        try:
            filters = _filters(s, rules)
        except tft.FlowError:
            return [_inactive(ue_address, names, INCORRECT_FLOW_INFORMATION)]
        first = rules[0]
        qos = g.bearer_qos(
            first.qci, first.arp_priority,
            # TS 29.274 §8.15: PCI / PVI 1 means "disabled"
            pci=0 if first.preemption_capability else 1,
            pvi=0 if first.preemption_vulnerability else 1,
            mbr=(sum(r.mbr_ul_bps for r in rules) // 1000,
                 sum(r.mbr_dl_bps for r in rules) // 1000),
            gbr=(sum(r.gbr_ul_bps for r in rules) // 1000,
                 sum(r.gbr_dl_bps for r in rules) // 1000))
        bearer = Bearer(ebi=0, qos=qos, charging_id=self._next_charging_id(),
                        s1u_sgw_teid=self._take_teid(), s5u_pgw_teid=self._take_teid(),
                        tft=tft.encode(filters), rules=tuple(names))
        self._creating[bearer.s1u_sgw_teid] = _Creating(s.s11_sgw_teid, bearer, ue_address)
        # TS 29.274 §7.2.3 / TS 23.401 §5.4.1 step 2-3: EBI 0 until the MME assigns one
        return [g.create_bearer_request(
            0, teid=s.mme_teid, linked_ebi=s.default_ebi, bearer_contexts=[{
                "ebi": 0, "tft": bearer.tft,
                "s1u_sgw_fteid": _fteid(g.FTEID_S1U_SGW, bearer.s1u_sgw_teid,
                                        self._s1u_address),
                "s5s8u_pgw_fteid": _fteid(g.FTEID_S5S8U_PGW, bearer.s5u_pgw_teid,
                                          self._s5_address),
                "bearer_qos": qos, "charging_id": bearer.charging_id}])]

    def _pending_creation(self, request: Message) -> _Creating | None:
        ctx = _first_context(request)
        sgw = ctx.get("s1u_sgw_fteid") or {}
        return self._creating.pop(int(sgw.get("teid") or 0), None)

    def _creating_for(self, s: PdnConnection, rule: PccRule) -> _Creating | None:
        return next((c for c in self._creating.values() if c.session == s.s11_sgw_teid
                     and _qos_key(c.bearer.qos) == _arp_key(rule)), None)

    def _unbind(self, s: PdnConnection, name: str) -> Bearer | None:
        for bearer in s.bearers.values():
            if name in bearer.rules:
                bearer.rules = tuple(n for n in bearer.rules if n != name)
                return bearer
        return None

    def _give_back(self, bearer: Bearer) -> None:
        self._give_back_teid(bearer.s1u_sgw_teid)
        self._give_back_teid(bearer.s5u_pgw_teid)


def _validate(rule: PccRule) -> int | None:
    """TS 29.212 §5.3.38: the Rule-Failure-Code of a rule that cannot be enforced."""
    if rule.qci not in STANDARD_QCIS or not 1 <= rule.arp_priority <= 15:
        return UNSUCCESSFUL_QOS_VALIDATION
    if rule.qci in GBR_QCIS and not (rule.gbr_ul_bps or rule.gbr_dl_bps):
        return UNSUCCESSFUL_QOS_VALIDATION  # TS 23.203 §6.1.7.2: a GBR bearer has a GBR
    if not rule.flows:
        return MISSING_FLOW_INFORMATION
    return None


def _arp_key(rule: PccRule) -> tuple[int, int, bool, bool]:
    return (rule.qci, rule.arp_priority, rule.preemption_capability,
            rule.preemption_vulnerability)


def _qos_key(qos: dict[str, int]) -> tuple[int, int, bool, bool]:
    return (int(qos["qci"]), int(qos["pl"]), not qos.get("pci", 1), not qos.get("pvi", 0))


def _bearer_for(s: PdnConnection, rule: PccRule) -> Bearer | None:
    """TS 23.203 §6.1.1.4: the bearer with the rule's QCI and ARP (GBR bearers are not
    shared by rules binding to the default bearer: it is never GBR)."""
    key = _arp_key(rule)
    return next((b for b in s.bearers.values() if _qos_key(b.qos) == key), None)


def _filters(s: PdnConnection, rules: list[PccRule]) -> list[tft.PacketFilter]:
    filters: list[tft.PacketFilter] = []
    for rule in rules:
        for text in rule.flows:
            flow = tft.parse_flow(text)
            if len(filters) >= tft.MAX_FILTERS:
                raise tft.FlowError("more flows than a TFT holds")
            # TS 24.008 §10.5.6.12: identifiers unique in the TFT, evaluation precedence
            # from the rule's Precedence (TS 29.212 §5.3.5), kept distinct per filter
            precedence = min(255, rule.precedence + len(filters))
            filters.append(tft.packet_filter(flow, _ue_host(s, flow), len(filters),
                                             precedence))
    return filters


def _ue_host(s: PdnConnection, flow: tft.Flow
             ) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The UE's own end of `flow`: its IPv4 address, or an address of its IPv6 prefix
    (TS 23.401 §5.3.1.2.2: the UE builds its addresses in the /64 it was given)."""
    prefix = s.ue_ipv6_prefix
    for end in (flow.source, flow.destination):
        if isinstance(end, ipaddress.IPv6Network) and prefix is not None and prefix.overlaps(end):
            return end.network_address
    return s.ue_ipv4


def _first_context(msg: Message | None) -> dict[str, Any]:
    if msg is None:
        return {}
    contexts = msg.fields.get("bearer_contexts") or [{}]
    return dict(contexts[0])


def _accepted(fields: dict[str, Any]) -> bool:
    cause = fields.get("cause")
    value = cause.get("value") if isinstance(cause, dict) else cause
    return isinstance(value, int) and 16 <= value <= 63  # TS 29.274 Table 8.4-1


def _inactive(ue_address: str, names: list[str], code: int) -> PccReport:
    return PccReport(ue_address, tuple(names), PccRuleStatus.INACTIVE, failure_code=code)


def _fteid(interface_type: int, teid: int, host: str) -> dict[str, Any]:
    ip = ipaddress.ip_address(host)
    return g.fteid(interface_type, teid, str(ip) if ip.version == 4 else None,
                   str(ip) if ip.version == 6 else None)
