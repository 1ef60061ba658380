"""NAS EPS decoder fuzzing: only DecodeError may escape `decode` (TS 24.301 §7)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs import nas
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext

PLMN = Plmn("440", "20")


def _valid_messages() -> list[bytes]:
    esm = nas.pdn_connectivity_request(pti=1, request_type=4, apn="sos")
    bearer = nas.activate_default_eps_bearer_context_request(
        ebi=5, pti=1, qci=5, apn="sos", ipv4="10.45.0.2", apn_ambr={"downlink": 300, "uplink": 300})
    numbers = nas.emergency_number_list([("110", ["police"]), ("119", ["fire", "ambulance"])])
    ctx = NasSecurityContext.from_kasme(1, bytes(32), eia=2, eea=2)
    plain = [
        nas.attach_request(attach_type=6, imei="356938035643809", esm_container=esm,
                           last_visited_tai=nas.Tai(PLMN, 1), drx=b"\x00\x0a"),
        nas.attach_accept(tai_list=[nas.Tai(PLMN, 1)], esm_container=bearer,
                          guti=nas.Guti(PLMN, 1, 2, 3), emergency_numbers=numbers,
                          eps_network_feature_support={"emc_bs": 1}),
        nas.authentication_request(0, bytes(16), bytes(16)),
        nas.authentication_failure(21, auts=bytes(14)),
        nas.security_mode_command(2, 2, 0, nas.ue_security_capability(), imeisv_request=True),
        nas.security_mode_complete("3569380356438091"),
        nas.identity_response(imsi="440100123456789"),
        nas.detach_request(1, True, 0, imsi="440100123456789"),
        nas.detach_request_network(1, 7),
        nas.emm_information(full_name="JPN-ROAM X", short_name="JPN-ROAM X", local_time_zone=36),
        esm, bearer, nas.esm_status(5, 1, 81),
    ]
    protected = [nas.protect(plain[9], ctx, DOWNLINK, 1), nas.protect(plain[0], ctx, UPLINK, 4)]
    return plain + protected


VALID = _valid_messages()


def _decode_all_ways(data: bytes) -> None:
    ctx = NasSecurityContext.from_kasme(1, bytes(32), eia=2, eea=2)
    for args in ((), (None, UPLINK), (None, DOWNLINK), (ctx, UPLINK), (ctx, DOWNLINK)):
        try:
            nas.decode(data, *args)
        except DecodeError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes(data: bytes) -> None:
    _decode_all_ways(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([0x02, 0x07, 0x17, 0x27, 0x37, 0x47, 0xC7, 0x52]),
       st.integers(0, 255), st.binary(max_size=48))
def test_plausible_headers(first: int, second: int, rest: bytes) -> None:
    _decode_all_ways(bytes([first, second]) + rest)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_mutations_of_valid_messages(valid: bytes, data: st.DataObject) -> None:
    buf = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(len(buf) - 1, 0)))
        if op == "flip" and buf:
            buf[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "truncate":
            del buf[pos:]
        elif op == "insert":
            buf[pos:pos] = bytes([data.draw(st.integers(0, 255))])
        elif op == "delete" and buf:
            del buf[pos]
    _decode_all_ways(bytes(buf))


def test_valid_messages_decode() -> None:
    names = [nas.decode(v).name for v in VALID]
    assert names[:3] == ["AttachRequest", "AttachAccept", "AuthenticationRequest"]
    assert names[-2:] == ["EMMInformation", "SecurityProtectedNASMessage"]
