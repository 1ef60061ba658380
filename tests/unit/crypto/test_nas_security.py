"""NAS COUNT handling (TS 24.301 §4.4.3) and the NAS security context (§4.4.4, §4.4.5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.crypto.eia_eea import UnsupportedAlgorithm, eea2, eia2
from corenet.crypto.kdf import nas_keys
from corenet.crypto.nas_security import (
    DOWNLINK,
    NAS_BEARER,
    UPLINK,
    NasCount,
    NasSecurityContext,
)

# KASME and its EIA2/EEA2 NAS keys from OpenAirInterface openair-cn TEST/test_secu_knas.c
KASME = bytes.fromhex("70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C")
K_NAS_ENC_EEA2 = bytes.fromhex("1CF7897F31D6270C19C4836070FE11F0")
K_NAS_INT_EIA2 = bytes.fromhex("1A4329FD23FD3A93C9D2D92D853EC9DB")


def test_count_layout_and_increment() -> None:
    c = NasCount()
    assert (c.value, c.overflow, c.sqn) == (0, 0, 0)
    for _ in range(257):
        c.increment()
    assert (c.value, c.overflow, c.sqn) == (257, 1, 1)
    assert NasCount(0x1234AB).overflow == 0x1234
    assert NasCount(0x1234AB).sqn == 0xAB
    with pytest.raises(ValueError):
        NasCount(1 << 24)


def test_count_exhaustion_raises() -> None:
    c = NasCount((1 << 24) - 1)
    with pytest.raises(OverflowError):
        c.increment()


def test_estimate_first_message_and_in_order() -> None:
    rx = NasCount()
    assert rx.estimate(0) == 0
    assert rx.accept(0)
    assert rx.estimate(1) == 1
    assert rx.accept(1)
    assert rx.value == 1


def test_estimate_overflow_when_sqn_wraps() -> None:
    """§4.4.3.1: an SQN lower than the last one means the overflow counter advanced."""
    rx = NasCount()
    assert rx.accept(0x0000FE)
    assert rx.estimate(0xFF) == 0x0000FF
    assert rx.accept(0x0000FF)
    est = rx.estimate(0x00)
    assert est == 0x000100
    assert rx.accept(est)
    assert (rx.overflow, rx.sqn) == (1, 0)
    assert rx.estimate(0x05) == 0x000105


def test_replay_is_refused() -> None:
    """§4.4.3.2: a NAS COUNT value is accepted once only."""
    rx = NasCount()
    assert rx.accept(7)
    assert rx.estimate(7) == 7
    assert not rx.accept(7)
    assert not rx.accept(6)
    assert rx.value == 7
    assert not rx.accept(1 << 24)
    with pytest.raises(ValueError):
        rx.estimate(256)


def test_context_keys_from_kasme() -> None:
    ctx = NasSecurityContext.from_kasme(ksi=3, kasme=KASME, eia=2, eea=2)
    assert (ctx.k_nas_enc, ctx.k_nas_int) == (K_NAS_ENC_EEA2, K_NAS_INT_EIA2)
    assert (ctx.k_nas_enc, ctx.k_nas_int) == nas_keys(KASME, 2, 2)
    assert (ctx.ksi, ctx.eia, ctx.eea) == (3, 2, 2)
    assert ctx.ul_count.value == 0 and ctx.dl_count.value == 0
    assert ctx.ul_count is not ctx.dl_count
    assert ctx.count_for(UPLINK) is ctx.ul_count and ctx.count_for(DOWNLINK) is ctx.dl_count


def test_mac_uses_nas_bearer_and_count() -> None:
    """NAS-MAC over SQN || message with BEARER 0 and COUNT = 0x00 || NAS COUNT."""
    ctx = NasSecurityContext.from_kasme(0, KASME, eia=2, eea=0)
    data = bytes([0x05]) + bytes.fromhex("075d020005e0e0")  # SQN 5 || Security Mode Command
    mac = ctx.mac(DOWNLINK, 5, data)
    assert NAS_BEARER == 0
    assert mac == eia2(K_NAS_INT_EIA2, 5, 0, DOWNLINK, data)
    assert mac != ctx.mac(UPLINK, 5, data)
    assert mac != ctx.mac(DOWNLINK, 0x105, data)
    with pytest.raises(ValueError):
        ctx.mac(DOWNLINK, 1 << 24, data)


def test_null_integrity_context() -> None:
    ctx = NasSecurityContext.from_kasme(0, KASME, eia=0, eea=0)
    assert ctx.mac(UPLINK, 9, b"\x09\x07\x41") == b"\x00" * 4
    assert ctx.encrypt(UPLINK, 9, b"\x07\x41") == b"\x07\x41"


def test_encrypt_decrypt() -> None:
    ctx = NasSecurityContext.from_kasme(1, KASME, eia=2, eea=2)
    plain = bytes.fromhex("0742" + "00" * 30)
    ct = ctx.encrypt(DOWNLINK, 3, plain)
    assert ct == eea2(K_NAS_ENC_EEA2, 3, 0, DOWNLINK, plain)
    assert ct != plain and len(ct) == len(plain)
    assert ctx.decrypt(DOWNLINK, 3, ct) == plain
    assert ctx.decrypt(UPLINK, 3, ct) != plain


def test_unsupported_algorithm() -> None:
    ctx = NasSecurityContext.from_kasme(0, KASME, eia=7, eea=7)
    with pytest.raises(UnsupportedAlgorithm):
        ctx.mac(UPLINK, 0, b"\x00")
    with pytest.raises(UnsupportedAlgorithm):
        ctx.encrypt(UPLINK, 0, b"\x00")


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, (1 << 24) - 800), steps=st.integers(1, 255))
def test_receiver_tracks_sender(start: int, steps: int) -> None:
    """A receiver seeing consecutive SQNs (gaps below 256) recovers every full NAS COUNT."""
    tx, rx = NasCount(start), NasCount()
    assert rx.accept(start)
    for _ in range(3):
        for _ in range(steps):
            tx.increment()
        est = rx.estimate(tx.sqn)
        assert est == tx.value
        assert rx.accept(est)


def test_seal_ciphers_then_macs_sqn_and_message_and_counts() -> None:
    """TS 24.301 §4.4.5 then §4.4.3.3: the message ciphered with the direction's NAS COUNT,
    the MAC over SQN || ciphered message; the count incremented afterwards (§4.4.3.1)."""
    ctx = NasSecurityContext.from_kasme(1, KASME, eia=2, eea=2)
    ctx.dl_count = NasCount(0x105)
    plain = bytes.fromhex("0742" + "00" * 30)
    sqn, mac, payload = ctx.seal(DOWNLINK, True, plain)
    assert sqn == 0x05 and payload == eea2(K_NAS_ENC_EEA2, 0x105, 0, DOWNLINK, plain)
    assert mac == eia2(K_NAS_INT_EIA2, 0x105, 0, DOWNLINK, b"\x05" + payload)
    assert ctx.dl_count.value == 0x106 and ctx.ul_count.value == 0
    sqn, mac, payload = ctx.seal(UPLINK, False, plain)  # integrity only, the uplink count
    assert (sqn, payload) == (0, plain)
    assert mac == eia2(K_NAS_INT_EIA2, 0, 0, UPLINK, b"\x00" + plain)
    assert ctx.ul_count.value == 1


def test_open_deciphers_checks_the_mac_and_refuses_a_replay() -> None:
    """TS 24.301 §4.4.3.2: a message is accepted once; a wrong MAC is reported, not raised,
    and leaves the receiver's count as it was."""
    tx = NasSecurityContext.from_kasme(1, KASME, eia=2, eea=2)
    rx = NasSecurityContext.from_kasme(1, KASME, eia=2, eea=2)
    plain = bytes.fromhex("0743" + "11" * 12)
    sqn, mac, payload = tx.seal(UPLINK, True, plain)
    bad = bytes((mac[0] ^ 1,)) + mac[1:]
    assert rx.open(UPLINK, True, bad, sqn, payload) == (plain, False)
    assert rx.open(UPLINK, True, mac, sqn, payload) == (plain, True)
    assert rx.ul_count.value == 0 and rx.open(UPLINK, True, mac, sqn, payload) == (plain, False)
    sqn, mac, payload = tx.seal(UPLINK, False, plain)
    assert rx.open(UPLINK, False, mac, sqn, payload) == (plain, True)
    assert rx.ul_count.value == 1 and rx.dl_count.value == 0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(count=st.integers(0, (1 << 24) - 2), direction=st.sampled_from([UPLINK, DOWNLINK]),
       plain=st.binary(max_size=600), ciphered=st.booleans())
