"""MME contexts: eNBs, UEs, their bearers, and the identifier pools (TS 23.401 §5.7.2).

The MME owns every identifier it hands out: MME UE S1AP IDs (TS 36.413 §9.2.3.3), M-TMSIs of
the GUTIs it allocates (TS 23.003 §2.8), its S11 control TEIDs (TS 29.274 §5.5.2). A pool
never gives out a value still in use, and a released value goes back to it.
"""

from __future__ import annotations

import enum
import functools
import sys
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from corenet.codecs.nas_ies import Guti
from corenet.core.identifiers import home_plmn_of
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import NasSecurityContext


@functools.lru_cache(maxsize=4096)
def location(plmn: str, code: int) -> tuple[Plmn, int]:
    """A TAI (TS 23.003 §19.4.2.3) or an ECGI (§19.6) as a UE context keeps it, shared by the
    contexts in that area or cell: each attached UE holds the same frozen pair, not a copy of
    its own. `plmn` is the PLMN identity's digits (TS 36.413 §9.2.3.8 in the codec's form)."""
    return Plmn.parse(plmn), int(code)


def shared_address(text: Any) -> Any:
    """An IP address text as a UE context keeps it: one string per address, shared by every
    context it serves (an S-GW's, an eNB's), not a copy per UE."""
    return sys.intern(text) if type(text) is str else text


class HomeNetwork(NamedTuple):
    """The home network of an IMSI prefix as the MME serves it (TS 23.003 §2.2)."""

    plmn: Plmn
    realm: str | None  # its realm (TS 23.003 §19.2), None when its UEs are not served
    roamer: bool  # another PLMN than the MME's (TS 23.122 §1.2)


