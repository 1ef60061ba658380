"""A simulated UE, sans-I/O: the EMM and ESM machines of TS 24.301 on the UE side.

`Ue.handle(event, now) -> list[action]`. Events: `Attach` (register on a cell of the selected
PLMN), `Dial` (the user dials a number: an emergency number triggers the emergency attach when
the UE is not registered for normal service), `Detach`, `NasReceived` (a downlink NAS PDU from
the eNB), `ConnectionReleased` (the NAS signalling connection was released), `TimerExpired`
(T3410, T3411, T3421). Actions:
`SendNas` (the eNB decides Initial UE Message or Uplink NAS Transport), `ReleaseConnection`,
`ProcedureDone`, and the timer/log actions of `corenet.core.actions`.

State names mirror the MME's: EMM-DEREGISTERED, EMM-REGISTERED-INITIATED, EMM-REGISTERED,
EMM-DEREGISTERED-INITIATED (TS 24.301 §5.1.3.2).
"""

from __future__ import annotations

import enum
import functools
import random
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corenet.codecs import nas, pco, tft, voice_domain
from corenet.codecs.base import Message
from corenet.codecs.nas_ies import PDN_TYPE_IPV4V6, EmergencyNumber, Guti, Tai
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.plmn import Plmn
from corenet.crypto import kdf
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext
from sim_ue import acb
from sim_ue.devices import DeviceProfile, default_profile
from sim_ue.pws import WarningReceiver
from sim_ue.usim import AuthFailure, AuthSuccess, Usim

# TS 24.301 §10.2 Table 10.2.2: UE-side timers (seconds).
T3410_S = 15.0
T3411_S = 10.0
T3402_S = 720.0
T3421_S = 15.0
T3416_S = 30.0  # §5.4.2.3: how long RAND and RES are kept
T3430_S = 15.0  # §5.5.3.2.2: guards the TRACKING AREA UPDATE REQUEST
T3417_S = 5.0  # §5.6.1.2: guards the SERVICE REQUEST
# §5.5.1.2.6: the attach attempt counter's limit; §5.5.2.2.4 c): T3421 runs five times.
MAX_ATTACH_ATTEMPTS = 5
MAX_T3421_EXPIRIES = 5


@dataclass(frozen=True)
class UeTimers:
    """The UE's attach timers (TS 24.301 §10.2 Table 10.2.2); shorter values for tests."""

    t3410_s: float = T3410_S
    t3411_s: float = T3411_S
    t3402_s: float = T3402_S


# TS 24.301 §5.5.1.2.5: the ATTACH REJECT causes handled there; any other cause (e.g. #17
# network failure, #19 ESM failure, #22 without T3346) is an abnormal case of §5.5.1.2.6 d)
_REJECT_CAUSES_HANDLED = frozenset({3, 6, 7, 8, 11, 12, 13, 14, 15, 25, 35, 42})
# §5.5.1.2.6 d): on these the attach attempt counter is set to 5 (protocol errors)
_REJECT_COUNTER_TO_MAX = frozenset({95, 96, 97, 99, 111})

# TS 24.301 §9.9.3.9 EMM causes sent by the UE.
CAUSE_UE_SECURITY_CAPABILITIES_MISMATCH = 23
CAUSE_SECURITY_MODE_REJECTED = 24
KSI_NONE = 7  # §9.9.3.21: no key is available

# TS 24.301 §9.9.3.11 EPS attach type; TS 24.008 §10.5.6.17 request type (§9.9.4.14).
ATTACH_EPS = 1
ATTACH_EMERGENCY = 6
REQUEST_INITIAL = 1
REQUEST_EMERGENCY = 4
# TS 24.301 §9.9.4.4 ESM causes of a rejected dedicated bearer activation (§6.4.2.4)
ESM_INVALID_EPS_BEARER_IDENTITY = 43
ESM_SYNTACTICAL_ERROR_IN_PACKET_FILTERS = 45

# TS 22.101 §10.1.1: 112 and 911 are emergency numbers on every ME; the Japanese numbers (110
# police, 118 coast guard, 119 fire and ambulance) are on the USIM's EF_ECC (TS 31.102 §4.2.21)
# of a Japanese subscriber and in the network's Emergency Number List (TS 24.008 §10.5.3.13).
DEFAULT_EMERGENCY_NUMBERS = ("112", "911", "110", "118", "119")
# Caller-ID prefixes (184 withhold, 186 present): the seed report says such emergency calls
# fail while roaming on devices that do not support them.
CALLER_ID_PREFIXES = ("184", "186")
# TS 24.301 §5.5.1.2.5: reject causes after which the UE deletes GUTI, last visited TAI, TAI
# list and eKSI, and enters EMM-DEREGISTERED.LIMITED-SERVICE.
_LIMITED_SERVICE_CAUSES = frozenset({11, 12, 13, 14, 15})
# The display while the UE has no normal service (seed report: "no service", 圏外).
NO_SERVICE = "no service"


class EmmState(enum.Enum):
    """TS 24.301 §5.1.3.2.2 main states."""

    DEREGISTERED = "EMM-DEREGISTERED"
    REGISTERED_INITIATED = "EMM-REGISTERED-INITIATED"
    REGISTERED = "EMM-REGISTERED"
    DEREGISTERED_INITIATED = "EMM-DEREGISTERED-INITIATED"
    TRACKING_AREA_UPDATING_INITIATED = "EMM-TRACKING-AREA-UPDATING-INITIATED"
    SERVICE_REQUEST_INITIATED = "EMM-SERVICE-REQUEST-INITIATED"


class EmmSubstate(enum.Enum):
    """TS 24.301 §5.1.3.2.3 substates of EMM-DEREGISTERED and EMM-REGISTERED."""

    NO_IMSI = "NO-IMSI"
    PLMN_SEARCH = "PLMN-SEARCH"
    NORMAL_SERVICE = "NORMAL-SERVICE"
    LIMITED_SERVICE = "LIMITED-SERVICE"
    ATTEMPTING_TO_ATTACH = "ATTEMPTING-TO-ATTACH"
    NO_CELL_AVAILABLE = "NO-CELL-AVAILABLE"


class EcmState(enum.Enum):
    """TS 23.401 §4.6.3: whether a NAS signalling connection exists."""

    IDLE = "ECM-IDLE"
    CONNECTED = "ECM-CONNECTED"


class EsmBearerState(enum.Enum):
    """TS 24.301 §6.1.3.2 (UE side) EPS bearer context states."""

    INACTIVE = "BEARER-CONTEXT-INACTIVE"
    ACTIVE = "BEARER-CONTEXT-ACTIVE"


# --------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class CellInfo:
    """What the UE reads from a cell's system information (TS 36.331 SIB1), plus the PLMN it
    selected among the cell's broadcast PLMNs (TS 23.122 §4.4)."""

    enb: str
    cell_id: int
    tac: int
    plmn: Plmn
    # TS 36.331 §6.2.1 BCCH-DL-SCH SystemInformation with SIB2 as broadcast (None: not read),
    # and the selected PLMN's 1-based index in SIB1's PLMN list (plmn-IdentityIndex).
    sib2: bytes | None = None
    plmn_index: int = 1

    @property
    def tai(self) -> Tai:
        return Tai(self.plmn, self.tac)


@dataclass(frozen=True)
class Attach:
    """Start an EPS attach (TS 24.301 §5.5.1.2) on `cell`."""

    cell: CellInfo
    attach_type: int = 1  # §9.9.3.11: 1 EPS attach
    # the access was already admitted by the RRC layer's barring check (TS 36.331 §5.3.3.11)
    # for this attempt: the attach starts without a second draw
    admitted: bool = False


@dataclass(frozen=True)
class Dial:
    """The user dials `number` while camped on `cell` (None: no cell found at all)."""

    number: str
    cell: CellInfo | None = None


@dataclass(frozen=True)
class Detach:
    """UE-initiated detach (TS 24.301 §5.5.2.2), with or without switch off."""

    switch_off: bool = False


@dataclass(frozen=True)
class CellChanged:
    """The UE reselected `cell` (TS 36.304 §5.2.4); out of its TAI list a registered UE
    updates its tracking area (TS 24.301 §5.5.3.2.2 a)."""

    cell: CellInfo


@dataclass(frozen=True)
class RequestPdn:
    """Open one more PDN connection (TS 24.301 §6.5.1.2): the emergency one (request type
    "emergency", no APN: the network's emergency APN) or `apn` (request type "initial")."""

    emergency: bool = True
    apn: str | None = None


@dataclass(frozen=True)
class DisconnectPdn:
    """Close the PDN connection of default bearer `ebi` (TS 24.301 §6.5.2.2)."""

    ebi: int


@dataclass(frozen=True)
class ServiceRequest:
    """Uplink user data or signalling is pending in ECM-IDLE (TS 24.301 §5.6.1.1 a): the
    bearers come back by a service request (§5.6.1.2)."""


@dataclass(frozen=True)
class RadioBearersSetUp:
    """Lower layers: the user plane radio bearers of EPS bearers `ebis` are set up (the RRC
    connection reconfiguration after the eNB's Initial Context Setup, TS 36.331 §5.3.5;
    TS 24.301 §5.6.1.4)."""

    ebis: tuple[int, ...]


@dataclass(frozen=True)
class NasReceived:
    pdu: bytes


@dataclass(frozen=True)
class ConnectionReleased:
    """The eNB released the RRC connection (S1 UE context released, TS 36.413 §8.3.3)."""


UeEvent = (Attach | Dial | Detach | CellChanged | RequestPdn | DisconnectPdn | NasReceived
           | ConnectionReleased | TimerExpired | ServiceRequest | RadioBearersSetUp)

# --------------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class SendNas:
    """An uplink NAS PDU; `rrc_cause` is the RRC establishment cause (TS 36.331) should the
    eNB need a new connection for it."""

    pdu: bytes
    rrc_cause: str = "mo-Signalling"
    # (MMEC, M-TMSI) the RRC connection request names the UE by (TS 36.331 §5.3.3.3), which
    # the eNB passes on in INITIAL UE MESSAGE (TS 36.413 §9.1.7.1)
    s_tmsi: tuple[int, int] | None = None


@dataclass(frozen=True)
class ReleaseConnection:
    """Release the NAS signalling connection locally (e.g. TS 24.301 §5.5.1.2.6 c))."""


