"""Diameter base (RFC 6733) and S6a (TS 29.272) codec."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from scapy.all import IP, TCP, Raw, wrpcap

from corenet.codecs import diameter as d
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn

MME_HOST = "mme.epc.mnc020.mcc440.3gppnetwork.org"
MME_REALM = "epc.mnc020.mcc440.3gppnetwork.org"
HSS_HOST = "hss.epc.mnc010.mcc440.3gppnetwork.org"
HSS_REALM = "epc.mnc010.mcc440.3gppnetwork.org"
IMSI = "440100123456789"
RESCUER = Plmn("440", "20")
SID = d.session_id(MME_HOST, 7, 42)

VECTOR = s6a.EutranVector(
    rand=bytes(range(16)), xres=bytes(range(8)), autn=bytes(range(16, 32)),
    kasme=bytes(range(32, 64)), item_number=1,
)
SUBSCRIPTION = s6a.SubscriptionData(
    msisdn="819012345678",
    access_restriction_data=0,
    ambr=s6a.Ambr(300_000, 300_000),
    apn_configurations=(
        s6a.ApnConfiguration(1, "internet", ambr=s6a.Ambr(300_000, 300_000)),
        s6a.ApnConfiguration(2, "ims", pdn_type=s6a.PdnType.IPV4V6, qos_class_identifier=5),
    ),
)


def _air(**kw: object) -> Message:
    return s6a.air(SID, MME_HOST, MME_REALM, HSS_REALM, IMSI, RESCUER, hop_by_hop=0x11,
                   end_to_end=0x22, **kw)  # type: ignore[arg-type]


def _ulr() -> Message:
    return s6a.ulr(SID, MME_HOST, MME_REALM, HSS_REALM, IMSI, RESCUER, hop_by_hop=0x33,
                   end_to_end=0x44, imei="35349006987330", software_version="01",
                   ulr_flags=s6a.UlrFlags.S6A_S6D_INDICATOR | s6a.UlrFlags.INITIAL_ATTACH_INDICATOR,
                   ue_srvcc_capability=s6a.UeSrvccCapability.UE_SRVCC_NOT_SUPPORTED)


def _clr() -> Message:
    return s6a.clr(SID, HSS_HOST, HSS_REALM, MME_HOST, MME_REALM, IMSI, hop_by_hop=5,
                   end_to_end=6, clr_flags=s6a.ClrFlags.S6A_S6D_INDICATOR)


def _idr() -> Message:
    return s6a.idr(SID, HSS_HOST, HSS_REALM, MME_HOST, MME_REALM, IMSI, SUBSCRIPTION,
                   hop_by_hop=7, end_to_end=8, idr_flags=s6a.IdrFlags.UE_REACHABILITY_REQUEST)


def _pur() -> Message:
    return s6a.pur(SID, MME_HOST, MME_REALM, HSS_REALM, IMSI, hop_by_hop=9, end_to_end=10)


def _cer() -> Message:
    return d.cer(MME_HOST, MME_REALM, ["192.0.2.1", "2001:db8::1"], hop_by_hop=1,
                 end_to_end=2, origin_state_id=3)


def _all_messages() -> list[Message]:
    cer, dwr, dpr = _cer(), d.dwr(MME_HOST, MME_REALM, hop_by_hop=3, end_to_end=4), d.dpr(
        MME_HOST, MME_REALM, hop_by_hop=5, end_to_end=6)
    air, ulr, clr, idr, pur = _air(), _ulr(), _clr(), _idr(), _pur()
    return [
        cer, d.cea(cer, HSS_HOST, HSS_REALM, ["192.0.2.2"], error_message="hello"),
        dwr, d.dwa(dwr, HSS_HOST, HSS_REALM, origin_state_id=9),
        dpr, d.dpa(dpr, HSS_HOST, HSS_REALM),
        air, s6a.aia(air, HSS_HOST, HSS_REALM, vectors=[VECTOR]),
        ulr, s6a.ula(ulr, HSS_HOST, HSS_REALM, subscription_data=SUBSCRIPTION),
        clr, s6a.cla(clr, MME_HOST, MME_REALM),
        idr, s6a.ida(idr, MME_HOST, MME_REALM, ida_flags=1),
        pur, s6a.pua(pur, HSS_HOST, HSS_REALM, pua_flags=s6a.PuaFlags.FREEZE_M_TMSI),
    ]


def _roundtrip(msg: Message) -> tuple[bytes, Message]:
    wire = d.encode(msg)
    back = d.decode(wire)
    assert d.encode(back) == wire
    return wire, back


# ------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("msg", _all_messages(), ids=lambda m: m.name)
def test_every_command_round_trips(msg: Message) -> None:
    wire, back = _roundtrip(msg)
    assert back.name == msg.name and back.code == msg.code
    assert back.fields == msg.fields  # builders already use the decoded representation
    assert d.message_length(wire[:4]) == len(wire)
    d.check_mandatory(back)


def test_command_codes_and_flags() -> None:
    codes = {m.name: (m.code, m.fields["flags"]["proxiable"]) for m in _all_messages()}
    assert codes == {
        "CER": (257, False), "CEA": (257, False), "DWR": (280, False), "DWA": (280, False),
        "DPR": (282, False), "DPA": (282, False), "AIR": (318, True), "AIA": (318, True),
        "ULR": (316, True), "ULA": (316, True), "CLR": (317, True), "CLA": (317, True),
        "IDR": (319, True), "IDA": (319, True), "PUR": (321, True), "PUA": (321, True),
    }


def test_dwr_wire_layout() -> None:
    wire = d.encode(d.dwr("a.b", "b", hop_by_hop=0x01020304, end_to_end=0x05060708))
    assert wire.hex() == (
        "0100002c"  # version 1, length 44
        "80000118"  # R bit, command 280
        "00000000" "01020304" "05060708"  # application 0, hop-by-hop, end-to-end
        "000001084000000b612e6200"  # Origin-Host, M bit, length 11, padded
        "000001284000000962000000"  # Origin-Realm "b"
    )


def test_answers_copy_session_and_identifiers() -> None:
    air = _air()
    aia = d.decode(d.encode(s6a.aia(air, HSS_HOST, HSS_REALM, vectors=[VECTOR])))
    assert aia.fields["hop_by_hop"] == 0x11 and aia.fields["end_to_end"] == 0x22
    assert aia.fields["flags"] == {"request": False, "proxiable": True, "error": False,
                                   "retransmit": False}
    assert d.avp(aia, "Session-Id") == SID
    assert aia.fields["application_id"] == d.S6A_APPLICATION_ID


def test_aia_vectors_and_result() -> None:
    _, aia = _roundtrip(s6a.aia(_air(), HSS_HOST, HSS_REALM, vectors=[VECTOR, VECTOR]))
    assert d.avp(aia, "Result-Code") == 2001
    assert s6a.result_of(aia) == s6a.Result(2001, False)
    assert s6a.vectors_of(aia) == [VECTOR, VECTOR]
    assert d.avp(aia, "Authentication-Info", "E-UTRAN-Vector", "KASME") == bytes(range(32, 64))


def test_aia_experimental_result() -> None:
    _, aia = _roundtrip(s6a.aia(
        _air(), HSS_HOST, HSS_REALM,
        experimental_result=d.ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN))
    assert d.avp(aia, "Result-Code") is None
    assert d.avp(aia, "Experimental-Result", "Experimental-Result-Code") == 5001
    assert d.avp(aia, "Experimental-Result", "Vendor-Id") == 10415
    assert s6a.result_of(aia) == s6a.Result(5001, True)
    assert s6a.vectors_of(aia) == []


def test_air_fields() -> None:
    _, air = _roundtrip(_air(num_vectors=2, resync_info=bytes(range(30)),
                             immediate_response_preferred=True, destination_host=HSS_HOST))
    info = d.avps_dict(air)["Requested-EUTRAN-Authentication-Info"]
    assert info == {"Number-Of-Requested-Vectors": 2, "Immediate-Response-Preferred": 1,
                    "Re-Synchronization-Info": bytes(range(30))}
    assert Plmn.from_bytes(d.avp(air, "Visited-PLMN-Id")) == RESCUER
    assert d.avp(air, "User-Name") == IMSI
    assert d.avp(air, "Destination-Host") == HSS_HOST


def test_ulr_fields() -> None:
    _, ulr = _roundtrip(_ulr())
    fields = d.avps_dict(ulr)
    assert fields["RAT-Type"] == s6a.RAT_TYPE_EUTRAN
    assert fields["ULR-Flags"] == 0b100010
    assert fields["Terminal-Information"] == {"IMEI": "35349006987330", "Software-Version": "01"}
    assert fields["UE-SRVCC-Capability"] == 0
    assert fields["Visited-PLMN-Id"] == bytes.fromhex("44f002")


def test_ula_subscription_data() -> None:
    _, ula = _roundtrip(s6a.ula(_ulr(), HSS_HOST, HSS_REALM, subscription_data=SUBSCRIPTION))
    assert d.avp(ula, "ULA-Flags") == 1
    assert d.avp(ula, "Subscription-Data", "MSISDN") == bytes.fromhex("180921436587")
    assert d.avp(ula, "Subscription-Data", "AMBR", "Max-Requested-Bandwidth-UL") == 300_000
    apns = d.avp_all(ula, "Subscription-Data", "APN-Configuration-Profile", "APN-Configuration")
    assert [d.avp(a, "Service-Selection") for a in apns] == ["internet", "ims"]
    assert d.avp(apns[1], "EPS-Subscribed-QoS-Profile", "QoS-Class-Identifier") == 5
    assert d.avp(apns[0], "AMBR", "Max-Requested-Bandwidth-DL") == 300_000
    assert s6a.subscription_data_of(ula) == s6a.SubscriptionData(
        msisdn="819012345678", access_restriction_data=0, ambr=s6a.Ambr(300_000, 300_000),
        default_context_identifier=1, apn_configurations=SUBSCRIPTION.apn_configurations)


def test_one_profile_read_once_for_every_subscriber_of_it() -> None:
    """An MME receives the same APN-Configuration-Profile (TS 29.272 §7.3.34) for every
    subscriber of a profile: its APN-Configurations are read once and shared (they cannot
    change), while each subscriber's own data is read from its ULA."""
    other = s6a.SubscriptionData(msisdn="819099999999", ambr=s6a.Ambr(1, 2),
                                 apn_configurations=SUBSCRIPTION.apn_configurations)
    first, second = (s6a.subscription_data_of(_roundtrip(
        s6a.ula(_ulr(), HSS_HOST, HSS_REALM, subscription_data=data))[1])
        for data in (SUBSCRIPTION, other))
    assert first is not None and second is not None
    assert first.msisdn == "819012345678" and second.msisdn == "819099999999"
    assert second.ambr == s6a.Ambr(1, 2)
    assert first.apn_configurations == SUBSCRIPTION.apn_configurations
    assert second.apn_configurations is first.apn_configurations
    # the same profile as plain lists (the pycrate path's decode): found by its content
    wire = d.encode(s6a.ula(_ulr(), HSS_HOST, HSS_REALM, subscription_data=other))
    plain = s6a.subscription_data_of(d.decode_pycrate(wire))
    assert type(d.avp(d.decode(wire), "Subscription-Data", "APN-Configuration-Profile")) is (
        d.SharedGroup)
    assert plain is not None and plain.apn_configurations == first.apn_configurations
    again = s6a.subscription_data_of(d.decode_pycrate(wire))
    assert again is not None and again.apn_configurations is plain.apn_configurations
    changed = s6a.SubscriptionData(apn_configurations=(
        s6a.ApnConfiguration(1, "internet", qos_class_identifier=8),))
    third = s6a.subscription_data_of(_roundtrip(
        s6a.ula(_ulr(), HSS_HOST, HSS_REALM, subscription_data=changed))[1])
    assert third is not None
    assert [a.qos_class_identifier for a in third.apn_configurations] == [8]


