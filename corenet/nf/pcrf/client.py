"""The connection of a PCRF client (the P-GW over Gx, the P-CSCF over Rx) to the PCRF: the
initiator side of RFC 6733 §5.6 on the shared adapters of `corenet.transport.diameter`.

Requests the PCRF sends (Gx RAR, Rx ASR/RAR) go to `on_request`, which returns the answer;
answers to ours go to `on_answer`; a request that got no answer (the machine's timer, or the
connection failing over, RFC 6733 §5.5.4) goes to `on_failed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from corenet.codecs.base import Message
from corenet.codecs.diameter import VENDOR_3GPP
from corenet.config.models import PcrfLink
from corenet.core.actions import LogEvent
from corenet.protocols import diameter_peer as dp
from corenet.protocols.diameter_ids import DiameterIds, start_ids
from corenet.transport.diameter import ConnectTarget, DiameterConnector, DiameterLink, initiators

log = logging.getLogger("corenet.pcrf.client")


def client_ids(origin_host: str, seed: int | None) -> DiameterIds:
    """Session-Ids and End-to-End Identifiers (RFC 6733 §8.8, §3); seeded runs repeat them."""
    return start_ids(origin_host, None if seed is None else f"{origin_host}:{seed}")


class PcrfClient:
    """One connection to the PCRF, kept up (reconnected after a loss, RFC 6733 §2.1)."""

    def __init__(self, link: PcrfLink, application_id: int, *, product: str,
                 ids: DiameterIds,
                 on_request: Callable[[Message], Message],
                 on_answer: Callable[[Message, Message], None],
                 on_failed: Callable[[Message, str], None],
                 on_event: Callable[[LogEvent], None],
                 tap: Any = None, seed: int | None = None, backlog: int = 0) -> None:
        """`backlog`: requests kept while the PCRF is not reachable, sent once it is (the
        P-GW's CCRs); 0: such a request fails at once (the P-CSCF answers its SIP request)."""
        self.link_cfg = link
        self._backlog_max = backlog
        self._backlog: list[Message] = []
        self._on_request = on_request
        self._on_answer = on_answer
        self._on_failed = on_failed
        self._on_event = on_event
        config = dp.PeerConfig(
            origin_host=link.origin_host, origin_realm=link.origin_realm,
            host_ip_addresses=(link.local_host or "127.0.0.1",),
            vendor_specific_application_ids=((VENDOR_3GPP, application_id),),
            watchdog_s=link.watchdog_s, request_timeout_s=link.request_timeout_s,
            product_name=product, expected_peer=link.host)
        make_peer = initiators(config, link.peer.host,
                               None if seed is None else f"{link.origin_host}:{seed}", ids=ids)

        self._connector = DiameterConnector(
            ConnectTarget(link.peer.host, link.peer.port, local_host=link.local_host),
            make_peer, self._event, self._down, tap=tap)

    @property
    def is_open(self) -> bool:
        return self._connector.is_open

    def start(self) -> None:
        self._connector.start()

    def stop(self) -> None:
        self._connector.stop()

    async def started(self, timeout: float = 2.0) -> None:
        """Wait (at most `timeout` each) for the first connection attempt, and for the
        capabilities exchange of a connection made (RFC 6733 §5.3)."""
        try:
            await asyncio.wait_for(self._connector.attempted.wait(), timeout)
            link = self._connector.link
            if link is not None and not link.conn.closed:
                await asyncio.wait_for(self._connector.opened.wait(), timeout)
        except TimeoutError:
            pass

    def request(self, msg: Message) -> bool:
        """Send `msg`; False when the PCRF is not reachable now (and the backlog is full)."""
        if self._connector.is_open:
            try:
                self._connector.request(msg)
                return True
            except dp.PeerNotOpen:
                pass
        if len(self._backlog) < self._backlog_max:
            self._backlog.append(msg)
            return True
        return False

    def _down(self, reason: str, error: OSError | None) -> None:
        self._on_event(LogEvent("pcrf.link.down", {"peer": self.link_cfg.host,
                                                   "reason": reason}))

    def _event(self, link: DiameterLink, event: dp.PeerEvent) -> None:
        if isinstance(event, dp.RequestReceived):
            link.send_answer(self._on_request(event.message))
        elif isinstance(event, dp.AnswerReceived):
            self._on_answer(event.message, event.request)
        elif isinstance(event, dp.RequestTimedOut):
            self._on_failed(event.request, "request timeout")
        elif isinstance(event, dp.RequestsFailedOver):
            for req in event.requests:
                self._on_failed(req, event.reason)
        elif isinstance(event, dp.PeerOpened):
            self._on_event(LogEvent("pcrf.link.open", {"peer": event.origin_host}))
            waiting, self._backlog = self._backlog, []
            for msg in waiting:
                if not self.request(msg):
                    self._on_failed(msg, "PCRF not reachable")
