"""PLMN identities (TS 23.003 §2.2, TS 24.008 §10.5.1.13): text and octets, parsed once."""

from __future__ import annotations

import pytest

from corenet.core import plmn as p
from corenet.core.plmn import Plmn


@pytest.mark.parametrize("text, mcc, mnc, octets", [
    ("44010", "440", "10", "44f001"), ("440-10", "440", "10", "44f001"),
    ("310410", "310", "410", "130014"), ("001/01", "001", "01", "00f110"),
])
def test_text_and_octets_either_way(text: str, mcc: str, mnc: str, octets: str) -> None:
    plmn = Plmn.parse(text)
    assert (plmn.mcc, plmn.mnc) == (mcc, mnc)
    assert plmn.to_bytes().hex() == octets
    assert Plmn.from_bytes(bytes.fromhex(octets)) == plmn
    assert Plmn(mcc, mnc).to_bytes().hex() == octets  # built directly: packed on first use


def test_the_same_text_or_octets_give_the_one_shared_instance() -> None:
    assert Plmn.parse("44020") is Plmn.parse("44020")
    assert Plmn.from_bytes(b"\x44\xf0\x02") is Plmn.from_bytes(bytearray(b"\x44\xf0\x02"))
    # the packed octets are a cache, not a field: equality, order and hash are the fields'
    built = Plmn("440", "20")
    built.to_bytes()
    assert built == Plmn.parse("44020") and hash(built) == hash(Plmn("440", "20"))
    assert repr(built) == "Plmn(mcc='440', mnc='20')"


@pytest.mark.parametrize("text", ["4401", "44a10", "4401000"])
def test_an_invalid_text_raises_every_time_and_is_never_kept(text: str) -> None:
    for _ in range(2):
        with pytest.raises(ValueError):
            Plmn.parse(text)
    assert text not in p._PARSED


def test_octets_with_a_non_digit_are_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError):
            Plmn.from_bytes(b"\x4a\xf0\x01")  # MCC digit 0xA
    assert b"\x4a\xf0\x01" not in p._DECODED


def test_a_peer_sending_many_distinct_plmns_does_not_grow_the_tables() -> None:
    for i in range(3 * p._KEPT):
        Plmn.from_bytes(bytes((i & 0x99, 0xF0 | (i >> 8 & 0x9), 0x10)))
        Plmn.parse(f"{i % 1000:03d}{i // 1000:02d}")
    assert len(p._DECODED) <= p._KEPT and len(p._PARSED) <= p._KEPT
