"""The fast S1AP codec (TS 36.413, X.691 ALIGNED PER) against the pycrate path, differentially."""

from __future__ import annotations

import functools
import itertools

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from corenet.codecs import s1ap
from corenet.codecs.base import Message
from corenet.codecs.fast import s1ap as fs
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.plmn import Plmn
from tests.unit.codecs.fast import parity
from tests.unit.codecs.fast.parity import (
    S1AP_NAMES,
    S1AP_SAMPLES,
    check_s1ap_decode,
    check_s1ap_encode,
    mutated_bytes,
    s1ap_message,
)

SETTINGS = settings(phases=[Phase.explicit, Phase.generate, Phase.shrink], max_examples=60,
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", sorted(S1AP_SAMPLES))
def test_sample_is_on_the_fast_path_and_identical(name: str) -> None:
    msg = S1AP_SAMPLES[name]
    data = check_s1ap_encode(msg)
    assert data is not None and data == s1ap.encode_pycrate(msg)
    got = check_s1ap_decode(data)
    assert got is not None and got.name == name and got.fields == msg.fields


@pytest.mark.parametrize("name", S1AP_NAMES)
@SETTINGS
@given(data=st.data())
def test_generated_messages_encode_and_decode_identically(name: str, data: st.DataObject) -> None:
    msg = data.draw(s1ap_message(name, valid=True))
    fast = check_s1ap_encode(msg)
    try:
        wire = s1ap.encode_pycrate(msg)
    except Exception:
        return
    assert fast is not None, f"declined a well-formed {name}: {msg.fields}"
    got = check_s1ap_decode(wire)
    try:
        s1ap.decode_pycrate(wire)
    except Exception:
        return
    assert got is not None, f"declined a well-formed {name}: {wire.hex()}"


@pytest.mark.parametrize("name", S1AP_NAMES)
@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_invalid_values_are_declined_or_identical(name: str, data: st.DataObject) -> None:
    check_s1ap_encode(data.draw(s1ap_message(name, valid=False)))


@pytest.mark.parametrize("name", sorted(S1AP_SAMPLES))
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_mutated_bytes_same_accept_reject_and_cause(name: str, data: st.DataObject) -> None:
    wire = s1ap.encode_pycrate(S1AP_SAMPLES[name])
    check_s1ap_decode(data.draw(mutated_bytes(wire)))


@SETTINGS
@given(raw=st.binary(max_size=80))
def test_random_bytes_same_accept_reject_and_cause(raw: bytes) -> None:
    check_s1ap_decode(raw)
    # an Initial UE Message header (procedure 12, ignore) before random content
    check_s1ap_decode(b"\x00\x0c\x40" + bytes((len(raw),)) + raw)


def test_messages_outside_the_fast_set_go_to_pycrate() -> None:
    reset = s1ap.reset(("misc", "om-intervention"))
    assert fs.encode(reset) is None
    wire = s1ap.encode(reset)
    assert fs.decode(wire) is None and s1ap.decode(wire).name == "Reset"


def test_trailing_octets_are_left_to_pycrate() -> None:
    """TS 36.413 §10.2: octets after the S1AP-PDU are a transfer syntax error, pycrate's to
    report."""
    wire = s1ap.encode_pycrate(S1AP_SAMPLES["DownlinkNASTransport"]) + b"\x00\x00"
    assert fs.decode(wire) is None
    check_s1ap_decode(wire)


def test_iE_extensions_are_left_to_pycrate() -> None:
    """"iE-Extensions" stay in pycrate's value form (corenet.codecs.s1ap): the fast path declines."""
    base = S1AP_SAMPLES["InitialContextSetupRequest"]
    caps = {**base.fields["UESecurityCapabilities"], "iE-Extensions": []}
    msg = Message("s1ap", base.name, base.code, {**base.fields, "UESecurityCapabilities": caps})
    assert fs.encode(msg) is None


def test_extension_enumerated_value() -> None:
    """X.691 §14.3: an ENUMERATED value after the extension marker (RRC Establishment Cause
    mo-VoiceCall, TS 36.413 §9.2.1.3a) is coded as a normally small number, as pycrate does."""
    base = S1AP_SAMPLES["InitialUEMessage"]
    msg = Message("s1ap", base.name, base.code,
                  {**base.fields, "RRC-Establishment-Cause": "mo-VoiceCall"})
    wire = check_s1ap_encode(msg)
    assert wire is not None
    got = check_s1ap_decode(wire)
    assert got is not None and got.fields["RRC-Establishment-Cause"] == "mo-VoiceCall"


def test_long_values_take_the_two_octet_length() -> None:
    """X.691 §11.9.3.7: an IE value and a message content of 128 octets or more carry a
    two-octet length determinant (10xxxxxx xxxxxxxx), written and read as pycrate does."""
    base = S1AP_SAMPLES["DownlinkNASTransport"]
    nas_pdu = bytes(range(256)) * 2
    msg = Message("s1ap", base.name, base.code, {**base.fields, "NAS-PDU": nas_pdu})
    wire = check_s1ap_encode(msg)
    assert wire is not None and wire == s1ap.encode_pycrate(msg)
    assert wire[3] >> 6 == 2  # the content's length: two octets
    got = check_s1ap_decode(wire)
    assert got is not None and got.fields["NAS-PDU"] == nas_pdu


# the PDU's first octet, its criticality's octet, the first IE's criticality octet (after
# the PDU header, the content's length, the container's head and the IE's id)
@pytest.mark.parametrize("offset", [0, 2, 3 + 1 + 3 + 2])
def test_non_zero_padding_before_an_aligned_field_is_pycrate_s_to_judge(offset: int) -> None:
    """X.691 §11.1: the padding bits before an octet-aligned field are zero; in the PDU's
    first octet (after the CHOICE index) and after an IE's criticality (before its open
    type's length) the fast path leaves anything else to pycrate."""
    wire = bytearray(s1ap.encode_pycrate(S1AP_SAMPLES["UplinkNASTransport"]))
    wire[offset] |= 0x01
    assert fs.decode(bytes(wire)) is None
    check_s1ap_decode(bytes(wire))


def test_plmn_and_address_conversions_are_shared_and_a_bad_one_is_refused_every_time() -> None:
    """The PLMN identity (TS 36.413 §9.2.3.8) and transport layer address (§9.2.2.1) of the
    messages are converted once per value; a PLMN identity that is not BCD is refused at
    every message that carries it, not only the first."""
    msg = S1AP_SAMPLES["InitialUEMessage"]
    wire = s1ap.encode(msg)
    first, second = s1ap.decode(wire), s1ap.decode(wire)
    assert first.fields == second.fields == msg.fields
    assert first.fields["TAI"]["pLMNidentity"] is second.fields["TAI"]["pLMNidentity"]
    plmn = Plmn.parse(msg.fields["TAI"]["pLMNidentity"]).to_bytes()
    bad = wire.replace(plmn, b"\xaa\xaa\xaa")
    assert bad != wire
    for _ in range(2):
        assert fs.decode(bad) is None
        with pytest.raises(DecodeError):
            s1ap.decode(bad)
    ics = S1AP_SAMPLES["InitialContextSetupRequest"]
    assert s1ap.encode(ics) == s1ap.encode(ics) == s1ap.encode_pycrate(ics)


@pytest.mark.parametrize(("mme_ue_id", "enb_ue_id"), [
    (0, 0), (255, 255), (256, 65535), (65536, 65536), ((1 << 32) - 1, (1 << 24) - 1)])
def test_s1ap_ids_and_nas_pdu_on_octets_as_pycrate(mme_ue_id: int, enb_ue_id: int) -> None:
    """X.691 §11.5.7.4 / §13.2.6: an S1AP ID (TS 36.413 §9.2.3.3-4) in its fewest octets,
    their count in the first octet's top bits; the NAS-PDU (§9.2.3.5) after its length."""
    base = S1AP_SAMPLES["DownlinkNASTransport"]
    for nas_pdu in (b"", b"\x07\x5d", bytes(200)):
        msg = Message("s1ap", base.name, base.code, {
            **base.fields, "MME-UE-S1AP-ID": mme_ue_id, "eNB-UE-S1AP-ID": enb_ue_id,
            "NAS-PDU": nas_pdu})
        wire = check_s1ap_encode(msg)
        assert wire is not None and wire == s1ap.encode_pycrate(msg)
        got = check_s1ap_decode(wire)
        assert got is not None and got.fields == msg.fields


def test_an_s1ap_id_in_more_octets_than_needed_is_pycrate_s_to_judge() -> None:
    """X.691 §10.9 / §11.5.7.4: the offset in the minimum number of octets; 0x00 0x05 for 5
    is not the fast path's to accept."""
    msg = S1AP_SAMPLES["UplinkNASTransport"]
    wire = s1ap.encode_pycrate(Message("s1ap", msg.name, msg.code,
                                       {**msg.fields, "MME-UE-S1AP-ID": 5}))
    ie = wire.index(b"\x00\x00\x00\x02\x00\x05")  # id 0, reject, length 2, one octet: 5
    longer = bytearray(wire[:ie] + b"\x00\x00\x00\x03\x40\x00\x05" + wire[ie + 6:])
    longer[3] += 1  # the content's length
    assert fs.decode(bytes(longer)) is None
    check_s1ap_decode(bytes(longer))


def test_repeated_tai_and_ecgi_coded_once_and_given_as_copies() -> None:
    """TS 36.413 §9.2.3.16 TAI and §9.2.1.38 E-UTRAN CGI repeat in every Uplink NAS Transport
    of a cell: each distinct value is coded once; a receiver changing the decoded value does
    not change the next message's."""
    plmn = Plmn.parse("44020")
    msgs = [s1ap.uplink_nas_transport(7, 100 + i, b"\x07\x43", tai_plmn=plmn, tac=1,
                                      ecgi_plmn=plmn, cell_id=0x1234501) for i in range(3)]
    datas = [fs.encode(m) for m in msgs]
    assert datas == [s1ap.encode_pycrate(m) for m in msgs]
    tai = fs._PLANS_BY_NAME["UplinkNASTransport"].by_id[67]  # id-TAI
    enc, _ = tai.codec()  # type: ignore[misc]
    assert enc({"pLMNidentity": "44020", "tAC": 1}) is enc({"pLMNidentity": "44020", "tAC": 1})
    first = fs.decode(datas[0])
    assert first is not None and first.fields["TAI"] == {"pLMNidentity": "44020", "tAC": 1}
    first.fields["TAI"]["tAC"] = 99
    again = fs.decode(datas[1])
    assert again is not None and again.fields["TAI"] == {"pLMNidentity": "44020", "tAC": 1}
    assert again.fields["EUTRAN-CGI"] == {"pLMNidentity": "44020", "cell-ID": 0x1234501}


def test_a_boolean_never_takes_an_integer_value_coding() -> None:
    """UE-AMBR (§9.2.1.20) is coded once per value; True, which the fast path does not take
    for an INTEGER, does not reuse the coding of 1: it is still declined."""
    ics = s1ap.initial_context_setup_request(
        7, 100, 1, 1, [s1ap.ERabToBeSetup(5, 9, 15, "127.0.0.5", 1)], 0xC000, 0xC000,
        bytes(32))
    assert fs.encode(ics) == s1ap.encode_pycrate(ics)
    ambr = {"uEaggregateMaximumBitRateDL": True, "uEaggregateMaximumBitRateUL": 1}
    bad = Message("s1ap", ics.name, ics.code, {**ics.fields, "uEaggregateMaximumBitrate": ambr})
    assert fs.encode(bad) is None


def test_alignment_padding_must_be_zero() -> None:
    """X.691 §11.1: the padding bits up to the next octet are zero; any other value is left
    to pycrate (the fast reader declines)."""
    r = fs._R(b"\x80\x07")
    assert r.bits(1) == 1
    r.align()
    assert r.pos == 8 and r.bits(8) == 7
    bad = fs._R(b"\x81\x00")
    bad.bits(1)
    with pytest.raises(fs._Decline):
        bad.align()


def test_s1ap_ids_coded_once_per_value_and_a_boolean_still_declined() -> None:
    """TS 36.413 §9.2.3.3-4: the MME and eNB UE S1AP IDs of a connection recur in each of
    its messages; coded once per value, with the same octets and values as pycrate, and
    True is not taken for the ID 1."""
    msgs = [s1ap.downlink_nas_transport(1, 1 + i % 2, b"\x07\x55") for i in range(4)]
    datas = [fs.encode(m) for m in msgs]
    assert datas == [s1ap.encode_pycrate(m) for m in msgs]
    for m, d in zip(msgs, datas, strict=True):
        assert s1ap.decode_pycrate(d) == fs.decode(d) == m
    bad = Message("s1ap", msgs[0].name, msgs[0].code, {**msgs[0].fields, "MME-UE-S1AP-ID": True})
    assert fs.encode(bad) is None


def test_s1ap_id_tables_one_per_range_and_bounded() -> None:
    """The MME UE S1AP ID (0..2^32-1, §9.2.3.3) and eNB UE S1AP ID (0..2^24-1, §9.2.3.4)
    have one pair of coders for every message, whose tables hold the IDs in flight only."""
    coders = {id(ie.codec()[0]) for plan in fs._PLANS_BY_NAME.values()  # type: ignore[index]
              for ie in plan.ies if ie.name in ("MME-UE-S1AP-ID", "eNB-UE-S1AP-ID")}
    assert len(coders) == 2
    enc, dec = fs._INDEFINITE[(0, 2**32 - 1)]
    for v in range(fs._IDS_KEPT + 10):
        assert dec(enc(v)) == v
    cells = enc.__closure__  # type: ignore[attr-defined]
    tables = [c.cell_contents for c in cells if isinstance(c.cell_contents, dict)]
    assert tables and all(len(t) <= fs._IDS_KEPT for t in tables)


_E_RAB_LISTS = [("InitialContextSetupRequest", "E-RABToBeSetupListCtxtSUReq"),
                ("InitialContextSetupResponse", "E-RABSetupListCtxtSURes")]


def _outcome(fn: object, arg: object) -> object:
    """A coder's result, or "declined" for what makes the fast path decline (`fs.encode`,
    `fs.decode`)."""
    try:
        return ("ok", fn(arg))  # type: ignore[operator]
    except (fs._Decline, ValueError, TypeError, KeyError, IndexError, OverflowError):
        return ("declined",)


@pytest.mark.parametrize(("message", "ie_name"), _E_RAB_LISTS)
@settings(SETTINGS, max_examples=150)
@given(data=st.data())
def test_e_rab_lists_on_octets_as_on_bits(message: str, ie_name: str,
                                         data: st.DataObject) -> None:
    """TS 36.413 §9.1.4.1 / §9.1.4.3: the E-RAB lists of Initial Context Setup, coded on
    octets, give the bit buffers' octets and values (or decline alike) for any value, valid
    or not, and for the octets of a valid list damaged."""
    ie = next(i for i in fs._PLANS_BY_NAME[message].ies if i.name == ie_name)
    octets_enc, octets_dec = ie.codec()  # type: ignore[misc]
    bits_enc, bits_dec = fs._buffered(*fs._compiled(ie.asn))  # type: ignore[misc]
    value = data.draw(parity.s1ap_value(ie.asn, valid=data.draw(st.booleans()), depth=1))
    got = _outcome(octets_enc, value)
    assert got == _outcome(bits_enc, value)
    if got[0] != "ok":
        return
    wire = got[1]  # type: ignore[index]
    assert _outcome(octets_dec, wire) == _outcome(bits_dec, wire) == ("ok", value)
    damaged = data.draw(mutated_bytes(wire))
    assert _outcome(octets_dec, damaged) == _outcome(bits_dec, damaged)


def test_initial_context_setup_e_rabs_in_their_octets() -> None:
    """The E-RAB To Be Setup item (§9.1.4.1) with its NAS-PDU and the E-RAB Setup item
    (§9.1.4.3) of an attach, octet by octet as pycrate codes them; a GBR bearer's item
    (§9.2.1.18) takes the bit buffers, with pycrate's octets too."""
    req = s1ap.initial_context_setup_request(
        7, 100, 1, 1, [s1ap.ERabToBeSetup(5, 9, 15, "127.0.0.5", 0x01020304,
                                          nas_pdu=b"\x27\x01\x02")], 0xC000, 0xC000, bytes(32))
    wire = fs.encode(req)
    assert wire == s1ap.encode_pycrate(req)
    # count 1; id 52, reject, 18 octets; NAS-PDU present, E-RAB 5; QCI 9; priority 15;
    # 32-bit address; TEID; NAS-PDU
    assert (bytes.fromhex("00003400124500093c0f807f0000050102030403270102")
            in wire)  # type: ignore[operator]
    got = fs.decode(wire)  # type: ignore[arg-type]
    assert got is not None and got.fields == s1ap.decode_pycrate(wire).fields  # type: ignore[arg-type]
    item = got.fields["E-RABToBeSetupListCtxtSUReq"][0]
    assert item["transportLayerAddress"] == "127.0.0.5" and item["gTP-TEID"] == 0x01020304
    assert item["e-RABlevelQoSParameters"]["allocationRetentionPriority"]["priorityLevel"] == 15
    resp = s1ap.initial_context_setup_response(7, 100, [(5, "10.0.0.1", 0x0A0B0C0D)])
    wire = fs.encode(resp)
    assert wire == s1ap.encode_pycrate(resp)
    assert bytes.fromhex("000032400a0a1f0a0000010a0b0c0d") in wire  # type: ignore[operator]
    got = fs.decode(wire)  # type: ignore[arg-type]
    assert got is not None and got.fields["E-RABSetupListCtxtSURes"] == [
        {"e-RAB-ID": 5, "transportLayerAddress": "10.0.0.1", "gTP-TEID": 0x0A0B0C0D}]
    gbr = s1ap.initial_context_setup_request(
        7, 100, 1, 1, [s1ap.ERabToBeSetup(6, 1, 2, "::1", 9, gbr=(1, 2, 3, 4))], 0xC000,
        0xC000, bytes(32))
    wire = fs.encode(gbr)
    assert wire is not None and wire == s1ap.encode_pycrate(gbr)
    assert fs.decode(wire) == s1ap.decode_pycrate(wire)


def test_message_layouts_follow_the_ie_set_order_and_are_bounded() -> None:
    """TS 36.413 §9.3.7: the IEs go in the IE set's order whatever the order of the fields;
    each order of names met is laid out once, in a bounded table; a name outside the IE set
    or a missing mandatory IE is declined every time."""
    msg = s1ap.uplink_nas_transport(7, 100, b"\x07\x43", tai_plmn=Plmn.parse("44020"), tac=1,
                                    ecgi_plmn=Plmn.parse("44020"), cell_id=0x1234501)
    plan = fs._PLANS_BY_NAME[msg.name]
    plan.layouts.clear()
    wire = s1ap.encode_pycrate(msg)
    backwards = Message("s1ap", msg.name, msg.code, dict(reversed(msg.fields.items())))
    assert fs.encode(msg) == fs.encode(backwards) == wire
    assert len(plan.layouts) == 2
    for _ in range(2):
        assert fs.encode(Message("s1ap", msg.name, msg.code, {**msg.fields, "Cause": 1})) is None
        partial = {k: v for k, v in msg.fields.items() if k != "NAS-PDU"}
        assert fs.encode(Message("s1ap", msg.name, msg.code, partial)) is None
    orders = list(itertools.permutations(msg.fields))
    assert len(orders) > fs._LAYOUTS_KEPT
    for order in orders:
        fields = {k: msg.fields[k] for k in order}
        assert fs.encode(Message("s1ap", msg.name, msg.code, fields)) == wire
        assert 0 < len(plan.layouts) <= fs._LAYOUTS_KEPT
    assert fs.encode(msg) == wire


def _encoded_or_error(fn: object) -> object:
    try:
        return fn()  # type: ignore[operator]
    except EncodeError as exc:
        return ("EncodeError", type(exc))


@settings(SETTINGS, max_examples=150)
@given(mme_id=st.one_of(st.integers(0, 2**32 - 1), st.integers(-2, -1), st.just(2**32)),
       enb_id=st.one_of(st.integers(0, 2**24 - 1), st.just(2**24)),
       nas=st.one_of(st.binary(min_size=1, max_size=300), st.none()),
       cause=st.sampled_from(["mo-Signalling", "emergency", "mo-Data", "no-such-cause"]),
       s_tmsi=st.one_of(st.none(), st.tuples(st.integers(0, 255), st.integers(0, 2**32 - 1))),
       tac=st.integers(0, 0xFFFF), cell_id=st.integers(0, 2**28 - 1),
       level=st.sampled_from(["fast", "pycrate"]))
def test_a_cells_messages_as_the_builders_encoded(
        mme_id: int, enb_id: int, nas: bytes | None, cause: str,
        s_tmsi: tuple[int, int] | None, tac: int, cell_id: int, level: str) -> None:
    """TS 36.413 §9.1.7.1 / §9.1.7.3: the Initial UE Message and Uplink NAS Transport of a
    cell, its TAI and E-UTRAN CGI coded once, are the octets of the builders' messages (or
    their EncodeError), at either codec level."""
    tai_plmn, ecgi_plmn = Plmn.parse("44020"), Plmn.parse("44010")
    cell = s1ap.CellMessages(tai_plmn, tac, ecgi_plmn, cell_id)
    with parity.codec_level(level):
        for _ in range(2):  # the second time from the cell's coded IEs
            assert _encoded_or_error(lambda: cell.uplink_nas_transport(
                mme_id, enb_id, nas)) == _encoded_or_error(lambda: s1ap.encode_pycrate(
                    s1ap.uplink_nas_transport(mme_id, enb_id, nas, tai_plmn, tac, ecgi_plmn,
                                              cell_id)))
            assert _encoded_or_error(lambda: cell.initial_ue_message(
                enb_id, nas, cause, s_tmsi)) == _encoded_or_error(lambda: s1ap.encode_pycrate(
                    s1ap.initial_ue_message(enb_id, nas, tai_plmn, tac, ecgi_plmn, cell_id,
                                            cause, s_tmsi)))


@settings(SETTINGS, max_examples=150)
@given(mme_id=st.one_of(st.integers(0, 2**32 - 1), st.just(2**32)),
       enb_id=st.integers(0, 2**24 - 1),
       nas=st.one_of(st.binary(min_size=1, max_size=300), st.none()),
       ambr=st.tuples(st.integers(0, 10**10), st.one_of(st.integers(0, 10**10), st.just(True))),
       algorithms=st.tuples(st.sampled_from([0, 0xE000, 0xC000, 0x10000]),
                            st.sampled_from([0, 0xE000, 0x4000])),
       key=st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=31),
                     st.tuples(st.integers(0, 2**256 - 1), st.just(256))),
       erabs=st.lists(st.tuples(st.integers(0, 15), st.integers(1, 9), st.integers(0, 2**32 - 1),
                                st.sampled_from(["127.0.0.5", "10.1.2.3", "2001:db8::1"])),
                      min_size=1, max_size=3),
       hrl=st.sampled_from([None, ("44020", []), ("44020", ["44010"]),
                            ("44010", ["44020", "44051"])]),
       radio=st.one_of(st.none(), st.binary(max_size=400)),
       level=st.sampled_from(["fast", "pycrate"]))
