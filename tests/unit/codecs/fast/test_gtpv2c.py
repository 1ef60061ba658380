"""The fast GTPv2-C codec (TS 29.274, S11) against the pycrate path, differentially."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message
from corenet.codecs.fast import gtpv2c as fg
from tests.unit.codecs.fast.parity import (
    GTPV2C_SAMPLES,
    check_decode,
    check_gtpv2c_decode,
    check_gtpv2c_encode,
    gtpv2c_message,
    mutated_bytes,
    octets_changed,
)

NAMES = sorted(GTPV2C_SAMPLES)
SETTINGS = settings(phases=[Phase.explicit, Phase.generate, Phase.shrink], max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_on_the_fast_path_and_identical(name: str) -> None:
    msg = GTPV2C_SAMPLES[name]
    data = check_gtpv2c_encode(msg)
    assert data is not None and data == g.encode_pycrate(msg)
    got = check_gtpv2c_decode(data)
    assert got is not None and got.name == name
    assert got.fields["sequence"] == msg.fields["sequence"]


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_generated_messages_encode_and_decode_identically(name: str, data: st.DataObject) -> None:
    msg = data.draw(gtpv2c_message(name, valid=True))
    check_gtpv2c_encode(msg)
    try:
        wire = g.encode_pycrate(msg)
    except Exception:
        return
    got, accepted = check_decode(g, fg, wire)
    if got is None and accepted and "other_ies" not in repr(g.decode_pycrate(wire)):
        # the only messages the fast decoder leaves to pycrate among well-formed ones carry
        # IEs the reference keeps verbatim (TS 29.274 §7.7.8-§7.7.12)
        pytest.fail(f"declined a well-formed {name}: {wire.hex()}")


@SETTINGS
@given(msg=gtpv2c_message(valid=False))
def test_invalid_values_are_declined_or_identical(msg: Message) -> None:
    check_gtpv2c_encode(msg)


@pytest.mark.parametrize("name", NAMES)
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_mutated_bytes_same_accept_reject_and_cause(name: str, data: st.DataObject) -> None:
    wire = g.encode_pycrate(GTPV2C_SAMPLES[name])
    check_gtpv2c_decode(data.draw(mutated_bytes(wire)))


@SETTINGS
@given(raw=st.binary(max_size=120))
def test_random_bytes_same_accept_reject_and_cause(raw: bytes) -> None:
    check_gtpv2c_decode(raw)
    check_gtpv2c_decode(b"\x48\x20" + len(raw).to_bytes(2, "big") + raw)


def test_piggybacked_create_bearer_request() -> None:
    """TS 29.274 §5.5.1: a Create Bearer Request after a Create Session Response (P flag)."""
    csr = GTPV2C_SAMPLES["CreateSessionResponse"]
    msg = Message("gtpv2", csr.name, csr.code, {**csr.fields, "piggybacked": GTPV2C_SAMPLES["CreateBearerRequest"]})
    wire = check_gtpv2c_encode(msg)
    assert wire is not None and wire[0] & 0x10
    got = check_gtpv2c_decode(wire)
    assert got is not None and got.fields["piggybacked"].name == "CreateBearerRequest"


def test_bearer_context_of_instance_1_is_on_the_fast_path() -> None:
    """A "Bearer Context to be removed" (TS 29.274 Table 7.2.1-3, instance 1: EBI and S4-U
    F-TEID) is built with its own IEs on both paths, not with instance 0's mandatory Bearer
    QoS (Table 7.2.1-2); the fast encoder takes it and gives the same bytes."""
    base = GTPV2C_SAMPLES["CreateSessionRequest"]
    for removed in ([{"ebi": 6}], [{"ebi": 6}, {"ebi": 7}]):
        msg = Message("gtpv2", base.name, base.code,
                      {**base.fields, "bearer_contexts_to_be_removed": removed})
        wire = fg.encode(msg)
        assert wire is not None and wire == g.encode_pycrate(msg)
        assert check_gtpv2c_decode(wire) is not None
        assert g.decode(wire).fields["bearer_contexts_to_be_removed"] == removed


@pytest.mark.parametrize("pco, kept", [(bytes.fromhex("80000c00"), True),
                                       (bytes.fromhex("80000c0501"), False)])
def test_pco_verdict_is_the_same_on_every_decode(pco: bytes, kept: bool) -> None:
    """TS 29.274 §8.13: the fast decoder accepts a PCO only when pycrate would re-encode it as
    is (a truncated container is not); the verdict it keeps for repeated PCOs is that one, on
    the first decode and on every later one."""
    sample = GTPV2C_SAMPLES["CreateSessionRequest"]
    msg = Message(sample.protocol, sample.name, sample.code, {**sample.fields, "pco": pco})
    data = g.encode_pycrate(msg)
    for _ in range(3):
        got = check_gtpv2c_decode(data)
        assert (got is not None) is kept
        if got is not None:
            assert got.fields["pco"] == pco


def _two_pass(msg: Message) -> bytes:
    spec = g._BY_NAME[msg.name]
    return fg._ies(g._encode_ies(spec.ies, msg.fields, spec.name, message_level=True))


@pytest.mark.parametrize("name", NAMES)
def test_one_pass_encoding_takes_every_sample_and_gives_the_two_pass_octets(name: str) -> None:
    """The one-pass encoder (field values straight to the §8 octets) covers every S11 sample
    message, and writes exactly the IEs the reference's values give (TS 29.274 §8.2)."""
    msg = GTPV2C_SAMPLES[name]
    assert fg._direct(g._BY_NAME[name].ies, msg.fields, True) == _two_pass(msg)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_one_pass_encoding_of_generated_values_declines_or_agrees(name: str,
                                                                  data: st.DataObject) -> None:
    msg = data.draw(gtpv2c_message(name, valid=True))
    try:
        one = fg._direct(g._BY_NAME[name].ies, msg.fields, True)
    except Exception:
        return  # declined: the two-pass path decides
    assert one == _two_pass(msg)


