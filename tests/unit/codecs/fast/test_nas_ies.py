"""The fast NAS IE conversions and security header (corenet.codecs.fast.nas_ies) against the
pycrate ones of corenet.codecs.nas_ies, differentially: a fast conversion returns exactly the
reference's value or declines, and declines whatever the reference rejects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corenet.codecs import nas, selection
from corenet.codecs import nas_ies as ies
from corenet.codecs.fast import nas_ies as fast
from corenet.core.plmn import Plmn
from tests.unit.codecs.fast.parity import codec_level

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

_PLMNS = st.sampled_from([Plmn("440", "10"), Plmn("440", "20"), Plmn("310", "410"),
                          Plmn("001", "01"), Plmn("999", "999")])
_DIGITS = st.text("0123456789", min_size=1, max_size=18)
_ANY = st.one_of(st.none(), st.booleans(), st.text(max_size=4), st.binary(max_size=4),
                 st.integers(-5, 5))


def _outcome(fn: Callable[[Any], Any], value: Any) -> tuple[bool, Any]:
    try:
        return True, fn(value)
    except Exception:  # the reference's ValueError or pycrate's own; the fast Decline
        return False, None


def _same(ref_fn: Callable[[Any], Any], value: Any) -> None:
    fast_ok, got = _outcome(fast.REPLACES.get(ref_fn, ref_fn), value)
    ref_ok, want = _outcome(ref_fn, value)
    if fast_ok:
        assert ref_ok, f"fast accepted what the reference rejects: {value!r}"
        assert repr(got) == repr(want) and got == want, (value, got, want)


_guti = st.builds(ies.Guti, _PLMNS, st.integers(-1, 0x10000), st.integers(-1, 256),
                  st.integers(-1, 1 << 32))
_TO_WIRE: dict[Callable[[Any], Any], st.SearchStrategy[Any]] = {
    ies.eps_mobile_identity_to_wire: st.one_of(
        st.builds(ies.guti_identity, _guti),
        st.builds(lambda t, v: {"type": t, "value": v},
                  st.sampled_from(["imsi", "imei", "tmsi", "x"]), st.one_of(_DIGITS, _ANY))),
    ies.mobile_identity_to_wire: st.builds(
        lambda t, v: {"type": t, "value": v}, st.sampled_from(["imsi", "imei", "imeisv", "tmsi"]),
        st.one_of(_DIGITS, st.integers(-1, 1 << 33), _ANY)),
    ies.tai_list_to_wire: st.lists(st.builds(ies.Tai, _PLMNS, st.integers(-1, 0x10001)),
                                   max_size=17),
    ies.gprs_timer_to_wire: st.one_of(st.none(), st.integers(-10, 12000)),
    ies.time_zone_to_wire: st.integers(-90, 90),
    ies.universal_time_to_wire: st.builds(
        lambda when, tz, aware: {"time": when.replace(tzinfo=UTC if aware else None)
                                 if aware != 2 else when.replace(tzinfo=timezone(timedelta(hours=9))),
                                 "time_zone": tz},
        st.datetimes(datetime(1990, 1, 1), datetime(2110, 1, 1)), st.integers(-85, 85),
        st.integers(0, 2)),
    ies.nas_security_algorithms_to_wire: st.fixed_dictionaries(
        {"eea": st.integers(-1, 8), "eia": st.integers(-1, 8)}),
    ies.apn_to_wire: st.one_of(
        st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=0, max_size=64),
                 min_size=1, max_size=4).map(".".join),
        st.text(max_size=8)),
    ies.apn_ambr_to_wire: st.fixed_dictionaries(
        {"downlink": st.integers(-1, 70_000_000), "uplink": st.integers(-1, 70_000_000)}),
    ies.eps_qos_to_wire: st.one_of(
        st.fixed_dictionaries({"qci": st.integers(-1, 256)}),
        st.fixed_dictionaries({"qci": st.integers(0, 255)},
                              optional={k: st.integers(0, 300_000)
                                        for k in ("max_ul", "max_dl", "gbr_ul", "gbr_dl")})),
    ies.pdn_address_to_wire: st.fixed_dictionaries(
        {"pdn_type": st.integers(0, 4)},
        optional={"ipv4": st.one_of(st.ip_addresses(v=4).map(str), _ANY),
                  "ipv6_interface_identifier": st.binary(min_size=7, max_size=9)}),
    ies.emergency_number_list_to_wire: st.lists(st.builds(
        ies.EmergencyNumber, st.text("0123456789", min_size=1, max_size=6),
        st.lists(st.sampled_from(sorted(ies.EMERGENCY_CATEGORY_BITS)), max_size=3).map(tuple)),
        min_size=1, max_size=3),
    ies.network_name_to_wire: st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ -", min_size=1, max_size=12),
    ies.eps_network_feature_support_to_wire: st.dictionaries(
        st.sampled_from(["ims_vops", "emc_bs", "epc_lcs", "epco", "cp_ciot"]),
        st.integers(0, 1), max_size=3),
}
_FROM_WIRE = [ref for ref in fast.REPLACES if ref.__name__.endswith("_from_wire")]


@pytest.mark.parametrize("ref_fn", sorted(_TO_WIRE, key=lambda f: f.__name__),
                         ids=lambda f: f.__name__)
@SETTINGS
@given(data=st.data())
def test_to_wire_same_bytes_or_declined(ref_fn: Callable[[Any], Any], data: st.DataObject) -> None:
    value = data.draw(_TO_WIRE[ref_fn])
    _same(ref_fn, value)
    ok, wire = _outcome(ref_fn, value)
    if ok:  # and the value part read back
        back = getattr(ies, ref_fn.__name__.replace("_to_wire", "_from_wire"))
        _same(back, wire)


@pytest.mark.parametrize("ref_fn", _FROM_WIRE, ids=lambda f: f.__name__)
@SETTINGS
@given(raw=st.binary(max_size=24))
def test_from_wire_same_value_or_declined(ref_fn: Callable[[Any], Any], raw: bytes) -> None:
    _same(ref_fn, raw)


def test_every_conversion_has_a_differential_test() -> None:
    to_wire = {f for f in fast.REPLACES if f.__name__.endswith("_to_wire")}
    assert to_wire == set(_TO_WIRE)


def test_common_values_are_on_the_fast_path() -> None:
    guti = ies.guti_identity(ies.Guti(Plmn("440", "20"), 0x8001, 1, 0xC0000001))
    for ref_fn, value in [
        (ies.eps_mobile_identity_to_wire, guti),
        (ies.eps_mobile_identity_to_wire, ies.imsi_identity("440100000000001")),
        (ies.mobile_identity_to_wire, ies.imeisv_identity("3534900698733190")),
        (ies.tai_list_to_wire, [ies.Tai(Plmn("440", "20"), 1)]),
        (ies.apn_to_wire, "internet.mnc010.mcc440.gprs"),
        (ies.apn_ambr_to_wire, {"downlink": 300, "uplink": 300}),
        (ies.universal_time_to_wire, {"time": datetime(2026, 12, 5, 6, 0, tzinfo=UTC),
                                      "time_zone": 36}),
    ]:
        got = fast.REPLACES[ref_fn](value)
        assert got == ref_fn(value)
        back = getattr(ies, ref_fn.__name__.replace("_to_wire", "_from_wire"))
        assert fast.REPLACES.get(back, back)(got) == back(got)


@settings(SETTINGS, max_examples=100)
@given(sht=st.integers(0, 16), mac=st.binary(min_size=3, max_size=5), sqn=st.integers(-1, 256),
       payload=st.binary(min_size=0, max_size=12))
def test_security_protected_header_same_bytes(sht: int, mac: bytes, sqn: int,
                                              payload: bytes) -> None:
    """TS 24.301 §9.1: security header type, PD, MAC, sequence number, NAS message."""
    with codec_level("pycrate"):
        ref_ok, want = _outcome(lambda _: nas.security_protected(sht, mac, sqn, payload), None)
    try:
        got: bytes | None = fast.security_protected(sht, mac, sqn, payload)
    except fast.Decline:
        got = None
    if got is not None:
        assert ref_ok and got == want
    if ref_ok and len(want) >= 8:
        with codec_level("pycrate"):
            parsed = nas._parse_protected(want)
        assert fast.parse_protected(want) == parsed
        assert parsed[0] == (want[0] >> 4) and parsed[2] == want[5]


def test_selection_reaches_the_fast_security_header() -> None:
    assert selection.codec_level() is selection.CodecLevel.FAST
    wire = nas.security_protected(2, b"\x01\x02\x03\x04", 7, b"\x07\x5d")
    assert wire == b"\x27\x01\x02\x03\x04\x07\x07\x5d"
    assert nas._parse_protected(wire + b"\x00") == (2, b"\x01\x02\x03\x04", 7, b"\x07\x5d\x00")


@pytest.mark.parametrize("text", ["10.45.0.1", "0.0.0.0", "255.255.255.255", "01.2.3.4",
                                  "1.2.3", "256.1.1.1", "1.2.3.4 ", "0x1.1.1.1", "1.2.3.4\x00"])
def test_pdn_address_ipv4_text_as_the_reference_or_declined(text: str) -> None:
    """TS 24.301 §9.9.4.9 PDN address: the IPv4 text the reference (ipaddress) takes is coded
    alike; any other text is declined, for the reference to refuse in its own words."""
    value = {"pdn_type": 1, "ipv4": text}
    try:
        expected: bytes | None = ies.pdn_address_to_wire(value)
    except Exception:
        expected = None
    try:
        got: bytes | None = fast.pdn_address_to_wire(value)
    except fast.Decline:
        got = None
    assert got == expected
    if expected is not None:
        assert fast.pdn_address_from_wire(expected) == ies.pdn_address_from_wire(expected)


def test_guti_plmns_shared_between_decoded_identities() -> None:
    """TS 24.301 §9.9.3.12: two GUTIs of one PLMN decode to one (immutable) Plmn object, as
    the reference's value would equal it."""
    first = ies.eps_mobile_identity_to_wire(ies.guti_identity(
        ies.Guti(Plmn("440", "20"), 0x8001, 1, 0xC0000001)))
    second = first[:-1] + b"\x02"
    a, b = fast.eps_mobile_identity_from_wire(first), fast.eps_mobile_identity_from_wire(second)
    assert a == ies.eps_mobile_identity_from_wire(first)
    assert a["value"].plmn is b["value"].plmn and a["value"] != b["value"]