def test_an_mmes_messages_as_the_builders_encoded(
        mme_id: int, enb_id: int, nas: bytes | None, ambr: tuple[int, int],
        algorithms: tuple[int, int], key: bytes, erabs: list[tuple[int, int, int, str]],
        hrl: tuple[str, list[str]] | None, radio: bytes | None, level: str) -> None:
    """TS 36.413 §9.1.7.2 / §9.1.4.1: the Downlink NAS Transports and Initial Context Setup
    Requests of an MME, the UE-AMBR, UE Security Capabilities and Handover Restriction List
    coded once per distinct triple, are the octets of the builders' messages (or their
    EncodeError), at either codec level."""
    mme = s1ap.MmeMessages()
    restriction = None if hrl is None else s1ap.handover_restriction_list(*hrl)
    e_rabs = [s1ap.ERabToBeSetup(e, q, 15, a, teid, nas if i == 0 else None)
              for i, (e, q, teid, a) in enumerate(erabs)]
    args = (mme_id, enb_id, *ambr, e_rabs, *algorithms, key, restriction, radio)
    with parity.codec_level(level):
        for _ in range(2):  # the second time from the triple's coded IEs
            assert _encoded_or_error(lambda: mme.downlink_nas_transport(
                mme_id, enb_id, nas)) == _encoded_or_error(lambda: s1ap.encode_pycrate(
                    s1ap.downlink_nas_transport(mme_id, enb_id, nas)))  # type: ignore[arg-type]
            assert _encoded_or_error(lambda: mme.initial_context_setup_request(
                *args)) == _encoded_or_error(lambda: s1ap.encode_pycrate(
                    s1ap.initial_context_setup_request(*args)))  # type: ignore[arg-type]


