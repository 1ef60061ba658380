"""The UE's IMS user agent: registration, emergency and normal calls, answering a call-back.

TS 24.229 UE procedures over the SIP stack of `corenet` (RFC 3261 transactions and dialogs):

- the UA binds the UE's PDN address (UDP and TCP, port 5060), so its IMS signalling leaves from
  the address the S/P-GW allocated and the P-CSCF can bind the source address to the session
  the MME created (the network, not the UE, vouches for the identity). In full roaming the UE
  sends IMS signalling over its default ("internet") bearer instead of a separate "ims" PDN
  connection; attached for emergency bearer services it uses the "sos" bearer;
- IMS registration (TS 24.229 §5.1.1.2) to the home network with the IMPU
  sip:+<MSISDN>@ims.mncXXX.mccYYY.3gppnetwork.org (TS 23.003 §13.4); IMS AKA (TS 33.203
  §6.1, RFC 3310 Digest AKAv1-MD5) only when the network challenges with a 401. No IPsec
  security association (TS 33.203 §7) is set up: the Gm signalling is in the clear;
- emergency calls (TS 24.229 §5.1.6.8): dialled 110/118/119 become urn:service:sos.police /
  sos.marine / sos.fire (RFC 5031 §4.2); without a normal registration the request is an
  unregistered emergency request (§5.1.6.8.2) and carries no P-Preferred-Identity;
- normal calls (tel: URIs, RFC 3966), answering a call-back as a UAS (180, 200, ACK, BYE),
  and hanging up with BYE after a short hold.

Each call ends in one of the `CallOutcome`s with the final SIP status.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import ipaddress
import re
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from corenet.codecs import sdp, sip
from corenet.codecs.nas_ies import EmergencyNumber
from corenet.codecs.sip import Header, SipRequest, SipResponse
from corenet.config.subscribers import Subscriber
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn
from corenet.crypto.milenage import (
    Milenage,
    SqnArray,
    build_auts,
    check_autn,
    int_to_sqn,
    opc_from_op,
    sqn_to_int,
)
from corenet.protocols.sip_transactions import (
    Dialog,
    Event,
    RequestReceived,
    ResponseReceived,
    Timers,
    TransactionKey,
    TransactionTimeout,
    TransportFailed,
    client_key,
)
from corenet.transport import Tap
from corenet.transport.base import Address
from corenet.transport.sip import SipFramer, SipPeer, SipStack, SipTransport, TransportName
from corenet.transport.stream import Callbacks, StreamConnection, open_stream_client

SIP_PORT = 5060  # RFC 3261 §19.1.2
# Japan's country code (ITU-T E.164 assignment) for national numbers the user dials
COUNTRY_CODE = "81"
REGISTER_EXPIRES = 600_000  # TS 24.229 §5.1.1.2.1: the UE proposes 600 000 s
DEFAULT_HOLD = 1.0
DEFAULT_TIMEOUT = 35.0  # beyond Timer B (64*T1) so the transaction layer decides first
USER_AGENT = "corenet-sim-ue"

# RFC 5031 §4.2 sub-services for the Japanese emergency numbers (110 police, 118 Japan Coast
# Guard, 119 fire and ambulance); 112 and 911 (TS 22.101 §10.1.1) map to the generic urn.
EMERGENCY_URNS: dict[str, str] = {
    "110": "urn:service:sos.police",
    "118": "urn:service:sos.marine",
    "119": "urn:service:sos.fire",
    "112": "urn:service:sos",
    "911": "urn:service:sos",
}
# TS 24.229 §5.1.6.8.1: the emergency service type from the categories of the network's
# Emergency Number List (TS 24.008 §10.5.3.13, §10.5.4.33), in RFC 5031 terms
CATEGORY_SERVICES: dict[str, str] = {
    "police": "sos.police", "ambulance": "sos.ambulance", "fire_brigade": "sos.fire",
    "fire": "sos.fire", "marine_guard": "sos.marine", "marine": "sos.marine",
    "mountain_rescue": "sos.mountain", "mountain": "sos.mountain",
}
# Caller-ID prefixes: 184 withholds, 186 presents the caller's number
PREFIX_WITHHOLD, PREFIX_PRESENT = "184", "186"
# Numbers whose destination depends on the caller's charging area (seed report): freephone,
# navigation dial and short codes go as home-local numbers, not as global E.164 numbers
LOCAL_ONLY_PREFIXES = ("0120", "0800", "0570", "0990")


# ------------------------------------------------------------------------------ identities


def ims_domain(plmn: Plmn) -> str:
    """TS 23.003 §13.2: the home network domain name, ims.mncMNC.mccMCC.3gppnetwork.org."""
    return f"ims.mnc{plmn.mnc.zfill(3)}.mcc{plmn.mcc}.3gppnetwork.org"


def impi_for(imsi: str, plmn: Plmn) -> str:
    """TS 23.003 §13.3: the private user identity derived from the IMSI."""
    return f"{imsi}@{ims_domain(plmn)}"


def impu_for(msisdn: str | None, imsi: str, plmn: Plmn) -> str:
    """TS 23.003 §13.4: sip:+<MSISDN>@domain; without an MSISDN the temporary public user
    identity of §13.4B, sip:<IMSI>@domain."""
    user = f"+{msisdn.lstrip('+')}" if msisdn else imsi
    return f"sip:{user}@{ims_domain(plmn)}"


class IsimAuthError(Exception):
    """The challenge could not be answered (bad nonce, MAC failure)."""


@dataclass
class Isim:
    """The IMS identities and AKA of the UICC (TS 31.103), sharing the USIM's K and OPc."""

    imsi: str
    msisdn: str | None
    home: Plmn
    milenage: Milenage
    sqn: SqnArray = field(default_factory=SqnArray)

    @classmethod
    def from_subscriber(cls, sub: Subscriber, home: Plmn) -> Isim:
        k = bytes.fromhex(sub.k)
        opc = bytes.fromhex(sub.opc) if sub.opc else opc_from_op(k, bytes.fromhex(sub.op or ""))
        return cls(sub.imsi, sub.msisdn, home, Milenage(k, opc))

    @property
    def impi(self) -> str:
        return impi_for(self.imsi, self.home)

    @property
    def impu(self) -> str:
        return impu_for(self.msisdn, self.imsi, self.home)

    @property
    def domain(self) -> str:
        return ims_domain(self.home)

    def challenge(self, nonce_b64: str) -> tuple[bytes | None, bytes | None]:
        """RFC 3310 §3.2: nonce = base64(RAND || AUTN); returns (RES, None) or, on an SQN out
        of range, (None, AUTS) (TS 33.203 §6.1.2, TS 33.102 §6.3.3)."""
        try:
            raw = base64.b64decode(nonce_b64, validate=True)
        except ValueError:
            raise IsimAuthError("nonce is not base64") from None
        if len(raw) < 32:
            raise IsimAuthError(f"nonce of {len(raw)} octets, RAND||AUTN needs 32")
        rand, autn = raw[:16], raw[16:32]
        chk = check_autn(self.milenage, rand, autn)
        if not chk.mac_ok:
            raise IsimAuthError("MAC failure (TS 33.203 §6.1.2)")
        if not self.sqn.accept(sqn_to_int(chk.sqn)):
            return None, build_auts(self.milenage, rand, int_to_sqn(self.sqn.highest()))
        return chk.res, None


