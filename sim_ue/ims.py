"""The UE's IMS user agent: registration, emergency and normal calls, answering a call-back.

TS 24.229 UE procedures over the SIP stack of `corenet` (RFC 3261 transactions and dialogs):

- the UA binds the UE's PDN address (UDP and TCP, port 5060), so its IMS signalling leaves from
  the address the S/P-GW allocated and the P-CSCF can bind the source address to the session
  the MME created (the network, not the UE, vouches for the identity). In full roaming the UE
  sends IMS signalling over its default ("internet") bearer instead of a separate "ims" PDN
  connection; attached for emergency bearer services it uses the "sos" bearer;
- IMS registration (TS 24.229 §5.1.1.2) to the home network with the IMPU
  sip:+<MSISDN>@ims.mncXXX.mccYYY.3gppnetwork.org (TS 23.003 §13.4); IMS AKA (TS 33.203
  §6.1, RFC 3310 Digest AKAv1-MD5) on the USIM's SQN array when the network challenges with a
  401; the security agreement of RFC 3329 (Security-Client, then Security-Verify) is
  negotiated, but no IPsec security association (TS 33.203 §7) is set up: the Gm signalling is
  in the clear;
- emergency calls (TS 24.229 §5.1.6.8): dialled 110/118/119 become urn:service:sos.police /
  sos.marine / sos.fire (RFC 5031 §4.2); without a normal registration the request is an
  unregistered emergency request (§5.1.6.8.2) and carries no P-Preferred-Identity;
- normal calls (tel: URIs, RFC 3966), answering a call-back as a UAS (180, 200, ACK, BYE),
  and hanging up with BYE after a short hold.

Each call ends in one of the `CallOutcome`s with the final SIP status. The procedures are the
sans-I/O `sim_ue.ims_core.UaCore`; `ImsUserAgent` here is its asyncio side (the SIP stack on the
PDN address, the timers, the awaitable `register` and `call`). Identities and AKA are in
`sim_ue.isim`, the dial analysis in `sim_ue.dialling`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

from corenet.codecs.sip import SipRequest
from corenet.core.actions import StartTimer, StopTimer, TimerExpired
from corenet.core.plmn import Plmn
from corenet.core.timers import TimerTable
from corenet.protocols.sip_transactions import Event as SipEvent
from corenet.protocols.sip_transactions import SipPeer, Timers, TransportName
from corenet.protocols.sip_ua import SendFailed, SendRequest, SendResponse, SipIds, SipReceived
from corenet.transport import Tap
from corenet.transport.base import Address
from corenet.transport.sip import SipFramer, SipStack, SipTransport
from corenet.transport.stream import Callbacks, StreamConnection, open_stream_client
from sim_ue.dialling import (
    CATEGORY_SERVICES,
    COUNTRY_CODE,
    EMERGENCY_URNS,
    LOCAL_ONLY_PREFIXES,
    PREFIX_PRESENT,
    PREFIX_WITHHOLD,
    CallKind,
    DialAnalysis,
    analyse_dialled,
    emergency_urn,
    normal_uri,
    split_prefix,
)
from sim_ue.ims_core import (
    BLOCKED_STATUSES,
    DEFAULT_HOLD,
    DEFAULT_TIMEOUT,
    FAILED_STATUSES,
    REGISTER_EXPIRES,
    USER_AGENT,
    Action,
    CallbackResult,
    CallDone,
    CallOutcome,
    CallResult,
    Registration,
    RegistrationDone,
    UaCore,
    outcome_for,
)
from sim_ue.isim import (
    Isim,
    IsimAuthError,
    digest_params,
    digest_response,
    impi_for,
    impu_for,
    ims_domain,
)

__all__ = [
    "BLOCKED_STATUSES", "CATEGORY_SERVICES", "COUNTRY_CODE", "DEFAULT_HOLD", "DEFAULT_TIMEOUT",
    "EMERGENCY_URNS", "FAILED_STATUSES", "LOCAL_ONLY_PREFIXES", "PREFIX_PRESENT",
    "PREFIX_WITHHOLD", "REGISTER_EXPIRES", "SIP_PORT", "USER_AGENT", "CallKind",
    "CallOutcome", "CallResult", "CallbackResult", "DialAnalysis", "ImsUserAgent", "Isim",
    "IsimAuthError", "Registration", "UaAddressError", "analyse_dialled", "digest_params",
    "digest_response", "emergency_urn", "impi_for", "impu_for", "ims_domain", "normal_uri",
    "outcome_for", "pani_for", "pcscf_address", "split_prefix", "ua_address",
]

SIP_PORT = 5060  # RFC 3261 §19.1.2


# ------------------------------------------------------------------------------ addresses


class UaAddressError(Exception):
    """The UE's PDN address cannot be bound on this host."""