def test_an_mmes_context_setup_templates_per_triple_and_bounded() -> None:
    """A template per distinct UE-AMBR, algorithms and restriction list (1 and True kept
    apart), at most `_SETUPS_KEPT`."""
    mme = s1ap.MmeMessages()
    erab = [s1ap.ERabToBeSetup(5, 9, 15, "127.0.0.5", 7, b"\x27")]
    for ul in (1, True, 1):
        got = mme.initial_context_setup_request(1, 2, 1, ul, erab, 0, 0, bytes(32))
        assert got == s1ap.encode_pycrate(s1ap.initial_context_setup_request(
            1, 2, 1, ul, erab, 0, 0, bytes(32)))
    assert len(mme._setups) == 1  # True is not an int: the builder's message
    for dl in range(2 * s1ap.MmeMessages._SETUPS_KEPT):
        mme.initial_context_setup_request(1, 2, dl, 1, erab, 0, 0, bytes(32))
        assert len(mme._setups) <= s1ap.MmeMessages._SETUPS_KEPT


_S1AP_ID = st.one_of(st.integers(0, 2**8 - 1), st.integers(2**8, 2**16 - 1),
                    st.integers(2**16, 2**24 - 1), st.integers(2**24, 2**32 - 1))


@settings(SETTINGS, max_examples=100)
@given(shape=st.lists(st.tuples(st.one_of(st.integers(0, 15), st.just(16), st.just(True)),
                                st.sampled_from(["127.0.0.5", "10.1.2.3", "2001:db8::1",
                                                 bytes(4)])),
                      min_size=0, max_size=3),
       ues=st.lists(st.tuples(st.one_of(_S1AP_ID, st.just(2**32), st.just(-1), st.just(True)),
                              st.one_of(_S1AP_ID, st.just(-1)),
                              st.lists(st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([2**32, -1, True])),
                                       min_size=3, max_size=3)),
                    min_size=1, max_size=4),
       radio=st.one_of(st.binary(max_size=300), st.just(b"")),
       level=st.sampled_from(["fast", "pycrate"]))
