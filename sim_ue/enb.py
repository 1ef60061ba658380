"""The eNB emulator: an S1AP client (TS 36.413) with several cells carrying many simulated UEs.

`EnbCore` is sans-I/O: `handle(event, now) -> list[action]`. It owns the UEs camped on its cells
(`sim_ue.ue.Ue`), relays their NAS over S1 (Initial UE Message, Uplink/Downlink NAS Transport)
and runs the eNB side of S1 Setup, Initial Context Setup, UE Context Release, Reset and Error
Indication. `EnbService` is the asyncio adapter: one SCTP association to the MME from the
eNB's own address, a timer table, and futures for the procedures a runner waits for.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from corenet.codecs import s1ap
from corenet.codecs import sib2 as acb
from corenet.codecs.base import Message
from corenet.codecs.ue_radio_capability import ue_radio_capability
from corenet.config.models import EnbConfig
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.plmn import Plmn
from corenet.core.timers import TimerTable
from corenet.transport import Tap, open_sctp_client
from corenet.transport.base import Clock, loop_clock
from corenet.transport.sctp import Mode
from sim_ue import pws
from sim_ue.ue import (
    Attach,
    CellInfo,
    ConnectionReleased,
    ProcedureDone,
    RadioBearersSetUp,
    ReleaseConnection,
    SendNas,
    Ue,
    UeAction,
    UeEvent,
)

PPID_S1AP = 18  # TS 36.412 §7
# TS 36.412 §7: stream 0 for non UE-associated signalling, another one for UE-associated.
STREAM_COMMON = 0
STREAM_UE = 1
# TS 36.413 §9.2.1.61 Time to wait, in seconds.
_TIME_TO_WAIT = {"v1s": 1, "v2s": 2, "v5s": 5, "v10s": 10, "v20s": 20, "v60s": 60}
_ENB_TIMER_KEY = "enb"
# TS 36.331 §5.3.3.7 (T300): an RRC connection cannot be established while the eNB has no S1
# interface; the failure reaches the UE as a lower layer failure (TS 24.301 §5.5.1.2.6 a)
RRC_FAILURE_TIMER = "T300"
# first wait before re-opening a lost S1 association, doubled after each failure up to the max
RECONNECT_S = 1.0
RECONNECT_MAX_S = 30.0
# Back-off timers an accelerated clock shortens (TS 24.301 §5.5.1.2.5 T3346, §5.5.1.2.6 T3411
# and T3402; the procedure supervision timers such as T3410 keep their value: the network's
# real latency applies).
SCALED_TIMERS = frozenset({"T3346", "T3411", "T3402"})
# the eNB's user inactivity timer (`EnbConfig.inactivity_release_s`): on expiry the eNB asks
# the MME to release the UE's connection (TS 36.413 §8.3.2, cause user-inactivity; TS 23.401
# §5.3.5), and the UE goes to ECM-IDLE
USER_INACTIVITY = "UserInactivity"


class EnbState(enum.Enum):
    """The eNB's view of its S1 interface (TS 36.413 §8.7.3)."""

    DISCONNECTED = "DISCONNECTED"
    SETUP_SENT = "S1-SETUP-SENT"
    READY = "READY"
    FAILED = "S1-SETUP-FAILED"


@dataclass(frozen=True)
class Cell:
    """One cell as broadcast in SIB1 (TS 36.331): 28-bit cell identity, TAC, PLMN list."""

    enb: str
    eci: int
    tac: int
    plmns: tuple[Plmn, ...]

    def camp(self, plmn: Plmn, sib2: bytes | None = None) -> CellInfo:
        # TS 36.331 §6.3.1: plmn-IdentityIndex counts SIB1's PLMN-IdentityList from 1
        index = self.plmns.index(plmn) + 1 if plmn in self.plmns else 1
        return CellInfo(enb=self.enb, cell_id=self.eci, tac=self.tac, plmn=plmn, sib2=sib2,
                        plmn_index=index)


def cells_of(cfg: EnbConfig) -> list[Cell]:
    """ECI = eNB ID (20 bits) || cell ID (8 bits) for a macro eNB (TS 36.413 §9.2.1.38)."""
    plmns = tuple(Plmn.parse(p) for p in cfg.broadcast_plmns)
    return [Cell(cfg.name, (cfg.global_enb_id << 8) | c.cell_id, cfg.tac, plmns)
            for c in cfg.cells]


# --------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class S1Connected:
    """The SCTP association to the MME is up: send S1 Setup (TS 36.413 §8.7.3.2)."""


@dataclass(frozen=True)
class S1Closed:
    pass


@dataclass(frozen=True)
class S1apReceived:
    data: bytes


@dataclass(frozen=True)
class ToUe:
    """Deliver a UE event (Attach, Detach) to the UE `imsi`."""

    imsi: str
    event: UeEvent


@dataclass(frozen=True)
class UserActivity:
    """User plane traffic of UE `imsi` (its SIP and media over the ims / sos PDN
    connection): the user inactivity timer starts again."""

    imsi: str


EnbEvent = S1Connected | S1Closed | S1apReceived | ToUe | UserActivity | TimerExpired

# --------------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class SendS1ap:
    data: bytes
    stream: int = STREAM_COMMON


@dataclass(frozen=True)
class S1SetupDone:
    ok: bool
    cause: tuple[str, str] | None = None
    mme_name: str | None = None


@dataclass(frozen=True)
class UeDone:
    imsi: str
    done: ProcedureDone