@dataclass(frozen=True)
class ProcedureDone:
    """An attach or detach ended: ok, or the cause / reason it failed. `wait_s`: how long the
    UE must wait before it may try again (the barring timer of TS 36.331 §5.3.3.11, or
    T3346 of TS 24.301 §5.5.1.2.5); None when no such wait applies."""

    procedure: str
    ok: bool
    cause: int | None = None
    reason: str = ""
    wait_s: float | None = None


ACCESS_BARRED = "access barred"
T3346_RUNNING = "T3346 running"


@functools.lru_cache(maxsize=256)
def _sib2_barring(sib2: bytes) -> acb.Sib2Barring | None:
    """Decoded once per distinct broadcast (a SIB2 changes only with its contents)."""
    try:
        return acb.decode_sib2_barring(sib2)
    except DecodeError:
        return None  # TS 36.331 §5.2.2: an undecodable SIB is as if not broadcast


def barring_info(cell: CellInfo) -> acb.BarringInfo | None:
    """The cell's SIB2 barring for the selected PLMN: its ac-BarringPerPLMN-List-r12 entry
    when it has one, else the common ac-BarringInfo (TS 36.331 §5.3.3.2); None: no barring."""
    if cell.sib2 is None:
        return None
    sib2 = _sib2_barring(cell.sib2)
    if sib2 is None:
        return None
    return sib2.per_plmn.get(cell.plmn_index, sib2.common)


def access_check(rng: random.Random, imsi: str, access_classes: tuple[int, ...],
                 cell: CellInfo, emergency: bool) -> tuple[bool, float]:
    """The RRC access barring check of an attach on `cell` (TS 36.331 §5.3.3.11; emergency
    per §5.3.3.2): (barred, Tbarring seconds). The attach's establishment cause is
    mo-Signalling (§5.3.3.3)."""
    info = barring_info(cell)
    if info is None:
        return False, 0.0
    cfg = info.mo_signalling
    return acb.access_barred(
        rng, access_classes, cfg.factor if cfg else None, cfg.time_s if cfg else 4, emergency,
        special_ac=cfg.special_ac if cfg else 0, barring_for_emergency=info.for_emergency,
        in_home_country=imsi[:3] == cell.plmn.mcc, in_hplmn=imsi.startswith(str(cell.plmn)))


@functools.lru_cache(maxsize=256)
def _shared_classes(classes: tuple[int, ...]) -> tuple[int, ...]:
    """One tuple per distinct set of access classes, shared by the UEs holding it."""
    return classes


def access_class_of(imsi: str) -> int:
    """TS 22.011 §4.2: access classes 0-9 are allocated by the last digit of the IMSI."""
    return int(imsi[-1]) if imsi and imsi[-1].isdigit() else 0


UeAction = SendNas | ReleaseConnection | ProcedureDone | StartTimer | StopTimer | LogEvent


# --------------------------------------------------------------------------------- results


@dataclass
class UeResult:
    """What a run reports per UE (the EMM cause is None unless the network gave one)."""

    imsi: str
    msisdn: str | None
    attached: bool
    outcome: str
    guti: str | None = None
    ipv4: str | None = None
    ipv6: str | None = None
    network_name: str | None = None
    network_short_name: str | None = None
    apn: str | None = None
    apn_ambr: dict[str, int] | None = None
    ue_ambr: dict[str, int] | None = None
    cause: int | None = None
    plmn: str | None = None
    enb: str | None = None
    emergency_numbers: list[dict[str, Any]] = field(default_factory=list)
    # what the user sees and what the UE knows of its registration (seed report)
    display: str = NO_SERVICE
    emergency: bool = False
    authenticated: bool = False
    pdn: str | None = None
    device: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def guti_text(g: Guti) -> str:
    """GUTI as PLMN-MMEGI-MMEC-M-TMSI (TS 23.003 §2.8.1)."""
    return f"{g.plmn}-{g.mme_group_id:04x}-{g.mme_code:02x}-{g.m_tmsi:08x}"


@dataclass(slots=True)
class PdnConnection:
    """The default bearer the attach created (TS 24.301 §6.4.1)."""

    ebi: int
    apn: str
    ipv4: str | None
    ipv6: str | None
    apn_ambr: dict[str, int] | None
    qci: int | None
    state: EsmBearerState = EsmBearerState.ACTIVE
    emergency: bool = False  # requested with request type "emergency" (§6.5.1.2)
    # TS 24.229 §9.2.1 b: the P-CSCF addresses of the network's PCO (TS 24.008 §10.5.6.3)
    pcscf: tuple[str, ...] = ()


@dataclass(slots=True)
class DedicatedBearer:
    """A dedicated bearer the network activated (TS 24.301 §6.4.2.3): its PDN connection's
    default bearer, QoS (§9.9.4.3) and packet filters (TS 24.008 §10.5.6.12)."""

    ebi: int
    linked_ebi: int
    qos: dict[str, int]
    filters: tuple[tft.PacketFilter, ...]


# --------------------------------------------------------------------------------- the UE

# TS 24.301 §4.4.4.2: plain messages the UE accepts although a security context is active.
_PLAIN_ALLOWED = frozenset({
    "IdentityRequest", "AuthenticationRequest", "AuthenticationReject", "AttachReject",
    "DetachAccept", "TrackingAreaUpdateReject", "ServiceReject",
})