def test_msisdn_tbcd_digits_and_filler() -> None:
    """TS 29.329 §6.3.2 / TS 29.002 TBCD: the first digit in the low nibble, an odd count ends
    with the filler 0xF; reading stops at the filler and refuses other non-digits (5004)."""
    assert s6a.msisdn_to_tbcd("819010000001") == bytes.fromhex("180901000010")
    assert s6a.msisdn_to_tbcd("12345") == bytes([0x21, 0x43, 0xF5])
    assert s6a.tbcd_to_msisdn(bytes([0x21, 0x43, 0xF5])) == "12345"
    assert s6a.tbcd_to_msisdn(bytes([0x21, 0xF3, 0x55])) == "123"  # the filler ends the digits
    assert s6a.tbcd_to_msisdn(b"") == ""
    for digits in ("0", "819010000001", "44" * 8):
        assert s6a.tbcd_to_msisdn(s6a.msisdn_to_tbcd(digits)) == digits
    with pytest.raises(DecodeError) as err:
        s6a.tbcd_to_msisdn(bytes([0x21, 0x4C]))
    assert err.value.cause == d.ResultCode.DIAMETER_INVALID_AVP_VALUE
    for bad in ("", "12a", "\u0661\u0662"):  # E.164 digits are ASCII
        with pytest.raises(ValueError):
            s6a.msisdn_to_tbcd(bad)