def digest_params(value: str) -> dict[str, str]:
    """RFC 2617 §3.2.1 challenge parameters (scheme dropped, quotes removed)."""
    _, _, rest = value.strip().partition(" ")
    out: dict[str, str] = {}
    for item in sip.split_outside(rest, ","):
        name, eq, val = item.partition("=")
        if eq:
            val = val.strip()
            out[name.strip().lower()] = val[1:-1] if val[:1] == val[-1:] == '"' and len(
                val) >= 2 else val
    return out


def digest_response(username: str, realm: str, password: bytes, method: str, uri: str,
                    nonce: str, qop: str | None, nc: str, cnonce: str) -> str:
    """RFC 2617 §3.2.2.1 with MD5; RFC 3310 §3.4: the password is RES (empty with AUTS)."""
    ha1 = hashlib.md5(f"{username}:{realm}:".encode() + password).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    if qop:
        data = f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"
    else:
        data = f"{ha1}:{nonce}:{ha2}"
    return hashlib.md5(data.encode()).hexdigest()


# ------------------------------------------------------------------------------ dialling


class CallKind(enum.Enum):
    EMERGENCY = "emergency"
    NORMAL = "normal"


@dataclass(frozen=True)
class DialAnalysis:
    """What the UE makes of the digits the user dialled."""

    dialled: str
    digits: str  # separators removed
    kind: CallKind
    number: str  # the digits without a 184/186 prefix
    prefix: str | None
    request_uri: str
    to_uri: str
    privacy: str | None = None  # RFC 3323 §4.2 / RFC 3325 §9.3

    @property
    def emergency(self) -> bool:
        return self.kind is CallKind.EMERGENCY


