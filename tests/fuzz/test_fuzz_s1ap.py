"""S1AP decoder fuzzing: random bytes and mutated valid PDUs raise only DecodeError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs import s1ap
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn

PLMN = Plmn("440", "20")
SEEDS = [
    s1ap.encode(m)
    for m in (
        s1ap.s1_setup_request(0x12345, "enb", PLMN, [1, 2]),
        s1ap.s1_setup_response("mme", [PLMN], 1, 2, 3),
        s1ap.initial_ue_message(7, b"\x07\x41\x71", PLMN, 1, PLMN, 0x1234567, s_tmsi=(1, 2)),
        s1ap.uplink_nas_transport(1, 2, b"\x07\x60\x6f", PLMN, 1, PLMN, 5),
        s1ap.initial_context_setup_request(
            1, 2, 10**8, 10**7,
            [s1ap.ERabToBeSetup(5, 9, 1, "192.0.2.1", 0x1234, b"\x27")],
            0xE000, 0xC000, bytes(32)),
        s1ap.initial_context_setup_response(1, 2, [(5, "192.0.2.2", 7)]),
        s1ap.ue_context_release_command(1, 2, ("nas", "normal-release")),
        s1ap.reset(("misc", "unspecified"), [(1, 2), (None, 3)]),
        s1ap.error_indication(("protocol", "semantic-error"), 1, 2),
        s1ap.write_replace_warning_request(0x1100, 0x3000, 10, 1, b"\x01\x80", b"\x01" + bytes(83),
                                           0x48, warning_area_cells=[(PLMN, 1)]),
    )
]


def check(data: bytes) -> None:
    try:
        msg = s1ap.decode(data)
    except DecodeError as err:
        assert err.protocol == "s1ap"
        assert isinstance(err.cause, tuple) and err.cause[0] == "protocol"
        return
    assert msg.protocol == "s1ap"
    assert isinstance(msg.fields, dict)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    check(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SEEDS), st.data())
def test_flip_bytes(seed: bytes, data: st.DataObject) -> None:
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] ^= data.draw(st.integers(1, 255))
    check(bytes(buf))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SEEDS), st.data())
def test_truncate_and_insert(seed: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(seed)))
    check(seed[:cut])
    pos = data.draw(st.integers(0, len(seed)))
    extra = data.draw(st.binary(min_size=1, max_size=8))
    check(seed[:pos] + extra + seed[pos:])


def test_seeds_decode() -> None:
    for seed in SEEDS:
        assert s1ap.encode(s1ap.decode(seed)) == seed
