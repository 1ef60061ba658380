"""GTPv2-C codec (TS 29.274): round trips, field values, error causes, tshark dissection."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Codec, Message
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.plmn import Plmn

IMSI = "440101234567890"
RESCUER = Plmn("440", "20")
# TS 24.008 §10.5.6.12: create new TFT, one downlink filter on remote IPv4 192.168.0.1/32
TFT = bytes.fromhex("21100109" "10c0a80001ffffffff")


def _roundtrip(msg: Message) -> Message:
    data = g.encode(msg)
    out = g.decode(data)
    assert out.name == msg.name and out.code == msg.code and out.protocol == "gtpv2"
    assert g.encode(out) == data
    return out


def _csr(uimsi: bool = True, **kw: Any) -> Message:
    args: dict[str, Any] = dict(
        teid=0, imsi=IMSI, msisdn="819012345678", mei="3534900698733190",
        uli=(RESCUER, 0x0102, RESCUER, 0x1234501), serving_network=RESCUER,
        indication={"uimsi": uimsi}, sender_fteid=(g.FTEID_S11_MME, 0x1111, "10.0.0.1"),
        pgw_fteid=(g.FTEID_S5S8C_PGW, 0, "10.0.0.3"), apn="sos",
        selection_mode=g.SELECTION_MS_NOT_VERIFIED, pdn_type=g.PDN_IPV4,
        paa={"pdn_type": 1, "ipv4": "0.0.0.0"}, apn_restriction=0, ambr=(1000, 2000),
        bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(5, 1, pci=0, pvi=1)}],
    )
    args.update(kw)
    return g.create_session_request(7, **args)


def _csresp(**kw: Any) -> Message:
    args: dict[str, Any] = dict(
        teid=0x1111, sender_fteid=(g.FTEID_S11S4_SGW, 0x2222, "10.0.0.2"),
        pgw_fteid=(g.FTEID_S5S8C_PGW, 0x3333, "10.0.0.3"),
        paa={"pdn_type": 1, "ipv4": "10.45.0.7"}, apn_restriction=0, ambr=(5000, 10000),
        bearer_contexts=[{
            "ebi": 5, "cause": g.CAUSE_REQUEST_ACCEPTED,
            "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 0x4444, "10.0.0.2"),
            "bearer_qos": g.bearer_qos(5, 1), "charging_id": 99,
        }],
        recovery=3,
    )
    args.update(kw)
    return g.create_session_response(7, **args)


def test_codec_protocol() -> None:
    codec: Codec = g.GTPv2CCodec()
    msg = g.echo_request(1, 5)
    assert codec.protocol == "gtpv2"
    assert codec.decode(codec.encode(msg)).fields["recovery"] == 5


def test_echo_request_bytes_and_roundtrip() -> None:
    data = g.encode(g.echo_request(0x010203, 7))
    # §5.1: version 2, T=0, length 9, sequence, spare; Recovery IE type 3 length 1
    assert data == bytes.fromhex("40010009010203000300010007")
    out = _roundtrip(g.echo_request(0x010203, 7))
    assert out.fields == {"teid": None, "sequence": 0x010203, "recovery": 7}


def test_echo_response() -> None:
    out = _roundtrip(g.echo_response(9, 200))
    assert out.code == 2 and out.fields["recovery"] == 200 and out.fields["teid"] is None


def test_version_not_supported_indication() -> None:
    data = g.encode(g.version_not_supported_indication(42))
    assert data == bytes.fromhex("4003000400002a00")
    assert g.decode(data).fields == {"teid": None, "sequence": 42}


@pytest.mark.parametrize("uimsi", [True, False])
def test_create_session_request_fields(uimsi: bool) -> None:
    f = _roundtrip(_csr(uimsi=uimsi)).fields
    assert f["teid"] == 0 and f["sequence"] == 7
    assert f["imsi"] == IMSI and f["msisdn"] == "819012345678" and f["mei"] == "3534900698733190"
    assert f["indication"]["uimsi"] is uimsi
    assert f["indication"]["oi"] is False
    assert f["uli"] == {"tai": {"plmn": "44020", "tac": 0x0102},
                        "ecgi": {"plmn": "44020", "eci": 0x1234501}}
    assert f["serving_network"] == "44020" and f["rat_type"] == 6
    assert f["sender_fteid_c"] == {"interface_type": 10, "teid": 0x1111, "ipv4": "10.0.0.1",
                                   "ipv6": None}
    assert f["pgw_s5s8_fteid_c"]["interface_type"] == 7
    assert f["apn"] == "sos" and f["selection_mode"] == 1 and f["pdn_type"] == 1
    assert f["paa"]["ipv4"] == "0.0.0.0"
    assert f["max_apn_restriction"] == 0
    assert f["ambr"] == {"ul_kbps": 1000, "dl_kbps": 2000}
    (bc,) = f["bearer_contexts_to_be_created"]
    assert bc["ebi"] == 5
    assert bc["bearer_qos"] == {"pci": 0, "pl": 1, "pvi": 1, "qci": 5, "mbr_ul_kbps": 0,
                                "mbr_dl_kbps": 0, "gbr_ul_kbps": 0, "gbr_dl_kbps": 0}


def test_uimsi_is_bit_7_of_octet_6() -> None:
    data = g.encode(_csr(uimsi=True))
    # §8.12: Indication IE type 77; UIMSI is bit 7 of octet 6 (second flag octet)
    pos = data.index(bytes([77, 0, 2, 0]))
    assert data[pos + 4:pos + 6] == b"\x00\x40"


def test_ambr_is_kbps_on_the_wire() -> None:
    data = g.encode(_csr(ambr=(1000, 2000)))
    # §8.7: APN-AMBR uplink then downlink, 4 octets each, in kbps
    assert bytes([72, 0, 8, 0]) + (1000).to_bytes(4, "big") + (2000).to_bytes(4, "big") in data


def test_unauthenticated_emergency_without_imsi() -> None:
    msg = _csr(imsi=None, indication=None, msisdn=None)
    f = _roundtrip(msg).fields
    assert "imsi" not in f and "indication" not in f and f["mei"] == "3534900698733190"


def test_indication_all_octets() -> None:
    flags = {"daf": True, "si": True, "emci": True, "upipsi": True, "ppon_ppei": True}
    f = _roundtrip(_csr(indication=flags)).fields["indication"]
    assert len(f) == 74  # every §8.12 flag of the ten octets, spare bits excluded
    assert {k for k, v in f.items() if v} == set(flags)


def test_unknown_indication_flag_is_an_encode_error() -> None:
    with pytest.raises(EncodeError):
        g.encode(_csr(indication={"nosuchflag": True}))


def test_fteid_ipv6_and_dual() -> None:
    msg = _csr(sender_fteid={"interface_type": 10, "teid": 0xDEADBEEF, "ipv4": "192.0.2.1",
                             "ipv6": "2001:db8::1"})
    f = _roundtrip(msg).fields["sender_fteid_c"]
    assert f == {"interface_type": 10, "teid": 0xDEADBEEF, "ipv4": "192.0.2.1",
                 "ipv6": "2001:db8::1"}


@pytest.mark.parametrize("paa", [
    {"pdn_type": 1, "ipv4": "10.45.0.7", "ipv6": None, "ipv6_prefix_length": None},
    {"pdn_type": 2, "ipv4": None, "ipv6": "2001:db8:1::", "ipv6_prefix_length": 64},
    {"pdn_type": 3, "ipv4": "10.45.0.7", "ipv6": "2001:db8:1::", "ipv6_prefix_length": 64},
])
def test_paa(paa: dict[str, Any]) -> None:
    assert _roundtrip(_csresp(paa=paa)).fields["paa"] == paa


def test_create_session_response_fields() -> None:
    f = _roundtrip(_csresp()).fields
    assert f["teid"] == 0x1111
    assert f["cause"] == {"value": 16, "pce": False, "bce": False, "cs": False,
                          "offending_ie": None}
    assert f["sender_fteid_c"]["teid"] == 0x2222
    assert f["pgw_s5s8_fteid_c"]["teid"] == 0x3333
    assert f["paa"]["ipv4"] == "10.45.0.7"
    assert f["ambr"] == {"ul_kbps": 5000, "dl_kbps": 10000}
    assert f["recovery"] == 3 and f["apn_restriction"] == 0
    (bc,) = f["bearer_contexts_created"]
    assert bc["ebi"] == 5 and bc["cause"]["value"] == 16 and bc["charging_id"] == 99
    assert bc["s1u_sgw_fteid"] == {"interface_type": 1, "teid": 0x4444, "ipv4": "10.0.0.2",
                                   "ipv6": None}
    assert bc["bearer_qos"]["qci"] == 5 and bc["bearer_qos"]["pci"] == 1


def test_create_session_response_rejection_needs_only_cause() -> None:
    msg = g.create_session_response(7, teid=0x1111, cause=g.CAUSE_MISSING_OR_UNKNOWN_APN)
    f = _roundtrip(msg).fields
    assert f["cause"]["value"] == 78 and "bearer_contexts_created" not in f


def test_cause_with_offending_ie() -> None:
    c = g.cause(g.CAUSE_MANDATORY_IE_MISSING, {"type": 80, "length": 0, "instance": 0}, bce=True)
    f = _roundtrip(g.create_session_response(7, teid=1, cause=c)).fields
    assert f["cause"] == {"value": 70, "pce": False, "bce": True, "cs": False,
                          "offending_ie": {"type": 80, "length": 0, "instance": 0}}


def test_modify_bearer() -> None:
    req = g.modify_bearer_request(
        8, teid=0x2222, uli=(RESCUER, 1, RESCUER, 2), indication={"oi": True},
        bearer_contexts=[{"ebi": 5, "s1u_enb_fteid": (g.FTEID_S1U_ENB, 0x5555, "10.0.1.1")}])
    f = _roundtrip(req).fields
    assert f["teid"] == 0x2222 and f["indication"]["oi"] is True
    (bc,) = f["bearer_contexts_to_be_modified"]
    assert bc == {"ebi": 5, "s1u_enb_fteid": {"interface_type": 0, "teid": 0x5555,
                                              "ipv4": "10.0.1.1", "ipv6": None}}
    resp = g.modify_bearer_response(8, teid=0x1111, bearer_contexts=[
        {"ebi": 5, "cause": 16, "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 0x4444, "10.0.0.2")}])
    f = _roundtrip(resp).fields
    assert f["cause"]["value"] == 16
    assert f["bearer_contexts_modified"][0]["s1u_sgw_fteid"]["teid"] == 0x4444


def _bearer_context_ies(data: bytes, instance: int) -> list[tuple[int, int]]:
    """(type, instance) of the IEs inside the message's Bearer Context of `instance` (§8.28)."""
    pos, found = 12, []
    while pos < len(data):
        typ, length, inst = data[pos], int.from_bytes(data[pos + 1:pos + 3], "big"), data[pos + 3] & 0x0F
        if typ == g.BEARER_CONTEXT and inst == instance:
            inner, end = pos + 4, pos + 4 + length
            while inner < end:
                found.append((data[inner], data[inner + 3] & 0x0F))
                inner += 4 + int.from_bytes(data[inner + 1:inner + 3], "big")
        pos += 4 + length
    return found