def emergency_urn(number: str, numbers: Iterable[EmergencyNumber] = ()) -> str:
    """TS 24.229 §5.1.6.8.1: the service URN with the sub-service of the number's category
    in the network's Emergency Number List when it names exactly one, else Japan's table."""
    for entry in numbers:
        if entry.number == number and len(entry.categories) == 1:
            service = CATEGORY_SERVICES.get(entry.categories[0])
            if service is not None:
                return f"urn:service:{service}"
    return EMERGENCY_URNS.get(number, "urn:service:sos")


def normal_uri(digits: str, domain: str) -> str:
    """RFC 3966: '+'-numbers and national numbers (0 + area/mobile code) as global E.164
    tel URIs; charging-area dependent numbers (freephone, short codes, '#'-codes) as
    home-local numbers with the home domain as phone-context (TS 24.229 §5.1.2A.1.5)."""
    if digits.startswith("+"):
        return f"tel:{digits}"
    national = (digits.startswith("0") and not digits.startswith("00") and len(digits) >= 10
                and not digits.startswith(LOCAL_ONLY_PREFIXES))
    if national:
        return f"tel:+{COUNTRY_CODE}{digits[1:]}"
    return f"tel:{digits};phone-context={domain}"


def split_prefix(digits: str) -> tuple[str | None, str]:
    if digits[:3] in (PREFIX_WITHHOLD, PREFIX_PRESENT) and len(digits) > 3:
        return digits[:3], digits[3:]
    return None, digits


def analyse_dialled(dialled: str, *, domain: str,
                    emergency_numbers: Iterable[EmergencyNumber] = ()) -> DialAnalysis:
    """Emergency number (the UE's list, TS 22.101 §10.1.1, plus the network's, TS 24.301
    §5.5.1.2.4), optionally behind 184/186, or a normal number."""
    digits = re.sub(r"[\s\-().]", "", dialled)
    if not digits or not re.fullmatch(r"\+?[0-9*#]+", digits):
        raise ValueError(f"{dialled!r} is not a dialable number")
    numbers = list(emergency_numbers)
    known = set(EMERGENCY_URNS) | {e.number for e in numbers}
    prefix, core = split_prefix(digits)
    if core in known:
        # 184 withholds the caller's identity (RFC 3325 §9.3 "id"); 186 presents it
        privacy = "id" if prefix == PREFIX_WITHHOLD else None
        urn = emergency_urn(core, numbers)
        # TS 24.229 §5.1.6.8.2: To carries the emergency URN or the dialled emergency number
        to = f"tel:{core};phone-context=+{COUNTRY_CODE}"
        return DialAnalysis(dialled, digits, CallKind.EMERGENCY, core, prefix, urn, to, privacy)
    uri = normal_uri(digits, domain)
    return DialAnalysis(dialled, digits, CallKind.NORMAL, digits, None, uri, uri)


# ------------------------------------------------------------------------------ outcomes


