"""An unauthenticated emergency UE never gets non-emergency service over SIP either (TS 23.167
§6.2.1; TS 24.229 §5.2.10; MISSION.md mode 3): random request sequences from emergency-only
bindings (and from an address without session), built with the SIP codec, against the sans-I/O
P-CSCF and E-CSCF, with a PSAP stand-in that answers 200 to everything it receives (so the
CSCFs alone must keep the UE in its lane). Invariants after every message:
- the P-CSCF sends nothing toward the core but to the E-CSCF, and only an initial INVITE/CANCEL
  for an emergency service URN or a request inside a dialog that such an INVITE created;
- the E-CSCF sends nothing but to the PSAP, on the same terms;
- every 2xx a UE receives answers such a request; the P-CSCF itself answers no 2xx;
- what reaches the PSAP is never a verified identity, and carries none of the UE's headers.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs import sip
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.config.models import EcscfConfig, Endpoint, HomeImsRoute, PcscfConfig
from corenet.core.actions import LogEvent
from corenet.nf.ims.binding import AccessMode, BindingTable, Cell, UeBinding
from corenet.nf.ims.dialplan import DialPlan
from corenet.nf.ims.ecscf import EcscfCore
from corenet.nf.ims.pcscf import PcscfCore
from corenet.nf.ims.proxy import Element, SendSip
from corenet.nf.psap.records import record_from_invite

PCSCF = ("127.0.80.6", 5060)
ECSCF = ("127.0.80.7", 5060)
PSAP = ("127.0.80.8", 5060)
SCSCF = ("127.0.80.9", 5060)
UNAUTH_IMSI = "127.147.80.1"  # UIMSI: IMSI unverified
UNAUTH_IMEI = "127.147.80.2"  # no USIM: IMEI only
STRANGER = "127.150.80.3"  # no IP-CAN session
SOURCES = (UNAUTH_IMSI, UNAUTH_IMSI, UNAUTH_IMEI, STRANGER)
PSAP_TAG = "psaptag"

METHODS = ("INVITE", "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "MESSAGE", "REGISTER",
           "UPDATE", "PRACK", "INFO", "SUBSCRIBE", "REFER", "NOTIFY")
URIS = ("tel:110", "tel:119", "urn:service:sos", "urn:service:sos.fire", "tel:0312345678",
        "tel:#7119", "tel:184110", "tel:0120123456", "sip:+819012345678@ims.example;user=phone",
        f"sip:psap@{PSAP[0]}:{PSAP[1]}", f"sip:pstn@{SCSCF[0]}:{SCSCF[1]}")
FORGED: dict[str, str] = {
    "P-Asserted-Identity": "<tel:+819099999999;verstat=TN-Validation-Passed>",
    "P-Preferred-Identity": "<tel:+819099999999>",
    "P-Access-Network-Info": "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=44020000100FFFFF; "
                             "network-provided",
    "Japan-Roaming-Caller": "mode=full",
}
ROUTES = ((), (PCSCF, ECSCF), (PCSCF, SCSCF), (SCSCF,), (ECSCF, PSAP), (PCSCF, ECSCF, SCSCF))


def _route(addr: tuple[str, int]) -> tuple[str, str]:
    return ("Route", f"<sip:{addr[0]}:{addr[1]};lr>")


class Harness:
    def __init__(self) -> None:
        table = BindingTable(None)
        cell = Cell("44020", 1, 0x10101)
        table.add(UeBinding(UNAUTH_IMSI, AccessMode.EMERGENCY_UNAUTH, "440100000000001", None,
                            "3534900698733190", "sos", cell))
        table.add(UeBinding(UNAUTH_IMEI, AccessMode.EMERGENCY_UNAUTH, None, None,
                            "3534900698733191", "sos", cell))
        home = [HomeImsRoute(address=Endpoint(host=SCSCF[0], port=SCSCF[1]))]
        self.pcscf = PcscfCore(PcscfConfig(listen=Endpoint(host=PCSCF[0], port=PCSCF[1]),
                                           ecscf=Endpoint(host=ECSCF[0], port=ECSCF[1]),
                                           home_ims=home), table, DialPlan(), Element(*PCSCF))
        self.ecscf = EcscfCore(EcscfConfig(listen=Endpoint(host=ECSCF[0], port=ECSCF[1]),
                                           psaps=[], default_psap=f"sip:psap@{PSAP[0]}:{PSAP[1]}",
                                           pcscfs=[PCSCF[0]]), DialPlan(), Element(*ECSCF))
        self.now = 0.0
        # the model: what counts as emergency, from what the P-CSCF forwarded
        self.emergency_tx: set[tuple[str, int, str]] = set()  # (Call-ID, CSeq, method)
        self.emergency_dialogs: set[tuple[str, str, str]] = set()  # (Call-ID, UE tag, PSAP tag)
        self.to_ue: list[SipResponse] = []
        self.psap_got: list[SipRequest] = []

    # ------------------------------------------------------------- the UE side

    def ue_sends(self, source: str, req: SipRequest) -> None:
        msg = sip.decode(sip.encode(req))  # what goes over the air is the codec's
        assert isinstance(msg, SipRequest)
        self.now += 1.0
        self.run_pcscf(self.pcscf.handle_request(msg, (source, 5060), self.now), msg)

    def ue_answers(self, source: str, resp: SipResponse) -> None:
        """A UE sends a response of its own making (e.g. a forged 200 to its own INVITE)."""
        self.now += 1.0
        self.run_pcscf(self.pcscf.handle_response(resp, (source, 5060), self.now), None)

    # ------------------------------------------------------------- the network side

    def run_pcscf(self, actions: list[Any], req: SipRequest | None) -> None:
        for act in actions:
            if isinstance(act, LogEvent):
                continue
            assert isinstance(act, SendSip)
            msg = act.message
            if isinstance(msg, SipResponse):
                assert act.peer[0] not in (ECSCF[0], SCSCF[0], PSAP[0]) or req is None
                if req is not None and act.peer[0] != ECSCF[0]:
                    # the P-CSCF's own answer, or a relayed one checked in `deliver`
                    assert not 200 <= msg.status < 300, (req.method, req.uri, msg.status)
                self.to_ue.append(msg)
                continue
            assert act.peer == ECSCF, f"{msg.method} {msg.uri} sent to {act.peer}"
            self.check_emergency(msg)
            self.run_ecscf(self.ecscf.handle_request(msg, PCSCF))

    def check_emergency(self, msg: SipRequest) -> None:
        tag = msg.to.tag
        key = (msg.call_id, msg.cseq.seq, msg.cseq.method)
        if tag is None:
            assert msg.request_uri.is_emergency, msg.uri
            assert msg.method in ("INVITE", "CANCEL"), msg.method
            self.emergency_tx.add(key)
        else:
            assert (msg.call_id, msg.from_.tag or "", tag) in self.emergency_dialogs, \
                f"{msg.method} with To-tag {tag} outside an emergency dialog"
            self.emergency_tx.add(key)

    def run_ecscf(self, actions: list[Any]) -> None:
        for act in actions:
            if isinstance(act, LogEvent):
                continue
            assert isinstance(act, SendSip)
            msg = act.message
            if isinstance(msg, SipResponse):
                self.relay_back(msg, ECSCF)
                continue
            assert act.peer == PSAP, f"E-CSCF sent {msg.method} to {act.peer}"
            self.psap(msg)

    def psap(self, req: SipRequest) -> None:
        """A PSAP that says yes to everything: the CSCFs alone keep the UE in its lane."""
        self.psap_got.append(req)
        rec = record_from_invite(req, "t")
        assert not rec.verified, f"PSAP would record {rec.identity} as verified"
        for name in FORGED:
            value = req.header(name)
            assert value is None or value != FORGED[name], name
        if req.method == "ACK":
            return
        rr = [("Record-Route", r) for r in req.headers_all("Record-Route")]
        resp = sip.response_for(req, 200, to_tag=PSAP_TAG, headers=rr + [
            ("Contact", f"<sip:psap@{PSAP[0]}:{PSAP[1]}>")])
        self.relay_back(resp, PSAP)

    def relay_back(self, resp: SipResponse, source: tuple[str, int]) -> None:
        if source == PSAP:
            for act in self.ecscf.handle_response(resp):
                assert act.peer == PCSCF
                self.relay_back(act.message, ECSCF)
            return
        for act in self.pcscf.handle_response(resp, ECSCF, self.now):
            assert isinstance(act.message, SipResponse)
            self.deliver(act.message)

    def deliver(self, resp: SipResponse) -> None:
        key = (resp.call_id, resp.cseq.seq, resp.cseq.method)
        if 200 <= resp.status < 300:
            assert key in self.emergency_tx, f"2xx to a non-emergency {key}"
        if resp.cseq.method == "INVITE" and resp.to.tag and resp.status < 300 and \
                (resp.call_id, resp.cseq.seq, "INVITE") in self.emergency_tx:
            self.emergency_dialogs.add((resp.call_id, resp.from_.tag or "", resp.to.tag))
        self.to_ue.append(resp)


@st.composite
def requests(draw: Any) -> tuple[str, SipRequest]:
    source = draw(st.sampled_from(SOURCES))
    method = draw(st.sampled_from(METHODS))
    uri = draw(st.sampled_from(URIS))
    to_tag = draw(st.sampled_from((None, None, PSAP_TAG, "forged")))
    call_id = draw(st.sampled_from(("c1@ue", "c2@ue", "c3@ue")))
    from_tag = draw(st.sampled_from(("uetag", "uetag", "other")))
    headers = [_route(a) for a in draw(st.sampled_from(ROUTES))]
    headers += [(n, v) for n, v in FORGED.items() if draw(st.booleans())]
    to = f"<{uri}>" + (f";tag={to_tag}" if to_tag else "")
    req = sip.make_request(
        method, uri, from_=f"<sip:ue@{source}>;tag={from_tag}", to=to, call_id=call_id,
        cseq=draw(st.integers(1, 4)), via=f"SIP/2.0/UDP {source}:5060;branch={sip.new_branch()}",
        contact=f"<sip:ue@{source}:5060>", headers=headers)
    return source, req


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(requests(), st.booleans()), min_size=1, max_size=12))
def test_emergency_only_ue_never_gets_non_emergency_sip_service(
        steps: list[tuple[tuple[str, SipRequest], bool]]) -> None:
    h = Harness()
    for (source, req), forge_answer in steps:
        h.ue_sends(source, req)
        if forge_answer:
            # the UE answers its own request as if it came from the PSAP, through the P-CSCF
            fake = sip.make_request(req.method, req.uri, from_=req.header("From") or "",
                                    to=req.header("To") or "", call_id=req.call_id,
                                    cseq=req.cseq.seq,
                                    via=f"SIP/2.0/UDP {PCSCF[0]}:{PCSCF[1]};branch=z9hG4bKf")
            fake.headers.append(sip.Header("Via", f"SIP/2.0/UDP {source}:5060;branch=z9hG4bKu"))
            h.ue_answers(source, sip.response_for(fake, 200, to_tag=PSAP_TAG))
            h.ue_sends(source, sip.make_request(
                "INVITE", "tel:0312345678", from_=req.header("From") or "",
                to=f"<tel:0312345678>;tag={PSAP_TAG}", call_id=req.call_id, cseq=9,
                via=f"SIP/2.0/UDP {source}:5060;branch={sip.new_branch()}",
                headers=[_route(PCSCF), _route(SCSCF)]))


def test_the_harness_reaches_the_psap_and_back() -> None:
    """The property is not vacuous: an emergency call and its in-dialog requests get through,
    with 2xx answers, and the PSAP sees the IMSI unverified."""
    h = Harness()

    def req(method: str, uri: str, to_tag: str | None, cseq: int,
            route: tuple[tuple[str, int], ...] = ()) -> SipRequest:
        return sip.make_request(
            method, uri, from_=f"<sip:ue@{UNAUTH_IMSI}>;tag=uetag",
            to=f"<{uri}>" + (f";tag={to_tag}" if to_tag else ""), call_id="c1@ue", cseq=cseq,
            via=f"SIP/2.0/UDP {UNAUTH_IMSI}:5060;branch={sip.new_branch()}",
            headers=[_route(a) for a in route])

    h.ue_sends(UNAUTH_IMSI, req("INVITE", "tel:119", None, 1))
    h.ue_sends(UNAUTH_IMSI, req("ACK", f"sip:psap@{PSAP[0]}:{PSAP[1]}", PSAP_TAG, 1,
                                (PCSCF, ECSCF)))
    h.ue_sends(UNAUTH_IMSI, req("BYE", f"sip:psap@{PSAP[0]}:{PSAP[1]}", PSAP_TAG, 2,
                                (PCSCF, ECSCF)))
    assert [r.method for r in h.psap_got] == ["INVITE", "ACK", "BYE"]
    rec = record_from_invite(h.psap_got[0], "t")
    assert (rec.identity, rec.identity_type, rec.verified, rec.mode) == (
        "440100000000001", "imsi", False, "emergency-unauth")
    assert [(r.status, r.cseq.method) for r in h.to_ue] == [(200, "INVITE"), (200, "BYE")]
