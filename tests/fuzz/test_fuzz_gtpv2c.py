"""GTPv2-C decoder fuzzing: only DecodeError may escape (TS 29.274 §7.7 handles the rest)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TFT = bytes.fromhex("21100109" "10c0a80001ffffffff")

SEEDS: list[bytes] = [
    g.encode(g.echo_request(1, 2)),
    g.encode(g.create_session_request(
        7, imsi="440101234567890", msisdn="819012345678", mei="3534900698733190",
        uli=("44020", 1, "44020", 2), serving_network="44020", indication={"uimsi": True},
        sender_fteid=(g.FTEID_S11_MME, 0x1111, "10.0.0.1"), apn="sos", selection_mode=1,
        paa={"pdn_type": 3, "ipv4": "0.0.0.0", "ipv6": "::", "ipv6_prefix_length": 64},
        ambr=(1000, 2000), pco=bytes.fromhex("80000d00"),
        bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(5, 1)}])),
    g.encode(g.create_session_response(
        7, teid=1, sender_fteid=(g.FTEID_S11S4_SGW, 2, "10.0.0.2"),
        paa={"pdn_type": 1, "ipv4": "10.45.0.7"},
        cause=g.cause(70, {"type": 80, "length": 0, "instance": 0}),
        bearer_contexts=[{"ebi": 5, "cause": 16, "s1u_sgw_fteid": (1, 3, None, "2001:db8::1")}])),
    g.encode(g.create_bearer_request(9, teid=1, linked_ebi=5, bearer_contexts=[
        {"ebi": 0, "tft": TFT, "bearer_qos": g.bearer_qos(1, 2, mbr=(64, 64), gbr=(64, 64))}])),
    g.encode(g.modify_bearer_request(3, teid=1, bearer_contexts=[
        {"ebi": 5, "s1u_enb_fteid": (0, 9, "10.0.1.1")}])),
    g.encode(g.delete_bearer_request(4, teid=1, ebis=[6, 7])),
    g.encode(g.delete_session_request(5, teid=1, linked_ebi=5, uli=("44020", 1, "44020", 2))),
]


def _decode_only(data: bytes) -> Message | None:
    try:
        return g.decode(data)
    except DecodeError as exc:
        assert exc.protocol == "gtpv2"
        assert isinstance(exc.cause, int)
        return None


def _stable(data: bytes) -> None:
    msg = _decode_only(data)
    if msg is not None:
        # what decodes re-encodes, and decodes to the same fields
        again = g.decode(g.encode(msg))
        assert again.fields == msg.fields


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _stable(data)


@FUZZ
@given(st.binary(max_size=200))
def test_random_body_behind_a_valid_header(body: bytes) -> None:
    seed = SEEDS[1]
    header = bytearray(seed[:12])
    header[2:4] = (8 + len(body)).to_bytes(2, "big")
    _stable(bytes(header) + body)


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                        min_size=1, max_size=6))
def test_byte_mutations(seed: bytes, edits: list[tuple[int, int]]) -> None:
    data = bytearray(seed)
    for pos, value in edits:
        data[pos % len(data)] = value
    _stable(bytes(data))


def test_a_second_mei_is_not_reencoded_before_the_first() -> None:
    # found by test_byte_mutations: an IE turned into a second MEI went back in front of the
    # real one on re-encode, so the message decoded again with another MEI (§7.7.8)
    data = bytearray(SEEDS[1])
    data[1366 % len(data)], data[1844 % len(data)] = 1, 75
    msg = g.decode(bytes(data))
    assert msg.fields["mei"] == "3534900698733190"
    assert 75 in [o["type"] for o in msg.fields["other_ies"]]
    _stable(bytes(data))


@FUZZ
@given(st.sampled_from(SEEDS), st.integers(0, 400), st.binary(max_size=16))
def test_truncations_and_insertions(seed: bytes, cut: int, insert: bytes) -> None:
    pos = 12 + cut % max(1, len(seed) - 12)
    data = bytearray(seed[:pos] + insert + seed[pos:])
    data[2:4] = (len(data) - 4).to_bytes(2, "big")
    _stable(bytes(data))
    _stable(seed[: cut % len(seed)])