EnbAction = SendS1ap | S1SetupDone | UeDone | StartTimer | StopTimer | LogEvent | pws.OnAir


# --------------------------------------------------------------------------------- contexts


@dataclass(slots=True)
class UeContext:
    """The eNB's record of one UE (TS 36.413 §8.3: UE-associated logical S1-connection).
    Of each E-RAB it keeps what an eNB keeps for S1-U (TS 36.413 §9.1.4.1): its ID and the
    S-GW's transport address and GTP-TEID; the UE-AMBR is one shared value per distinct pair.
    The E-RABs and the NAS messages waiting for the MME UE S1AP ID are tuples, the empty one
    shared: a storm holds one context per UE."""

    ue: Ue
    enb_ue_id: int
    connected: bool = False
    mme_ue_id: int | None = None
    ue_ambr: dict[str, int] | None = None
    e_rabs: tuple[ERab, ...] = ()
    pending: tuple[SendNas, ...] = ()


class ERab(NamedTuple):
    """What the eNB keeps of an E-RAB (TS 36.413 §9.1.4.1): the NAS-PDU goes to the UE, the
    QoS to the radio bearer."""

    e_rab_id: int
    transport_layer_address: Any  # the S-GW's S1-U address (§9.2.2.1)
    gtp_teid: int | None  # the S-GW's GTP-TEID (§9.2.2.2)


_UE_AMBRS: dict[tuple[int, int], dict[str, int]] = {}


def _e_rab(item: dict[str, Any]) -> ERab:
    return ERab(int(item["e-RAB-ID"]), item.get("transportLayerAddress"), item.get("gTP-TEID"))


def _ue_ambr(ul: int, dl: int) -> dict[str, int]:
    """UE-AMBR (TS 36.413 §9.2.1.20), one shared value per pair; never changed in place."""
    known = _UE_AMBRS.get((ul, dl))
    if known is None:
        if len(_UE_AMBRS) >= 256:
            _UE_AMBRS.clear()
        known = _UE_AMBRS[(ul, dl)] = {"uplink_bps": ul, "downlink_bps": dl}
    return known


