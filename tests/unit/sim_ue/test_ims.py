"""The UE's IMS user agent: dial analysis (URNs, 184/186, tel URIs), outcomes, the address
rule, IMS AKA; the UA against sipp (sipp answers our emergency INVITE; sipp calls us back);
and `Population.call` over loopback sockets against the real MME, HSS and S/P-GW cores
(`core_s1`) and a small P-CSCF."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from corenet.codecs import nas, sdp, sip
from corenet.codecs.nas_ies import EmergencyNumber
from corenet.codecs.sip import SipRequest
from corenet.config.models import EnbConfig, Endpoint
from corenet.core.plmn import Plmn
from corenet.crypto.milenage import Milenage, generate_vector, int_to_sqn
from corenet.pcap import PcapTap, PcapWriter
from corenet.protocols.sip_transactions import (
    Dialog,
    Event,
    RequestReceived,
    ResponseReceived,
    Timers,
)
from corenet.transport.sip import SipPeer, SipStack
from sim_ue import ims
from sim_ue.devices import DeviceProfile, load_devices
from sim_ue.ims import (
    CallKind,
    CallOutcome,
    ImsUserAgent,
    Isim,
    UaAddressError,
    analyse_dialled,
    outcome_for,
)
from sim_ue.runner import Population
from tests import tshark
from tests.sipp import free_udp_port, run_sipp, scenario
from tests.unit.sim_ue import memnet
from tests.unit.sim_ue.core_s1 import CoreS1Server
from tests.unit.sim_ue.test_runner import _subs

K, OPC = bytes.fromhex(memnet.K), bytes.fromhex(memnet.OPC)

HOME = Plmn.parse("44010")
DOMAIN = "ims.mnc010.mcc440.3gppnetwork.org"
DEVICES = {p.name: p for p in load_devices([Path(__file__).resolve().parents[3]
                                            / "configs" / "devices"])}
FAST = Timers(t1=0.1)
WAIT = 20.0


# --------------------------------------------------------------------------- dial analysis


@pytest.mark.parametrize("dialled, urn", [
    ("110", "urn:service:sos.police"), ("118", "urn:service:sos.marine"),
    ("119", "urn:service:sos.fire"), ("112", "urn:service:sos"),
])
def test_emergency_urns(dialled: str, urn: str) -> None:
    call = analyse_dialled(dialled, domain=DOMAIN)
    assert call.kind is CallKind.EMERGENCY and call.request_uri == urn
    assert sip.parse_uri(call.request_uri).is_emergency
    assert call.to_uri == f"tel:{dialled};phone-context=+81" and call.prefix is None


def test_network_categories_choose_the_sub_service() -> None:
    # TS 24.229 §5.1.6.8.1: the category of the network's Emergency Number List
    numbers = [EmergencyNumber("119", ("ambulance",)), EmergencyNumber("999", ("police",))]
    assert analyse_dialled("119", domain=DOMAIN,
                           emergency_numbers=numbers).request_uri == "urn:service:sos.ambulance"
    call = analyse_dialled("999", domain=DOMAIN, emergency_numbers=numbers)
    assert call.emergency and call.request_uri == "urn:service:sos.police"
    assert analyse_dialled("999", domain=DOMAIN).kind is CallKind.NORMAL


def test_caller_id_prefixes() -> None:
    withheld = analyse_dialled("184110", domain=DOMAIN)
    assert withheld.emergency and withheld.prefix == "184" and withheld.number == "110"
    assert withheld.privacy == "id" and withheld.request_uri == "urn:service:sos.police"
    presented = analyse_dialled("186-119", domain=DOMAIN)
    assert presented.prefix == "186" and presented.privacy is None
    assert presented.request_uri == "urn:service:sos.fire" and presented.digits == "186119"
    # a prefix before a normal number is part of the number
    normal = analyse_dialled("1840312345678", domain=DOMAIN)
    assert normal.kind is CallKind.NORMAL and normal.prefix is None


@pytest.mark.parametrize("dialled, uri", [
    ("03-1234-5678", "tel:+81312345678"),
    ("090 1234 5678", "tel:+819012345678"),
    ("+81312345678", "tel:+81312345678"),
    ("#7119", f"tel:%237119;phone-context={DOMAIN}"),
    ("#9110", f"tel:%239110;phone-context={DOMAIN}"),
    ("0120-123-456", f"tel:0120123456;phone-context={DOMAIN}"),
    ("0800-123-4567", f"tel:08001234567;phone-context={DOMAIN}"),
])
def test_normal_numbers(dialled: str, uri: str) -> None:
    call = analyse_dialled(dialled, domain=DOMAIN)
    assert call.kind is CallKind.NORMAL and call.request_uri == uri == call.to_uri
    parsed = sip.parse_uri(uri)
    assert parsed.scheme == "tel" and not parsed.is_emergency


@pytest.mark.parametrize("bad", ["", "abc", "12a3", "--"])
def test_undialable(bad: str) -> None:
    with pytest.raises(ValueError):
        analyse_dialled(bad, domain=DOMAIN)


@pytest.mark.parametrize("status, outcome", [
    (200, CallOutcome.ANSWERED), (202, CallOutcome.ANSWERED), (403, CallOutcome.BLOCKED),
    (404, CallOutcome.REJECTED), (486, CallOutcome.REJECTED), (603, CallOutcome.REJECTED),
    (380, CallOutcome.REJECTED), (408, CallOutcome.FAILED), (503, CallOutcome.FAILED),
    (None, CallOutcome.FAILED),
])
def test_outcome_mapping(status: int | None, outcome: CallOutcome) -> None:
    assert outcome_for(status) is outcome


# --------------------------------------------------------------------------- identities


def test_identities() -> None:
    assert ims.ims_domain(HOME) == DOMAIN
    assert ims.impu_for("819010000001", "440100000000001", HOME) == f"sip:+819010000001@{DOMAIN}"
    assert ims.impu_for(None, "440100000000001", HOME) == f"sip:440100000000001@{DOMAIN}"
    assert ims.impi_for("440100000000001", HOME) == f"440100000000001@{DOMAIN}"
    assert ims.pani_for(Plmn.parse("44020"), 1, 0x10101) == (
        "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=440200001" + "0010101")


def test_address_rule() -> None:
    assert ims.ua_address("127.145.0.9") == "127.145.0.9"
    with pytest.raises(UaAddressError, match="alias"):
        ims.ua_address("192.0.2.1")  # TEST-NET-1: on no interface of this host
    with pytest.raises(UaAddressError):
        ims.ua_address(None)
    with pytest.raises(UaAddressError):
        ims.ua_address("2001:db8::1")


def test_pcscf_from_pco_first() -> None:
    assert ims.pcscf_address(["127.0.0.6"], ("127.0.0.7", 5070)) == ("127.0.0.6", 5060)
    assert ims.pcscf_address([], ("127.0.0.7", 5070)) == ("127.0.0.7", 5070)
    assert ims.pcscf_address([], None) is None


# --------------------------------------------------------------------------- IMS AKA


def _isim() -> Isim:
    return Isim("440100000000001", "819010000001", HOME, Milenage(K, OPC))


def _nonce(sqn: int, rand: bytes = bytes(range(16))) -> tuple[str, bytes]:
    av = generate_vector(Milenage(K, OPC), rand, int_to_sqn(sqn), b"\x00\x00")
    return base64.b64encode(av.rand + av.autn).decode(), av.xres


def test_isim_answers_aka_challenge_and_resyncs() -> None:
    isim = _isim()
    nonce, xres = _nonce(64)
    assert isim.challenge(nonce) == (xres, None)
    res, auts = isim.challenge(nonce)  # replayed SQN: synchronisation failure
    assert res is None and auts is not None and len(auts) == 14
    with pytest.raises(ims.IsimAuthError):
        isim.challenge(base64.b64encode(bytes(32)).decode())
    with pytest.raises(ims.IsimAuthError):
        isim.challenge("not base64!")


def test_digest_aka_response() -> None:
    # RFC 2617 §3.2.2.1 with qop=auth; RFC 3310 §3.4: the password is RES
    got = ims.digest_response("u@r", "r", b"\x01\x02", "REGISTER", "sip:r", "n", "auth",
                              "00000001", "c")
    import hashlib
    ha1 = hashlib.md5(b"u@r:r:\x01\x02").hexdigest()
    ha2 = hashlib.md5(b"REGISTER:sip:r").hexdigest()
    assert got == hashlib.md5(f"{ha1}:n:00000001:c:auth:{ha2}".encode()).hexdigest()
    params = ims.digest_params('Digest realm="r", nonce="a,b", algorithm=AKAv1-MD5, qop="auth"')
    assert params == {"realm": "r", "nonce": "a,b", "algorithm": "AKAv1-MD5", "qop": "auth"}


# --------------------------------------------------------------------------- a small P-CSCF


SECURITY_SERVER = ("ipsec-3gpp; q=0.1; alg=hmac-sha-1-96; spi-c=1111; spi-s=2222; "
                   "port-c=5062; port-s=5064")


class Pcscf:
    """P-CSCF + registrar + far end in one: REGISTER (optionally challenged with IMS AKA),
    INVITE answered by `policy(request) -> status`, BYE 200; it records each request with
    its source address."""

    def __init__(self, policy: Callable[[SipRequest], int] | None = None,
                 aka: bool = False) -> None:
        self.stack = SipStack(self.on_event, timers=FAST, supported=frozenset({"sec-agree"}))
        self.policy = policy or (lambda req: 200)
        self.aka = aka
        self.requests: list[tuple[SipRequest, tuple[str, int]]] = []
        self.xres: bytes | None = None
        self.responses: asyncio.Queue[ResponseReceived] = asyncio.Queue()

    async def start(self) -> tuple[str, int]:
        await self.stack.start("127.0.0.1", 0)
        return self.stack.local

    def close(self) -> None:
        self.stack.close()

    def on_event(self, event: Event, peer: SipPeer) -> None:
        if isinstance(event, ResponseReceived):
            self.responses.put_nowait(event)
            return
        if not isinstance(event, RequestReceived):
            return
        req = event.request
        self.requests.append((req, peer.address))
        if req.method == "REGISTER":
            self.stack.send_response(self._register(req), peer)
        elif req.method == "INVITE":
            status = self.policy(req)
            if status != 200:
                self.stack.send_response(sip.response_for(req, status), peer)
                return
            host, port = self.stack.local
            answer = sdp.encode(sdp.audio_answer(sdp.decode(req.body), host, 42000))
            self.stack.send_response(sip.response_for(
                req, 200, headers=[("Contact", f"<sip:far@{host}:{port}>")], body=answer,
                content_type="application/sdp"), peer)
        elif req.method == "BYE":
            self.stack.send_response(sip.response_for(req, 200), peer)

    def _register(self, req: SipRequest) -> sip.SipResponse:
        if not self.aka:
            return sip.response_for(req, 200, headers=[("P-Associated-URI", str(req.to.uri))])
        auth = ims.digest_params(req.header("Authorization") or "")
        if auth.get("response"):
            want = ims.digest_response(auth["username"], auth["realm"], self.xres or b"",
                                       "REGISTER", auth["uri"], auth["nonce"], auth.get("qop"),
                                       auth.get("nc", ""), auth.get("cnonce", ""))
            return sip.response_for(req, 200 if want == auth["response"] else 403)
        nonce, self.xres = _nonce(96, rand=bytes(range(1, 17)))
        return sip.response_for(req, 401, headers=[(
            "WWW-Authenticate",
            f'Digest realm="{DOMAIN}", nonce="{nonce}", algorithm=AKAv1-MD5, qop="auth"'),
            ("Security-Server", SECURITY_SERVER)])

    def methods(self) -> list[str]:
        return [r.method for r, _ in self.requests]

    def invites(self) -> list[tuple[SipRequest, tuple[str, int]]]:
        return [(r, a) for r, a in self.requests if r.method == "INVITE"]

    async def call(self, target: str, caller: str = "sip:psap@127.0.0.1") -> int:
        """A call-back to `target` ("ip:port"); returns the final status, BYE left to the UE."""
        host, port = self.stack.local
        invite = sip.make_request(
            "INVITE", f"sip:ue@{target}", from_=f"<{caller}>;tag={sip.new_tag()}",
            to=f"<sip:ue@{target}>", call_id=sip.new_call_id(host), cseq=1,
            via=self.stack.via(), contact=f"<sip:psap@{host}:{port}>",
            headers=[("P-Asserted-Identity", "<sip:psap@example.invalid>")],
            body=sdp.encode(sdp.audio_offer(host, 43000)), content_type="application/sdp")
        ip, p = target.split(":")
        peer = SipPeer("UDP", (ip, int(p)))
        await self.stack.send_request(invite, peer)
        while True:
            got = await asyncio.wait_for(self.responses.get(), WAIT)
            if got.response.status >= 200:
                break
        dialog = Dialog.from_uac(invite, got.response)
        await self.stack.send_request(dialog.create_request("ACK", self.stack.via()), peer)
        return got.response.status


# --------------------------------------------------------------------------- the UA alone


async def test_ua_registers_with_ims_aka_and_calls(unused_addr: str) -> None:
    pcscf = Pcscf(aka=True)
    addr = await pcscf.start()
    ua = ImsUserAgent(_isim(), unused_addr, addr, port=0, timers=FAST, hold=0.05,
                      pani="3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=440200001000101")
    await ua.start()
    try:
        reg = await ua.register()
        result = await ua.call(analyse_dialled("03-1234-5678", domain=DOMAIN))
        await asyncio.sleep(0.1)
    finally:
        await ua.stop()
        pcscf.close()
    assert reg.registered and reg.status == 200
    assert pcscf.methods() == ["REGISTER", "REGISTER", "INVITE", "ACK", "BYE"]
    first, second = pcscf.requests[0][0], pcscf.requests[1][0]
    assert first.request_uri == sip.parse_uri(f"sip:{DOMAIN}")
    assert str(first.to.uri) == f"sip:+819010000001@{DOMAIN}"
    assert 'username="440100000000001@' + DOMAIN in (first.header("Authorization") or "")
    assert "algorithm=AKAv1-MD5" in (second.header("Authorization") or "")
    # RFC 3329 §2.3.1, TS 24.229 §5.1.1.2.1 / §5.1.1.5.1: the security agreement
    for req in (first, second):
        assert req.header("Require") == req.header("Proxy-Require") == "sec-agree"
        client = req.header("Security-Client") or ""
        assert client.startswith("ipsec-3gpp; alg=hmac-sha-1-96; spi-c=")
        assert f"port-c={ua.local[1]}" in client
    assert second.header("Security-Client") == first.header("Security-Client")
    assert first.header("Security-Verify") is None
    assert second.headers_all("Security-Verify") == [SECURITY_SERVER]
    assert first.header("P-Access-Network-Info") is not None
    invite, source = pcscf.invites()[0]
    assert source[0] == unused_addr  # the P-CSCF sees the PDN address
    assert invite.uri == "tel:+81312345678"
    assert invite.header("P-Preferred-Identity") == f"<sip:+819010000001@{DOMAIN}>"
    assert result.outcome is CallOutcome.ANSWERED and result.sip_status == 200
    assert result.registered and result.ua == f"{unused_addr}:{ua.local[1]}"


async def test_ua_unregistered_emergency_and_blocked(unused_addr: str) -> None:
    pcscf = Pcscf(policy=lambda r: 200 if r.request_uri.is_emergency else 403)
    addr = await pcscf.start()
    ua = ImsUserAgent(_isim(), unused_addr, addr, port=0, timers=FAST, hold=0.05)
    await ua.start()
    try:
        sos = await ua.call(analyse_dialled("184110", domain=DOMAIN))
        blocked = await ua.call(analyse_dialled("#7119", domain=DOMAIN))
        await asyncio.sleep(0.1)
    finally:
        await ua.stop()
        pcscf.close()
    assert (sos.outcome, sos.sip_status, sos.registered) == (CallOutcome.ANSWERED, 200, False)
    assert (blocked.outcome, blocked.sip_status) == (CallOutcome.BLOCKED, 403)
    invite = pcscf.invites()[0][0]
    assert invite.uri == "urn:service:sos.police"
    assert invite.header("P-Preferred-Identity") is None  # §5.1.6.8.2: unregistered
    assert invite.header("Privacy") == "id"  # 184 withholds
    assert str(invite.to.uri) == "tel:110;phone-context=+81"


async def test_ua_no_answer_is_failed(unused_addr: str) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    ua = ImsUserAgent(_isim(), unused_addr, silent.getsockname(), port=0,
                      timers=Timers(t1=0.005), hold=0.05)
    await ua.start()
    try:
        result = await ua.call(analyse_dialled("119", domain=DOMAIN))
    finally:
        await ua.stop()
        silent.close()
    assert result.outcome is CallOutcome.FAILED and result.sip_status is None
    assert result.reason == "no final response"


@pytest.fixture
def unused_addr(request: pytest.FixtureRequest) -> Iterator[str]:
    """A distinct address of the S/P-GW's default internet pool (127.145.0.0/16)."""
    n = abs(hash(request.node.name)) % 60000 + 1
    yield f"127.145.{n // 250}.{n % 250 + 1}"