def ua_address(pdn_ipv4: str | None) -> str:
    """The address rule: the UA binds the PDN address itself, so the P-CSCF sees the source
    address the S/P-GW allocated. Any 127/8 address is local on Linux (the S/P-GW's default
    pools); another address must be configured on an interface first (an alias, e.g.
    `ip addr add 10.45.0.7/32 dev lo`). The UA never substitutes another address: the P-CSCF
    would bind the traffic to the wrong session."""
    if not pdn_ipv4:
        raise UaAddressError("the PDN connection has no IPv4 address")
    try:
        addr = ipaddress.IPv4Address(pdn_ipv4)
    except ValueError:
        raise UaAddressError(f"{pdn_ipv4!r} is not an IPv4 address") from None
    if addr.is_loopback or _bindable(str(addr)):
        return str(addr)
    raise UaAddressError(f"UE address {addr} is not on this host: use the S/P-GW's loopback "
                         f"pools or add it as an alias (ip addr add {addr}/32 dev lo)")


def _bindable(host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, 0))
        except OSError:
            return False
    return True


def pcscf_address(pco_pcscf: Sequence[str], configured: Address | None, *,
                  explicit: bool = False) -> Address | None:
    """TS 24.229 §9.2.1: the P-CSCF the PDN connection's PCO named (TS 24.008 §10.5.6.3),
    else the configured one. An address given explicitly (`sim-ue call --pcscf`) overrides the
    PCO; a PCO naming the configured host keeps the configured port (PCO carries no port)."""
    if explicit and configured is not None:
        return configured
    if pco_pcscf:
        if configured is not None and configured[0] == pco_pcscf[0]:
            return configured
        return (pco_pcscf[0], SIP_PORT)
    return configured


def pani_for(plmn: Plmn, tac: int, eci: int) -> str:
    """TS 24.229 §7.2A.4.3: P-Access-Network-Info for E-UTRAN, utran-cell-id-3gpp = MCC MNC
    TAC (4 hex) ECI (7 hex)."""
    return f"3GPP-E-UTRAN-FDD; utran-cell-id-3gpp={plmn.mcc}{plmn.mnc}{tac:04X}{eci:07X}"


# ------------------------------------------------------------------------------ the UA


class _UeSipTransport(SipTransport):
    """SIP transport whose TCP connections leave from the UA's own address (the PDN
    address), like the UDP requests do: the P-CSCF binds the source address to the session."""

    async def connect(self, address: Address) -> StreamConnection:
        conn = self._connections.get(address)
        if conn is not None and not conn.closed:
            return conn
        callbacks = Callbacks(self._on_frame, self._on_connect, self._on_close, None,
                              self._tcp_tap)
        conn = await open_stream_client(address[0], address[1], SipFramer, callbacks,
                                        local_host=self.local[0])
        self._connections[conn.remote] = conn
        return conn


class _UeSipStack(SipStack):
    def __init__(self, *args: Any, udp_tap: Tap | None = None, tcp_tap: Tap | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, udp_tap=udp_tap, tcp_tap=tcp_tap, **kwargs)
        self.transport = _UeSipTransport(self._on_message, udp_tap=udp_tap, tcp_tap=tcp_tap)


