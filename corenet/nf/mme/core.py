"""The sans-I/O MME: `MmeCore.handle(event, now) -> list[Action]`.

It owns the eNB and UE contexts (`context.py`) and the S6a and S11 transactions it started, so
that answers, failures and timeouts find their UE; it implements the port (`port.py`) through
which the procedures act. Events go to the S1AP handler (`s1ap_handler.py`), S6a/S11 answers to
the procedure sequences (`attach.SEQUENCE`, `detach.SEQUENCE`), timers to their owner. It never
touches a socket or a clock: `now` is the wall-clock time of the event (seconds since the epoch).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from corenet.codecs.base import Message
from corenet.codecs.nas_ies import Guti
from corenet.config.models import MmeConfig
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.identifiers import home_plmn_of
from corenet.core.plmn import Plmn
from corenet.nf.mme import (
    dedicated_bearer,
    nas_handler,
    nas_path,
    pdn_connectivity,
    pws,
    s1ap_build,
    s1ap_handler,
    s11_path,
    service_request,
)
from corenet.nf.mme.context import (
    EmmState,
    EnbContext,
    EnbState,
    HomeNetwork,
    IdPool,
    ImsiIndex,
    Step,
    UeContext,
    location,
)
from corenet.nf.mme.events import (
    Action,
    Event,
    S1apReceived,
    S1Down,
    S1Up,
    S6aAnswer,
    S6aFailed,
    S6aPeerDown,
    S6aPeerUp,
    S11Failed,
    S11Malformed,
    S11Received,
    SendS6a,
    SendS11,
)
from corenet.nf.mme.mvno import Mvno
from corenet.nf.mme.overload import DoicThrottle
from corenet.nf.mme.policy import RoamingPolicy
from corenet.nf.mme.s6a_client import S6aRequests, outcome, session_of
from corenet.nf.mme.s11_client import S11Requests, cause_of

# Guard on the eNB answering a UE CONTEXT RELEASE COMMAND (TS 36.413 §8.3.3): afterwards the
# MME drops the UE context anyway, so that nothing is left behind.
S1_RELEASE_GUARD_S = 5.0
# timer name of the guard on idle UE contexts
NAS_GUARD = "NasGuard"
# the NAS timers of TS 24.301 §10.2, handled by nas_path
NAS_TIMERS = frozenset(nas_path.NAS_TIMER_CLAUSE)
# IMSI prefixes (MCC+MNC and one digit) whose home network is remembered
HOME_PREFIXES_KEPT = 4096


class MmeCore:
    """One MME (TS 23.401 §4.4.2) as a pure state machine; implements `port.S1Port`."""

    def __init__(self, cfg: MmeConfig) -> None:
        self.cfg = cfg
        self.plmn = Plmn.parse(cfg.plmn)
        self._plmn_digits = str(self.plmn)
        self.policy = RoamingPolicy.from_config(cfg)
        self._configured_homes = tuple(Plmn.parse(p) for p in cfg.roaming.home_plmns)
        # MVNOs of the home MNOs; a full MVNO's own PLMN is a home network reached by S6a
        self.mvnos = tuple(Mvno.of(e) for e in cfg.roaming.mvnos)
        self._configured_homes += tuple(m.home_plmn for m in self.mvnos if m.home_plmn)
        # the home networks known, made again when the policy's change (see home_plmns), and
        # the home network of each IMSI prefix (TS 23.003 §2.2: its first six digits decide)
        self._policy_homes: tuple[Plmn, ...] | None = None
        self._home_plmns: tuple[Plmn, ...] = ()
        self._known_plmns: tuple[Plmn, ...] = (self.plmn,)
        self._home_of: dict[str, HomeNetwork] = {}
        self.enbs: dict[int, EnbContext] = {}
        self.ues: dict[int, UeContext] = {}
        self.by_mtmsi: dict[int, int] = {}
        self.attach_accepts: dict[Any, Any] = {}
        # IMSI -> the contexts that hold or claim it (TS 23.401 §5.3.2.1 step 3 look-up)
        self.by_imsi = ImsiIndex()
        self.mme_ue_ids = IdPool(1, 0xFFFFFFFF)  # TS 36.413 §9.2.3.3: 32 bits
        # TS 23.003 §2.8 / TS 33.401 §7.2.1: M-TMSIs drawn at random so that one cannot be
        # guessed from another; a seeded run gives its own generator (reproducible captures)
        self.m_tmsi_rng: random.Random = random.SystemRandom()
        self.s6a = S6aRequests(cfg)
        # DOIC reacting node (RFC 7683) and the T3346 back-off of NAS congestion control
        self.overload = DoicThrottle(cfg.t3346_s, random.Random())
        self.s11 = S11Requests(cfg)
        # Session-Id -> (MME UE S1AP ID, command, realm); sequence -> (MME UE S1AP ID, name)
        self.s6a_pending: dict[str, tuple[int, str, str]] = {}
        # realm -> (since, reason, held by the link): home HSSs held unreachable
        self.s6a_down: dict[str, tuple[float, str, bool]] = {}
        self.s11_pending: dict[int, tuple[int, str]] = {}
        # MME UE S1AP ID -> how many of those S6a and S11 transactions it started are open
        # (idle_context without a scan of every transaction in flight)
        self._open_of: dict[int, int] = {}
        self.s11_path = s11_path.S11Path()  # Echo and the S-GW's Recovery (s11_path.py)
        self.pws = pws.PwsState()  # warnings from the CBC (pws.py)
        self.now = 0.0
        # the clock whose time the network tells UEs (EMM INFORMATION, TS 24.301 §5.4.5);
        # None: `now`. A seeded run freezes it so that captures are reproducible.
        self.told_time: Callable[[], float] | None = None
        self._out: list[Action] = []
        self._events: dict[type, Callable[[Any], object]] = {
            S1apReceived: lambda e: s1ap_handler.on_s1ap(self, e.assoc, e.data),
            S1Up: lambda e: s1ap_handler.on_enb_up(self, e.assoc),
            S1Down: lambda e: s1ap_handler.on_enb_lost(self, e.assoc),
            S6aAnswer: lambda e: self._on_s6a_answer(e.msg),
            S6aFailed: lambda e: self._on_s6a_failed(e.session_id, e.reason),
            S6aPeerDown: lambda e: self.mark_s6a_down(e.realm, e.reason, link=True),
            S6aPeerUp: lambda e: self.mark_s6a_up(e.realm, "peer open"),
            S11Received: lambda e: self._on_s11(e.msg, e.sequence, e.peer),
            S11Failed: lambda e: self._on_s11_failed(e.sequence, e.reason),
            S11Malformed: lambda e: dedicated_bearer.on_s11_malformed(self, e.error, e.peer),
            TimerExpired: self._on_timer,
            **{kind: lambda e: pws.handle(self, e) for kind in pws.SBC_EVENTS},
        }

    # ------------------------------------------------------------------ entry point

    def handle(self, event: Event, now: float) -> list[Action]:
        """Process one event; the actions to carry out, in order."""
        self.now = now
        self._out = []
        handler = self._events.get(type(event))
        if handler is not None:
            handler(event)
        out, self._out = self._out, []
        return out

    # ------------------------------------------------------------------ outputs

    def emit(self, action: Action) -> None:
        self._out.append(action)

    def log(self, kind: str, **data: Any) -> None:
        self._out.append(LogEvent(kind, data))

    def start_timer(self, name: str, key: Any, seconds: float) -> None:
        self._out.append(StartTimer(name, key, seconds))

    def stop_timer(self, name: str, key: Any) -> None:
        self._out.append(StopTimer(name, key))

    def send_s6a(self, ue: UeContext, msg: Message, realm: str) -> None:
        """Send an S6a request (TS 29.272 §5.2); the Diameter peer machine guards it with its
        request timeout and reports S6aFailed."""
        sid = session_of(msg) or ""
        self._opened(ue.mme_ue_id, self.s6a_pending, sid)
        self.s6a_pending[sid] = (ue.mme_ue_id, msg.name, realm)
        self.emit(SendS6a(msg, realm))

    def send_s11(self, ue: UeContext, msg: Message) -> None:
        """Send an S11 request; the GTPv2-C transaction layer guards it (T3-RESPONSE,
        N3-REQUESTS, TS 29.274 §7.6) and reports S11Failed."""
        seq = int(msg.fields["sequence"])
        self._opened(ue.mme_ue_id, self.s11_pending, seq)
        self.s11_pending[seq] = (ue.mme_ue_id, msg.name)
        self.emit(SendS11(msg))

    def _opened(self, owner: int, pending: dict[Any, tuple[Any, ...]], key: Any) -> None:
        if key in pending:  # a key reused while its transaction is open: that one ends
            self._take(pending, key)
        self._open_of[owner] = self._open_of.get(owner, 0) + 1

    def _take(self, pending: dict[Any, Any], key: Any) -> Any:
        entry = pending.pop(key, None)
        if entry is not None:
            left = self._open_of.pop(entry[0], 0) - 1
            if left > 0:
                self._open_of[entry[0]] = left
        return entry

    def take_s6a(self, sid: str) -> tuple[int, str, str] | None:
        """The S6a transaction of a Session-Id ends: (owner, command, realm), if open."""
        return self._take(self.s6a_pending, sid)  # type: ignore[no-any-return]

    def take_s11(self, seq: int) -> tuple[int, str] | None:
        """The S11 transaction of a sequence number ends: (owner, request name), if open."""
        return self._take(self.s11_pending, seq)  # type: ignore[no-any-return]

    @property
    def home_plmns(self) -> tuple[Plmn, ...]:
        """The home PLMNs we know of: configured, and those the policy names."""
        self._refresh_homes()
        return self._home_plmns

    def _refresh_homes(self) -> None:
        homes = self.policy.home_plmns()
        if homes is not self._policy_homes:
            self._policy_homes = homes
            self._home_plmns = tuple(dict.fromkeys((*self._configured_homes, *homes)))
            self._known_plmns = (self.plmn, *self._home_plmns)
            self._home_of.clear()

    def home_of(self, imsi: str) -> Plmn:
        """The home PLMN of an IMSI (TS 23.003 §2.2): ours or a known home network whose
        MCC+MNC prefixes it, else the MCC's MNC length."""
        return self.home_network(imsi).plmn

    def home_network(self, imsi: str) -> HomeNetwork:
        """The home network of an IMSI, its realm when it is ours or a known home network
        (else None: PLMN not allowed), and whether its UEs roam here; one look-up per IMSI
        prefix, made again when the home networks change."""
        self._refresh_homes()
        prefix = imsi[:6]
        home = self._home_of.get(prefix)
        if home is None:
            if len(self._home_of) >= HOME_PREFIXES_KEPT:
                self._home_of.clear()
            plmn = home_plmn_of(imsi, self._known_plmns)
            roamer = plmn != self.plmn
            served = not roamer or plmn in self._home_plmns
            home = self._home_of[prefix] = HomeNetwork(plmn, plmn.realm if served else None,
                                                       roamer)
        return home

    # ------------------------------------------------------------------ home HSS reachability

    def hss_down(self, realm: str) -> bool:
        """Held unreachable: by the link (RFC 3539 watchdog) until it is back, or after a
        request without answer (TS 29.272 §5.2) for `hss_retry_after_s`."""
        state = self.s6a_down.get(realm)
        if state is None:
            return False
        since, _, link = state
        if link or self.now - since < self.cfg.hss_retry_after_s:
            return True
        return False

    def mark_s6a_down(self, realm: str, reason: str, link: bool = False) -> None:
        was = realm in self.s6a_down
        held_by_link = link or (was and self.s6a_down[realm][2])
        self.s6a_down[realm] = (self.now, reason, held_by_link)
        if not was:
            self.log("mme.s6a.peer_down", realm=realm, reason=reason)

    def mark_s6a_up(self, realm: str, reason: str) -> None:
        if self.s6a_down.pop(realm, None) is not None:
            self.log("mme.s6a.peer_up", realm=realm, reason=reason)

    # ------------------------------------------------------------------ queries for tests

    def ue_count(self) -> int:
        return len(self.ues)

    def enb_count(self) -> int:
        return sum(1 for e in self.enbs.values() if e.state is EnbState.READY)

    def pending_count(self) -> int:
        return len(self.s6a_pending) + len(self.s11_pending)

    def ue_by_imsi(self, imsi: str) -> UeContext | None:
        """The context holding `imsi`; one that only claims it, or that is being released,
        is not found."""
        for ue_id in self.by_imsi.holders(imsi):
            u = self.ues.get(ue_id)
            if u is not None and not u.imsi_claimed and u.step is not Step.RELEASING:
                return u
        return None

    def set_imsi(self, ue: UeContext, imsi: str) -> None:
        """The context now holds (or claims) `imsi`: `by_imsi` follows."""
        if ue.imsi != imsi:
            if ue.imsi is not None:
                self.by_imsi.remove(ue.imsi, ue.mme_ue_id)
            ue.imsi = imsi
        self.by_imsi.add(imsi, ue.mme_ue_id)

    # ------------------------------------------------------------------ UE contexts

    def new_ue(self, enb: EnbContext, enb_ue_id: int, fields: dict[str, Any]) -> UeContext:
        tai = fields.get("TAI", {})
        cgi = fields.get("EUTRAN-CGI", {})
        ue = UeContext(
            mme_ue_id=self.mme_ue_ids.allocate(), enb_assoc=enb.assoc, enb_ue_id=enb_ue_id,
            tai=location(tai.get("pLMNidentity", self._plmn_digits), tai.get("tAC", 0)),
            ecgi=location(cgi.get("pLMNidentity", self._plmn_digits), cgi.get("cell-ID", 0)))
        self.ues[ue.mme_ue_id] = ue
        enb.bind(ue.mme_ue_id, enb_ue_id)
        self.start_timer(NAS_GUARD, ue.mme_ue_id, self.cfg.nas_guard_s)
        return ue

    def allocate_guti(self, ue: UeContext) -> Guti:
        """A new GUTI from our GUMMEI (TS 23.003 §2.8)."""
        self.forget_guti(ue)
        m_tmsi = self._new_m_tmsi()
        ue.guti = Guti(self.plmn, self.cfg.mme_group_id, self.cfg.mme_code, m_tmsi)
        self.by_mtmsi[m_tmsi] = ue.mme_ue_id
        return ue.guti

    def _new_m_tmsi(self) -> int:
        """A random 32-bit M-TMSI unique among our UEs; all ones is excluded (TS 23.003 §2.8,
        TS 24.301 §9.9.3.12: the "no valid TMSI" value of TS 24.008 §10.5.1.4)."""
        while True:
            m_tmsi = self.m_tmsi_rng.randrange(0xFFFFFFFF)
            if m_tmsi not in self.by_mtmsi:
                return m_tmsi

    def forget_guti(self, ue: UeContext) -> None:
        for m_tmsi in (None if ue.guti is None else ue.guti.m_tmsi, ue.old_m_tmsi):
            if m_tmsi is not None and self.by_mtmsi.get(m_tmsi) == ue.mme_ue_id:
                del self.by_mtmsi[m_tmsi]
        ue.guti, ue.old_m_tmsi = None, None

    def ue_by_guti(self, guti: Guti) -> UeContext | None:
        """The UE holding a GUTI we allocated (TS 23.003 §2.8: our GUMMEI)."""
        if (guti.plmn, guti.mme_group_id, guti.mme_code) != (
                self.plmn, self.cfg.mme_group_id, self.cfg.mme_code):
            return None
        ue_id = self.by_mtmsi.get(guti.m_tmsi)
        return None if ue_id is None else self.ues.get(ue_id)

    def idle_ue(self, s_tmsi: dict[str, Any] | None) -> UeContext | None:
        """The ECM-IDLE context an S-TMSI of ours names (TS 23.003 §2.9), if any."""
        if not s_tmsi or s_tmsi.get("mMEC") != self.cfg.mme_code:
            return None
        ue_id = self.by_mtmsi.get(int(s_tmsi.get("m-TMSI", -1)))
        ue = None if ue_id is None else self.ues.get(ue_id)
        return ue if ue is not None and ue.enb_assoc is None else None

    def idle_context(self, ue: UeContext) -> bool:
        """Not registered, and no NAS procedure nor S6a / S11 transaction running for it."""
        if ue.emm_state is EmmState.REGISTERED or ue.step is Step.RELEASING:
            return False
        if ue.nas_timer.name is not None or ue.step in (Step.DETACHING, Step.ATTACHED):
            return False
        return ue.mme_ue_id not in self._open_of

    def detach_from_enb(self, ue: UeContext) -> None:
        if ue.enb_assoc is not None and ue.enb_assoc in self.enbs:
            self.enbs[ue.enb_assoc].unbind(ue.mme_ue_id, ue.enb_ue_id)
        ue.enb_assoc = None
        ue.enb_ue_id = None

    def adopt_connection(self, ue: UeContext, conn: UeContext) -> None:
        """`ue` takes over the S1 connection (and TAI, ECGI) the context `conn` was made for,
        which goes (TS 23.401 §5.3.3.2: a TAU on a new connection finds the UE's context)."""
        assoc, enb_ue_id, ue.tai, ue.ecgi = conn.enb_assoc, conn.enb_ue_id, conn.tai, conn.ecgi
        self.delete_ue(conn)
        self.detach_from_enb(ue)
        enb = None if assoc is None else self.enbs.get(assoc)
        if enb is not None and enb_ue_id is not None:
            ue.enb_assoc, ue.enb_ue_id = assoc, enb_ue_id
            enb.bind(ue.mme_ue_id, enb_ue_id)

    def delete_ue(self, ue: UeContext) -> None:
        """Drop every trace of the UE (its transactions time out on their own)."""
        nas_path.stop_nas_timer(self, ue)
        self.stop_timer(s1ap_handler.S1_RELEASE, ue.mme_ue_id)
        self.stop_timer(NAS_GUARD, ue.mme_ue_id)
        self.detach_from_enb(ue)
        self.forget_guti(ue)
        if ue.imsi is not None:
            self.by_imsi.remove(ue.imsi, ue.mme_ue_id)
        self.ues.pop(ue.mme_ue_id, None)
        self.mme_ue_ids.release(ue.mme_ue_id)
        self.log("mme.ue.deleted", mme_ue_id=ue.mme_ue_id, imsi=ue.imsi)

    def release(self, ue: UeContext, cause: tuple[str, str], keep: bool = False) -> None:
        """Release the UE's S1 connection (TS 23.401 §5.3.5) and, unless `keep` (an attached
        UE going to ECM-IDLE), its context; a PDN connection is deleted first (§5.3.8.2.1)."""
        nas_path.stop_nas_timer(self, ue)
        session = ue.session
        if not keep and session.session_created and session.pdn is not None:
            session.session_created = False
            self.send_s11(ue, self.s11.delete_session(ue, session.pdn))
        if not keep:
            pdn_connectivity.delete_additional(self, ue)
        ue.step = Step.ATTACHED if keep else Step.RELEASING
        if ue.enb_assoc is None or ue.enb_ue_id is None or ue.enb_assoc not in self.enbs:
            if not keep:
                self.delete_ue(ue)
            return
        if keep:
            service_request.release_access_bearers(self, ue)
        ue.s1_release_cause = cause
        s1ap_build.release_command(self, ue, cause)
        self.start_timer(s1ap_handler.S1_RELEASE, ue.mme_ue_id, S1_RELEASE_GUARD_S)

    def _on_nas_guard(self, ue: UeContext) -> None:
        """The guard on a UE context: one not registered and running nothing is released
        (TS 36.413 §8.3.3 UE Context Release); otherwise the guard is started again."""
        if ue.emm_state is EmmState.REGISTERED or ue.step is Step.RELEASING:
            return
        if not self.idle_context(ue):
            self.start_timer(NAS_GUARD, ue.mme_ue_id, self.cfg.nas_guard_s)
            return
        self.log("emm.context.unused", mme_ue_id=ue.mme_ue_id, reason="guard timer",
                 imsi=ue.imsi)
        self.release(ue, s1ap_build.NAS_UNSPECIFIED)

    # ------------------------------------------------------------------ S6a and S11

    def _answer(self, ue: UeContext, trigger: str, what: Message | str) -> bool:
        """Hand an answer or a failure to the procedure the UE's step expects it in."""
        handler = nas_handler.SEQUENCE.get((ue.step, trigger)) if ue.step else None
        if handler is None:
            return False
        handler(self, ue, what)
        return True

    def _s6a_owner(self, sid: str) -> tuple[UeContext | None, str, str]:
        ue_id, command, realm = self.take_s6a(sid) or (None, "", "")
        return (None if ue_id is None else self.ues.get(ue_id)), command, realm

    def _on_s6a_answer(self, msg: Message) -> None:
        sid = session_of(msg)
        if sid is None or sid not in self.s6a_pending:
            self.log("s6a.unexpected", message=msg.name, session_id=sid)
            return
        ue, command, realm = self._s6a_owner(sid)
        self.mark_s6a_up(realm, "answer received")
        self.overload.on_answer(realm, msg, self.now)
        if ue is not None and not self._answer(ue, command[:-1] + "A", msg):
            self.log("s6a.answer", command=command, mme_ue_id=ue.mme_ue_id,
                     result=outcome(msg).code)

    def _on_s6a_failed(self, sid: str, reason: str) -> None:
        if sid not in self.s6a_pending:
            return
        ue, command, realm = self._s6a_owner(sid)
        self.mark_s6a_down(realm, reason)
        if ue is not None:
            # no S6a answer: TS 29.272 Annex A, network failure (#17)
            self.log("s6a.failed", command=command, mme_ue_id=ue.mme_ue_id, reason=reason)
            self._answer(ue, f"{command} failed", reason)

    def _on_s11(self, msg: Message, request_sequence: int | None,
                peer: tuple[str, int] | None = None) -> None:
        # Echo, and the S-GW's Recovery first: a restarted S-GW's sessions are gone before
        # this message reaches its UE (TS 23.007 §16.1.3)
        if s11_path.on_s11(self, msg, request_sequence, peer):
            return
        if dedicated_bearer.on_s11_request(self, msg, peer):  # the S-GW's own requests
            return
        seq = int(msg.fields.get("sequence", -1)) if request_sequence is None else request_sequence
        ue_id, name = self.take_s11(seq) or (None, "")
        if ue_id is None:
            self.log("s11.unexpected", message=msg.name, sequence=seq)
            return
        ue = self.ues.get(ue_id)
        if ue is not None and not self._answer(ue, name.replace("Request", "Response"), msg):
            self.log("s11.response", message=msg.name, mme_ue_id=ue.mme_ue_id,
                     cause=cause_of(msg))

    def _on_s11_failed(self, seq: int, reason: str) -> None:
        if s11_path.on_failed(self, seq, reason):
            return
        ue_id, name = self.take_s11(seq) or (None, "")
        if ue_id is None:
            return
        ue = self.ues.get(ue_id)
        if ue is not None:
            self.log("s11.failed", request=name, mme_ue_id=ue.mme_ue_id, reason=reason)
            self._answer(ue, f"{name} failed", reason)

    # ------------------------------------------------------------------ timers

    def _on_timer(self, ev: TimerExpired) -> None:
        key: Any = ev.key
        if ev.name == pws.AGGREGATION_TIMER:
            pws.on_timer(self, key)
        elif ev.name == s1ap_handler.S1_SETUP_GUARD:
            s1ap_handler.on_s1_setup_guard(self, int(key))
        elif ev.name == s11_path.ECHO_TIMER:
            s11_path.on_echo_timer(self)
        else:
            ue = self.ues.get(key)
            if ue is None:
                return
            if ev.name == NAS_GUARD:
                self._on_nas_guard(ue)
            elif ev.name == s1ap_handler.S1_RELEASE:
                self.log("s1ap.release.timeout", mme_ue_id=ue.mme_ue_id)
                s1ap_handler.on_release_complete(self, ue)
            elif ev.name in NAS_TIMERS:
                nas_path.on_nas_timer(self, ue, ev.name)
            elif ev.name in pdn_connectivity.ESM_TIMERS:
                dedicated_bearer.on_timer(self, ue, ev.name)