def test_an_enbs_messages_as_the_builders_encoded(
        shape: list[tuple[int, object]], ues: list[tuple[int, int, list[int]]], radio: bytes,
        level: str) -> None:
    """TS 36.413 §9.1.4.3 / §9.1.10: the Initial Context Setup Responses and UE Capability
    Info Indications of an eNB, written over a shape's octets with each UE's S1AP IDs and
    GTP-TEIDs, are the octets of the builders' messages by pycrate and by the whole fast
    encoder (or their EncodeError), at either codec level."""
    enb = s1ap.EnbMessages()
    for mme_id, enb_id, teids in ues:
        e_rabs = [(i, a, t) for (i, a), t in zip(shape, teids, strict=False)]
        response = s1ap.initial_context_setup_response(mme_id, enb_id, e_rabs)  # type: ignore[arg-type]
        indication = s1ap.ue_capability_info_indication(mme_id, enb_id, radio)
        with parity.codec_level(level):
            got = _encoded_or_error(functools.partial(
                enb.initial_context_setup_response, mme_id, enb_id, e_rabs))
            info = _encoded_or_error(functools.partial(
                enb.ue_capability_info_indication, mme_id, enb_id, radio))
        assert got == _encoded_or_error(functools.partial(s1ap.encode_pycrate, response))
        assert info == _encoded_or_error(functools.partial(s1ap.encode_pycrate, indication))
        with parity.codec_level("fast"):
            assert got == _encoded_or_error(functools.partial(s1ap.encode, response))
            assert info == _encoded_or_error(functools.partial(s1ap.encode, indication))


