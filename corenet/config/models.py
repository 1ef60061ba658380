"""Settings of every network function: one pydantic model per config section.

Defaults describe the reference topology: the affected operator 440-10 (home HSS) and the rescuing
operator 440-20 (MME, S/P-GW, eNBs), each function on its own loopback address so captures read
like a real network.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from corenet.core.plmn import Plmn


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _plmn(v: object) -> str:
    return str(Plmn.parse(str(v)))


# "44010" or "440-10"; YAML may hand us an int.
PlmnStr = Annotated[str, BeforeValidator(_plmn)]


class Endpoint(Strict):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535, description="0 binds a free port")

    @field_validator("host")
    @classmethod
    def _ip(cls, v: str) -> str:
        ipaddress.ip_address(v)
        return v


SctpMode = Literal["auto", "kernel", "fallback"]


# ----------------------------------------------------------------------------- Diameter peers


class DiameterPeerSpec(Strict):
    """A configured Diameter peer: its DiameterIdentity (Origin-Host, RFC 6733 §4.3.1) and the
    addresses its connections come from. A CER naming this Origin-Host from any other address
    is refused with DIAMETER_UNKNOWN_PEER (RFC 6733 §5.3, §5.6.1)."""

    origin_host: str = Field(min_length=1)
    addresses: list[str] = Field(min_length=1)
    # a relay/proxy agent (RFC 6733 §2.8): its requests may carry another Origin-Host when a
    # Route-Record AVP shows they were relayed (§6.1.9, §6.7.1)
    agent: bool = False

    @field_validator("addresses")
    @classmethod
    def _ips(cls, v: list[str]) -> list[str]:
        return [str(ipaddress.ip_address(a)) for a in v]


class DiameterTls(Strict):
    """Diameter over TLS/TCP (RFC 6733 §2.1, §13.1): TLS from the start of the connection,
    port 5658. PEM files; `ca` verifies the peer's certificate, whose identity (subjectAltName
    dNSName) must be the peer's Origin-Host."""

    cert: str | None = Field(default=None, description="PEM certificate chain of this node")
    key: str | None = Field(default=None, description="PEM private key of `cert`")
    ca: str | None = Field(default=None, description="PEM CA bundle verifying the peer")


DIAMETER_TLS_PORT = 5658  # RFC 6733 §2.1 (IANA "diameters")


# ----------------------------------------------------------------------------- HSS (home)


class HssConfig(Strict):
    """The affected operator's HSS (TS 29.272 S6a server)."""

    plmn: PlmnStr = "44010"
    origin_host: str = "hss.epc.mnc010.mcc440.3gppnetwork.org"
    origin_realm: str = "epc.mnc010.mcc440.3gppnetwork.org"
    listen: Endpoint = Endpoint(host="127.0.0.3", port=3868)
    transport: Literal["tcp", "sctp"] = "tcp"
    database: str = Field(default="corenet-hss.db", description="SQLite file; ':memory:' for none")
    subscribers_file: str | None = "configs/subscribers.yaml"
    # RFC 6733 §5.3: CER accepted only from these peers (Origin-Host and source addresses);
    # empty = any peer, each connection still bound to the Origin-Host of its CER.
    peers: list[DiameterPeerSpec] = [DiameterPeerSpec(
        origin_host="mme.epc.mnc020.mcc440.3gppnetwork.org", addresses=["127.0.0.2"]),
        # the home S-CSCF over Cx (TS 29.229)
        DiameterPeerSpec(origin_host="scscf.ims.mnc010.mcc440.3gppnetwork.org",
                         addresses=["127.0.0.9"])]
    max_vectors_per_air: int = Field(default=5, ge=1, le=32)
    # AIRs served in any 1-second window; beyond, DIAMETER_TOO_BUSY (RFC 6733 §7.1.3) and DOIC
    # overload reports to MMEs that announce DOIC (RFC 7683). None = unlimited.
    capacity_air_per_s: float | None = Field(default=None, gt=0)
    # RFC 7683 §7.5: how long a DOIC overload report stays in force at the MME
    doic_validity_s: int = Field(default=10, ge=1, le=86_400)
    watchdog_s: float = Field(default=30.0, gt=0)
    # Diameter over TLS (RFC 6733 §13.1): `cert` and `key` required; with `ca`, peers must
    # present a certificate naming their Origin-Host. None = plain TCP/SCTP.
    tls: DiameterTls | None = None
    # failure injection endpoint (JSON lines over TCP) when the HSS runs alone; port 0 disables
    control: Endpoint = Endpoint(host="127.0.0.3", port=7000)

    @field_validator("peers", mode="before")
    @classmethod
    def _peer_entries(cls, v: object) -> object:
        for entry in v if isinstance(v, list) else []:
            if isinstance(entry, str):
                raise ValueError(f"peer {entry!r}: give {{origin_host: {entry}, addresses: "
                                 f"[the IP addresses it connects from]}} (RFC 6733 §5.6.1)")
        return v

    @model_validator(mode="after")
    def _tls(self) -> HssConfig:
        if self.tls is not None:
            if self.transport != "tcp":
                raise ValueError("hss.tls: Diameter over TLS runs on TCP (RFC 6733 §2.1)")
            if not (self.tls.cert and self.tls.key):
                raise ValueError("hss.tls: cert and key are needed to serve TLS")
        return self


