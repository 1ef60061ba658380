"""The fast NAS codec (TS 24.301 §8, TS 24.007 §11.2 formats) against the pycrate path."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from corenet.codecs import nas
from corenet.codecs.base import Message
from corenet.codecs.fast import nas as fast_nas
from corenet.codecs.selection import fast_path
from corenet.core.errors import EncodeError
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import DOWNLINK, UPLINK
from tests.unit.codecs.fast import parity
from tests.unit.codecs.fast.parity import (
    NAS_SAMPLES,
    NAS_WIRE,
    check_nas_decode,
    check_nas_encode,
    mutated_bytes,
    nas_message,
)

KEYS = sorted(NAS_SAMPLES)
SETTINGS = settings(phases=[Phase.explicit, Phase.generate, Phase.shrink], max_examples=40,
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("key", KEYS)
def test_sample_is_on_the_fast_path_and_identical(key: str) -> None:
    msg = NAS_SAMPLES[key]
    data = check_nas_encode(msg)
    assert data is not None and data == nas.encode_pycrate(msg)


@pytest.mark.parametrize("key", KEYS)
def test_sample_decodes_on_the_fast_path(key: str) -> None:
    msg, data, direction = NAS_WIRE[key]
    got = check_nas_decode(data, direction)
    # §8.2.11: the Detach Request's two forms are told apart by direction, as pycrate does
    assert got is not None and repr(got) == repr(msg)


@pytest.mark.parametrize("key", KEYS)
@SETTINGS
@given(data=st.data())
def test_generated_messages_encode_and_decode_identically(key: str, data: st.DataObject) -> None:
    msg = data.draw(nas_message(key, valid=data.draw(st.booleans())))
    check_nas_encode(msg)
    try:
        wire = nas.encode_pycrate(msg)
    except Exception:
        return
    direction = NAS_WIRE[key][2]
    check_nas_decode(wire, direction)
    check_nas_decode(wire, DOWNLINK if direction == UPLINK else UPLINK)


@pytest.mark.parametrize("key", KEYS)
@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_mutated_bytes_same_accept_reject_and_cause(key: str, data: st.DataObject) -> None:
    _, wire, direction = NAS_WIRE[key]
    check_nas_decode(data.draw(mutated_bytes(wire)), direction)


@SETTINGS
@given(head=st.sampled_from([b"\x07", b"\x02", b"\x52\x01"]), code=st.integers(0, 255),
       body=st.binary(max_size=40), direction=st.sampled_from([UPLINK, DOWNLINK, None]))
def test_random_bytes_same_accept_reject_and_cause(head: bytes, code: int, body: bytes,
                                                   direction: int | None) -> None:
    check_nas_decode(head + bytes((code,)) + body, direction)


def test_attach_request_half_octets_and_optional_order() -> None:
    """TS 24.301 §8.2.4: NAS key set identifier in bits 5-8 and EPS attach type in bits 1-4 of
    one octet; the optional IEs follow in the order of Table 8.2.4.1 whatever the field order."""
    msg = NAS_SAMPLES["AttachRequest"]
    fields = {"drx_parameter": b"\x00\x00", **msg.fields, "nas_key_set_identifier": 3,
              "eps_attach_type": 6, "ue_additional_security_capability": b"\xf0\xf0\x00\x00"}
    data = fast_nas.encode(Message("nas", msg.name, msg.code, fields))
    assert data is not None and data[2] == 0x36
    again = nas.decode(data, direction=0)
    assert again.fields["nas_key_set_identifier"] == 3 and again.fields["eps_attach_type"] == 6
    assert again.fields["drx_parameter"] == b"\x00\x00"
    assert data.index(b"\x5c\x00\x00") < data.index(b"\x6f\x04\xf0\xf0")  # DRX (0x5C) before 0x6F


def test_values_pycrate_refuses_are_declined() -> None:
    """A half octet above 15 is a local error from the pycrate path; the fast path declines."""
    msg = NAS_SAMPLES["IdentityRequest"]
    bad = Message("nas", msg.name, msg.code, {**msg.fields, "identity_type": 16})
    assert fast_nas.encode(bad) is None
    with pytest.raises(EncodeError):
        nas.encode(bad)


def test_decode_plan_matches_type1_iei_by_its_half_octet_and_declines_a_repeated_ie() -> None:
    """TS 24.007 §11.2.4: a type 1 optional IE is found by bits 5-8 of its octet; an optional
    IE met twice is left to the reference (§7.6.3: it decides what is kept)."""
    msg = NAS_SAMPLES["AttachRequest"]
    data = nas.encode(Message("nas", msg.name, msg.code, {**msg.fields, "tmsi_status": 1}))
    assert b"\x91" in data  # TMSI status: IEI 9 in bits 5-8, the value in bits 1-4
    got = fast_nas.decode_plain(data, UPLINK)
    assert got is not None and got.fields["tmsi_status"] == 1
    assert got == nas.decode(data, direction=UPLINK)
    assert fast_nas.decode_plain(data + b"\x90", UPLINK) is None  # TMSI status again
    plan = fast_nas._dec_plan(nas.PD_EMM, msg.code, False)
    assert plan is fast_nas._dec_plan(nas.PD_EMM, msg.code, False)  # compiled once


def test_encode_plan_compiled_once_per_message_and_identical_to_pycrate() -> None:
    """TS 24.301 §8.2.2 / §8.3.6: Attach Complete carrying Activate Default EPS Bearer
    Context Accept, written from the message's plan (elements in pycrate's class order)."""
    accept = nas.activate_default_eps_bearer_context_accept(ebi=5)
    msg = nas.decode(nas.attach_complete(accept), direction=UPLINK)
    assert fast_nas.encode(msg) == nas.encode_pycrate(msg)
    spec = nas._BY_NAME["AttachComplete"]
    assert fast_nas._enc_plan(spec) is fast_nas._enc_plan(spec)
    missing = Message("nas", msg.name, msg.code, {})
    assert fast_nas.encode(missing) is None  # the mandatory ESM message container
    with pytest.raises(EncodeError):
        nas.encode(missing)


def _encoded_or_error(fn: Callable[[], bytes]) -> object:
    try:
        return fn()
    except EncodeError as exc:
        return ("EncodeError", type(exc))


_PLMNS = st.sampled_from([Plmn("440", "20"), Plmn("440", "10"), Plmn("310", "410")])


@settings(SETTINGS, max_examples=150)
@given(tais=st.lists(st.builds(nas.Tai, _PLMNS, st.integers(0, 0xFFFF)), min_size=1,
                     max_size=17),
       t3412=st.sampled_from([None, 0, 54, 3240, 11160, 186000]),
       numbers=st.sampled_from([None, [], [nas.EmergencyNumber("110", ("police",))],
                                [nas.EmergencyNumber("110", ("police",)),
                                 nas.EmergencyNumber("119", ("fire", "ambulance"))]]),
       features=st.sampled_from([None, {"ims_vops": 1, "emc_bs": 1}, {"ims_vops": 0}]),
       esm=st.binary(min_size=0, max_size=300),
       guti=st.builds(nas.Guti, _PLMNS, st.integers(0, 0x10000), st.integers(0, 0x100),
                      st.integers(0, 2**32)),
       level=st.sampled_from(["fast", "pycrate"]))
def test_attach_accepts_sharing_their_fixed_parts_as_the_builder_encoded(
        tais: list[nas.Tai], t3412: int | None, numbers: list[nas.EmergencyNumber] | None,
        features: dict[str, int] | None, esm: bytes, guti: nas.Guti, level: str) -> None:
    """TS 24.301 §8.2.1: an ATTACH ACCEPT written from the octets kept before its ESM
    message container and after its GUTI is the pycrate path's ATTACH ACCEPT (or its
    EncodeError), at either codec level, for the first message and the next."""
    with parity.codec_level("pycrate"):
        expected = _encoded_or_error(lambda: nas.attach_accept(
            tais, esm, t3412=t3412, guti=guti, emergency_numbers=numbers,
            eps_network_feature_support=features))
    accepts = nas.AttachAccepts(tais, t3412, numbers, features)
    with parity.codec_level(level):
        for _ in range(2):
            assert _encoded_or_error(lambda: accepts.encode(esm, guti)) == expected


def test_attach_accepts_written_from_their_template_at_the_fast_level() -> None:
    """The usual ATTACH ACCEPT (TS 24.301 §8.2.1) is on the template: the fast path's
    template for its fixed fields exists and writes the reference's octets."""
    tais = [nas.Tai(Plmn("440", "20"), 1), nas.Tai(Plmn("440", "20"), 2)]
    numbers = [nas.EmergencyNumber("110", ("police",))]
    features = {"ims_vops": 1, "emc_bs": 1}
    fixed = {"eps_attach_result": 1, "t3412_value": 3240, "tai_list": tais,
             "emergency_number_list": numbers, "eps_network_feature_support": features}
    encoder = fast_path(nas.PROTOCOL).template("AttachAccept", fixed)
    assert encoder is not None
    esm = nas.activate_default_eps_bearer_context_request(5, 1, 9, "internet", "10.45.0.2")
    guti = nas.Guti(Plmn("440", "20"), 0x8001, 1, 0xC0000001)
    got = encoder({nas.ESM_CONTAINER: esm, "guti": guti})
    assert got == nas.encode_pycrate(nas.decode(got, direction=DOWNLINK))
    decoded = nas.decode(got, direction=DOWNLINK)
    assert decoded.fields["guti"]["value"] == guti and decoded.fields["tai_list"] == tais
    assert decoded.fields[nas.ESM_CONTAINER]["fields"][nas.APN] == "internet"