def test_an_enbs_messages_from_one_template_per_shape_and_bounded() -> None:
    """One encoding per shape (E-RABs, capability, octets of each S1AP ID), the UEs of a
    shape written over its octets; at most `_SHAPES_KEPT` shapes."""
    enb = s1ap.EnbMessages()
    with parity.codec_level("fast"):
        for n in range(300, 340):
            got = enb.initial_context_setup_response(n * 977, n, [(5, "127.0.0.5", n * 13)])
            decoded = s1ap.decode(got)
            assert decoded.fields["MME-UE-S1AP-ID"] == n * 977
            assert decoded.fields["eNB-UE-S1AP-ID"] == n
            assert decoded.fields["E-RABSetupListCtxtSURes"][0]["gTP-TEID"] == n * 13
            info = s1ap.decode(enb.ue_capability_info_indication(n * 977, n, b"\x01\x02"))
            assert (info.fields["MME-UE-S1AP-ID"], info.fields["eNB-UE-S1AP-ID"],
                    info.fields["UERadioCapability"]) == (n * 977, n, b"\x01\x02")
        assert list(enb._responses) == [(3, 2, (5, int, "127.0.0.5"))]
        assert list(enb._indications) == [(3, 2, b"\x01\x02")]
        for n in range(2 * s1ap.EnbMessages._SHAPES_KEPT):
            enb.initial_context_setup_response(1, 2, [(5, f"127.0.0.{n}", 7)])
            enb.ue_capability_info_indication(1, 2, bytes([n]))
            assert len(enb._responses) <= s1ap.EnbMessages._SHAPES_KEPT
            assert len(enb._indications) <= s1ap.EnbMessages._SHAPES_KEPT


