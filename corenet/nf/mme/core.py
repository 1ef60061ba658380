"""The sans-I/O MME: `MmeCore.handle(event, now) -> list[Action]`.

It owns the eNB and UE contexts (`context.py`), routes S1AP to the S1AP procedures
(`s1ap_handler.py`) and NAS to EMM/ESM (`emm.py`, `esm.py`), and keeps the S6a and S11
transactions it started so that answers, failures and timeouts find their UE. It never touches
a socket or a clock: `now` is the wall-clock time of the event (seconds since the epoch).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from corenet.codecs import s1ap
from corenet.codecs.base import Message
from corenet.codecs.nas_ies import Guti
from corenet.config.models import MmeConfig
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn
from corenet.nf.mme import emm, s1ap_handler, s11_path
from corenet.nf.mme.context import (
    EmmState,
    EnbContext,
    EnbState,
    IdPool,
    Step,
    UeContext,
)
from corenet.nf.mme.events import (
    Action,
    CloseS1,
    Event,
    S1apReceived,
    S1Down,
    S1Up,
    S6aAnswer,
    S6aFailed,
    S6aPeerDown,
    S6aPeerUp,
    S11Failed,
    S11Received,
    SendS6a,
    SendS11,
)
from corenet.nf.mme.mvno import Mvno
from corenet.nf.mme.policy import RoamingPolicy
from corenet.nf.mme.s6a_client import S6aRequests, session_of
from corenet.nf.mme.s11_client import S11Requests

# Guard on the eNB answering a UE CONTEXT RELEASE COMMAND (TS 36.413 §8.3.3): afterwards the
# MME drops the UE context anyway, so that nothing is left behind.
S1_RELEASE_GUARD_S = 5.0
# TS 24.301 §10.3 Table 10.3.1: T3489 (ESM information request) is 4 s
T3489_S = 4.0
# TS 36.413 §9.2.1.3: the cause of refusing a UE-associated connection beyond the limit
OVERLOAD = ("misc", "control-processing-overload")
# timer names of the S1 setup guard and of the guard on idle UE contexts
S1_SETUP_GUARD = "S1Setup"
NAS_GUARD = "NasGuard"

# UE-associated S1AP messages an MME receives (TS 36.413 §8.3, §8.6)
_UE_MESSAGES = frozenset({
    "UplinkNASTransport", "InitialContextSetupResponse", "InitialContextSetupFailure",
    "UEContextReleaseRequest", "UEContextReleaseComplete", "UECapabilityInfoIndication",
    "NASNonDeliveryIndication",
})


class MmeCore:
    """One MME (TS 23.401 §4.4.2) as a pure state machine."""

    def __init__(self, cfg: MmeConfig) -> None:
        self.cfg = cfg
        self.plmn = Plmn.parse(cfg.plmn)
        self.policy = RoamingPolicy.from_config(cfg)
        self._configured_homes = tuple(Plmn.parse(p) for p in cfg.roaming.home_plmns)
        # MVNOs of the home MNOs; a full MVNO's own PLMN is a home network reached by S6a
        self.mvnos = tuple(Mvno.of(e) for e in cfg.roaming.mvnos)
        self._configured_homes += tuple(m.home_plmn for m in self.mvnos if m.home_plmn)
        self.enbs: dict[int, EnbContext] = {}
        self.ues: dict[int, UeContext] = {}
        self.by_mtmsi: dict[int, int] = {}
        self.mme_ue_ids = IdPool(1, 0xFFFFFFFF)  # TS 36.413 §9.2.3.3: 32 bits
        # TS 23.003 §2.8 / TS 33.401 §7.2.1: M-TMSIs drawn at random so that one cannot be
        # guessed from another; a seeded run gives its own generator (reproducible captures)
        self.m_tmsi_rng: random.Random = random.SystemRandom()
        self.s6a = S6aRequests(cfg)
        self.s11 = S11Requests(cfg)
        # Session-Id -> (MME UE S1AP ID, command, realm); sequence -> (MME UE S1AP ID, name)
        self.s6a_pending: dict[str, tuple[int, str, str]] = {}
        # realm -> (since, reason, held by the link): home HSSs held unreachable
        self.s6a_down: dict[str, tuple[float, str, bool]] = {}
        self.s11_pending: dict[int, tuple[int, str]] = {}
        self.s11_path = s11_path.S11Path()  # Echo and the S-GW's Recovery (s11_path.py)
        self.now = 0.0
        # the clock whose time the network tells UEs (EMM INFORMATION, TS 24.301 §5.4.5);
        # None: `now`. A seeded run freezes it so that captures are reproducible.
        self.told_time: Callable[[], float] | None = None
        self._out: list[Action] = []

    # ------------------------------------------------------------------ entry point

    def handle(self, event: Event, now: float) -> list[Action]:
        """Process one event; the actions to carry out, in order."""
        self.now = now
        self._out = []
        if isinstance(event, S1apReceived):
            self._on_s1ap(event.assoc, event.data)
        elif isinstance(event, S1Up):
            self._on_enb_up(event.assoc)
        elif isinstance(event, S1Down):
            self._on_enb_lost(event.assoc)
        elif isinstance(event, S6aAnswer):
            self._on_s6a_answer(event.msg)
        elif isinstance(event, S6aFailed):
            self._on_s6a_failed(event.session_id, event.reason)
        elif isinstance(event, S6aPeerDown):
            self.mark_s6a_down(event.realm, event.reason, link=True)
        elif isinstance(event, S6aPeerUp):
            self.mark_s6a_up(event.realm, "peer open")
        elif isinstance(event, S11Received):
            self._on_s11(event.msg, event.sequence, event.peer)
        elif isinstance(event, S11Failed):
            self._on_s11_failed(event.sequence, event.reason)
        elif isinstance(event, TimerExpired):
            self._on_timer(event)
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
        """Send an S6a request and guard it with the request timeout (TS 29.272 §5.2)."""
        sid = session_of(msg) or ""
        self.s6a_pending[sid] = (ue.mme_ue_id, msg.name, realm)
        self.emit(SendS6a(msg, realm))
        self.start_timer("S6a", sid, self.cfg.diameter_request_timeout_s)

    def send_s11(self, ue: UeContext, msg: Message) -> None:
        """Send an S11 request and guard it (TS 29.274 §7.6)."""
        seq = int(msg.fields["sequence"])
        self.s11_pending[seq] = (ue.mme_ue_id, msg.name)
        self.emit(SendS11(msg))
        self.start_timer("S11", seq, self.cfg.s11_request_timeout_s)

    @property
    def home_plmns(self) -> tuple[Plmn, ...]:
        """The home PLMNs we know of: configured, and those the policy names."""
        return tuple(dict.fromkeys((*self._configured_homes, *self.policy.home_plmns())))

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
        return next((u for u in self.ues.values() if u.imsi == imsi and not u.imsi_claimed
                     and u.step is not Step.RELEASING), None)

    # ------------------------------------------------------------------ UE contexts

    def new_ue(self, enb: EnbContext, enb_ue_id: int, fields: dict[str, Any]) -> UeContext:
        tai = fields.get("TAI", {})
        cgi = fields.get("EUTRAN-CGI", {})
        ue = UeContext(
            mme_ue_id=self.mme_ue_ids.allocate(), enb_assoc=enb.assoc, enb_ue_id=enb_ue_id,
            tai=(Plmn.parse(tai.get("pLMNidentity", str(self.plmn))), int(tai.get("tAC", 0))),
            ecgi=(Plmn.parse(cgi.get("pLMNidentity", str(self.plmn))),
                  int(cgi.get("cell-ID", 0))))
        self.ues[ue.mme_ue_id] = ue
        enb.ue_ids.add(ue.mme_ue_id)
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
        if ue.guti is not None and self.by_mtmsi.get(ue.guti.m_tmsi) == ue.mme_ue_id:
            del self.by_mtmsi[ue.guti.m_tmsi]
        ue.guti = None

    def ue_by_guti(self, guti: Guti) -> UeContext | None:
        """The UE holding a GUTI we allocated (TS 23.003 §2.8: our GUMMEI)."""
        if (guti.plmn, guti.mme_group_id, guti.mme_code) != (
                self.plmn, self.cfg.mme_group_id, self.cfg.mme_code):
            return None
        ue_id = self.by_mtmsi.get(guti.m_tmsi)
        return None if ue_id is None else self.ues.get(ue_id)

    def detach_from_enb(self, ue: UeContext) -> None:
        if ue.enb_assoc is not None and ue.enb_assoc in self.enbs:
            self.enbs[ue.enb_assoc].ue_ids.discard(ue.mme_ue_id)
        ue.enb_assoc = None
        ue.enb_ue_id = None

    def delete_ue(self, ue: UeContext) -> None:
        """Drop every trace of the UE (its transactions time out on their own)."""
        emm.stop_nas_timer(self, ue)
        self.stop_timer("S1Release", ue.mme_ue_id)
        self.stop_timer(NAS_GUARD, ue.mme_ue_id)
        self.detach_from_enb(ue)
        self.forget_guti(ue)
        self.ues.pop(ue.mme_ue_id, None)
        self.mme_ue_ids.release(ue.mme_ue_id)
        self.log("mme.ue.deleted", mme_ue_id=ue.mme_ue_id, imsi=ue.imsi)

    def release(self, ue: UeContext, cause: tuple[str, str], keep: bool = False) -> None:
        """Release the UE's S1 connection (TS 23.401 §5.3.5) and, unless `keep` (an attached
        UE going to ECM-IDLE), its context; a PDN connection is deleted first (§5.3.8.2.1)."""
        emm.stop_nas_timer(self, ue)
        if not keep and ue.session_created and ue.pdn is not None:
            ue.session_created = False
            self.send_s11(ue, self.s11.delete_session(ue, ue.pdn))
        ue.step = Step.ATTACHED if keep else Step.RELEASING
        if ue.enb_assoc is None or ue.enb_ue_id is None or ue.enb_assoc not in self.enbs:
            if not keep:
                self.delete_ue(ue)
            return
        ue.s1_release_cause = cause
        s1ap_handler.release_command(self, ue, cause)
        self.start_timer("S1Release", ue.mme_ue_id, S1_RELEASE_GUARD_S)

    # ------------------------------------------------------------------ S1AP

    def _on_enb_up(self, assoc: int) -> EnbContext | None:
        """A new association: refused beyond `max_associations`, otherwise guarded until S1
        Setup completes (TS 36.413 §8.7.3)."""
        if len(self.enbs) >= self.cfg.max_associations:
            self.log("s1ap.association.refused", assoc=assoc, reason="too many associations",
                     limit=self.cfg.max_associations)
            self.emit(CloseS1(assoc))
            return None
        enb = self.enbs[assoc] = EnbContext(assoc)
        self.start_timer(S1_SETUP_GUARD, assoc, self.cfg.s1_setup_timeout_s)
        return enb

    def _on_s1_setup_guard(self, assoc: int) -> None:
        """No successful S1 Setup in time: the association is shut down."""
        enb = self.enbs.get(assoc)
        if enb is None or enb.state is EnbState.READY:
            return
        self.log("s1ap.setup.timeout", assoc=assoc, seconds=self.cfg.s1_setup_timeout_s)
        self._on_enb_lost(assoc)
        self.emit(CloseS1(assoc))

    def _on_s1ap(self, assoc: int, data: bytes) -> None:
        enb = self.enbs.get(assoc) or self._on_enb_up(assoc)
        if enb is None:
            return
        try:
            msg = s1ap.decode(data)
        except DecodeError as err:
            partial = s1ap_handler.on_decode_error(self, assoc, err)
            if partial is None:
                return
            msg = partial
        if msg.name == "S1SetupRequest":
            s1ap_handler.on_s1_setup_request(self, enb, msg)
            if enb.state is EnbState.READY:
                self.stop_timer(S1_SETUP_GUARD, assoc)
        elif enb.state is not EnbState.READY:
            # TS 36.413 §8.7.3.1: nothing but S1 Setup before the S1 interface is up
            s1ap_handler.error_indication(self, assoc, s1ap_handler.NOT_COMPATIBLE)
        elif msg.name == "Reset":
            self._on_reset(enb, msg)
        elif msg.name == "InitialUEMessage":
            self._on_initial_ue(enb, msg)
        elif msg.name in _UE_MESSAGES:
            self._on_ue_message(enb, msg)
        else:
            self.log("s1ap.ignored", assoc=assoc, message=msg.name)

    def _on_reset(self, enb: EnbContext, msg: Message) -> None:
        """Reset initiated by the eNB (TS 36.413 §8.7.1.2.2): drop the named UE connections
        (all of them for reset-all) and acknowledge."""
        pairs = s1ap_handler.reset_pairs(msg)
        if pairs is None:
            ue_ids = list(enb.ue_ids)
        else:
            ue_ids = [m for m, _ in pairs if m is not None and m in enb.ue_ids]
        for ue_id in ue_ids:
            ue = self.ues.get(ue_id)
            if ue is not None:
                self._lose_s1(ue)
        s1ap_handler.reset_acknowledge(self, enb.assoc, pairs)
        self.log("s1ap.reset", assoc=enb.assoc, ues=len(ue_ids))

    def _lose_s1(self, ue: UeContext) -> None:
        """The UE's S1 connection is gone without a release: an attached UE goes ECM-IDLE,
        any other procedure is aborted (TS 23.401 §5.3.5)."""
        self.detach_from_enb(ue)
        if ue.emm_state is EmmState.REGISTERED and ue.step is Step.ATTACHED:
            return
        self.release(ue, s1ap_handler.NAS_UNSPECIFIED)

    def _on_enb_lost(self, assoc: int) -> None:
        enb = self.enbs.pop(assoc, None)
        if enb is None:
            return
        self.stop_timer(S1_SETUP_GUARD, assoc)
        for ue_id in list(enb.ue_ids):
            ue = self.ues.get(ue_id)
            if ue is not None:
                self._lose_s1(ue)
        self.log("s1ap.association.down", assoc=assoc)

    def _on_initial_ue(self, enb: EnbContext, msg: Message) -> None:
        """INITIAL UE MESSAGE (TS 36.413 §8.6.2.1): a new UE-associated logical connection; an
        S-TMSI of ours finds the UE's context (TS 23.401 §5.3.4.1)."""
        f = msg.fields
        enb_ue_id = int(f["eNB-UE-S1AP-ID"])
        if len(enb.ue_ids) >= self.cfg.max_ue_contexts_per_enb:
            # TS 36.413 §8.7.4: no UE-associated connection beyond the limit; the eNB is
            # told with the cause of TS 36.413 §9.2.1.3 (control processing overload)
            self.log("s1ap.ue.refused", assoc=enb.assoc, enb_ue_id=enb_ue_id,
                     limit=self.cfg.max_ue_contexts_per_enb)
            s1ap_handler.error_indication(self, enb.assoc, OVERLOAD, None, enb_ue_id)
            return
        ue = self._idle_ue(f.get("S-TMSI"))
        if ue is not None:
            ue.enb_assoc, ue.enb_ue_id = enb.assoc, enb_ue_id
            enb.ue_ids.add(ue.mme_ue_id)
            emm.on_uplink_nas(self, ue, bytes(f["NAS-PDU"]))
            return
        ue = self.new_ue(enb, enb_ue_id, f)
        emm.on_uplink_nas(self, ue, bytes(f["NAS-PDU"]))
        if self.ues.get(ue.mme_ue_id) is ue and self._idle_context(ue):
            # the first NAS message (undecodable, unexpected, not integrity protected) started
            # no procedure: the new context is released (TS 36.413 §8.3.3)
            self.log("emm.context.unused", mme_ue_id=ue.mme_ue_id, reason="first NAS message")
            self.release(ue, s1ap_handler.NAS_UNSPECIFIED)

    def _idle_context(self, ue: UeContext) -> bool:
        """Not registered, and no NAS procedure nor S6a / S11 transaction running for it."""
        if ue.emm_state is EmmState.REGISTERED or ue.step is Step.RELEASING:
            return False
        if ue.running_timer is not None or ue.step in (Step.DETACHING, Step.ATTACHED):
            return False
        mine = ue.mme_ue_id
        return (all(owner != mine for owner, _, _ in self.s6a_pending.values())
                and all(owner != mine for owner, _ in self.s11_pending.values()))

    def _on_nas_guard(self, ue: UeContext) -> None:
        """The guard on a UE context: one not registered and running nothing is released
        (TS 36.413 §8.3.3 UE Context Release); otherwise the guard is started again."""
        if ue.emm_state is EmmState.REGISTERED or ue.step is Step.RELEASING:
            return
        if not self._idle_context(ue):
            self.start_timer(NAS_GUARD, ue.mme_ue_id, self.cfg.nas_guard_s)
            return
        self.log("emm.context.unused", mme_ue_id=ue.mme_ue_id, reason="guard timer",
                 imsi=ue.imsi)
        self.release(ue, s1ap_handler.NAS_UNSPECIFIED)

    def _idle_ue(self, s_tmsi: dict[str, Any] | None) -> UeContext | None:
        if not s_tmsi or s_tmsi.get("mMEC") != self.cfg.mme_code:
            return None
        ue_id = self.by_mtmsi.get(int(s_tmsi.get("m-TMSI", -1)))
        ue = None if ue_id is None else self.ues.get(ue_id)
        return ue if ue is not None and ue.enb_assoc is None else None

    def _on_ue_message(self, enb: EnbContext, msg: Message) -> None:
        f = msg.fields
        mme_ue_id, enb_ue_id = f.get("MME-UE-S1AP-ID"), f.get("eNB-UE-S1AP-ID")
        ue = self.ues.get(mme_ue_id) if isinstance(mme_ue_id, int) else None
        if ue is None:
            s1ap_handler.error_indication(self, enb.assoc, s1ap_handler.UNKNOWN_MME_UE_ID,
                                          mme_ue_id, enb_ue_id)
            return
        if ue.enb_assoc != enb.assoc or ue.enb_ue_id != enb_ue_id:
            s1ap_handler.error_indication(self, enb.assoc, s1ap_handler.UNKNOWN_PAIR,
                                          mme_ue_id, enb_ue_id)
            return
        if msg.name == "UplinkNASTransport":
            if "TAI" in f:  # TS 36.413 §10.3: a missing ignore-and-notify IE is done without
                ue.tai = (Plmn.parse(f["TAI"]["pLMNidentity"]), int(f["TAI"]["tAC"]))
            emm.on_uplink_nas(self, ue, bytes(f["NAS-PDU"]))
        elif msg.name == "InitialContextSetupResponse":
            emm.on_ics_response(self, ue, msg)
        elif msg.name == "InitialContextSetupFailure":
            self.log("s1ap.ics.failed", mme_ue_id=ue.mme_ue_id, cause=list(f.get("Cause", ())))
            self.release(ue, s1ap_handler.NAS_UNSPECIFIED)
        elif msg.name == "UEContextReleaseRequest":
            # TS 23.401 §5.3.5: eNB-initiated release; an attached UE keeps its EMM context
            keep = ue.emm_state is EmmState.REGISTERED and ue.step is Step.ATTACHED
            self.release(ue, tuple(f.get("Cause", s1ap_handler.NAS_NORMAL_RELEASE)), keep=keep)
        elif msg.name == "UEContextReleaseComplete":
            self._on_release_complete(ue)
        else:
            self.log("s1ap.ignored", message=msg.name, mme_ue_id=ue.mme_ue_id)

    def _on_release_complete(self, ue: UeContext) -> None:
        """UE CONTEXT RELEASE COMPLETE (TS 36.413 §8.3.3.2)."""
        self.stop_timer("S1Release", ue.mme_ue_id)
        keep = ue.emm_state is EmmState.REGISTERED and ue.step is Step.ATTACHED
        self.detach_from_enb(ue)
        self.log("s1ap.ue.released", mme_ue_id=ue.mme_ue_id, kept=keep)
        if not keep:
            self.delete_ue(ue)

    # ------------------------------------------------------------------ S6a and S11

    def _s6a_owner(self, sid: str) -> tuple[UeContext | None, str, str]:
        ue_id, command, realm = self.s6a_pending.pop(sid, (None, "", ""))
        self.stop_timer("S6a", sid)
        return (None if ue_id is None else self.ues.get(ue_id)), command, realm

    def _on_s6a_answer(self, msg: Message) -> None:
        sid = session_of(msg)
        if sid is None or sid not in self.s6a_pending:
            self.log("s6a.unexpected", message=msg.name, session_id=sid)
            return
        ue, command, realm = self._s6a_owner(sid)
        self.mark_s6a_up(realm, "answer received")
        if ue is not None:
            emm.on_s6a_answer(self, ue, command, msg)

    def _on_s6a_failed(self, sid: str, reason: str) -> None:
        if sid not in self.s6a_pending:
            return
        ue, command, realm = self._s6a_owner(sid)
        self.mark_s6a_down(realm, reason)
        if ue is not None:
            emm.on_s6a_failure(self, ue, command, reason)

    def _on_s11(self, msg: Message, request_sequence: int | None,
                peer: tuple[str, int] | None = None) -> None:
        # Echo, and the S-GW's Recovery first: a restarted S-GW's sessions are gone before
        # this message reaches its UE (TS 23.007 §16.1.3)
        if s11_path.on_s11(self, msg, request_sequence, peer):
            return
        seq = int(msg.fields.get("sequence", -1)) if request_sequence is None else request_sequence
        ue_id, name = self.s11_pending.pop(seq, (None, ""))
        if ue_id is None:
            self.log("s11.unexpected", message=msg.name, sequence=seq)
            return
        self.stop_timer("S11", seq)
        ue = self.ues.get(ue_id)
        if ue is not None:
            emm.on_s11_response(self, ue, name, msg)

    def _on_s11_failed(self, seq: int, reason: str) -> None:
        if s11_path.on_failed(self, seq, reason):
            return
        ue_id, name = self.s11_pending.pop(seq, (None, ""))
        if ue_id is None:
            return
        self.stop_timer("S11", seq)
        ue = self.ues.get(ue_id)
        if ue is not None:
            emm.on_s11_failure(self, ue, name, reason)

    # ------------------------------------------------------------------ timers

    def _on_timer(self, ev: TimerExpired) -> None:
        if ev.name == "S6a":
            self._on_s6a_failed(str(ev.key), "request timeout")
        elif ev.name == "S11":
            self._on_s11_failed(int(ev.key), "request timeout")  # type: ignore[call-overload]
        elif ev.name == S1_SETUP_GUARD:
            self._on_s1_setup_guard(int(ev.key))  # type: ignore[call-overload]
        elif ev.name == NAS_GUARD:
            guarded = self.ues.get(ev.key)  # type: ignore[call-overload]
            if guarded is not None:
                self._on_nas_guard(guarded)
        elif ev.name == s11_path.ECHO_TIMER:
            s11_path.on_echo_timer(self)
        elif ev.name == "S1Release":
            ue = self.ues.get(ev.key)  # type: ignore[call-overload]
            if ue is not None:
                self.log("s1ap.release.timeout", mme_ue_id=ue.mme_ue_id)
                self._on_release_complete(ue)
        else:
            ue = self.ues.get(ev.key)  # type: ignore[call-overload]
            if ue is not None:
                emm.on_nas_timer(self, ue, ev.name)