def test_cer_cea_fields() -> None:
    cer = _cer()
    _, cea = _roundtrip(d.cea(cer, HSS_HOST, HSS_REALM, ["192.0.2.2"],
                              result_code=d.ResultCode.DIAMETER_NO_COMMON_APPLICATION))
    assert d.avp(cea, "Result-Code") == 5010
    _, cer_back = _roundtrip(cer)
    assert d.avp_all(cer_back, "Host-IP-Address") == ["192.0.2.1", "2001:db8::1"]
    assert d.avps_dict(cer_back)["Vendor-Specific-Application-Id"] == {
        "Vendor-Id": 10415, "Auth-Application-Id": 16777251}
    assert d.avp(cer_back, "Product-Name") == "corenet"


def test_clr_pur_idr_fields() -> None:
    _, clr = _roundtrip(_clr())
    assert d.avp(clr, "Cancellation-Type") == s6a.CancellationType.SUBSCRIPTION_WITHDRAWAL
    assert d.avp(clr, "CLR-Flags") == 1
    _, pur = _roundtrip(_pur())
    assert d.avp(pur, "PUR-Flags") == s6a.PurFlags.UE_PURGED_IN_MME
    _, idr = _roundtrip(_idr())
    assert s6a.subscription_data_of(idr).msisdn == "819012345678"  # type: ignore[union-attr]
    assert d.avp(idr, "IDR-Flags") == 1


