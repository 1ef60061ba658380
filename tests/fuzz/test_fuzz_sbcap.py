"""SBc-AP (TS 29.168) and the RRC warning SIBs take any bytes: only DecodeError escapes, and
every error has an answer (Error Indication or a response with a Cause) that encodes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs import cbs, sbcap
from corenet.core.errors import DecodeError
from sim_ue import pws

_SEED = sbcap.encode(sbcap.write_replace_warning_request(
    0x1102, 0x3001, 10, 3, sbcap.warning_area(tais=[("44020", 1)]), cbs.warning_type(2),
    cbs.DCS_UCS2, cbs.warning_message_contents("津波"), send_indication=True,
    tais=[("44020", 1)]))


def _check(data: bytes) -> None:
    try:
        msg = sbcap.decode(data)
    except DecodeError as exc:
        assert exc.protocol == "sbcap" and exc.cause in sbcap.CAUSES
        answer = sbcap.answer_for(exc)
        if answer is not None:
            assert sbcap.decode(sbcap.encode(answer)).name == answer.name
    else:
        assert sbcap.decode(sbcap.encode(msg)) == msg


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_SEED) - 1), st.integers(0, 255), st.integers(0, len(_SEED)))
def test_mutated_write_replace_warning_request(pos: int, value: int, cut: int) -> None:
    data = bytearray(_SEED)
    data[pos] = value
    _check(bytes(data[:max(cut, 1)]))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_bcch_decoder_raises_only_decode_error(data: bytes) -> None:
    try:
        pws.decode_bcch(data)
    except DecodeError as exc:
        assert exc.protocol == "rrc"