class Ue:
    """One simulated UE: USIM + EMM/ESM state + NAS security (TS 24.301 §4, §5, §6).

    A storm holds 100,000 of them: the state is in slots, and the warning receiver is made
    when a warning broadcast first reaches the UE."""

    __slots__ = ("_after_service", "_aka_done", "_attach_after_release", "_attach_attempts",
                 "_attach_pending", "_attach_type", "_dialled", "_esm_pending", "_last_auth",
                 "_last_detach", "_new_kasme", "_pti", "_retry_timer", "_secure",
                 "_t3421_expiries", "access_classes", "apn", "authenticated", "cause", "cell",
                 "ctx", "dedicated", "device", "ecm", "eea", "eia", "emergency",
                 "emergency_bearer_support", "emergency_numbers", "_forbidden", "guti", "imeisv",
                 "last_visited_tai", "network_name", "network_short_name", "outcome", "pdn",
                 "pdn_type", "pdns", "reason", "registered_plmn", "rng", "state", "substate",
                 "t3346_running", "t3412_s", "tai_list", "timers", "usim", "usim_present",
                 "_warnings", "key", "advertised_eia")

    def __init__(self, usim: Usim, *, eea: tuple[int, ...] = (2, 0), eia: tuple[int, ...] = (2,),
                 apn: str | None = None, pdn_type: int = PDN_TYPE_IPV4V6,
                 imeisv: str | None = None, device: DeviceProfile | None = None,
                 rng: random.Random | None = None,
                 special_access_classes: tuple[int, ...] = (),
                 timers: UeTimers | None = None) -> None:
        """`rng`: this UE's draws for the access barring check (seeded: reproducible);
        `special_access_classes`: AC 11-15 held on the USIM (TS 22.011 §4.2); `timers`:
        T3410 / T3411 / T3402 (the values of TS 24.301 Table 10.2.2 by default)."""
        self.usim = usim
        self.key: str = usim.imsi  # the key of this UE's timers and of its eNB context
        self.timers = timers or UeTimers()
        self.rng = rng or random.Random(f"ue:{usim.imsi}")
        self.access_classes = _shared_classes((access_class_of(usim.imsi),
                                               *special_access_classes))
        # TS 24.301 §5.5.1.2.5: while T3346 runs no attach is started (except emergency)
        self.t3346_running = False
        self.device = device or default_profile()
        self._warnings: WarningReceiver | None = None  # ETWS / CMAS (sim_ue/pws.py)
        # A device profile without a USIM: the card is there only to key this UE's timers.
        self.usim_present = self.device.usim
        self.eea = tuple(eea)
        self.eia = tuple(eia)
        # the EIA bits of the UE network capability: the configured algorithms and EIA0,
        # which every UE implements for unauthenticated emergency bearer services (TS 33.401
        # §5.1.4.2, TS 24.301 §5.5.1.2.2) and accepts only for them (§5.4.3.3)
        self.advertised_eia = _advertised_eia(self.eia)
        self.apn = apn
        self.pdn_type = pdn_type
        self.imeisv = imeisv or _default_imeisv(usim)
        self.state = EmmState.DEREGISTERED
        self.substate = EmmSubstate.PLMN_SEARCH
        self.ecm = EcmState.IDLE
        self.cell: CellInfo | None = None
        self.guti: Guti | None = None
        self.tai_list: list[Tai] = []
        # §5.3.5: the periodic tracking area update timer the network gave (None: off)
        self.t3412_s: int | None = None
        self.last_visited_tai: Tai | None = None
        self.emergency_numbers: list[EmergencyNumber] = []
        # TS 23.122 §3.1: forbidden PLMNs, forbidden tracking areas for regional provision
        # and for roaming: made on the first reject that fills one (rare: not kept per UE)
        self._forbidden: tuple[list[Plmn], list[Tai], list[Tai]] | None = None
        self.network_name: str | None = None
        self.network_short_name: str | None = None
        self.pdn: PdnConnection | None = None
        # PDN connections opened after the attach (TS 24.301 §6.5.1), by default EBI
        self.pdns: dict[int, PdnConnection] = {}
        self.dedicated: dict[int, DedicatedBearer] = {}  # by EBI (TS 24.301 §6.4.2)
        self.emergency_bearer_support = False  # EMC BS of the last Attach Accept
        # PTI -> what a PDN CONNECTIVITY / DISCONNECT REQUEST under way asked (§6.5.1, §6.5.2)
        self._esm_pending: dict[int, RequestPdn | DisconnectPdn] = {}
        self.cause: int | None = None
        self.outcome = "idle"
        self.registered_plmn: Plmn | None = None
        # §4.4.2: the current EPS security context; the one being established by AKA.
        self.ctx: NasSecurityContext | None = None
        self._new_kasme: tuple[int, bytes] | None = None
        # §5.4.2.3: the last RAND with its RES and KASME, kept while T3416 runs
        self._last_auth: tuple[bytes, bytes, int, bytes] | None = None
        # §4.4.5: ciphering starts once secure exchange is established on this connection.
        self._secure = False
        self._attach_attempts = 0
        # T3410 runs: an ATTACH REQUEST awaits its ACCEPT or REJECT (§5.5.1.2.2)
        self._attach_pending = False
        # the retry timer running in EMM-DEREGISTERED.ATTEMPTING-TO-ATTACH: T3411 or T3402
        self._retry_timer: str | None = None
        self._t3421_expiries = 0
        self._last_detach: bytes | None = None
        self._pti = 0
        self._attach_type = ATTACH_EPS
        # attached for emergency bearer services (TS 24.301 §5.5.1.2.4)
        self.emergency = False
        # EPS AKA ran and its KASME is in use (TS 33.401 §6.1) for the current registration
        self.authenticated = False
        self._aka_done = False
        self.reason = ""
        self._dialled: str | None = None
        # ESM procedures asked for in ECM-IDLE, started once the service request is done
        self._after_service: tuple[RequestPdn | DisconnectPdn, ...] = ()
        # the attach type to attach with once the network has released the connection
        # (after SERVICE REJECT #9 / #10, TS 24.301 §5.6.1.5)
        self._attach_after_release: int | None = None
        if not self.usim_present:
            self.substate = EmmSubstate.NO_IMSI

    # ------------------------------------------------------------------ entry point

    @property
    def warnings(self) -> WarningReceiver:
        """The UE's ETWS / CMAS reception (sim_ue/pws.py), made on first use."""
        if self._warnings is None:
            self._warnings = WarningReceiver(self.device)
        return self._warnings

    def _forbidden_lists(self) -> tuple[list[Plmn], list[Tai], list[Tai]]:
        if self._forbidden is None:
            self._forbidden = ([], [], [])
        return self._forbidden

    @property
    def forbidden_plmns(self) -> list[Plmn]:
        """TS 23.122 §3.1: the forbidden PLMNs list (#11, #14)."""
        return self._forbidden_lists()[0]

    @property
    def forbidden_tais_regional(self) -> list[Tai]:
        """TS 23.122 §3.1: forbidden tracking areas for regional provision of service (#12)."""
        return self._forbidden_lists()[1]

    @property
    def forbidden_tais_roaming(self) -> list[Tai]:
        """TS 23.122 §3.1: forbidden tracking areas for roaming (#13, #15)."""
        return self._forbidden_lists()[2]

    @property
    def retry_timer(self) -> str | None:
        """T3411 or T3402 while the UE waits in EMM-DEREGISTERED.ATTEMPTING-TO-ATTACH."""
        return self._retry_timer

    def handle(self, event: UeEvent, now: float) -> list[UeAction]:
        if type(event) is NasReceived:  # the usual event first
            return self.receive_nas(event.pdu)
        if isinstance(event, Attach):
            barred = None if event.admitted else self._access_check(event.cell,
                                                                    event.attach_type)
            return barred or self._start_attach(event.cell, event.attach_type)
        if isinstance(event, Dial):
            return self._on_dial(event.number, event.cell)
        if isinstance(event, Detach):
            return self._start_detach(event.switch_off)
        if isinstance(event, CellChanged):
            return self._on_cell_changed(event.cell)
        if isinstance(event, RequestPdn | DisconnectPdn):
            if self.state is EmmState.REGISTERED and self.ecm is EcmState.IDLE:
                # TS 24.301 §5.6.1.1 b: ESM signalling pending in EMM-IDLE mode
                self._after_service += (event,)
                return self._start_service_request()
            if self.state is EmmState.SERVICE_REQUEST_INITIATED:
                self._after_service += (event,)
                return []
            return self._start_esm(event)
        if isinstance(event, ServiceRequest):
            return self._start_service_request()
        if isinstance(event, RadioBearersSetUp):
            return self._on_radio_bearers(event.ebis)
        if isinstance(event, ConnectionReleased):
            self.ecm = EcmState.IDLE
            self._secure = False
            if self.state is EmmState.SERVICE_REQUEST_INITIATED:
                # §5.6.1.6 a): lower layer failure before the bearers were set up
                return self._service_failed(None, "lower layer failure") + self._start_t3412()
            if self._attach_after_release is not None and self.cell is not None:
                attach_type, self._attach_after_release = self._attach_after_release, None
                return self._start_attach(self.cell, attach_type)
            if self._attach_pending:
                # §5.5.1.2.6 a): lower layer failure or release of the NAS signalling
                # connection before ATTACH ACCEPT or ATTACH REJECT
                return self._abnormal_attach("lower layer failure")
            return self._start_t3412()
        if isinstance(event, TimerExpired):
            if event.name == "T3346":
                self.t3346_running = False
                return [LogEvent("emm.t3346_expired", {"imsi": self.key})]
            handler = _TIMERS.get(event.name)
            return handler(self) if handler else []
        return []

    @property
    def display(self) -> str:
        """The network name on the screen: the EMM Information name (TS 24.301 §5.4.5) or
        the PLMN when registered for normal service; "no service" (圏外) otherwise — also
        when attached for emergency bearer services only (seed report, emergency-only)."""
        if self.state is not EmmState.REGISTERED or self.emergency:
            return NO_SERVICE
        return self.network_name or str(self.registered_plmn)

    @property
    def registered_normally(self) -> bool:
        return self.state is EmmState.REGISTERED and not self.emergency

    def result(self, **extra: Any) -> UeResult:
        pdn = self.pdn
        res = UeResult(
            imsi=self.usim.imsi, msisdn=self.usim.msisdn,
            attached=self.state is EmmState.REGISTERED, outcome=self.outcome,
            guti=guti_text(self.guti) if self.guti else None,
            ipv4=pdn.ipv4 if pdn else None, ipv6=pdn.ipv6 if pdn else None,
            network_name=self.network_name, network_short_name=self.network_short_name,
            apn=pdn.apn if pdn else None, apn_ambr=pdn.apn_ambr if pdn else None,
            cause=self.cause,
            plmn=str(self.registered_plmn) if self.registered_plmn else None,
            enb=self.cell.enb if self.cell else None,
            emergency_numbers=[{"number": e.number, "categories": list(e.categories)}
                               for e in self.emergency_numbers],
            display=self.display, emergency=self.emergency,
            authenticated=self.authenticated and self.state is EmmState.REGISTERED,
            pdn=pdn.apn if pdn else None, device=self.device.name, reason=self.reason,
        )
        for k, v in extra.items():
            setattr(res, k, v)
        return res

    # ------------------------------------------------------------------ attach (§5.5.1.2)

    def _access_check(self, cell: CellInfo, attach_type: int) -> list[UeAction] | None:
        """Before a new RRC connection (ECM-IDLE only): T3346 (TS 24.301 §5.5.1.2.5, an
        emergency attach is exempt) and access class barring (TS 36.331 §5.3.3.11, emergency
        per §5.3.3.2), with the cell's SIB2; ac-BarringPerPLMN-List-r12 for the selected PLMN
        when it has an entry, else the common ac-BarringInfo. None: access allowed."""
        emergency = attach_type == ATTACH_EMERGENCY
        if self.t3346_running and not emergency and self.state is EmmState.DEREGISTERED:
            self.reason = T3346_RUNNING
            return [ProcedureDone("attach", False, None, T3346_RUNNING)]
        if self.ecm is EcmState.CONNECTED or self.state is not EmmState.DEREGISTERED:
            return None
        barred, wait = access_check(self.rng, self.usim.imsi, self.access_classes, cell,
                                    emergency)
        if not barred:
            return None
        self.reason = ACCESS_BARRED
        # §5.3.3.11: T305 (mo-signalling) runs for Tbarring; the access is retried after it
        return [LogEvent("rrc.access_barred", {"imsi": self.key, "wait_s": round(wait, 3)}),
                ProcedureDone("attach", False, None, ACCESS_BARRED, wait_s=wait or None)]

    @staticmethod
    def _barring_info(cell: CellInfo) -> acb.BarringInfo | None:
        return barring_info(cell)

    def _start_attach(self, cell: CellInfo, attach_type: int) -> list[UeAction]:
        """Attach procedure for EPS services: TS 24.301 §5.5.1.2.2 (initiation)."""
        if self.state in (EmmState.REGISTERED_INITIATED, EmmState.DEREGISTERED_INITIATED):
            return [LogEvent("emm.attach.ignored", {"imsi": self.key, "state": self.state.value})]
        if attach_type != ATTACH_EMERGENCY and not self.usim_present:
            # TS 24.301 §5.5.1.2.1: without a USIM only the emergency attach is possible.
            self.reason = "no USIM: emergency attach only"
            return [ProcedureDone("attach", False, None, self.reason)]
        self.cell = cell
        self.cause = None
        self.reason = ""
        self.outcome = "attaching"
        self.pdn = None
        self.pdns.clear()
        self.dedicated.clear()
        self._esm_pending.clear()
        self.emergency = False
        self._aka_done = False
        self._attach_attempts = 0
        stopped = self._stop_retry_timer()
        self.state = EmmState.REGISTERED_INITIATED
        self._attach_type = attach_type
        return stopped + self._send_attach_request()

    def _stop_retry_timer(self) -> list[UeAction]:
        if self._retry_timer is None:
            return []
        name, self._retry_timer = self._retry_timer, None
        return [StopTimer(name, self.key)]

    def _send_attach_request(self) -> list[UeAction]:
        assert self.cell is not None  # set by _start_attach, never from peer input
        self._pti = self._pti % 254 + 1  # §6.3.1 / §9.4: PTI 1..254 assigned by the UE
        emergency = self._attach_type == ATTACH_EMERGENCY
        esm = _pdn_connectivity_request(
            self._pti, REQUEST_EMERGENCY if emergency else REQUEST_INITIAL, self.pdn_type,
            # §6.5.1.2: an APN is only sent once ciphering is on (ESM information transfer);
            # an emergency PDN connection carries none (the network's emergency APN applies).
            self.apn is not None and not emergency)
        ue_net_cap = nas.ue_network_capability(eea=self.eea, eia=self.advertised_eia)
        identity = self._attach_identity()
        ksi = self.ctx.ksi if (self.ctx and self.guti) else KSI_NONE
        # §5.5.1.2.2: last visited registered TAI when the UE has one.
        last_tai = self.tai_list[0] if self.tai_list and self.guti else None
        # §5.5.1.2.2: a UE capable of IMS voice includes the Voice domain preference and UE's
        # usage setting (§9.9.3.44, TS 24.008 §10.5.5.28).
        voice = voice_domain.to_wire(self.device.ue_usage_setting,
                                     self.device.voice_domain_preference)
        plain = nas.attach_request(
            attach_type=self._attach_type, ksi=ksi, ue_net_cap=ue_net_cap, esm_container=esm,
            last_visited_tai=last_tai, drx=b"\x00\x00", voice_domain_preference=voice,
            **identity)
        # §4.4.4.2: with a valid current EPS security context the Attach Request is
        # integrity protected (not ciphered, §4.4.5).
        pdu = nas.protect(plain, self.ctx, UPLINK, 1) if (self.ctx and self.guti) else plain
        if self.ecm is EcmState.IDLE:
            self._secure = False
        self.ecm = EcmState.CONNECTED
        self._attach_pending = True
        # TS 36.331 §5.3.3.3: an emergency attach opens the RRC connection as "emergency".
        return [
            SendNas(pdu, rrc_cause="emergency" if emergency else "mo-Signalling"),
            StartTimer("T3410", self.key, self.timers.t3410_s),
            LogEvent("emm.attach.requested", {"imsi": self.key, "plmn": str(self.cell.plmn),
                                              "attach_type": self._attach_type,
                                              "identity": next(iter(identity))}),
        ]

    def _attach_identity(self) -> dict[str, Any]:
        """§5.5.1.2.2: a valid GUTI, else the IMSI; for an emergency attach without a USIM
        (or IMSI) the IMEI."""
        if self.guti and self.usim_present:
            return {"guti": self.guti}
        if self.usim_present:
            return {"imsi": self.usim.imsi}
        return {"imei": self.imeisv[:14] + "0"}

    def _on_t3410(self) -> list[UeAction]:
        """§5.5.1.2.6 c): T3410 expired: abort, release the connection locally."""
        if self.state is not EmmState.REGISTERED_INITIATED or not self._attach_pending:
            return []
        self.ecm = EcmState.IDLE
        return [ReleaseConnection()] + self._abnormal_attach("T3410 expired")

    def _abnormal_attach(self, what: str, cause: int | None = None,
                         counter: int | None = None) -> list[UeAction]:
        """§5.5.1.2.6: the attach attempt counter is incremented (or set, #95..#111); below 5
        T3411 is started, at 5 T3402 (GUTI, TAI list and KSI deleted), both in
        EMM-DEREGISTERED.ATTEMPTING-TO-ATTACH; the attach is initiated again at expiry."""
        self._attach_pending = False
        self._attach_attempts = counter if counter is not None else self._attach_attempts + 1
        self.state = EmmState.DEREGISTERED
        self.substate = EmmSubstate.ATTEMPTING_TO_ATTACH
        out: list[UeAction] = [StopTimer("T3410", self.key), *self._stop_retry_timer(),
                               LogEvent("emm.attach.abnormal", {
                                   "imsi": self.key, "reason": what, "cause": cause,
                                   "attempt": self._attach_attempts})]
        if self._attach_attempts < MAX_ATTACH_ATTEMPTS:
            self._retry_timer = "T3411"
            return out + [StartTimer("T3411", self.key, self.timers.t3411_s)]
        self._forget_registration()
        self._retry_timer = "T3402"
        self.outcome = "timeout" if cause is None else "rejected"
        reason = f"{what}; attach attempts exhausted, T3402 started"
        self.reason = reason
        return out + [StartTimer("T3402", self.key, self.timers.t3402_s),
                      ProcedureDone("attach", False, cause, reason)
                      ] + self._call_done(False, f"emergency attach failed: {what}")

    def _on_retry_timer(self, name: str) -> list[UeAction]:
        """T3411 / T3402 expired in EMM-DEREGISTERED.ATTEMPTING-TO-ATTACH: the attach
        procedure is initiated again (§5.5.1.2.6), after T3402 with a new attempt counter."""
        if self._retry_timer != name or self.cell is None:
            return []
        self._retry_timer = None
        if self.state is not EmmState.DEREGISTERED or (
                self.substate is not EmmSubstate.ATTEMPTING_TO_ATTACH):
            return []
        if name == "T3402":
            self._attach_attempts = 0
        self.state = EmmState.REGISTERED_INITIATED
        self.outcome = "attaching"
        return self._send_attach_request()

    def _on_t3411(self) -> list[UeAction]:
        return self._on_retry_timer("T3411")

    def _on_t3402(self) -> list[UeAction]:
        return self._on_retry_timer("T3402")

    def _on_attach_accept(self, msg: Message) -> list[UeAction]:
        """§5.5.1.2.4: store GUTI, TAI list, emergency numbers; activate the default bearer
        (§6.4.1.3) and answer Attach Complete carrying its Accept."""
        if self.state is not EmmState.REGISTERED_INITIATED:
            return self._status(nas.CAUSE_MESSAGE_TYPE_NON_EXISTENT)
        f = msg.fields
        container = f.get(nas.ESM_CONTAINER) or {}
        if container.get("name") != "ActivateDefaultEPSBearerContextRequest":
            # §6.4.1.5: an attach without a usable default bearer request fails.
            return self._status(nas.CAUSE_INVALID_MANDATORY_INFORMATION)
        guti = (f.get("guti") or {}).get("value")
        if isinstance(guti, Guti):
            self.guti = guti
        self.tai_list = _shared_tais(f.get("tai_list") or [])
        self.t3412_s = f.get("t3412_value")
        self.last_visited_tai = self.cell.tai if self.cell else None
        self.emergency_numbers = list(f.get("emergency_number_list") or [])
        # TS 24.301 §9.9.3.12A EMC BS: the network supports emergency bearer services
        self.emergency_bearer_support = bool((f.get("eps_network_feature_support") or {})
                                             .get("emc_bs"))
        self.cause = f.get(nas.EMM_CAUSE)
        self.pdn = _pdn_from(container["fields"])
        # §5.5.1.2.4: an accepted emergency attach leaves the UE attached for emergency
        # bearer services only.
        self.emergency = self._attach_type == ATTACH_EMERGENCY
        self.pdn.emergency = self.emergency
        self.authenticated = self._aka_done
        ebi = int(container["fields"].get(nas.EBI, 0))
        self.state = EmmState.REGISTERED
        self.substate = EmmSubstate.NORMAL_SERVICE
        self.outcome = "emergency-attached" if self.emergency else "attached"
        self._attach_attempts = 0
        self._attach_pending = False
        self.registered_plmn = self.cell.plmn if self.cell else None
        out: list[UeAction] = [
            StopTimer("T3410", self.key),
            self._uplink(_attach_complete(ebi)),
            LogEvent("emm.attach.accepted", {"imsi": self.key,
                                             "guti": guti_text(self.guti) if self.guti else None,
                                             "ipv4": self.pdn.ipv4, "apn": self.pdn.apn,
                                             "emergency": self.emergency,
                                             "authenticated": self.authenticated}),
            ProcedureDone("attach", True, self.cause),
        ]
        return out + self._call_done(True, "emergency bearer established" if self.emergency
                            else "over the normal registration")

    def _on_attach_reject(self, msg: Message) -> list[UeAction]:
        """§5.5.1.2.5: record the cause; the UE enters EMM-DEREGISTERED (limited service for
        the PLMN/TA causes, the PLMN joining the forbidden list on #11)."""
        cause = int(msg.fields.get(nas.EMM_CAUSE, 111))
        self.cause = cause
        t3346 = msg.fields.get("t3346_value")
        with_t3346 = cause == 22 and isinstance(t3346, int) and t3346 > 0
        if (self._attach_pending and self._attach_type != ATTACH_EMERGENCY
                and cause not in _REJECT_CAUSES_HANDLED and not with_t3346):
            # §5.5.1.2.6 d): any other cause is an abnormal case: retried after T3411
            self.reason = f"attach reject #{cause}"
            return self._abnormal_attach(
                self.reason, cause, MAX_ATTACH_ATTEMPTS if cause in _REJECT_COUNTER_TO_MAX
                else None)
        self._attach_pending = False
        self.state = EmmState.DEREGISTERED
        self.outcome = "rejected"
        self.reason = f"attach reject #{cause}"
        if cause in (3, 6, 7, 8):
            # §5.5.1.2.5: USIM invalid for EPS services; GUTI and keys deleted.
            self.substate = EmmSubstate.NO_IMSI
            self._forget_registration()
        else:
            self.substate = EmmSubstate.LIMITED_SERVICE
        if cause in _LIMITED_SERVICE_CAUSES:
            self._forget_registration()
            self._forbid(cause)
        out: list[UeAction] = [
            StopTimer("T3410", self.key),
            LogEvent("emm.attach.rejected", {"imsi": self.key, "cause": cause,
                                             "attach_type": self._attach_type,
                                             "t3346": t3346})]
        wait: float | None = None
        if isinstance(t3346, int) and t3346 > 0 and self._attach_type != ATTACH_EMERGENCY:
            # §5.5.1.2.5 (#22 congestion with T3346): start T3346 with the value given; no
            # attach until it expires.
            self.t3346_running = True
            wait = float(t3346)
            out.append(StartTimer("T3346", self.key, wait))
        out.append(ProcedureDone("attach", False, cause, "attach reject", wait_s=wait))
        return out + self._call_done(False, f"emergency attach rejected #{cause}")

    def _forbid(self, cause: int) -> None:
        """§5.5.1.2.5 and TS 23.122 §3.1: #11 and #14 forbid the PLMN, #12 the TA for regional
        provision of service, #13 and #15 the TA for roaming. Limited service remains: emergency
        calls on an acceptable cell (TS 36.304 §4.3)."""
        if self.cell is None:
            return
        if cause in (11, 14):
            target: list[Any] = self.forbidden_plmns
            item: Any = self.cell.plmn
        else:
            target = self.forbidden_tais_regional if cause == 12 else self.forbidden_tais_roaming
            item = self.cell.tai
        if item not in target:
            target.append(item)

    # ------------------------------------------------------------------ common procedures

    def _on_identity_request(self, msg: Message) -> list[UeAction]:
        """§5.4.4.3: answer with the identity asked for (§9.9.3.17 type of identity)."""
        kind = int(msg.fields.get("identity_type", 1))
        if kind == 1:
            pdu = nas.identity_response(imsi=self.usim.imsi)
        elif kind == 2:
            pdu = nas.identity_response(imei=self.imeisv[:14] + "0")
        elif kind == 3:
            pdu = nas.identity_response(imeisv=self.imeisv)
        elif kind == 4 and self.guti:
            pdu = nas.identity_response(tmsi=self.guti.m_tmsi)
        else:
            pdu = nas.identity_response()
        return [self._uplink(pdu), LogEvent("emm.identity.sent", {"imsi": self.key,
                                                                  "type": kind})]

    def _on_authentication_request(self, msg: Message) -> list[UeAction]:
        """§5.4.2.3: the USIM checks AUTN (TS 33.102 §6.3.3); RES, or a failure (§5.4.2.6)."""
        f = msg.fields
        ksi = int(f.get(nas.KSI, 0)) & 0x7
        if not self.usim_present:
            # §5.4.2.6 / TS 33.102 §6.3.3: no USIM to verify AUTN with.
            return [self._uplink(nas.authentication_failure(20)),
                    LogEvent("emm.authentication.no_usim", {"imsi": self.key})]
        rand = bytes(f["authentication_parameter_rand"])
        if self._last_auth is not None and self._last_auth[0] == rand:
            # §5.4.2.3: the same RAND again (a retransmission): the stored RES is sent without
            # passing RAND to the USIM, which would see its SQN a second time
            _, res, ksi, kasme = self._last_auth
            self._new_kasme = (ksi, kasme)
            return [self._uplink(nas.authentication_response(res)),
                    LogEvent("emm.authentication.responded", {"imsi": self.key, "ksi": ksi,
                                                              "stored_res": True})]
        answer = self.usim.authenticate(rand, f["authentication_parameter_autn"])
        if isinstance(answer, AuthFailure):
            pdu = nas.authentication_failure(answer.cause, answer.auts)
            return [self._uplink(pdu), LogEvent("emm.authentication.failed",
                                                {"imsi": self.key, "cause": answer.cause})]
        assert isinstance(answer, AuthSuccess)
        plmn = self.cell.plmn if self.cell else Plmn("001", "01")
        # TS 33.401 A.2: KASME bound to the serving network's PLMN identity.
        kasme = kdf.kasme(answer.ck, answer.ik, plmn.to_bytes(), answer.sqn_xor_ak)
        self._new_kasme = (ksi, kasme)
        self._last_auth = (rand, answer.res, ksi, kasme)
        return [self._uplink(nas.authentication_response(answer.res)),
                StartTimer("T3416", self.key, T3416_S),
                LogEvent("emm.authentication.responded", {"imsi": self.key, "ksi": ksi})]

    def _on_t3416(self) -> list[UeAction]:
        """§5.4.2.3: T3416 expired: the stored RAND and RES are deleted."""
        self._last_auth = None
        return []

    def _on_authentication_reject(self) -> list[UeAction]:
        """§5.4.2.5: delete GUTI, TAI list, KSI; the USIM is invalid; EMM-DEREGISTERED."""
        self._last_auth = None
        self._forget_registration()
        self.state = EmmState.DEREGISTERED
        self.substate = EmmSubstate.NO_IMSI
        self.outcome = "authentication-rejected"
        out: list[UeAction] = [
            StopTimer("T3410", self.key), StopTimer("T3421", self.key),
            LogEvent("emm.authentication.rejected", {"imsi": self.key}),
            ProcedureDone("attach", False, None, "authentication reject")]
        return out + self._call_done(False, "authentication reject")

    def _on_security_mode_command(self, msg: Message, raw: bytes) -> list[UeAction]:
        """§5.4.3.3: check the replayed capabilities, take the new context into use, verify
        the MAC with it and answer Security Mode Complete (§5.4.3.4) or Reject (§5.4.3.5)."""
        f = msg.fields
        self._last_auth = None  # §5.4.2.3: deleted upon SECURITY MODE COMMAND
        algs = f["selected_nas_security_algorithms"]
        eea, eia = int(algs["eea"]), int(algs["eia"])
        ksi = int(f.get(nas.KSI, 0)) & 0x7
        replayed = bytes(f["replayed_ue_security_capabilities"])
        sent = nas.ue_security_capability(eea=self.eea, eia=self.advertised_eia)
        if replayed[:2] != sent[:2]:
            return self._smc_reject(CAUSE_UE_SECURITY_CAPABILITIES_MISMATCH, "replayed caps")
        null_ok = self._emergency_context()
        if eia == 0 and not null_ok:
            # §5.4.3.3: EIA0 is accepted only by a UE that has, or is establishing, a PDN
            # connection for emergency bearer services (TS 33.401 §5.1.4.1); else §5.4.3.5.
            return self._smc_reject(CAUSE_SECURITY_MODE_REJECTED, "EIA0 outside emergency")
        if (eia != 0 and eia not in self.eia) or (eea not in self.eea and eea != 0):
            return self._smc_reject(CAUSE_SECURITY_MODE_REJECTED, f"EEA{eea}/EIA{eia}")
        from_aka = self._new_kasme is not None and self._new_kasme[0] == ksi
        if self._new_kasme is not None and self._new_kasme[0] == ksi:
            kasme = self._new_kasme[1]
        elif self.ctx is not None and self.ctx.ksi == ksi:
            kasme = self.ctx.kasme
        elif eia == 0:
            # §5.4.3.2/§5.4.3.3: no shared context for an unauthenticated emergency UE: the
            # null algorithms run over a locally generated KASME, never used as a key.
            kasme = bytes(32)
        else:
            return self._smc_reject(CAUSE_SECURITY_MODE_REJECTED, f"unknown KSI {ksi}")
        ctx = NasSecurityContext.from_kasme(ksi, kasme, eia=eia, eea=eea)
        _, _, mac_ok = nas.unprotect(raw, ctx, DOWNLINK)
        if not mac_ok and eia != 0:
            # §4.4.4.2: a message failing the integrity check is discarded (with EIA0 the
            # MAC is not checked: TS 33.401 §5.1.4.1, null integrity).
            return [LogEvent("emm.security_mode.mac_failed", {"imsi": self.key})]
        self.ctx = ctx
        self._new_kasme = None
        self._aka_done = from_aka and eia != 0
        self._secure = True
        imeisv = self.imeisv if f.get("imeisv_request") == 1 else None
        plain = nas.security_mode_complete(imeisv=imeisv)
        # §9.3.1: Security Mode Complete uses the new context, integrity protected + ciphered.
        pdu = nas.protect(plain, ctx, UPLINK, nas.SHT_INTEGRITY_CIPHERED_NEW_CONTEXT)
        return [SendNas(pdu), LogEvent("emm.security_mode.completed",
                                       {"imsi": self.key, "eea": eea, "eia": eia})]

    def _emergency_context(self) -> bool:
        """Attached for emergency bearer services, or attaching for them (§5.4.3.3)."""
        attaching = (self.state is EmmState.REGISTERED_INITIATED
                     and self._attach_type == ATTACH_EMERGENCY)
        return attaching or (self.state is EmmState.REGISTERED and self.emergency)

    def _smc_reject(self, cause: int, why: str) -> list[UeAction]:
        return [self._uplink(nas.security_mode_reject(cause)),
                LogEvent("emm.security_mode.rejected", {"imsi": self.key, "cause": cause,
                                                        "reason": why})]

    def _on_emm_information(self, msg: Message) -> list[UeAction]:
        """§5.4.5.3: the UE may use the names to display the network (here: records them)."""
        full = msg.fields.get("full_name_for_network")
        short = msg.fields.get("short_name_for_network")
        if full is not None:
            self.network_name = full.text
        if short is not None:
            self.network_short_name = short.text
        if self.network_name is None and short is not None:
            self.network_name = short.text
        return [LogEvent("emm.information", {"imsi": self.key, "name": self.network_name})]

    def _on_esm_information_request(self, msg: Message) -> list[UeAction]:
        """§6.6.1.2.3: answer with the APN (now that ciphering protects it)."""
        pti = int(msg.fields.get(nas.PTI, self._pti))
        return [self._uplink(nas.esm_information_response(pti=pti, apn=self.apn))]

    # ------------------------------------------------------------------ dialling

    def is_emergency_number(self, digits: str) -> bool:
        """TS 22.101 §10.1.1 (112, 911 and the USIM's numbers) plus the network's Emergency
        Number List of the last Attach Accept (TS 24.301 §5.5.1.2.4, TS 24.008 §10.5.3.13)."""
        known = {e.number for e in self.emergency_numbers} | set(DEFAULT_EMERGENCY_NUMBERS)
        return digits in known

    def _on_dial(self, number: str, cell: CellInfo | None) -> list[UeAction]:
        """The user dials. An emergency number with no normal registration starts the
        emergency attach (TS 24.301 §5.5.1.2.2, EPS attach type "EPS emergency attach";
        TS 23.401 §4.3.12); with a normal registration the call uses it (TS 23.167 §6.2)."""
        digits = re.sub(r"[\s-]", "", number)
        prefixed = digits[:3] in CALLER_ID_PREFIXES and len(digits) > 3
        core = digits[3:] if prefixed else digits
        self._dialled = None
        if not self.is_emergency_number(core):
            return self._refuse_call(f"{number} is not an emergency number")
        roaming = self._roaming_on(cell or self.cell)
        if prefixed and roaming and (self.state is not EmmState.REGISTERED or self.emergency
                                     or not self.device.prefixed_emergency_calls_roaming):
            # seed report: 184/186-prefixed emergency calls cannot connect while roaming
            return self._refuse_call(f"{digits[:3]}-prefixed emergency calls cannot connect "
                                     "while roaming")
        if self.state is EmmState.REGISTERED:
            if self.emergency:
                return self._call_now(core, "emergency bearer in place")
            if roaming and not self.device.emergency_calls_in_full_roaming:
                return self._refuse_call(self.device.full_roaming_call_reason())
            return self._call_now(core, "over the normal registration")
        if self.state is not EmmState.DEREGISTERED:
            return self._refuse_call(f"busy: {self.state.value}")
        if cell is None:
            return self._refuse_call("no cell to camp on")
        if roaming and not self.device.emergency_only_roaming:
            return self._refuse_call(self.device.emergency_only_reason())
        self._dialled = core
        return [LogEvent("emm.emergency.dialled", {"imsi": self.key, "number": core,
                                                   "substate": self.substate.value})
                ] + self._start_attach(cell, ATTACH_EMERGENCY)

    def _roaming_on(self, cell: CellInfo | None) -> bool:
        """Camped on a PLMN other than the one of the IMSI (TS 23.122 §1.2 VPLMN)."""
        return cell is not None and not self.usim.imsi.startswith(str(cell.plmn))

    def _call_now(self, number: str, how: str) -> list[UeAction]:
        self.reason = ""
        return [LogEvent("call.emergency", {"imsi": self.key, "number": number, "how": how}),
                ProcedureDone("call", True, None, how)]

    def _refuse_call(self, why: str) -> list[UeAction]:
        self.reason = why
        return [LogEvent("call.emergency.impossible", {"imsi": self.key, "reason": why}),
                ProcedureDone("call", False, None, why)]

    def _call_done(self, ok: bool, how: str) -> list[UeAction]:
        """The call the user dialled, once the emergency attach it triggered has ended."""
        if self._dialled is None:
            return []
        number, self._dialled = self._dialled, None
        if ok:
            return self._call_now(number, how)
        return self._refuse_call(how)

    # ------------------------------------------------------------------ PDN connections

    @property
    def emergency_pdn(self) -> PdnConnection | None:
        """The emergency PDN connection: of an emergency attach, or opened after the attach
        with request type "emergency" (TS 23.167 §6.2)."""
        if self.pdn is not None and self.pdn.emergency:
            return self.pdn
        return next((p for p in self.pdns.values() if p.emergency), None)

    def pdn_to(self, apn: str) -> PdnConnection | None:
        """The PDN connection to `apn` (TS 23.003 §9.1: compared case-insensitively)."""
        every = ([self.pdn] if self.pdn is not None else []) + list(self.pdns.values())
        return next((p for p in every if p.apn.lower() == apn.lower()), None)

    def _start_esm(self, event: RequestPdn | DisconnectPdn) -> list[UeAction]:
        """UE-requested PDN connectivity (TS 24.301 §6.5.1.2) or PDN disconnect (§6.5.2.2),
        in EMM-REGISTERED only; one PTI per procedure (§6.3.1)."""
        kind = "pdn" if isinstance(event, RequestPdn) else "pdn-disconnect"
        if self.state is not EmmState.REGISTERED:
            return [ProcedureDone(kind, False, None, f"not registered: {self.state.value}")]
        self._pti = self._pti % 254 + 1
        self._esm_pending[self._pti] = event
        if isinstance(event, RequestPdn):
            plain = nas.pdn_connectivity_request(
                self._pti, request_type=REQUEST_EMERGENCY if event.emergency
                else REQUEST_INITIAL, pdn_type=self.pdn_type,
                apn=None if event.emergency else event.apn)
        else:
            plain = nas.pdn_disconnect_request(self._pti, event.ebi)
        return [self._uplink(plain),
                LogEvent(f"esm.{kind}.requested", {"imsi": self.key, "pti": self._pti})]

    def _on_activate_default_request(self, msg: Message) -> list[UeAction]:
        """ACTIVATE DEFAULT EPS BEARER CONTEXT REQUEST outside the attach (§6.4.1.3): the
        PDN connection the PTI asked for; a PTI the UE assigned to no PDN CONNECTIVITY REQUEST
        is answered by ACTIVATE DEFAULT EPS BEARER CONTEXT REJECT #81 (§7.3.1)."""
        f = msg.fields
        pti, ebi = int(f.get(nas.PTI, 0)), int(f.get(nas.EBI, 0))
        asked = self._esm_pending.pop(pti, None)
        if not isinstance(asked, RequestPdn):
            return [self._uplink(nas.activate_default_eps_bearer_context_reject(ebi, 81, pti))]
        pdn = _pdn_from(f)
        pdn.emergency = asked.emergency
        self.pdns[ebi] = pdn
        return [self._uplink(nas.activate_default_eps_bearer_context_accept(ebi, pti)),
                LogEvent("esm.pdn.connected", {"imsi": self.key, "apn": pdn.apn, "ebi": ebi,
                                               "ipv4": pdn.ipv4, "emergency": pdn.emergency}),
                ProcedureDone("pdn", True, None, pdn.apn)]

    def _on_esm_reject(self, msg: Message) -> list[UeAction]:
        """PDN CONNECTIVITY REJECT (§6.5.1.4) / PDN DISCONNECT REJECT (§6.5.2.4)."""
        asked = self._esm_pending.pop(int(msg.fields.get(nas.PTI, 0)), None)
        cause = msg.fields.get(nas.ESM_CAUSE)
        kind = "pdn" if msg.name == "PDNConnectivityReject" else "pdn-disconnect"
        if asked is None:
            return [LogEvent("esm.unexpected", {"imsi": self.key, "message": msg.name})]
        return [LogEvent(f"esm.{kind}.rejected", {"imsi": self.key, "esm_cause": cause}),
                ProcedureDone(kind, False, cause, f"ESM cause #{cause}")]

    def _on_activate_dedicated_request(self, msg: Message) -> list[UeAction]:
        """ACTIVATE DEDICATED EPS BEARER CONTEXT REQUEST (§6.4.2.3): accepted when the linked
        EBI names one of the UE's PDN connections (§6.4.2.4: otherwise REJECT #43 invalid EPS
        bearer identity) and its TFT reads (#45 syntactical error in packet filters)."""
        f = msg.fields
        pti, ebi = int(f.get(nas.PTI, 0)), int(f.get(nas.EBI, 0))
        linked = int(f.get("linked_eps_bearer_identity", 0))
        defaults = {p.ebi for p in ([self.pdn] if self.pdn else []) + list(self.pdns.values())}
        cause = None
        filters: tuple[tft.PacketFilter, ...] = ()
        if linked not in defaults:
            cause = ESM_INVALID_EPS_BEARER_IDENTITY
        else:
            try:
                _, filters = tft.decode(bytes(f.get(nas.TFT) or b""))
            except ValueError:
                cause = ESM_SYNTACTICAL_ERROR_IN_PACKET_FILTERS
        if cause is not None:
            return [self._uplink(nas.activate_dedicated_eps_bearer_context_reject(
                        ebi, cause, pti)),
                    LogEvent("esm.bearer.rejected", {"imsi": self.key, "ebi": ebi,
                                                     "linked_ebi": linked, "esm_cause": cause})]
        qos = dict(f.get("eps_qos") or {})
        self.dedicated[ebi] = DedicatedBearer(ebi, linked, qos, filters)
        return [self._uplink(nas.activate_dedicated_eps_bearer_context_accept(ebi, pti)),
                LogEvent("esm.bearer.activated", {"imsi": self.key, "ebi": ebi,
                                                  "linked_ebi": linked, "qci": qos.get("qci"),
                                                  "filters": len(filters)})]

    def _on_deactivate_request(self, msg: Message) -> list[UeAction]:
        """DEACTIVATE EPS BEARER CONTEXT REQUEST (§6.4.4.3): the bearer goes, with its PDN
        connection when it is a default bearer (and then its dedicated bearers too, §6.4.4.3);
        the UE accepts (also for a bearer it no longer knows, §6.4.4.6 b)."""
        f = msg.fields
        pti, ebi = int(f.get(nas.PTI, 0)), int(f.get(nas.EBI, 0))
        if self.dedicated.pop(ebi, None) is not None:
            return [self._uplink(nas.deactivate_eps_bearer_context_accept(ebi, pti)),
                    LogEvent("esm.bearer.deactivated", {"imsi": self.key, "ebi": ebi})]
        pdn = self.pdns.pop(ebi, None)
        for gone in [b.ebi for b in self.dedicated.values() if b.linked_ebi == ebi]:
            del self.dedicated[gone]
        out: list[UeAction] = [
            self._uplink(nas.deactivate_eps_bearer_context_accept(ebi, pti)),
            LogEvent("esm.pdn.deactivated", {"imsi": self.key, "ebi": ebi,
                                             "apn": pdn.apn if pdn else None})]
        if isinstance(self._esm_pending.pop(pti, None), DisconnectPdn):
            out.append(ProcedureDone("pdn-disconnect", True, f.get(nas.ESM_CAUSE)))
        return out

    # ------------------------------------------------------------------ detach (§5.5.2)

    def _start_detach(self, switch_off: bool) -> list[UeAction]:
        """UE initiated detach: TS 24.301 §5.5.2.2.1."""
        if self.state is EmmState.DEREGISTERED:
            return [ProcedureDone("detach", True, None, "already deregistered")]
        if self.state is EmmState.REGISTERED_INITIATED:
            # §5.5.1.2.6 k): detach while attach pending aborts the attach.
            out: list[UeAction] = [StopTimer("T3410", self.key)]
        else:
            out = []
        ident: dict[str, Any] = {"guti": self.guti} if self.guti else {"imsi": self.usim.imsi}
        ksi = self.ctx.ksi if self.ctx else KSI_NONE
        plain = nas.detach_request(detach_type=1, switch_off=switch_off, ksi=ksi, **ident)
        self._last_detach = plain
        out.append(self._uplink(plain))
        out.append(LogEvent("emm.detach.requested", {"imsi": self.key,
                                                     "switch_off": switch_off}))
        if switch_off:
            # §5.5.2.2.2: with switch off the UE does not wait for Detach Accept.
            self._deregistered("detached")
            return out + [ProcedureDone("detach", True, None, "switch off")]
        self.state = EmmState.DEREGISTERED_INITIATED
        self._t3421_expiries = 0
        return out + [StartTimer("T3421", self.key, T3421_S)]

    def _on_t3421(self) -> list[UeAction]:
        """§5.5.2.2.4 c): retransmit the Detach Request; on the fifth expiry detach locally."""
        if self.state is not EmmState.DEREGISTERED_INITIATED or self._last_detach is None:
            return []
        self._t3421_expiries += 1
        if self._t3421_expiries >= MAX_T3421_EXPIRIES:
            self._deregistered("detached")
            return [ReleaseConnection(), LogEvent("emm.detach.local", {"imsi": self.key}),
                    ProcedureDone("detach", True, None, "T3421 expired five times")]
        return [self._uplink(self._last_detach), StartTimer("T3421", self.key, T3421_S)]

    def _on_detach_accept(self) -> list[UeAction]:
        if self.state is not EmmState.DEREGISTERED_INITIATED:
            return []
        self._deregistered("detached")
        return [StopTimer("T3421", self.key), LogEvent("emm.detach.accepted", {"imsi": self.key}),
                ProcedureDone("detach", True)]

    def _on_network_detach(self, msg: Message) -> list[UeAction]:
        """§5.5.2.3.2: network initiated detach; the UE answers Detach Accept."""
        cause = msg.fields.get(nas.EMM_CAUSE)
        out: list[UeAction] = [self._uplink(nas.detach_accept()),
               LogEvent("emm.detach.network", {"imsi": self.key,
                                               "type": msg.fields.get("detach_type"),
                                               "cause": cause})]
        self.cause = cause
        self._deregistered("network-detached")
        return out

    def _deregistered(self, outcome: str) -> None:
        if self.emergency or (self.ctx is not None and self.ctx.eia == 0):
            # §5.5.2.2.2 / §4.4.2.1: an emergency registration's GUTI and a null-algorithm
            # context are not kept after detach.
            self._forget_registration()
        self.state = EmmState.DEREGISTERED
        self.substate = EmmSubstate.PLMN_SEARCH
        self.outcome = outcome
        self.pdn = None
        self.pdns.clear()
        self.dedicated.clear()
        self._esm_pending.clear()
        self.registered_plmn = None
        self.emergency = False
        self.authenticated = False

    # ------------------------------------------------------------------ tracking area update

    def _start_t3412(self) -> list[UeAction]:
        """§5.3.5: T3412 runs while a registered UE is in EMM-IDLE mode."""
        if self.state is not EmmState.REGISTERED or not self.t3412_s:
            return []
        return [StartTimer("T3412", self.key, float(self.t3412_s))]

    def _on_cell_changed(self, cell: CellInfo) -> list[UeAction]:
        """§5.5.3.2.2 a): a registered UE entering a TA outside its TAI list updates."""
        self.cell = cell
        if self.state is not EmmState.REGISTERED or cell.tai in self.tai_list:
            return []
        return self._start_tau(nas.TA_UPDATING, "TA not in the TAI list")

    def _on_t3412(self) -> list[UeAction]:
        """§5.5.3.2.2 b): T3412 expired, periodic tracking area updating."""
        if self.state is not EmmState.REGISTERED:
            return []
        return self._start_tau(nas.PERIODIC_UPDATING, "T3412 expired")

    def _start_tau(self, update_type: int, why: str) -> list[UeAction]:
        """TRACKING AREA UPDATE REQUEST (§5.5.3.2.2) with the old GUTI, protected with the
        current context; T3430 guards it."""
        if self.guti is None or self.ctx is None:
            return [LogEvent("emm.tau.impossible", {"imsi": self.key, "reason": why})]
        self.state = EmmState.TRACKING_AREA_UPDATING_INITIATED
        self.ecm = EcmState.CONNECTED
        req = nas.tracking_area_update_request(
            self.guti, update_type, ksi=self.ctx.ksi, last_visited_tai=self.last_visited_tai,
            ue_net_cap=nas.ue_network_capability(eea=self.eea, eia=self.advertised_eia))
        return [StopTimer("T3412", self.key), self._uplink(req),
                StartTimer("T3430", self.key, T3430_S),
                LogEvent("emm.tau.request", {"imsi": self.key, "update_type": update_type,
                                             "reason": why})]

    def _on_tau_accept(self, msg: Message) -> list[UeAction]:
        """§5.5.3.2.4: the new GUTI, TAI list and T3412; TRACKING AREA UPDATE COMPLETE when a
        GUTI was given."""
        if self.state is not EmmState.TRACKING_AREA_UPDATING_INITIATED:
            return self._status(nas.CAUSE_MESSAGE_TYPE_NON_EXISTENT)
        f = msg.fields
        self.state = EmmState.REGISTERED
        self.tai_list = _shared_tais(f.get("tai_list") or self.tai_list)
        if f.get("t3412_value") is not None:
            self.t3412_s = f["t3412_value"]
        self.emergency_numbers = list(f.get("emergency_number_list") or self.emergency_numbers)
        self.last_visited_tai = self.cell.tai if self.cell else self.last_visited_tai
        guti = (f.get("guti") or {}).get("value")
        out: list[UeAction] = [StopTimer("T3430", self.key)]
        if isinstance(guti, Guti):
            self.guti = guti
            out.append(self._uplink(nas.tracking_area_update_complete()))
        return out + [LogEvent("emm.tau.accepted", {"imsi": self.key, "guti": guti_text(
            self.guti) if self.guti else None, "tais": [t.tac for t in self.tai_list]}),
            ProcedureDone("tau", True)]

    def _on_tau_reject(self, msg: Message) -> list[UeAction]:
        """§5.5.3.2.5: #12, #13, #15: the TA is forbidden, the UE stays registered in limited
        service; #9 / #10 (and any other cause here): the UE forgets its registration,
        enters EMM-DEREGISTERED and attaches again."""
        if self.state is not EmmState.TRACKING_AREA_UPDATING_INITIATED:
            return self._status(nas.CAUSE_MESSAGE_TYPE_NON_EXISTENT)
        cause = int(msg.fields.get(nas.EMM_CAUSE, 0))
        done: list[UeAction] = [StopTimer("T3430", self.key),
                                LogEvent("emm.tau.rejected", {"imsi": self.key, "cause": cause}),
                                ProcedureDone("tau", False, cause)]
        if cause in (12, 13, 15):
            self.state, self.substate = EmmState.REGISTERED, EmmSubstate.LIMITED_SERVICE
            if self.cell is not None:
                forbidden = (self.forbidden_tais_regional if cause == 12
                             else self.forbidden_tais_roaming)
                forbidden.append(self.cell.tai)
            return done
        self._forget_registration()
        self.state = EmmState.DEREGISTERED
        self.substate = EmmSubstate.NORMAL_SERVICE
        self.pdn = None
        out = done
        if self.cell is not None and cause in (9, 10):
            attach_type = ATTACH_EMERGENCY if self.emergency else ATTACH_EPS
            out += self._start_attach(self.cell, attach_type)
        return out

    def _on_t3430(self) -> list[UeAction]:
        """§5.5.3.2.6 c): no answer; the UE stays registered and tries on T3412."""
        if self.state is not EmmState.TRACKING_AREA_UPDATING_INITIATED:
            return []
        self.state = EmmState.REGISTERED
        return [LogEvent("emm.tau.timeout", {"imsi": self.key}),
                ProcedureDone("tau", False, reason="T3430 expired"), ReleaseConnection()]

    # ------------------------------------------------------------------ service request

    def _start_service_request(self) -> list[UeAction]:
        """Service request (TS 24.301 §5.6.1.2): SERVICE REQUEST with the KSI, the 5 LSBs of
        the uplink NAS COUNT and the short MAC of the current context (§8.2.25), on a new
        RRC connection named by the S-TMSI; T3417 guards it. T3346 running: none, except for
        an emergency-only UE (§5.6.1.1)."""
        if self.state is EmmState.SERVICE_REQUEST_INITIATED:
            return []
        if self.state is not EmmState.REGISTERED or self.guti is None or self.ctx is None:
            return [ProcedureDone("service", False, None, f"not registered: {self.state.value}")
                    ] + self._service_abandoned("not registered")
        if self.ecm is EcmState.CONNECTED:
            return [ProcedureDone("service", True, None, "already ECM-CONNECTED")]
        if self.t3346_running and not self.emergency:
            return [ProcedureDone("service", False, None, T3346_RUNNING)
                    ] + self._service_abandoned(T3346_RUNNING)
        self.state = EmmState.SERVICE_REQUEST_INITIATED
        self.ecm = EcmState.CONNECTED
        self._secure = False
        pdu = nas.service_request(self.ctx.ksi, self.ctx)
        # TS 36.331 §5.3.3.3: "emergency" for an emergency-only UE, else mo-Data
        cause = "emergency" if self.emergency else "mo-Data"
        return [StopTimer("T3412", self.key),
                SendNas(pdu, rrc_cause=cause, s_tmsi=(self.guti.mme_code, self.guti.m_tmsi)),
                StartTimer("T3417", self.key, T3417_S),
                LogEvent("emm.service.request", {"imsi": self.key,
                                                 "sequence_number": pdu[1] & 0x1F})]

    def _on_radio_bearers(self, ebis: tuple[int, ...]) -> list[UeAction]:
        """§5.6.1.4: the user plane radio bearers are set up: the service request is done,
        and the NAS exchange of the connection is secure (§4.4.5); pending ESM goes."""
        if self.state is not EmmState.SERVICE_REQUEST_INITIATED:
            return []
        self.state = EmmState.REGISTERED
        self._secure = True
        known = sorted({*([self.pdn.ebi] if self.pdn else []), *self.pdns})
        out: list[UeAction] = [
            StopTimer("T3417", self.key),
            LogEvent("emm.service.accepted", {"imsi": self.key, "ebis": sorted(ebis),
                                              "without_radio_bearer": [
                                                  e for e in known if e not in ebis]}),
            ProcedureDone("service", True, None, "user plane radio bearers set up")]
        pending, self._after_service = self._after_service, ()
        for event in pending:
            out += self._start_esm(event)
        return out

    def _on_service_reject(self, msg: Message) -> list[UeAction]:
        """SERVICE REJECT (§5.6.1.5): #9 / #10 the UE forgets its registration and attaches
        again; #11 the PLMN, #12 / #13 / #15 the TA are forbidden (TS 23.122 §3.1); #22 with
        T3346 the UE waits; #18 (CS fallback) changes nothing here. The network releases
        the connection."""
        cause = int(msg.fields.get(nas.EMM_CAUSE, 111))
        t3346 = msg.fields.get("t3346_value")
        self.cause = cause
        out: list[UeAction] = [StopTimer("T3417", self.key),
                               LogEvent("emm.service.rejected", {"imsi": self.key,
                                                                 "cause": cause})]
        if self.state is EmmState.SERVICE_REQUEST_INITIATED:
            self.state = EmmState.REGISTERED
        wait: float | None = None
        if cause in (9, 10, 11):
            attach_type = ATTACH_EMERGENCY if self.emergency else ATTACH_EPS
            self._forget_registration()
            self._deregistered("rejected")
            self.state, self.substate = EmmState.DEREGISTERED, EmmSubstate.NORMAL_SERVICE
            if cause == 11:
                self.substate = EmmSubstate.LIMITED_SERVICE
                self._forbid(cause)
            if cause != 11:
                self._attach_after_release = attach_type  # on a new connection
            return out + self._service_failed(cause, f"service reject #{cause}")
        if cause in (12, 13, 15):
            self.substate = EmmSubstate.LIMITED_SERVICE
            self._forbid(cause)
        elif cause == 22 and isinstance(t3346, int) and t3346 > 0 and not self.emergency:
            self.t3346_running = True
            wait = float(t3346)
            out.append(StartTimer("T3346", self.key, wait))
        return out + self._service_failed(cause, f"service reject #{cause}", wait)

    def _service_failed(self, cause: int | None, why: str,
                        wait: float | None = None) -> list[UeAction]:
        if self.state is EmmState.SERVICE_REQUEST_INITIATED:
            self.state = EmmState.REGISTERED
        self.reason = why
        out: list[UeAction] = [StopTimer("T3417", self.key),
                               ProcedureDone("service", False, cause, why, wait_s=wait)]
        return out + self._service_abandoned(why)

    def _service_abandoned(self, why: str) -> list[UeAction]:
        pending, self._after_service = self._after_service, ()
        return [ProcedureDone("pdn" if isinstance(e, RequestPdn) else "pdn-disconnect", False,
                              None, why) for e in pending]

    def _on_t3417(self) -> list[UeAction]:
        """§5.6.1.6 c): T3417 expired: the procedure is aborted, the connection released."""
        if self.state is not EmmState.SERVICE_REQUEST_INITIATED:
            return []
        self.ecm = EcmState.IDLE
        return [ReleaseConnection()] + self._service_failed(None, "T3417 expired")

    def _forget_registration(self) -> None:
        self.guti = None
        self.tai_list = []
        self.last_visited_tai = None
        self.ctx = None
        self._new_kasme = None

    # ------------------------------------------------------------------ NAS in / out

    def _uplink(self, plain: bytes) -> SendNas:
        """Protect with the current context: integrity always (§4.4.4.1), ciphering once the
        secure exchange is established on this connection (§4.4.5), so that a network which
        lost the context can still read the message it is re-authenticating with."""
        if self.ctx is None:
            return SendNas(plain)
        sht = nas.SHT_INTEGRITY_CIPHERED if self._secure else nas.SHT_INTEGRITY
        return SendNas(nas.protect(plain, self.ctx, UPLINK, sht))

    def _status(self, cause: int) -> list[UeAction]:
        """§5.7: EMM Status reports a received message the UE could not act on."""
        return [self._uplink(nas.emm_status(cause)),
                LogEvent("emm.status.sent", {"imsi": self.key, "cause": cause})]

    def receive_nas(self, pdu: bytes) -> list[UeAction]:
        """`handle(NasReceived(pdu), now)`, the event of nearly every call, without the
        event object."""
        try:
            msg, raw_smc = self._decode(pdu)
        except DecodeError as exc:
            if exc.extra.get("discard") or exc.cause is None:
                return [LogEvent("nas.discarded", {"imsi": self.key, "detail": exc.detail})]
            return self._status(int(exc.cause))
        if msg is None:
            return [LogEvent("nas.discarded", {"imsi": self.key, "detail": "integrity"})]
        if raw_smc is not None:
            return self._on_security_mode_command(msg, raw_smc)
        try:
            return self._dispatch(msg)
        except (KeyError, TypeError, ValueError, EncodeError) as exc:
            # A message whose contents we cannot act on (TS 24.301 §7.7): report, never crash.
            return [LogEvent("nas.unusable", {"imsi": self.key, "message": msg.name,
                                              "detail": str(exc)})] + self._status(
                nas.CAUSE_PROTOCOL_ERROR_UNSPECIFIED)

    def _decode(self, pdu: bytes) -> tuple[Message | None, bytes | None]:
        """(message, raw SMC) — None when §4.4.4.2 says to discard it."""
        sht = pdu[0] >> 4 if pdu and pdu[0] & 0x0F == nas.PD_EMM else 0
        if sht == nas.SHT_INTEGRITY_NEW_CONTEXT:
            msg = nas.decode(pdu, None, DOWNLINK)
            if msg.name != "SecurityModeCommand":
                return None, None
            return msg, pdu
        if sht in (1, 2, 4):
            if self.ctx is None:
                return None, None  # §4.4.4.2: no context to verify it with
            msg = nas.decode(pdu, self.ctx, DOWNLINK)
            if msg.name == "SecurityProtectedNASMessage" or not msg.fields.get("mac_valid"):
                return None, None
            self._secure = True  # §4.4.5: a verified downlink message from the MME
            return msg, None
        msg = nas.decode(pdu, None, DOWNLINK)
        if self.ctx is not None and msg.name not in _PLAIN_ALLOWED:
            return None, None
        return msg, None

    def _dispatch(self, msg: Message) -> list[UeAction]:
        handler = _HANDLERS.get(msg.name)
        if handler is None:
            return [LogEvent("nas.unhandled", {"imsi": self.key, "message": msg.name})]
        return handler(self, msg)