def test_bearer_context_of_instance_1_holds_only_its_own_ies() -> None:
    """TS 29.274 Table 7.2.1-1: Bearer Contexts to be removed (instance 1) carry EBI and S4-U
    F-TEID only; the Bearer QoS that instance 0's Bearer Context requires must not appear."""
    msg = _csr()
    msg.fields["bearer_contexts_to_be_removed"] = [{"ebi": 6}]
    data = g.encode_pycrate(msg)
    assert _bearer_context_ies(data, 1) == [(73, 0)]
    assert g.decode_pycrate(data).fields["bearer_contexts_to_be_removed"] == [{"ebi": 6}]
    assert g.encode(msg) == data  # the fast path covers it, byte for byte


def test_bearer_context_with_fewer_ies_than_pycrate_prefills() -> None:
    """§8.28: a Bearer Context holds the IEs sent, no more (Modify Bearer Request instance 1:
    EBI alone; Create Session Response instance 1: EBI and Cause)."""
    req = g.modify_bearer_request(8, teid=0x2222, bearer_contexts=[{"ebi": 5}])
    req.fields["bearer_contexts_to_be_removed"] = [{"ebi": 7}]
    data = g.encode_pycrate(req)
    assert _bearer_context_ies(data, 0) == [(73, 0)]
    assert _bearer_context_ies(data, 1) == [(73, 0)]
    f = g.decode(data).fields
    assert f["bearer_contexts_to_be_modified"] == [{"ebi": 5}]
    assert f["bearer_contexts_to_be_removed"] == [{"ebi": 7}]
    assert g.encode(req) == data
    resp = _csresp()
    resp.fields["bearer_contexts_marked_for_removal"] = [{"ebi": 6, "cause": 16}]
    data = g.encode_pycrate(resp)
    assert _bearer_context_ies(data, 1) == [(73, 0), (2, 0)]
    assert g.decode(data).fields["bearer_contexts_marked_for_removal"][0]["ebi"] == 6
    assert g.encode(resp) == data