# ----------------------------------------------------------------------------- MME (rescuer)


class NetworkName(Strict):
    """TS 24.301 §9.9.3.24 / TS 24.008 §10.5.3.5a."""

    full: str = "JPN-ROAM X"
    short: str = "JPN-ROAM X"


class EmergencyNumber(Strict):
    """TS 24.008 §10.5.3.13; categories per TS 24.008 §10.5.4.33."""

    digits: str
    categories: list[
        Literal["police", "ambulance", "fire_brigade", "marine_guard", "mountain_rescue"]
    ]

    @field_validator("digits")
    @classmethod
    def _digits(cls, v: str) -> str:
        if not v.isdigit() or not 1 <= len(v) <= 10:
            raise ValueError("emergency number must be 1-10 decimal digits")
        return v


class AmbrCap(Strict):
    ul_bps: int = Field(default=300_000, ge=0)
    dl_bps: int = Field(default=300_000, ge=0)


RoamingMode = Literal["off", "full", "emergency-auth", "emergency-unauth"]


class RoamingPolicyEntry(Strict):
    """What roamers of one home PLMN get, in `tacs` (None: every TA) (TS 23.401 §4.3.12.1)."""

    home_plmn: PlmnStr
    tacs: list[int] | None = None
    mode: RoamingMode = "full"
    # emergency-unauth, "IMSI required, authentication optional": try AKA before going on
    try_aka_first: bool = False
    # emergency-unauth, "all UEs": IMEI-only emergency attach of a UE without USIM
    allow_imei_only: bool = False
    # emergency-auth: serve emergency attaches unauthenticated while the home HSS is unreachable
    fallback_unauth_when_hss_down: bool = False
    # the mode served while the home core is reported failed (None: unchanged)
    on_home_core_failed: RoamingMode | None = "emergency-auth"


class MvnoEntry(Strict):
    """An MVNO of a host MNO, as the rescuer knows it (corenet.nf.mme.mvno).

    full: its own HSS, home PLMN and IMSI range, reached through the host's Diameter agents;
    light: subscribers held by the host's HSS, told apart by IMSI range. Each MVNO states
    whether it offers JAPAN Roaming and in which modes."""

    name: str = Field(min_length=1)
    kind: Literal["full", "light"]
    host_plmn: PlmnStr
    # the MVNO's own PLMN (full MVNO with its own MNC); its IMSIs start with it
    home_plmn: PlmnStr | None = None
    # IMSI ranges as prefixes (e.g. "44010500"); a longer prefix wins over a home PLMN
    imsi_prefixes: list[Annotated[str, Field(pattern=r"^[0-9]{5,15}$")]] = []
    offers_roaming: bool = True
    modes: list[RoamingMode] = ["full", "emergency-auth", "emergency-unauth"]
    # light MVNO: the host's L2/L3 interconnect APN its subscribers' data goes to, routed to
    # the host's P-GW (home-routed, VPLMN-Dynamic-Address-Allowed not set, TS 29.272 §7.3.38)
    interconnect_apn: str | None = None

    @model_validator(mode="after")
    def _range(self) -> MvnoEntry:
        if self.home_plmn is None and not self.imsi_prefixes:
            raise ValueError(f"mvno {self.name}: give home_plmn or imsi_prefixes (its IMSIs)")
        return self


class Roaming(Strict):
    """What the rescuer gives roamers (seed: 300 kbps, "JPN-ROAM X", 110/118/119)."""

    ambr_cap: AmbrCap = AmbrCap()
    network_name: NetworkName = NetworkName()
    emergency_numbers: list[EmergencyNumber] = [
        EmergencyNumber(digits="110", categories=["police"]),
        EmergencyNumber(digits="118", categories=["marine_guard"]),
        EmergencyNumber(digits="119", categories=["fire_brigade", "ambulance"]),
    ]
    # home PLMN -> allowed (issue-level policy lives in the MME; "full" is the default mode)
    home_plmns: list[PlmnStr] = ["44010"]
    # per home PLMN (and optionally per TA list) what roamers get; see corenet.nf.mme.policy
    policies: list[RoamingPolicyEntry] = [RoamingPolicyEntry(home_plmn="44010")]
    # MVNOs of the home MNOs (corenet.nf.mme.mvno): admitted under their host's rule
    mvnos: list[MvnoEntry] = [
        MvnoEntry(name="mvno-full", kind="full", host_plmn="44010", home_plmn="44011"),
        MvnoEntry(name="mvno-light", kind="light", host_plmn="44010",
                  imsi_prefixes=["4401090"], interconnect_apn="mvno-light.interconnect"),
    ]