# --------------------------------------------------------------------------- against sipp

sipp_mark = pytest.mark.tshark

@sipp_mark
async def test_sipp_uas_answers_our_emergency_call(tmp_path: Path) -> None:
    """sipp as the far end (a PSAP behind the P-CSCF) answers; the UA binds 5060 on its
    PDN address."""
    writer = PcapWriter(tmp_path / "ue.pcapng")
    tap = PcapTap(writer)
    port = free_udp_port()
    uas = scenario("uas", tmp_path)
    sipp = asyncio.ensure_future(run_sipp("-sf", uas, "-i", "127.0.0.1", "-p", str(port),
                                       cwd=tmp_path))
    ua = ImsUserAgent(_isim(), "127.145.250.1", ("127.0.0.1", port), udp_tap=tap.udp,
                      timers=Timers(t1=0.5), hold=0.2)
    await ua.start()
    try:
        await asyncio.sleep(0.5)  # sipp binds its socket
        result = await ua.call(analyse_dialled("119", domain=DOMAIN))
        rc, out = await sipp
    finally:
        await ua.stop()
        writer.close()
    assert ua.local == ("127.145.250.1", 5060)
    assert rc == 0, out
    assert result.outcome is CallOutcome.ANSWERED and result.sip_status == 200
    assert result.ua == "127.145.250.1:5060"
    pcap = tmp_path / "ue.pcapng"
    assert tshark.values(pcap, "sip.Method", opts=()) == ["INVITE", "ACK", "BYE"]
    assert tshark.values(pcap, "sip.r-uri", opts=())[0] == "urn:service:sos.fire"
    assert tshark.count(pcap, "_ws.malformed", opts=()) == 0


