"""Encode templates of the UE's NAS messages of an attach (corenet.codecs.fast.nas
`_SpliceTemplate`, through the builders of corenet.codecs.nas): the bytes of the full fast
encoder and of pycrate for every UE's values."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corenet.codecs import nas
from corenet.codecs.base import Message
from corenet.codecs.fast import nas as fast_nas
from corenet.core.errors import EncodeError
from corenet.core.plmn import Plmn
from tests.unit.codecs.fast.parity import codec_level

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
PLMN = Plmn("440", "10")
digits = st.text("0123456789", min_size=1, max_size=1)


def _full(name: str, fields: dict[str, Any]) -> bytes:
    """The full fast encoder's bytes, checked against pycrate's."""
    msg = Message(nas.PROTOCOL, name, nas._BY_NAME[name].code, fields)
    got = fast_nas.encode(msg)
    assert got is not None and got == nas.encode_pycrate(msg)
    return got


@st.composite
def attach_requests(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(builder arguments, the message's fields) of one UE's Attach Request."""
    if draw(st.booleans()):
        imsi = "".join(draw(st.lists(digits, min_size=6, max_size=15)))
        who: dict[str, Any] = {"imsi": imsi}
        identity = nas.imsi_identity(imsi)
    else:
        guti = nas.Guti(PLMN, draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 255)),
                        draw(st.integers(0, 0xFFFFFFFF)))
        who, identity = {"guti": guti}, nas.guti_identity(guti)
    esm = nas.pdn_connectivity_request(
        pti=draw(st.integers(1, 254)), apn=draw(st.sampled_from([None, "internet", "ims"])),
        pco=draw(st.none() | st.binary(min_size=1, max_size=40)))
    voice = draw(st.sampled_from([None, b"\x01", b"\x03"]))
    args = {**who, "ksi": draw(st.sampled_from([1, 7])), "esm_container": esm,
            "drx": b"\x00\x00", "voice_domain_preference": voice,
            "last_visited_tai": draw(st.sampled_from([None, nas.Tai(PLMN, 0x0102)]))}
    fields = nas._put({"eps_attach_type": 1, nas.KSI: args["ksi"], "eps_mobile_identity": identity,
                       "ue_network_capability": nas.ue_network_capability(),
                       nas.ESM_CONTAINER: esm, "drx_parameter": b"\x00\x00"},
                      voice_domain_preference_and_ues_usage_setting=voice,
                      last_visited_registered_tai=args["last_visited_tai"])
    return args, fields


@SETTINGS
@given(attach_requests())
def test_attach_request_from_a_template_is_the_full_encoders(
        case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    args, fields = case
    assert nas.attach_request(**args) == _full("AttachRequest", fields)
    assert any(nas._ATTACH_REQUESTS._encoders.values())


@SETTINGS
@given(st.binary(min_size=4, max_size=16))
def test_authentication_response_from_a_template_is_the_full_encoders(res: bytes) -> None:
    assert nas.authentication_response(res) == _full(
        "AuthenticationResponse", {"authentication_response_parameter": res})
    assert nas._AUTHENTICATION_RESPONSES._encoders[()]


@SETTINGS
@given(st.lists(digits, min_size=16, max_size=16).map("".join))
def test_security_mode_complete_from_a_template_is_the_full_encoders(imeisv: str) -> None:
    assert nas.security_mode_complete(imeisv) == _full(
        "SecurityModeComplete", {"imeisv": nas.imeisv_identity(imeisv)})
    assert nas._SECURITY_MODE_COMPLETES._encoders[()]


def test_security_mode_complete_without_imeisv_encoded_in_full() -> None:
    assert nas.security_mode_complete() == _full("SecurityModeComplete", {})


@pytest.mark.parametrize("res", [b"", bytes(300)])
def test_a_value_the_template_cannot_write_is_refused_as_in_full(res: bytes) -> None:
    """TS 24.301 §9.9.3.4: RES is 4 to 16 octets; what the full path refuses is refused."""
    template = fast_nas.template("AuthenticationResponse", {})
    assert template is not None
    full = fast_nas.encode(Message(nas.PROTOCOL, "AuthenticationResponse", 0x53,
                                   {"authentication_response_parameter": res}))
    assert template({"authentication_response_parameter": res}) == full
    with codec_level("pycrate"):
        ref = _refused_or(nas.authentication_response, res)
    assert _refused_or(nas.authentication_response, res) == ref


def _refused_or(build: Any, *args: Any) -> bytes | None:
    """The bytes built, or None when refused (EncodeError)."""
    try:
        return build(*args)  # type: ignore[no-any-return]
    except EncodeError:
        return None


def test_the_pycrate_level_takes_no_template() -> None:
    esm = nas.pdn_connectivity_request(pti=3, apn="internet")
    with codec_level("pycrate"):
        assert nas._ATTACH_REQUESTS.encode({}, {}) is None
        data = nas.attach_request(imsi="440100123456789", esm_container=esm)
    assert data == nas.attach_request(imsi="440100123456789", esm_container=esm)
