"""The shared GTPv2-C endpoint over loopback UDP: a request is answered and the response comes
back with its context; an unanswered one is sent N3-REQUESTS times, T3-RESPONSE apart, then
reported once (TS 29.274 §7.6); the owner's deadline shares the endpoint's timer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from corenet.codecs import gtpv2c
from corenet.protocols import gtpv2c_transactions as gt
from corenet.transport import open_udp_endpoint
from corenet.transport.gtp import GtpEndpoint, OwnerTimer
from tests.unit.core.handles import armed_handles

WAIT = 5.0


async def _until(check: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), WAIT)


async def test_echo_answered_and_response_carries_the_context() -> None:
    events: list[gt.Event] = []
    sgw_events: list[gt.Event] = []
    sgw_holder: list[GtpEndpoint] = []

    def on_sgw(event: gt.Event, now: float) -> None:
        sgw_events.append(event)
        if isinstance(event, gt.RequestReceived):  # TS 29.274 §7.1.2
            sgw_holder[0].send_response(gtpv2c.echo_response(
                int(event.message.fields["sequence"]), 7), event.peer)

    sgw = GtpEndpoint(gt.GtpTransactions(), on_sgw)
    sgw_holder.append(sgw)
    mme = GtpEndpoint(gt.GtpTransactions(), lambda e, now: events.append(e))
    await sgw.open("127.0.0.1", 0)
    await mme.open("127.0.0.1", 0)
    try:
        mme.send(gtpv2c.echo_request(1, 3), sgw.local, context="echo")
        await _until(lambda: bool(events))
        (response,) = events
        assert isinstance(response, gt.ResponseReceived)
        assert response.context == "echo"
        assert response.message.name == "EchoResponse"
        assert response.message.fields["recovery"] == 7
        assert isinstance(sgw_events[0], gt.RequestReceived)
        assert sgw_events[0].message.fields["recovery"] == 3
    finally:
        for ep in (mme, sgw):
            ep.close()
            await ep.wait_closed()


async def test_unanswered_request_is_retransmitted_n3_times_then_reported_once() -> None:
    got: list[bytes] = []
    silent = await open_udp_endpoint("127.0.0.1", 0, lambda data, addr: got.append(data))
    events: list[gt.Event] = []
    owner_due: list[float] = []
    fired: list[float] = []
    mme = GtpEndpoint(gt.GtpTransactions(t3_response_s=0.05, n3_requests=3),
                      lambda e, now: events.append(e),
                      owner_timer=OwnerTimer(lambda: owner_due[0] if owner_due else None,
                                             lambda now: (fired.append(now), owner_due.clear())))
    await mme.open("127.0.0.1", 0)
    try:
        owner_due.append(asyncio.get_running_loop().time() + 0.02)
        mme.send(gtpv2c.echo_request(1, 3), silent.local, context=42)
        await _until(lambda: bool(events))
        await asyncio.sleep(0.1)
        (timed_out,) = events
        assert isinstance(timed_out, gt.RequestTimedOut)
        assert timed_out.context == 42 and timed_out.attempts == 3
        assert len(got) == 3 and len(set(got)) == 1  # the same datagram, N3-REQUESTS times
        assert gtpv2c.decode(got[0]).name == "EchoRequest"
        assert len(fired) == 1  # the owner's own deadline, on the same timer
    finally:
        mme.close()
        await mme.wait_closed()
        silent.close()
        await silent.wait_closed()


async def test_requests_in_a_row_share_one_armed_timer_and_each_is_retransmitted() -> None:
    """Each request's T3-RESPONSE falls after the one already armed: the endpoint keeps that
    timer instead of re-arming per message, and still retransmits every request N3-REQUESTS
    times, T3-RESPONSE apart, then reports each once (TS 29.274 §7.6)."""
    got: list[bytes] = []
    silent = await open_udp_endpoint("127.0.0.1", 0, lambda data, addr: got.append(data))
    events: list[gt.Event] = []
    mme = GtpEndpoint(gt.GtpTransactions(t3_response_s=0.05, n3_requests=2),
                      lambda e, now: events.append(e))
    await mme.open("127.0.0.1", 0)
    try:
        with armed_handles() as armed:
            for i in range(20):
                mme.send(gtpv2c.echo_request(1, 3), silent.local, context=i)
        assert len(armed) == 1  # one timer for twenty requests
        await _until(lambda: len(events) == 20)
        assert sorted(e.context for e in events if isinstance(e, gt.RequestTimedOut)) == list(range(20))
        assert all(e.attempts == 2 for e in events if isinstance(e, gt.RequestTimedOut))
        assert len(got) == 40
        sequences = [gtpv2c.decode(d).fields["sequence"] for d in got]
        assert all(sequences.count(s) == 2 for s in set(sequences))
    finally:
        mme.close()
        await mme.wait_closed()
        silent.close()
        await silent.wait_closed()
