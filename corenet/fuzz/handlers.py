"""Fuzz targets over the server entry points: a network function fed a peer's bytes answers (or
drops) them and never raises. For these targets every exception is a crash.

Each target feeds bytes the way the node's transport does: the SCTP-over-TCP and SIP stream
framers, the MME core (S1AP bytes, and NAS PDUs carried in valid S1AP), the HSS S6a server and
the S/P-GW core after the Diameter / GTPv2-C decoding their services do, the P-CSCF / E-CSCF /
S-CSCF cores and the PSAP after SIP decoding, the control endpoint's request lines, and the bus
payload handlers (the rescuer's order handling, the affected operator's acknowledgement
bookkeeping).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from corenet.core.errors import DecodeError
from corenet.fuzz.decoders import diameter_seeds, gtpv2c_seeds, nas_seeds, sip_seeds
from corenet.fuzz.target import Run, Target, outcome

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
PEER = ("192.0.2.10", 40000)


def _kinds(actions: list[Any]) -> str:
    return "+".join(sorted({type(a).__name__ for a in actions})) or "none"


# -- stream framing --------------------------------------------------------------------------

def _chunks(data: bytes) -> list[bytes]:
    """The case in the pieces a TCP stream may deliver it in (cut points taken from the data)."""
    if len(data) < 4:
        return [data]
    a = 1 + data[0] % 7
    b = a + 1 + data[-1] % max(1, len(data) - a)
    return [data[:a], data[a:b], data[b:]]


def _sctp_framing_seeds() -> list[bytes]:
    from corenet.fuzz.decoders import _s1ap_seeds
    from corenet.transport.fallback import encode_frame

    s1 = _s1ap_seeds()
    return [encode_frame(s1[0], 18, 0) + encode_frame(s1[2], 18, 1),
            b"".join(encode_frame(p, 18, i) for i, p in enumerate(s1[:5]))]


def _make_sctp_framing() -> Run:
    from corenet.transport.fallback import FallbackFramer

    def run(data: bytes) -> str:
        framer = FallbackFramer(max_message=4096)
        frames = [f for piece in _chunks(data) for f in framer.feed(piece)]
        if any(not f.payload for f in frames) or sum(len(f.payload) for f in frames) > len(data):
            raise AssertionError("framer returned frames the input does not hold")
        return f"frames:{min(len(frames), 3)}:{outcome(framer.error) if framer.error else 'ok'}"

    return run


def _make_sip_framing() -> Run:
    from corenet.transport.sip import SipFramer

    def run(data: bytes) -> str:
        framer = SipFramer()
        frames = [f for piece in _chunks(data) for f in framer.feed(piece)]
        if sum(len(f.payload) for f in frames) > len(data):
            raise AssertionError("framer returned more octets than it was given")
        return f"frames:{min(len(frames), 3)}:{outcome(framer.error) if framer.error else 'ok'}"

    return run


# -- MME ---------------------------------------------------------------------------------------

def _mme_seeds() -> list[bytes]:
    from corenet.codecs import s1ap
    from corenet.core.plmn import Plmn

    plmn = Plmn("440", "20")
    nas_pdus = nas_seeds()
    out = [s1ap.encode(s1ap.initial_ue_message(i + 10, pdu, plmn, 1, plmn, 0x1010))
           for i, pdu in enumerate(nas_pdus[:3])]
    out += [s1ap.encode(s1ap.uplink_nas_transport(1, 10, pdu, plmn, 1, plmn, 0x1010))
            for pdu in nas_pdus[3:8]]
    out += [s1ap.encode(m) for m in (
        s1ap.s1_setup_request(0x102, "enb2", plmn, [1, 2]),
        s1ap.initial_context_setup_response(1, 10, [(5, "192.0.2.2", 7)]),
        s1ap.ue_context_release_request(1, 10, ("radioNetwork", "user-inactivity")),
        s1ap.ue_context_release_complete(1, 10),
        s1ap.reset(("misc", "unspecified"), [(1, 10)]),
        s1ap.error_indication(("protocol", "semantic-error"), 1, 10),
    )]
    return out


def _mme_core() -> Any:
    from corenet.codecs import s1ap
    from corenet.config.models import MmeConfig
    from corenet.core.plmn import Plmn
    from corenet.nf.mme.core import MmeCore
    from corenet.nf.mme.events import S1apReceived, S1Up

    core = MmeCore(MmeConfig())
    core.handle(S1Up(1), NOW)
    core.handle(S1apReceived(1, s1ap.encode(s1ap.s1_setup_request(
        0x101, "enb1", Plmn("440", "20"), [1]))), NOW)
    return core


def _make_mme() -> Run:
    from corenet.nf.mme.events import S1apReceived

    core = _mme_core()
    clock = [NOW]

    def run(data: bytes) -> str:
        clock[0] += 0.001
        return _kinds(core.handle(S1apReceived(1, data, stream=1), clock[0]))

    return run


def _make_mme_nas() -> Run:
    from corenet.codecs import s1ap
    from corenet.core.plmn import Plmn
    from corenet.nf.mme.events import S1apReceived

    plmn = Plmn("440", "20")
    core = _mme_core()
    state = {"enb_ue_id": 100, "now": NOW}

    def run(data: bytes) -> str:
        # TS 36.413 §8.6.2.1: the NAS PDU of a new UE arrives in an Initial UE Message; the
        # next PDU from the same UE in an Uplink NAS Transport
        state["enb_ue_id"] += 1
        state["now"] += 0.001
        enb_ue_id = int(state["enb_ue_id"]) % (1 << 24)
        if not data:
            data = b"\x00"
        first = core.handle(S1apReceived(1, s1ap.encode(s1ap.initial_ue_message(
            enb_ue_id, data, plmn, 1, plmn, 0x1010)), stream=1), state["now"])
        mme_ids = [ue_id for ue_id, ue in core.ues.items() if getattr(ue, "enb_ue_id", None) == enb_ue_id]
        second: list[Any] = []
        if mme_ids:
            second = core.handle(S1apReceived(1, s1ap.encode(s1ap.uplink_nas_transport(
                mme_ids[0], enb_ue_id, data, plmn, 1, plmn, 0x1010)), stream=1), state["now"])
        return _kinds(first) + "|" + _kinds(second)

    return run


# -- HSS ---------------------------------------------------------------------------------------

def _hss_seeds() -> list[bytes]:
    from corenet.codecs import diameter as d
    from corenet.codecs import s6a
    from corenet.core.plmn import Plmn

    plmn = Plmn("440", "20")
    sid = d.session_id("mme.example.org", 1, 2)
    imsi = "440100000000001"
    from corenet.codecs import cx

    home, impi = "epc.mnc010.mcc440.3gppnetwork.org", f"{imsi}@ims.mnc010.mcc440.3gppnetwork.org"
    impu, scscf = "sip:+819012345678@ims.mnc010.mcc440.3gppnetwork.org", "sip:scscf.example.org"
    return diameter_seeds() + [d.encode(m) for m in (
        s6a.air(sid, "mme.example.org", "example.org", home, imsi, plmn, hop_by_hop=1,
                end_to_end=2),
        s6a.ulr(sid, "mme.example.org", "example.org", home,
                imsi, plmn, hop_by_hop=3, end_to_end=4, imei="35349006987330",
                software_version="01"),
        # TS 29.229 Cx, served by the same HSS and SQN store
        cx.uar(sid, "scscf.example.org", "example.org", home, impi, impu,
               "ims.mnc020.mcc440.3gppnetwork.org"),
        cx.mar(sid, "scscf.example.org", "example.org", home, impi, impu, scscf,
               resync=bytes(30)),
        cx.sar(sid, "scscf.example.org", "example.org", home, impi, impu, scscf,
               cx.ServerAssignmentType.REGISTRATION),
    )]


def _make_hss() -> Run:
    from corenet.codecs import diameter as d
    from corenet.config.subscribers import SubscriberEntry
    from corenet.core.plmn import Plmn
    from corenet.nf.hss.cx import CxServer
    from corenet.nf.hss.s6a import S6aServer, SendAnswer
    from corenet.nf.hss.store import HssStore

    store = HssStore(":memory:")
    store.provision(SubscriberEntry(imsi="440100000000001", count=3, msisdn="819012345678",
                                    k="465b5ce8b199b49faa5f0a2ee238a6bc",
                                    opc="cd63cb71954a9f4e48a5994e37a02baf").expand())
    server = S6aServer(store, origin_host="hss.epc.mnc010.mcc440.3gppnetwork.org",
                       origin_realm="epc.mnc010.mcc440.3gppnetwork.org",
                       random_bytes=lambda n: bytes(n))
    cx_server = CxServer(store, Plmn("440", "10"),
                         origin_host="hss.epc.mnc010.mcc440.3gppnetwork.org",
                         origin_realm="epc.mnc010.mcc440.3gppnetwork.org",
                         random_bytes=lambda n: bytes(n))

    def run(data: bytes) -> str:
        try:
            msg = d.decode(data)
        except DecodeError as exc:  # the Diameter peer answers this one (RFC 6733 §7.1)
            return outcome(exc)
        if msg.name in ("UAR", "MAR", "SAR"):
            actions = cx_server.handle(msg, NOW)
        elif msg.name not in ("AIR", "ULR", "PUR"):
            return f"not-s6a:{msg.name}"
        else:
            actions = server.handle(msg, NOW)
        answers = [a for a in actions if isinstance(a, SendAnswer)]
        # RFC 6733 §6.2: one request, exactly one answer
        if len(answers) != 1:
            raise AssertionError(f"{msg.name} got {len(answers)} answers")
        d.encode(answers[0].message)
        return f"{msg.name}:{d.avp(answers[0].message, 'Result-Code')}"

    return run


# -- PCRF ----------------------------------------------------------------------------------------

def _pcrf_seeds() -> list[bytes]:
    from corenet.codecs import diameter as d
    from corenet.codecs import pcc

    me, pcrf = pcc.Origin("pgw.example.org", "example.org"), "pcrf.example.org"
    ue = "127.147.0.2"
    audio = ("Media-Component-Description", [
        ("Media-Component-Number", 1),
        ("Media-Sub-Component", [
            ("Flow-Number", 1),
            ("Flow-Description", f"permit out 17 from 127.0.0.8 40000 to {ue} 50000"),
            ("Flow-Description", f"permit in 17 from {ue} 50000 to 127.0.0.8 40000")]),
        ("Media-Type", 0), ("Max-Requested-Bandwidth-UL", 41000),
        ("Max-Requested-Bandwidth-DL", 41000)])
    return diameter_seeds() + [d.encode(m) for m in (
        pcc.request("CCR", "pgw;1;2", me, "example.org", [
            ("CC-Request-Type", 1), ("CC-Request-Number", 0),
            *pcc.subscription_ids("440100000000001", "819012345678"),
            *pcc.ue_address_avps("127.147.0.3", None), ("Called-Station-Id", "ims")],
            dest_host=pcrf),
        pcc.request("CCR", "pgw;1;1", me, "example.org", [
            ("CC-Request-Type", 2), ("CC-Request-Number", 1), ("Charging-Rule-Report", [
                ("Charging-Rule-Name", b"af-1-1-1"), ("PCC-Rule-Status", 1)])]),
        pcc.request("AAR", "af;1;1", me, "example.org", [
            *pcc.ue_address_avps(ue, None), audio, ("Service-URN", b"urn:service:sos"),
            ("AF-Requested-Data", 1), ("Required-Access-Info", 0)]),
        pcc.request("STR", "af;1;1", me, "example.org", [("Termination-Cause", 1)]),
    )]


def _make_pcrf() -> Run:
    from corenet.codecs import diameter as d
    from corenet.codecs import pcc
    from corenet.nf.pcrf.core import PcrfCore, SendAnswer

    core = PcrfCore("pcrf.example.org", "example.org")
    core.handle(pcc.request("CCR", "pgw;1;1", pcc.Origin("pgw.example.org", "example.org"),
                            "example.org", [
        ("CC-Request-Type", 1), ("CC-Request-Number", 0),
        *pcc.subscription_ids("440100000000001", "819012345678"),
        *pcc.ue_address_avps("127.147.0.2", None), ("Called-Station-Id", "sos")]), NOW)

    def run(data: bytes) -> str:
        try:
            msg = d.decode(data)
        except DecodeError as exc:  # the Diameter peer answers this one (RFC 6733 §7.1)
            return outcome(exc)
        if not msg.fields["flags"]["request"]:
            return f"answer:{msg.name}"
        actions = core.handle(msg, NOW)
        answers = [a for a in actions if isinstance(a, SendAnswer)]
        if len(answers) != 1:  # RFC 6733 §6.2: one request, exactly one answer
            raise AssertionError(f"{msg.name} got {len(answers)} answers")
        for action in actions:
            if hasattr(action, "message"):
                d.encode(action.message)
        return f"{msg.name}:{pcc.result_of(answers[0].message)}"

    return run


# -- S/P-GW --------------------------------------------------------------------------------------

def _make_sgw() -> Run:
    from corenet.codecs import gtpv2c as g
    from corenet.config.models import SgwPgwConfig
    from corenet.nf.sgw_pgw.core import S11Malformed, S11Request, SendResponse, SgwPgwCore

    core = SgwPgwCore(SgwPgwConfig())
    clock = [NOW]

    def run(data: bytes) -> str:
        clock[0] += 0.001
        try:
            msg = g.decode(data)
        except DecodeError as exc:
            actions = core.handle(S11Malformed(exc, PEER), clock[0])
        else:
            actions = core.handle(S11Request(msg, PEER), clock[0])
        for a in actions:
            if isinstance(a, SendResponse):
                g.encode(a.message)
        return _kinds(actions)

    return run


# -- IMS and PSAP --------------------------------------------------------------------------------

def _sip_in(data: bytes) -> Any:
    """Decode as SipTransport does; a DecodeError gets its answer built (RFC 3261 §21.4.1)."""
    from corenet.codecs import sip
    from corenet.transport.sip import stamp_received

    try:
        msg = sip.decode(data)
    except DecodeError as exc:
        response = sip.error_response(exc)
        if response is not None:
            sip.encode(response)
        return f"rejected:{exc.cause}"
    if isinstance(msg, sip.SipRequest):
        try:
            stamp_received(msg, PEER)
        except DecodeError:
            pass
    return msg


def _make_ims(element: str) -> Run:
    from corenet.codecs import sip
    from corenet.config.models import ImsConfig
    from corenet.nf.ims.binding import AccessMode, BindingTable, UeBinding
    from corenet.nf.ims.dialplan import DialPlan
    from corenet.nf.ims.ecscf import EcscfCore
    from corenet.nf.ims.pcscf import PcscfCore
    from corenet.nf.ims.proxy import Element, SendSip
    from corenet.nf.ims.scscf import ScscfCore

    # the fuzzing peer is trusted (a bound UE for the P-CSCF, a P-CSCF for the others), so the
    # mutated requests reach the routing decisions behind the trust checks
    cfg = ImsConfig().model_copy(deep=True)
    cfg.ecscf.pcscfs.append(PEER[0])
    cfg.home.pcscfs.append(PEER[0])
    me = Element("127.0.0.6", 5060)
    dialplan = DialPlan(cfg.dialplan)
    core: Any
    if element == "pcscf":
        bindings = BindingTable(None, emergency_apn=cfg.pcscf.emergency_apn)
        bindings.add(UeBinding(PEER[0], AccessMode.EMERGENCY_UNAUTH, imsi="440100000000001"))
        core = PcscfCore(cfg.pcscf, bindings, dialplan, me)
    elif element == "ecscf":
        core = EcscfCore(cfg.ecscf, dialplan, me)
    else:
        core = ScscfCore(cfg.home, me)

    def run(data: bytes) -> str:
        msg = _sip_in(data)
        if isinstance(msg, str):
            return msg
        actions: list[Any]
        if isinstance(msg, sip.SipRequest):
            if isinstance(core, EcscfCore):
                actions = core.handle_request(msg, PEER)
            else:
                actions = core.handle_request(msg, PEER, NOW)
        elif isinstance(core, PcscfCore):
            actions = core.handle_response(msg, PEER, NOW)
        else:
            actions = core.handle_response(msg)
        for a in actions:
            if isinstance(a, SendSip):
                sip.encode(a.message)
        return _kinds(actions)

    return run


def _make_psap() -> Run:
    from corenet.codecs import sip
    from corenet.config.models import PsapConfig
    from corenet.nf.psap.service import PsapService
    from corenet.protocols.sip_transactions import RequestReceived, ResponseReceived
    from corenet.transport.sip import SipPeer

    psap = PsapService(PsapConfig().model_copy(update={"database": ":memory:",
                                                        "trusted_peers": [PEER[0]]}))
    sent: list[Any] = []

    class _Stack:
        """The SIP stack, as far as the PSAP's handler uses it: responses are collected."""

        local = ("127.0.0.8", 5060)

        def send_response(self, response: Any, peer: Any) -> None:
            sip.encode(response)
            sent.append(response)

        def via(self, *args: Any, **kwargs: Any) -> str:
            return "SIP/2.0/UDP 127.0.0.8:5060;branch=z9hG4bKfuzz"

    psap.stack = _Stack()  # type: ignore[assignment]
    peer = SipPeer("UDP", PEER)

    def run(data: bytes) -> str:
        msg = _sip_in(data)
        if isinstance(msg, str):
            return msg
        sent.clear()
        event: Any = (RequestReceived(msg, PEER, ("fuzz",)) if isinstance(msg, sip.SipRequest)
                      else ResponseReceived(msg, PEER, None, None))
        psap._on_sip(event, peer)  # the handler its SipStack calls
        while not psap.answered.empty():
            psap.answered.get_nowait()
        return "+".join(str(r.status) for r in sent) or "none"

    return run