@pytest.mark.parametrize("fields", [
    {"cause": {"value": 64, "offending_ie": {"type": 1, "length": 0, "instance": 0}}},
    {"cause": 16, "indication": {"no_such_flag": True}},
    {"cause": 16, "recovery": 256},
    {"cause": 16, "other_ies": [{"type": 200, "instance": 0, "data": b"x"}]},
    {"recovery": 1},
], ids=["offending IE octets (8.4)", "unknown Indication flag (8.12)",
        "Recovery beyond one octet (8.5)", "other IEs", "no Cause, mandatory (7.7.5)"])
def test_one_pass_encoding_declines_what_it_cannot_vouch_for(fields: dict[str, object]) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any decline hands over to the two passes
        fg._direct(g._BY_NAME["DeleteSessionResponse"].ies, fields, True)
    # and the message as a whole still encodes as pycrate does, or is refused as it is
    msg = Message("gtpv2", "DeleteSessionResponse", 37, {"sequence": 1, "teid": 1, **fields})
    check_gtpv2c_encode(msg)


@pytest.mark.parametrize("raw, digits", [
    ("44100000000000f1", "440100000000001"), ("2143", "1234"), ("f1", "1"),
    ("1f", None), ("ff", None), ("1a", None), ("21f365", None), ("", None),
])
def test_bcd_digits_with_the_filler_only_in_the_last_high_nibble(raw: str,
                                                                  digits: str | None) -> None:
    """TS 29.274 §8.3 (TS 24.008 §10.5.1.4 digit order): a filler 0xF anywhere else, or a
    nibble above 9, is left to the pycrate path (which rejects it), as is an empty value."""
    if digits is None:
        with pytest.raises(fg._Decline):
            fg._dec_bcd(bytes.fromhex(raw))
    else:
        assert fg._dec_bcd(bytes.fromhex(raw)) == digits
        assert fg._bcd(digits) == bytes.fromhex(raw)