@sipp_mark
async def test_sipp_uac_calls_back(tmp_path: Path) -> None:
    """sipp as the PSAP calling back: 180, 200 with an SDP answer, ACK, sipp's BYE, 200."""
    writer = PcapWriter(tmp_path / "cb.pcapng")
    tap = PcapTap(writer)
    ua = ImsUserAgent(_isim(), "127.145.250.2", ("127.0.0.1", 9), port=0, udp_tap=tap.udp,
                      timers=Timers(t1=0.5), hold=5.0)
    await ua.start()
    try:
        rc, out = await run_sipp("-sn", "uac", "-i", "127.0.0.1", "-p", str(free_udp_port()),
                              ua.ua, cwd=tmp_path)
        await asyncio.wait_for(ua.callback_event.wait(), WAIT)
    finally:
        await ua.stop()
        writer.close()
    assert rc == 0, out
    [cb] = ua.callbacks
    assert (cb.outcome, cb.sip_status, cb.ended_by) == ("answered", 200, "remote")
    pcap = tmp_path / "cb.pcapng"
    assert tshark.values(pcap, "sip.Status-Code", opts=()) == ["180", "200", "200"]
    assert tshark.count(pcap, "_ws.malformed", opts=()) == 0


# --------------------------------------------------------------------------- Population.call


