"""SIP transaction machines (RFC 3261 §17, RFC 6026) with an injected clock."""

from __future__ import annotations

from corenet.codecs import sip
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.protocols.sip_transactions import (
    INVITE_CLIENT,
    Dialog,
    Input,
    RequestReceived,
    ResponseReceived,
    SipTransactions,
    State,
    Timers,
    TransactionTerminated,
    TransactionTimeout,
    cancel_for,
)

UAC = ("192.0.2.1", 5060)
UAS = ("198.51.100.2", 5060)
T = Timers(t1=0.5, t2=4.0, t4=5.0)


def request(method: str, branch: str = "z9hG4bKabc", cseq: int = 1) -> SipRequest:
    return sip.make_request(
        method, "sip:bob@198.51.100.2", from_="<sip:alice@192.0.2.1>;tag=a1",
        to="<sip:bob@198.51.100.2>", call_id="call-1@192.0.2.1", cseq=cseq,
        via=f"SIP/2.0/UDP 192.0.2.1:5060;branch={branch}",
        contact="<sip:alice@192.0.2.1:5060>")


def events(layer: SipTransactions) -> list[object]:
    out = []
    while (e := layer.next_event()) is not None:
        out.append(e)
    return out


def run_until(layer: SipTransactions, end: float) -> list[tuple[float, SipRequest | SipResponse]]:
    """Fire timers up to `end`; (time, message) for everything sent."""
    sent = []
    while (due := layer.get_timer()) is not None and due <= end:
        layer.handle_timer(due)
        sent += [(due, m) for m, _ in layer.data_to_send()]
    return sent


def test_non_invite_client_retransmits_doubling_capped_at_t2_then_timer_f() -> None:
    layer = SipTransactions(timers=T)
    key = layer.send_request(request("OPTIONS"), UAS, 0.0)
    assert [m.method for m, _ in layer.data_to_send()] == ["OPTIONS"]  # type: ignore[union-attr]
    sent = run_until(layer, 100.0)
    times = [t for t, _ in sent]
    # §17.1.2.2: Timer E at T1, then min(2E, T2): 0.5, 1.5, 3.5, 7.5, 11.5, ... until F = 64*T1
    assert times[:6] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5]
    assert all(b - a == 4.0 for a, b in zip(times[3:], times[4:], strict=False))
    assert times[-1] < 32.0
    evs = events(layer)
    assert TransactionTimeout(key, request("OPTIONS"), "F") in evs
    assert layer.state(key) is None


def test_non_invite_client_proceeding_resets_e_to_t2_and_completed_timer_k() -> None:
    layer = SipTransactions(timers=T)
    req = request("REGISTER")
    key = layer.send_request(req, UAS, 0.0)
    layer.data_to_send()
    layer.receive(sip.response_for(req, 100), UAS, 0.1)
    assert layer.state(key) == State.PROCEEDING
    sent = run_until(layer, 5.0)
    assert [t for t, _ in sent] == [0.5, 4.5]  # the armed E fires, then E = T2
    layer.receive(sip.response_for(req, 200), UAS, 5.0)
    assert layer.state(key) == State.COMPLETED
    evs = events(layer)
    assert [e.response.status for e in evs if isinstance(e, ResponseReceived)] == [100, 200]
    layer.receive(sip.response_for(req, 200), UAS, 6.0)  # absorbed in Completed
    assert not [e for e in events(layer) if isinstance(e, ResponseReceived)]
    run_until(layer, 10.1)  # Timer K = T4
    assert layer.state(key) is None


def test_invite_client_timer_a_doubles_and_timer_b_times_out() -> None:
    layer = SipTransactions(timers=T)
    key = layer.send_request(request("INVITE"), UAS, 0.0)
    layer.data_to_send()
    sent = run_until(layer, 40.0)
    # §17.1.1.2: A = T1, 2T1, 4T1, ... (not capped) until B = 64*T1 = 32 s
    assert [t for t, _ in sent] == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert any(isinstance(e, TransactionTimeout) and e.timer == "B" for e in events(layer))
    assert layer.state(key) is None