def test_security_key_on_octets_as_on_bits() -> None:
    """TS 36.413 §9.2.1.41: the 256-bit KeNB is its 32 octets in the open type (X.691 §16.10,
    aligned, no length); another form goes through the bit buffers as before."""
    plan = fs._PLANS_BY_NAME["InitialContextSetupRequest"]
    enc, dec = next(ie.codec() for ie in plan.ies if ie.name == "SecurityKey")  # type: ignore[misc]
    key = bytes(range(32))
    assert enc(key) == key and dec(key) == key
    assert enc((int.from_bytes(key, "big"), 256)) == key
    for bad in (key[:31], (1, 255)):
        with pytest.raises(fs._Decline):
            enc(bad)
    for short in (key[:31], key + b"\x00"):
        with pytest.raises(fs._Decline):
            dec(short)


def _attach_message(name: str, n: int) -> Message:
    """UE n's message `name` of an attach (TS 36.413 §9.1.7.1-3, §9.1.4.1, §9.1.4.3,
    §9.1.10): its own S1AP IDs, NAS-PDU, TEIDs, addresses, Security Key and capability."""
    plmn = Plmn.parse("44020")
    nas = bytes((0x27, n & 0xFF)) + bytes(range(n % 5 + 3))
    if name == "DownlinkNASTransport":
        return s1ap.downlink_nas_transport(n * 977, n * 3 + 1, nas)
    if name == "UplinkNASTransport":
        return s1ap.uplink_nas_transport(n * 977, n * 3 + 1, nas, tai_plmn=plmn, tac=1,
                                         ecgi_plmn=plmn, cell_id=0x1234501)
    if name == "InitialUEMessage":
        return s1ap.initial_ue_message(n * 3 + 1, nas, plmn, 1, plmn, 0x1234501,
                                       s_tmsi=(1, n * 7))
    if name == "InitialContextSetupRequest":
        erabs = [s1ap.ERabToBeSetup(5, 9, 15, f"127.0.{n % 3}.5", n * 11, nas)]
        return s1ap.initial_context_setup_request(
            n * 977, n * 3 + 1, 100_000_000, 50_000_000, erabs, 0xE000, 0xC000,
            bytes((n + i) & 0xFF for i in range(32)), s1ap.handover_restriction_list(plmn))
    if name == "InitialContextSetupResponse":
        return s1ap.initial_context_setup_response(n * 977, n * 3 + 1,
                                                   [(5, f"127.1.0.{n % 250 + 1}", n * 13)])
    return s1ap.ue_capability_info_indication(n * 977, n * 3 + 1, nas * 3)