def _loopback_pdn(monkeypatch: pytest.MonkeyPatch, base: int) -> None:
    """The S/P-GW's loopback pools with the third octet `base`: each test's UE addresses
    apart from every other test's."""
    real = nas.activate_default_eps_bearer_context_request

    def patched(*args: Any, **kw: Any) -> bytes:
        last = kw["ipv4"].rsplit(".", 1)[1]
        apn = kw.get("apn", args[3] if len(args) > 3 else None)
        pool = {"sos": "127.147", "ims": "127.146"}.get(apn or "", "127.145")
        kw["ipv4"] = f"{pool}.{base}.{last}"
        return real(*args, **kw)

    monkeypatch.setattr(nas, "activate_default_eps_bearer_context_request", patched)


async def _population_call(mode: str, devices: list[DeviceProfile], dialled: str,
                           pcscf: Pcscf, n: int = 2, callback: bool = False
                           ) -> tuple[list[dict[str, Any]], list[Any], list[Any]]:
    addr = await pcscf.start()
    mme = CoreS1Server(_subs(n), mode=mode, pcscf=[addr[0]])
    host, port = await mme.start()
    enbs = [EnbConfig(name="enb1", global_enb_id=0x101, tac=1, address="127.0.1.1",
                      mme=Endpoint(host=host, port=port))]
    cbs: list[Any] = []
    try:
        async with Population(_subs(n), enbs, sctp_mode="fallback", timeout=10.0,
                              info_wait=0.3, devices=devices, pcscf=addr, sip_port=0,
                              sip_timers=FAST, call_hold=0.05) as pop:
            if mode == "full":
                await pop.attach()
            calls = await pop.call(dialled)
            if callback:
                targets = await pop.answer_callbacks()
                cbs = [await pcscf.call(t) if t else None for t in targets]
                await pop.wait_callbacks(1, timeout=2.0)
                cbs = [cbs, pop.callback_results()]
            results = pop.results()
    finally:
        mme.close()
        pcscf.close()
    return calls, results, cbs