class EnbCore:
    """One eNB: S1 interface state and the UEs camped on its cells."""

    def __init__(self, cfg: EnbConfig, *, first_teid: int = 1) -> None:
        self.cfg = cfg
        self.plmn = Plmn.parse(cfg.plmn)
        self.cells = cells_of(cfg)
        self.state = EnbState.DISCONNECTED
        # the S1 interface was up and is lost (until the next S1 Setup succeeds)
        self.s1_lost = False
        self.mme_name: str | None = None
        self.served_gummeis: list[Any] = []
        self.ues: dict[str, UeContext] = {}
        self._by_enb_id: dict[int, UeContext] = {}
        self._next_teid = first_teid
        # TS 36.331 §6.3.1 SIB2: ac-BarringInfo per PLMN (ac-BarringPerPLMN-List-r12)
        self.barring: dict[Plmn, acb.BarringInfo] = {}
        self.sib2 = acb.sib2_with_barring(None)
        self.warnings = pws.EnbWarnings()  # ETWS / CMAS broadcast (sim_ue/pws.py)
        self._cells_s1ap: dict[tuple[Plmn, int, int], s1ap.CellMessages] = {}
        self._last_cell: tuple[CellInfo, s1ap.CellMessages] | None = None
        self._messages = s1ap.EnbMessages()

    # ------------------------------------------------------------------ system information

    def set_barring(self, plmn: Plmn | str, factor: float | None, time: int = 64, *,
                    special_ac: int = 0, for_emergency: bool = False) -> bytes:
        """ACB per PLMN (TS 36.331 §6.3.1 ac-BarringPerPLMN-List-r12): barring for MO
        signalling and MO data of UEs that selected `plmn`; factor None lifts it. Returns
        the new SIB2 broadcast (BCCH-DL-SCH, UPER)."""
        plmn = Plmn.parse(str(plmn))
        if factor is None:
            self.barring.pop(plmn, None)
        else:
            cfg = acb.BarringConfig(factor, time, special_ac)
            self.barring[plmn] = acb.BarringInfo(for_emergency, cfg, cfg)
        self.sib2 = self._encode_sib2()
        return self.sib2

    def _encode_sib2(self) -> bytes:
        plmns = self.cells[0].plmns if self.cells else ()
        per_plmn = {plmns.index(p) + 1: info for p, info in self.barring.items()
                    if p in plmns}
        return acb.sib2_with_barring(None, per_plmn=per_plmn or None)

    def set_broadcast_plmns(self, plmns: list[Plmn | str]) -> None:
        """The PLMN list of SIB1 (TS 36.331 §6.2.2); the per-PLMN barring is re-indexed."""
        wanted = tuple(Plmn.parse(str(p)) for p in plmns)
        self.cells = [Cell(c.enb, c.eci, c.tac, wanted) for c in self.cells]
        self.sib2 = self._encode_sib2()

    # ------------------------------------------------------------------ UEs

    def add_ue(self, ue: Ue, enb_ue_id: int) -> UeContext:
        """Camp `ue` here with a fixed eNB UE S1AP ID (TS 36.413 §9.2.3.4, 24 bits)."""
        if not 0 <= enb_ue_id < 1 << 24 or enb_ue_id in self._by_enb_id:
            raise ValueError(f"eNB UE S1AP ID {enb_ue_id} invalid or in use on {self.cfg.name}")
        ctx = UeContext(ue, enb_ue_id)
        self.ues[ue.key] = ctx
        self._by_enb_id[enb_ue_id] = ctx
        return ctx

    # ------------------------------------------------------------------ entry point

    def handle(self, event: EnbEvent, now: float) -> list[EnbAction]:
        if type(event) is S1apReceived:  # the usual event first
            return self.receive_s1ap(event.data, now)
        if isinstance(event, S1Connected):
            return self._s1_setup()
        if isinstance(event, S1Closed):
            return self._on_s1_closed(now)
        if isinstance(event, ToUe):
            target = self.ues.get(event.imsi)
            if target is None:
                return [LogEvent("enb.unknown_ue", {"enb": self.cfg.name, "imsi": event.imsi})]
            return self._ue_actions(target, target.ue.handle(self._with_sib2(event.event), now))
        if isinstance(event, UserActivity):
            ctx = self.ues.get(event.imsi)
            return self._active(ctx) if ctx is not None and ctx.connected else []
        if isinstance(event, TimerExpired):
            return self._on_timer(event, now)
        return []

    def _active(self, ctx: UeContext) -> list[EnbAction]:
        """Traffic on the UE's connection: its user inactivity timer starts again."""
        seconds = self.cfg.inactivity_release_s
        return [] if seconds is None else [StartTimer(USER_INACTIVITY, ctx.ue.key, seconds)]

    def _on_user_inactivity(self, ctx: UeContext) -> list[EnbAction]:
        """No traffic for `inactivity_release_s`: UE CONTEXT RELEASE REQUEST, cause
        user-inactivity (TS 36.413 §8.3.2, §9.2.1.3; TS 23.401 §5.3.5 step 1)."""
        if not ctx.connected or ctx.mme_ue_id is None:
            return []
        req = s1ap.ue_context_release_request(ctx.mme_ue_id, ctx.enb_ue_id,
                                              ("radioNetwork", "user-inactivity"))
        return [SendS1ap(s1ap.encode(req), STREAM_UE),
                LogEvent("s1ap.ue_context_release_requested", {
                    "enb": self.cfg.name, "imsi": ctx.ue.key, "cause": "user-inactivity"})]

    def _on_s1_closed(self, now: float) -> list[EnbAction]:
        """The S1 association is lost: every UE-associated connection is gone with it, and
        the UEs' RRC connections are released (their NAS sees a lower layer failure)."""
        self.state = EnbState.DISCONNECTED
        self.s1_lost = True
        out: list[EnbAction] = [LogEvent("s1.closed", {"enb": self.cfg.name})]
        for ctx in self.ues.values():
            was_connected = ctx.connected
            ctx.connected, ctx.mme_ue_id, ctx.pending = False, None, ()
            if was_connected:
                out += self._ue_actions(ctx, ctx.ue.handle(ConnectionReleased(), now))
        return out

    def _with_sib2(self, event: UeEvent) -> UeEvent:
        """The UE reads the SIB2 its cell broadcasts now (TS 36.331 §5.2.2.4)."""
        if isinstance(event, Attach):
            cell = self.system_information(event.cell)
            return event if cell is event.cell else replace(event, cell=cell)
        return event

    def system_information(self, cell: CellInfo) -> CellInfo:
        """`cell` with the SIB2 broadcast now and the selected PLMN's index in SIB1 (`cell`
        itself when it already has them: a population's UEs share their cells' values)."""
        index = next((c.plmns.index(cell.plmn) + 1 for c in self.cells
                      if c.eci == cell.cell_id and cell.plmn in c.plmns), cell.plmn_index)
        if cell.sib2 is self.sib2 and cell.plmn_index == index:
            return cell
        return replace(cell, sib2=self.sib2, plmn_index=index)

    def _on_timer(self, event: TimerExpired, now: float) -> list[EnbAction]:
        if event.name == pws.REPEAT_TIMER:
            return _pws_actions(self.warnings.on_timer(self, event.key))
        if event.key == _ENB_TIMER_KEY:
            # TS 36.413 §8.7.3.4: after Time to wait the eNB may retry S1 Setup.
            return self._s1_setup() if event.name == "TimeToWait" else []
        ctx = self.ues.get(str(event.key))
        if ctx is None:
            return []
        if event.name == RRC_FAILURE_TIMER:
            return self._ue_actions(ctx, ctx.ue.handle(ConnectionReleased(), now))
        if event.name == USER_INACTIVITY:
            return self._on_user_inactivity(ctx)
        return self._ue_actions(ctx, ctx.ue.handle(event, now))

    # ------------------------------------------------------------------ S1 Setup (§8.7.3)

    def _s1_setup(self) -> list[EnbAction]:
        """S1 Setup: TS 36.413 §8.7.3.2, Global eNB ID, one TAC per cell group, PLMNs."""
        tacs = sorted({c.tac for c in self.cells})
        msg = s1ap.s1_setup_request(
            global_enb_id=self.cfg.global_enb_id, enb_name=self.cfg.name, plmn=self.plmn,
            tacs=tacs, broadcast_plmns=[Plmn.parse(p) for p in self.cfg.broadcast_plmns])
        self.state = EnbState.SETUP_SENT
        return [SendS1ap(s1ap.encode(msg), STREAM_COMMON),
                LogEvent("s1.setup.requested", {"enb": self.cfg.name, "tacs": tacs})]

    def _on_setup_response(self, msg: Message) -> list[EnbAction]:
        self.state = EnbState.READY
        self.s1_lost = False
        self.mme_name = msg.fields.get("MMEname")
        self.served_gummeis = list(msg.fields.get("ServedGUMMEIs") or [])
        return [LogEvent("s1.setup.succeeded", {"enb": self.cfg.name, "mme": self.mme_name}),
                S1SetupDone(True, None, self.mme_name)]

    def _on_setup_failure(self, msg: Message) -> list[EnbAction]:
        """§8.7.3.3: failure; with Time to wait a retry is allowed after it (§8.7.3.4)."""
        self.state = EnbState.FAILED
        cause = tuple(msg.fields.get("Cause") or ("misc", "unspecified"))
        out: list[EnbAction] = [
            LogEvent("s1.setup.failed", {"enb": self.cfg.name, "cause": list(cause)}),
            S1SetupDone(False, (str(cause[0]), str(cause[1]))),
        ]
        wait = _TIME_TO_WAIT.get(str(msg.fields.get("TimeToWait")))
        if wait is not None:
            out.append(StartTimer("TimeToWait", _ENB_TIMER_KEY, float(wait)))
        return out

    # ------------------------------------------------------------------ S1AP in

    def receive_s1ap(self, data: bytes, now: float) -> list[EnbAction]:
        """`handle(S1apReceived(data), now)`, the event of nearly every call, without the
        event object."""
        try:
            msg = s1ap.decode(data)
        except DecodeError as err:
            return self._on_decode_error(err, now)
        return self._dispatch(msg, now)

    def _on_decode_error(self, err: DecodeError, now: float) -> list[EnbAction]:
        """TS 36.413 §10: answer with Error Indication unless the criticality says ignore;
        an ignore-and-notify message is still processed without the faulty IEs (§10.3.5)."""
        out: list[EnbAction] = [LogEvent("s1ap.decode_error", {"enb": self.cfg.name,
                                                              "detail": err.detail})]
        if err.extra.get("report", True):
            try:
                out.append(SendS1ap(s1ap.encode(s1ap.error_indication_for(err)), STREAM_COMMON))
            except EncodeError as exc:
                out.append(LogEvent("s1ap.error_indication_failed", {"detail": str(exc)}))
        partial = err.extra.get("message")
        if isinstance(partial, Message):
            out += self._dispatch(partial, now)
        return out

    def _dispatch(self, msg: Message, now: float) -> list[EnbAction]:
        handler = _HANDLERS.get(msg.name)
        if handler is None:
            return [LogEvent("s1ap.unhandled", {"enb": self.cfg.name, "message": msg.name})]
        try:
            return handler(self, msg, now)
        except (KeyError, TypeError, ValueError, EncodeError) as exc:
            # §10.4 logical error: the content cannot be acted upon; report, do not fall over.
            return [LogEvent("s1ap.unusable", {"enb": self.cfg.name, "message": msg.name,
                                               "detail": str(exc)}),
                    self._error_indication(("protocol", "semantic-error"), msg.fields)]

    def _error_indication(self, cause: tuple[str, str], fields: dict[str, Any]) -> SendS1ap:
        mme = fields.get("MME-UE-S1AP-ID")
        enb = fields.get("eNB-UE-S1AP-ID")
        ei = s1ap.error_indication(cause, mme if isinstance(mme, int) else None,
                                   enb if isinstance(enb, int) else None)
        return SendS1ap(s1ap.encode(ei), STREAM_COMMON)

    def _ue_ctx(self, fields: dict[str, Any]) -> UeContext | None:
        enb_id = fields.get("eNB-UE-S1AP-ID")
        return self._by_enb_id.get(enb_id) if isinstance(enb_id, int) else None

    def _unknown_ue(self, msg: Message) -> list[EnbAction]:
        """TS 36.413 §10.6: an unknown eNB UE S1AP ID is answered by Error Indication."""
        return [LogEvent("s1ap.unknown_ue", {"enb": self.cfg.name, "message": msg.name}),
                self._error_indication(("radioNetwork", "unknown-enb-ue-s1ap-id"), msg.fields)]

    def _on_downlink_nas(self, msg: Message, now: float) -> list[EnbAction]:
        """Downlink NAS Transport (§8.6.2.2): relay the NAS-PDU to the UE."""
        ctx = self._ue_ctx(msg.fields)
        if ctx is None:
            return self._unknown_ue(msg)
        out = self._learn_mme_id(ctx, int(msg.fields["MME-UE-S1AP-ID"]))
        if self.cfg.inactivity_release_s is not None:
            out += self._active(ctx)
        out += self._ue_actions(ctx, ctx.ue.receive_nas(msg.fields["NAS-PDU"]))
        return out

    def _learn_mme_id(self, ctx: UeContext, mme_ue_id: int) -> list[EnbAction]:
        ctx.mme_ue_id = mme_ue_id
        out: list[EnbAction] = []
        if not ctx.pending:
            return out
        pending, ctx.pending = ctx.pending, ()
        for p in pending:
            out += self._send_nas(ctx, p)
        return out

    def _on_initial_context_setup(self, msg: Message, now: float) -> list[EnbAction]:
        """Initial Context Setup (§8.3.1): record UE-AMBR and E-RABs, answer with the eNB's
        S1-U F-TEID per E-RAB (§9.1.4.3), then hand the NAS-PDUs to the UE."""
        ctx = self._ue_ctx(msg.fields)
        if ctx is None:
            return self._unknown_ue(msg)
        out = self._learn_mme_id(ctx, int(msg.fields["MME-UE-S1AP-ID"]))
        ambr = msg.fields["uEaggregateMaximumBitrate"]
        ctx.ue_ambr = _ue_ambr(int(ambr["uEaggregateMaximumBitRateUL"]),
                               int(ambr["uEaggregateMaximumBitRateDL"]))
        items = list(msg.fields["E-RABToBeSetupListCtxtSUReq"])
        ctx.e_rabs = tuple(_e_rab(item) for item in items)
        setup = []
        for item in items:
            setup.append((int(item["e-RAB-ID"]), self.cfg.address, self._teid()))
        mme_ue_id = int(msg.fields["MME-UE-S1AP-ID"])
        resp = self._messages.initial_context_setup_response(mme_ue_id, ctx.enb_ue_id, setup)
        out += [SendS1ap(resp, STREAM_UE),
                LogEvent("s1ap.initial_context_setup", {
                    "enb": self.cfg.name, "imsi": ctx.ue.key, "ue_ambr": ctx.ue_ambr,
                    "e_rabs": [i for i, _, _ in setup],
                    "handover_restriction_list": msg.fields.get("HandoverRestrictionList"),
                    "ue_radio_capability_given": "UERadioCapability" in msg.fields})]
        if "UERadioCapability" not in msg.fields:
            out += self._capability_info(ctx, mme_ue_id)
        for item in items:
            if item.get("nAS-PDU"):
                out += self._ue_actions(ctx, ctx.ue.receive_nas(item["nAS-PDU"]))
        # TS 36.331 §5.3.5: the RRC connection reconfiguration sets up the data radio bearers;
        # the UE's NAS learns they are there (TS 24.301 §5.6.1.4)
        bearers = RadioBearersSetUp(tuple(i for i, _, _ in setup))
        return out + self._active(ctx) + self._ue_actions(ctx, ctx.ue.handle(bearers, now))

    def _capability_info(self, ctx: UeContext, mme_ue_id: int) -> list[EnbAction]:
        """No UE Radio Capability from the MME: the eNB asks the UE (TS 36.331 §5.6.3 UE
        capability transfer) and reports the answer to the MME in UE CAPABILITY INFO
        INDICATION (TS 36.413 §8.9.2)."""
        info = self._messages.ue_capability_info_indication(mme_ue_id, ctx.enb_ue_id,
                                                            ue_radio_capability())
        return [SendS1ap(info, STREAM_UE),
                LogEvent("s1ap.ue_capability_info", {"enb": self.cfg.name,
                                                     "imsi": ctx.ue.key})]

    def _on_erab_setup(self, msg: Message, now: float) -> list[EnbAction]:
        """E-RAB Setup (§8.2.1): the new E-RABs with the eNB's S1-U F-TEID each (§9.1.3.2),
        then their NAS-PDUs to the UE."""
        ctx = self._ue_ctx(msg.fields)
        if ctx is None:
            return self._unknown_ue(msg)
        items = list(msg.fields["E-RABToBeSetupListBearerSUReq"])
        ctx.e_rabs += tuple(_e_rab(item) for item in items)
        setup = [(int(item["e-RAB-ID"]), self.cfg.address, self._teid()) for item in items]
        resp = s1ap.e_rab_setup_response(int(msg.fields["MME-UE-S1AP-ID"]), ctx.enb_ue_id,
                                         setup)
        out: list[EnbAction] = [
            SendS1ap(s1ap.encode(resp), STREAM_UE),
            LogEvent("s1ap.e_rab_setup", {"enb": self.cfg.name, "imsi": ctx.ue.key,
                                          "e_rabs": [i for i, _, _ in setup]})]
        for item in items:
            if item.get("nAS-PDU"):
                out += self._ue_actions(ctx, ctx.ue.receive_nas(item["nAS-PDU"]))
        return out

    def _on_erab_release(self, msg: Message, now: float) -> list[EnbAction]:
        """E-RAB Release (§8.2.3): the E-RABs go, the response names them (§9.1.3.6), the
        NAS-PDU goes to the UE."""
        ctx = self._ue_ctx(msg.fields)
        if ctx is None:
            return self._unknown_ue(msg)
        gone = [int(i["e-RAB-ID"]) for i in msg.fields["E-RABToBeReleasedList"]]
        ctx.e_rabs = tuple(e for e in ctx.e_rabs if e.e_rab_id not in gone)
        resp = s1ap.e_rab_release_response(int(msg.fields["MME-UE-S1AP-ID"]), ctx.enb_ue_id,
                                           gone)
        out: list[EnbAction] = [SendS1ap(s1ap.encode(resp), STREAM_UE)]
        if msg.fields.get("NAS-PDU"):
            out += self._ue_actions(ctx, ctx.ue.receive_nas(msg.fields["NAS-PDU"]))
        return out

    def _teid(self) -> int:
        teid = self._next_teid
        self._next_teid = teid % 0xFFFFFFFF + 1  # TS 29.281 §5.1: TEID 0 is reserved
        return teid

    def _on_release_command(self, msg: Message, now: float) -> list[EnbAction]:
        """UE Context Release (§8.3.3): release the RRC connection and confirm."""
        kind, ids = msg.fields["UE-S1AP-IDs"]
        if kind == "uE-S1AP-ID-pair":
            ctx = self._by_enb_id.get(int(ids["eNB-UE-S1AP-ID"]))
            mme_id = int(ids["mME-UE-S1AP-ID"])
        else:
            mme_id = int(ids)
            ctx = next((c for c in self.ues.values() if c.mme_ue_id == mme_id), None)
        if ctx is None:
            return self._unknown_ue(Message("s1ap", msg.name, msg.code,
                                            {"MME-UE-S1AP-ID": mme_id}))
        done = s1ap.ue_context_release_complete(mme_id, ctx.enb_ue_id)
        ctx.connected, ctx.mme_ue_id, ctx.pending = False, None, ()
        out: list[EnbAction] = [
            StopTimer(USER_INACTIVITY, ctx.ue.key),
            SendS1ap(s1ap.encode(done), STREAM_UE),
            LogEvent("s1ap.ue_context_released", {"enb": self.cfg.name, "imsi": ctx.ue.key,
                                                  "cause": list(msg.fields.get("Cause", ()))}),
        ]
        return out + self._ue_actions(ctx, ctx.ue.handle(ConnectionReleased(), now))

    def _on_error_indication(self, msg: Message, now: float) -> list[EnbAction]:
        cause = msg.fields.get("Cause")
        return [LogEvent("s1ap.error_indication", {
            "enb": self.cfg.name, "cause": list(cause) if cause else None,
            "mme_ue_id": msg.fields.get("MME-UE-S1AP-ID"),
            "enb_ue_id": msg.fields.get("eNB-UE-S1AP-ID")})]

    def _on_reset(self, msg: Message, now: float) -> list[EnbAction]:
        """Reset (§8.7.1.2.1): release the named (or all) UE-associated connections."""
        kind, which = msg.fields["ResetType"]
        pairs: list[tuple[int | None, int | None]] | None = None
        if kind == "s1-Interface":
            victims = list(self.ues.values())
        else:
            pairs = [(i.get("mME-UE-S1AP-ID"), i.get("eNB-UE-S1AP-ID")) for i in which]
            victims = [c for c in self.ues.values()
                       if any(e == c.enb_ue_id or (m is not None and m == c.mme_ue_id)
                              for m, e in pairs)]
        out: list[EnbAction] = [SendS1ap(s1ap.encode(s1ap.reset_acknowledge(pairs)),
                                         STREAM_COMMON)]
        for ctx in victims:
            if ctx.connected:
                ctx.connected, ctx.mme_ue_id, ctx.pending = False, None, ()
                out += self._ue_actions(ctx, ctx.ue.handle(ConnectionReleased(), now))
        return out + [LogEvent("s1ap.reset", {"enb": self.cfg.name, "released": len(victims)})]

    # ------------------------------------------------------------------ UE actions out

    def _ue_actions(self, ctx: UeContext, actions: list[UeAction]) -> list[EnbAction]:
        out: list[EnbAction] = []
        for a in actions:
            if type(a) is SendNas:  # exact type tests: the UE's actions have no subclasses
                out += self._send_nas(ctx, a)
            elif type(a) is ProcedureDone:
                out.append(UeDone(ctx.ue.key, a))
            elif type(a) is ReleaseConnection:
                out += self._release_request(ctx)
            else:
                out.append(a)  # type: ignore[arg-type]  # a timer or log: the eNB carries it out
        return out

    def _send_nas(self, ctx: UeContext, a: SendNas) -> list[EnbAction]:
        cell = ctx.ue.cell
        if cell is None:
            return [LogEvent("enb.ue_not_camped", {"imsi": ctx.ue.key})]
        if not ctx.connected and self.s1_lost:
            # no S1 interface: the RRC connection establishment fails (TS 36.331 §5.3.3.7)
            return [LogEvent("enb.no_s1", {"enb": self.cfg.name, "imsi": ctx.ue.key,
                                           "state": self.state.value}),
                    StartTimer(RRC_FAILURE_TIMER, ctx.ue.key, 0.0)]
        if not ctx.connected:
            # TS 36.413 §8.6.2.1: the first NAS message of a connection; TAI with the selected
            # PLMN, ECGI with the eNB's primary PLMN (TS 23.251 §4.2, network sharing).
            ctx.connected, ctx.mme_ue_id = True, None
            data = self._cell_messages(cell).initial_ue_message(
                ctx.enb_ue_id, a.pdu, rrc_establishment_cause=a.rrc_cause, s_tmsi=a.s_tmsi)
            return [SendS1ap(data, STREAM_UE), *self._active(ctx)]
        if ctx.mme_ue_id is None:
            ctx.pending += (a,)  # sent once the MME has named the connection
            return []
        data = self._cell_messages(cell).uplink_nas_transport(ctx.mme_ue_id, ctx.enb_ue_id,
                                                              a.pdu)
        return [SendS1ap(data, STREAM_UE), *self._active(ctx)]

    def _cell_messages(self, cell: CellInfo) -> s1ap.CellMessages:
        """The S1AP coder of the UE's cell: TAI of the selected PLMN, ECGI of the eNB's
        primary PLMN (TS 23.251 §4.2), one per cell and PLMN the eNB's UEs select. The UEs of
        a population camp on the same few (immutable) CellInfo objects: the last one's coder
        is found without hashing its PLMN."""
        last = self._last_cell
        if last is not None and last[0] is cell:
            return last[1]
        key = (cell.plmn, cell.tac, cell.cell_id)
        coder = self._cells_s1ap.get(key)
        if coder is None:
            if len(self._cells_s1ap) >= _CELL_CODERS_KEPT:
                self._cells_s1ap.clear()
            coder = self._cells_s1ap[key] = s1ap.CellMessages(cell.plmn, cell.tac, self.plmn,
                                                              cell.cell_id)
        self._last_cell = (cell, coder)
        return coder

    def _release_request(self, ctx: UeContext) -> list[EnbAction]:
        """The radio connection is gone: UE Context Release Request (§8.3.2)."""
        if not ctx.connected:
            return []
        if ctx.mme_ue_id is None:
            ctx.connected, ctx.pending = False, ()
            return []
        req = s1ap.ue_context_release_request(
            ctx.mme_ue_id, ctx.enb_ue_id, ("radioNetwork", "radio-connection-with-ue-lost"))
        return [SendS1ap(s1ap.encode(req), STREAM_UE)]


