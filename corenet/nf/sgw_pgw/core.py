"""The rescuer's combined S-GW/P-GW control plane on S11, sans-I/O (TS 29.274, TS 23.401).

`SgwPgwCore.handle(event, now) -> list[action]` takes decoded S11 requests (the transaction layer
of `corenet.protocols.gtpv2c_transactions` in front of it deals with sequence numbers and
retransmissions) and returns the responses to send and the events to log.

Peer trust and path management:
- GTPv2-C is served only to the configured MMEs (`SgwPgwConfig.mme_peers`); anything else is
  dropped unanswered (`refuse`), and each MME holds at most its share of every APN pool.
- Each MME holding sessions gets an Echo Request every `echo_interval_s` (TS 29.274 §7.1.1,
  `get_timer`/`handle_timer`); when the transaction layer gives up on one (N3-REQUESTS
  attempts), the path is down and that MME's sessions are released (TS 23.007 §20). A changed
  Recovery from an MME (TS 29.274 §8.5) is a restart that lost them: they are released too
  (TS 23.007 §18).
- Sessions are written to a `SessionStore` before their response leaves and restored at start.

With S-GW and P-GW in one node, S5/S8 is internal: the P-GW's S5/S8 F-TEIDs are allocated and
reported to the MME (TS 29.274 §7.2.2) but no S5/S8 message is exchanged. Home-routed roaming
(TS 23.401 §4.3.8.1) is the exception: a Create Session naming a home P-GW of
`SgwPgwConfig.s8_peers` makes this node that session's S-GW only, over S8 (`s8.py`); and a
Create Session from an S-GW over S8 (sender F-TEID S5/S8-C SGW) is served as a P-GW.
"""

from __future__ import annotations

import enum
import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _encode_string
from typing import Any

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message
from corenet.config.models import SgwPgwConfig
from corenet.core.actions import LogEvent
from corenet.core.errors import CorenetError, DecodeError
from corenet.nf.sgw_pgw import s8
from corenet.nf.sgw_pgw.bearers import FTEID_KEYS, Bearer, BearerBinding, Fteid
from corenet.nf.sgw_pgw.pcc import PccInstall, PccRemove, PccReport
from corenet.nf.sgw_pgw.pools import (
    AddressPools,
    Allocation,
    AllocationError,
    BitSet,
    IpAddress,
    address_int,
    prefix_of,
)
from corenet.nf.sgw_pgw.store import (
    SessionStore,
    allocation_of,
    allocation_record,
    record_text,
)
from corenet.protocols.gtpv2c_recovery import RecoveryWatch

Address = tuple[str, int]

# APN Restriction, TS 23.060 §15.4 Table 16: 0 = no existing contexts or restriction
APN_RESTRICTION_NONE = 0
# EPS Bearer Identity values 5..15 identify bearers (TS 24.007 §11.2.3.1.5)
EBI_RANGE = range(5, 16)
# IE types for the Offending IE of a Cause (TS 29.274 Table 8.1-1)
IE_IMSI, IE_EBI, IE_PDN_TYPE = 1, 73, 99
# Protocol Configuration Options container IDs, TS 24.008 §10.5.6.3 (MS->network requests and
# network->MS answers share the ID)
PCO_PCSCF_IPV6, PCO_DNS_IPV6, PCO_PCSCF_IPV4, PCO_DNS_IPV4 = 0x0001, 0x0003, 0x000C, 0x000D


class SessionState(enum.Enum):
    """A PDN connection seen from S11 (TS 23.401 §5.3.2.1, §5.3.5)."""

    CREATED = "created"  # Create Session answered; the eNB's S1-U F-TEID not known yet
    ACTIVE = "active"  # Modify Bearer gave the eNB S1-U F-TEIDs (§5.3.2.1 step 23)
    IDLE = "idle"  # Release Access Bearers removed them (§5.3.5 S1 release)


# --- events and actions --------------------------------------------------------------------


@dataclass(frozen=True)
class S11Request:
    """A decoded request from the MME."""

    message: Message
    peer: Address


@dataclass(frozen=True)
class S11Malformed:
    """A request that failed decoding; `error.cause` is the answer (TS 29.274 §7.7)."""

    error: DecodeError
    peer: Address


@dataclass(frozen=True)
class S11Answer:
    """The response to a request of ours (`SendRequest`), e.g. an Echo Response."""

    message: Message
    peer: Address
    request: Message


@dataclass(frozen=True)
class S11NoAnswer:
    """A request of ours got no response after N3-REQUESTS attempts (TS 29.274 §7.6)."""

    request: Message
    peer: Address


Event = S11Request | S11Malformed | S11Answer | S11NoAnswer


@dataclass(frozen=True)
class SendResponse:
    message: Message
    peer: Address


@dataclass(frozen=True)
class SendRequest:
    """A request of the S/P-GW (Echo Request); the transaction layer numbers it (§7.6).
    `t3_response_s`: its own T3-RESPONSE, for a request answered once the UE answered."""

    message: Message
    peer: Address
    t3_response_s: float | None = None


Action = SendResponse | SendRequest | PccReport | LogEvent

# a refused peer is reported at most once per this many seconds (the drops are still counted)
REFUSED_LOG_INTERVAL_S = 10.0
REFUSED_HOSTS_KEPT = 4096
GTPV2C_PORT = 2123  # TS 29.274 §4.2


class GtpReject(CorenetError):
    """A request refused with a GTPv2 cause (TS 29.274 Table 8.4-1) and maybe an offending IE."""

    def __init__(self, cause: int, detail: str, offending_ie: Mapping[str, int] | None = None,
                 *, bce: bool = False) -> None:
        super().__init__(f"{detail} (cause {cause})")
        self.cause = cause
        self.detail = detail
        self.offending_ie = offending_ie
        self.bce = bce


# --- sessions ------------------------------------------------------------------------------


@dataclass(slots=True)
class Session:
    """One PDN connection and what the MME told about its UE (TS 29.274 §7.2.1).

    A storm keeps 100,000 of them: `indication` holds the flags that are set only (§8.12: an
    absent flag is a cleared one), and the values many UEs share (Bearer QoS, APN-AMBR, the
    cell's ULI, the indication flags) are one object per distinct value (`shared`); none of
    them is changed in place, a new value replaces the old."""

    s11_sgw_teid: int
    s5c_pgw_teid: int
    mme: Address
    mme_fteid: Mapping[str, Any]
    apn: str
    allocation: Allocation
    default_ebi: int
    bearers: dict[int, Bearer]
    rat_type: int
    created_at: float
    imsi: str | None = None
    msisdn: str | None = None
    mei: str | None = None
    indication: dict[str, bool] = field(default_factory=dict)
    uli: dict[str, Any] | None = None
    serving_network: str | None = None
    selection_mode: int | None = None
    ambr: dict[str, int] | None = None
    pco: bytes | None = None
    state: SessionState = SessionState.CREATED
    # home-routed (TS 23.401 §4.3.8.1): the home P-GW and its S5/S8-C F-TEID; this node is the
    # S-GW only, `s5c_pgw_teid` and each bearer's `s5u_pgw_teid` are then its own S5/S8 TEIDs
    home_pgw: Address | None = None
    pgw_fteid: dict[str, Any] | None = None

    @property
    def mme_teid(self) -> int:
        return int(self.mme_fteid["teid"])

    @property
    def uimsi(self) -> bool:
        """The MME sent an IMSI it could not authenticate (TS 29.274 §8.12 UIMSI)."""
        return bool(self.indication.get("uimsi"))

    @property
    def authenticated(self) -> bool:
        """An IMSI authenticated by the home HSS (TS 23.401 §5.3.2.1 emergency attach)."""
        return self.imsi is not None and not self.uimsi

    @property
    def ue_ipv4(self) -> ipaddress.IPv4Address | None:
        return self.allocation.ipv4_address

    @property
    def ue_ipv6_prefix(self) -> ipaddress.IPv6Network | None:
        return self.allocation.ipv6_network

    def identity(self) -> tuple[str, str]:
        """The UE as Create Session names it: IMSI, or MEI for a UE without one. An IMSI the
        MME could not authenticate (UIMSI) is a claim, not an identity: it never names the
        PDN connection of the authenticated subscriber (TS 29.274 §7.2.1, §8.12)."""
        return _identity(self.imsi, self.mei, self.uimsi)