class DiameterRoute(Strict):
    """Realm-based routing of S6a requests (RFC 6733 §6.1)."""

    realm: str
    host: str
    peer: Endpoint
    transport: Literal["tcp", "sctp"] = "tcp"
    # Diameter over TLS to this peer (RFC 6733 §13.1): `ca` verifies its certificate, which
    # must name `host`; `cert`/`key` are presented when the peer asks for one.
    tls: DiameterTls | None = None
    # the peer is a relay/proxy agent (RFC 6733 §2.8): requests it relays (e.g. a CLR from the
    # HSS behind it, with its Route-Record, §6.7.1) are taken with their own Origin-Host
    agent: bool = False

    @model_validator(mode="after")
    def _tls(self) -> DiameterRoute:
        if self.tls is not None:
            if self.transport != "tcp":
                raise ValueError("diameter route tls: Diameter over TLS runs on TCP")
            if not self.tls.ca:
                raise ValueError("diameter route tls: ca is needed to verify the peer")
            if bool(self.tls.cert) != bool(self.tls.key):
                raise ValueError("diameter route tls: cert and key go together")
        return self


class Security(Strict):
    """NAS algorithm preference, most preferred first (TS 33.401 §7.2.4.4)."""

    eia: list[int] = [2]
    eea: list[int] = [2, 0]

    @field_validator("eia", "eea")
    @classmethod
    def _algs(cls, v: list[int]) -> list[int]:
        if not v or any(a not in (0, 1, 2, 3) for a in v):
            raise ValueError("algorithms are 0..3 and at least one is needed")
        return v


class NasTimers(Strict):
    """TS 24.301 §10.2 Table 10.2.1: T3450, T3460, T3470 = 6 s, retransmitted four times;
    §10.3 Table 10.3.1: T3489 (ESM information request) = 4 s."""

    t3450_s: float = Field(default=6.0, gt=0)
    t3460_s: float = Field(default=6.0, gt=0)
    t3470_s: float = Field(default=6.0, gt=0)
    t3489_s: float = Field(default=4.0, gt=0)
    # §10.3 Table 10.3.1: T3485 (default bearer activation), T3495 (deactivation) = 8 s
    t3485_s: float = Field(default=8.0, gt=0)
    t3495_s: float = Field(default=8.0, gt=0)
    max_retransmissions: int = Field(default=4, ge=0)


class EmergencyConfig(Strict):
    """Emergency bearer services (TS 23.401 §4.3.12.3): APN, QoS and P-GW from the MME's
    configuration, never from the HSS."""

    apn: str = "sos"
    qci: int = Field(default=5, ge=1, le=255)  # TS 23.203 Table 6.1.7: QCI 5 IMS signalling
    arp_priority: int = Field(default=1, ge=1, le=15)
    ambr: AmbrCap = AmbrCap()
    pgw_s5s8_address: str | None = None  # None: the MME's pgw_s5s8_address


class MmeConfig(Strict):
    name: str = "mme01.rescuer"
    plmn: PlmnStr = "44020"
    origin_host: str = "mme.epc.mnc020.mcc440.3gppnetwork.org"
    origin_realm: str = "epc.mnc020.mcc440.3gppnetwork.org"
    mme_group_id: int = Field(default=0x8001, ge=0, le=0xFFFF)
    mme_code: int = Field(default=1, ge=0, le=0xFF)
    relative_capacity: int = Field(default=127, ge=0, le=255)
    s1ap: Endpoint = Endpoint(host="127.0.0.2", port=36412)
    sctp: SctpMode = "auto"
    # SBc-AP towards the CBC (TS 29.168 §4.1.3: SCTP port 29168, the CBC connects); None: off
    sbcap: Endpoint | None = None
    # S1 limits: an association that has not completed S1 Setup (TS 36.413 §8.7.3) within
    # s1_setup_timeout_s is closed; at most max_associations eNB associations, and at most
    # max_ue_contexts_per_enb UE-associated logical connections per eNB (TS 36.413 §8.6.2.1)
    s1_setup_timeout_s: float = Field(default=10.0, gt=0)
    max_associations: int = Field(default=1024, ge=1)
    max_ue_contexts_per_enb: int = Field(default=4096, ge=1)
    # a UE context neither registered nor running a procedure is released after this long
    # (UE Context Release, TS 36.413 §8.3.3)
    nas_guard_s: float = Field(default=30.0, gt=0)
    tacs: list[int] = [1, 2]
    s11_local: Endpoint = Endpoint(host="127.0.0.2", port=2123)
    sgw: Endpoint = Endpoint(host="127.0.0.4", port=2123)
    diameter_local_host: str = "127.0.0.2"
    diameter_routes: list[DiameterRoute] = [
        DiameterRoute(
            realm="epc.mnc010.mcc440.3gppnetwork.org",
            host="hss.epc.mnc010.mcc440.3gppnetwork.org",
            peer=Endpoint(host="127.0.0.3", port=3868),
        )
    ]
    diameter_request_timeout_s: float = Field(default=5.0, gt=0)
    diameter_watchdog_s: float = Field(default=30.0, gt=0)
    security: Security = Security()
    timers: NasTimers = NasTimers()
    roaming: Roaming = Roaming()
    t3412_s: int = Field(default=3240, ge=0)
    # TS 36.413 §9.2.1.22 / TS 23.401 §4.3.5.7: PLMNs the eNB may hand a full-service UE
    # over to (Handover Restriction List, equivalent PLMNs); emergency-only UEs get none
    equivalent_plmns: list[PlmnStr] = []
    # TS 23.401 §5.3.2.1 step 12: the P-GW S5/S8 control address the MME gives the S-GW
    pgw_s5s8_address: str = "127.0.0.5"
    # TS 23.401 §4.3.8.1: the home network's P-GW (S8 GTPv2-C address) per home PLMN, selected
    # for a roamer's APN whose VPLMN-Dynamic-Address-Allowed is not set (home-routed)
    home_pgws: dict[PlmnStr, str] = {}
    # TS 29.274 §7.6: how long the MME waits for an S11 response (after retransmissions):
    # N3-REQUESTS (3) attempts, T3-RESPONSE = a third of it apart
    s11_request_timeout_s: float = Field(default=10.0, gt=0)
    # TS 24.008 §10.5.3.8: local time zone sent in EMM INFORMATION, in quarter-hours (JST +9h)
    time_zone_quarters: int = Field(default=36, ge=-79, le=79)
    emergency: EmergencyConfig = EmergencyConfig()
    # after an S6a request got no answer, the home HSS is held unreachable this long before it
    # is tried again (a watchdog-checked link coming back ends the hold at once)
    hss_retry_after_s: float = Field(default=10.0, gt=0)
    # control API (JSON lines over TCP, corenet.control); port 0 disables it
    control: Endpoint = Endpoint(host="127.0.0.2", port=7000)
    # TS 23.007 §18 / TS 29.274 §8.5: the MME's GTP-C restart counter, kept in this file and
    # incremented at each start (the MME keeps no state across restarts); None: not kept on
    # disk, derived from the start time
    restart_counter_file: str | None = None
    # TS 29.274 §7.1.1: period of Echo Requests to the S-GW (path management), which also
    # shows an S-GW restart while no UE signals (TS 23.007 §16.1.3)
    s11_echo_interval_s: float = Field(default=60.0, gt=0)
    # RFC 7683: announce DOIC to the home HSSs (OC-Supported-Features in AIRs) and honour their
    # overload reports by throttling new attaches
    doic: bool = True
    # TS 24.301 §5.3.7: the largest T3346 sent with ATTACH REJECT #22 (congestion); each UE gets
    # a random value between half of it and it (TS 23.401 §4.3.7.4.2.1)
    t3346_s: int = Field(default=60, ge=2, le=1860)