_IPV4 = st.sampled_from(["10.45.0.2", "0.0.0.0", "192.168.200.17", "10.045.0.2", "no address"])
_IID = st.one_of(st.none(), st.binary(min_size=8, max_size=8), st.binary(min_size=7, max_size=7))


@settings(SETTINGS, max_examples=150)
@given(ebi=st.sampled_from([5, 6, 15, 16]), pti=st.sampled_from([0, 1, 254, 255, 256]),
       qci=st.sampled_from([1, 5, 9, 256]), apn=st.sampled_from(["internet", "ims", "sos",
                                                                "a.b.c", "x" * 70, ""]),
       ipv4=st.one_of(st.none(), _IPV4), iid=_IID,
       ambr=st.sampled_from([None, {"downlink": 300, "uplink": 300},
                             {"downlink": 100_000, "uplink": 50_000},
                             {"downlink": 5_000_000, "uplink": 8640}]),
       esm_cause=st.sampled_from([None, 50, 51, 52]),
       pco=st.sampled_from([None, b"", b"\x80\x00\x0d\x00", b"\x80" * 300]),
       level=st.sampled_from(["fast", "pycrate"]))
def test_default_bearer_requests_sharing_their_fixed_parts_as_the_builder_encoded(
        ebi: int, pti: int, qci: int, apn: str, ipv4: str | None, iid: bytes | None,
        ambr: dict[str, int] | None, esm_cause: int | None, pco: bytes | None,
        level: str) -> None:
    """TS 24.301 §8.3.6: an ACTIVATE DEFAULT EPS BEARER CONTEXT REQUEST written around its
    EPS bearer identity, PTI and PDN address from the octets kept for its QoS, APN, APN-AMBR,
    ESM cause and PCO is the pycrate path's message (or its EncodeError), at either codec
    level, for the first message of its kind and the next."""

    def build() -> bytes:
        return nas.activate_default_eps_bearer_context_request(
            ebi, pti, qci, apn, ipv4=ipv4, ipv6_interface_identifier=iid, apn_ambr=ambr,
            esm_cause=esm_cause, pco=pco)

    with parity.codec_level("pycrate"):
        expected = _encoded_or_error(build)
    nas._DEFAULT_BEARERS.clear()
    with parity.codec_level(level):
        for _ in range(2):
            assert _encoded_or_error(build) == expected


