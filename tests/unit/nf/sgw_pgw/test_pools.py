"""UE address pools per APN (TS 23.401 §5.3.1.1, §5.3.1.2.2)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.config.models import ApnPool
from corenet.core.errors import ConfigError
from corenet.nf.sgw_pgw import pools as pools_module
from corenet.nf.sgw_pgw.pools import (
    CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED,
    CAUSE_MISSING_OR_UNKNOWN_APN,
    CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED,
    PDN_IPV4,
    PDN_IPV4V6,
    PDN_IPV6,
    AddressPools,
    Allocation,
    AllocationError,
    BitSet,
    apn_network_identifier,
)


def pools(*cfgs: ApnPool) -> AddressPools:
    return AddressPools(list(cfgs))


def v4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def v6(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


def test_ipv4_addresses_skip_network_address_and_come_in_order() -> None:
    p = pools(ApnPool(apn="sos", ipv4="10.47.0.0/16"))
    a, b = p.allocate("sos", PDN_IPV4), p.allocate("sos", PDN_IPV4)
    assert (a.ipv4_text, b.ipv4_text) == ("10.47.0.1", "10.47.0.2")
    assert a.ipv6_prefix is None and a.pdn_type == PDN_IPV4
    assert a.paa() == {"pdn_type": 1, "ipv4": "10.47.0.1", "ipv6": None,
                       "ipv6_prefix_length": None}


def test_ipv6_gets_a_64_prefix_out_of_the_48() -> None:
    p = pools(ApnPool(apn="ims", ipv6="2001:db8:46::/48"))
    a, b = p.allocate("ims", PDN_IPV6), p.allocate("ims", PDN_IPV6)
    assert a.ipv6_network == ipaddress.IPv6Network("2001:db8:46::/64")
    assert b.ipv6_prefix == int(ipaddress.IPv6Address("2001:db8:46:1::"))
    assert a.ipv6_text == "2001:db8:46::1"
    assert a.paa() == {"pdn_type": 2, "ipv4": None, "ipv6": "2001:db8:46::1",
                       "ipv6_prefix_length": 64}
    assert a.holds(ipaddress.ip_address("2001:db8:46::abcd:1"))
    assert not a.holds(ipaddress.ip_address("2001:db8:46:1::1"))


def test_ipv4v6_gets_both() -> None:
    p = pools(ApnPool(apn="internet", ipv4="10.45.0.0/16", ipv6="2001:db8:45::/48"))
    a = p.allocate("internet", PDN_IPV4V6)
    assert a.pdn_type == PDN_IPV4V6
    assert a.ipv4_text == "10.45.0.1"
    assert a.ipv6_prefix_text == "2001:db8:45::/64"


def test_ipv4v6_on_a_single_stack_apn_is_narrowed() -> None:
    p = pools(ApnPool(apn="v4", ipv4="10.0.0.0/24"), ApnPool(apn="v6", ipv6="2001:db8::/56"))
    assert p.allocate("v4", PDN_IPV4V6).pdn_type == PDN_IPV4
    a = p.allocate("v6", PDN_IPV4V6)
    assert (a.pdn_type, a.ipv4) == (PDN_IPV6, None)


@pytest.mark.parametrize(("apn", "pdn_type"), [("v4", PDN_IPV6), ("v6", PDN_IPV4),
                                               ("v4", 4)])
def test_pdn_type_the_pool_lacks_is_cause_83(apn: str, pdn_type: int) -> None:
    p = pools(ApnPool(apn="v4", ipv4="10.0.0.0/24"), ApnPool(apn="v6", ipv6="2001:db8::/56"))
    with pytest.raises(AllocationError) as exc:
        p.allocate(apn, pdn_type)
    assert exc.value.cause == CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED == 83


def test_unknown_apn_is_cause_78() -> None:
    with pytest.raises(AllocationError) as exc:
        pools(ApnPool(apn="sos", ipv4="10.0.0.0/24")).allocate("internet", PDN_IPV4)
    assert exc.value.cause == CAUSE_MISSING_OR_UNKNOWN_APN == 78


def test_apn_with_operator_identifier_and_case_matches() -> None:
    p = pools(ApnPool(apn="sos", ipv4="10.0.0.0/24"))
    assert p.allocate("SOS.mnc020.mcc440.gprs", PDN_IPV4).apn == "sos"
    assert apn_network_identifier("ims.mnc010.mcc440.gprs") == "ims"
    assert apn_network_identifier("a.b") == "a.b"


def test_ipv4_exhaustion_is_cause_84_and_release_allows_reuse() -> None:
    p = pools(ApnPool(apn="x", ipv4="10.0.0.0/30"))  # two host addresses
    a, b = p.allocate("x", PDN_IPV4), p.allocate("x", PDN_IPV4)
    assert {a.ipv4_text, b.ipv4_text} == {"10.0.0.1", "10.0.0.2"}
    with pytest.raises(AllocationError) as exc:
        p.allocate("x", PDN_IPV4)
    assert exc.value.cause == CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED == 84
    p.release(a)
    assert p.allocate("x", PDN_IPV4).ipv4 == a.ipv4


def test_ipv6_exhaustion_and_reuse() -> None:
    p = pools(ApnPool(apn="x", ipv6="2001:db8::/63"))  # two /64
    a, _ = p.allocate("x", PDN_IPV6), p.allocate("x", PDN_IPV6)
    with pytest.raises(AllocationError) as exc:
        p.allocate("x", PDN_IPV6)
    assert exc.value.cause == 84
    p.release(a)
    assert p.allocate("x", PDN_IPV6).ipv6_prefix == a.ipv6_prefix


def test_ipv4v6_exhaustion_of_one_family_gives_back_the_other() -> None:
    p = pools(ApnPool(apn="x", ipv4="10.0.0.0/30", ipv6="2001:db8::/60"))
    p.allocate("x", PDN_IPV4)
    p.allocate("x", PDN_IPV4)
    with pytest.raises(AllocationError) as exc:
        p.allocate("x", PDN_IPV4V6)
    assert exc.value.cause == 84
    assert p.pool("x").in_use == (2, 0)


def test_release_twice_or_foreign_allocation_changes_nothing() -> None:
    p = pools(ApnPool(apn="x", ipv4="10.0.0.0/29"), ApnPool(apn="y", ipv4="10.1.0.0/29"))
    a = p.allocate("x", PDN_IPV4)
    p.release(a)
    p.release(a)
    assert p.pool("x").in_use == (0, 0)
    b = p.allocate("x", PDN_IPV4)
    assert b.ipv4 == a.ipv4
    assert p.allocate("x", PDN_IPV4).ipv4 != b.ipv4


def test_ipv6_pool_longer_than_64_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        pools(ApnPool(apn="x", ipv6="2001:db8::/80"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=40))
def test_allocations_stay_unique_and_inside_the_pool(ops: list[bool]) -> None:
    p = pools(ApnPool(apn="x", ipv4="10.9.0.0/28", ipv6="2001:db8:9::/60"))
    net4, net6 = ipaddress.IPv4Network("10.9.0.0/28"), ipaddress.IPv6Network("2001:db8:9::/60")
    held: list[Allocation] = []
    for allocate in ops:
        if allocate or not held:
            try:
                held.append(p.allocate("x", PDN_IPV4V6))
            except AllocationError as exc:
                assert exc.cause == 84 and len(held) == 14
        else:
            p.release(held.pop(0))
        assert len({a.ipv4 for a in held}) == len(held)
        assert len({a.ipv6_prefix for a in held}) == len(held)
        for a in held:
            v4, v6 = a.ipv4_address, a.ipv6_network
            assert v4 in net4 and v4 not in (net4.network_address, net4.broadcast_address)
            assert v6 is not None and v6.subnet_of(net6)


def test_reserved_allocations_are_never_handed_out_again() -> None:
    """A restored session's addresses (TS 23.007 §18) are taken back before any new one."""
    p = pools(ApnPool(apn="sos", ipv4="10.0.0.0/29", ipv6="2001:db8:47::/62"))
    held = Allocation("sos", PDN_IPV4V6, v4("10.0.0.3"), v6("2001:db8:47:2::"))
    assert p.reserve(held)
    assert not p.reserve(held)  # taken once only
    got = [p.allocate("sos", PDN_IPV4V6) for _ in range(3)]
    assert [a.ipv4_text for a in got] == ["10.0.0.1", "10.0.0.2", "10.0.0.4"]
    assert [a.ipv6_prefix_text for a in got] == [
        "2001:db8:47::/64", "2001:db8:47:1::/64", "2001:db8:47:3::/64"]
    p.release(got[0])
    assert p.reserve(got[0]) and p.allocate("sos", PDN_IPV4).ipv4_text == "10.0.0.5"