@functools.lru_cache(maxsize=64)
def _advertised_eia(eia: tuple[int, ...]) -> tuple[int, ...]:
    """`eia` and EIA0, in order: one shared tuple per configuration."""
    return tuple(sorted({0, *eia}))


@functools.lru_cache(maxsize=16)
def _attach_complete(ebi: int) -> bytes:
    """ATTACH COMPLETE carrying ACTIVATE DEFAULT EPS BEARER CONTEXT ACCEPT (TS 24.301 §8.2.2,
    §8.3.6): the same octets for every UE whose default bearer has this EPS bearer identity,
    encoded once."""
    return nas.attach_complete(nas.activate_default_eps_bearer_context_accept(ebi=ebi))


@functools.lru_cache(maxsize=1024)
def _pdn_connectivity_request(pti: int, request_type: int, pdn_type: int,
                              esm_info_transfer: bool) -> bytes:
    """The PDN CONNECTIVITY REQUEST of an attach (TS 24.301 §6.5.1.2, §8.3.20): the same
    octets for every UE with the same PTI, request type and PDN type, encoded once. Its PCO
    asks for the P-CSCF IPv4 address (000CH, TS 24.229 §9.2.1 b, TS 24.008 §10.5.6.3): it
    needs no ciphering, so it goes here rather than in the ESM information response."""
    return nas.pdn_connectivity_request(pti=pti, request_type=request_type, pdn_type=pdn_type,
                                        esm_info_transfer=esm_info_transfer,
                                        pco=pco.request(pco.PCSCF_IPV4))