class _TeidSpace:
    """Non-zero 32-bit TEIDs unique in one space (TS 29.274 §5.5.2: TEID 0 means unknown)."""

    def __init__(self) -> None:
        self._next = 1
        self._used = BitSet()

    def take(self) -> int:
        while self._next in self._used or self._next == 0:
            self._next = (self._next + 1) & 0xFFFFFFFF
        teid, self._next = self._next, (self._next + 1) & 0xFFFFFFFF
        self._used.add(teid)
        return teid

    def give_back(self, teid: int) -> None:
        self._used.discard(teid)

    def reserve(self, teid: int) -> bool:
        if teid == 0 or teid in self._used:
            return False
        self._used.add(teid)
        return True


# --- the core ------------------------------------------------------------------------------


Handler = Callable[["SgwPgwCore", Message, Address, float], list[Action]]


@dataclass
class _Path:
    """The S11 path to one MME (TS 29.274 §7.1.1 Echo, TS 23.007 §20 path failure)."""

    address: Address
    next_echo: float
    echo_outstanding: bool = False


@dataclass
class _S8Pending:
    """A Create Session sent on to a home P-GW, awaiting its answer (TS 23.401 §5.3.2.1
    steps 13-15); the TEIDs are taken while it waits."""

    request: Message
    mme: Address
    pgw: Address
    s11_sgw_teid: int
    s5c_sgw_teid: int
    s1u: dict[int, int]
    s5u: dict[int, int]