def test_reserve_refuses_addresses_outside_the_pool() -> None:
    p = pools(ApnPool(apn="sos", ipv4="10.0.0.0/29"))
    assert not p.reserve(Allocation("sos", PDN_IPV4, v4("10.0.1.1"), None))
    assert not p.reserve(Allocation("sos", PDN_IPV4, v4("10.0.0.0"), None))
    assert not p.reserve(Allocation("sos", PDN_IPV4, v4("10.0.0.7"), None))  # broadcast
    assert not p.reserve(Allocation("ims", PDN_IPV4, v4("10.0.0.1"), None))
    assert not p.reserve(Allocation("sos", PDN_IPV6, None, v6("2001:db8::")))
    assert p.allocate("sos", PDN_IPV4).ipv4_text == "10.0.0.1"


def test_reserve_refuses_a_prefix_that_is_not_a_64_of_the_pool() -> None:
    p = pools(ApnPool(apn="ims", ipv6="2001:db8:46::/48"))
    assert not p.reserve(Allocation("ims", PDN_IPV6, None, v6("2001:db8:46::1")))
    assert not p.reserve(Allocation("ims", PDN_IPV6, None, v6("2001:db8:47::")))
    assert p.reserve(Allocation("ims", PDN_IPV6, None, v6("2001:db8:46:5::")))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1))