# ----------------------------------------------------------------------------- S/P-GW


class ApnPool(Strict):
    apn: str
    ipv4: str | None = None
    ipv6: str | None = None

    @model_validator(mode="after")
    def _nets(self) -> ApnPool:
        if self.ipv4 is None and self.ipv6 is None:
            raise ValueError("an APN pool needs ipv4 or ipv6")
        if self.ipv4 is not None:
            ipaddress.IPv4Network(self.ipv4)
        if self.ipv6 is not None:
            ipaddress.IPv6Network(self.ipv6)
        return self


class PcrfLink(Strict):
    """Where a PCRF client (the P-GW over Gx, TS 29.212; the P-CSCF over Rx, TS 29.214)
    reaches the PCRF: its DiameterIdentity and realm (Destination-Host/-Realm) and address."""

    host: str = "pcrf.epc.mnc020.mcc440.3gppnetwork.org"
    realm: str = "epc.mnc020.mcc440.3gppnetwork.org"
    peer: Endpoint = Endpoint(host="127.0.0.15", port=3868)
    origin_host: str = Field(min_length=1, description="this client's DiameterIdentity")
    origin_realm: str = "epc.mnc020.mcc440.3gppnetwork.org"
    local_host: str | None = Field(default=None, description="source address of the connection")
    watchdog_s: float = Field(default=30.0, gt=0)
    # one guard per request (RFC 6733 §6.1 / the peer machine's timer): on expiry the P-CSCF
    # answers the SIP request it holds with 503 (TS 29.214 §4.4.1 binding not possible)
    request_timeout_s: float = Field(default=3.0, gt=0)