def test_3gpp_avp_header_bits() -> None:
    wire = d.encode(_ulr())
    # Visited-PLMN-Id: code 1407, V and M set, length 15, Vendor-Id 10415 (TS 29.272 §7.3.1)
    assert bytes.fromhex("0000057fc000000f000028af44f002") in wire
    # RAT-Type: V only (TS 29.212)
    assert bytes.fromhex("0000040880000010000028af000003ec") in wire


def test_dict_form_encodes_like_list_form() -> None:
    msg = _air()
    as_dict = Message("diameter", "AIR", 318, {**msg.fields, "avps": d.avps_dict(msg)})
    assert d.encode(as_dict) == d.encode(msg)


def test_to_json_and_codec_protocol() -> None:
    codec = d.DiameterCodec()
    wire = codec.encode(_air())
    msg = codec.decode(wire)
    js = msg.to_json()
    assert js["message"] == "AIR" and js["code"] == 318
    assert ["Visited-PLMN-Id", "44f002"] in js["fields"]["avps"]


def test_unusual_avp_flags_kept_byte_exact() -> None:
    wire = bytearray(d.encode(d.dwr("a.b", "b", hop_by_hop=1, end_to_end=2)))
    wire[24] = 0x60  # Origin-Host with M and P bits
    msg = d.decode(bytes(wire))
    assert msg.fields["avps"][0] == ("Origin-Host", "a.b", 0x60)
    assert d.encode(msg) == bytes(wire)