# -- control endpoint and bus --------------------------------------------------------------------

def _control_seeds() -> list[bytes]:
    return [b'{"op": "policy.list"}\n', b'{"op": "status"}\n',
            b'{"op": "policy.get", "home_plmn": "44010", "tac": 1}\n',
            b'{"op": "policy.set", "home_plmn": "44010", "mode": "emergency-only", '
            b'"tacs": [1, 2], "try_aka_first": true}\n',
            b'{"op": "fail", "failure": "hss-unreachable", "home_plmn": "44010", "how": "close"}\n',
            b'{"op": "restore"}\n', b'{"op": "name.set", "full": "JPN-ROAM X", "short": "JPN"}\n']


def _make_control() -> Run:
    from corenet.config.models import MmeConfig
    from corenet.control.server import ControlServer
    from corenet.nf.mme.control import ControlApi
    from corenet.nf.mme.policy import RoamingPolicy

    server = ControlServer(ControlApi(RoamingPolicy.from_config(MmeConfig())), lambda _: None,
                           clock=lambda: NOW)

    def run(data: bytes) -> str:
        answer = server.answer_line(data)
        return f"ok:{answer.get('ok')}:{str(answer.get('error', ''))[:24]}"

    return run


def _bus_seeds() -> list[bytes]:
    import json

    from corenet.activation.flow import Mode
    from corenet.activation.request import Ack, ActivationRequest, Area, Contact
    from corenet.core.plmn import Plmn

    a, b = Plmn.parse("44010"), Plmn.parse("44020")
    when = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)
    req = ActivationRequest("0b5f3c1e-7a1d-4c55-9a77-1f2e3d4c5b6a", a, (b,), Mode.FULL,
                            Area(("04",), (101, 102)), when,
                            (Contact("NOC", "+81 3 1234 5678", "duty"),), "earthquake")
    ack = Ack(req.request_id, b, a, True, Mode.FULL, (101,), (), when)
    return [json.dumps(req.to_json()).encode(), json.dumps(ack.to_json()).encode()]