def test_delete_session() -> None:
    f = _roundtrip(g.delete_session_request(9, teid=0x2222, linked_ebi=5,
                                            indication={"oi": True})).fields
    assert f["linked_ebi"] == 5 and f["indication"]["oi"] is True
    f = _roundtrip(g.delete_session_response(9, teid=0x1111, cause=16)).fields
    assert f["cause"]["value"] == 16 and f["teid"] == 0x1111


def test_create_bearer_request_and_response() -> None:
    qos = g.bearer_qos(1, 2, pci=1, pvi=0, mbr=(128, 128), gbr=(64, 64))
    tft = TFT
    req = g.create_bearer_request(10, teid=0x1111, linked_ebi=5, pti=0, bearer_contexts=[{
        "ebi": 0, "tft": tft, "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 0x6666, "10.0.0.2"),
        "bearer_qos": qos, "charging_id": 7}])
    f = _roundtrip(req).fields
    assert f["linked_ebi"] == 5 and f["pti"] == 0
    (bc,) = f["bearer_contexts"]
    assert bc["tft"] == tft and bc["charging_id"] == 7
    assert bc["bearer_qos"] == {"pci": 1, "pl": 2, "pvi": 0, "qci": 1, "mbr_ul_kbps": 128,
                                "mbr_dl_kbps": 128, "gbr_ul_kbps": 64, "gbr_dl_kbps": 64}
    data = g.encode(req)
    # §8.15: MBR UL 128 kbps in 5 octets after ARP and QCI
    assert bytes([0x48, 1]) + (128).to_bytes(5, "big") in data
    resp = g.create_bearer_response(10, teid=0x2222, bearer_contexts=[{
        "ebi": 6, "cause": 16, "s1u_enb_fteid": (g.FTEID_S1U_ENB, 0x7777, "10.0.1.1"),
        "s1u_sgw_fteid": (g.FTEID_S1U_SGW, 0x6666, "10.0.0.2")}])
    (bc,) = _roundtrip(resp).fields["bearer_contexts"]
    assert bc["ebi"] == 6 and bc["s1u_enb_fteid"]["teid"] == 0x7777
    assert bc["s1u_sgw_fteid"]["teid"] == 0x6666