def test_values_decoded_once_per_distinct_octets_are_each_callers_own() -> None:
    """ULI, QoS, AMBR, indication flags, APN (TS 29.274 §8.21, §8.15, §8.7, §8.12, §8.6) are
    decoded once per distinct value; every decode still gives a message of its own, equal to
    the pycrate path's, that its receiver may change without changing the next one."""
    data = g.encode(g.create_session_request(
        1, imsi="440100123456789", uli=g.uli("44020", 1, "44020", 0x10101),
        serving_network="44020", indication={"daf": True, "oi": True},
        sender_fteid=(g.FTEID_S11_MME, 7, "127.0.0.2"), apn="internet", ambr=(300, 400),
        ue_time_zone=g.ue_time_zone(36),
        bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(qci=9, pl=8, pci=1, pvi=0)}]))
    first = fg.decode(data)
    assert first is not None
    f = first.fields
    assert f["uli"] and f["ambr"] and f["indication"]
    f["uli"][next(iter(f["uli"]))]["plmn"] = "00101"
    f["uli"]["extra"] = {}
    f["ambr"]["ul_kbps"] = -1
    f["indication"]["changed"] = True
    f["ue_time_zone"]["time_zone"] = 99
    f["bearer_contexts_to_be_created"][0]["bearer_qos"]["qci"] = 255
    second = fg.decode(data)
    assert second is not None and second.fields == g.decode_pycrate(data).fields
    assert second.fields["uli"] is not f["uli"] and "extra" not in second.fields["uli"]
    flags = second.fields["indication"]
    assert "changed" not in flags and flags["daf"] and flags["oi"]
    assert second.fields["ue_time_zone"]["time_zone"] == 36
    assert second.fields["ambr"]["ul_kbps"] == 300 and second.fields["apn"] == "internet"
    assert second.fields["bearer_contexts_to_be_created"][0]["bearer_qos"]["qci"] != 255


_IPV4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
_IPV6 = st.integers(0, (1 << 128) - 1).map(lambda n: str(ipaddress.IPv6Address(n)))


@st.composite
def _attach_response(draw: st.DrawFn) -> Message:
    """A Create Session or Modify Bearer Response as the S/P-GW answers an attach
    (TS 29.274 §7.2.2, §7.2.8): the values that differ from one UE to the next drawn at
    random (some out of range), the others from a few."""
    u32 = st.integers(0, (1 << 32) - 1) | st.just(1 << 32)
    s1u = g.fteid(g.FTEID_S1U_SGW, draw(u32), "127.0.0.4")
    bearer: dict[str, object] = {"ebi": draw(st.sampled_from([5, 6])), "cause": 16,
                                 "s1u_sgw_fteid": s1u, "charging_id": draw(u32)}
    recovery = draw(st.sampled_from([None, 3]))
    sequence = draw(st.integers(0, (1 << 24) - 1) | st.just(1 << 24))
    if draw(st.booleans()):
        return g.modify_bearer_response(sequence, teid=draw(u32), bearer_contexts=[bearer],
                                        recovery=recovery)
    pdn_type = draw(st.sampled_from([g.PDN_IPV4, g.PDN_IPV6, g.PDN_IPV4V6]))
    paa = {"pdn_type": pdn_type, "ipv4": draw(_IPV4 | st.just("1.2.3")),
           "ipv6": draw(_IPV6), "ipv6_prefix_length": 64}
    bearer["bearer_qos"] = g.bearer_qos(draw(st.sampled_from([5, 9])), 8)
    return g.create_session_response(
        sequence, teid=draw(u32), sender_fteid=(g.FTEID_S11S4_SGW, draw(u32), "127.0.0.4"),
        pgw_fteid=(g.FTEID_S5S8C_PGW, draw(u32), "127.0.0.5"), paa=paa, apn_restriction=0,
        ambr=(100000, 100000), pco=draw(st.sampled_from([None, bytes.fromhex("80000c047f000006")])),
        bearer_contexts=[bearer], recovery=recovery)