def test_another_cells_decode_template_refused_before_reading_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """TS 36.413 §9.1.7.3: the Uplink NAS Transports of two cells differ in the TAI and
    E-UTRAN CGI after the varying values; a message of the second cell is refused by the first
    cell's template on those octets, before its S1AP IDs and NAS-PDU are read, and decodes from
    its own cell's template as the pycrate path decodes it."""
    plan = fs._PLANS_BY_NAME["UplinkNASTransport"]
    monkeypatch.setattr(plan, "dec_templates", [])
    plmn = Plmn.parse("44020")

    def uplink(n: int, cell_id: int) -> bytes:
        return s1ap.encode_pycrate(s1ap.uplink_nas_transport(
            n * 977, n * 3 + 1, bytes((0x27, n)), plmn, 1, plmn, cell_id))
    for cell_id in (0x1234501, 0x1234502):
        fs.decode(uplink(1, cell_id))
    assert len(plan.dec_templates) == 2  # type: ignore[arg-type]
    reads: list[str] = []

    def counted(name: str, dec: fs.WholeDec) -> fs.WholeDec:
        return lambda data: reads.append(name) or dec(data)
    plan.dec_templates = [tuple(  # type: ignore[assignment]
        (octets, count, consts, name, None if dec is None else counted(name, dec))
        for octets, count, consts, name, dec in template)
        for template in plan.dec_templates]  # type: ignore[union-attr]
    wire = uplink(2, 0x1234502)
    got = fs.decode(wire)
    assert got == s1ap.decode_pycrate(wire) and got.fields["EUTRAN-CGI"]["cell-ID"] == 0x1234502
    assert reads == ["MME-UE-S1AP-ID", "eNB-UE-S1AP-ID", "NAS-PDU"]


