"""asyncio transports delivering whole messages: SCTP (kernel or fallback), Diameter/TCP, UDP."""

from __future__ import annotations

from corenet.transport.base import Address, Direction, MessageTransport, Tap
from corenet.transport.sctp import kernel_sctp_status, open_sctp_client, open_sctp_server
from corenet.transport.stream import MessageServer, StreamConnection
from corenet.transport.tcp import open_diameter_tcp_client, open_diameter_tcp_server
from corenet.transport.udp import UdpEndpoint, open_udp_endpoint

__all__ = [
    "Address",
    "Direction",
    "MessageServer",
    "MessageTransport",
    "StreamConnection",
    "Tap",
    "UdpEndpoint",
    "kernel_sctp_status",
    "open_diameter_tcp_client",
    "open_diameter_tcp_server",
    "open_sctp_client",
    "open_sctp_server",
    "open_udp_endpoint",
]
