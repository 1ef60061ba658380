"""The rescuer's combined S-GW/P-GW control plane on S11, sans-I/O (TS 29.274, TS 23.401).

`SgwPgwCore.handle(event, now) -> list[action]` takes decoded S11 requests (the transaction layer
of `corenet.protocols.gtpv2c_transactions` in front of it deals with sequence numbers and
retransmissions) and returns the responses to send and the events to log.

With S-GW and P-GW in one node, S5/S8 is internal: the P-GW's S5/S8 F-TEIDs are allocated and
reported to the MME (TS 29.274 §7.2.2) but no S5/S8 message is exchanged.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message
from corenet.config.models import SgwPgwConfig
from corenet.core.actions import LogEvent
from corenet.core.errors import CorenetError, DecodeError
from corenet.nf.sgw_pgw.pools import (
    AddressPools,
    Allocation,
    AllocationError,
    IpAddress,
)

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
class SendResponse:
    message: Message
    peer: Address


Action = SendResponse | LogEvent


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


@dataclass
class Bearer:
    """One EPS bearer (TS 23.401 §4.7.2); QoS as received in Create Session."""

    ebi: int
    qos: dict[str, int]
    charging_id: int
    s1u_sgw_teid: int
    s5u_pgw_teid: int
    s1u_enb_fteid: dict[str, Any] | None = None
    tft: bytes | None = None


@dataclass
class Session:
    """One PDN connection and what the MME told about its UE (TS 29.274 §7.2.1)."""

    s11_sgw_teid: int
    s5c_pgw_teid: int
    mme: Address
    mme_fteid: dict[str, Any]
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
        return self.allocation.ipv4

    @property
    def ue_ipv6_prefix(self) -> ipaddress.IPv6Network | None:
        return self.allocation.ipv6_prefix

    def identity(self) -> tuple[str, str]:
        """The UE as Create Session names it: IMSI, or MEI for a UE without one."""
        return ("imsi", self.imsi) if self.imsi is not None else ("mei", self.mei or "")


class _TeidSpace:
    """Non-zero 32-bit TEIDs unique in one space (TS 29.274 §5.5.2: TEID 0 means unknown)."""

    def __init__(self) -> None:
        self._next = 1
        self._used: set[int] = set()

    def take(self) -> int:
        while self._next in self._used or self._next == 0:
            self._next = (self._next + 1) & 0xFFFFFFFF
        teid, self._next = self._next, (self._next + 1) & 0xFFFFFFFF
        self._used.add(teid)
        return teid

    def give_back(self, teid: int) -> None:
        self._used.discard(teid)


# --- the core ------------------------------------------------------------------------------


Handler = Callable[["SgwPgwCore", Message, Address, float], list[Action]]


class SgwPgwCore:
    """S/P-GW sessions, addresses and TEIDs; answers S11 requests (TS 29.274 §7.1, §7.2)."""

    def __init__(self, cfg: SgwPgwConfig) -> None:
        self.cfg = cfg
        self.pools = AddressPools(cfg.pools)
        self.sessions: dict[int, Session] = {}
        self._by_identity: dict[tuple[tuple[str, str], int], int] = {}
        self._by_ipv4: dict[ipaddress.IPv4Address, int] = {}
        self._by_ipv6_prefix: dict[ipaddress.IPv6Network, int] = {}
        self._control_teids = _TeidSpace()
        self._user_teids = _TeidSpace()
        self._charging_id = 0
        self._peers_told: set[str] = set()

    # -- entry point ------------------------------------------------------------------------

    def handle(self, event: S11Request | S11Malformed, now: float) -> list[Action]:
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

    # -- lookups ----------------------------------------------------------------------------

    def session_by_ue_address(self, ip: str | IpAddress) -> Session | None:
        """The session holding this UE address (IPv6: any address of its /64 prefix)."""
        try:
            addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        except ValueError:
            return None
        if isinstance(addr, ipaddress.IPv4Address):
            teid = self._by_ipv4.get(addr)
        else:
            teid = self._by_ipv6_prefix.get(ipaddress.IPv6Network((addr, 64), strict=False))
        return None if teid is None else self.sessions.get(teid)

    def session_by_imsi(self, imsi: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.imsi == imsi]

    # -- Echo -------------------------------------------------------------------------------

    def _echo(self, msg: Message, peer: Address, now: float) -> list[Action]:
        """Echo Request/Response, TS 29.274 §7.1.1/§7.1.2: Recovery is our restart counter."""
        self._peers_told.add(peer[0])
        resp = g.echo_response(msg.fields["sequence"], self.cfg.restart_counter)
        return [SendResponse(resp, peer)]

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
        contexts = f["bearer_contexts_to_be_created"]
        for ctx in contexts:
            if ctx["ebi"] not in EBI_RANGE:
                raise GtpReject(g.CAUSE_MANDATORY_IE_INCORRECT, f"EBI {ctx['ebi']} reserved",
                                _offending(IE_EBI), bce=True)
        actions = self._drop_existing(f, contexts[0]["ebi"])
        try:
            allocation = self.pools.allocate(f["apn"], pdn_type)
        except AllocationError as exc:
            raise GtpReject(exc.cause, exc.detail) from None
        session = self._new_session(msg, peer, allocation, contexts, now)
        self._index(session)
        # §7.2.2 / TS 23.401 §5.3.1.1: an IPv4v6 request narrowed to one family is accepted
        # with cause 18 "New PDN type due to network preference"
        cause = (g.CAUSE_NEW_PDN_TYPE_NETWORK_PREFERENCE if allocation.pdn_type != pdn_type
                 else g.CAUSE_REQUEST_ACCEPTED)
        resp = self._create_session_response(msg, session, cause, peer)
        actions.append(SendResponse(resp, peer))
        actions.append(LogEvent("sgw.session.created", _session_log(session, cause)))
        return actions

    def _drop_existing(self, f: Mapping[str, Any], ebi: int) -> list[Action]:
        """§7.2.1: a Create Session for an existing PDN connection (same UE, same default EBI)
        replaces it; the old one is deleted locally."""
        ident = ("imsi", f["imsi"]) if f.get("imsi") is not None else ("mei", f.get("mei", ""))
        teid = self._by_identity.get((ident, ebi))
        if teid is None:
            return []
        old = self._remove(teid)
        return [LogEvent("sgw.session.replaced", _session_log(old, g.CAUSE_REQUEST_ACCEPTED))]

    def _new_session(self, msg: Message, peer: Address, allocation: Allocation,
                     contexts: list[dict[str, Any]], now: float) -> Session:
        f = msg.fields
        bearers = {}
        for ctx in contexts:
            self._charging_id = (self._charging_id % 0xFFFFFFFF) + 1  # §8.29: 32 bits
            bearers[ctx["ebi"]] = Bearer(
                ebi=ctx["ebi"], qos=dict(ctx["bearer_qos"]), charging_id=self._charging_id,
                s1u_sgw_teid=self._user_teids.take(), s5u_pgw_teid=self._user_teids.take(),
                s1u_enb_fteid=ctx.get("s1u_enb_fteid"), tft=ctx.get("tft"))
        return Session(
            s11_sgw_teid=self._control_teids.take(), s5c_pgw_teid=self._control_teids.take(),
            mme=peer, mme_fteid=dict(f["sender_fteid_c"]), apn=f["apn"], allocation=allocation,
            default_ebi=contexts[0]["ebi"], bearers=bearers, rat_type=f["rat_type"],
            created_at=now, imsi=f.get("imsi"), msisdn=f.get("msisdn"), mei=f.get("mei"),
            indication=dict(f.get("indication") or {}), uli=f.get("uli"),
            serving_network=f.get("serving_network"), selection_mode=f.get("selection_mode"),
            ambr=f.get("ambr"), pco=f.get("pco"))

    def _create_session_response(self, msg: Message, s: Session, cause: int,
                                 peer: Address) -> Message:
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

    # -- Modify Bearer ----------------------------------------------------------------------

    def _modify_bearer(self, msg: Message, peer: Address, now: float) -> list[Action]:
        """Modify Bearer Request/Response, TS 29.274 §7.2.7/§7.2.8 (TS 23.401 §5.3.2.1
        steps 23-24: the eNB's S1-U F-TEID after Initial Context Setup)."""
        s = self._session(msg)
        f = msg.fields
        for key in ("mei", "uli", "serving_network", "rat_type"):
            if f.get(key) is not None:
                setattr(s, key, f[key])
        if f.get("indication") is not None:
            s.indication.update(f["indication"])
        if f.get("sender_fteid_c") is not None:
            # §7.2.7: a new MME (relocation) gives its S11 F-TEID
            s.mme_fteid, s.mme = dict(f["sender_fteid_c"]), peer
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
            bearer.s1u_enb_fteid = dict(ctx["s1u_enb_fteid"])
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
        resp = g.delete_session_response(msg.fields["sequence"], teid=s.mme_teid,
                                         recovery=self._recovery_for(peer))
        return [SendResponse(resp, peer),
                LogEvent("sgw.session.deleted", _session_log(s, g.CAUSE_REQUEST_ACCEPTED))]

    # -- Release Access Bearers -------------------------------------------------------------

    def _release_access_bearers(self, msg: Message, peer: Address, now: float) -> list[Action]:
        """Release Access Bearers Request/Response, TS 29.274 §7.2.21/§7.2.22 (TS 23.401
        §5.3.5 S1 release: the eNB's S1-U F-TEIDs are forgotten)."""
        s = self._session(msg)
        for bearer in s.bearers.values():
            bearer.s1u_enb_fteid = None
        s.state = SessionState.IDLE
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
        resp = _rejection(msg.code, msg.fields["sequence"], teid, rej)
        log = {"message": msg.name, "cause": rej.cause, "detail": rej.detail,
               "peer": _peer(peer), "imsi": msg.fields.get("imsi")}
        return ([] if resp is None else [SendResponse(resp, peer)]) + [
            LogEvent("sgw.request.rejected", log)]

    def _malformed(self, err: DecodeError, peer: Address) -> list[Action]:
        """TS 29.274 §7.7.4-§7.7.7: reject with the decoder's cause and offending IE."""
        code, sequence = err.extra.get("message_type"), err.extra.get("sequence", 0)
        log = {"message_type": code, "cause": err.cause, "detail": err.detail,
               "peer": _peer(peer)}
        if code == 1:
            # an Echo Request is answered whatever its IEs (§7.1.1: path liveness)
            return [SendResponse(g.echo_response(sequence, self.cfg.restart_counter), peer),
                    LogEvent("sgw.request.malformed", log)]
        cause = err.cause if isinstance(err.cause, int) else g.CAUSE_INVALID_MESSAGE_FORMAT
        rej = GtpReject(cause, err.detail, err.extra.get("offending_ie"),
                        bce=bool(err.extra.get("bce")))
        teid = self._peer_teid(code, err.extra.get("teid"), {})
        resp = None if code is None else _rejection(code, sequence, teid, rej)
        return ([] if resp is None else [SendResponse(resp, peer)]) + [
            LogEvent("sgw.request.malformed", log)]

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
        return self.cfg.restart_counter

    def _fteid(self, interface_type: int, teid: int, host: str) -> dict[str, Any]:
        ip = ipaddress.ip_address(host)
        return g.fteid(interface_type, teid, str(ip) if ip.version == 4 else None,
                       str(ip) if ip.version == 6 else None)

    def _index(self, s: Session) -> None:
        self.sessions[s.s11_sgw_teid] = s
        self._by_identity[(s.identity(), s.default_ebi)] = s.s11_sgw_teid
        if s.allocation.ipv4 is not None:
            self._by_ipv4[s.allocation.ipv4] = s.s11_sgw_teid
        if s.allocation.ipv6_prefix is not None:
            self._by_ipv6_prefix[s.allocation.ipv6_prefix] = s.s11_sgw_teid

    def _remove(self, teid: int) -> Session:
        s = self.sessions.pop(teid)
        self._by_identity.pop((s.identity(), s.default_ebi), None)
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

    def _pco_answer(self, request: bytes | None) -> bytes | None:
        """TS 24.008 §10.5.6.3 / TS 29.274 §8.13: P-CSCF and DNS addresses the UE asked for."""
        wanted = _pco_container_ids(request)
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


def _offending(ie_type: int, instance: int = 0) -> dict[str, int]:
    return {"type": ie_type, "length": 0, "instance": instance}


def _rejection(code: int, sequence: int, teid: int, rej: GtpReject) -> Message | None:
    """The response of request `code` carrying only the Cause (TS 29.274 §7.7, Table 8.4-1)."""
    build = _REJECTIONS.get(code)
    if build is None:
        return None
    cause = g.cause(rej.cause, rej.offending_ie, bce=rej.bce)
    return build(sequence, teid=teid, cause=cause)


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
            "ue_ipv4": None if s.ue_ipv4 is None else str(s.ue_ipv4),
            "ue_ipv6_prefix": None if s.ue_ipv6_prefix is None else str(s.ue_ipv6_prefix),
            "teid": s.s11_sgw_teid, "state": s.state.value, "cause": cause}


_HANDLERS: dict[str, Handler] = {
    "EchoRequest": SgwPgwCore._echo,
    "CreateSessionRequest": SgwPgwCore._create_session,
    "ModifyBearerRequest": SgwPgwCore._modify_bearer,
    "DeleteSessionRequest": SgwPgwCore._delete_session,
    "ReleaseAccessBearersRequest": SgwPgwCore._release_access_bearers,
}