@settings(SETTINGS, max_examples=200)
@given(msg=_attach_response())
def test_attach_responses_from_templates_are_the_pycrate_octets(msg: Message) -> None:
    """The S/P-GW's Create Session and Modify Bearer Responses are written from the octets of
    the first one of their shape with their TEIDs, Sequence Number, PDN address and charging
    ID written over (TS 29.274 §7.2.2, §7.2.8): the octets are pycrate's and the whole
    encoder's, and a value out of range or an address of the wrong family is refused as
    pycrate refuses it."""
    _check_template_encode(msg)


def _check_template_encode(msg: Message) -> None:
    """The template's octets are pycrate's and those of the encoder of the whole message."""
    got = check_gtpv2c_encode(msg)
    if got is not None:
        assert got == fg._encode(g._BY_NAME[msg.name], msg)


def _whole_encodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the messages encoded IE by IE from now on, no template kept yet."""
    whole: list[str] = []
    encode_whole = fg._encode
    monkeypatch.setattr(fg, "_encode", lambda spec, msg: whole.append(msg.name) or
                        encode_whole(spec, msg))
    monkeypatch.setattr(fg, "_templates", {})
    return whole


def test_a_response_of_a_known_shape_is_not_encoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the first Create Session Response of a shape is encoded IE by IE; the next ones
    (another UE: other TEIDs, address, charging ID) are its octets with those values written
    over, and a response of another shape (another QoS) is encoded whole."""
    def response(n: int, qci: int = 9) -> Message:
        return g.create_session_response(
            n, teid=n, sender_fteid=(g.FTEID_S11S4_SGW, n + 1, "127.0.0.4"),
            pgw_fteid=(g.FTEID_S5S8C_PGW, n + 2, "127.0.0.5"),
            paa={"pdn_type": g.PDN_IPV4V6, "ipv4": f"10.0.{n}.1", "ipv6": f"2001:db8:{n}::",
                 "ipv6_prefix_length": 64},
            ambr=(1000, 2000), bearer_contexts=[{
                "ebi": 5, "cause": 16, "s1u_sgw_fteid": (g.FTEID_S1U_SGW, n + 3, "127.0.0.4"),
                "bearer_qos": g.bearer_qos(qci, 8), "charging_id": n + 4}])

    whole = _whole_encodes(monkeypatch)
    for n in range(1, 6):
        msg = response(n)
        assert fg.encode(msg) == g.encode_pycrate(msg)
        decoded = g.decode(g.encode_pycrate(msg)).fields
        assert decoded["paa"]["ipv4"] == f"10.0.{n}.1"
        assert decoded["bearer_contexts_created"][0]["charging_id"] == n + 4
    assert whole == ["CreateSessionResponse"]
    other = response(7, qci=5)
    assert fg.encode(other) == g.encode_pycrate(other)
    assert whole == ["CreateSessionResponse"] * 2 and _kept_templates() == 2


def _kept_templates() -> int:
    return sum(len(kept) for kept in fg._templates.values())


_DIGITS = st.text("0123456789", min_size=14, max_size=16) | st.sampled_from(["", "12a4", "١٢٣"])
# the MME's S11 address: mostly one, sometimes another of either family or none
_S11_MME = st.sampled_from(["127.0.0.2", "127.0.0.2", "10.9.8.7", "2001:db8::2"]) | _IPV4 | st.none()