def test_invite_client_acks_non_2xx_and_absorbs_retransmissions() -> None:
    layer = SipTransactions(timers=T)
    req = request("INVITE")
    key = layer.send_request(req, UAS, 0.0)
    layer.data_to_send()
    busy = sip.response_for(req, 486, to_tag="b1")
    layer.receive(busy, UAS, 0.2)
    out = layer.data_to_send()
    assert len(out) == 1
    ack = out[0][0]
    assert isinstance(ack, SipRequest) and ack.method == "ACK"
    # §17.1.1.3: same branch, the response's To (with tag), CSeq number with method ACK
    assert ack.vias[0].branch == "z9hG4bKabc" and ack.to.tag == "b1"
    assert ack.cseq == sip.CSeq(1, "ACK") and ack.uri == req.uri
    assert layer.state(key) == State.COMPLETED
    layer.receive(busy, UAS, 1.0)  # retransmitted 486: ACK again, not passed up twice
    assert [m.method for m, _ in layer.data_to_send()] == ["ACK"]  # type: ignore[union-attr]
    assert [e.response.status for e in events(layer) if isinstance(e, ResponseReceived)] == [486]
    run_until(layer, 32.3)  # Timer D
    assert layer.state(key) is None


def test_invite_client_2xx_goes_to_accepted_and_retransmitted_2xx_passes_up() -> None:
    layer = SipTransactions(timers=T)
    req = request("INVITE")
    key = layer.send_request(req, UAS, 0.0)
    ok = sip.response_for(req, 200, to_tag="b1")
    layer.receive(sip.response_for(req, 180, to_tag="b1"), UAS, 0.1)
    layer.receive(ok, UAS, 0.2)
    assert layer.state(key) == State.ACCEPTED
    layer.receive(ok, UAS, 0.7)
    got = [e for e in events(layer) if isinstance(e, ResponseReceived)]
    assert [e.response.status for e in got] == [180, 200, 200]  # RFC 6026 §7.2
    run_until(layer, 40.0)  # Timer M
    assert layer.state(key) is None
    assert any(isinstance(e, TransactionTerminated) for e in events(layer))
    layer.receive(ok, UAS, 41.0)  # after the transaction: to the core with key None
    late = events(layer)
    assert isinstance(late[0], ResponseReceived) and late[0].key is None


def test_invite_server_sends_100_after_200ms_and_resends_last_response() -> None:
    layer = SipTransactions(timers=T)
    req = request("INVITE")
    layer.receive(req, UAC, 0.0)
    evs = events(layer)
    assert isinstance(evs[0], RequestReceived) and evs[0].key is not None
    key = evs[0].key
    assert layer.get_timer() == 0.2
    sent = run_until(layer, 0.3)
    assert [(t, m.status) for t, m in sent] == [(0.2, 100)]  # type: ignore[union-attr]
    layer.receive(req, UAC, 0.5)  # retransmission: absorbed, last response resent
    assert [m.status for m, _ in layer.data_to_send()] == [100]  # type: ignore[union-attr]
    assert events(layer) == []
    layer.send_response(sip.response_for(req, 404, to_tag="s1"), 1.0)
    layer.data_to_send()
    assert layer.state(key) == State.COMPLETED
    sent = run_until(layer, 10.0)
    # §17.2.1: Timer G = T1, then min(2G, T2)
    assert [t for t, _ in sent][:5] == [1.5, 2.5, 4.5, 8.5]
    ack = sip.make_request("ACK", req.uri, from_=req.header("From") or "",
                           to=req.header("To") + ";tag=s1", call_id=req.call_id, cseq=1,
                           via=req.headers_all("Via")[0])
    layer.receive(ack, UAC, 10.0)
    assert layer.state(key) == State.CONFIRMED
    assert run_until(layer, 14.0) == []  # no more G
    run_until(layer, 15.1)  # Timer I = T4
    assert layer.state(key) is None
    assert any(isinstance(e, TransactionTerminated) for e in events(layer))


def test_invite_server_no_100_when_tu_answers_fast_and_timer_h() -> None:
    layer = SipTransactions(timers=T)
    req = request("INVITE")
    layer.receive(req, UAC, 0.0)
    layer.send_response(sip.response_for(req, 180, to_tag="s1"), 0.05)
    assert [m.status for m, _ in layer.data_to_send()] == [180]  # type: ignore[union-attr]
    layer.send_response(sip.response_for(req, 603, to_tag="s1"), 0.1)
    layer.data_to_send()
    run_until(layer, 40.0)
    timeouts = [e for e in events(layer) if isinstance(e, TransactionTimeout)]
    assert [e.timer for e in timeouts] == ["H"]


