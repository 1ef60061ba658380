"""GTPv2-C reliable delivery (TS 29.274 §7.6) and the §7.7 answers of the transaction layer."""

from __future__ import annotations

from corenet.codecs import gtpv2c as g
from corenet.core.actions import LogEvent
from corenet.protocols.gtpv2c_transactions import (
    CACHE_SWEEP_S,
    GtpTransactions,
    MalformedRequest,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    VersionNotSupported,
)

MME = ("127.0.0.2", 2123)
SGW = ("127.0.0.4", 2123)


def events(tx: GtpTransactions) -> list[object]:
    out: list[object] = []
    while (e := tx.next_event()) is not None:
        out.append(e)
    return out


def echo(seq: int = 0) -> bytes:
    return g.encode(g.echo_request(seq, 7))


def delete_request(seq: int, teid: int = 5) -> bytes:
    return g.encode(g.delete_session_request(seq, teid=teid, linked_ebi=5))


# --- requests we send -----------------------------------------------------------------------


def test_request_gets_a_sequence_number_and_matches_its_response() -> None:
    tx = GtpTransactions(first_sequence=100)
    sent = tx.send_request(g.echo_request(0, 1), SGW, 0.0, context="ctx")
    assert sent.fields["sequence"] == 100
    [(data, peer)] = tx.data_to_send()
    assert peer == SGW and g.decode(data).fields["sequence"] == 100
    assert tx.get_timer() == 3.0
    tx.receive(g.encode(g.echo_response(100, 9)), SGW, 0.5)
    [ev] = events(tx)
    assert isinstance(ev, ResponseReceived)
    assert ev.context == "ctx" and ev.message.fields["recovery"] == 9
    assert ev.request.name == "EchoRequest"
    assert tx.outstanding == 0 and tx.get_timer() is None


def test_sequence_numbers_differ_between_outstanding_requests() -> None:
    tx = GtpTransactions()
    seqs = {tx.send_request(g.echo_request(0, 1), SGW, 0.0).fields["sequence"]
            for _ in range(5)}
    assert len(seqs) == 5


def test_sequence_numbers_wrap_within_23_bits() -> None:
    tx = GtpTransactions(first_sequence=0x7FFFFF)
    a = tx.send_request(g.echo_request(0, 1), SGW, 0.0).fields["sequence"]
    b = tx.send_request(g.echo_request(0, 1), SGW, 0.0).fields["sequence"]
    assert (a, b) == (0x7FFFFF, 0)


def test_t3_response_retransmits_until_n3_requests_then_gives_up() -> None:
    tx = GtpTransactions(t3_response_s=2.0, n3_requests=3)
    tx.send_request(g.echo_request(0, 1), SGW, 10.0, context=42)
    first = tx.data_to_send()
    assert tx.get_timer() == 12.0
    tx.handle_timer(11.9)
    assert tx.data_to_send() == []
    tx.handle_timer(12.0)
    assert tx.data_to_send() == first  # the same bytes, same sequence (§7.6)
    assert tx.get_timer() == 14.0
    tx.handle_timer(14.0)
    assert tx.data_to_send() == first
    assert tx.retransmissions == 2
    assert events(tx) == []
    tx.handle_timer(16.0)
    assert tx.data_to_send() == []
    [ev] = events(tx)
    assert isinstance(ev, RequestTimedOut)
    assert (ev.context, ev.attempts, ev.peer) == (42, 3, SGW)
    assert tx.outstanding == 0 and tx.get_timer() is None


def test_a_request_may_have_its_own_t3_response() -> None:
    """§7.6: a request answered once the UE answered (Create Bearer) waits longer."""
    tx = GtpTransactions(t3_response_s=2.0, n3_requests=2)
    tx.send_request(g.echo_request(0, 1), SGW, 10.0, t3_response_s=15.0)
    first = tx.data_to_send()
    assert tx.get_timer() == 25.0
    tx.handle_timer(25.0)
    assert tx.data_to_send() == first and tx.get_timer() == 40.0
    tx.handle_timer(40.0)
    assert isinstance(events(tx)[0], RequestTimedOut)


def test_late_response_after_give_up_is_discarded() -> None:
    tx = GtpTransactions(t3_response_s=1.0, n3_requests=1)
    seq = tx.send_request(g.echo_request(0, 1), SGW, 0.0).fields["sequence"]
    tx.handle_timer(1.0)
    assert isinstance(events(tx)[0], RequestTimedOut)
    tx.receive(g.encode(g.echo_response(seq, 1)), SGW, 1.5)
    [ev] = events(tx)
    assert isinstance(ev, LogEvent) and ev.kind == "gtpv2.discarded"