class SgwPgwConfig(Strict):
    s11: Endpoint = Endpoint(host="127.0.0.4", port=2123)
    s1u_address: str = "127.0.0.4"
    s5_address: str = "127.0.0.5"
    pools: list[ApnPool] = [
        # Loopback ranges by default: a simulated UE's IMS user agent sends from its own PDN
        # address on this machine. Give real ranges when the S/P-GW serves real UEs.
        ApnPool(apn="internet", ipv4="127.145.0.0/16", ipv6="2001:db8:45::/48"),
        ApnPool(apn="ims", ipv4="127.146.0.0/16", ipv6="2001:db8:46::/48"),
        ApnPool(apn="sos", ipv4="127.147.0.0/16", ipv6="2001:db8:47::/48"),
    ]
    # TS 29.274 §8.5 / §7.1.2: Recovery (restart counter) in Echo and first-contact messages.
    # None: kept next to `database` ("<database>.restart") and incremented at each start that
    # lost the sessions (TS 23.007 §18); a number: that value, always
    restart_counter: int | None = Field(default=None, ge=0, le=255)
    # sessions and address allocations, written before each response leaves and restored at
    # start (TS 23.007 §18); ':memory:' for none (each start then loses the sessions)
    database: str = Field(default="corenet-sgw-pgw.db",
                          description="SQLite file; ':memory:' for none")
    # The MMEs (S11 source addresses) this S/P-GW serves; GTPv2-C from any other host is
    # dropped (TS 33.210 §5: GTP-C only between authorised network elements). In a whole
    # network configuration it defaults to the MME's s11_local address.
    mme_peers: list[str] = ["127.0.0.2"]
    # PDN connections one MME may hold per APN; 0: an equal share of the APN's pool per MME
    max_sessions_per_peer: int = Field(default=0, ge=0)
    # TS 29.274 §7.1.1: period of Echo Requests to each MME holding sessions; after
    # N3-REQUESTS unanswered attempts the path is down and its sessions are released
    # (TS 23.007 §20)
    echo_interval_s: float = Field(default=60.0, gt=0)
    # TS 29.274 §7.6: T3-RESPONSE and N3-REQUESTS (total attempts) for S11 requests
    t3_response_s: float = Field(default=3.0, gt=0)
    n3_requests: int = Field(default=3, ge=1)
    # T3-RESPONSE of Create / Delete Bearer Requests, whose answer waits for the UE: the MME
    # may resend the NAS request five times, T3485 / T3495 apart (TS 24.301 §6.4.2.6, §10.3)
    bearer_t3_response_s: float = Field(default=15.0, gt=0)
    # TS 24.008 §10.5.6.3: P-CSCF and DNS addresses given in PCO when the UE asks for them
    pcscf: list[str] = ["127.0.0.6"]
    dns: list[str] = []
    # TS 23.401 §4.3.8.1 home-routed roaming over S8: the home P-GWs this S-GW may send a
    # roamer's Create Session to (the MME names one), and the visited S-GWs this P-GW serves
    s8_peers: list[str] = []
    # Gx to the PCRF (TS 29.212): None runs without it, with the static policy of the APN
    # pools (no dedicated bearers); a whole-network configuration points it at `pcrf`
    pcrf: PcrfLink | None = None

    @field_validator("pcscf", "dns", "mme_peers", "s8_peers")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for a in v:
            ipaddress.ip_address(a)
        return v


# ----------------------------------------------------------------------------- access + UEs


class Cell(Strict):
    cell_id: int = Field(ge=0, le=0xFF, description="cell part of the 28-bit E-UTRAN cell id")


class EnbConfig(Strict):
    name: str
    global_enb_id: int = Field(ge=0, le=0xFFFFF)
    plmn: PlmnStr = "44020"
    broadcast_plmns: list[PlmnStr] = ["44020"]
    tac: int = Field(ge=0, le=0xFFFF)
    cells: list[Cell] = [Cell(cell_id=1)]
    address: str = "127.0.1.1"
    mme: Endpoint = Endpoint(host="127.0.0.2", port=36412)
    # the eNB's user inactivity timer: a connection without traffic this long is released
    # (UE CONTEXT RELEASE REQUEST, cause user-inactivity, TS 36.413 §8.3.2; the UE goes to
    # ECM-IDLE, TS 23.401 §5.3.5, and comes back by a service request); None: never
    inactivity_release_s: float | None = Field(default=None, gt=0)



class SimUeConfig(Strict):
    enbs: list[EnbConfig] = [
        EnbConfig(name="enb1", global_enb_id=0x101, tac=1, address="127.0.1.1"),
        EnbConfig(name="enb2", global_enb_id=0x102, tac=2, address="127.0.1.2"),
    ]
    subscribers_file: str = "configs/subscribers.yaml"
    selection: Literal["automatic", "manual"] = "manual"
    eea: list[int] = [2, 0]
    eia: list[int] = [2]
    # UE attach timers (TS 24.301 §10.2 Table 10.2.2; retries of §5.5.1.2.6)
    t3410_s: float = Field(default=15.0, gt=0)
    t3411_s: float = Field(default=10.0, gt=0)
    t3402_s: float = Field(default=720.0, gt=0)
    # eNB: first wait before re-opening a lost S1 association, doubled up to the max
    s1_reconnect_s: float = Field(default=1.0, gt=0)
    s1_reconnect_max_s: float = Field(default=30.0, gt=0)


# ----------------------------------------------------------------------------- IMS + PSAP


class PsapRoute(Strict):
    """One PSAP of the E-CSCF's table (TS 23.167 §6.2.1: PSAP chosen from the caller's
    location); `services` restricts it to some urn:service:sos.* (empty: every one)."""

    prefecture: str
    uri: str = "sip:psap@127.0.0.8:5060"
    services: list[str] = []


class CellArea(Strict):
    """Cells (by TAC, or by E-UTRAN cell identity) -> prefecture."""

    prefecture: str
    tacs: list[int] = []
    ecis: list[int] = []


class DialRule(Strict):
    """A number whose route depends on the caller's charging area (seed: #7119, #9110, 0120,
    0800): "block" answers `status`; "fixed-area" routes it as dialled from `area`."""

    prefix: str
    action: Literal["block", "fixed-area"] = "block"
    status: int = Field(default=403, ge=400, le=699)
    area: str = "+81-3"  # RFC 3966 §5.1.5 phone-context of the fixed charging area (Tokyo)