def test_default_bearer_requests_written_from_their_template_at_the_fast_level() -> None:
    """The usual default bearer request (TS 24.301 §8.3.6) is on the template: one encoder
    is kept for its QoS, APN and APN-AMBR, and each UE's message, with its own EBI, PTI and
    PDN address, decodes to those values."""
    nas._DEFAULT_BEARERS.clear()
    ambr = {"downlink": 100_000, "uplink": 50_000}
    with parity.codec_level("fast"):
        first = nas.activate_default_eps_bearer_context_request(
            5, 1, 9, "internet", "10.45.0.2", apn_ambr=ambr)
        second = nas.activate_default_eps_bearer_context_request(
            6, 7, 9, "internet", "10.45.0.3", bytes(range(8)), apn_ambr=ambr)
    (encoder,) = nas._DEFAULT_BEARERS.values()
    assert encoder
    for got in (first, second):
        assert got == nas.encode_pycrate(nas.decode(got, direction=DOWNLINK))
    fields = nas.decode(second, direction=DOWNLINK).fields
    assert (fields[nas.EBI], fields[nas.PTI], fields[nas.APN]) == (6, 7, "internet")
    assert fields["pdn_address"] == {"pdn_type": 3, "ipv4": "10.45.0.3",
                                     "ipv6_interface_identifier": bytes(range(8))}
    assert fields["apn_ambr"] == nas.decode(first, direction=DOWNLINK).fields["apn_ambr"]


