"""Protocol configuration options (TS 24.008 §10.5.6.3): what `corenet.codecs.pco` reads and
builds is pycrate's reading, however often the same PCO comes by."""

from __future__ import annotations

import pytest

from corenet.codecs import pco

# isort: split
from pycrate_mobile.TS24008_SM import ProtConfig

ANSWER = bytes.fromhex("80" "000c04" "7f000010" "000110" "20010db8" + "00" * 11 + "01")


def _pycrate(raw: bytes) -> list[tuple[int, bytes]]:
    ie = ProtConfig()
    ie.from_bytes(raw)
    return [(int(cid), bytes(cont)) for cid, _length, cont in ie["Config"].get_val()]


def test_request_is_pycrates_encoding_every_time() -> None:
    want = ProtConfig(val={"Config": [{"ID": pco.PCSCF_IPV4}, {"ID": pco.DNS_IPV4}]}).to_bytes()
    assert [pco.request(pco.PCSCF_IPV4, pco.DNS_IPV4) for _ in range(3)] == [want] * 3
    assert pco.request(pco.PCSCF_IPV4) == bytes.fromhex("80000c00")


def test_the_same_pco_read_again_gives_the_same_fresh_list() -> None:
    first = pco.containers(ANSWER)
    assert first == _pycrate(ANSWER) == [(pco.PCSCF_IPV4, bytes.fromhex("7f000010")),
                                         (pco.PCSCF_IPV6, bytes.fromhex("20010db8" + "00" * 11
                                                                        + "01"))]
    first.clear()  # a caller's list is its own
    assert pco.containers(bytearray(ANSWER)) == _pycrate(ANSWER)
    addresses = pco.pcscf_addresses(ANSWER)
    assert addresses == ["127.0.0.16", "2001:db8::1"]
    addresses.append("x")
    assert pco.pcscf_addresses(ANSWER) == ["127.0.0.16", "2001:db8::1"]


@pytest.mark.parametrize("raw", [b"", None, bytes.fromhex("80000c0501"), b"\x80\x00"])
def test_empty_or_unreadable_pcos_give_what_pycrate_reads(raw: bytes | None) -> None:
    for _ in range(2):
        got = pco.containers(raw)
        if raw:
            try:
                want = _pycrate(raw)
            except Exception:  # noqa: BLE001 - pycrate's own rejection
                want = []
            assert got == want
        else:
            assert got == []
        assert pco.pcscf_addresses(raw) == []


def test_a_population_s_pco_is_read_by_pycrate_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each UE of a population gets the same answer: pycrate reads it once, not per attach."""
    reads: list[bytes] = []

    class Counted(ProtConfig):  # type: ignore[misc]
        def from_bytes(self, raw: bytes) -> None:
            reads.append(raw)
            super().from_bytes(raw)

    monkeypatch.setattr(pco, "ProtConfig", Counted)
    answer = bytes.fromhex("80" "000c04" "7f000063")
    for _ in range(100):
        assert pco.pcscf_addresses(answer) == ["127.0.0.99"]
    assert reads == [answer]