class DialPlanConfig(Strict):
    """The rescuer's dial plan (TS 24.229 §5.2.10.1, TS 22.101 §10.1.1)."""

    # emergency number -> RFC 5031 service URN (seed: 110 police, 118 coast guard, 119 fire)
    emergency: dict[str, str] = {
        "110": "urn:service:sos.police",
        "118": "urn:service:sos.marine",
        "119": "urn:service:sos.fire",
    }
    # caller-ID prefixes (184 withhold, 186 present) the rescuer's network has no route for
    caller_id_prefixes: list[str] = ["184", "186"]
    caller_id_prefix_status: int = Field(default=404, ge=400, le=699)
    rules: list[DialRule] = [
        DialRule(prefix="#7119", action="fixed-area"),
        DialRule(prefix="#9110", action="fixed-area"),
        DialRule(prefix="0120", action="block"),
        DialRule(prefix="0800", action="block"),
    ]


class HomeImsRoute(Strict):
    """Where the home IMS (S-CSCF) of one home PLMN is reached (full roaming)."""

    plmn: PlmnStr = "44010"
    domain: str = "ims.mnc010.mcc440.3gppnetwork.org"
    address: Endpoint = Endpoint(host="127.0.0.9", port=5060)


class SipLimitsConfig(Strict):
    """What a SIP element accepts from a peer (RFC 3261 §18.1.1, §21.4.1, §21.5.14)."""

    max_message: int = Field(default=65535, ge=1300, le=1048576,
                             description="octets: the largest UDP datagram (RFC 3261 §18.1.1)")
    max_headers: int = Field(default=128, ge=8)
    max_header_line: int = Field(default=8192, ge=256, description="octets of one header, folded")
    max_folded_lines: int = Field(default=32, ge=0,
                                  description="continuation lines in the whole header section")


class PcscfConfig(Strict):
    listen: Endpoint = Endpoint(host="127.0.0.6", port=5060)
    domain: str = "ims.mnc020.mcc440.3gppnetwork.org"
    plmn: PlmnStr = "44020"
    ecscf: Endpoint = Endpoint(host="127.0.0.7", port=5060)
    home_ims: list[HomeImsRoute] = [HomeImsRoute()]
    # TS 23.401 §4.3.12.3: the PDN connection of emergency bearer services
    emergency_apn: str = "sos"
    # Rx to the PCRF (TS 29.214): the binding of each UE address to its IP-CAN session. None:
    # the S/P-GW of the same process is read directly; a whole-network configuration points it
    # at `pcrf`
    pcrf: PcrfLink | None = None
    # RFC 3261 §12: how long a dialog the P-CSCF took part in is remembered (no session timer)
    dialog_lifetime_s: float = Field(default=7200.0, gt=0)
    max_dialogs: int = Field(default=100000, ge=1)


class EcscfConfig(Strict):
    listen: Endpoint = Endpoint(host="127.0.0.7", port=5060)
    areas: list[CellArea] = [CellArea(prefecture="Tokyo", tacs=[1]),
                             CellArea(prefecture="Miyagi", tacs=[2])]
    psaps: list[PsapRoute] = [PsapRoute(prefecture="Tokyo"),
                              PsapRoute(prefecture="Miyagi")]
    default_psap: str = "sip:psap@127.0.0.8:5060"
    # RFC 3325 §2.3 trust domain: the P-CSCF addresses it serves (besides its own IMS's)
    pcscfs: list[str] = ["127.0.0.6"]


class CxConfig(Strict):
    """The home S-CSCF's (and I-CSCF role's) Cx link to the home HSS (TS 29.228, TS 29.229)."""

    origin_host: str = "scscf.ims.mnc010.mcc440.3gppnetwork.org"
    origin_realm: str = "ims.mnc010.mcc440.3gppnetwork.org"
    # the source address of the Cx connection; None = the S-CSCF's listen host
    local_host: str | None = None
    hss: Endpoint = Endpoint(host="127.0.0.3", port=3868)
    hss_host: str = "hss.epc.mnc010.mcc440.3gppnetwork.org"
    hss_realm: str = "epc.mnc010.mcc440.3gppnetwork.org"
    # RFC 6733 §5.5 / the one guard of a Cx request; no answer -> 480 (UAR) or 504 (MAR, SAR)
    request_timeout_s: float = Field(default=3.0, gt=0)
    watchdog_s: float = Field(default=30.0, gt=0)
    # TS 33.203 §6.1: how long an IMS AKA challenge (401) waits for the UE's answer
    challenge_lifetime_s: float = Field(default=60.0, gt=0)


class HomeImsConfig(Strict):
    """The affected operator's registrar / S-CSCF (TS 24.229 §5.4)."""

    listen: Endpoint = Endpoint(host="127.0.0.9", port=5060)
    domain: str = "ims.mnc010.mcc440.3gppnetwork.org"
    default_expires_s: int = Field(default=600000, ge=1)
    # E.164 prefixes of the home operator's subscribers: an unregistered one is unreachable
    # (480); any other number is answered by the emulated PSTN breakout
    subscriber_prefixes: list[str] = ["+8190", "+8180", "+8170"]
    answer_other_numbers: bool = True
    # RFC 3325 §2.3: the P-CSCFs whose REGISTER (P-Asserted-Identity) and originating
    # requests it serves (besides its own IMS's); others may only reach registered users
    pcscfs: list[str] = ["127.0.0.6"]
    # IMS AKA over Cx (TS 33.203 §6.1, TS 29.228); None: REGISTER accepted on the identity the
    # P-CSCF asserts, without a challenge (TS 33.978 §4 style)
    cx: CxConfig | None = CxConfig()