def test_delete_bearer_request_and_response() -> None:
    f = _roundtrip(g.delete_bearer_request(11, teid=0x1111, ebis=[6, 7])).fields
    assert f["ebis"] == [6, 7] and "linked_ebi" not in f
    f = _roundtrip(g.delete_bearer_request(12, teid=0x1111, linked_ebi=5,
                                           cause=g.CAUSE_REACTIVATION_REQUESTED)).fields
    assert f["linked_ebi"] == 5 and f["cause"]["value"] == 8
    resp = g.delete_bearer_response(11, teid=0x2222, bearer_contexts=[
        {"ebi": 6, "cause": 16}, {"ebi": 7, "cause": 16}])
    f = _roundtrip(resp).fields
    assert [b["ebi"] for b in f["bearer_contexts"]] == [6, 7]


def test_release_access_bearers() -> None:
    assert _roundtrip(g.release_access_bearers_request(3, teid=5)).fields["teid"] == 5
    f = _roundtrip(g.release_access_bearers_response(3, teid=6)).fields
    assert f["cause"]["value"] == 16


def test_three_digit_mnc_and_ipv6_only_fteid() -> None:
    plmn = Plmn("310", "410")
    f = _roundtrip(_csr(serving_network=plmn, uli=(plmn, 7, plmn, 9),
                        sender_fteid=(10, 1, None, "2001:db8::2"))).fields
    assert f["serving_network"] == "310410" and f["uli"]["tai"]["plmn"] == "310410"
    assert f["sender_fteid_c"]["ipv4"] is None and f["sender_fteid_c"]["ipv6"] == "2001:db8::2"