@st.composite
def _attach_request(draw: st.DrawFn) -> Message:
    """A Create Session Request as the MME sends it for an attach (TS 29.274 §7.2.1): IMSI,
    MSISDN, MEI, the S11 F-TEID's TEID and the Sequence Number drawn per UE (some out of range,
    some not digits), the cell, PDN type and indication from a few."""
    u32 = st.integers(0, (1 << 32) - 1) | st.just(1 << 32)
    pdn_type = draw(st.sampled_from([g.PDN_IPV4, g.PDN_IPV6, g.PDN_IPV4V6]))
    paa: dict[str, object] = {"pdn_type": pdn_type}
    if pdn_type != g.PDN_IPV6:
        paa["ipv4"] = "0.0.0.0"
    if pdn_type != g.PDN_IPV4:
        paa |= {"ipv6": "::", "ipv6_prefix_length": 64}
    return g.create_session_request(
        draw(st.integers(0, (1 << 24) - 1) | st.just(1 << 24)), teid=draw(st.sampled_from([0, 9])),
        imsi=draw(_DIGITS), msisdn=draw(_DIGITS | st.none()), mei=draw(_DIGITS | st.none()),
        indication=draw(st.sampled_from([None, {"daf": True}, {"uimsi": True}])),
        uli=g.uli("44020", draw(st.sampled_from([1, 2])), draw(st.sampled_from(["44020", "001010"])),
                  draw(st.integers(0, (1 << 28) - 1) | st.just(1 << 28))),
        serving_network="44020", sender_fteid=(g.FTEID_S11_MME, draw(u32), draw(_S11_MME)),
        pgw_fteid=(g.FTEID_S5S8C_PGW, 0, "127.0.0.5"), apn="internet", selection_mode=0,
        pdn_type=pdn_type, paa=paa, apn_restriction=0, ambr=(100000, 100000),
        pco=draw(st.sampled_from([None, bytes.fromhex("80000d00")])),
        recovery=draw(st.sampled_from([None, 3])), ue_time_zone=g.ue_time_zone(36),
        bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(9, 8, pci=1, pvi=0)}])


@settings(SETTINGS, max_examples=200)
@given(msg=_attach_request())
def test_attach_requests_from_templates_are_the_pycrate_octets(msg: Message) -> None:
    """The MME's Create Session Requests are written from the octets of the first one of their
    shape with IMSI, MSISDN, MEI (as many digits as the template's), S11 TEID and Sequence
    Number written over (TS 29.274 §7.2.1, §8.3, §8.10, §8.11), and the cell (§8.21) and the
    F-TEID addresses (§8.22) when they differ from the template's: the octets are pycrate's and
    the whole encoder's, and what pycrate refuses is refused."""
    _check_template_encode(msg)


@st.composite
def _modify_bearer_request(draw: st.DrawFn) -> Message:
    """A Modify Bearer Request as the MME sends it once the eNB answered (TS 29.274 §7.2.7):
    the S-GW's TEID, the eNB's S1-U TEID and address (§8.22) drawn per UE."""
    u32 = st.integers(0, (1 << 32) - 1) | st.just(1 << 32)
    address = draw(st.sampled_from(["127.0.1.1", "127.0.1.2", "2001:db8::1"]) | _IPV4 | _IPV6)
    v6 = ":" in address and draw(st.booleans())
    enb = g.fteid(g.FTEID_S1U_ENB, draw(u32), None if v6 else address,
                  address if v6 else draw(st.sampled_from([None, "2001:db8::9"])))
    return g.modify_bearer_request(
        draw(st.integers(0, (1 << 24) - 1) | st.just(1 << 24)), teid=draw(u32),
        bearer_contexts=[{"ebi": draw(st.sampled_from([5, 6])), "s1u_enb_fteid": enb}])


@settings(SETTINGS, max_examples=200)
@given(msg=_modify_bearer_request())
def test_modify_bearer_requests_from_templates_are_the_pycrate_octets(msg: Message) -> None:
    """The MME's Modify Bearer Requests are written from the octets of the first one of their
    shape with the S-GW's TEID, the Sequence Number and the eNB's S1-U F-TEID (§8.22: TEID and
    address) written over (TS 29.274 §7.2.7): pycrate's octets, pycrate's refusals."""
    _check_template_encode(msg)


