"""CBS warning contents (TS 23.041, TS 23.038)."""

from __future__ import annotations

import pytest
from pycrate_mobile.TS23038 import encode_7b

from corenet.codecs import cbs
from corenet.core.errors import DecodeError

JAPANESE = "緊急地震速報 強い揺れに備えてください（気象庁）"


def test_message_identifiers() -> None:
    # TS 23.041 §9.4.1.2.2
    assert cbs.ETWS_EARTHQUAKE == 0x1100
    assert cbs.ETWS_TSUNAMI == 0x1101
    assert cbs.ETWS_EARTHQUAKE_AND_TSUNAMI == 0x1102
    assert cbs.ETWS_TEST == 0x1103
    assert cbs.ETWS_OTHER == 0x1104
    assert cbs.CMAS_PRESIDENTIAL == 0x1112
    assert cbs.MessageIdentifier.CMAS_OPERATOR_DEFINED == 0x111E


def test_serial_number() -> None:
    sn = cbs.serial_number(cbs.GeographicalScope.CELL_WIDE_IMMEDIATE, 0x3FF, 0xF)
    assert sn == 0x3FFF
    assert cbs.serial_number(3, 1, 2) == 0xC012
    assert cbs.parse_serial_number(0xC012) == (3, 1, 2)
    with pytest.raises(ValueError):
        cbs.serial_number(4, 0, 0)
    with pytest.raises(ValueError):
        cbs.serial_number(0, 1024, 0)


def test_warning_type() -> None:
    assert cbs.warning_type(cbs.WarningTypeValue.EARTHQUAKE) == b"\x01\x80"
    assert cbs.warning_type(cbs.WarningTypeValue.TSUNAMI, False, True) == b"\x02\x80"
    assert cbs.warning_type(cbs.WarningTypeValue.TEST, False, False) == b"\x06\x00"
    assert cbs.parse_warning_type(b"\x05\x80") == (2, True, True)
    with pytest.raises(DecodeError):
        cbs.parse_warning_type(b"\x01")


def test_gsm7_packing() -> None:
    # TS 23.038 §6.1.2.1.1: the classic "hellohello" example.
    septets = [cbs._GSM7.index(c) for c in "hellohello"]
    assert cbs.pack_gsm7(septets).hex() == "e8329bfd4697d9ec37"
    for text in ("Earthquake!", "abcdefg", "{[~]}€", "x" * 93):
        packed = cbs.pack_gsm7([s for c in cbs._septets(text) for s in c])
        assert packed == encode_7b(text)[0]


def test_seven_spare_bits_carry_cr() -> None:
    # TS 23.038 §6.1.2.3.1: 7 characters leave 7 spare bits, filled with <CR>.
    packed = cbs.pack_gsm7([cbs._GSM7.index(c) for c in "abcdefg"])
    assert len(packed) == 7 and packed[-1] >> 1 == 0x0D
    assert cbs.unpack_gsm7(packed) == [cbs._GSM7.index(c) for c in "abcdefg"]


def test_dcs_choice() -> None:
    assert cbs.data_coding_scheme_for("Tsunami warning") == cbs.DCS_GSM7 == 0x0F
    assert cbs.data_coding_scheme_for(JAPANESE) == cbs.DCS_UCS2 == 0x48


def test_gsm7_one_page() -> None:
    data = cbs.warning_message_contents("Earthquake")
    assert len(data) == 1 + 83
    assert data[0] == 1
    assert data[83] == 9  # 10 septets -> 9 octets
    assert cbs.decode_warning_message_contents(data, 0x0F) == "Earthquake"


def test_gsm7_page_boundary() -> None:
    assert cbs.warning_message_contents("a" * 93)[0] == 1
    two = cbs.warning_message_contents("a" * 94)
    assert two[0] == 2 and len(two) == 1 + 2 * 83
    assert two[83] == 82 and two[166] == 1
    assert cbs.decode_warning_message_contents(two) == "a" * 94


def test_escape_pair_stays_on_one_page() -> None:
    text = "a" * 92 + "€"
    data = cbs.warning_message_contents(text)
    assert data[0] == 2
    assert cbs.decode_warning_message_contents(data) == text


def test_ucs2_japanese() -> None:
    data = cbs.warning_message_contents(JAPANESE)
    assert data[0] == 1
    assert data[83] == 2 * len(JAPANESE)
    assert data[1:3] == "緊".encode("utf-16-be")
    assert cbs.decode_warning_message_contents(data, cbs.DCS_UCS2) == JAPANESE


def test_ucs2_pages() -> None:
    text = "地" * 45
    data = cbs.warning_message_contents(text, cbs.DCS_UCS2)
    assert data[0] == 2 and data[83] == 82 and data[166] == 8
    assert cbs.decode_warning_message_contents(data, cbs.DCS_UCS2) == text


@pytest.mark.parametrize("text", ["", "@", "abc@", "a\rb", "Test 123 ÄÖÑÜ§¿"])
def test_gsm7_round_trip(text: str) -> None:
    data = cbs.warning_message_contents(text)
    assert cbs.decode_warning_message_contents(data) == text


def test_too_long() -> None:
    with pytest.raises(ValueError):
        cbs.warning_message_contents("a" * (93 * 15 + 1))
    with pytest.raises(ValueError):
        cbs.warning_message_contents(JAPANESE, cbs.DCS_GSM7)
    with pytest.raises(ValueError):
        cbs.warning_message_contents("abc", 0xF4)  # 8-bit data


@pytest.mark.parametrize(("data", "dcs"), [
    (b"", 0x0F),
    (b"\x00", 0x0F),
    (b"\x01" + bytes(82), 0x0F),
    (b"\x10" + bytes(83 * 16), 0x0F),
    (b"\x01" + bytes(82) + b"\x53", 0x0F),
    (b"\x01" + bytes(83), 0xF4),
    (b"\x01" + b"\xd8\x00" + bytes(80) + b"\x02", 0x48),  # lone surrogate
])
def test_decode_errors(data: bytes, dcs: int) -> None:
    with pytest.raises(DecodeError) as info:
        cbs.decode_warning_message_contents(data, dcs)
    assert info.value.protocol == "cbs"