class ImsConfig(Strict):
    pcscf: PcscfConfig = PcscfConfig()
    ecscf: EcscfConfig = EcscfConfig()
    home: HomeImsConfig = HomeImsConfig()
    dialplan: DialPlanConfig = DialPlanConfig()
    sip_limits: SipLimitsConfig = SipLimitsConfig()


class PsapConfig(Strict):
    listen: Endpoint = Endpoint(host="127.0.0.8", port=5060)
    database: str = Field(default="corenet-psap.db", description="SQLite file; ':memory:' for none")
    # TS 23.167 §7.7: the call-back enters the caller's home IMS like any terminating call
    callback_route: Endpoint = Endpoint(host="127.0.0.9", port=5060)
    callback_timeout_s: float = Field(default=8.0, gt=0)
    callback_hold_s: float = Field(default=0.2, ge=0)
    uri: str = "sip:psap@127.0.0.8:5060"
    # RFC 3325 §2.3: the E-CSCF / core addresses it takes requests from (callback_route's too)
    trusted_peers: list[str] = ["127.0.0.7"]
    sip_limits: SipLimitsConfig = SipLimitsConfig()


class CbcConfig(Strict):
    """The rescuing operator's cell broadcast centre (TS 23.041 §9.1.3.5, TS 29.168)."""

    plmn: PlmnStr = "44020"
    # the MMEs' SBc-AP endpoints (TS 29.168 §4.1.3: the CBC establishes the associations)
    mmes: list[Endpoint] = [Endpoint(host="127.0.0.2", port=29168)]
    local_host: str = "127.0.0.10"
    sctp: SctpMode = "auto"
    rescuer: Literal["docomo", "kddi", "softbank", "rakuten"] = "docomo"
    # docomo broadcasts evacuation information with the standard identifier too (end of FY2025)
    docomo_standard_id: bool = True
    # TS 23.041 §9.4.1.2.2 identifiers of evacuation information: not published in the seed
    # report, hence configuration values (README, "ETWS and CMAS")
    evacuation_id: int = Field(default=0x1104, ge=0, le=0xFFFF)
    docomo_evacuation_id: int = Field(default=0xA003, ge=0, le=0xFFFF)
    repetition_s: int = Field(default=10, ge=0, le=4095)
    broadcasts: int = Field(default=3, ge=0, le=65535)
    # `corenet cbc send` talks to a running CBC here (JSON lines); port 0 disables it
    control: Endpoint = Endpoint(host="127.0.0.10", port=7000)


# ----------------------------------------------------------------------------- Diameter agents


class DraPeer(DiameterPeerSpec):
    """A peer of a Diameter relay agent: accepted from `addresses` (RFC 6733 §5.6.1), and
    connected to at `connect` when given (the agent is then the initiator)."""

    connect: Endpoint | None = None


class DraRoute(Strict):
    """A routing table entry (RFC 6733 §2.7): realm (+ application) -> next hop peer; the
    lowest priority value that has an open peer wins."""

    realm: str = Field(min_length=1)
    peer: str = Field(min_length=1, description="origin_host of one of the agent's peers")
    application_id: int | None = Field(default=None, description="None: any application")
    priority: int = 0


class DraConfig(Strict):
    """A Diameter relay agent (RFC 6733 §2.8.1), e.g. an operator's Diameter edge agent."""

    name: str = Field(min_length=1)
    origin_host: str = Field(min_length=1)
    origin_realm: str = Field(min_length=1)
    listen: Endpoint
    peers: list[DraPeer] = []
    routes: list[DraRoute] = []
    watchdog_s: float = Field(default=30.0, gt=0)
    request_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _route_peers(self) -> DraConfig:
        known = {p.origin_host.casefold() for p in self.peers}
        for route in self.routes:
            if route.peer.casefold() not in known:
                raise ValueError(f"dra {self.name}: route for {route.realm} names {route.peer},"
                                 " which is not one of its peers")
        return self


# ----------------------------------------------------------------------------- whole file