def _ue_request(n: int, imsi: str, tac: int = 1) -> Message:
    """UE n's Create Session Request (TS 29.274 §7.2.1) from a cell of TAC `tac`."""
    return g.create_session_request(
        n, imsi=imsi, msisdn=f"8190{n:08d}", mei=f"35{n:014d}",
        uli=g.uli("44020", tac, "44020", 0x10101), serving_network="44020",
        sender_fteid=(g.FTEID_S11_MME, n + 1, "127.0.0.2"),
        pgw_fteid=(g.FTEID_S5S8C_PGW, 0, "127.0.0.5"), apn="internet", pdn_type=g.PDN_IPV4,
        paa={"pdn_type": g.PDN_IPV4, "ipv4": "0.0.0.0"}, ambr=(1000, 2000),
        bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(9, 8)}])


def test_a_request_of_a_known_shape_is_not_encoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the first Create Session Request of a shape is encoded IE by IE; the next UEs'
    (other IMSI, MSISDN, MEI, TEID, Sequence Number, cell) are its octets with those written
    over; another count of IMSI digits is another shape."""
    whole = _whole_encodes(monkeypatch)
    for n in range(1, 6):
        msg = _ue_request(n, f"44020990000000{n}")
        assert fg.encode(msg) == g.encode_pycrate(msg)
        decoded = g.decode(g.encode_pycrate(msg)).fields
        assert decoded["imsi"] == f"44020990000000{n}" and decoded["mei"] == f"35{n:014d}"
        assert decoded["sender_fteid_c"]["teid"] == n + 1 and decoded["sequence"] == n
    assert whole == ["CreateSessionRequest"]
    cell = _ue_request(8, "440209900000008", tac=2)
    assert fg.encode(cell) == g.encode_pycrate(cell)
    assert g.decode(fg.encode(cell)).fields["uli"]["tai"]["tac"] == 2
    assert whole == ["CreateSessionRequest"]
    other = _ue_request(7, "4402099000007")
    assert fg.encode(other) == g.encode_pycrate(other)
    assert whole == ["CreateSessionRequest"] * 2 and _kept_templates() == 2


def _decoded_whole(data: bytes) -> dict[str, object] | None:
    try:
        return fg._decode(data).fields
    except Exception:
        return None


def _varying_octets(wire: bytes) -> list[int]:
    """The offsets outside the constant octets of the template `wire` was kept as."""
    for _plan, constant, _t in fg._dec_templates[(wire[1], len(wire))]:
        if all(wire[a:b] == octets for a, b, octets in constant):
            kept = {i for a, b, _o in constant for i in range(a, b)}
            return [i for i in range(len(wire)) if i not in kept]
    raise AssertionError("no template")


@st.composite
def _release_access_bearers(draw: st.DrawFn) -> Message:
    """A Release Access Bearers Request or Response of an S1 release (TS 29.274 §7.2.21,
    §7.2.22): the TEID and Sequence Number drawn per UE."""
    sequence, teid = draw(st.integers(0, (1 << 24) - 1)), draw(st.integers(0, (1 << 32) - 1))
    if draw(st.booleans()):
        return g.release_access_bearers_request(sequence, teid=teid)
    return g.release_access_bearers_response(sequence, teid=teid,
                                             recovery=draw(st.sampled_from([None, 3])))


@settings(SETTINGS, max_examples=250)
@given(msg=_attach_request() | _attach_response() | _modify_bearer_request()
       | _release_access_bearers(), data=st.data())
def test_decode_templates_give_what_the_decoder_gives(msg: Message, data: st.DataObject) -> None:
    """A Create Session, Modify Bearer or Release Access Bearers Request or Response whose
    octets outside the IMSI, MEI, MSISDN, F-TEID, PDN address and charging ID values and the
    header's TEID and Sequence Number equal a decoded one's decodes from that one's values,
    those IEs read anew (TS 29.274 §7.2.1, §7.2.2, §7.2.7, §7.2.8, §7.2.21, §7.2.22); with any
    octet changed anywhere it decodes to what the whole decoder gives, and is refused as that
    refuses it (and as pycrate)."""
    try:
        wire = g.encode_pycrate(msg)
    except Exception:
        return
    first = fg.decode(wire)
    assert (first and first.fields) == _decoded_whole(wire)
    if first is None:
        return
    varying = _varying_octets(wire)
    other = bytearray(wire)
    for i in varying:
        other[i] = data.draw(st.integers(0, 255))
    calls: list[bytes] = []
    whole = fg._decode
    fg._decode = lambda b: calls.append(b) or whole(b)  # type: ignore[assignment]
    try:
        got = fg.decode(bytes(other))
    finally:
        fg._decode = whole  # type: ignore[assignment]
    assert calls == [] and (got and got.fields) == _decoded_whole(bytes(other))
    damaged = bytearray(other)
    i = data.draw(st.integers(0, len(damaged) - 1))
    damaged[i] = data.draw(st.integers(0, 255).filter(lambda x: x != other[i]))
    got = fg.decode(bytes(damaged))
    assert (got and got.fields) == _decoded_whole(bytes(damaged))
    check_gtpv2c_decode(bytes(damaged))


def _attach_messages() -> list[Message]:
    """One of each templated message as an attach and an S1 release send them."""
    bearer = {"ebi": 5, "cause": 16, "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 7, "127.0.0.4"),
              "charging_id": 9}
    return [
        _ue_request(1, "440209900000001"),
        g.create_session_response(
            2, teid=3, sender_fteid=(g.FTEID_S11S4_SGW, 4, "127.0.0.4"),
            pgw_fteid=(g.FTEID_S5S8C_PGW, 5, "127.0.0.5"),
            paa={"pdn_type": g.PDN_IPV4V6, "ipv4": "10.0.0.1", "ipv6": "2001:db8:1::",
                 "ipv6_prefix_length": 64}, ambr=(1000, 2000),
            bearer_contexts=[{**bearer, "bearer_qos": g.bearer_qos(9, 8)}], recovery=3),
        g.modify_bearer_request(6, teid=7, bearer_contexts=[
            {"ebi": 5, "s1u_enb_fteid": (g.FTEID_S1U_ENB, 8, "127.0.1.1")}]),
        g.modify_bearer_response(8, teid=9, bearer_contexts=[bearer]),
        g.release_access_bearers_request(10, teid=11),
        g.release_access_bearers_response(12, teid=13, recovery=3),
    ]


@pytest.mark.parametrize("msg", _attach_messages(), ids=lambda m: m.name)
def test_decode_template_every_octet_changed_decodes_as_the_decoder(
        msg: Message, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each octet of a templated message changed in turn (to two other values): the message
    decodes to exactly what the whole decoder gives for it, a refusal included, and a change
    in a per-UE value (TEID, Sequence Number, F-TEID, PDN address, charging ID, IMSI, MEI,
    MSISDN) is read from the template without the whole decoder (TS 29.274 §7.2)."""
    wire = g.encode_pycrate(msg)
    fg._dec_templates.clear()
    assert fg.decode(wire) is not None
    varying = set(_varying_octets(wire))
    calls: list[bytes] = []
    whole = fg._decode
    monkeypatch.setattr(fg, "_decode", lambda b: calls.append(b) or whole(b))
    for i, delta, data in octets_changed(wire):
        expected = _decoded_whole(data)
        calls.clear()
        del fg._dec_templates[(wire[1], len(wire))][1:]  # the first template only
        got = fg.decode(data)
        assert (got and got.fields) == expected, (i, delta)
        assert got is None or repr(got) == repr(g.decode_pycrate(data)), (i, delta)
        if i in varying and got is not None:
            assert calls == [], (i, delta)
        elif i not in varying:
            assert calls == [data], (i, delta)


