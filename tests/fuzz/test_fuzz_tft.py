"""Traffic flow template codec (TS 24.008 §10.5.6.12) and Flow-Description parser (TS 29.212
§5.3.8) fuzzing: only ValueError may escape, and what is encoded decodes to itself."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs import tft

_filters = st.builds(
    tft.PacketFilter,
    identifier=st.integers(0, 15), direction=st.integers(1, 3), precedence=st.integers(0, 255),
    remote=st.one_of(st.none(), st.builds(
        lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
        st.ip_addresses(v=4), st.integers(0, 32)), st.builds(
        lambda a, p: ipaddress.IPv6Network((a, p), strict=False),
        st.ip_addresses(v=6), st.integers(0, 128))),
    protocol=st.one_of(st.none(), st.integers(0, 255)),
    local_port=st.one_of(st.none(), st.integers(0, 0xFFFF)),
    remote_port=st.one_of(st.none(), st.integers(0, 0xFFFF)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_filters, min_size=1, max_size=tft.MAX_FILTERS))
def test_encoded_filters_decode_to_themselves(filters: list[tft.PacketFilter]) -> None:
    op, back = tft.decode(tft.encode(filters))
    assert op == tft.OP_CREATE and list(back) == filters


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80))
def test_random_octets_decode_or_raise_value_error(data: bytes) -> None:
    try:
        tft.decode(data)
    except ValueError:
        pass


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_random_text_parses_or_raises_flow_error(text: str) -> None:
    try:
        tft.parse_flow(text)
    except tft.FlowError:
        pass


@pytest.mark.parametrize("text", ["permit out \u00b2 from any to any",
                                  "permit in 17 from 10.0.0.1 \u00b9 to any"])
def test_non_ascii_digits_are_not_numbers(text: str) -> None:
    with pytest.raises(tft.FlowError):
        tft.parse_flow(text)
