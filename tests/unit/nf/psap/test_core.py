"""The sans-I/O PSAP driven without sockets: an emergency call in (RFC 3261 §13.3), refused
outside the trust domain (RFC 3325 §2.3), ended by BYE (§15.1.2), and the call-back (TS 23.167
§7.7): INVITE, ACK, hold, BYE, and its failures (a final error, no answer)."""

from __future__ import annotations

from corenet.codecs import sdp, sip
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.config.models import Endpoint, PsapConfig
from corenet.core.actions import LogEvent, StartTimer, TimerExpired
from corenet.nf.psap.core import (
    CALLBACK_HOLD,
    CALLBACK_TIMEOUT,
    Action,
    CallBackFinished,
    CallBackRequested,
    PsapCore,
    SendFailed,
    SendRequest,
    SendResponse,
    SipReceived,
    StoreCall,
)
from corenet.nf.psap.records import CallRecord
from corenet.protocols.sip_transactions import (
    RequestReceived,
    ResponseReceived,
    SipPeer,
    TransactionTimeout,
)

ECSCF = SipPeer("UDP", ("127.0.0.7", 5060))
STRANGER = SipPeer("UDP", ("192.0.2.1", 5060))
SCSCF = ("127.0.0.9", 5060)
UE = "127.0.0.50"
MSISDN = "819010000001"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
CFG = PsapConfig(database=":memory:", trusted_peers=["127.0.0.7"],
                 callback_route=Endpoint(host=SCSCF[0], port=SCSCF[1]))


def _core() -> PsapCore:
    return PsapCore(CFG, ("127.0.0.8", 5060))


def _emergency_invite() -> SipRequest:
    """What the E-CSCF forwards: the asserted, verified MSISDN and the network's cell."""
    return sip.make_request(
        "INVITE", "urn:service:sos.fire", from_=f"<tel:+{MSISDN}>;tag=ue1",
        to="<tel:119;phone-context=+81>", call_id="call-1@ue", cseq=1,
        via="SIP/2.0/UDP 127.0.0.7:5060;branch=z9hG4bKecscf1", contact=f"<sip:{UE}:5060>",
        headers=[("P-Asserted-Identity", f"<tel:+{MSISDN}>"),
                 ("Japan-Roaming-Caller", "mode=full"),
                 ("P-Access-Network-Info", "3GPP-E-UTRAN-FDD; "
                  "utran-cell-id-3gpp=440200002001020A; network-provided")],
        body=sdp.encode(sdp.audio_offer(UE, 50000)), content_type="application/sdp")


def _in(core: PsapCore, req: SipRequest, peer: SipPeer = ECSCF) -> list[Action]:
    return core.handle(SipReceived(RequestReceived(req, peer.address, ("server", "b", "x")),
                                   peer), NOW)


def _responses(actions: list[Action]) -> list[SipResponse]:
    return [a.response for a in actions if isinstance(a, SendResponse)]


def _requests(actions: list[Action]) -> list[SendRequest]:
    return [a for a in actions if isinstance(a, SendRequest)]


def _answered_call(core: PsapCore) -> tuple[SipRequest, SipResponse]:
    invite = _emergency_invite()
    ringing, ok = _responses(_in(core, invite))
    return invite, ok


def test_emergency_invite_is_answered_and_recorded() -> None:
    out = _in(_core(), _emergency_invite())
    ringing, ok = _responses(out)
    assert (ringing.status, ok.status) == (180, 200)
    assert ringing.to.tag == ok.to.tag and ok.to.tag
    answer = sdp.decode(ok.body)  # RFC 3264 §6: an answer to the offer
    assert answer.connection is not None and answer.connection.address == "127.0.0.8"
    (store,) = [a for a in out if isinstance(a, StoreCall)]
    rec = store.record
    assert (rec.identity, rec.identity_type, rec.verified) == (MSISDN, "msisdn", True)
    assert (rec.service_urn, rec.dialled) == ("urn:service:sos.fire", "119")
    assert (rec.ecgi, rec.tac) == ("44020-001020a", 2)
    assert rec.time == "2026-01-01T00:00:00.000+00:00"  # the event's time, no clock inside


def test_request_from_outside_the_trust_domain_gets_403_and_no_record() -> None:
    out = _in(_core(), _emergency_invite(), STRANGER)
    assert [r.status for r in _responses(out)] == [403]
    assert not [a for a in out if isinstance(a, StoreCall)]
    assert [a.kind for a in out if isinstance(a, LogEvent)] == ["psap.request.refused"]


def test_bye_ends_the_call_and_a_bye_outside_any_dialog_gets_481() -> None:
    core = _core()
    invite, ok = _answered_call(core)
    dialog_bye = sip.make_request(
        "BYE", "sip:psap@127.0.0.8:5060", from_=str(invite.from_), to=str(ok.to),
        call_id=invite.call_id, cseq=2, via="SIP/2.0/UDP 127.0.0.7:5060;branch=z9hG4bKbye")
    out = _in(core, dialog_bye)
    assert [r.status for r in _responses(out)] == [200]
    assert [a.kind for a in out if isinstance(a, LogEvent)] == ["psap.call.ended"]
    assert core.dialog_count() == 0
    assert [r.status for r in _responses(_in(core, dialog_bye))] == [481]  # §12.2.2


def _record() -> CallRecord:
    return CallRecord("t", "call-1@ue", "urn:service:sos.fire", "119", MSISDN, "msisdn", True,
                      None, None, "full", id=7)


def _final(core: PsapCore, req: SipRequest, status: int) -> list[Action]:
    resp = sip.response_for(req, status, to_tag="ue2", headers=[("Contact", f"<sip:{UE}>")])
    return core.handle(SipReceived(ResponseReceived(resp, SCSCF, ("client", "b", req.method),
                                                    req), SipPeer("UDP", SCSCF)), NOW)