def test_seal_and_open_give_the_checked_algorithms_output(
        count: int, direction: int, plain: bytes, ciphered: bool) -> None:
    """The context's own 128-EIA2/128-EEA2 calls (no parameter checks, TS 33.401 §8.1.1,
    §8.2: BEARER 0) give what the checked `eia2`/`eea2` give, for any 24-bit NAS COUNT,
    either direction, and messages of no block up to past the 32 blocks kept ramped."""
    tx = NasSecurityContext.from_kasme(1, KASME, eia=2, eea=2)
    tx.dl_count = NasCount(count) if direction == DOWNLINK else tx.dl_count
    tx.ul_count = NasCount(count) if direction == UPLINK else tx.ul_count
    sqn, mac, payload = tx.seal(direction, ciphered, plain)
    expected = eea2(K_NAS_ENC_EEA2, count, NAS_BEARER, direction, plain) if ciphered else plain
    assert payload == expected
    assert mac == eia2(K_NAS_INT_EIA2, count, NAS_BEARER, direction, bytes((sqn,)) + payload)
    rx = NasSecurityContext.from_kasme(1, KASME, eia=2, eea=2)
    rx.count_for(direction)._value = count & ~0xFF
    assert rx.open(direction, ciphered, mac, sqn, payload) == (plain, True)


def test_a_key_of_the_wrong_length_is_refused_not_used() -> None:
    """TS 33.401 B.1.1 / B.2.1: KEY is 128 bits. A context given a 256-bit key does not run
    AES-256 on the messages: the checked algorithms refuse it."""
    ctx = NasSecurityContext(ksi=1, kasme=KASME, eia=2, eea=2, k_nas_int=KASME,
                             k_nas_enc=K_NAS_ENC_EEA2)
    with pytest.raises(ValueError, match="KEY is 16 octets"):
        ctx.seal(DOWNLINK, False, b"\x07\x5d")
    ctx = NasSecurityContext(ksi=1, kasme=KASME, eia=2, eea=2, k_nas_int=K_NAS_INT_EIA2,
                             k_nas_enc=KASME)
    with pytest.raises(ValueError, match="KEY is 16 octets"):
        ctx.seal(DOWNLINK, True, b"\x07\x5d")