def _with_extra_avp(msg: Message, entry: tuple[object, ...]) -> bytes:
    fields = {**msg.fields, "avps": [*msg.fields["avps"], entry]}
    return d.encode(Message("diameter", msg.name, msg.code, fields))


def test_unknown_avp_without_m_bit_is_kept() -> None:
    wire = _with_extra_avp(_air(), ("AVP-10415-9999", b"\x01\x02\x03"))
    msg = d.decode(wire)
    assert msg.fields["avps"][-1] == ("AVP-10415-9999", b"\x01\x02\x03")
    assert d.encode(msg) == wire


def test_unknown_mandatory_avp_is_5001() -> None:
    wire = _with_extra_avp(_air(), ("AVP-9999", b"\xaa", 0x40))
    with pytest.raises(DecodeError) as err:
        d.decode(wire)
    assert err.value.cause == d.ResultCode.DIAMETER_AVP_UNSUPPORTED
    assert err.value.extra["failed_avp"] == bytes.fromhex("0000270f40000009aa000000")
    assert err.value.extra["hop_by_hop"] == 0x11 and err.value.extra["request"] is True
    relayed = d.decode(wire, strict=False)
    assert relayed.fields["avps"][-1] == ("AVP-9999", b"\xaa", 0x40)


# ------------------------------------------------------------------------------- decode errors