def _make_bus() -> Run:
    from corenet.activation.request import Ack, OwnNetwork
    from corenet.activation.rescuer import RecordingConfigurator, Rescuer
    from corenet.bus import topics
    from corenet.bus.topics import Kind
    from corenet.bus.validate import PayloadError, load
    from corenet.core.plmn import Plmn

    a, b = Plmn.parse("44010"), Plmn.parse("44020")
    rescuer = Rescuer(OwnNetwork(b, frozenset({a}), frozenset({101, 102})), RecordingConfigurator())
    when = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)

    def run(data: bytes) -> str:
        # the rescuer's order handler (corenet.activation.rescuer): answers, never raises
        published = rescuer.handle_order(topics.order(b, a), data, when)
        rescuer.answered.clear()
        # the affected side's acknowledgement bookkeeping (BusClient._dispatch)
        try:
            ack = Ack.from_json(load(Kind.ACK, data))
            seen = f"ack:{ack.accepted}"
        except PayloadError as exc:
            seen = f"ack-refused:{exc.field}"
        return "+".join(p.payload.get("type", p.kind.value) for p in published) + "|" + seen

    return run


HANDLERS = [
    Target("sctp-framing", "SCTP-over-TCP fallback framer (S1-MME without kernel SCTP)",
           _sctp_framing_seeds, make=_make_sctp_framing, expected=(), reset_every=1),
    Target("sip-framing", "SIP stream framer (RFC 3261 §18.3, Content-Length)",
           sip_seeds, make=_make_sip_framing, expected=(), reset_every=1),
    Target("mme", "MME core fed S1AP PDUs on an eNB's association (TS 36.413)",
           _mme_seeds, make=_make_mme, expected=()),
    Target("mme-nas", "MME core fed NAS PDUs in Initial UE Message / Uplink NAS Transport",
           nas_seeds, make=_make_mme_nas, expected=()),
    Target("hss", "HSS S6a and Cx servers (TS 29.272 §5.2, TS 29.228 §6) after Diameter "
           "decoding", _hss_seeds,
           make=_make_hss, expected=()),
    Target("pcrf", "PCRF Gx and Rx server (TS 29.212, TS 29.214) after Diameter decoding",
           _pcrf_seeds, make=_make_pcrf, expected=()),
    Target("sgw-pgw", "S/P-GW core fed S11 GTPv2-C (TS 29.274), malformed ones included",
           gtpv2c_seeds, make=_make_sgw, expected=()),
    Target("pcscf", "P-CSCF core after SIP decoding (TS 24.229)", sip_seeds,
           make=lambda: _make_ims("pcscf"), expected=()),
    Target("ecscf", "E-CSCF core after SIP decoding (TS 24.229, TS 23.167)", sip_seeds,
           make=lambda: _make_ims("ecscf"), expected=()),
    Target("scscf", "home S-CSCF core after SIP decoding (TS 24.229)", sip_seeds,
           make=lambda: _make_ims("scscf"), expected=()),
    Target("psap", "PSAP request handling after SIP decoding", sip_seeds, make=_make_psap,
           expected=()),
    Target("control", "control endpoint request lines (JSON)", _control_seeds,
           make=_make_control, expected=()),
    Target("bus", "bus payload handlers: rescuer orders, acknowledgements (JSON Schema)",
           _bus_seeds, make=_make_bus, expected=()),
]
