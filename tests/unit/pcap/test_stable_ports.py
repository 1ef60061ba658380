"""Stable client ports: ephemeral ports are shown as the service's well-known port."""

from __future__ import annotations

from corenet.pcap.writer import StablePorts


def test_client_port_takes_the_service_port_then_the_next_free() -> None:
    ports = StablePorts()
    enb1 = ("127.0.1.1", 51000)
    mme = ("127.0.0.2", 36412)
    assert ports.map(enb1, mme) == (("127.0.1.1", 36412), mme)
    assert ports.map(mme, enb1) == (mme, ("127.0.1.1", 36412))  # the same mapping both ways
    second = ("127.0.1.1", 51001)  # a second association from the same address
    assert ports.map(second, mme) == (("127.0.1.1", 36413), mme)
    dia_client = ("127.0.0.2", 40000)
    assert ports.map(dia_client, ("127.0.0.3", 3868)) == (("127.0.0.2", 3868), ("127.0.0.3", 3868))


def test_a_port_a_server_listens_on_is_never_given_to_a_client() -> None:
    ports = StablePorts()
    ports.map(("127.0.0.9", 50000), ("127.0.0.2", 2123))  # 127.0.0.2:2123 is a server
    assert ports.map(("127.0.0.2", 41000), ("127.0.0.4", 2123))[0] == ("127.0.0.2", 2124)


def test_well_known_on_both_sides_is_left_alone() -> None:
    ports = StablePorts()
    a, b = ("127.0.0.2", 2123), ("127.0.0.4", 2123)
    assert ports.map(a, b) == (a, b)