async def test_population_full_roaming_110(monkeypatch: pytest.MonkeyPatch) -> None:
    _loopback_pdn(monkeypatch, 1)
    pcscf = Pcscf()
    calls, results, cbs = await _population_call(
        "full", [DEVICES["android-docomo-2026"], DEVICES["legacy-2019"]], "110", pcscf,
        callback=True)
    docomo, legacy = calls
    assert (docomo["outcome"], docomo["sip_status"]) == ("answered", 200)
    assert docomo["registered"] and docomo["request_uri"] == "urn:service:sos.police"
    # TS 23.167 §6.2, §7.1: the call goes from the emergency PDN connection the UE opened
    # after its attach (the `sos` pool), not from the attach's `internet` one
    sos_address = docomo["ua"].rsplit(":", 1)[0]
    assert sos_address.startswith("127.147.1.")
    assert results[0].ipv4.startswith("127.145.1.")
    assert legacy["outcome"] == "not_attempted" and legacy["sip_status"] is None
    assert legacy["reason"].startswith("device cannot place emergency calls in full roaming")
    # both UEs registered from their own `ims` PDN address (the legacy one for the call-back); the
    # caller also registered for emergency (TS 24.229 §5.1.6.2: "sos" in Contact) before its
    # INVITE, and calls over that registration
    regs = [(r, a) for r, a in pcscf.requests if r.method == "REGISTER"]
    sos = [(r, a) for r, a in regs if r.contacts[0].uri.params == (("sos", None),)]
    normal = [(r, a) for r, a in regs if (r, a) not in sos]
    # GSMA IR.92: normal IMS signalling from each UE's `ims` PDN connection, opened after
    # the attach's `internet` one
    assert sorted(a[0] for _, a in normal) == ["127.146.1.1", "127.146.1.2"]
    assert [a[0] for _, a in sos] == [sos_address]
    assert docomo["emergency_registration"] == 200
    [(invite, source)] = pcscf.invites()
    assert source[0] == sos_address
    assert invite.contacts[0].uri.params == (("sos", None),)
    assert invite.header("P-Preferred-Identity") == f"<sip:+819010000001@{DOMAIN}>"
    assert "utran-cell-id-3gpp=44020" in (invite.header("P-Access-Network-Info") or "")
    statuses, received = cbs
    assert statuses == [200, 200]
    assert [len(r) for r in received] == [1, 1] and received[0][0]["outcome"] == "answered"