class SgwPgwCore:
    """S/P-GW sessions, addresses and TEIDs; answers S11 requests (TS 29.274 §7.1, §7.2)."""

    def __init__(self, cfg: SgwPgwConfig, *, store: SessionStore | None = None,
                 restart_counter: int | None = None, now: float = 0.0) -> None:
        self.cfg = cfg
        self.restart_counter = (restart_counter if restart_counter is not None
                                else cfg.restart_counter or 0)
        self.pools = AddressPools(cfg.pools)
        self.store = store
        self.sessions: dict[int, Session] = {}
        # S11 TEID by (identity kind, identity, default EBI): one flat tuple per session
        self._by_identity: dict[tuple[str, str, int], int] = {}
        # S11 TEID by UE address: the IPv4 address, the /64 prefix, as integers (pools.py)
        self._by_ipv4: dict[int, int] = {}
        self._by_ipv6_prefix: dict[int, int] = {}
        self._per_peer: dict[tuple[str, str], int] = {}
        self._per_peer_ip: dict[str, int] = {}  # the same counts per MME, all APNs together
        self._control_teids = _TeidSpace()
        self._user_teids = _TeidSpace()
        self._charging_id = 0
        # dedicated bearers of the PCC rules (bearers.py, TS 23.401 §5.4.1, §5.4.4.1)
        self.binding = BearerBinding(
            self.sessions, s1u_address=cfg.s1u_address, s5_address=cfg.s5_address,
            take_teid=self._user_teids.take, give_back_teid=self._user_teids.give_back,
            next_charging_id=self._next_charging_id)
        self._peers_told: set[str] = set()
        self._allowed = frozenset(cfg.mme_peers)
        self._s8_peers = frozenset(cfg.s8_peers)
        self._s8_creating: dict[int, _S8Pending] = {}  # by our S5/S8-C TEID
        self._home_routed: set[int] = set()  # S11 TEIDs of the sessions we are the S-GW of
        # by our S5/S8-C TEID: the MME's Delete Session, its address and TEID
        self._s8_deleting: dict[int, tuple[Message, Address, int]] = {}
        self._refused: dict[str, tuple[float, int]] = {}  # ip -> (last reported, drops since)
        self.refused_datagrams = 0
        self.mme_recovery = RecoveryWatch(None if store is None else store.peers())
        self._paths: dict[str, _Path] = {}
        # after a start that lost the sessions: MMEs that may still hold some of them
        self.unconfirmed: set[str] = set()
        self._pco_answers: dict[bytes | None, bytes | None] = {}  # by the UE's PCO
        self.restored = self._restore(now) if store is not None else 0

    # -- entry point ------------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Action]:
        refused = self.refuse(event.peer, now)
        if refused is not None:
            return refused
        if isinstance(event, S11Answer):
            return self._on_answer(event, now)
        if isinstance(event, S11NoAnswer):
            return self._on_no_answer(event, now)
        if isinstance(event, S11Malformed):
            return self._malformed(event.error, event.peer)
        msg, peer = event.message, event.peer
        handler = _HANDLERS.get(msg.name)
        if handler is None:
            # TS 29.274 §7.7.3: a message not expected on this interface is discarded
            return [LogEvent("sgw.discarded", {"message": msg.name, "peer": _peer(peer)})]
        try:
            return handler(self, msg, peer, now)
        except GtpReject as rej:
            return self._reject(msg, peer, rej)

    def handle_pcc(self, event: PccInstall | PccRemove, now: float) -> list[Action]:
        """PCC rules from the PCRF over Gx (pcc.py): bound to bearers by `self.binding`
        (bearers.py), reported back as `PccReport` once the bearer procedure ends. A
        home-routed session's rules are the home P-GW's to enforce (TS 23.401 §4.3.8.1)."""
        s = self.session_by_ue_address(event.ue_address)
        if s is not None and s.home_pgw is not None:
            s = None
        if isinstance(event, PccInstall):
            out = self.binding.install(s, event.ue_address, event.rules)
        else:
            out = self.binding.remove(s, event.ue_address, event.names)
        return self._bearer_actions(out, s)

    def _bearer_actions(self, out: list[Message | PccReport], s: Session | None) -> list[Action]:
        """The binding's requests go to the session's MME; sessions whose bearers or rules
        changed are saved before any of it leaves."""
        actions: list[Action] = []
        saved: set[int] = set()
        for item in out:
            if isinstance(item, Message):
                assert s is not None  # requests are only made for a session
                actions.append(SendRequest(item, s.mme, self.cfg.bearer_t3_response_s))
                actions.append(LogEvent("sgw.bearer.request", {
                    "message": item.name, "teid": s.s11_sgw_teid, "imsi": s.imsi}))
                continue
            owner = s or self.session_by_ue_address(item.ue_address)
            if owner is not None and owner.s11_sgw_teid not in saved:
                saved.add(owner.s11_sgw_teid)
                self._save(owner)
            actions.append(item)
            actions.append(LogEvent("sgw.pcc.report", {
                "ue": item.ue_address, "rules": list(item.names), "status": item.status.name,
                "failure_code": item.failure_code, "ebi": item.ebi}))
        return actions

    def _next_charging_id(self) -> int:
        self._charging_id = (self._charging_id % 0xFFFFFFFF) + 1  # §8.29: 32 bits
        return self._charging_id

    # -- peer trust -------------------------------------------------------------------------

    def refuse(self, peer: Address, now: float) -> list[Action] | None:
        """None for a configured MME; for any other host, what to do instead of answering.

        TS 29.274 defines no answer to a node that is not a peer: GTP-C runs only between
        authorised network elements (TS 33.210 §5, NDS/IP), and a GTP firewall drops the rest
        unanswered (GSMA FS.20) - an answer would reflect traffic to a spoofed source. So the
        datagram is dropped, counted, and reported at most once per REFUSED_LOG_INTERVAL_S."""
        if peer[0] in self._allowed or peer[0] in self._s8_peers:
            return None
        self.refused_datagrams += 1
        last, drops = self._refused.get(peer[0], (None, 0))
        if last is not None and now - last < REFUSED_LOG_INTERVAL_S:
            self._refused[peer[0]] = (last, drops + 1)
            return []
        if len(self._refused) >= REFUSED_HOSTS_KEPT:
            # spoofed sources must not grow this without bound; reports may repeat sooner
            self._refused.clear()
        self._refused[peer[0]] = (now, 0)
        return [LogEvent("sgw.peer.refused", {"peer": _peer(peer), "dropped_since": drops,
                                              "reason": "not a configured MME"})]

    @property
    def refused_hosts(self) -> int:
        """Hosts whose refusal is remembered (for rate-limited reporting)."""
        return len(self._refused)

    def _peer_limit(self, apn: str) -> int | None:
        """PDN connections one MME may hold on `apn`: configured, or an equal share of the
        pool; None when that is the whole pool (the pool's own limit, cause 84, applies)."""
        capacity = self.pools.pool(apn).capacity
        limit = self.cfg.max_sessions_per_peer or max(1, capacity // max(1, len(self._allowed)))
        return None if limit >= capacity else limit

    def _account(self, s: Session, delta: int) -> None:
        ip = s.mme[0]
        _count(self._per_peer, (ip, s.allocation.apn), delta)
        _count(self._per_peer_ip, ip, delta)

    # -- path management (TS 29.274 §7.1.1, TS 23.007 §18 and §20) -------------------------

    def get_timer(self) -> float | None:
        """When the next Echo Request is due, or None."""
        due: float | None = None
        for ip, p in self._paths.items():
            if (not p.echo_outstanding and (due is None or p.next_echo < due)
                    and self._holds(ip)):
                due = p.next_echo
        return due

    def handle_timer(self, now: float) -> list[Action]:
        """Echo Request to each MME holding sessions whose period elapsed (§7.1.1)."""
        out: list[Action] = []
        for ip, path in list(self._paths.items()):
            if not self._holds(ip):
                del self._paths[ip]
                continue
            if path.echo_outstanding or path.next_echo > now:
                continue
            path.echo_outstanding = True
            out.append(SendRequest(g.echo_request(0, self.restart_counter), path.address))
        return out

    def _holds(self, ip: str) -> bool:
        return ip in self.unconfirmed or ip in self._per_peer_ip

    def announce_restart(self, now: float) -> None:
        """After a start that lost the sessions: an Echo Request with our new Recovery to
        every configured MME at once (TS 29.274 §4.2 port 2123), so that each deletes the PDN
        connections it held here (TS 23.007 §16.1.3) even while its UEs are idle. Until an
        MME has answered (it purged them first) or its path failed, an address may still be
        held by one of its UEs: no other MME gets a new one (cause 73)."""
        self.unconfirmed = set(self._allowed)
        for ip in self._allowed:
            self._paths[ip] = _Path((ip, GTPV2C_PORT), now)

    def _watch_path(self, peer: Address, now: float) -> None:
        path = self._paths.get(peer[0])
        if path is None:
            self._paths[peer[0]] = _Path(peer, now + self.cfg.echo_interval_s)
        else:
            path.address = peer

    def _on_answer(self, event: S11Answer, now: float) -> list[Action]:
        if event.request.name == "CreateBearerRequest":
            return self._bearer_actions(self.binding.created(event.request, event.message), None)
        if event.request.name == "DeleteBearerRequest":
            return self._bearer_actions(self.binding.deleted(event.request), None)
        if event.request.name == "CreateSessionRequest":
            return self._s8_created(event.request, event.message, now)
        if event.request.name == "DeleteSessionRequest":
            return self._s8_deleted(event.request, event.message)
        self.unconfirmed.discard(event.peer[0])
        path = self._paths.get(event.peer[0])
        if path is not None:
            path.echo_outstanding = False
            path.next_echo = now + self.cfg.echo_interval_s
        return self._check_recovery(event.peer, event.message.fields.get("recovery"))

    def _on_no_answer(self, event: S11NoAnswer, now: float) -> list[Action]:
        """TS 23.007 §20: N3-REQUESTS Echo Requests unanswered, the path to the MME is down;
        its PDN connections are released with their addresses."""
        if event.request.name == "CreateBearerRequest":
            return self._bearer_actions(self.binding.created(event.request, None), None)
        if event.request.name == "DeleteBearerRequest":
            return self._bearer_actions(self.binding.deleted(event.request), None)
        if event.request.name == "CreateSessionRequest":
            return self._s8_created(event.request, None, now)
        if event.request.name == "DeleteSessionRequest":
            return self._s8_deleted(event.request, None)
        ip = event.peer[0]
        self._paths.pop(ip, None)
        self.unconfirmed.discard(ip)
        if event.request.name != "EchoRequest":
            return []
        released = self._release_peer(ip)
        return [LogEvent("sgw.path.down", {"peer": _peer(event.peer), "released": released})]

    def _check_recovery(self, peer: Address, counter: int | None) -> list[Action]:
        """TS 23.007 §18: a changed Recovery is an MME that restarted and lost its UEs; the
        PDN connections it held here are released."""
        previous = self.mme_recovery.seen(peer[0], counter)
        if counter is not None and self.store is not None and previous != counter:
            self.store.put_peer(peer[0], counter)
        if previous is None:
            return []
        released = self._release_peer(peer[0])
        return [LogEvent("sgw.peer.restarted", {"peer": _peer(peer), "old": previous,
                                                "new": counter, "released": released})]

    def _release_peer(self, ip: str) -> int:
        teids = [t for t, s in self.sessions.items() if s.mme[0] == ip]
        for teid in teids:
            self._remove(teid)
        return len(teids)

    # -- lookups ----------------------------------------------------------------------------

    def session_by_ue_address(self, ip: str | IpAddress) -> Session | None:
        """The session holding this UE address (IPv6: any address of its /64 prefix)."""
        found = address_int(ip)
        if found is None:
            return None
        version, addr = found
        if version == 4:
            teid = self._by_ipv4.get(addr)
        else:
            teid = self._by_ipv6_prefix.get(prefix_of(addr))
        if teid is None:
            # a home-routed session holds an address of the home P-GW (TS 23.401 §4.3.8.1)
            return next((s for t in self._home_routed
                         if (s := self.sessions[t]).allocation.holds(ip)), None)
        return self.sessions.get(teid)

    def session_by_imsi(self, imsi: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.imsi == imsi]

    # -- Echo -------------------------------------------------------------------------------

    def _echo(self, msg: Message, peer: Address, now: float) -> list[Action]:
        """Echo Request/Response, TS 29.274 §7.1.1/§7.1.2: answered to its source with our
        Recovery; the MME's own Recovery is watched (TS 23.007 §18)."""
        self._peers_told.add(peer[0])
        resp = g.echo_response(msg.fields["sequence"], self.restart_counter)
        return [SendResponse(resp, peer), *self._check_recovery(peer, msg.fields.get("recovery"))]

    # -- Create Session ---------------------------------------------------------------------

    def _create_session(self, msg: Message, peer: Address, now: float) -> list[Action]:
        """Create Session Request/Response, TS 29.274 §7.2.1/§7.2.2 (TS 23.401 §5.3.2.1
        steps 12-16: attach, including emergency attach with an unauthenticated IMSI)."""
        f = msg.fields
        imsi, mei = f.get("imsi"), f.get("mei")
        if imsi is None and mei is None:
            # §7.2.1: IMSI, or for a UE without (authenticated) IMSI its MEI, is needed
            raise GtpReject(g.CAUSE_CONDITIONAL_IE_MISSING, "neither IMSI nor MEI",
                            _offending(IE_IMSI))
        pdn_type = f.get("pdn_type") or (f.get("paa") or {}).get("pdn_type")
        if pdn_type is None:
            # §7.2.1: PDN Type is conditional-mandatory on S11 for an initial attach
            raise GtpReject(g.CAUSE_CONDITIONAL_IE_MISSING, "no PDN Type",
                            _offending(IE_PDN_TYPE))
        self._check_context(f)
        contexts = f["bearer_contexts_to_be_created"]
        for ctx in contexts:
            if ctx["ebi"] not in EBI_RANGE:
                raise GtpReject(g.CAUSE_MANDATORY_IE_INCORRECT, f"EBI {ctx['ebi']} reserved",
                                _offending(IE_EBI), bce=True)
        actions = self._check_recovery(peer, f.get("recovery"))
        actions += self._drop_existing(f, contexts[0]["ebi"])
        home = (f.get("pgw_s5s8_fteid_c") or {}).get("ipv4")
        if home in self._s8_peers and home != self.cfg.s5_address and peer[0] in self._allowed:
            return [*actions, *self._create_home_routed(msg, peer, (home, GTPV2C_PORT))]
        try:
            apn = self.pools.pool(f["apn"]).apn
        except AllocationError as exc:
            raise GtpReject(exc.cause, exc.detail) from None
        if self.unconfirmed - {peer[0]}:
            # TS 23.007 §18: another MME may still hold addresses we no longer know of
            raise GtpReject(g.CAUSE_NO_RESOURCES_AVAILABLE,
                            "waiting for the MMEs to learn of the restart")
        limit = self._peer_limit(apn)
        if limit is not None and self._per_peer.get((peer[0], apn), 0) >= limit:
            # one MME must not exhaust a pool the others (and emergency attaches) share
            raise GtpReject(g.CAUSE_NO_RESOURCES_AVAILABLE,
                            f"MME {peer[0]} holds its share of APN {apn}")
        # TS 29.274 §8.12 / TS 23.401 §5.3.1.1: without the Dual Address Bearer Flag an IPv4v6
        # request gets one address family only (IPv4 where the APN has it)
        single = (pdn_type == g.PDN_IPV4V6 and not (f.get("indication") or {}).get("daf")
                  and self.pools.pool(apn).granted_type(pdn_type) == g.PDN_IPV4V6)
        try:
            allocation = self.pools.allocate(f["apn"], g.PDN_IPV4 if single else pdn_type)
        except AllocationError as exc:
            raise GtpReject(exc.cause, exc.detail) from None
        session = self._new_session(msg, peer, allocation, contexts, now)
        self._index(session)
        self._watch_path(peer, now)
        # §7.2.2 / TS 23.401 §5.3.1.1: an IPv4v6 request narrowed to one family is accepted
        # with cause 19 "New PDN type due to single address bearer only" when DAF was not
        # set, otherwise with cause 18 "New PDN type due to network preference"
        if single:
            cause = g.CAUSE_NEW_PDN_TYPE_SINGLE_ADDRESS_BEARER_ONLY
        elif allocation.pdn_type != pdn_type:
            cause = g.CAUSE_NEW_PDN_TYPE_NETWORK_PREFERENCE
        else:
            cause = g.CAUSE_REQUEST_ACCEPTED
        resp = self._create_session_response(msg, session, cause, peer)
        actions.append(SendResponse(resp, peer))
        actions.append(LogEvent("sgw.session.created", _session_log(session, cause)))
        return actions

    def _check_context(self, f: Mapping[str, Any]) -> None:
        """§7.2.1 / §5.5.2: a Create Session Request for an additional PDN connection of an
        attached UE (TS 23.401 §5.10.2 step 3) carries in its header the S11 TEID of one of
        that UE's PDN connections, from the MME holding it; a TEID naming no such connection
        is refused with "Context Not Found" (Table 8.4-1)."""
        teid = int(f.get("teid") or 0)
        if teid == 0:
            return
        s = self.sessions.get(teid)
        uimsi = bool((f.get("indication") or {}).get("uimsi"))
        sender = f.get("sender_fteid_c") or {}
        if (s is None or s.identity() != _identity(f.get("imsi"), f.get("mei"), uimsi)
                or s.mme_fteid.get("ipv4") != sender.get("ipv4")):
            raise GtpReject(g.CAUSE_CONTEXT_NOT_FOUND,
                            f"TEID {teid} names no PDN connection of this UE")

    def _drop_existing(self, f: Mapping[str, Any], ebi: int) -> list[Action]:
        """§7.2.1: a Create Session for an existing PDN connection (same UE, same default EBI)
        replaces it; the old one is deleted locally. With the UIMSI flag the IMSI is not
        authenticated: such a request only ever replaces an unauthenticated session of that
        IMSI, never the subscriber's authenticated one (`Session.identity`)."""
        uimsi = bool((f.get("indication") or {}).get("uimsi"))
        ident = _identity(f.get("imsi"), f.get("mei"), uimsi)
        teid = self._by_identity.get((*ident, ebi))
        if teid is None:
            return []
        old = self._remove(teid)
        return [LogEvent("sgw.session.replaced", _session_log(old, g.CAUSE_REQUEST_ACCEPTED))]

    def _new_session(self, msg: Message, peer: Address, allocation: Allocation,
                     contexts: list[dict[str, Any]], now: float) -> Session:
        f = msg.fields
        bearers = {}
        for ctx in contexts:
            bearers[ctx["ebi"]] = Bearer(
                ebi=ctx["ebi"], qos=shared(ctx["bearer_qos"]), charging_id=self._next_charging_id(),
                s1u_sgw_teid=self._user_teids.take(), s5u_pgw_teid=self._user_teids.take(),
                s1u_enb_fteid=kept_fteid(ctx.get("s1u_enb_fteid")), tft=ctx.get("tft"))
        return Session(
            s11_sgw_teid=self._control_teids.take(), s5c_pgw_teid=self._control_teids.take(),
            mme=same(peer), mme_fteid=Fteid.of(f["sender_fteid_c"]), apn=same(f["apn"]),
            allocation=allocation,
            default_ebi=contexts[0]["ebi"], bearers=bearers, rat_type=f["rat_type"],
            created_at=now, imsi=f.get("imsi"), msisdn=f.get("msisdn"), mei=f.get("mei"),
            indication=set_flags(f.get("indication")), uli=shared(f.get("uli")),
            serving_network=same(f.get("serving_network")),
            selection_mode=f.get("selection_mode"), ambr=shared(f.get("ambr")),
            pco=same(f.get("pco")))

    def _create_home_routed(self, msg: Message, peer: Address, pgw: Address) -> list[Action]:
        """TS 23.401 §5.3.2.1 step 13: the S-GW sends Create Session on S8 to the home P-GW
        the MME selected (§4.3.8.1 home-routed); the MME is answered when it answers."""
        ebis = [ctx["ebi"] for ctx in msg.fields["bearer_contexts_to_be_created"]]
        pending = _S8Pending(msg, peer, pgw, self._control_teids.take(),
                             self._control_teids.take(),
                             {e: self._user_teids.take() for e in ebis},
                             {e: self._user_teids.take() for e in ebis})
        self._s8_creating[pending.s5c_sgw_teid] = pending
        request = s8.create_session_s8(
            msg, sgw_c=s8.fteid(g.FTEID_S5S8C_SGW, pending.s5c_sgw_teid, self.cfg.s11.host),
            sgw_u={e: s8.fteid(g.FTEID_S5S8U_SGW, t, self.cfg.s1u_address)
                   for e, t in pending.s5u.items()},
            recovery=self._recovery_for(pgw))
        return [SendRequest(request, pgw),
                LogEvent("sgw.s8.create", {"imsi": msg.fields.get("imsi"),
                                           "apn": msg.fields["apn"], "pgw": _peer(pgw)})]

    def _s8_created(self, request: Message, response: Message | None,
                    now: float) -> list[Action]:
        """TS 23.401 §5.3.2.1 steps 15-16: the home P-GW's Create Session Response (None: it
        did not answer, cause 100 Remote peer not responding, TS 29.274 Table 8.4-1) gives the
        MME's."""
        sender = request.fields.get("sender_fteid_c") or {}
        pending = self._s8_creating.pop(int(sender.get("teid") or 0), None)
        if pending is None:
            return []
        msg, mme = pending.request, pending.mme
        cause = (g.CAUSE_REMOTE_PEER_NOT_RESPONDING if response is None
                 else s8.cause_value(response))
        pgw_c = None if response is None else response.fields.get("sender_fteid_c")
        if response is None or cause not in s8.ACCEPTED or pgw_c is None:
            self._give_back(pending)
            cause = cause if cause not in s8.ACCEPTED else g.CAUSE_SYSTEM_FAILURE
            return self._reject(msg, mme, GtpReject(cause, f"home P-GW {_peer(pending.pgw)}"))
        created = {bc["ebi"]: bc for bc in response.fields.get("bearer_contexts_created", [])}
        paa = response.fields.get("paa") or {}
        v4 = None if paa.get("ipv4") is None else address_int(paa["ipv4"])
        v6 = None if paa.get("ipv6") is None else address_int(paa["ipv6"])
        f = msg.fields
        allocation = Allocation(
            f["apn"], int(paa.get("pdn_type") or f.get("pdn_type") or g.PDN_IPV4),
            None if v4 is None else v4[1], None if v6 is None else prefix_of(v6[1]))
        bearers = {ctx["ebi"]: Bearer(
            ebi=ctx["ebi"], qos=shared(ctx["bearer_qos"]),
            charging_id=int(created.get(ctx["ebi"], {}).get("charging_id") or 0),
            s1u_sgw_teid=pending.s1u[ctx["ebi"]], s5u_pgw_teid=pending.s5u[ctx["ebi"]],
            tft=ctx.get("tft"),
            s5u_pgw_fteid=created.get(ctx["ebi"], {}).get("s5s8u_pgw_fteid"))
            for ctx in f["bearer_contexts_to_be_created"]}
        s = Session(
            s11_sgw_teid=pending.s11_sgw_teid, s5c_pgw_teid=pending.s5c_sgw_teid, mme=mme,
            mme_fteid=dict(f["sender_fteid_c"]), apn=f["apn"], allocation=allocation,
            default_ebi=f["bearer_contexts_to_be_created"][0]["ebi"], bearers=bearers,
            rat_type=f["rat_type"], created_at=now, imsi=f.get("imsi"), msisdn=f.get("msisdn"),
            mei=f.get("mei"), indication=set_flags(f.get("indication")), uli=shared(f.get("uli")),
            serving_network=f.get("serving_network"), selection_mode=f.get("selection_mode"),
            ambr=response.fields.get("ambr"), pco=response.fields.get("pco"),
            home_pgw=pending.pgw, pgw_fteid=dict(pgw_c))
        self._index(s)
        answer = s8.create_session_s11(
            msg, response, mme_teid=s.mme_teid,
            sgw_c=s8.fteid(g.FTEID_S11S4_SGW, s.s11_sgw_teid, self.cfg.s11.host),
            sgw_s1u={e: s8.fteid(g.FTEID_S1U_SGW, b.s1u_sgw_teid, self.cfg.s1u_address)
                     for e, b in bearers.items()},
            recovery=self._recovery_for(mme))
        log = {**_session_log(s, cause), "home_pgw": _peer(pending.pgw)}
        return [SendResponse(answer, mme), LogEvent("sgw.session.created", log)]

    def _give_back(self, pending: _S8Pending) -> None:
        for teid in (pending.s11_sgw_teid, pending.s5c_sgw_teid):
            self._control_teids.give_back(teid)
        for teid in (*pending.s1u.values(), *pending.s5u.values()):
            self._user_teids.give_back(teid)

    def _create_session_response(self, msg: Message, s: Session, cause: int,
                                 peer: Address) -> Message:
        if (msg.fields.get("sender_fteid_c") or {}).get("interface_type") == g.FTEID_S5S8C_SGW:
            return self._create_session_response_s8(msg, s, cause, peer)
        contexts = [{
            "ebi": b.ebi, "cause": g.CAUSE_REQUEST_ACCEPTED,
            "s1u_sgw_fteid": self._fteid(g.FTEID_S1U_SGW, b.s1u_sgw_teid, self.cfg.s1u_address),
            "bearer_qos": b.qos, "charging_id": b.charging_id,
        } for b in s.bearers.values()]
        return g.create_session_response(
            msg.fields["sequence"], teid=s.mme_teid, cause=cause,
            sender_fteid=self._fteid(g.FTEID_S11S4_SGW, s.s11_sgw_teid, self.cfg.s11.host),
            pgw_fteid=self._fteid(g.FTEID_S5S8C_PGW, s.s5c_pgw_teid, self.cfg.s5_address),
            paa=s.allocation.paa(), apn_restriction=APN_RESTRICTION_NONE, ambr=s.ambr,
            pco=self._pco_answer(s.pco), bearer_contexts=contexts,
            recovery=self._recovery_for(peer))

    def _create_session_response_s8(self, msg: Message, s: Session, cause: int,
                                    peer: Address) -> Message:
        """The P-GW's answer on S5/S8 (TS 29.274 §7.2.2, TS 23.401 §5.3.2.1 step 15): its
        S5/S8-C F-TEID as sender, its S5/S8-U F-TEID per bearer, the PDN address. The
        control TEID is the one the session is kept under (`s11_sgw_teid`): the S-GW's later
        requests name it in their header."""
        contexts = [{
            "ebi": b.ebi, "cause": g.CAUSE_REQUEST_ACCEPTED,
            "s5s8u_pgw_fteid": self._fteid(g.FTEID_S5S8U_PGW, b.s5u_pgw_teid,
                                           self.cfg.s5_address),
            "bearer_qos": b.qos, "charging_id": b.charging_id,
        } for b in s.bearers.values()]
        return g.create_session_response(
            msg.fields["sequence"], teid=s.mme_teid, cause=cause,
            sender_fteid=self._fteid(g.FTEID_S5S8C_PGW, s.s11_sgw_teid, self.cfg.s5_address),
            paa=s.allocation.paa(), apn_restriction=APN_RESTRICTION_NONE, ambr=s.ambr,
            pco=self._pco_answer(s.pco), bearer_contexts=contexts,
            recovery=self._recovery_for(peer))

    # -- Modify Bearer ----------------------------------------------------------------------

    def _modify_bearer(self, msg: Message, peer: Address, now: float) -> list[Action]:
        """Modify Bearer Request/Response, TS 29.274 §7.2.7/§7.2.8 (TS 23.401 §5.3.2.1
        steps 23-24: the eNB's S1-U F-TEID after Initial Context Setup)."""
        s = self._session(msg)
        f = msg.fields
        # only the access part changes (eNB F-TEIDs, state) unless the MME tells more
        context = any(f.get(key) is not None for key in _CONTEXT_KEYS)
        for key in ("mei", "serving_network", "rat_type"):
            if f.get(key) is not None:
                setattr(s, key, f[key])
        if f.get("uli") is not None:
            s.uli = shared(f["uli"])
        if f.get("indication") is not None:
            s.indication = set_flags({**s.indication, **f["indication"]})
        if f.get("sender_fteid_c") is not None:
            # §7.2.7: a new MME (relocation) gives its S11 F-TEID
            self._account(s, -1)
            s.mme_fteid, s.mme = Fteid.of(f["sender_fteid_c"]), same(peer)
            self._account(s, +1)
            self._watch_path(peer, now)
        modified = [self._modify_one(s, ctx) for ctx in f.get("bearer_contexts_to_be_modified",
                                                               [])]
        if modified and all(m["cause"] != g.CAUSE_REQUEST_ACCEPTED for m in modified):
            cause = g.CAUSE_CONTEXT_NOT_FOUND
        elif any(m["cause"] != g.CAUSE_REQUEST_ACCEPTED for m in modified):
            cause = g.CAUSE_REQUEST_ACCEPTED_PARTIALLY
        else:
            cause = g.CAUSE_REQUEST_ACCEPTED
        if all(b.s1u_enb_fteid is not None for b in s.bearers.values()):
            s.state = SessionState.ACTIVE
        if context:
            self._save(s)
        else:
            self._save_access(s)
        resp = g.modify_bearer_response(
            f["sequence"], teid=s.mme_teid, cause=cause, bearer_contexts=modified,
            recovery=self._recovery_for(peer))
        log = {**_session_log(s, cause), "bearers": [m["ebi"] for m in modified]}
        return [SendResponse(resp, peer), LogEvent("sgw.bearer.modified", log)]

    def _modify_one(self, s: Session, ctx: Mapping[str, Any]) -> dict[str, Any]:
        bearer = s.bearers.get(ctx["ebi"])
        if bearer is None:
            # §7.2.8: the bearer context names a bearer this PDN connection does not have
            return {"ebi": ctx["ebi"], "cause": g.CAUSE_CONTEXT_NOT_FOUND}
        if ctx.get("s1u_enb_fteid") is not None:
            bearer.s1u_enb_fteid = Fteid.of(ctx["s1u_enb_fteid"])
        return {"ebi": bearer.ebi, "cause": g.CAUSE_REQUEST_ACCEPTED,
                "s1u_sgw_fteid": self._fteid(g.FTEID_S1U_SGW, bearer.s1u_sgw_teid,
                                             self.cfg.s1u_address),
                "charging_id": bearer.charging_id}

    # -- Delete Session ---------------------------------------------------------------------

    def _delete_session(self, msg: Message, peer: Address, now: float) -> list[Action]:
        """Delete Session Request/Response, TS 29.274 §7.2.9.1/§7.2.10.1 (TS 23.401
        §5.3.8.2.1 detach): the PDN connection and its addresses are released."""
        s = self._session(msg)
        linked = msg.fields.get("linked_ebi")
        if linked is not None and linked != s.default_ebi:
            raise GtpReject(g.CAUSE_CONTEXT_NOT_FOUND, f"no PDN connection with EBI {linked}")
        self._remove(s.s11_sgw_teid)
        if s.home_pgw is not None and s.pgw_fteid is not None:
            # TS 23.401 §5.3.8.2.1 steps 8-11: on to the home P-GW, the MME answered after it
            self._s8_deleting[s.s5c_pgw_teid] = (msg, peer, s.mme_teid)
            request = g.delete_session_request(
                0, teid=int(s.pgw_fteid["teid"]), linked_ebi=s.default_ebi,
                sender_fteid=s8.fteid(g.FTEID_S5S8C_SGW, s.s5c_pgw_teid, self.cfg.s11.host))
            return [SendRequest(request, s.home_pgw),
                    LogEvent("sgw.session.deleted", _session_log(s, g.CAUSE_REQUEST_ACCEPTED))]
        resp = g.delete_session_response(msg.fields["sequence"], teid=s.mme_teid,
                                         recovery=self._recovery_for(peer))
        return [SendResponse(resp, peer),
                LogEvent("sgw.session.deleted", _session_log(s, g.CAUSE_REQUEST_ACCEPTED))]

    def _s8_deleted(self, request: Message, response: Message | None) -> list[Action]:
        """TS 23.401 §5.3.8.2.1 step 11: the MME's Delete Session Response once the home P-GW
        answered; the session is gone here either way (a silent P-GW's own path management
        releases its side, TS 23.007 §20)."""
        sender = request.fields.get("sender_fteid_c") or {}
        waiting = self._s8_deleting.pop(int(sender.get("teid") or 0), None)
        if waiting is None:
            return []
        msg, mme, mme_teid = waiting
        resp = g.delete_session_response(msg.fields["sequence"], teid=mme_teid,
                                         recovery=self._recovery_for(mme))
        return [SendResponse(resp, mme)]

    # -- Release Access Bearers -------------------------------------------------------------

    def _release_access_bearers(self, msg: Message, peer: Address, now: float) -> list[Action]:
        """Release Access Bearers Request/Response, TS 29.274 §7.2.21/§7.2.22 (TS 23.401
        §5.3.5 S1 release: the eNB's S1-U F-TEIDs are forgotten)."""
        s = self._session(msg)
        for bearer in s.bearers.values():
            bearer.s1u_enb_fteid = None
        s.state = SessionState.IDLE
        self._save_access(s)
        resp = g.release_access_bearers_response(msg.fields["sequence"], teid=s.mme_teid,
                                                 recovery=self._recovery_for(peer))
        return [SendResponse(resp, peer),
                LogEvent("sgw.access_bearers.released",
                         _session_log(s, g.CAUSE_REQUEST_ACCEPTED))]

    # -- errors -----------------------------------------------------------------------------

    def _session(self, msg: Message) -> Session:
        s = self.sessions.get(msg.fields.get("teid") or 0)
        if s is None:
            # TS 29.274 §7.7 / Table 8.4-1: the header TEID names no context
            raise GtpReject(g.CAUSE_CONTEXT_NOT_FOUND, f"no session for TEID "
                            f"{msg.fields.get('teid')}")
        return s

    def _reject(self, msg: Message, peer: Address, rej: GtpReject) -> list[Action]:
        teid = self._peer_teid(msg.code, msg.fields.get("teid"), msg.fields)
        # a restarted S/P-GW's first answer to an MME, often "Context not found" for a lost
        # session, carries its new Recovery: that is how the MME learns of the restart
        resp = _rejection(msg.code, msg.fields["sequence"], teid, rej,
                          self._recovery_for(peer))
        log = {"message": msg.name, "cause": rej.cause, "detail": rej.detail,
               "peer": _peer(peer), "imsi": msg.fields.get("imsi")}
        out: list[Action] = [] if resp is None else [SendResponse(resp, peer)]
        return [*out, LogEvent("sgw.request.rejected", log)]

    def _malformed(self, err: DecodeError, peer: Address) -> list[Action]:
        """TS 29.274 §7.7.4-§7.7.7: reject with the decoder's cause and offending IE."""
        code, sequence = err.extra.get("message_type"), err.extra.get("sequence", 0)
        log = {"message_type": code, "cause": err.cause, "detail": err.detail,
               "peer": _peer(peer)}
        if code == 1:
            # an Echo Request is answered whatever its IEs (§7.1.1: path liveness)
            return [SendResponse(g.echo_response(sequence, self.restart_counter), peer),
                    LogEvent("sgw.request.malformed", log)]
        cause = err.cause if isinstance(err.cause, int) else g.CAUSE_INVALID_MESSAGE_FORMAT
        rej = GtpReject(cause, err.detail, err.extra.get("offending_ie"),
                        bce=bool(err.extra.get("bce")))
        teid = self._peer_teid(code, err.extra.get("teid"), {})
        resp = None if code is None else _rejection(code, sequence, teid, rej)
        out: list[Action] = [] if resp is None else [SendResponse(resp, peer)]
        return [*out, LogEvent("sgw.request.malformed", log)]

    def _peer_teid(self, code: int | None, header_teid: int | None,
                   fields: Mapping[str, Any]) -> int:
        """§5.5.2: the MME's TEID if known, else 0."""
        if code == 32:
            sender = fields.get("sender_fteid_c")
            return int(sender["teid"]) if sender else 0
        s = self.sessions.get(header_teid or 0)
        return 0 if s is None else s.mme_teid

    # -- helpers ----------------------------------------------------------------------------

    def _recovery_for(self, peer: Address) -> int | None:
        """§7.2.2 and others: Recovery is included when contacting a peer for the first time."""
        if peer[0] in self._peers_told:
            return None
        self._peers_told.add(peer[0])
        return self.restart_counter

    def _fteid(self, interface_type: int, teid: int, host: str) -> dict[str, Any]:
        return s8.fteid(interface_type, teid, host)

    def _index(self, s: Session, *, save: bool = True) -> None:
        if save:
            self._save(s)
        self._account(s, +1)
        self.sessions[s.s11_sgw_teid] = s
        self._by_identity[(*s.identity(), s.default_ebi)] = s.s11_sgw_teid
        if s.home_pgw is not None:
            self._home_routed.add(s.s11_sgw_teid)
            return  # the home P-GW's addresses, not of our pools
        if s.allocation.ipv4 is not None:
            self._by_ipv4[s.allocation.ipv4] = s.s11_sgw_teid
        if s.allocation.ipv6_prefix is not None:
            self._by_ipv6_prefix[s.allocation.ipv6_prefix] = s.s11_sgw_teid

    def _remove(self, teid: int) -> Session:
        if self.store is not None:
            self.store.delete(teid)
        s = self.sessions.pop(teid)
        self.binding.forget(teid)
        self._account(s, -1)
        self._by_identity.pop((*s.identity(), s.default_ebi), None)
        self._home_routed.discard(teid)
        if s.home_pgw is None:
            if s.allocation.ipv4 is not None:
                self._by_ipv4.pop(s.allocation.ipv4, None)
            if s.allocation.ipv6_prefix is not None:
                self._by_ipv6_prefix.pop(s.allocation.ipv6_prefix, None)
            self.pools.release(s.allocation)
        self._control_teids.give_back(s.s11_sgw_teid)
        self._control_teids.give_back(s.s5c_pgw_teid)
        for b in s.bearers.values():
            self._user_teids.give_back(b.s1u_sgw_teid)
            self._user_teids.give_back(b.s5u_pgw_teid)
        return s

    # -- persistence (TS 23.007 §18) ---------------------------------------------------------

    def _save(self, s: Session) -> None:
        """Committed before the response about `s` is handed out. A home-routed session is
        not kept: after a restart the home P-GW learns of it by our Recovery (TS 23.007 §18)."""
        if self.store is not None and s.home_pgw is None:
            self.store.put(s.s11_sgw_teid, _record_json(s))

    def _save_access(self, s: Session) -> None:
        """`_save` when only the session's access part changed (store.py `put_access`): its
        state and the eNB's S1-U F-TEIDs, not the whole record again."""
        if self.store is not None and s.home_pgw is None:
            self.store.put_access(s.s11_sgw_teid, _access_json(s))

    def _restore(self, now: float) -> int:
        """Sessions of the store back in place, with their addresses and TEIDs taken again;
        one that no longer fits (pools reconfigured) is dropped from the store."""
        assert self.store is not None
        restored = 0
        for record in list(self.store.sessions()):
            try:
                s = _session_of(record)
            except (KeyError, TypeError, ValueError):
                s = None
            if s is None or s.mme[0] not in self._allowed or not self._take_back(s):
                # unreadable, of an MME no longer served, or clashing with the pools now
                teid = record.get("s11_sgw_teid")
                if isinstance(teid, int):
                    self.store.delete(teid)
                continue
            self._index(s, save=False)
            self._watch_path(s.mme, now - self.cfg.echo_interval_s)  # echo the MME at once
            self._charging_id = max(self._charging_id,
                                    *(b.charging_id for b in s.bearers.values()))
            restored += 1
        return restored

    def _take_back(self, s: Session) -> bool:
        teids = [(self._control_teids, s.s11_sgw_teid), (self._control_teids, s.s5c_pgw_teid)]
        teids += [(self._user_teids, t) for b in s.bearers.values()
                  for t in (b.s1u_sgw_teid, b.s5u_pgw_teid)]
        if (s.s11_sgw_teid in self.sessions or (*s.identity(), s.default_ebi) in self._by_identity
                or not self.pools.reserve(s.allocation)):
            return False
        taken: list[tuple[_TeidSpace, int]] = []
        for space, teid in teids:
            if not space.reserve(teid):
                for sp, t in taken:
                    sp.give_back(t)
                self.pools.release(s.allocation)
                return False
            taken.append((space, teid))
        return True

    def _pco_answer(self, request: bytes | None) -> bytes | None:
        """TS 24.008 §10.5.6.3 / TS 29.274 §8.13: P-CSCF and DNS addresses the UE asked for.
        The answer depends on the containers asked for only: made once per distinct PCO (the
        UEs of a population send the same few)."""
        if request in self._pco_answers:
            return self._pco_answers[request]
        if len(self._pco_answers) >= 64:  # a peer's odd PCOs must not grow it
            self._pco_answers.clear()
        answer = self._pco_answers[request] = self._make_pco_answer(
            frozenset(_pco_container_ids(request)))
        return answer

    def _make_pco_answer(self, wanted: frozenset[int]) -> bytes | None:
        answers = {PCO_PCSCF_IPV4: (self.cfg.pcscf, 4), PCO_PCSCF_IPV6: (self.cfg.pcscf, 6),
                   PCO_DNS_IPV4: (self.cfg.dns, 4), PCO_DNS_IPV6: (self.cfg.dns, 6)}
        body = b""
        for cid, (addrs, version) in answers.items():
            if cid not in wanted:
                continue
            for a in addrs:
                ip = ipaddress.ip_address(a)
                if ip.version == version:
                    body += cid.to_bytes(2, "big") + bytes([len(ip.packed)]) + ip.packed
        # octet 3: ext bit set, configuration protocol 0 (PPP)
        return None if not body else b"\x80" + body


def _pco_container_ids(pco: bytes | None) -> set[int]:
    """The container IDs of a PCO value; a malformed PCO is ignored (TS 29.274 §7.7.9)."""
    ids: set[int] = set()
    if not pco or not pco[0] & 0x80:
        return ids
    pos = 1
    while pos + 3 <= len(pco):
        length = pco[pos + 2]
        if pos + 3 + length > len(pco):
            break
        ids.add(int.from_bytes(pco[pos:pos + 2], "big"))
        pos += 3 + length
    return ids


_SHARED_KEPT = 4096
_shared: dict[Any, Any] = {}


def _count(counts: dict[Any, int], key: Any, delta: int) -> None:
    """counts[key] += delta, the key dropped at zero."""
    count = counts.get(key, 0) + delta
    if count > 0:
        counts[key] = count
    else:
        counts.pop(key, None)


def shared(value: Any) -> Any:
    """One object per distinct value of a dict of plain values, or of dicts of them (QoS,
    AMBR, ULI, indication flags): the sessions of a population hold the same few. The table
    is bounded; a value it forgot stays with the sessions holding it."""
    if not value:
        return value
    try:
        # most often the value is the one last shared with the same keys (every UE of a
        # population sends the same QoS, AMBR, flags, and the same cell's ULI for a while):
        # one comparison instead of a key of its items
        names = tuple(value)
        recent = _recent.get(names)
        if recent is not None and recent == value:
            return recent
        key = tuple((k, tuple(v.items()) if isinstance(v, dict) else v)
                    for k, v in value.items())
        known = _shared.get(key)
    except (AttributeError, TypeError):  # not a dict of plain values: kept as it is
        return value
    if known is None:
        if len(_shared) >= _SHARED_KEPT:
            _shared.clear()
            _shared_json.clear()
            _recent.clear()
        # a copy: the caller's dict (a decoded message's) may change, the shared one never
        known = _shared[key] = {k: dict(v) if isinstance(v, dict) else v
                                for k, v in value.items()}
        _shared_json[id(known)] = None  # its JSON text, made when a record first needs it
    _recent[names] = known
    return known


# the value of `_shared` last handed out, by its keys (at most one per key set of `_shared`)
_recent: dict[tuple[Any, ...], Any] = {}


# The JSON text of each value of `_shared`, by its id (None until first asked for). Only the
# objects `_shared` holds have an entry, and both tables are cleared together: an id found
# here is one of those live objects, never a recycled one.
_shared_json: dict[int, str | None] = {}


_same: dict[Any, Any] = {}


def same(value: Any) -> Any:
    """One object per distinct immutable value (the MME's address, the APN, the PCO a
    population's UEs all send): each datagram brings a new copy of them. Bounded."""
    if value is None:
        return None
    known = _same.get(value)
    if known is None:
        if len(_same) >= _SHARED_KEPT:
            _same.clear()
        known = _same[value] = value
    return known


def kept_fteid(fteid: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return None if fteid is None else Fteid.of(fteid)


def set_flags(indication: Mapping[str, bool] | None) -> dict[str, bool]:
    """The Indication flags that are set (TS 29.274 §8.12), shared."""
    return shared({k: True for k, on in (indication or {}).items() if on})  # type: ignore[no-any-return]


def _identity(imsi: str | None, mei: str | None, uimsi: bool) -> tuple[str, str]:
    if imsi is None:
        return ("mei", mei or "")
    return ("uimsi", imsi) if uimsi else ("imsi", imsi)


def _record_json(s: Session) -> str:
    """`_record(s)` as the store's JSON text, written directly: the shared values' text is
    made once (`_shared_json`) and the rest formatted in place, not walked by the encoder for
    every Create Session and Modify Bearer. The restore reads it as any other record."""
    a = s.allocation
    bearers = ", ".join(
        f'{{"ebi": {int(b.ebi)}, "qos": {_json(b.qos)}, "charging_id": {int(b.charging_id)}, '
        f'"s1u_sgw_teid": {int(b.s1u_sgw_teid)}, "s5u_pgw_teid": {int(b.s5u_pgw_teid)}, '
        f'"s1u_enb_fteid": {_fteid_json(b.s1u_enb_fteid)}, "tft": {_json(b.tft)}, '
        f'"rules": {_json(b.rules)}}}' for b in s.bearers.values())
    return (
        f'{{"s11_sgw_teid": {int(s.s11_sgw_teid)}, "s5c_pgw_teid": {int(s.s5c_pgw_teid)}, '
        f'"mme": [{_text(s.mme[0])}, {int(s.mme[1])}], "mme_fteid": {_fteid_json(s.mme_fteid)}, '
        f'"apn": {_text(s.apn)}, "allocation": {{"apn": {_text(a.apn)}, '
        f'"pdn_type": {int(a.pdn_type)}, "ipv4": {_text(a.ipv4_text)}, '
        f'"ipv6_prefix": {_text(a.ipv6_prefix_text)}}}, "default_ebi": {int(s.default_ebi)}, '
        f'"rat_type": {int(s.rat_type)}, "created_at": {_json(s.created_at)}, '
        f'"imsi": {_text(s.imsi)}, "msisdn": {_text(s.msisdn)}, "mei": {_text(s.mei)}, '
        f'"indication": {_json(s.indication)}, "uli": {_json(s.uli)}, '
        f'"serving_network": {_text(s.serving_network)}, '
        f'"selection_mode": {_json(s.selection_mode)}, "ambr": {_json(s.ambr)}, '
        f'"pco": {_json(s.pco)}, "state": {_text(s.state.value)}, "bearers": [{bearers}]}}')


# Modify Bearer IEs that change more of a session than its access part (TS 29.274 §7.2.7)
_CONTEXT_KEYS = ("mei", "serving_network", "rat_type", "uli", "indication", "sender_fteid_c")


def _access_json(s: Session) -> str:
    """The access part of `s` (store.py `put_access`): its state and each bearer's eNB S1-U
    F-TEID, which `_session_of` lays over the record."""
    enb = ", ".join(f"[{int(b.ebi)}, {_fteid_json(b.s1u_enb_fteid)}]" for b in s.bearers.values())
    return f'{{"state": {_text(s.state.value)}, "enb": [{enb}]}}'


def _text(value: str | None) -> str:
    return "null" if value is None else _encode_string(value)


def _fteid_json(fteid: Mapping[str, Any] | None) -> str:
    if fteid is None:
        return "null"
    if fteid.__class__ is Fteid:  # as kept (bearers.py): its four slots read directly
        kind, teid, ipv4, ipv6 = fteid.interface_type, fteid.teid, fteid.ipv4, fteid.ipv6
    elif tuple(fteid) == FTEID_KEYS:
        kind, teid, ipv4, ipv6 = (fteid[key] for key in FTEID_KEYS)
    else:
        return record_text(dict(fteid))
    return (f'{{"interface_type": {_json(kind)}, "teid": {_json(teid)}, '
            f'"ipv4": {_json(ipv4)}, "ipv6": {_json(ipv6)}}}')


def _json(value: Any) -> str:
    """JSON text of one value of a record: a shared value's is made once."""
    kind = type(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)  # as the encoder writes it
    if kind is bytes:
        return f'{{"__bytes__": "{value.hex()}"}}'
    if (kind is tuple or kind is list) and not value:
        return "[]"
    if kind is str:
        return _encode_string(value)  # type: ignore[no-any-return]
    known = _shared_json.get(id(value), _NOT_SHARED)
    if known is _NOT_SHARED:
        return record_text(value)
    if known is None:
        known = _shared_json[id(value)] = record_text(value)
    return known  # type: ignore[return-value]


_NOT_SHARED = object()


def _record(s: Session) -> dict[str, Any]:
    return {
        "s11_sgw_teid": s.s11_sgw_teid, "s5c_pgw_teid": s.s5c_pgw_teid, "mme": list(s.mme),
        "mme_fteid": dict(s.mme_fteid), "apn": s.apn, "allocation": allocation_record(s.allocation),
        "default_ebi": s.default_ebi, "rat_type": s.rat_type, "created_at": s.created_at,
        "imsi": s.imsi, "msisdn": s.msisdn, "mei": s.mei, "indication": s.indication,
        "uli": s.uli, "serving_network": s.serving_network, "selection_mode": s.selection_mode,
        "ambr": s.ambr, "pco": s.pco, "state": s.state.value,
        "bearers": [{"ebi": b.ebi, "qos": b.qos, "charging_id": b.charging_id,
                     "s1u_sgw_teid": b.s1u_sgw_teid, "s5u_pgw_teid": b.s5u_pgw_teid,
                     "s1u_enb_fteid": None if b.s1u_enb_fteid is None else dict(b.s1u_enb_fteid),
                     "tft": b.tft, "rules": b.rules}
                    for b in s.bearers.values()],
    }


def _session_of(r: dict[str, Any]) -> Session:
    access = r.get("access")
    if access is not None:  # laid over the record it was written after (`_access_json`)
        r = {**r, "state": access["state"]}
        enb = {int(ebi): fteid for ebi, fteid in access["enb"]}
        r["bearers"] = [{**b, "s1u_enb_fteid": enb.get(int(b["ebi"]), b.get("s1u_enb_fteid"))}
                        for b in r["bearers"]]
    bearers = {int(b["ebi"]): Bearer(
        ebi=int(b["ebi"]), qos=shared(b["qos"]), charging_id=int(b["charging_id"]),
        s1u_sgw_teid=int(b["s1u_sgw_teid"]), s5u_pgw_teid=int(b["s5u_pgw_teid"]),
        s1u_enb_fteid=kept_fteid(b.get("s1u_enb_fteid")), tft=b.get("tft"),
        rules=tuple(str(n) for n in b.get("rules") or ())) for b in r["bearers"]}
    host, port = r["mme"]
    return Session(
        s11_sgw_teid=int(r["s11_sgw_teid"]), s5c_pgw_teid=int(r["s5c_pgw_teid"]),
        mme=(str(host), int(port)), mme_fteid=Fteid.of(r["mme_fteid"]), apn=r["apn"],
        allocation=allocation_of(r["allocation"]), default_ebi=int(r["default_ebi"]),
        bearers=bearers, rat_type=int(r["rat_type"]), created_at=float(r["created_at"]),
        imsi=r.get("imsi"), msisdn=r.get("msisdn"), mei=r.get("mei"),
        indication=set_flags(r.get("indication")), uli=shared(r.get("uli")),
        serving_network=r.get("serving_network"), selection_mode=r.get("selection_mode"),
        ambr=shared(r.get("ambr")), pco=r.get("pco"), state=SessionState(r["state"]))


def _offending(ie_type: int, instance: int = 0) -> dict[str, int]:
    return {"type": ie_type, "length": 0, "instance": instance}


def _rejection(code: int, sequence: int, teid: int, rej: GtpReject,
               recovery: int | None = None) -> Message | None:
    """The response of request `code` carrying the Cause (TS 29.274 §7.7, Table 8.4-1), and
    Recovery on first contact (§7.2.2 and the other responses)."""
    build = _REJECTIONS.get(code)
    if build is None:
        return None
    cause = g.cause(rej.cause, rej.offending_ie, bce=rej.bce)
    return build(sequence, teid=teid, cause=cause, recovery=recovery)


_REJECTIONS: dict[int, Callable[..., Message]] = {
    32: g.create_session_response,
    34: g.modify_bearer_response,
    36: g.delete_session_response,
    170: g.release_access_bearers_response,
}


def _peer(peer: Address) -> str:
    return f"{peer[0]}:{peer[1]}"


def _session_log(s: Session, cause: int) -> dict[str, Any]:
    return {"imsi": s.imsi, "msisdn": s.msisdn, "mei": s.mei, "uimsi": s.uimsi, "apn": s.apn,
            "ue_ipv4": s.allocation.ipv4_text, "ue_ipv6_prefix": s.allocation.ipv6_prefix_text,
            "teid": s.s11_sgw_teid, "state": s.state.value, "cause": cause}


_HANDLERS: dict[str, Handler] = {
    "EchoRequest": SgwPgwCore._echo,
    "CreateSessionRequest": SgwPgwCore._create_session,
    "ModifyBearerRequest": SgwPgwCore._modify_bearer,
    "DeleteSessionRequest": SgwPgwCore._delete_session,
    "ReleaseAccessBearersRequest": SgwPgwCore._release_access_bearers,
}