class ImsUserAgent:
    """The IMS UA of one UE on its PDN address (UDP and TCP port 5060 by default)."""

    def __init__(self, isim: Isim, address: str, pcscf: Address, *, port: int = SIP_PORT,
                 transport: TransportName = "UDP", udp_tap: Tap | None = None,
                 tcp_tap: Tap | None = None, timers: Timers | None = None,
                 hold: float = DEFAULT_HOLD, timeout: float = DEFAULT_TIMEOUT,
                 pani: str | None = None, rtp_port: int = 40000,
                 imei: str | None = None, ids: SipIds | None = None) -> None:
        self.isim = isim
        self.address = address
        self.port = port
        self.pcscf = SipPeer(transport, pcscf)
        self.core = UaCore(isim, (address, port), self.pcscf, hold=hold, timeout=timeout,
                           pani=pani, rtp_port=rtp_port, imei=imei, ids=ids)
        self.stack = _UeSipStack(self._on_sip, udp_tap=udp_tap, tcp_tap=tcp_tap,
                                 timers=timers)
        self.callback_event = asyncio.Event()
        self._timers = TimerTable(self._on_timer)
        self._registering: list[asyncio.Future[Registration]] = []
        self._calling: dict[str, asyncio.Future[CallResult]] = {}
        self.started = False

    # -------------------------------------------------------------- lifecycle and views

    @property
    def local(self) -> Address:
        return self.stack.local

    @property
    def ua(self) -> str:
        host, port = self.local
        return f"{host}:{port}"

    @property
    def registration(self) -> Registration | None:
        return self.core.registration

    @property
    def calls(self) -> list[CallResult]:
        return self.core.calls

    @property
    def callbacks(self) -> list[CallbackResult]:
        return self.core.callbacks

    async def start(self) -> None:
        await self.stack.start(self.address, self.port)
        self.core.local = self.local
        self.started = True

    async def stop(self) -> None:
        self._apply(self.core.abort())
        self._timers.cancel_all()
        self.stack.close()
        await self.stack.wait_closed()
        self.started = False

    # -------------------------------------------------------------- procedures

    async def register(self, *, emergency: bool = False) -> Registration:
        """Initial registration (TS 24.229 §5.1.1.2), AKA challenge answered once; with
        `emergency`, the emergency registration of §5.1.6.2."""
        fut: asyncio.Future[Registration] = asyncio.get_running_loop().create_future()
        self._registering.append(fut)
        self._apply(self.core.register(emergency=emergency))
        return await fut

    async def call(self, call: DialAnalysis) -> CallResult:
        """Place the call; when answered: ACK, hold, BYE unless the far end hangs up first."""
        result, actions = self.core.call(call)
        fut: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
        self._calling[result.call_id or ""] = fut
        try:
            self._apply(actions)
            return await fut
        finally:
            self._calling.pop(result.call_id or "", None)

    # -------------------------------------------------------------- carrying out actions

    def _on_sip(self, event: SipEvent, peer: SipPeer) -> None:
        self._apply(self.core.handle(SipReceived(event, peer)))

    def _on_timer(self, event: TimerExpired) -> None:
        self._apply(self.core.handle(event))

    def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, SendRequest):
                self.stack.submit_request(action.request, action.peer, self._send_failed)
            elif isinstance(action, SendResponse):
                self.stack.send_response(action.response, action.peer)
            elif isinstance(action, StartTimer | StopTimer):
                self._timers.apply(action)
            elif isinstance(action, RegistrationDone):
                waiting, self._registering = self._registering, []
                for fut in waiting:
                    if not fut.done():
                        fut.set_result(action.registration)
            elif isinstance(action, CallDone):
                call = self._calling.get(action.result.call_id or "")
                if call is not None and not call.done():
                    call.set_result(action.result)
            else:
                self.callback_event.set()

    def _send_failed(self, request: SipRequest) -> None:
        self._apply(self.core.handle(SendFailed(request)))