@pytest.mark.parametrize("size", [1, 127, 128, 300, 16000])
def test_decode_template_reads_one_and_two_octet_lengths(
        size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """X.691 §11.9.3.6-7: a varying value of any length (one length octet below 128, two from
    128) read through a template as the pycrate path reads it; the same message cut short
    by one octet is refused as pycrate refuses it."""
    plan = fs._PLANS_BY_NAME["DownlinkNASTransport"]
    monkeypatch.setattr(plan, "dec_templates", [])
    fs.decode(s1ap.encode_pycrate(s1ap.downlink_nas_transport(1, 2, b"\x27")))
    nas = (bytes(range(256)) * 64)[:size]
    wire = s1ap.encode_pycrate(s1ap.downlink_nas_transport(977, 3, nas))
    whole = fs._decode_content
    monkeypatch.setattr(fs, "_decode_content", lambda *a: pytest.fail("not from the template"))
    assert fs.decode(wire) == s1ap.decode_pycrate(wire)
    monkeypatch.setattr(fs, "_decode_content", whole)
    assert fs.decode(wire[:-1]) is None
    with pytest.raises(DecodeError):
        s1ap.decode(wire[:-1])


def _decoded_whole(data: bytes) -> object:
    """What the fast decoder gives IE by IE (`_decode_content`), or "declined"."""
    try:
        data = bytes(data)
        plan = fs._PLANS_BY_HEAD.get((data[0], data[1]))
        if plan is None or data[0] & 0x9F or data[2] != plan.head[2]:
            return "declined"
        start, stop = fs._open_span(data, 3, len(data))
        got = fs._decode_content(plan, data, start) if stop == len(data) else None
    except Exception:
        return "declined"
    return "declined" if got is None else repr(got)


@pytest.mark.parametrize("name", sorted(fs._DEC_TEMPLATED))
def test_decode_templates_give_what_the_decoder_gives(name: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An attach message whose octets outside the S1AP IDs, NAS-PDU, E-RAB, Security Key,
    S-TMSI and UE Radio Capability values equal those of one decoded before decodes from that
    one's values, those IEs read anew; with any one octet changed it decodes to what the IE by
    IE decoder gives, and is refused as that (and pycrate) refuses it."""
    plan = fs._PLANS_BY_NAME[name]
    monkeypatch.setattr(plan, "dec_templates", [])
    first = s1ap.encode_pycrate(_attach_message(name, 1))
    assert repr(fs.decode(first)) == _decoded_whole(first)
    assert len(plan.dec_templates) == 1  # type: ignore[arg-type]
    whole = fs._decode_content
    calls: list[str] = []
    monkeypatch.setattr(fs, "_decode_content", lambda *a: calls.append(name) or whole(*a))
    for n in (2, 3, 300, 70001):
        other = s1ap.encode_pycrate(_attach_message(name, n))
        got = fs.decode(other)
        assert calls == [] and got == s1ap.decode_pycrate(other)
        monkeypatch.setattr(fs, "_decode_content", whole)
        assert repr(got) == _decoded_whole(other)
        monkeypatch.setattr(fs, "_decode_content", lambda *a: calls.append(name) or whole(*a))
    monkeypatch.setattr(fs, "_decode_content", whole)
    for i in range(len(other)):
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(other)
            damaged[i] ^= flip
            got = fs.decode(bytes(damaged))
            assert (repr(got) if got is not None else "declined") == _decoded_whole(
                bytes(damaged))
            check_s1ap_decode(bytes(damaged))
    assert len(plan.dec_templates) <= fs._DEC_TEMPLATES_KEPT  # type: ignore[arg-type]


def test_decode_template_gives_each_message_its_own_values() -> None:
    """Two UEs' Initial Context Setup Requests of one template: each decodes to its own IDs,
    E-RAB and Security Key, and its own UE-AMBR, security capabilities and Handover
    Restriction List objects (changing one changes no other)."""
    plan = fs._PLANS_BY_NAME["InitialContextSetupRequest"]
    plan.dec_templates = []
    first, second, third = (fs.decode(s1ap.encode_pycrate(
        _attach_message("InitialContextSetupRequest", n))) for n in (1, 2, 3))
    assert first is not None and second is not None and third is not None
    assert len(plan.dec_templates) == 1
    f, s = first.fields, second.fields
    assert (f["MME-UE-S1AP-ID"], s["MME-UE-S1AP-ID"], s["eNB-UE-S1AP-ID"]) == (977, 1954, 7)
    assert s["E-RABToBeSetupListCtxtSUReq"][0]["gTP-TEID"] == 22
    assert s["SecurityKey"] == bytes(range(2, 34))
    f["HandoverRestrictionList"]["servingPLMN"] = "00101"
    f["uEaggregateMaximumBitrate"]["uEaggregateMaximumBitRateDL"] = 1
    f["UESecurityCapabilities"]["encryptionAlgorithms"] = 0
    again = fs.decode(s1ap.encode_pycrate(_attach_message("InitialContextSetupRequest", 4)))
    assert again is not None
    for fields in (s, third.fields, again.fields):
        assert fields["HandoverRestrictionList"]["servingPLMN"] == "44020"
        assert fields["uEaggregateMaximumBitrate"]["uEaggregateMaximumBitRateDL"] == 100_000_000
        assert fields["UESecurityCapabilities"]["encryptionAlgorithms"] == 0xE000
