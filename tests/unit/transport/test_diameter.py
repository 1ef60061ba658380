"""The shared Diameter adapter over loopback TCP: a `DiameterConnector` (initiator) and a
`DiameterListener` (responder) exchange CER/CEA (RFC 6733 §5.3), a request and its answer,
a request left unanswered times out once, by the machine's own timer, and a stop sends DPR
(§5.4)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.core.plmn import Plmn
from corenet.protocols import diameter_peer as dp
from corenet.transport.base import MessageTransport
from corenet.transport.diameter import (
    ConnectTarget,
    DiameterConnector,
    DiameterLink,
    DiameterListener,
)
from tests.unit.core.handles import armed_handles

WAIT = 5.0
MME, HSS, REALM = "mme.example.org", "hss.example.org", "example.org"
S6A = (dia.VENDOR_3GPP, dia.S6A_APPLICATION_ID)


def _config(host: str, timeout: float = 5.0) -> dp.PeerConfig:
    return dp.PeerConfig(origin_host=host, origin_realm=REALM,
                         auth_application_ids=(dia.S6A_APPLICATION_ID,),
                         request_timeout_s=timeout)


def _air(sid: str) -> dia.Message:
    return s6a.air(sid, MME, REALM, REALM, "440100000000001", Plmn.parse("44010"),
                   hop_by_hop=0, end_to_end=7)


async def _until(check: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), WAIT)


class Hss:
    """A listener that answers AIR with Result-Code 5012, or stays silent when `silent`."""

    def __init__(self, silent: bool = False) -> None:
        self.silent = silent
        self.events: list[dp.PeerEvent] = []
        self.listener = DiameterListener(self._peer, self._on_event)

    def _peer(self, conn: MessageTransport) -> dp.DiameterPeer:
        return dp.DiameterPeer(_config(HSS), dp.Role.RESPONDER)

    def _on_event(self, link: DiameterLink, event: dp.PeerEvent) -> None:
        self.events.append(event)
        if isinstance(event, dp.RequestReceived) and not self.silent:
            link.send_answer(dia.error_answer_message(
                event.message, dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY, HSS, REALM))


class Mme:
    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.events: list[dp.PeerEvent] = []
        self.downs: list[str] = []
        self.connector = DiameterConnector(
            ConnectTarget("127.0.0.1", port, local_host="127.0.0.1"),
            lambda: dp.DiameterPeer(_config(MME, timeout), dp.Role.INITIATOR),
            lambda link, event: self.events.append(event),
            lambda reason, error: self.downs.append(reason))


async def test_capabilities_request_answer_and_disconnect() -> None:
    hss = Hss()
    await hss.listener.start("127.0.0.1", 0)
    mme = Mme(hss.listener.local[1])
    mme.connector.start()
    try:
        await asyncio.wait_for(mme.connector.opened.wait(), WAIT)
        opened = [e for e in mme.events if isinstance(e, dp.PeerOpened)]
        assert opened[0].origin_host == HSS
        mme.connector.request(_air("mme.example.org;1;1"))
        await _until(lambda: any(isinstance(e, dp.AnswerReceived) for e in mme.events))
        (answer,) = [e for e in mme.events if isinstance(e, dp.AnswerReceived)]
        assert dia.avp(answer.message, "Result-Code") == dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY
        assert dia.avp(answer.message, "Session-Id") == "mme.example.org;1;1"
    finally:
        mme.connector.stop()
    # RFC 6733 §5.4: the stop is a DPR the listener's machine answers
    await _until(lambda: any(isinstance(e, dp.DisconnectRequested) for e in hss.events))
    assert mme.downs == []  # a stop is no peer failure
    await hss.listener.stop(1.0)


async def test_unanswered_requests_time_out_once_by_the_machine_on_one_armed_timer() -> None:
    """Each request's timeout falls after the deadline already armed: the link keeps that
    timer instead of re-arming per message, and every request times out once, by the
    machine's own timer (RFC 6733 §5.5.4 leaves the failover decision to the node)."""
    hss = Hss(silent=True)
    await hss.listener.start("127.0.0.1", 0)
    mme = Mme(hss.listener.local[1], timeout=0.1)
    mme.connector.start()
    try:
        await asyncio.wait_for(mme.connector.opened.wait(), WAIT)
        with armed_handles() as armed:
            for i in range(20):
                mme.connector.request(_air(f"mme.example.org;1;{100 + i}"))
        assert len(armed) == 1  # the first request's deadline; the others fall after it
        await _until(lambda: sum(isinstance(e, dp.RequestTimedOut) for e in mme.events) == 20)
        await asyncio.sleep(0.2)
        timeouts = [e for e in mme.events if isinstance(e, dp.RequestTimedOut)]
        assert sorted(dia.avp(e.request, "Session-Id") for e in timeouts) == sorted(
            f"mme.example.org;1;{100 + i}" for i in range(20))
    finally:
        mme.connector.stop()
        await hss.listener.stop(1.0)


async def test_deaf_listener_reads_and_ignores() -> None:
    hss = Hss()
    hss.listener.deaf = True
    await hss.listener.start("127.0.0.1", 0)
    mme = Mme(hss.listener.local[1])
    mme.connector.start()
    try:
        await _until(lambda: len(hss.listener.links) == 1)
        await asyncio.sleep(0.1)
        assert not mme.connector.opened.is_set()  # the CER went unanswered
        assert hss.events == []
    finally:
        mme.connector.stop()
        await hss.listener.stop(1.0)