@pytest.mark.parametrize("raw", [b"\x49\x04\x01\x00\x00\x00\x00\x10",  # IMSI, 15 digits
                                 b"\x33\x55\x66\x77\x88\x99\x00\x11\xf2",  # IMEISV, 16 digits
                                 b"\x33\x55\x66\x77\x88\x99\x00\x11\x02",  # no filler
                                 b"\x39\x5a\x66",  # a nibble above 9
                                 b"\x31\x55\x66\x77\x88\x99\x00\x11\x2f"])  # filler mid-way
def test_identity_digits_as_the_reference_or_declined(raw: bytes) -> None:
    """TS 24.008 §10.5.1.4: digit 1 in bits 5-8 of the first octet, then two digits an
    octet (bits 1-4 first), the filler 1111 after an even number of digits."""
    try:
        expected: Any = ies.mobile_identity_from_wire(raw)
    except Exception:
        expected = None
    try:
        got: Any = fast.mobile_identity_from_wire(raw)
    except fast.Decline:
        got = None
    assert got == expected


@pytest.mark.parametrize("length", range(6, 18))
def test_digit_identities_of_every_length_as_the_reference(length: int) -> None:
    """TS 24.008 §10.5.1.4 / TS 24.301 §9.9.3.12: digit 1 with the odd/even flag and the
    type, then the digits two to an octet (the first in bits 1-4), the filler 1111 after an
    even count: the fast conversions write the reference's octets for IMSI, IMEI and IMEISV
    of every length they take, and decline the others as the reference rejects them."""
    digits = "".join(str((7 * i + length) % 10) for i in range(length))
    for kind in ("imsi", "imei", "imeisv"):
        _same(ies.mobile_identity_to_wire, {"type": kind, "value": digits})
    for kind in ("imsi", "imei"):
        _same(ies.eps_mobile_identity_to_wire, {"type": kind, "value": digits})
    if length <= 15:  # an IMSI (TS 23.003 §2.2): on the fast path
        imsi = {"type": "imsi", "value": digits}
        assert fast.REPLACES[ies.mobile_identity_to_wire](imsi) \
            == ies.mobile_identity_to_wire(imsi)