def test_decode_template_reads_each_ues_values_into_its_own_objects() -> None:
    """Two UEs' Create Session Requests of one shape: each decodes to its own IMSI, MEI,
    MSISDN, F-TEID and Sequence Number, and its own dicts (changing one changes no other)."""
    def request(n: int) -> bytes:
        return g.encode_pycrate(_ue_request(n, f"44020990000000{n}"))

    first, second = fg.decode(request(1)), fg.decode(request(2))
    assert first is not None and second is not None
    f, s = first.fields, second.fields
    assert (f["imsi"], s["imsi"]) == ("440209900000001", "440209900000002")
    assert (f["mei"], s["mei"], s["msisdn"]) == ("3500000000000001", "3500000000000002",
                                                 "819000000002")
    assert (f["sender_fteid_c"]["teid"], s["sender_fteid_c"]["teid"]) == (2, 3)
    assert (f["sequence"], s["sequence"]) == (1, 2)
    f["uli"]["tai"]["tac"] = 9
    f["ambr"]["ul_kbps"] = 0
    f["bearer_contexts_to_be_created"][0]["bearer_qos"]["qci"] = 1
    third = fg.decode(request(3))
    assert third is not None and third.fields == g.decode_pycrate(request(3)).fields
    assert s["uli"]["tai"]["tac"] == 1 and s["ambr"]["ul_kbps"] == 1000