def test_duplicate_response_is_discarded() -> None:
    tx = GtpTransactions()
    seq = tx.send_request(g.echo_request(0, 1), SGW, 0.0).fields["sequence"]
    resp = g.encode(g.echo_response(seq, 1))
    tx.receive(resp, SGW, 0.1)
    tx.receive(resp, SGW, 0.2)
    evs = events(tx)
    assert isinstance(evs[0], ResponseReceived)
    assert isinstance(evs[1], LogEvent) and evs[1].kind == "gtpv2.discarded"


def test_response_of_the_wrong_type_does_not_end_the_transaction() -> None:
    tx = GtpTransactions()
    seq = tx.send_request(g.echo_request(0, 1), SGW, 0.0).fields["sequence"]
    tx.receive(g.encode(g.delete_session_response(seq, teid=1)), SGW, 0.1)
    assert [e.kind for e in events(tx) if isinstance(e, LogEvent)] == ["gtpv2.discarded"]
    assert tx.outstanding == 1


def test_version_not_supported_indication_ends_the_transaction() -> None:
    tx = GtpTransactions()
    seq = tx.send_request(g.echo_request(0, 1), SGW, 0.0, context="c").fields["sequence"]
    tx.receive(g.encode(g.version_not_supported_indication(seq)), SGW, 0.1)
    [ev] = events(tx)
    assert isinstance(ev, VersionNotSupported) and ev.context == "c"


def test_cancel_stops_retransmissions() -> None:
    tx = GtpTransactions(t3_response_s=1.0)
    seq = tx.send_request(g.echo_request(0, 1), SGW, 0.0).fields["sequence"]
    tx.data_to_send()
    tx.cancel(seq)
    assert tx.get_timer() is None
    tx.handle_timer(5.0)
    assert tx.data_to_send() == [] and events(tx) == []


# --- requests we receive --------------------------------------------------------------------


def test_new_request_goes_up_once() -> None:
    tx = GtpTransactions()
    tx.receive(delete_request(7), MME, 0.0)
    [ev] = events(tx)
    assert isinstance(ev, RequestReceived)
    assert ev.peer == MME and ev.message.name == "DeleteSessionRequest"
    assert ev.message.fields["sequence"] == 7


def test_retransmitted_request_gets_the_cached_response_again() -> None:
    tx = GtpTransactions(t3_response_s=3.0, n3_requests=3)
    tx.receive(delete_request(7), MME, 0.0)
    events(tx)
    resp = tx.send_response(g.delete_session_response(7, teid=99), MME, 0.1)
    assert tx.data_to_send() == [(resp, MME)]
    tx.receive(delete_request(7), MME, 3.0)
    assert tx.data_to_send() == [(resp, MME)]
    [ev] = events(tx)
    assert isinstance(ev, LogEvent) and ev.kind == "gtpv2.duplicate_request"
    assert tx.duplicates == 1


def test_retransmission_before_the_answer_is_dropped() -> None:
    tx = GtpTransactions()
    tx.receive(delete_request(7), MME, 0.0)
    tx.receive(delete_request(7), MME, 0.5)
    evs = events(tx)
    assert sum(isinstance(e, RequestReceived) for e in evs) == 1
    assert tx.data_to_send() == []


def test_same_sequence_from_another_peer_is_a_new_request() -> None:
    tx = GtpTransactions()
    tx.receive(delete_request(7), MME, 0.0)
    tx.receive(delete_request(7), ("127.0.0.9", 2123), 0.0)
    assert sum(isinstance(e, RequestReceived) for e in events(tx)) == 2


def test_cached_response_expires_and_the_sequence_is_new_again() -> None:
    tx = GtpTransactions(t3_response_s=1.0, n3_requests=2)
    tx.receive(delete_request(7), MME, 0.0)
    events(tx)
    tx.send_response(g.delete_session_response(7, teid=99), MME, 0.0)
    tx.data_to_send()
    # kept 1.0 x (2 + 1) = 3.0 s, swept at the latest CACHE_SWEEP_S later
    assert tx.get_timer() == 3.0 + CACHE_SWEEP_S
    tx.handle_timer(3.0 + CACHE_SWEEP_S)
    assert tx.get_timer() is None
    tx.receive(delete_request(7), MME, 4.5)
    assert isinstance(events(tx)[0], RequestReceived)
    assert tx.data_to_send() == []