def test_text_forms_are_those_of_ipaddress(ipv4: int, prefix64: int) -> None:
    """Addresses are kept as integers; the text a message, record or log gets is the one
    `ipaddress` writes (RFC 5952 for IPv6)."""
    a = Allocation("x", PDN_IPV4V6, ipv4, prefix64 << 64)
    assert a.ipv4_text == str(ipaddress.IPv4Address(ipv4))
    net = ipaddress.IPv6Network((prefix64 << 64, 64))
    assert a.ipv6_prefix_text == str(net)
    assert a.ipv6_text == str(net.network_address + 1)
    assert a.ipv4_address == ipaddress.IPv4Address(ipv4) and a.ipv6_network == net
    assert a.holds(str(net.network_address + 0xBEEF)) and a.holds(a.ipv4_text or "")
    assert not a.holds(str(ipaddress.IPv6Address((prefix64 + 1) % 2**64 << 64)))
    assert not a.holds("not an address")


def test_address_texts_are_kept_for_the_last_connections_only() -> None:
    """The text of an address is made once for the messages, record and logs of its PDN
    connection, from a bounded table: more connections than it keeps still get their own
    addresses' text."""
    base = v4("10.0.0.0")
    for n in range(2 * pools_module._TEXTS_KEPT + 3):
        a = Allocation("x", PDN_IPV4V6, base + n, v6("2001:db8::") + (n << 64))
        assert a.ipv4_text == str(ipaddress.IPv4Address(base + n)) == a.ipv4_text
        assert a.ipv6_prefix_text == str(ipaddress.IPv6Network((a.ipv6_prefix, 64)))
    assert 0 < len(pools_module._IPV4_TEXTS) <= pools_module._TEXTS_KEPT
    assert 0 < len(pools_module._IPV6_PREFIX_TEXTS) <= pools_module._TEXTS_KEPT


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.one_of(st.integers(0, 9000),
                                                   st.integers(0, 2**32 - 1))), max_size=60))
def test_bitset_behaves_as_a_set_and_keeps_no_empty_bitmap(ops: list[tuple[bool, int]]) -> None:
    """The members of address ranges and TEID spaces (`BitSet`) are those of a `set`."""
    bits, model = BitSet(), set[int]()
    for add, n in ops:
        (bits.add if add else bits.discard)(n)
        (model.add if add else model.discard)(n)
        assert len(bits) == len(model) and (n in bits) == (n in model)
    assert all(n in bits for n in model)
    assert not any(n in bits for n in range(0, 9001) if n not in model)
    assert len(bits._chunks) == len({n >> 12 for n in model})