async def test_population_emergency_unauth_and_normal(monkeypatch: pytest.MonkeyPatch) -> None:
    _loopback_pdn(monkeypatch, 2)
    pcscf = Pcscf()
    devices = [DEVICES["iphone-2026"], DEVICES["android-kddi-2022"]]
    calls, results, _ = await _population_call("emergency-unauth", devices, "119", pcscf)
    iphone, kddi = calls
    assert (iphone["outcome"], iphone["sip_status"], iphone["registered"]) == (
        "answered", 200, False)
    assert results[0].pdn == "sos" and iphone["ua"].startswith("127.147.2.")
    assert kddi["outcome"] == "not_attempted"
    assert kddi["reason"].startswith("device does not support emergency-only roaming")
    [(invite, _)] = pcscf.invites()
    assert invite.uri == "urn:service:sos.fire" and invite.header("P-Preferred-Identity") is None
    assert "REGISTER" not in pcscf.methods()


async def test_population_normal_call_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    _loopback_pdn(monkeypatch, 3)
    pcscf = Pcscf(policy=lambda r: 403 if "phone-context" in r.uri else 200)
    full, _, _ = await _population_call("full", [DEVICES["iphone-2026"]], "0120-123-456",
                                        pcscf, n=1)
    assert (full[0]["outcome"], full[0]["sip_status"]) == ("blocked", 403)
    _loopback_pdn(monkeypatch, 4)
    pcscf = Pcscf()
    emerg, _, _ = await _population_call("emergency-auth", [DEVICES["iphone-2026"]],
                                         "03-1234-5678", pcscf, n=1)
    assert emerg[0]["outcome"] == "not_attempted" and emerg[0]["reason"] == "no normal service"
    assert pcscf.requests == []


