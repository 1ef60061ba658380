"""Decode templates of the attach's NAS messages (corenet.codecs.fast.nas `_DecTemplate`): a
message of a template's shape decodes to the full decoder's Message and pycrate's; any octet
changed outside the varying value parts goes the full way."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from corenet.codecs import nas
from corenet.codecs.fast import nas as fast_nas
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import DOWNLINK, UPLINK
from tests.unit.codecs.fast.parity import check_nas_decode

PLMN = Plmn("440", "10")
TAI = nas.Tai(PLMN, 0x0102)


def _guti(rng: random.Random) -> nas.Guti:
    return nas.Guti(PLMN, rng.randrange(1 << 16), rng.randrange(256), rng.randrange(1 << 32))


def _pdn_request(rng: random.Random) -> bytes:
    return nas.pdn_connectivity_request(pti=rng.randrange(1, 255), apn="internet",
                                        pco=bytes(rng.randrange(256) for _ in range(6)))


def _default_bearer(rng: random.Random) -> bytes:
    return nas.activate_default_eps_bearer_context_request(
        ebi=rng.randrange(5, 16), pti=rng.randrange(256), qci=9, apn="internet",
        ipv4=".".join(str(rng.randrange(256)) for _ in range(4)),
        apn_ambr={"downlink": 100000, "uplink": 50000})


# the messages of an attach, each built with one UE's values (TS 24.301 §5.3.2, §5.4, §5.5.1)
MESSAGES = {
    "AttachRequest": (UPLINK, lambda rng: nas.attach_request(
        imsi="44010" + "".join(str(rng.randrange(10)) for _ in range(10)),
        esm_container=_pdn_request(rng), last_visited_tai=TAI, drx=b"\x00\x0a")),
    "AttachRequest-guti": (UPLINK, lambda rng: nas.attach_request(
        ksi=1, guti=_guti(rng), esm_container=_pdn_request(rng))),
    "AuthenticationRequest": (DOWNLINK, lambda rng: nas.authentication_request(
        ksi=1, rand=rng.randbytes(16), autn=rng.randbytes(16))),
    "AuthenticationResponse": (UPLINK, lambda rng: nas.authentication_response(
        rng.randbytes(8))),
    "SecurityModeCommand": (DOWNLINK, lambda rng: nas.security_mode_command(
        eea=2, eia=2, ksi=1, ue_sec_cap=b"\xe0\xe0", imeisv_request=True)),
    "SecurityModeComplete": (UPLINK, lambda rng: nas.security_mode_complete(
        imeisv="35" + "".join(str(rng.randrange(10)) for _ in range(14)))),
    "AttachAccept": (DOWNLINK, lambda rng: nas.attach_accept(
        [TAI], _default_bearer(rng), guti=_guti(rng), t3402=720,
        emergency_numbers=nas.emergency_number_list([("110", ["police"]), ("119", ["fire"])]),
        eps_network_feature_support={"ims_vops": 1})),
    "AttachComplete": (UPLINK, lambda rng: nas.attach_complete(
        nas.activate_default_eps_bearer_context_accept(ebi=rng.randrange(5, 16)))),
    "ActivateDefaultEPSBearerContextAccept": (UPLINK, lambda rng: (
        nas.activate_default_eps_bearer_context_accept(ebi=rng.randrange(5, 16),
                                                       pti=rng.randrange(256)))),
    "EMMInformation": (DOWNLINK, lambda rng: nas.emm_information(
        "Network", "Net", local_time_zone=36, universal_time=datetime(
            2026, 12, rng.randrange(1, 29), rng.randrange(24), rng.randrange(60),
            rng.randrange(60), tzinfo=UTC))),
}


def _templates(data: bytes, direction: int) -> list[fast_nas._DecTemplate]:
    code = data[1] if data[0] & 0x0F == nas.PD_EMM else data[2]
    plan = fast_nas._dec_plan(data[0] & 0x0F, code, direction == DOWNLINK)
    assert plan is not None
    return plan.templates


def _full(data: bytes, direction: int) -> nas.Message | None:
    """The full decoder's Message: no template taken (nor in the ESM container), none learnt."""
    learn, fast_nas._learn = fast_nas._learn, lambda *args: None
    decode, fast_nas._DecTemplate.decode = fast_nas._DecTemplate.decode, lambda *args: None
    try:
        return fast_nas.decode_plain(data, direction)
    finally:
        fast_nas._learn = learn
        fast_nas._DecTemplate.decode = decode  # type: ignore[method-assign]


def _variants(key: str, count: int) -> Iterator[bytes]:
    direction, build = MESSAGES[key]
    rng = random.Random(key)
    for _ in range(count):
        yield build(rng)


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_one_ues_message_taken_from_another_ues_template(key: str) -> None:
    direction = MESSAGES[key][0]
    first, *others = _variants(key, 12)
    fast_nas.decode_plain(first, direction)
    for data in others:
        fields = next((f for t in _templates(data, direction)
                       if (f := t.decode(data, direction)) is not None), None)
        assert fields is not None, "per-UE values outside the varying value parts"
        got = check_nas_decode(data, direction)  # the public decoder and pycrate agree
        assert got is not None and got.fields == fields
        assert repr(got) == repr(_full(data, direction))


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_octet_changed_decodes_as_the_full_decoder(key: str) -> None:
    direction = MESSAGES[key][0]
    first, data = _variants(key, 2)
    fast_nas.decode_plain(first, direction)
    for at in range(len(data)):
        for value in {data[at] ^ 0x01, data[at] ^ 0x80, data[at] ^ 0xFF, 0}:
            changed = data[:at] + bytes((value,)) + data[at + 1:]
            got = fast_nas.decode_plain(changed, direction)
            assert repr(got) == repr(_full(changed, direction)), (at, value)
            if at in (0, 1, len(data) // 2, len(data) - 1):
                check_nas_decode(changed, direction)


def test_attach_request_fields_read_from_the_template() -> None:
    imsis = ("440100123456789", "440109876543210")
    esm = [nas.pdn_connectivity_request(pti=pti, apn="internet") for pti in (1, 7)]
    first, second = (nas.attach_request(imsi=i, esm_container=e) for i, e in zip(imsis, esm,
                                                                                 strict=True))
    fast_nas.decode_plain(first, UPLINK)
    got = fast_nas.decode_plain(second, UPLINK)
    assert got is not None
    assert got.fields["eps_mobile_identity"] == {"type": "imsi", "value": imsis[1]}
    inner = got.fields["esm_message_container"]
    assert inner["name"] == "PDNConnectivityRequest"
    assert inner["fields"]["procedure_transaction_identity"] == 7


def test_a_template_message_is_its_receivers_to_change() -> None:
    direction, build = MESSAGES["AttachAccept"]
    rng = random.Random(1)
    first, second, third = build(rng), build(rng), build(rng)
    fast_nas.decode_plain(first, direction)
    got = fast_nas.decode_plain(second, direction)
    assert got is not None
    got.fields["tai_list"].append(nas.Tai(PLMN, 9))
    got.fields["eps_network_feature_support"]["ims_vops"] = 0
    got.fields["esm_message_container"]["fields"]["apn_ambr"].clear()
    assert repr(fast_nas.decode_plain(third, direction)) == repr(_full(third, direction))


def test_templates_per_message_are_bounded() -> None:
    for ksi in range(7):
        fast_nas.decode_plain(nas.authentication_request(ksi, bytes(16), bytes(16)), DOWNLINK)
    data = nas.authentication_request(0, bytes(16), bytes(16))
    assert len(_templates(data, DOWNLINK)) == fast_nas._TEMPLATES_PER_MESSAGE