class CallOutcome(enum.Enum):
    ANSWERED = "answered"
    REJECTED = "rejected"  # the network or the callee refused (4xx/6xx, 3xx)
    BLOCKED = "blocked"  # 403: barred by the network's policy or dial plan
    FAILED = "failed"  # no final response, transport failure, server failure (5xx)
    NOT_ATTEMPTED = "not_attempted"  # the device did not place the call


# RFC 3261 §21.4.4: 403 "the server understood the request, but is refusing to fulfill it"
BLOCKED_STATUSES = frozenset({403})
# §21.4.9 408 and §21.5 5xx: the call did not get through; no one refused it
FAILED_STATUSES = frozenset({408, 500, 502, 503, 504})


def outcome_for(status: int | None) -> CallOutcome:
    """The outcome of an INVITE from its final status (None: no final response)."""
    if status is None or status in FAILED_STATUSES:
        return CallOutcome.FAILED
    if 200 <= status < 300:
        return CallOutcome.ANSWERED
    if status in BLOCKED_STATUSES:
        return CallOutcome.BLOCKED
    return CallOutcome.REJECTED


@dataclass
class CallResult:
    """One call the user placed; `reason` says why it was not attempted or how it ended."""

    dialled: str
    outcome: CallOutcome
    sip_status: int | None = None
    reason: str = ""
    request_uri: str | None = None
    ua: str | None = None  # the UA's address "ip:port"
    registered: bool = False  # over an IMS registration (else unregistered emergency)
    call_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"dialled": self.dialled, "outcome": self.outcome.value,
                "sip_status": self.sip_status, "reason": self.reason,
                "request_uri": self.request_uri, "ua": self.ua, "registered": self.registered,
                "call_id": self.call_id}


@dataclass
class CallbackResult:
    """A call the UE received (a PSAP call-back): answered, then ended by BYE."""

    caller: str
    call_id: str
    outcome: str = "answered"  # answered | failed
    sip_status: int | None = None
    ended_by: str | None = None  # "remote" | "local"
    identity: str | None = None  # P-Asserted-Identity the network gave

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Registration:
    status: int | None
    registered: bool
    reason: str = ""
    service_route: list[str] = field(default_factory=list)
    associated: list[str] = field(default_factory=list)


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


def pcscf_address(pco_pcscf: Sequence[str], configured: Address | None) -> Address | None:
    """TS 24.229 §9.2.1: the P-CSCF the PDN connection's PCO named (TS 24.008 §10.5.6.3),
    else the configured one."""
    if pco_pcscf:
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


@dataclass
class _Call:
    """An established dialog of this UA, and how it ends."""

    dialog: Dialog
    peer: SipPeer
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    ended_by: str | None = None