async def test_population_prefixed_emergency_per_device(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _loopback_pdn(monkeypatch, 5)
    capable = DEVICES["iphone-2026"].model_copy(update={"name": "prefix-capable",
                                                        "prefixed_emergency_calls_roaming": True})
    pcscf = Pcscf()
    calls, _, _ = await _population_call("full", [capable, DEVICES["iphone-2026"]], "184110",
                                         pcscf)
    ok, refused = calls
    assert (ok["outcome"], ok["request_uri"]) == ("answered", "urn:service:sos.police")
    assert refused["outcome"] == "not_attempted" and "184-prefixed" in refused["reason"]
    [(invite, _)] = pcscf.invites()
    assert invite.header("Privacy") == "id"
    # emergency-only roaming: a prefixed emergency call never connects
    _loopback_pdn(monkeypatch, 6)
    pcscf = Pcscf()
    calls, _, _ = await _population_call("emergency-unauth", [capable], "186119", pcscf, n=1)
    assert calls[0]["outcome"] == "not_attempted" and "186-prefixed" in calls[0]["reason"]


# --------------------------------------------------------------------------- sim-ue call


@sipp_mark
async def test_cli_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from tests.cli_helpers import BIN

    _loopback_pdn(monkeypatch, 7)
    mme = CoreS1Server(_subs(1))
    host, port = await mme.start()
    pcscf = Pcscf()
    paddr = await pcscf.start()
    subs = tmp_path / "subs.yaml"
    subs.write_text(f"subscribers:\n  - {{imsi: '440100000000001', count: 1, "
                    f"msisdn: '819010000001', k: {K.hex()}, opc: {OPC.hex()}}}\n")
    pcap = tmp_path / "call.pcapng"
    try:
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "sim-ue"), "call", "--dial", "118", "--pcscf", f"{paddr[0]}:{paddr[1]}",
            "--mme", f"{host}:{port}", "--subscribers", str(subs), "--plmn", "44020",
            "--sctp", "fallback", "--timeout", "10", "--hold", "0.05", "--json",
            "--pcap", str(pcap),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        mme.close()
        pcscf.close()
    assert proc.returncode == 0, stderr.decode()
    [row] = json.loads(stdout)
    assert (row["outcome"], row["sip_status"], row["dialled"]) == ("answered", 200, "118")
    assert row["request_uri"] == "urn:service:sos.marine" and row["registered"]
    # TS 23.167 §6.2: the emergency call goes from the emergency PDN connection (`sos` pool)
    assert row["ua"].startswith("127.147.7.") and row["ua"].endswith(":5060")
    # TS 24.229 §5.1.6.2: the normal registration, then the emergency one, then the call
    assert pcscf.methods() == ["REGISTER", "REGISTER", "INVITE", "ACK", "BYE"]
    assert tshark.values(pcap, "sip.Method", opts=()) == ["REGISTER", "REGISTER", "INVITE",
                                                          "ACK", "BYE"]
    assert row["emergency_registration"] == 200


def test_pcscf_address_precedence() -> None:
    """TS 24.229 §9.2.1: the PCO's P-CSCF (on 5060, PCO carries no port) unless an address was
    given explicitly; a PCO naming the configured host keeps the configured port."""
    assert ims.pcscf_address(["127.0.0.6"], ("127.0.0.9", 5070)) == ("127.0.0.6", 5060)
    assert ims.pcscf_address(["127.0.0.6"], ("127.0.0.6", 5070)) == ("127.0.0.6", 5070)
    assert ims.pcscf_address(["127.0.0.6"], ("127.0.0.9", 5070), explicit=True) == \
        ("127.0.0.9", 5070)
    assert ims.pcscf_address([], ("127.0.0.9", 5070)) == ("127.0.0.9", 5070)
    assert ims.pcscf_address([], None) is None