def _cause(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as err:
        d.decode(data)
    assert err.value.protocol == "diameter"
    return err.value


def test_truncated_message_is_5015() -> None:
    wire = d.encode(_air())
    err = _cause(wire[:-4])
    assert err.cause == d.ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH
    assert err.extra["hop_by_hop"] == 0x11 and err.extra["end_to_end"] == 0x22
    assert err.extra["command_code"] == 318
    assert _cause(wire[:10]).extra["command_code"] == 318
    assert _cause(b"\x01").cause == 5015


def test_bad_version_is_5011() -> None:
    wire = b"\x02" + d.encode(_air())[1:]
    err = _cause(wire)
    assert err.cause == d.ResultCode.DIAMETER_UNSUPPORTED_VERSION
    assert err.extra["hop_by_hop"] == 0x11


def test_invalid_header_bits_are_3008() -> None:
    wire = bytearray(d.encode(_air()))
    wire[4] |= d.FLAG_E  # E bit on a request, RFC 6733 §3
    assert _cause(bytes(wire)).cause == d.ResultCode.DIAMETER_INVALID_HDR_BITS
    wire = bytearray(d.encode(_air()))
    wire[4] &= ~d.FLAG_P  # S6a commands are proxiable
    err = _cause(bytes(wire))
    assert err.cause == 3008 and err.extra["end_to_end"] == 0x22


def test_avp_length_beyond_message_is_5014() -> None:
    wire = bytearray(d.encode(d.dwr("a.b", "b", hop_by_hop=1, end_to_end=2)))
    wire[25:28] = (200).to_bytes(3, "big")  # Origin-Host claims 200 octets
    err = _cause(bytes(wire))
    assert err.cause == d.ResultCode.DIAMETER_INVALID_AVP_LENGTH
    # RFC 6733 §7.1.5: the offending header with an empty payload (DiameterIdentity)
    assert err.extra["failed_avp"] == bytes.fromhex("00000108400000c8")


def test_avp_length_below_header_is_5014() -> None:
    wire = bytearray(d.encode(d.dwr("a.b", "b", hop_by_hop=1, end_to_end=2)))
    wire[25:28] = (4).to_bytes(3, "big")
    err = _cause(bytes(wire))
    assert err.cause == 5014
    assert err.extra["failed_avp"][:4] == (264).to_bytes(4, "big")


def test_fixed_length_mismatch_is_5014() -> None:
    wire = _with_extra_avp(d.dwr("a.b", "b", hop_by_hop=1, end_to_end=2),
                           ("AVP-278", b"\x00\x00\x00\x01\x02\x03"))
    wire = wire.replace(bytes.fromhex("000001160000000e"), bytes.fromhex("000001164000000e"))
    err = _cause(wire)  # Origin-State-Id with 6 octets instead of 4
    assert err.cause == 5014
    assert err.extra["failed_avp"][:4] == (278).to_bytes(4, "big")


def test_invalid_utf8_is_5004() -> None:
    wire = d.encode(_air()).replace(SID.encode(), b"\xff" * len(SID))
    err = _cause(wire)
    assert err.cause == d.ResultCode.DIAMETER_INVALID_AVP_VALUE
    assert err.extra["failed_avp"][:4] == (263).to_bytes(4, "big")


def test_bad_grouped_member_length_is_5014() -> None:
    wire = bytearray(d.encode(s6a.aia(_air(), HSS_HOST, HSS_REALM, vectors=[VECTOR])))
    rand = wire.index(bytes.fromhex("000005a7"))  # RAND inside E-UTRAN-Vector
    wire[rand + 5:rand + 8] = (400).to_bytes(3, "big")
    err = _cause(bytes(wire))
    assert err.cause == 5014
    assert err.extra["failed_avp"][:4] == (1447).to_bytes(4, "big")
    assert err.extra["session_id"] == SID


def test_deep_grouped_nesting_is_refused() -> None:
    nested: list[tuple[object, ...]] = [("Subscriber-Status", 0)]
    for _ in range(40):
        nested = [("Subscription-Data", nested)]
    err = _cause(_with_extra_avp(d.dwr("a.b", "b", hop_by_hop=1, end_to_end=2), nested[0]))
    assert err.cause == d.ResultCode.DIAMETER_INVALID_AVP_VALUE
    assert err.extra["failed_avp"][:4] == (1400).to_bytes(4, "big")


def test_message_length_framing() -> None:
    assert d.message_length(bytes.fromhex("01000030")) == 48
    with pytest.raises(DecodeError) as err:
        d.message_length(bytes.fromhex("01000031"))
    assert err.value.cause == 5015
    assert d.HEADER_LEN == 20


# ------------------------------------------------------------------------------- validation


def _without(msg: Message, name: str) -> Message:
    avps = [e for e in msg.fields["avps"] if e[0] != name]
    return Message("diameter", msg.name, msg.code, {**msg.fields, "avps": avps})


@pytest.mark.parametrize(("builder", "missing", "code", "vendor"), [
    (_air, "Visited-PLMN-Id", 1407, 10415),
    (_air, "User-Name", 1, None),
    (_ulr, "ULR-Flags", 1405, 10415),
    (_ulr, "RAT-Type", 1032, 10415),
    (_clr, "Cancellation-Type", 1420, 10415),
    (_idr, "Subscription-Data", 1400, 10415),
    (_pur, "Destination-Realm", 283, None),
    (_cer, "Product-Name", 269, None),
])
def test_missing_mandatory_avp_is_5005(builder, missing, code, vendor) -> None:  # type: ignore[no-untyped-def]
    msg = d.decode(d.encode(_without(builder(), missing)))
    with pytest.raises(DecodeError) as err:
        d.check_mandatory(msg)
    assert err.value.cause == d.ResultCode.DIAMETER_MISSING_AVP
    assert err.value.extra["missing_avp"] == missing
    failed = err.value.extra["failed_avp"]
    assert int.from_bytes(failed[:4], "big") == code
    assert bool(failed[4] & 0x80) == (vendor is not None)
    if vendor is not None:
        assert int.from_bytes(failed[8:12], "big") == vendor
    assert set(failed[12 if vendor else 8:]) <= {0}  # zero payload, RFC 6733 §7.5


def test_missing_result_and_grouped_member() -> None:
    aia = _without(s6a.aia(_air(), HSS_HOST, HSS_REALM), "Result-Code")
    with pytest.raises(DecodeError) as err:
        d.check_mandatory(aia)
    assert err.value.extra["missing_avp"] == "Result-Code"
    assert err.value.extra["request"] is False
    vec = [e for e in VECTOR.to_avps() if e[0] != "KASME"]
    broken = s6a.aia(_air(), HSS_HOST, HSS_REALM)
    broken.fields["avps"].append(("Authentication-Info", [("E-UTRAN-Vector", vec)]))
    with pytest.raises(DecodeError) as err:
        d.check_mandatory(broken)
    assert err.value.extra["failed_avp"] == bytes.fromhex("000005aac000000c000028af")


# ------------------------------------------------------------------------------- error answers


def test_error_answer_from_header_only() -> None:
    wire = d.encode(_air())
    answer = d.decode(d.error_answer(wire[:20], d.ResultCode.DIAMETER_INVALID_HDR_BITS,
                                     HSS_HOST, HSS_REALM, error_message="bad bits"))
    assert answer.name == "AIA" and answer.fields["flags"]["error"] is True
    assert answer.fields["flags"]["request"] is False
    assert answer.fields["hop_by_hop"] == 0x11 and answer.fields["end_to_end"] == 0x22
    assert d.avp(answer, "Result-Code") == 3008
    assert d.avp(answer, "Error-Message") == "bad bits"
    assert d.avp(answer, "Session-Id") is None


def test_error_answer_carries_failed_avp() -> None:
    wire = bytearray(d.encode(s6a.aia(_air(), HSS_HOST, HSS_REALM, vectors=[VECTOR])))
    wire[4] |= d.FLAG_R  # pretend it is a request so an answer applies
    rand = wire.index(bytes.fromhex("000005a7"))
    wire[rand + 5:rand + 8] = (400).to_bytes(3, "big")
    with pytest.raises(DecodeError) as err:
        d.decode(bytes(wire))
    answer = d.decode(d.error_answer(bytes(wire), err.value.cause, HSS_HOST, HSS_REALM,
                                     failed_avp=err.value.extra["failed_avp"]))
    assert answer.fields["flags"]["error"] is False
    assert d.avp(answer, "Result-Code") == 5014
    assert d.avp(answer, "Session-Id") == SID  # RFC 6733 §6.2
    assert d.avp(answer, "Auth-Session-State") == 1
    # the RAND header as received (length 400) with an empty payload, kept raw on decode
    assert d.avp(answer, "Failed-AVP") == bytes.fromhex("000005a7c0000190000028af")


def test_error_answer_for_missing_avp() -> None:
    req = d.decode(d.encode(_without(_ulr(), "ULR-Flags")))
    with pytest.raises(DecodeError) as err:
        d.check_mandatory(req)
    answer = d.decode(d.error_answer(req, err.value.cause, HSS_HOST, HSS_REALM,
                                     failed_avp=err.value.extra["failed_avp"]))
    assert answer.name == "ULA" and answer.fields["hop_by_hop"] == 0x33
    assert d.avp(answer, "Result-Code") == 5005
    assert d.avp(answer, "Failed-AVP") == [("ULR-Flags", 0)]


# ------------------------------------------------------------------------------- tshark


def _tshark(tmp_path: Path, messages: list[bytes], fields: list[str]) -> list[list[str]]:
    packets = []
    seq = 1
    for wire in messages:
        packets.append(IP(src="192.0.2.1", dst="192.0.2.2")
                       / TCP(sport=40000, dport=3868, flags="PA", seq=seq) / Raw(wire))
        seq += len(wire)
    pcap = tmp_path / "s6a.pcap"
    wrpcap(str(pcap), packets)
    args = ["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=|"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("|") for line in out.splitlines()]


FIELDS = ["diameter.cmd.code", "diameter.flags.request", "diameter.Result-Code",
          "diameter.Experimental-Result-Code", "diameter.User-Name", "e212.imsi",
          "_ws.malformed", "_ws.expert"]


@pytest.mark.tshark
def test_tshark_dissects_s6a(tmp_path: Path) -> None:
    air, ulr = _air(), _ulr()
    wires = [
        d.encode(air),
        d.encode(s6a.aia(air, HSS_HOST, HSS_REALM, vectors=[VECTOR])),
        d.encode(s6a.aia(air, HSS_HOST, HSS_REALM, experimental_result=5420)),
        d.encode(ulr),
        d.encode(s6a.ula(ulr, HSS_HOST, HSS_REALM, subscription_data=SUBSCRIPTION)),
    ]
    rows = _tshark(tmp_path, wires, FIELDS)
    assert [r[0] for r in rows] == ["318", "318", "318", "316", "316"]
    assert [r[1] for r in rows] == ["1", "0", "0", "1", "0"]
    assert rows[0][4] == IMSI and rows[0][5] == IMSI
    assert rows[3][4] == IMSI
    assert rows[1][2] == "2001" and rows[4][2] == "2001"
    assert rows[2][3] == "5420" and rows[2][2] == ""
    assert all(r[6] == "" and r[7] == "" for r in rows), rows


def test_avp_reads_the_first_value_of_avp_all_along_nested_paths() -> None:
    entries = [("Result-Code", 2001),
               ("Experimental-Result", [("Vendor-Id", 10415)]),
               ("Experimental-Result", [("Vendor-Id", 10415), ("Experimental-Result-Code", 5420)]),
               ("Experimental-Result", [("Experimental-Result-Code", 5001)]),
               ("Auth-Session-State", b"not a group")]
    msg = Message(d.PROTOCOL, "AIA", 318, {"avps": entries})
    for path in [("Result-Code",), ("Experimental-Result", "Experimental-Result-Code"),
                 ("Experimental-Result", "Vendor-Id"), ("Auth-Session-State", "Vendor-Id"),
                 ("Origin-Host",), ("Experimental-Result", "Origin-Host")]:
        found = d.avp_all(msg, *path)
        assert d.avp(msg, *path, default="none") == (found[0] if found else "none")
    assert d.avp(msg, "Experimental-Result", "Experimental-Result-Code") == 5420
    assert d.avp(msg, default=7) == 7


def test_visited_plmn_id_of_each_plmn_in_turn() -> None:
    """TS 29.272 §7.3.9 (TS 24.008 §10.5.1.13 octets), whichever PLMNs were sent before."""
    for plmn, octets in [(Plmn("440", "20"), "44f002"), (Plmn("310", "410"), "130014"),
                         (Plmn("440", "20"), "44f002")]:
        for build in (s6a.air, s6a.ulr):
            msg = d.decode(d.encode(build("m;1;1", "mme.example.org", "example.org", "example.net",
                                          "440100000000001", plmn, hop_by_hop=1, end_to_end=2)))
            assert d.avp(msg, "Visited-PLMN-Id") == bytes.fromhex(octets)