# cells x the PLMNs they broadcast: a handful per eNB
_CELL_CODERS_KEPT = 64

_HANDLERS = {
    "S1SetupResponse": lambda enb, m, now: enb._on_setup_response(m),
    "S1SetupFailure": lambda enb, m, now: enb._on_setup_failure(m),
    "DownlinkNASTransport": EnbCore._on_downlink_nas,
    "InitialContextSetupRequest": EnbCore._on_initial_context_setup,
    "E-RABSetupRequest": EnbCore._on_erab_setup,
    "E-RABReleaseCommand": EnbCore._on_erab_release,
    "UEContextReleaseCommand": EnbCore._on_release_command,
    "ErrorIndication": EnbCore._on_error_indication,
    "Reset": EnbCore._on_reset,
    # TS 36.413 §8.13: Write-Replace Warning and Kill (sim_ue/pws.py)
    "WriteReplaceWarningRequest": lambda enb, m, now: _pws_actions(
        enb.warnings.on_write_replace(enb, m, now)),
    "KillRequest": lambda enb, m, now: _pws_actions(enb.warnings.on_kill(enb, m, now)),
}


def _pws_actions(actions: list[Any]) -> list[EnbAction]:
    return [SendS1ap(a, STREAM_COMMON) if isinstance(a, bytes) else a for a in actions]