class _NoEntries(dict[Any, Any]):
    """The empty map a UE context's nearly always empty maps start with, one instance shared by
    every context (an empty dict of its own costs 64 bytes per context). It reads, pops a
    missing key and clears like any empty dict, and refuses entries: its owner puts a dict of
    its own in place first (`Pdn.add_dedicated`, `UeSession.add_pdn`)."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("the shared empty map takes no entries")

    __setitem__ = setdefault = update = __ior__ = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> str:
        return "NO_ENTRIES"  # copied or pickled, still the one shared instance


NO_ENTRIES: dict[Any, Any] = _NoEntries()


def _no_entries() -> dict[Any, Any]:
    return NO_ENTRIES


class IdPool:
    """Allocates integers in [low, high], round robin, skipping those in use."""

    def __init__(self, low: int, high: int) -> None:
        self._low, self._high = low, high
        self._next = low
        self._used: set[int] = set()

    def allocate(self) -> int:
        span = self._high - self._low + 1
        if len(self._used) >= span:
            raise OverflowError("identifier pool exhausted")
        while self._next in self._used:
            self._next = self._low if self._next >= self._high else self._next + 1
        value = self._next
        self._used.add(value)
        self._next = self._low if value >= self._high else value + 1
        return value

    def release(self, value: int) -> None:
        self._used.discard(value)

    def in_use(self) -> int:
        return len(self._used)


class ImsiIndex:
    """IMSI -> the MME UE S1AP IDs of the contexts that hold or claim it, in the order they
    took it: the look-up of TS 23.401 §5.3.2.1 step 3 without a scan of every context. The one
    holder an IMSI nearly always has is kept as its bare ID, not in a container of its own."""

    def __init__(self) -> None:
        self._ids: dict[str, int | tuple[int, ...]] = {}

    def holders(self, imsi: str) -> tuple[int, ...]:
        ids = self._ids.get(imsi, ())
        return (ids,) if isinstance(ids, int) else ids

    def add(self, imsi: str, ue_id: int) -> None:
        holders = self.holders(imsi)
        if ue_id not in holders:
            self._ids[imsi] = (*holders, ue_id) if holders else ue_id

    def remove(self, imsi: str, ue_id: int) -> None:
        rest = tuple(i for i in self.holders(imsi) if i != ue_id)
        if len(rest) > 1:
            self._ids[imsi] = rest
        elif rest:
            self._ids[imsi] = rest[0]
        else:
            self._ids.pop(imsi, None)

    def as_dict(self) -> dict[str, tuple[int, ...]]:
        return {imsi: self.holders(imsi) for imsi in self._ids}


class _State(enum.Enum):
    """States hashed by identity: members are singletons, equal only to themselves, so
    `object.__hash__` agrees with their equality, without the Python call of
    `enum.Enum.__hash__` on each look-up of a (step, message) key of a procedure table."""

    __hash__ = object.__hash__


class EnbState(_State):
    """S1 interface instance state (TS 36.413 §8.7.3)."""

    CONNECTED = "connected"  # association up, no S1 Setup yet
    READY = "ready"  # S1 Setup accepted


@dataclass(slots=True)
class EnbContext:
    assoc: int
    state: EnbState = EnbState.CONNECTED
    global_enb_id: Any = None
    name: str | None = None
    plmn: Plmn | None = None
    tacs: tuple[int, ...] = ()
    ue_ids: set[int] = field(default_factory=set)  # MME UE S1AP IDs served through this eNB
    # eNB UE S1AP ID -> MME UE S1AP ID of the UE-associated logical connections (TS 36.413
    # §9.2.3.4: the eNB's ID is unique within the eNB while its connection lasts)
    by_enb_ue_id: dict[int, int] = field(default_factory=dict)

    def bind(self, mme_ue_id: int, enb_ue_id: int) -> None:
        self.ue_ids.add(mme_ue_id)
        self.by_enb_ue_id[enb_ue_id] = mme_ue_id

    def unbind(self, mme_ue_id: int, enb_ue_id: int | None) -> None:
        self.ue_ids.discard(mme_ue_id)
        if enb_ue_id is not None and self.by_enb_ue_id.get(enb_ue_id) == mme_ue_id:
            del self.by_enb_ue_id[enb_ue_id]


class EmmState(_State):
    """EMM states of the network side (TS 24.301 §5.1.3.4)."""

    DEREGISTERED = "EMM-DEREGISTERED"
    COMMON_PROCEDURE_INITIATED = "EMM-COMMON-PROCEDURE-INITIATED"
    REGISTERED = "EMM-REGISTERED"
    DEREGISTERED_INITIATED = "EMM-DEREGISTERED-INITIATED"


class Step(_State):
    """Where the UE is in the attach (TS 23.401 §5.3.2.1 Figure 5.3.2.1-1) or detach."""

    IDENTIFICATION = "identification"  # Identity Request sent, T3470 (step 4)
    AUTH_INFO = "auth-info"  # AIR sent (step 5a)
    AUTHENTICATION = "authentication"  # Authentication Request sent, T3460 (step 5a)
    SECURITY_MODE = "security-mode"  # Security Mode Command sent, T3460 (step 5a)
    ESM_INFO = "esm-info"  # ESM Information Request sent (step 6)
    UPDATE_LOCATION = "update-location"  # ULR sent (step 8)
    CREATE_SESSION = "create-session"  # Create Session Request sent (step 12)
    CONTEXT_SETUP = "context-setup"  # ICS Request with Attach Accept sent, T3450 (step 17)
    ATTACHED = "attached"  # Attach Complete received (step 21)
    DETACHING = "detaching"  # Delete Session Request sent (TS 23.401 §5.3.8.2.1)
    RELEASING = "releasing"  # UE Context Release Command sent (TS 23.401 §5.3.5)


@dataclass(slots=True)
class Bearer:
    """An EPS bearer (TS 23.401 §4.7.2): the default one of a PDN connection, or a dedicated
    one (`linked_ebi` set) with its bit rates and TFT (TS 24.301 §6.4.2)."""

    ebi: int = 5
    qci: int = 9
    arp_priority: int = 8
    pre_emption_capability: int = 1  # TS 29.212 §5.3.46: 1 = disabled
    pre_emption_vulnerability: int = 0  # TS 29.212 §5.3.47: 0 = enabled
    sgw_s1u_ip: str | None = None
    sgw_s1u_teid: int | None = None
    enb_s1u_ip: str | None = None
    enb_s1u_teid: int | None = None
    linked_ebi: int | None = None  # a dedicated bearer's PDN connection (TS 24.301 §9.9.4.6)
    mbr_kbps: tuple[int, int] = (0, 0)  # (uplink, downlink), TS 29.274 §8.15
    gbr_kbps: tuple[int, int] = (0, 0)
    tft: bytes | None = None  # TS 24.008 §10.5.6.12 value part (corenet.codecs.tft)


@dataclass(slots=True)
class Pdn:
    """One PDN connection (TS 23.401 §5.7.2, MM and EPS bearer contexts)."""

    apn: str
    pdn_type: int  # TS 24.301 §9.9.4.10: 1 IPv4, 2 IPv6, 3 IPv4v6
    apn_ambr_ul_bps: int
    apn_ambr_dl_bps: int
    bearer: Bearer
    ipv4: str | None = None
    ipv6_iid: bytes | None = None
    pco: bytes | None = None
    sgw_s11_teid: int | None = None
    sgw_s11_ip: str | None = None
    pgw_s5_fteid: tuple[int, str] | None = None  # (TEID, IP address): S5/S8 control plane
    pgw_address: str | None = None  # the home P-GW of a home-routed PDN (TS 23.401 §4.3.8.1)
    esm_cause: int | None = None  # TS 24.301 §6.5.1.3: why the PDN type was narrowed
    # its dedicated bearers, by EBI (TS 23.401 §5.4.1): kept while the UE is ECM-IDLE
    dedicated: dict[int, Bearer] = field(default_factory=_no_entries)

    def add_dedicated(self, bearer: Bearer) -> None:
        if self.dedicated is NO_ENTRIES:
            self.dedicated = {}
        self.dedicated[bearer.ebi] = bearer

    def bearers(self) -> list[Bearer]:
        """The EPS bearers of the PDN connection (TS 23.401 §4.7.2), its default bearer
        first: what an INITIAL CONTEXT SETUP sets up again (TS 23.401 §5.3.4.1 step 4)."""
        return [self.bearer, *self.dedicated.values()]


class EsmStep(_State):
    """Where a UE-requested PDN connectivity or PDN disconnect is (TS 24.301 §6.5.1, §6.5.2)."""

    CREATING = "creating"  # Create Session Request sent (TS 23.401 §5.10.2 step 3)
    ACTIVATING = "activating"  # E-RAB Setup with the default bearer's activation, T3485
    DELETING = "deleting"  # Delete Session Request sent (TS 23.401 §5.10.3 step 3)
    DEACTIVATING = "deactivating"  # E-RAB Release with the bearer's deactivation, T3495


@dataclass(slots=True)
class EsmProcedure:
    """The one UE-requested ESM procedure running for a UE, by its PTI (TS 24.301 §6.5)."""

    pti: int
    pdn: Pdn
    step: EsmStep


class BearerStep(_State):
    """Where a network-initiated dedicated bearer procedure is (TS 23.401 §5.4.1, §5.4.4.1)."""

    ACTIVATING = "activating"  # E-RAB Setup with the dedicated bearer's activation, T3485
    DEACTIVATING = "deactivating"  # E-RAB Release with the bearer's deactivation, T3495


@dataclass(slots=True)
class BearerProcedure:
    """The S-GW's Create or Delete Bearer Request being carried out for one bearer: the
    response goes to `sgw` with `sequence` once the UE and the eNB answered."""

    step: BearerStep
    pdn: Pdn
    bearer: Bearer
    sgw: tuple[str, int] | None
    sequence: int
    erab_done: bool = False  # E-RAB Setup Response received (TS 36.413 §8.2.1.2)
    esm_done: bool = False  # ACTIVATE DEDICATED EPS BEARER CONTEXT ACCEPT received


@dataclass(slots=True)
class AuthVector:
    """The E-UTRAN vector in use (TS 33.401 §6.1.2)."""

    rand: bytes
    xres: bytes
    autn: bytes
    kasme: bytes


@dataclass(slots=True)
class UeSecurity:
    """The UE's EPS security context at the MME (TS 33.401 §6.1, §7.2; TS 24.301 §4.4)."""

    ue_net_cap: bytes = b""  # UE network capability (TS 24.301 §9.9.3.34)
    ue_ksi: int = 7  # the KSI the UE announced (7: no key available)
    vector: AuthVector | None = None  # from the AIA until security mode control completes
    ksi: int = 0
    resync_done: bool = False  # TS 24.301 §5.4.2.6 d: one re-synchronisation per attach
    mac_failure_identity_done: bool = False  # §5.4.2.6 c: one identification per attach
    sec: NasSecurityContext | None = None
    secured: bool = False  # security mode control completed (TS 24.301 §5.4.3.4)


