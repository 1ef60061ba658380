"""Flow-Descriptions (TS 29.212 §5.3.8, TS 29.214 §5.3.8) as the UE's packet filters
(TS 24.008 §10.5.6.12)."""

from __future__ import annotations

import ipaddress

from corenet.codecs import tft

UE = ipaddress.ip_address("10.45.0.2")
REMOTE = ipaddress.ip_network("10.46.0.7/32")


def test_gx_uplink_flow_is_permit_out_from_the_ue() -> None:
    """Gx: both directions as "permit out"; the uplink one has the UE as the source."""
    down = tft.packet_filter(tft.parse_flow("permit out 17 from 10.46.0.7 40000 to 10.45.0.2 50000"),
                             UE, 0, 10)
    up = tft.packet_filter(tft.parse_flow("permit out 17 from 10.45.0.2 50000 to 10.46.0.7 40000"),
                           UE, 1, 11)
    assert (down.direction, down.remote, down.local_port, down.remote_port) == (
        tft.DOWNLINK, REMOTE, 50000, 40000)
    assert (up.direction, up.remote, up.local_port, up.remote_port) == (
        tft.UPLINK, REMOTE, 50000, 40000)


def test_rx_uplink_flow_is_permit_in() -> None:
    up = tft.packet_filter(tft.parse_flow("permit in 17 from 10.45.0.2 50000 to 10.46.0.7 40000"),
                           UE, 0, 10)
    assert (up.direction, up.remote, up.local_port) == (tft.UPLINK, REMOTE, 50000)
    unknown = tft.packet_filter(tft.parse_flow("permit in 17 from any to 10.46.0.7 40000"), None, 1, 11)
    assert unknown.direction == tft.UPLINK and unknown.remote == REMOTE