_LINK_LOCAL = b"\xfe\x80" + bytes(6)  # fe80::/64 (RFC 4291 §2.5.6)


def _pdn_from(fields: dict[str, Any]) -> PdnConnection:
    """The default bearer from Activate Default EPS Bearer Context Request (§8.3.6)."""
    addr = fields.get("pdn_address") or {}
    iid = addr.get("ipv6_interface_identifier")
    # TS 23.401 §5.3.1.2.2: the IID forms the link-local address; the prefix comes by RA.
    # (inet_ntop gives the text of str(IPv6Address): RFC 5952, as fe80::/64 has no IPv4 form)
    ipv6 = socket.inet_ntop(socket.AF_INET6, _LINK_LOCAL + bytes(iid)) if iid else None
    ambr = fields.get("apn_ambr")
    return PdnConnection(
        ebi=int(fields.get(nas.EBI, 0)), apn=str(fields.get(nas.APN, "")),
        ipv4=addr.get("ipv4"), ipv6=ipv6,
        apn_ambr=_shared_ambr(ambr["uplink"], ambr["downlink"]) if ambr else None,
        qci=(fields.get("eps_qos") or {}).get("qci"),
        pcscf=tuple(pco.pcscf_addresses(fields.get(nas.PCO))),
    )


# The UEs of a population are given the same few TAI lists and APN-AMBRs: one shared
# object per distinct value (bounded tables), never changed in place.
_TAI_LISTS: dict[tuple[Tai, ...], list[Tai]] = {}
_APN_AMBRS: dict[tuple[int, int], dict[str, int]] = {}
_SHARED_KEPT = 256