@dataclass(slots=True)
class UeSession:
    """Subscription and PDN connection of the UE (TS 23.401 §5.7.2, EPS bearer contexts)."""

    # the attach's PDN CONNECTIVITY REQUEST (decoded ESM container) until the attach completes
    pdn_request: dict[str, Any] = field(default_factory=_no_entries)
    # that container and what it asks for, read once (esm.requested_pdn), None once answered
    pdn_request_read: tuple[dict[str, Any], Any] | None = None
    # corenet.codecs.s6a.SubscriptionData without its MSISDN (`UeContext.msisdn`), shared by
    # the UEs of one profile (session.subscription_profile)
    subscription: Any = None
    ue_ambr_ul_bps: int = 0
    ue_ambr_dl_bps: int = 0
    pdn: Pdn | None = None
    session_created: bool = False  # the S-GW holds the PDN connection (TS 29.274 §7.2.1)
    location_updated: bool = False  # ULA received: the HSS holds us as serving MME
    # PDN connections the UE requested after the attach (TS 24.301 §6.5.1), by default EBI
    additional_pdns: dict[int, Pdn] = field(default_factory=_no_entries)
    esm_procedure: EsmProcedure | None = None
    bearer_procedure: BearerProcedure | None = None  # dedicated_bearer.py

    def add_pdn(self, pdn: Pdn) -> None:
        """A PDN connection the UE requested after the attach, by its default EBI."""
        if self.additional_pdns is NO_ENTRIES:
            self.additional_pdns = {}
        self.additional_pdns[pdn.bearer.ebi] = pdn