# --------------------------------------------------------------------------------- asyncio


class S1SetupError(ConnectionError):
    """The MME refused S1 Setup (TS 36.413 §8.7.3.3) or the association failed."""


def _no_answer(fut: asyncio.Future[ProcedureDone], procedure: str, timeout: float) -> None:
    if not fut.done():
        fut.set_result(ProcedureDone(procedure, False, None, f"no answer within {timeout:g} s"))


class EnbService:
    """asyncio side of one eNB: the SCTP association, timers and procedure futures."""

    def __init__(self, cfg: EnbConfig, *, tap: Tap | None = None, sctp_mode: Mode = "auto",
                 first_teid: int = 1, setup_timeout: float = 10.0,
                 log: list[LogEvent] | None = None, timer_scale: float = 1.0,
                 keep_log: bool = True, reconnect_s: float | None = RECONNECT_S,
                 reconnect_max_s: float = RECONNECT_MAX_S,
                 air: Callable[[pws.OnAir], None] | None = None) -> None:
        """`timer_scale`: wall seconds per timer second (< 1: an accelerated clock for the
        UEs' timers: T3346, T3410, ...); `keep_log` False drops the log events (storms);
        `reconnect_s`: first wait before re-opening a lost association (doubled up to
        `reconnect_max_s`), None: a lost association stays down; `air`: records what the cells
        broadcast (SIB1, Paging, SIB10/11/12 of a warning, sim_ue.pws.AirTap)."""
        self.cfg = cfg
        self._air = air
        self._reconnect_s = reconnect_s
        self._reconnect_max_s = max(reconnect_max_s, reconnect_s or 0.0)
        self._reconnecting: asyncio.Task[None] | None = None
        self._stopping = False
        self.timer_scale = timer_scale
        self.keep_log = keep_log
        self.core = EnbCore(cfg, first_teid=first_teid)
        self._tap = tap
        self._mode = sctp_mode
        self._setup_timeout = setup_timeout
        self._conn: Any = None
        self._timers = TimerTable(self._on_timer)
        self._setup: asyncio.Future[S1SetupDone] | None = None
        self._waiters: dict[tuple[str, str], asyncio.Future[ProcedureDone]] = {}
        self.log: list[LogEvent] = log if log is not None else []
        self._clock: Clock = loop_clock

    async def start(self) -> None:
        """Open the association from the eNB's address and run S1 Setup."""
        loop = asyncio.get_running_loop()
        self._clock = loop.time
        self._stopping = False
        self._setup = loop.create_future()
        self._conn = await self._open()
        self._feed(S1Connected())
        try:
            done = await asyncio.wait_for(asyncio.shield(self._setup), self._setup_timeout)
        except TimeoutError:
            await self.stop()
            raise S1SetupError(f"{self.cfg.name}: no S1 Setup answer from the MME") from None
        if not done.ok:
            await self.stop()
            raise S1SetupError(f"{self.cfg.name}: S1 Setup Failure {done.cause}")

    async def _open(self) -> Any:
        return await open_sctp_client(
            self.cfg.mme.host, self.cfg.mme.port, self._on_message, on_close=self._on_close,
            tap=self._tap, mode=self._mode, local_host=self.cfg.address)

    async def _reconnect(self) -> None:
        """Re-open the association with back-off, then S1 Setup again (TS 36.413 §8.7.3)."""
        assert self._reconnect_s is not None
        delay = self._reconnect_s
        while not self._stopping:
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                conn = await self._open()
            except OSError as exc:
                self._record(LogEvent("s1.reconnect.failed", {
                    "enb": self.cfg.name, "reason": str(exc), "next_s": delay}))
                delay = min(delay * 2, self._reconnect_max_s)
                continue
            if self._stopping:
                conn.close()
                return
            self._conn = conn
            self._record(LogEvent("s1.reconnected", {"enb": self.cfg.name}))
            self._feed(S1Connected())
            return

    def _record(self, event: LogEvent) -> None:
        if self.keep_log:
            self.log.append(event)

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            self._reconnecting = None
        self._timers.cancel_all()
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_result(ProcedureDone("?", False, None, "eNB stopped"))
        self._waiters.clear()

    def add_ue(self, ue: Ue, enb_ue_id: int) -> None:
        self.core.add_ue(ue, enb_ue_id)

    async def run(self, imsi: str, event: UeEvent, procedure: str,
                  timeout: float) -> ProcedureDone:
        """Deliver `event` to the UE and wait for its `procedure` to end."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[ProcedureDone] = loop.create_future()
        self._waiters[(imsi, procedure)] = fut
        # the time limit is one timer that answers the waiter (no task of its own per UE)
        limit = loop.call_later(timeout, _no_answer, fut, procedure, timeout)
        self._feed(ToUe(imsi, event))
        try:
            return await fut
        finally:
            limit.cancel()
            self._waiters.pop((imsi, procedure), None)

    async def wait(self, imsi: str, procedure: str, timeout: float) -> ProcedureDone:
        """Wait for the UE's next `procedure` outcome (one it started by itself)."""
        fut: asyncio.Future[ProcedureDone] = asyncio.get_running_loop().create_future()
        self._waiters[(imsi, procedure)] = fut
        try:
            return await asyncio.wait_for(fut, max(0.0, timeout))
        except TimeoutError:
            return ProcedureDone(procedure, False, None, f"no answer within {timeout:g} s")
        finally:
            self._waiters.pop((imsi, procedure), None)

    def set_barring(self, plmn: Plmn | str, factor: float | None, time: int = 64, *,
                    special_ac: int = 0, for_emergency: bool = False) -> bytes:
        """Change the ACB per PLMN broadcast in SIB2 at run time (TS 36.331 §5.2.1.3: a
        system information change applies to the next access)."""
        sib2 = self.core.set_barring(plmn, factor, time, special_ac=special_ac,
                                     for_emergency=for_emergency)
        self.log.append(LogEvent("enb.barring", {"enb": self.cfg.name, "plmn": str(plmn),
                                                 "factor": factor, "time": time}))
        return sib2

    def set_broadcast_plmns(self, plmns: list[Plmn | str]) -> None:
        self.core.set_broadcast_plmns(plmns)
        self.log.append(LogEvent("enb.broadcast_plmns", {
            "enb": self.cfg.name, "plmns": [str(p) for p in self.core.cells[0].plmns]
            if self.core.cells else []}))

    def submit(self, imsi: str, event: UeEvent) -> None:
        self._feed(ToUe(imsi, event))

    def activity(self, imsi: str) -> None:
        """User plane traffic of the UE (`UserActivity`)."""
        self._feed(UserActivity(imsi))

    # ------------------------------------------------------------------ plumbing

    def _on_message(self, conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        self._carry_out_all(self.core.receive_s1ap(payload, self._clock()))

    def _on_close(self, conn: Any) -> None:
        if conn is not self._conn and self._conn is not None:
            return  # an association already replaced
        self._feed(S1Closed())
        if self._setup is not None and not self._setup.done():
            lost = ("transport", "transport-resource-unavailable")
            self._setup.set_result(S1SetupDone(False, lost))
            return
        if self._stopping or self._reconnect_s is None:
            return
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    def _on_timer(self, expired: TimerExpired) -> None:
        self._feed(expired)

    def _feed(self, event: EnbEvent) -> None:
        self._carry_out_all(self.core.handle(event, self._clock()))

    def _carry_out_all(self, actions: list[EnbAction]) -> None:
        conn = self._conn
        for action in actions:
            # exact type tests (the action types have no subclasses): the usual one here
            if type(action) is SendS1ap:
                if conn is not None and not conn.closed:
                    conn.send(action.data, PPID_S1AP, action.stream)
            else:
                self._carry_out(action)

    def _carry_out(self, action: EnbAction) -> None:
        if type(action) is StartTimer:
            scale = self.timer_scale if action.name in SCALED_TIMERS else 1.0
            self._timers.start(action.name, action.key, action.seconds * scale)
        elif type(action) is StopTimer:
            self._timers.stop(action.name, action.key)
        elif type(action) is LogEvent:
            if self.keep_log:
                self.log.append(action)
        elif type(action) is UeDone:
            fut = self._waiters.get((action.imsi, action.done.procedure))
            if fut is not None and not fut.done():
                fut.set_result(action.done)
        elif type(action) is S1SetupDone:
            if self._setup is not None and not self._setup.done():
                self._setup.set_result(action)
        elif type(action) is pws.OnAir:
            if self._air is not None:
                self._air(action)