class PcrfConfig(Strict):
    """The rescuing operator's PCRF: Gx server for the P-GW (TS 29.212), Rx server for the
    P-CSCF (TS 29.214)."""

    origin_host: str = "pcrf.epc.mnc020.mcc440.3gppnetwork.org"
    origin_realm: str = "epc.mnc020.mcc440.3gppnetwork.org"
    listen: Endpoint = Endpoint(host="127.0.0.15", port=3868)
    # RFC 6733 §5.3: CER accepted only from these peers; empty = any peer. In a whole-network
    # configuration they default to its P-GW (sgw_pgw.s11) and P-CSCF (ims.pcscf.listen)
    peers: list[DiameterPeerSpec] = [
        DiameterPeerSpec(origin_host="pgw.epc.mnc020.mcc440.3gppnetwork.org",
                         addresses=["127.0.0.4"]),
        DiameterPeerSpec(origin_host="pcscf.ims.mnc020.mcc440.3gppnetwork.org",
                         addresses=["127.0.0.6"])]
    # TS 29.212 §4.5.x / TS 23.401 §4.3.12: IP-CAN sessions of these APNs serve emergency
    # sessions only (TS 29.214 §4.4.1)
    emergency_apns: list[str] = ["sos"]
    # TS 23.203 §6.1.7.2: ARP priority of emergency bearers (1 highest) and of other voice
    emergency_arp: int = Field(default=1, ge=1, le=15)
    voice_arp: int = Field(default=9, ge=1, le=15)
    watchdog_s: float = Field(default=30.0, gt=0)


class CorenetConfig(Strict):
    hss: HssConfig = HssConfig()
    mme: MmeConfig = MmeConfig()
    sgw_pgw: SgwPgwConfig = SgwPgwConfig()
    sim_ue: SimUeConfig = SimUeConfig()
    ims: ImsConfig = ImsConfig()
    psap: PsapConfig = PsapConfig()
    cbc: CbcConfig = CbcConfig()
    # Diameter relay agents (`corenet run dra`); none in the direct MME -> HSS topology
    dra: list[DraConfig] = []
    # full MVNOs' own HSSs (`corenet run mvno-hss`): own realm, PLMN and subscribers, reached
    # through the host MNO's Diameter agents
    mvno_hss: list[HssConfig] = []
    # home networks' P-GWs (`corenet run home-pgw`), reached by the S/P-GW over S8 for
    # home-routed PDN connections (TS 23.401 §4.3.8.1, `mme.home_pgws`, `sgw_pgw.s8_peers`)
    home_pgw: list[SgwPgwConfig] = []
    # the rescuing operator's PCRF (`corenet run pcrf`); None: none, the P-GW without Gx
    pcrf: PcrfConfig | None = PcrfConfig()
    pcap: str | None = "pcaps/demo.pcapng"
    seed: int = 1
    # corenet.codecs.selection: "fast" tries the fast codecs (proven byte-identical to pycrate,
    # which they fall back to); "pycrate" uses the pycrate path alone.
    codec: Literal["fast", "pycrate"] = "fast"

    @model_validator(mode="after")
    def _cbc_reaches_the_mme(self) -> CorenetConfig:
        """Unless given, the MME listens for SBc-AP on its S1AP address: at the registered
        port 29168 (TS 29.168 §4.1.3) when S1AP has its registered port 36412 (TS 36.412 §7),
        else at a free port (two MMEs sharing an address never collide); the CBC connects to
        a registered-port MME."""
        if "sbcap" not in self.mme.model_fields_set:
            port = 29168 if self.mme.s1ap.port == 36412 else 0
            self.mme = self.mme.model_copy(
                update={"sbcap": Endpoint(host=self.mme.s1ap.host, port=port)})
        listen = self.mme.sbcap
        if "mmes" not in self.cbc.model_fields_set and listen is not None and listen.port:
            self.cbc = self.cbc.model_copy(update={"mmes": [listen]})
        return self

    @model_validator(mode="after")
    def _pcrf_clients(self) -> CorenetConfig:
        """Unless given, the P-GW (Gx) and the P-CSCF (Rx) reach this configuration's PCRF,
        each from its own address."""
        pcrf = self.pcrf
        if pcrf is None:
            return self
        if "peers" not in pcrf.model_fields_set:
            # RFC 6733 §5.6.1: the P-GW and the P-CSCF, known by the addresses they connect from
            self.pcrf = pcrf = pcrf.model_copy(update={"peers": [
                DiameterPeerSpec(origin_host="pgw." + pcrf.origin_realm,
                                 addresses=[self.sgw_pgw.s11.host]),
                DiameterPeerSpec(origin_host="pcscf." + self.ims.pcscf.domain,
                                 addresses=[self.ims.pcscf.listen.host])]})
        link = PcrfLink(host=pcrf.origin_host, realm=pcrf.origin_realm, peer=pcrf.listen,
                        origin_host="pgw." + pcrf.origin_realm, origin_realm=pcrf.origin_realm,
                        local_host=self.sgw_pgw.s11.host)
        if "pcrf" not in self.sgw_pgw.model_fields_set:
            self.sgw_pgw = self.sgw_pgw.model_copy(update={"pcrf": link})
        pcscf = self.ims.pcscf
        if "pcrf" not in pcscf.model_fields_set:
            rx = link.model_copy(update={
                "origin_host": "pcscf." + pcscf.domain, "local_host": pcscf.listen.host})
            self.ims = self.ims.model_copy(update={"pcscf": pcscf.model_copy(
                update={"pcrf": rx})})
        return self

    @model_validator(mode="after")
    def _sgw_serves_the_mme(self) -> CorenetConfig:
        """The S/P-GW serves this configuration's MME unless its peers are given."""
        if "mme_peers" not in self.sgw_pgw.model_fields_set:
            self.sgw_pgw = self.sgw_pgw.model_copy(
                update={"mme_peers": [self.mme.s11_local.host]})
        return self