@dataclass(slots=True)
class NasTimer:
    """The one NAS timer running for the UE (TS 24.301 §10.2) and what it guards."""

    name: str | None = None
    # the downlink NAS message it guards: (plain, security header type)
    pending: tuple[bytes, int] | None = None
    retransmissions: int = 0


@dataclass(slots=True)
class UeContext:
    """One UE (TS 23.401 §5.7.2); keyed by its MME UE S1AP ID."""

    mme_ue_id: int
    enb_assoc: int | None
    enb_ue_id: int | None
    tai: tuple[Plmn, int]
    ecgi: tuple[Plmn, int]
    emm_state: EmmState = EmmState.DEREGISTERED  # written by emm_sm.transition only
    step: Step | None = None
    imsi: str | None = None
    imeisv: str | None = None
    msisdn: str | None = None
    guti: Guti | None = None
    identified_by_request: bool = False  # IMSI learnt from an Identity Response
    # the IMSI is only claimed: until security mode control completes the context neither
    # replaces an older one of the same IMSI nor is found by it (TS 33.401 §5.1.4, §7.2.4.4;
    # TS 24.301 §5.5.1.2.7: no state change on an unverified identity)
    imsi_claimed: bool = False
    attach_type: int = 1
    attach_complete: bool = False
    switch_off: bool = False
    s1_release_cause: tuple[str, str] | None = None
    # emergency bearer services (TS 23.401 §4.3.12)
    emergency: bool = False  # attach type 6 admitted: only the emergency PDN
    authenticated: bool = False  # EPS AKA succeeded with the home HSS
    imei: str | None = None  # the identity of an IMEI-only emergency attach
    plan: Any = None  # corenet.nf.mme.policy.AttachPlan of the running attach
    # UE Radio Capability from UE CAPABILITY INFO INDICATION (TS 36.413 §8.9), given back in
    # the next INITIAL CONTEXT SETUP REQUEST (§9.1.4.1); deleted on attach (TS 23.401 §5.11.2)
    ue_radio_capability: bytes | None = None
    # the M-TMSI a TRACKING AREA UPDATE ACCEPT replaced: both GUTIs stay valid until the
    # TRACKING AREA UPDATE COMPLETE (TS 24.301 §5.5.3.2.4)
    old_m_tmsi: int | None = None
    tau_active: bool = False  # the running TAU asked for its bearers (TS 24.301 §9.9.3.14)
    security: UeSecurity = field(default_factory=UeSecurity)
    session: UeSession = field(default_factory=UeSession)
    nas_timer: NasTimer = field(default_factory=NasTimer)

    @property
    def unauthenticated_emergency(self) -> bool:
        return self.emergency and not self.authenticated

    @property
    def home_plmn(self) -> Plmn | None:
        return None if self.imsi is None else home_plmn_of(self.imsi)