def test_message_priority_and_piggyback() -> None:
    resp = _csresp()
    cbr = g.create_bearer_request(8, teid=0x1111, linked_ebi=5, bearer_contexts=[{
        "ebi": 0, "tft": TFT, "bearer_qos": g.bearer_qos(1, 2)}])
    both = Message("gtpv2", resp.name, resp.code,
                   {**resp.fields, "message_priority": 3, "piggybacked": cbr})
    data = g.encode(both)
    assert data[0] & 0x10 and data[0] & 0x04  # §5.1: P and MP flags
    out = g.decode(data)
    assert out.fields["message_priority"] == 3
    assert out.fields["piggybacked"].name == "CreateBearerRequest"
    assert out.fields["piggybacked"].fields["linked_ebi"] == 5
    assert g.encode(out) == data


def test_unknown_ies_are_kept_verbatim() -> None:
    msg = _csr()
    fields = dict(msg.fields)
    fields["other_ies"] = [{"type": 126, "instance": 0, "data": b"\x08\x68"},
                           {"type": 200, "instance": 3, "data": b"\x01\x02\x03"}]
    data = g.encode(Message("gtpv2", msg.name, msg.code, fields))
    out = g.decode(data)
    # entries without an index go where the key sits: here behind every IE of the CSR
    known = sum(len(v) if isinstance(v, list) else 1 for k, v in msg.fields.items()
                if k not in ("teid", "sequence"))
    assert out.fields["other_ies"] == [{**o, "index": known + i}
                                       for i, o in enumerate(fields["other_ies"])]
    assert g.encode(out) == data


def test_a_repeated_ie_stays_behind_the_one_that_counts() -> None:
    # §7.7.8: of two MEIs the first counts; re-encoding must not put the second one first
    msg = _csr()
    data = bytearray(g.encode(msg))
    pos = data.index(bytes([75, 0, 8, 0])) + 12  # right behind the real MEI
    data[pos:pos] = bytes([75, 0, 1, 0, 0x01])
    data[24:24] = bytes([126, 0, 2, 0, 0x08, 0x68])  # an unknown IE behind the IMSI, before both
    data[2:4] = (len(data) - 4).to_bytes(2, "big")
    out = g.decode(bytes(data))
    assert out.fields["mei"] == "3534900698733190"
    assert [(o["type"], o["data"], o["index"]) for o in out.fields["other_ies"]] == [
        (126, b"\x08\x68", 1), (75, b"\x01", 4)]
    again = g.encode(out)
    assert again == bytes(data)
    assert g.decode(again).fields["mei"] == "3534900698733190"


def test_unknown_ies_go_back_to_their_places() -> None:
    msg = _csr()
    fields = dict(msg.fields)
    fields["other_ies"] = [{"type": 126, "instance": 0, "data": b"\x08\x68", "index": 0},
                           {"type": 200, "instance": 3, "data": b"\x01\x02\x03", "index": 3}]
    data = g.encode(Message("gtpv2", msg.name, msg.code, fields))
    assert data[12] == 126  # first IE behind the header
    out = g.decode(data)
    assert out.fields["other_ies"] == fields["other_ies"]
    assert out.fields["imsi"] == IMSI and out.fields["mei"] == "3534900698733190"
    assert g.encode(out) == data


def test_to_json_is_serialisable() -> None:
    out = g.decode(g.encode(_csr()))
    text = json.dumps(out.to_json())
    assert '"uimsi": true' in text


def test_missing_mandatory_is_an_encode_error() -> None:
    # Create Session Request without a bearer context (TS 29.274 Table 7.2.1-1: M)
    msg = g.create_session_request(1, sender_fteid=(10, 1, "10.0.0.1"), apn="sos")
    with pytest.raises(EncodeError):
        g.encode(msg)


# --- decode errors (TS 29.274 §7.7) ---


