"""CBS decoders (TS 23.041 §9.3.24, §9.4.2.2) take any bytes: only DecodeError escapes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs import cbs
from corenet.core.errors import DecodeError


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1300), st.sampled_from([cbs.DCS_GSM7, cbs.DCS_UCS2, 0x00, 0x11, 0xFF]))
def test_warning_message_contents_decoder_raises_only_decode_error(data: bytes, dcs: int) -> None:
    try:
        text = cbs.decode_warning_message_contents(data, dcs)
    except DecodeError as exc:
        assert exc.protocol == "cbs"
    else:
        assert isinstance(text, str)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4))
def test_warning_type_decoder_raises_only_decode_error(data: bytes) -> None:
    try:
        value, alert, popup = cbs.parse_warning_type(data)
    except DecodeError:
        return
    assert 0 <= value < 128 and isinstance(alert, bool) and isinstance(popup, bool)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300))
def test_any_text_round_trips(text: str) -> None:
    try:
        data = cbs.warning_message_contents(text)
    except ValueError:
        return  # longer than 15 pages
    dcs = cbs.data_coding_scheme_for(text)
    assert cbs.decode_warning_message_contents(data, dcs).rstrip("\r") == text.rstrip("\r")