def test_default_bearer_templates_are_bounded() -> None:
    """One template per kind of PDN connection, cleared when `DEFAULT_BEARERS_KEPT` kinds
    are kept: a network of many APNs does not grow the table without end."""
    nas._DEFAULT_BEARERS.clear()
    with parity.codec_level("fast"):
        for i in range(nas.DEFAULT_BEARERS_KEPT + 3):
            nas.activate_default_eps_bearer_context_request(5, 1, 9, f"apn{i}", "10.45.0.2")
    assert len(nas._DEFAULT_BEARERS) == 3


@settings(SETTINGS, max_examples=100)
@given(ksi=st.sampled_from([0, 1, 6, 7, 15, 16, -1]),
       rand=st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=17)),
       autn=st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=17)),
       level=st.sampled_from(["fast", "pycrate"]))
def test_authentication_requests_from_their_template_as_the_builder_encoded(
        ksi: int, rand: bytes, autn: bytes, level: str) -> None:
    """TS 24.301 §8.2.7: an AUTHENTICATION REQUEST written after its template's header is
    the pycrate path's message (or its EncodeError), at either codec level, for the first
    message and the next."""
    with parity.codec_level("pycrate"):
        expected = _encoded_or_error(lambda: nas.authentication_request(ksi, rand, autn))
    nas._AUTH_REQUESTS = None
    with parity.codec_level(level):
        for _ in range(2):
            got = _encoded_or_error(lambda: nas.authentication_request(ksi, rand, autn))
            assert got == expected


def test_authentication_requests_written_from_their_template_at_the_fast_level() -> None:
    """The AUTHENTICATION REQUEST (TS 24.301 §8.2.7) is on the template at the fast level,
    and its KSI, RAND and AUTN decode to the values given."""
    nas._AUTH_REQUESTS = None
    rand, autn = bytes(range(100, 116)), bytes(range(200, 216))
    with parity.codec_level("fast"):
        got = nas.authentication_request(6, rand, autn)
    assert nas._AUTH_REQUESTS
    assert got == nas.encode_pycrate(nas.decode(got, direction=DOWNLINK))
    fields = nas.decode(got, direction=DOWNLINK).fields
    assert (fields[nas.KSI], fields["authentication_parameter_rand"],
            fields["authentication_parameter_autn"]) == (6, rand, autn)