def _err(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        g.decode(data)
    assert info.value.protocol == "gtpv2"
    return info.value


def _set_len(data: bytearray) -> bytes:
    data[2:4] = (len(data) - 4).to_bytes(2, "big")
    return bytes(data)


def test_version_1_is_version_not_supported() -> None:
    data = bytearray(g.encode(g.echo_request(5, 1)))
    data[0] = (data[0] & 0x1F) | (1 << 5)
    err = _err(bytes(data))
    assert err.extra["version_not_supported"] is True
    assert err.cause == g.CAUSE_VERSION_NOT_SUPPORTED_BY_NEXT_PEER


def test_bad_header_length_is_invalid_length() -> None:
    data = bytearray(g.encode(_csr()))
    data[3] += 1
    err = _err(bytes(data))
    assert err.cause == g.CAUSE_INVALID_LENGTH
    assert err.extra["message_type"] == 32 and err.extra["sequence"] == 7
    assert err.extra["teid"] == 0


def test_trailing_octets_without_p_flag_is_invalid_length() -> None:
    assert _err(g.encode(g.echo_request(1, 1)) + b"\x00").cause == g.CAUSE_INVALID_LENGTH


def test_ie_overrunning_the_message_is_invalid_length() -> None:
    data = bytearray(g.encode(g.echo_request(1, 1)))
    data[10] = 5  # Recovery IE length 5, one octet present
    assert _err(bytes(data)).cause == g.CAUSE_INVALID_LENGTH


def test_short_message_is_discarded() -> None:
    err = _err(b"\x48\x20\x00")
    assert err.cause == g.CAUSE_INVALID_LENGTH and err.extra["discard"] is True


def test_unknown_message_type_is_discarded() -> None:
    data = bytearray(g.encode(g.echo_request(1, 1)))
    data[1] = 250
    assert _err(bytes(data)).extra["discard"] is True


def test_missing_mandatory_ie() -> None:
    # Create Session Request without the APN IE (type 71): §7.7.5 Mandatory IE missing
    data = bytearray(g.encode(_csr()))
    pos = data.index(bytes([71, 0, 4, 0]))
    del data[pos:pos + 8]
    err = _err(_set_len(data))
    assert err.cause == g.CAUSE_MANDATORY_IE_MISSING
    assert err.extra["offending_ie"] == {"type": 71, "length": 0, "instance": 0}
    assert err.extra["sequence"] == 7


def test_missing_mandatory_ie_in_bearer_context() -> None:
    msg = g.create_session_request(1, sender_fteid=(10, 1, "10.0.0.1"), apn="sos",
                                   bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(9, 15)}])
    data = bytearray(g.encode(msg))
    pos = data.index(bytes([80, 0, 22, 0]))
    del data[pos:pos + 26]
    bc = data.index(bytes([93, 0]))
    data[bc + 1:bc + 3] = (int.from_bytes(data[bc + 1:bc + 3], "big") - 26).to_bytes(2, "big")
    err = _err(_set_len(data))
    assert err.cause == g.CAUSE_MANDATORY_IE_MISSING
    assert err.extra["offending_ie"]["type"] == 80 and err.extra["bce"] is True


def test_missing_cause_in_response() -> None:
    data = bytearray(g.encode(g.delete_session_response(1, teid=1)))
    err = _err(_set_len(data[:12]))
    assert err.cause == g.CAUSE_MANDATORY_IE_MISSING
    assert err.extra["offending_ie"]["type"] == 2


def test_incorrect_mandatory_ie() -> None:
    # sender F-TEID shortened to 3 octets: §7.7.7 Mandatory IE incorrect
    msg = g.create_session_request(1, sender_fteid=(10, 1, "10.0.0.1"), apn="sos",
                                   bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(9, 15)}])
    data = bytearray(g.encode(msg))
    pos = data.index(bytes([87, 0, 9, 0]))
    data[pos + 2] = 3
    del data[pos + 7:pos + 13]
    err = _err(_set_len(data))
    assert err.cause == g.CAUSE_MANDATORY_IE_INCORRECT
    assert err.extra["offending_ie"]["type"] == 87


def test_incorrect_optional_ie_is_kept_aside() -> None:
    msg = _csr()
    data = bytearray(g.encode(msg))
    pos = data.index(bytes([79, 0, 5, 0]))
    data[pos + 4] = 2  # PAA says IPv6 but carries 4 octets: ignored per §7.7.8
    out = g.decode(bytes(data))
    assert "paa" not in out.fields
    [other] = out.fields["other_ies"]
    assert other == {"type": 79, "instance": 0, "data": b"\x02\x00\x00\x00\x00",
                     "index": other["index"]}
    assert g.encode(out) == bytes(data)


# --- tshark dissection ---


