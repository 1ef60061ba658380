"""The asyncio side of the GTPv2-C transaction layer (`corenet.protocols.gtpv2c_transactions`),
shared by every GTPv2-C entity (the MME's S11 client, the S/P-GW's S11 server).

`GtpEndpoint` binds one UDP socket (TS 29.274 §4.2, port 2123), feeds each datagram to its
`GtpTransactions` and hands the resulting events to the owner with the time they happened;
requests are retransmitted on T3-RESPONSE up to N3-REQUESTS by the layer's one timer (§7.6), so
an entity never guards a request with a timer of its own. The owner's own deadline (path
management, TS 29.274 §7.1.1 Echo) can share the same timer through `owner_timer`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable

from corenet.codecs.base import Message
from corenet.core.timers import EarliestDeadline
from corenet.protocols import gtpv2c_transactions as gt
from corenet.transport.base import Address, Clock, Tap, bound_clock, loop_clock
from corenet.transport.udp import UdpEndpoint, open_udp_endpoint

log = logging.getLogger("corenet.gtp")

OnGtpEvent = Callable[[gt.Event, float], None]
# a datagram screened before the transaction layer: True when the owner dealt with it
Screen = Callable[[bytes, Address, float], bool]
Hold = Callable[[Callable[[], None]], None]


class OwnerTimer:
    """The owner's own deadline, armed together with the layer's: `due()` when it is next due
    (or None), `expire(now)` when it is."""

    def __init__(self, due: Callable[[], float | None], expire: Callable[[float], None]) -> None:
        self.due = due
        self.expire = expire


class GtpEndpoint:
    """One bound GTPv2-C UDP socket and its transaction layer."""

    def __init__(self, transactions: gt.GtpTransactions, on_event: OnGtpEvent, *,
                 clock: Clock = loop_clock, screen: Screen | None = None,
                 owner_timer: OwnerTimer | None = None, hold: Hold | None = None) -> None:
        """`hold`, when given, receives each batch of outgoing datagrams as a callable that
        sends them, and calls it when they may leave (e.g. once the state they announce is on
        disk: the S/P-GW's group commit, TS 23.007 §18)."""
        self.transactions = transactions
        self._hold = hold
        self._on_event = on_event
        self._given_clock = clock
        self._clock = clock
        self._screen = screen
        self._owner_timer = owner_timer
        self._udp: UdpEndpoint | None = None
        self._timer = EarliestDeadline(self._fire)

    @property
    def local(self) -> Address:
        if self._udp is None:
            raise RuntimeError("GTPv2-C endpoint not open")
        return self._udp.local

    @property
    def is_open(self) -> bool:
        return self._udp is not None and not self._udp.closed

    async def open(self, host: str, port: int, *, tap: Tap | None = None) -> None:
        self._clock = bound_clock(self._given_clock)  # the loop it is opened in
        self._udp = await open_udp_endpoint(host, port, self._on_datagram, tap=tap)

    def close(self) -> None:
        self._timer.cancel()
        if self._udp is not None:
            self._udp.close()

    async def wait_closed(self) -> None:
        if self._udp is not None:
            await self._udp.wait_closed()
            self._udp = None

    # -- the owner's side -------------------------------------------------------------------

    def send_request(self, msg: Message, peer: Address, *, context: Hashable = None) -> None:
        """A request, retransmitted until answered or N3-REQUESTS attempts (§7.6)."""
        self.transactions.send_request(msg, peer, self._clock(), context=context)
        self.pump()

    def send_response(self, msg: Message, peer: Address) -> None:
        """The response to a received request, kept for its retransmissions (§7.6)."""
        self.transactions.send_response(msg, peer, self._clock())
        self.pump()

    def send(self, msg: Message, peer: Address, *, context: Hashable = None) -> None:
        """A request or a response, by its message type (TS 29.274 Table 6.1-1)."""
        if msg.code in gt.RESPONSE_TYPES:
            self.send_response(msg, peer)
        else:
            self.send_request(msg, peer, context=context)

    # -- the loop ---------------------------------------------------------------------------

    def _on_datagram(self, data: bytes, addr: Address) -> None:
        now = self._clock()
        if self._screen is not None and self._screen(data, addr, now):
            self.pump()
            return
        self.transactions.receive(data, addr, now)
        self.pump()

    def pump(self) -> None:
        """Events to the owner, datagrams to the socket, then the one timer."""
        now = self._clock()
        while (event := self.transactions.next_event()) is not None:
            try:
                self._on_event(event, now)
            except Exception:
                # a fault of ours on one message must not stop the node serving the others
                log.exception("GTPv2-C entity failed on %s", type(event).__name__)
        datagrams = self.transactions.data_to_send()
        if datagrams:
            if self._hold is None:
                self._send(datagrams)
            else:
                self._hold(lambda: self._send(datagrams))
        self._arm(now)

    def _send(self, datagrams: list[tuple[bytes, Address]]) -> None:
        udp = self._udp
        if udp is not None and not udp.closed:
            for data, addr in datagrams:
                udp.sendto(data, addr)

    def _arm(self, now: float) -> None:
        """One timer for the earliest deadline, the layer's or the owner's."""
        at = self.transactions.get_timer()
        if self._owner_timer is not None:
            owner = self._owner_timer.due()
            if owner is not None and (at is None or owner < at):
                at = owner
        self._timer.arm(at if self.is_open else None, now)

    def _fire(self) -> None:
        now = self._clock()
        self.transactions.handle_timer(now)
        if self._owner_timer is not None:
            due = self._owner_timer.due()
            if due is not None and due <= now:
                self._owner_timer.expire(now)
        self.pump()