def test_invite_server_2xx_retransmitted_until_ack() -> None:
    layer = SipTransactions(timers=T)
    req = request("INVITE")
    layer.receive(req, UAC, 0.0)
    key = events(layer)[0].key  # type: ignore[union-attr]
    ok = sip.response_for(req, 200, to_tag="s1")
    layer.send_response(ok, 0.1)
    layer.data_to_send()
    assert layer.state(key) == State.ACCEPTED
    sent = run_until(layer, 2.0)
    assert [t for t, _ in sent] == [0.6, 1.6]  # §13.3.1.4: T1, 2T1, ...
    ack = sip.make_request("ACK", "sip:bob@198.51.100.2", from_=req.header("From") or "",
                           to=ok.header("To") or "", call_id=req.call_id, cseq=1,
                           via="SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKack2")
    layer.receive(ack, UAC, 2.0)
    acks = [e for e in events(layer) if isinstance(e, RequestReceived)]
    assert acks and acks[0].request.method == "ACK" and acks[0].key is None
    assert run_until(layer, 40.0) == []
    assert not [e for e in events(layer) if isinstance(e, TransactionTimeout)]


def test_non_invite_server_absorbs_and_resends_final_then_timer_j() -> None:
    layer = SipTransactions(timers=T)
    req = request("BYE", cseq=2)
    layer.receive(req, UAC, 0.0)
    key = events(layer)[0].key  # type: ignore[union-attr]
    layer.receive(req, UAC, 0.5)  # Trying: absorbed, nothing to resend
    assert layer.data_to_send() == [] and events(layer) == []
    layer.send_response(sip.response_for(req, 100), 1.0)  # RFC 4320 §4.2: too early
    assert layer.data_to_send() == []
    layer.send_response(sip.response_for(req, 200), 1.0)
    assert [m.status for m, _ in layer.data_to_send()] == [200]  # type: ignore[union-attr]
    layer.receive(req, UAC, 2.0)
    assert [m.status for m, _ in layer.data_to_send()] == [200]  # type: ignore[union-attr]
    run_until(layer, 33.1)  # Timer J = 64*T1
    assert layer.state(key) is None


def test_reliable_transport_does_not_retransmit() -> None:
    layer = SipTransactions(timers=T, reliable=True)
    key = layer.send_request(request("OPTIONS"), UAS, 0.0)
    layer.data_to_send()
    assert run_until(layer, 40.0) == []
    assert any(isinstance(e, TransactionTimeout) for e in events(layer))
    assert layer.state(key) is None


def test_table_is_data_and_cancel_matches_invite() -> None:
    assert INVITE_CLIENT[(State.CALLING, Input.R3XX_6XX)][0] == State.COMPLETED
    inv = request("INVITE")
    cancel = cancel_for(inv)
    assert cancel.cseq == sip.CSeq(1, "CANCEL")
    assert cancel.vias[0].branch == inv.vias[0].branch and cancel.uri == inv.uri


def test_dialog_requests() -> None:
    inv = request("INVITE")
    inv.headers.insert(1, sip.Header("Record-Route", "<sip:p1.example;lr>"))
    inv.headers.insert(2, sip.Header("Record-Route", "<sip:p2.example;lr>"))
    ok = sip.response_for(inv, 200, to_tag="s1",
                          headers=[("Contact", "<sip:bob@198.51.100.2:5070>")]
                          + [("Record-Route", r) for r in inv.headers_all("Record-Route")])
    uac = Dialog.from_uac(inv, ok)
    uas = Dialog.from_uas(inv, ok)
    assert uac.id == ("call-1@192.0.2.1", "a1", "s1") and uas.id == ("call-1@192.0.2.1", "s1",
                                                                      "a1")
    assert uac.route_set == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    assert uas.route_set == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    bye = uac.create_request("BYE", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbye")
    assert bye.uri == "sip:bob@198.51.100.2:5070" and bye.cseq == sip.CSeq(2, "BYE")
    assert bye.headers_all("Route") == uac.route_set
    assert bye.from_.tag == "a1" and bye.to.tag == "s1"
    assert uas.matches(bye) and uas.accepts(bye)
    assert not uas.accepts(bye)  # §12.2.2: same CSeq again is out of order