def _tshark(tmp_path: Path, payloads: list[bytes], fields: list[str]) -> list[dict[str, str]]:
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    pcap = tmp_path / "gtpv2.pcap"
    wrpcap(str(pcap), [IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=2123, dport=2123) /
                       Raw(p) for p in payloads])
    args = ["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
            "-E", "aggregator=,"]
    for f in fields + ["_ws.expert", "_ws.malformed"]:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(fields + ["expert", "malformed"], line.split("|"), strict=True))
            for line in out.splitlines()]
    return rows


@pytest.mark.tshark
def test_tshark_dissects_create_session(tmp_path: Path) -> None:
    fields = ["gtpv2.message_type", "e212.imsi", "gtpv2.uimsi", "gtpv2.cause",
              "gtpv2.ambr_up", "gtpv2.f_teid_gre_key", "gtpv2.pdn_addr_and_prefix.ipv4",
              "gtpv2.bearer_qos_label_qci", "gtpv2.apn"]
    rows = _tshark(tmp_path, [g.encode(_csr(uimsi=True)), g.encode(_csresp())], fields)
    req, resp = rows
    assert req["gtpv2.message_type"] == "32"
    assert req["e212.imsi"] == IMSI
    assert req["gtpv2.uimsi"] in ("1", "True")
    assert req["gtpv2.ambr_up"] == "1000"
    assert req["gtpv2.apn"] == "sos"
    assert "0x00001111" in req["gtpv2.f_teid_gre_key"]
    assert req["gtpv2.bearer_qos_label_qci"] == "5"
    assert resp["gtpv2.message_type"] == "33"
    assert resp["gtpv2.cause"].split(",") == ["16", "16"]
    assert resp["gtpv2.pdn_addr_and_prefix.ipv4"] == "10.45.0.7"
    for row in rows:
        assert row["expert"] == "" and row["malformed"] == ""


@pytest.mark.parametrize(("quarters", "dst", "octets"), [
    (36, 0, b"\x63\x00"), (-36, 1, b"\x6b\x01"), (-5, 2, b"\x58\x02"), (79, 0, b"\x97\x00")])
def test_ue_time_zone_coded_as_ts_24_008(quarters: int, dst: int, octets: bytes) -> None:
    """TS 29.274 §8.44: Time Zone as TS 24.008 §10.5.3.8 (swapped BCD, sign in bit 4), then
    the Daylight Saving Time octet; both codec paths agree."""
    msg = g.create_session_request(
        1, sender_fteid=(10, 1, "10.0.0.1"), apn="sos", ue_time_zone=g.ue_time_zone(quarters, dst),
        bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(5, 1)}])
    data = g.encode_pycrate(msg)
    assert bytes([114, 0, 2, 0]) + octets in data
    assert g.encode(msg) == data
    for decoded in (g.decode(data), g.decode_pycrate(data)):
        assert decoded.fields["ue_time_zone"] == {"time_zone": quarters,
                                                  "daylight_saving_time": dst}


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(min_size=4, max_size=4), st.binary(min_size=16, max_size=16),
                 st.binary(min_size=12, max_size=12).map(lambda b: bytes(10) + b"\xff\xff" + b[:4]),
                 st.binary(min_size=4, max_size=4).map(lambda b: bytes(12) + b)))
def test_ip_addresses_are_written_and_read_as_ipaddress_does(packed: bytes) -> None:
    """F-TEID and PAA addresses (TS 29.274 §8.22, §8.14) go through inet_ntop / inet_pton;
    their text and octets are those of `ipaddress`, IPv4-mapped and -compatible IPv6
    addresses included (glibc writes those dotted, `ipaddress` in hex)."""
    text = g._ip_text(packed)
    assert text == str(ipaddress.ip_address(packed))
    assert g._ip_packed(text) == packed == g._ip_packed(text.upper())


def test_ip_text_that_inet_pton_refuses_is_still_judged_by_ipaddress() -> None:
    assert g._ip_packed("fe80::1%eth0") == ipaddress.ip_address("fe80::1%eth0").packed
    assert g._ip_packed("::ffff:1.2.3.4") == bytes(10) + b"\xff\xff\x01\x02\x03\x04"
    for wrong in ("01.2.3.4", "1.2.3", "256.0.0.1", ":::", "1.2.3.4\x00", ""):
        with pytest.raises(ValueError):
            g._ip_packed(wrong)