def test_kept_responses_due_within_a_sweep_go_in_one_wake_up() -> None:
    """§7.6: each answer is kept for the retransmission window (N3 x T3); a node answering
    many requests sweeps them once per CACHE_SWEEP_S, not one timer wake-up per request."""
    tx = GtpTransactions(t3_response_s=1.0, n3_requests=2)
    for seq in range(1, 101):
        at = seq / 100
        tx.receive(delete_request(seq), MME, at)
        tx.send_response(g.delete_session_response(seq, teid=seq), MME, at)
    events(tx)
    tx.data_to_send()
    wake_ups = 0
    while (at := tx.get_timer()) is not None:
        tx.handle_timer(at)
        wake_ups += 1
    assert wake_ups == 1 and at is None
    # until the sweep, a retransmission still gets the kept answer
    tx = GtpTransactions(t3_response_s=1.0, n3_requests=2)
    tx.receive(delete_request(7), MME, 0.0)
    tx.send_response(g.delete_session_response(7, teid=99), MME, 0.0)
    tx.data_to_send()
    tx.receive(delete_request(7), MME, 3.0 + CACHE_SWEEP_S / 2)
    [(data, _)] = tx.data_to_send()
    assert g.decode(data).fields["teid"] == 99


def test_other_gtp_version_is_answered_with_version_not_supported() -> None:
    tx = GtpTransactions()
    gtpv1_echo = bytes([0x32, 1, 0, 4, 0, 0, 0, 0, 0x12, 0x34, 0, 0])
    tx.receive(gtpv1_echo, MME, 0.0)
    [(data, peer)] = tx.data_to_send()
    assert peer == MME
    assert g.decode(data).name == "VersionNotSupportedIndication"
    assert [e.kind for e in events(tx) if isinstance(e, LogEvent)] == [
        "gtpv2.version_not_supported"]


def test_truncated_datagram_is_silently_discarded() -> None:
    tx = GtpTransactions()
    tx.receive(b"\x48\x20", MME, 0.0)
    assert tx.data_to_send() == []
    [ev] = events(tx)
    assert isinstance(ev, LogEvent) and ev.kind == "gtpv2.discarded"


def test_request_missing_a_mandatory_ie_goes_up_as_malformed() -> None:
    tx = GtpTransactions()
    # Echo Request without its mandatory Recovery (§7.1.1): header only
    tx.receive(bytes([0x40, 1, 0, 4, 0, 0, 9, 0]), MME, 0.0)
    [ev] = events(tx)
    assert isinstance(ev, MalformedRequest)
    assert ev.error.cause == g.CAUSE_MANDATORY_IE_MISSING
    assert ev.error.extra["offending_ie"]["type"] == 3
    assert ev.error.extra["sequence"] == 9
    # its retransmission does not go up twice
    tx.receive(bytes([0x40, 1, 0, 4, 0, 0, 9, 0]), MME, 0.5)
    assert not any(isinstance(e, MalformedRequest) for e in events(tx))


def test_deadlines_due_at_the_same_instant_are_all_served_in_the_order_they_were_set() -> None:
    """A request's T3-RESPONSE (§7.6) and a received request's kept answer expiring at the same
    time (their keys are a sequence number and a (peer, sequence) pair) are both served."""
    tx = GtpTransactions(t3_response_s=3.0, n3_requests=1)
    tx.receive(delete_request(9), MME, 0.0)  # its answer kept 3.0 x (1 + 1) = 6.0 s
    tx.send_response(g.delete_session_response(9, teid=5), MME, 0.0)
    tx.send_request(g.echo_request(0, 1), SGW, 3.0, context="echo")  # T3 due at 6.0
    tx.send_request(g.echo_request(0, 1), SGW, 3.0, context="echo2")
    events(tx)
    tx.data_to_send()
    assert tx.get_timer() == 6.0
    tx.handle_timer(6.0)
    assert [e.context for e in events(tx) if isinstance(e, RequestTimedOut)] == ["echo", "echo2"]
    assert tx.get_timer() is None
    # the kept answer expired with them: the same request again is new, not a duplicate
    tx.receive(delete_request(9), MME, 6.0)
    assert [type(e) for e in events(tx)] == [RequestReceived] and tx.duplicates == 0