def _shared_tais(tais: list[Tai]) -> list[Tai]:
    key = tuple(tais)
    known = _TAI_LISTS.get(key)
    if known is None:
        if len(_TAI_LISTS) >= _SHARED_KEPT:
            _TAI_LISTS.clear()
        known = _TAI_LISTS[key] = list(key)
    return known


def _shared_ambr(uplink: int, downlink: int) -> dict[str, int]:
    known = _APN_AMBRS.get((uplink, downlink))
    if known is None:
        if len(_APN_AMBRS) >= _SHARED_KEPT:
            _APN_AMBRS.clear()
        known = _APN_AMBRS[(uplink, downlink)] = {"uplink_kbps": uplink,
                                                  "downlink_kbps": downlink}
    return known


def _default_imeisv(usim: Usim) -> str:
    """TS 23.003 §6.2.2: TAC (8) + SNR (6) + SVN (2); derived from the IMEI when provisioned."""
    if usim.imei and len(usim.imei) >= 14:
        return usim.imei[:14] + "01"
    return "35000000" + usim.imsi[-6:].zfill(6) + "01"


_HANDLERS: dict[str, Callable[[Ue, Message], list[UeAction]]] = {
    "AttachAccept": Ue._on_attach_accept,
    "AttachReject": Ue._on_attach_reject,
    "TrackingAreaUpdateAccept": Ue._on_tau_accept,
    "TrackingAreaUpdateReject": Ue._on_tau_reject,
    "ServiceReject": Ue._on_service_reject,
    "IdentityRequest": Ue._on_identity_request,
    "AuthenticationRequest": Ue._on_authentication_request,
    "AuthenticationReject": lambda ue, _m: ue._on_authentication_reject(),
    "EMMInformation": Ue._on_emm_information,
    "ESMInformationRequest": Ue._on_esm_information_request,
    "DetachAccept": lambda ue, _m: ue._on_detach_accept(),
    "DetachRequest": Ue._on_network_detach,
    "ActivateDefaultEPSBearerContextRequest": Ue._on_activate_default_request,
    "PDNConnectivityReject": Ue._on_esm_reject,
    "PDNDisconnectReject": Ue._on_esm_reject,
    "DeactivateEPSBearerContextRequest": Ue._on_deactivate_request,
    "ActivateDedicatedEPSBearerContextRequest": Ue._on_activate_dedicated_request,
    "EMMStatus": lambda ue, m: [LogEvent("emm.status.received",
                                         {"imsi": ue.key, "cause": m.fields.get("emm_cause")})],
}

_TIMERS: dict[str, Callable[[Ue], list[UeAction]]] = {
    "T3410": Ue._on_t3410,
    "T3411": Ue._on_t3411,
    "T3421": Ue._on_t3421,
    "T3402": Ue._on_t3402,
    "T3416": Ue._on_t3416,
    "T3412": Ue._on_t3412,
    "T3430": Ue._on_t3430,
    "T3417": Ue._on_t3417,
}