def test_repeated_values_are_written_once_and_refusals_are_not_kept() -> None:
    """The ULI, QoS, AMBR, Indication, UE Time Zone and Cause a population repeats are written
    once per distinct value (TS 29.274 §8.21, §8.15, §8.7, §8.12, §8.44, §8.4); a value the
    writer refuses is refused every time, and an unhashable one is written each time."""
    written: list[object] = []

    def write(v: object) -> bytes:
        written.append(v)
        if v == {"bad": {"x": 1}}:
            raise ValueError("refused")
        return repr(v).encode()

    enc = fg._kept(write, fg._nested)
    cell = {"tai": {"plmn": "44020", "tac": 1}, "ecgi": {"plmn": "44020", "eci": 0x10101}}
    assert enc(cell) == enc(dict(cell)) == repr(cell).encode()
    assert enc({**cell, "tai": {"plmn": "44020", "tac": 2}}) != enc(cell)
    assert len(written) == 2
    for _ in range(2):
        with pytest.raises(ValueError):
            enc({"bad": {"x": 1}})
    assert len(written) == 4
    odd = {"tai": [1]}  # a list inside: no key, written as it is
    enc(odd), enc(odd)
    assert len(written) == 6
    # and the S11 messages carrying them are pycrate's octets, each UE's cell its own
    sample = GTPV2C_SAMPLES["CreateSessionRequest"]
    for eci in (0x10101, 0x10102, 0x10101):
        msg = Message(sample.protocol, sample.name, sample.code, {
            **sample.fields, "uli": {**cell, "ecgi": {"plmn": "44020", "eci": eci}}})
        wire = check_gtpv2c_encode(msg)
        assert wire is not None and g.decode(wire).fields["uli"]["ecgi"]["eci"] == eci


def test_a_template_keeps_its_own_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """A template compares the next messages with a copy of its message's values: changing
    that message's dicts once it is encoded changes nothing in the next ones' octets."""
    whole = _whole_encodes(monkeypatch)
    first = _ue_request(1, "440209900000001")
    fg.encode(first)
    first.fields["ambr"]["ul_kbps"] = 1
    first.fields["uli"]["tai"]["tac"] = 3
    first.fields["bearer_contexts_to_be_created"][0]["bearer_qos"]["qci"] = 1
    second = _ue_request(2, "440209900000002")
    assert fg.encode(second) == g.encode_pycrate(second)
    assert whole == ["CreateSessionRequest"]
    changed = _ue_request(3, "440209900000003")
    changed.fields["ambr"]["ul_kbps"] = 1
    assert fg.encode(changed) == g.encode_pycrate(changed)
    assert g.decode(fg.encode(changed)).fields["ambr"]["ul_kbps"] == 1
    assert whole == ["CreateSessionRequest"] * 2