class ImsUserAgent:
    """The IMS UA of one UE on its PDN address (UDP and TCP port 5060 by default)."""

    def __init__(self, isim: Isim, address: str, pcscf: Address, *, port: int = SIP_PORT,
                 transport: TransportName = "UDP", udp_tap: Tap | None = None,
                 tcp_tap: Tap | None = None, timers: Timers | None = None,
                 hold: float = DEFAULT_HOLD, timeout: float = DEFAULT_TIMEOUT,
                 pani: str | None = None, rtp_port: int = 40000) -> None:
        self.isim = isim
        self.address = address
        self.port = port
        self.pcscf = SipPeer(transport, pcscf)
        self.hold = hold
        self.timeout = timeout
        self.pani = pani
        self.rtp_port = rtp_port
        self.stack = _UeSipStack(self._on_event, udp_tap=udp_tap, tcp_tap=tcp_tap,
                                 timers=timers)
        self.registration: Registration | None = None
        self.calls: list[CallResult] = []
        self.callbacks: list[CallbackResult] = []
        self.callback_event = asyncio.Event()
        self._pending: dict[TransactionKey, asyncio.Future[SipResponse | None]] = {}
        self._dialogs: dict[tuple[str, str, str], _Call] = {}
        self._acks: dict[str, SipRequest] = {}
        self._cseq = 0
        self._call_id = sip.new_call_id(address)  # §10.2: one Call-ID for all REGISTERs
        self._reg_tag = sip.new_tag()
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = False

    # -------------------------------------------------------------- lifecycle

    @property
    def local(self) -> Address:
        return self.stack.local

    @property
    def ua(self) -> str:
        host, port = self.local
        return f"{host}:{port}"

    async def start(self) -> None:
        await self.stack.start(self.address, self.port)
        self.started = True

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_result(None)
        self.stack.close()
        await self.stack.wait_closed()
        self.started = False

    # -------------------------------------------------------------- building

    def _contact(self) -> str:
        host, port = self.local
        user = self.isim.impu.split(":", 1)[1].split("@", 1)[0]
        transport = ";transport=tcp" if self.pcscf.transport == "TCP" else ""
        return f"<sip:{user}@{host}:{port}{transport}>"

    def _via(self) -> str:
        return self.stack.via(self.pcscf.transport)

    def _common(self) -> list[Header]:
        hs = [Header("User-Agent", USER_AGENT)]
        if self.pani:
            hs.append(Header("P-Access-Network-Info", self.pani))
        return hs

    def register_request(self, authorization: str | None = None) -> SipRequest:
        """TS 24.229 §5.1.1.2.1: Request-URI = home domain, From = To = the IMPU, Contact =
        the UA's address, Authorization with the IMPI (and the answer to a challenge)."""
        self._cseq += 1
        domain = self.isim.domain
        auth = authorization or (
            f'Digest username="{self.isim.impi}", realm="{domain}", uri="sip:{domain}", '
            'nonce="", response=""')
        headers = [Header("Expires", str(REGISTER_EXPIRES)), Header("Authorization", auth),
                   Header("Supported", "path"), *self._common()]
        return sip.make_request(
            "REGISTER", f"sip:{domain}", from_=f"<{self.isim.impu}>;tag={self._reg_tag}",
            to=f"<{self.isim.impu}>", call_id=self._call_id, cseq=self._cseq, via=self._via(),
            contact=self._contact(), headers=headers)

    def invite_request(self, call: DialAnalysis, *, registered: bool) -> SipRequest:
        """TS 24.229 §5.1.2A.1 (normal) and §5.1.6.8.2 (emergency) INVITE with an SDP offer
        (RFC 3264 §5)."""
        host, _ = self.local
        headers = self._common()
        if registered:
            # §5.1.2A.1.1: the public user identity this call is made from
            headers.append(Header("P-Preferred-Identity", f"<{self.isim.impu}>"))
        if call.privacy:
            headers.append(Header("Privacy", call.privacy))
        if call.emergency:
            headers.append(Header("Subject", "Emergency call"))
        offer = sdp.encode(sdp.audio_offer(host, self.rtp_port))
        from_uri = self.isim.impu if registered else "sip:anonymous@anonymous.invalid"
        return sip.make_request(
            "INVITE", call.request_uri, from_=f"<{from_uri}>;tag={sip.new_tag()}",
            to=f"<{call.to_uri}>", call_id=sip.new_call_id(host), cseq=1, via=self._via(),
            contact=self._contact(), headers=headers, body=offer,
            content_type="application/sdp")

    # -------------------------------------------------------------- procedures

    async def _transact(self, request: SipRequest, peer: SipPeer | None = None
                        ) -> SipResponse | None:
        """Send through a client transaction; the final response, or None on Timer B/F or a
        transport failure (RFC 3261 §17.1.4)."""
        fut: asyncio.Future[SipResponse | None] = asyncio.get_running_loop().create_future()
        key = client_key(request)
        self._pending[key] = fut
        try:
            await self.stack.send_request(request, peer or self.pcscf)
            return await asyncio.wait_for(fut, self.timeout)
        except (OSError, ConnectionError, TimeoutError):
            return None
        finally:
            self._pending.pop(key, None)

    async def register(self) -> Registration:
        """Initial registration (TS 24.229 §5.1.1.2); a 401 with an AKA challenge is answered
        once (§5.1.1.5.1, TS 33.203 §6.1)."""
        resp = await self._transact(self.register_request())
        if resp is not None and resp.status == 401:
            try:
                auth = self._answer_challenge(resp)
            except IsimAuthError as exc:
                self.registration = Registration(401, False, f"challenge not answered: {exc}")
                return self.registration
            resp = await self._transact(self.register_request(auth))
        status = resp.status if resp is not None else None
        ok = resp is not None and 200 <= resp.status < 300
        reason = "" if ok else f"REGISTER: {status or 'no response'}"
        self.registration = Registration(
            status, ok, reason, resp.headers_all("Service-Route") if resp and ok else [],
            resp.headers_all("P-Associated-URI") if resp and ok else [])
        return self.registration

    def _answer_challenge(self, resp: SipResponse) -> str:
        value = resp.header("WWW-Authenticate")
        if value is None:
            raise IsimAuthError("401 without WWW-Authenticate")
        params = digest_params(value)
        if not params.get("algorithm", "").upper().startswith("AKAV1"):
            raise IsimAuthError(f"algorithm {params.get('algorithm')!r} is not IMS AKA")
        realm, nonce = params.get("realm", self.isim.domain), params.get("nonce", "")
        res, auts = self.isim.challenge(nonce)
        uri = f"sip:{self.isim.domain}"
        qop = "auth" if "auth" in params.get("qop", "").split(",") else None
        nc, cnonce = "00000001", secrets.token_hex(8)
        response = digest_response(self.isim.impi, realm, res or b"", "REGISTER", uri, nonce,
                                   qop, nc, cnonce)
        parts = [f'username="{self.isim.impi}"', f'realm="{realm}"', f'nonce="{nonce}"',
                 f'uri="{uri}"', f'response="{response}"', "algorithm=AKAv1-MD5"]
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        if auts is not None:
            # RFC 3310 §3.4: re-synchronisation, AUTS in the Authorization header
            parts.append(f'auts="{base64.b64encode(auts).decode()}"')
        if "opaque" in params:
            parts.append(f'opaque="{params["opaque"]}"')
        return "Digest " + ", ".join(parts)

    async def call(self, call: DialAnalysis) -> CallResult:
        """Place the call; when answered: ACK (RFC 3261 §13.2.2.4), hold, BYE (§15.1.1)
        unless the far end hangs up first."""
        registered = bool(self.registration and self.registration.registered)
        invite = self.invite_request(call, registered=registered)
        result = CallResult(call.dialled, CallOutcome.FAILED, request_uri=call.request_uri,
                            ua=self.ua, registered=registered, call_id=invite.call_id)
        final = await self._transact(invite)
        result.sip_status = final.status if final is not None else None
        result.outcome = outcome_for(result.sip_status)
        if final is None:
            result.reason = "no final response"
        elif not 200 <= final.status < 300:
            result.reason = f"{final.status} {final.reason}"
        else:
            await self._talk(invite, final)
        self.calls.append(result)
        return result

    async def _talk(self, invite: SipRequest, ok: SipResponse) -> None:
        try:
            dialog = Dialog.from_uac(invite, ok)
        except DecodeError:
            return
        ack = dialog.create_request("ACK", self._via())
        self._acks[invite.call_id] = ack
        await self.stack.send_request(ack, self.pcscf)
        leg = _Call(dialog, self.pcscf)
        self._dialogs[dialog.id] = leg
        try:
            await asyncio.wait_for(leg.ended.wait(), self.hold)
        except TimeoutError:
            leg.ended_by = "local"
            await self._transact(dialog.create_request("BYE", self._via()))
        finally:
            self._dialogs.pop(dialog.id, None)

    # -------------------------------------------------------------- events

    def _on_event(self, event: Event, peer: SipPeer) -> None:
        if isinstance(event, ResponseReceived):
            self._on_response(event)
        elif isinstance(event, RequestReceived):
            self._on_request(event.request, peer, event.key is not None)
        elif isinstance(event, TransactionTimeout | TransportFailed):
            fut = self._pending.get(event.key)
            if fut is not None and not fut.done():
                fut.set_result(None)

    def _on_response(self, event: ResponseReceived) -> None:
        resp = event.response
        if event.key is None:
            # §13.2.2.4: a retransmitted 2xx is ACKed again
            ack = self._acks.get(resp.call_id)
            if ack is not None:
                self._spawn(self.stack.send_request(ack, self.pcscf))
            return
        fut = self._pending.get(event.key)
        if fut is not None and not fut.done() and resp.status >= 200:
            fut.set_result(resp)

    def _on_request(self, req: SipRequest, peer: SipPeer, new: bool) -> None:
        if req.method == "ACK":
            return  # §17.2.3: the ACK for our 2xx; the transaction layer stopped the 2xx
        if not new:
            return
        if req.method == "INVITE":
            self._answer(req, peer)
        elif req.method == "BYE":
            self._on_bye(req, peer)
        elif req.method in ("OPTIONS", "UPDATE", "PRACK", "NOTIFY"):
            self.stack.send_response(sip.response_for(req, 200), peer)
        elif req.method == "CANCEL":
            self.stack.send_response(sip.response_for(req, 481), peer)
        else:
            # RFC 3261 §8.2.1: a method the UA does not support
            self.stack.send_response(sip.response_for(
                req, 405, headers=[("Allow", "INVITE, ACK, BYE, OPTIONS")]), peer)

    def _on_bye(self, req: SipRequest, peer: SipPeer) -> None:
        """RFC 3261 §15.1.2: 200 to a BYE of a dialog; 481 otherwise."""
        try:
            leg = next((c for c in self._dialogs.values() if c.dialog.matches(req)), None)
        except DecodeError:
            leg = None
        self.stack.send_response(sip.response_for(req, 200 if leg else 481), peer)
        if leg is not None:
            leg.ended_by = leg.ended_by or "remote"
            leg.ended.set()

    def _answer(self, req: SipRequest, peer: SipPeer) -> None:
        """A call-back (TS 23.167 §7.7): ring (180), answer (200 with an SDP answer, RFC 3264
        §6), then the dialog lasts until BYE (the UE's after the hold)."""
        try:
            caller = str(req.from_.uri)
            offer = next((p for p in req.body_parts() if p.content_type == "application/sdp"),
                         None)
            answer = sdp.encode(sdp.audio_answer(sdp.decode(offer.body), self.local[0],
                                                 self.rtp_port)) if offer else b""
        except DecodeError:
            self.stack.send_response(sip.response_for(req, 488), peer)
            return
        tag = sip.new_tag()
        record = CallbackResult(caller, req.call_id,
                                identity=req.header("P-Asserted-Identity"))
        self.stack.send_response(sip.response_for(req, 180, to_tag=tag), peer)
        ok = sip.response_for(req, 200, to_tag=tag,
                              headers=[("Contact", self._contact()), *self._common_tuples()],
                              body=answer, content_type="application/sdp" if answer else None)
        self.stack.send_response(ok, peer)
        record.sip_status = 200
        self.callbacks.append(record)
        dialog = Dialog.from_uas(req, ok)
        leg = _Call(dialog, peer)
        self._dialogs[dialog.id] = leg
        self._spawn(self._hang_up_later(leg, record))

    def _common_tuples(self) -> list[tuple[str, str]]:
        return [(h.name, h.value) for h in self._common()]

    async def _hang_up_later(self, leg: _Call, record: CallbackResult) -> None:
        try:
            await asyncio.wait_for(leg.ended.wait(), self.hold)
        except TimeoutError:
            leg.ended_by = "local"
            await self._transact(leg.dialog.create_request("BYE", self.stack.via(
                leg.peer.transport)), leg.peer)
        finally:
            self._dialogs.pop(leg.dialog.id, None)
            record.ended_by = leg.ended_by
            self.callback_event.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