def test_call_back_invite_ack_hold_bye() -> None:
    core = _core()
    out = core.handle(CallBackRequested(_record(), ref=1), NOW)
    (invite,) = _requests(out)
    # TS 23.167 §7.7: to the recorded MSISDN through the caller's home IMS
    assert str(invite.request.request_uri) == f"tel:+{MSISDN}"
    assert invite.peer == SipPeer("UDP", SCSCF)
    assert StartTimer(CALLBACK_TIMEOUT, invite.request.call_id, CFG.callback_timeout_s) in out
    out = _final(core, invite.request, 200)
    (ack,) = _requests(out)
    assert ack.request.method == "ACK" and ack.peer == SipPeer("UDP", (UE, 5060))
    assert StartTimer(CALLBACK_HOLD, invite.request.call_id, CFG.callback_hold_s) in out
    out = core.handle(TimerExpired(CALLBACK_HOLD, invite.request.call_id), NOW + 1)
    (bye,) = _requests(out)
    assert bye.request.method == "BYE" and bye.request.call_id == invite.request.call_id
    out = _final(core, bye.request, 200)
    assert [a for a in out if isinstance(a, CallBackFinished)] == [
        CallBackFinished(1, 7, "answered", 200)]
    assert core.dialog_count() == 0


def test_call_back_refused_is_recorded_with_its_status() -> None:
    core = _core()
    (invite,) = _requests(core.handle(CallBackRequested(_record(), ref=2), NOW))
    out = _final(core, invite.request, 480)
    assert [a for a in out if isinstance(a, CallBackFinished)] == [
        CallBackFinished(2, 7, "failed", 480)]
    assert not _requests(out)


def test_call_back_without_answer_fails_408() -> None:
    core = _core()
    (invite,) = _requests(core.handle(CallBackRequested(_record(), ref=3), NOW))
    out = core.handle(TimerExpired(CALLBACK_TIMEOUT, invite.request.call_id), NOW + 5)
    assert [a for a in out if isinstance(a, CallBackFinished)] == [
        CallBackFinished(3, 7, "failed", 408)]


def test_call_back_transaction_timeout_or_send_failure_fails_408() -> None:
    core = _core()
    (invite,) = _requests(core.handle(CallBackRequested(_record(), ref=4), NOW))
    timeout = TransactionTimeout(("client", "b", "INVITE"), invite.request, "B")
    out = core.handle(SipReceived(timeout, invite.peer), NOW + 32)
    assert [a for a in out if isinstance(a, CallBackFinished)] == [
        CallBackFinished(4, 7, "failed", 408)]
    (again,) = _requests(core.handle(CallBackRequested(_record(), ref=5), NOW))
    out = core.handle(SendFailed(again.request), NOW)
    assert [a for a in out if isinstance(a, CallBackFinished)] == [
        CallBackFinished(5, 7, "failed", 408)]


def test_call_back_of_a_record_without_identity_fails_at_once() -> None:
    rec = _record()
    rec.identity = None
    out = _core().handle(CallBackRequested(rec, ref=6), NOW)
    assert not _requests(out)
    assert [a for a in out if isinstance(a, CallBackFinished)] == [
        CallBackFinished(6, 7, "failed", None)]


PROXIES = ("<sip:127.0.0.7:5060;lr>", "<sip:127.0.0.6:5060;lr>")


def test_ringing_and_answer_carry_the_record_route_and_contact() -> None:
    """RFC 3261 §12.1.1: the 180 creates an early dialog; it and the 200 copy the INVITE's
    Record-Route in order and give the PSAP's Contact."""
    invite = _emergency_invite()
    for rr in PROXIES:
        invite.headers.insert(1, sip.Header("Record-Route", rr))
    ringing, ok = _responses(_in(_core(), invite))
    for resp in (ringing, ok):
        assert resp.headers_all("Record-Route") == invite.headers_all("Record-Route")
        assert [str(c.uri) for c in resp.contacts] == ["sip:psap@127.0.0.8:5060"]
        assert resp.to.tag == ok.to.tag


def test_call_back_is_marked_and_its_ack_and_bye_follow_the_route_set() -> None:
    """RFC 7090 §4: Priority psap-callback; §12.1.2 / §12.2.1.1: the ACK and the BYE go to
    the first proxy of the reversed Record-Route of the 200, with that route set as Route."""
    core = _core()
    (invite,) = _requests(core.handle(CallBackRequested(_record(), ref=8), NOW))
    assert invite.request.header("Priority") == "psap-callback"
    rrs = ["<sip:127.0.0.6:5060;lr>", f"<sip:{SCSCF[0]}:{SCSCF[1]};lr>"]  # the UE's side first
    ok = sip.response_for(invite.request, 200, to_tag="ue2",
                          headers=[*(("Record-Route", r) for r in rrs),
                                   ("Contact", f"<sip:{UE}>")])
    out = core.handle(SipReceived(ResponseReceived(ok, SCSCF, ("client", "b", "INVITE"),
                                                   invite.request), SipPeer("UDP", SCSCF)), NOW)
    (ack,) = _requests(out)
    assert ack.peer == SipPeer("UDP", SCSCF)
    assert ack.request.headers_all("Route") == rrs[::-1]
    assert str(ack.request.request_uri) == f"sip:{UE}"
    (bye,) = _requests(core.handle(TimerExpired(CALLBACK_HOLD, invite.request.call_id), NOW + 1))
    assert bye.peer == SipPeer("UDP", SCSCF)
    assert bye.request.headers_all("Route") == rrs[::-1]
