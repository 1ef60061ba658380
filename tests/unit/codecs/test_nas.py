"""NAS EPS codec (TS 24.301): round trips, IE values, §7 errors, security wrapper, tshark."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC

from corenet.codecs import nas
from corenet.codecs import nas_ies as ies
from corenet.codecs.base import Codec, Message
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext

PLMN = Plmn("440", "20")
HOME = Plmn("440", "10")
IMSI = "440100123456789"
IMEI = "356938035643809"
GUTI = nas.Guti(PLMN, 0x8001, 0x01, 0xDEADBEEF)
KASME = bytes(range(32))


def roundtrip(data: bytes, direction: int | None = None) -> Message:
    msg = nas.decode(data, direction=direction)
    assert nas.encode(msg) == data
    return msg


def emergency_pdn_request() -> bytes:
    return nas.pdn_connectivity_request(pti=1, request_type=4, pdn_type=1)


def default_bearer_request() -> bytes:
    return nas.activate_default_eps_bearer_context_request(
        ebi=5, pti=1, qci=5, apn="sos", ipv4="10.45.0.2",
        apn_ambr={"downlink": 300, "uplink": 300})


# ---- EMM messages ----

def test_emergency_attach_request_with_imei() -> None:
    data = nas.attach_request(attach_type=6, ksi=7, imei=IMEI,
                              esm_container=emergency_pdn_request(),
                              last_visited_tai=nas.Tai(PLMN, 0x0102), drx=b"\x00\x0a")
    msg = roundtrip(data)
    assert (msg.name, msg.code) == ("AttachRequest", 0x41)
    f = msg.fields
    assert f["eps_attach_type"] == 6
    assert f["nas_key_set_identifier"] == 7
    assert f["eps_mobile_identity"] == {"type": "imei", "value": IMEI}
    assert f["ue_network_capability"] == b"\xe0\x60"
    assert f["last_visited_registered_tai"] == nas.Tai(PLMN, 0x0102)
    assert f["drx_parameter"] == b"\x00\x0a"
    esm = f["esm_message_container"]
    assert (esm["name"], esm["code"]) == ("PDNConnectivityRequest", 0xD0)
    assert esm["fields"]["request_type"] == 4
    assert esm["fields"]["procedure_transaction_identity"] == 1
    # §9.9.3.11: attach type in bits 1-3 of octet 3, KSI in bits 5-8
    assert data[2] == 0x76


def test_attach_request_with_imsi_and_guti() -> None:
    by_imsi = roundtrip(nas.attach_request(imsi=IMSI, esm_container=emergency_pdn_request()))
    assert by_imsi.fields["eps_mobile_identity"] == {"type": "imsi", "value": IMSI}
    assert by_imsi.fields["eps_attach_type"] == 1
    by_guti = roundtrip(nas.attach_request(guti=GUTI, esm_container=emergency_pdn_request()))
    assert by_guti.fields["eps_mobile_identity"] == {"type": "guti", "value": GUTI}
    with pytest.raises(EncodeError):
        nas.attach_request(imsi=IMSI, guti=GUTI)


def test_attach_accept_emergency_numbers_and_features() -> None:
    numbers = nas.emergency_number_list(
        [("110", ["police"]), ("118", ["marine_guard"]), ("119", ["fire", "ambulance"])])
    data = nas.attach_accept(
        tai_list=[nas.Tai(PLMN, 1), nas.Tai(PLMN, 7)], esm_container=default_bearer_request(),
        guti=GUTI, t3412=3240, emergency_numbers=numbers,
        eps_network_feature_support={"ims_vops": 1, "emc_bs": 1}, equivalent_plmns=[HOME])
    msg = roundtrip(data)
    f = msg.fields
    assert (msg.name, msg.code) == ("AttachAccept", 0x42)
    assert f["eps_attach_result"] == 1
    assert f["t3412_value"] == 3240
    assert f["tai_list"] == [nas.Tai(PLMN, 1), nas.Tai(PLMN, 7)]
    assert f["guti"] == {"type": "guti", "value": GUTI}
    assert f["equivalent_plmns"] == [HOME]
    got = [(n.number, n.categories) for n in f["emergency_number_list"]]
    assert got == [("110", ("police",)), ("118", ("marine_guard",)),
                   ("119", ("ambulance", "fire_brigade"))]
    # TS 24.008 §10.5.4.33: police bit 1, ambulance bit 2, fire bit 3, marine guard bit 4
    assert bytes.fromhex("030111f0030811f8030611f9") in data
    assert f["eps_network_feature_support"]["emc_bs"] == 1
    assert f["eps_network_feature_support"]["ims_vops"] == 1
    bearer = f["esm_message_container"]["fields"]
    assert bearer["eps_qos"] == {"qci": 5}
    assert bearer["access_point_name"] == "sos"
    assert bearer["pdn_address"] == {"pdn_type": 1, "ipv4": "10.45.0.2"}
    # §9.9.4.2: 300 kbps is not codable; the largest rate below it is 296 kbps
    assert bearer["apn_ambr"] == {"downlink": 296, "uplink": 296}


def test_attach_accept_t3412_deactivated_and_multi_plmn_tai_list() -> None:
    tais = [nas.Tai(PLMN, 1), nas.Tai(HOME, 2)]
    msg = roundtrip(nas.attach_accept(tai_list=tais, esm_container=default_bearer_request(),
                                      t3412=None))
    assert msg.fields["t3412_value"] is None
    assert msg.fields["tai_list"] == tais


def test_attach_complete_reject() -> None:
    done = roundtrip(nas.attach_complete(nas.activate_default_eps_bearer_context_accept(ebi=5)))
    assert done.fields["esm_message_container"]["name"] == "ActivateDefaultEPSBearerContextAccept"
    assert done.fields["esm_message_container"]["fields"]["eps_bearer_identity"] == 5
    rej = roundtrip(nas.attach_reject(15, esm_container=nas.pdn_connectivity_reject(1, 27),
                                      t3346=120))
    assert (rej.name, rej.code) == ("AttachReject", 0x44)
    assert rej.fields["emm_cause"] == 15
    assert rej.fields["t3346_value"] == 120
    inner = rej.fields["esm_message_container"]
    assert (inner["name"], inner["fields"]["esm_cause"]) == ("PDNConnectivityReject", 27)
    bare = roundtrip(nas.attach_reject(11))
    assert bare.fields == {"emm_cause": 11}


def test_authentication_messages() -> None:
    rand, autn = bytes(range(16)), bytes(range(16, 32))
    req = roundtrip(nas.authentication_request(ksi=1, rand=rand, autn=autn))
    assert (req.name, req.code) == ("AuthenticationRequest", 0x52)
    assert req.fields == {"nas_key_set_identifier": 1, "authentication_parameter_rand": rand,
                          "authentication_parameter_autn": autn}
    res = roundtrip(nas.authentication_response(b"\x11" * 8))
    assert res.fields["authentication_response_parameter"] == b"\x11" * 8
    sync = roundtrip(nas.authentication_failure(21, auts=b"\x22" * 14))
    assert sync.fields == {"emm_cause": 21, "authentication_failure_parameter": b"\x22" * 14}
    for cause in (20, 26):
        assert roundtrip(nas.authentication_failure(cause)).fields == {"emm_cause": cause}
    assert roundtrip(nas.authentication_reject()).code == 0x54


def test_security_mode_messages() -> None:
    cap = nas.ue_security_capability(eea=(0, 1, 2), eia=(1, 2))
    smc = roundtrip(nas.security_mode_command(eea=2, eia=2, ksi=0, ue_sec_cap=cap,
                                              imeisv_request=True))
    assert (smc.name, smc.code) == ("SecurityModeCommand", 0x5D)
    assert smc.fields["selected_nas_security_algorithms"] == {"eea": 2, "eia": 2}
    assert smc.fields["replayed_ue_security_capabilities"] == b"\xe0\x60"
    assert smc.fields["imeisv_request"] == 1
    done = roundtrip(nas.security_mode_complete(imeisv="3569380356438091"))
    assert done.fields["imeisv"] == {"type": "imeisv", "value": "3569380356438091"}
    assert roundtrip(nas.security_mode_complete()).fields == {}
    assert roundtrip(nas.security_mode_reject(23)).fields == {"emm_cause": 23}


def test_identity_messages() -> None:
    assert roundtrip(nas.identity_request(2)).fields == {"identity_type": 2}
    resp = roundtrip(nas.identity_response(imsi=IMSI))
    assert resp.fields["mobile_identity"] == {"type": "imsi", "value": IMSI}
    assert roundtrip(nas.identity_response(imei=IMEI)).fields["mobile_identity"]["value"] == IMEI
    tmsi = roundtrip(nas.identity_response(tmsi=0x12345678))
    assert tmsi.fields["mobile_identity"] == {"type": "tmsi", "value": 0x12345678}


def test_detach_both_directions() -> None:
    ue = nas.detach_request(detach_type=1, switch_off=True, ksi=0, guti=GUTI)
    for direction in (None, UPLINK):
        msg = roundtrip(ue, direction)
        assert msg.fields == {"nas_key_set_identifier": 0, "detach_type": 1, "switch_off": 1,
                              "eps_mobile_identity": {"type": "guti", "value": GUTI}}
    net = nas.detach_request_network(detach_type=2, emm_cause=7)
    for direction in (None, DOWNLINK):
        msg = roundtrip(net, direction)
        assert (msg.name, msg.code) == ("DetachRequest", 0x45)
        assert msg.fields == {"detach_type": 2, "emm_cause": 7}
    assert roundtrip(nas.detach_request_network(1)).fields == {"detach_type": 1}
    assert roundtrip(nas.detach_accept()).name == "DetachAccept"


def test_emm_information_network_name_and_time() -> None:
    when = datetime(2024, 3, 11, 5, 46, 18, tzinfo=UTC)
    data = nas.emm_information(full_name="JPN-ROAM X", short_name="JPN-ROAM X", add_ci=True,
                               local_time_zone=36, universal_time=when,
                               daylight_saving_time=0)
    msg = roundtrip(data)
    f = msg.fields
    assert (msg.name, msg.code) == ("EMMInformation", 0x61)
    assert f["full_name_for_network"] == nas.NetworkNameValue("JPN-ROAM X", add_ci=True)
    assert f["short_name_for_network"].text == "JPN-ROAM X"
    assert f["local_time_zone"] == 36
    assert f["universal_time_and_local_time_zone"] == {"time": when, "time_zone": 36}
    assert f["network_daylight_saving_time"] == 0
    # TS 24.008 §10.5.3.5a: ext 1, GSM 7-bit, add CI, 2 spare bits; 10 septets in 9 octets
    assert bytes.fromhex("430a8a4aa8b3257d069b202c") in data
    # §10.5.3.8: +9 h = 36 quarters, swapped BCD semi-octets
    assert bytes.fromhex("4663") in data


def test_emm_information_ucs2_and_negative_time_zone() -> None:
    name = nas.NetworkNameValue("日本ローミング", ucs2=True)
    msg = roundtrip(nas.emm_information(full_name=name, local_time_zone=-14))
    assert msg.fields["full_name_for_network"] == name
    assert msg.fields["local_time_zone"] == -14


def test_emm_status_and_service_request() -> None:
    assert roundtrip(nas.emm_status(97)).fields == {"emm_cause": 97}
    ctx = NasSecurityContext.from_kasme(1, KASME, eia=2, eea=2)
    data = nas.service_request(ksi=1, ctx=ctx)
    msg = roundtrip(data)
    assert (msg.name, msg.code) == ("ServiceRequest", 0xC7)
    assert msg.fields["nas_key_set_identifier"] == 1
    assert msg.fields["sequence_number"] == 0
    expected = ctx.mac(UPLINK, 0, data[:2])[2:4]
    assert msg.fields["short_mac"] == expected
    assert ctx.ul_count.value == 1


# ---- ESM messages ----

def test_pdn_connectivity_request_emergency_and_apn() -> None:
    msg = roundtrip(emergency_pdn_request())
    assert msg.fields == {"eps_bearer_identity": 0, "procedure_transaction_identity": 1,
                          "request_type": 4, "pdn_type": 1}
    full = nas.pdn_connectivity_request(pti=3, request_type=1, pdn_type=3,
                                        apn="ims.mnc020.mcc440.gprs", pco=b"\x80\x00\x0d\x00",
                                        esm_info_transfer=True)
    f = roundtrip(full).fields
    assert f["access_point_name"] == "ims.mnc020.mcc440.gprs"
    assert f["pdn_type"] == 3
    assert f["esm_information_transfer_flag"] == 1
    assert f["protocol_configuration_options"] == b"\x80\x00\x0d\x00"
    # TS 23.003 §9.1: length-prefixed labels
    assert b"\x03ims\x06mnc020\x06mcc440\x04gprs" in full


def test_default_bearer_messages() -> None:
    req = roundtrip(nas.activate_default_eps_bearer_context_request(
        ebi=6, pti=2, qci=9, apn="internet", ipv4="10.0.0.7",
        ipv6_interface_identifier=bytes(range(8)), apn_ambr={"downlink": 100000, "uplink": 50000},
        esm_cause=52))
    f = req.fields
    assert (req.name, req.code) == ("ActivateDefaultEPSBearerContextRequest", 0xC1)
    assert (f["eps_bearer_identity"], f["procedure_transaction_identity"]) == (6, 2)
    assert f["pdn_address"] == {"pdn_type": 3, "ipv4": "10.0.0.7",
                                "ipv6_interface_identifier": bytes(range(8))}
    assert f["apn_ambr"] == {"downlink": 100000, "uplink": 50000}
    assert f["esm_cause"] == 52
    acc = roundtrip(nas.activate_default_eps_bearer_context_accept(ebi=6))
    assert (acc.code, acc.fields["eps_bearer_identity"]) == (0xC2, 6)
    rej = roundtrip(nas.activate_default_eps_bearer_context_reject(ebi=6, esm_cause=31))
    assert (rej.code, rej.fields["esm_cause"]) == (0xC3, 31)


def test_esm_status_information_reject() -> None:
    assert roundtrip(nas.esm_status(5, 1, 81)).fields["esm_cause"] == 81
    assert roundtrip(nas.esm_information_request(pti=4)).code == 0xD9
    info = roundtrip(nas.esm_information_response(pti=4, apn="sos"))
    assert info.fields["access_point_name"] == "sos"
    rej = roundtrip(nas.pdn_connectivity_reject(pti=1, esm_cause=27))
    assert (rej.code, rej.fields["esm_cause"]) == (0xD1, 27)


def test_generic_encode_from_message_and_codec() -> None:
    msg = Message("nas", "EMMStatus", 0x60, {"emm_cause": 111})
    codec: Codec = nas.NASCodec()
    assert codec.protocol == "nas"
    assert codec.encode(msg) == b"\x07\x60\x6f"
    assert codec.decode(b"\x07\x60\x6f") == msg
    nested = nas.decode(nas.attach_complete(nas.activate_default_eps_bearer_context_accept(5)))
    again = Message("nas", "AttachComplete", 0x43, dict(nested.fields))
    assert nas.decode(nas.encode(again)) == nested
    with pytest.raises(EncodeError):
        nas.encode(Message("nas", "AttachRequest", 0x41, {"eps_attach_type": 1}))
    with pytest.raises(EncodeError):
        nas.encode(Message("nas", "NoSuchMessage", 0, {}))


def test_unmapped_message_is_decoded_generically() -> None:
    # §8.2.27 Tracking area update complete: known to pycrate, no mapping here
    msg = nas.decode(b"\x07\x4a")
    assert (msg.name, msg.code) == ("TrackingAreaUpdateComplete", 0x4A)


def test_unknown_optional_ie_and_other_ies() -> None:
    base = nas.emm_status(17)
    # §7.6.1: an unknown IEI that is not comprehension required is ignored
    assert nas.decode(base + b"\x7f\x00\x00").fields == {"emm_cause": 17}
    # an IE pycrate knows and the mapping does not: kept raw, encoded back
    data = nas.attach_request(imsi=IMSI, esm_container=emergency_pdn_request()) + b"\x5d\x01\x03"
    msg = roundtrip(data)
    assert msg.fields["voice_domain_preference_and_ues_usage_setting"] == b"\x03"


def test_optional_ie_syntax_error_is_ignored() -> None:
    # §7.7.1: a syntactically incorrect optional IE is treated as absent
    accept = nas.attach_accept(tai_list=[nas.Tai(PLMN, 1)], esm_container=default_bearer_request())
    bad_numbers = nas.decode(accept + bytes.fromhex("3402" "0511"))
    assert "emergency_number_list" not in bad_numbers.fields
    assert bad_numbers.fields["tai_list"] == [nas.Tai(PLMN, 1)]
    bad_zone = nas.decode(nas.emm_information(full_name="X") + bytes.fromhex("46aa"))
    assert "local_time_zone" not in bad_zone.fields
    assert bad_zone.fields["full_name_for_network"].text == "X"


# ---- §7 errors ----

def test_unknown_protocol_discriminator_is_discarded() -> None:
    with pytest.raises(DecodeError) as err:
        nas.decode(b"\x05\x08\x00")
    assert err.value.cause is None
    assert err.value.extra["discard"] is True


@pytest.mark.parametrize("data", [b"", b"\x07", b"\x02\x01", b"\x57\x41"])
def test_too_short_or_reserved_header_is_discarded(data: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        nas.decode(data)
    assert err.value.cause is None and err.value.extra["discard"]


def test_unknown_message_type_is_97() -> None:
    with pytest.raises(DecodeError) as err:
        nas.decode(b"\x07\x30")
    assert (err.value.cause, err.value.extra["pd"]) == (97, 7)
    with pytest.raises(DecodeError) as esm_err:
        nas.decode(b"\x52\x09\x30")
    assert esm_err.value.cause == 97
    assert esm_err.value.extra == {"pd": 2, "ebi": 5, "pti": 9}


def test_invalid_mandatory_information_is_96() -> None:
    truncated = nas.authentication_request(0, bytes(16), bytes(16))[:10]
    with pytest.raises(DecodeError) as err:
        nas.decode(truncated)
    assert err.value.cause == 96
    # a GUTI with the IMSI length: the mandatory EPS mobile identity is invalid
    bad_identity = bytes.fromhex("0741710446f00102") + bytes.fromhex("02e060") + \
        bytes.fromhex("00040201d014")
    with pytest.raises(DecodeError) as err2:
        nas.decode(bad_identity)
    assert err2.value.cause == 96
    with pytest.raises(DecodeError) as esm_err:
        nas.decode(b"\x02\x01\xc1")  # default bearer request without its mandatory IEs
    assert esm_err.value.cause == 96 and esm_err.value.extra["pti"] == 1


def test_synch_failure_without_auts_is_conditional_ie_error() -> None:
    with pytest.raises(DecodeError) as err:
        nas.decode(b"\x07\x5c\x15")
    assert err.value.cause == 100


# ---- security protected messages (§9.1, §4.4.4, §4.4.5) ----

def contexts() -> tuple[NasSecurityContext, NasSecurityContext]:
    """The MME's and the UE's copy of the same context."""
    return (NasSecurityContext.from_kasme(1, KASME, eia=2, eea=2),
            NasSecurityContext.from_kasme(1, KASME, eia=2, eea=2))


def eia2(key: bytes, count: int, direction: int, data: bytes) -> bytes:
    """TS 33.401 B.2.3: AES-CMAC over COUNT || BEARER(0) || DIRECTION || 26 zero bits || M."""
    mac = CMAC(algorithms.AES(key))
    mac.update(count.to_bytes(4, "big") + bytes([direction << 2, 0, 0, 0]) + data)
    return mac.finalize()[:4]


@pytest.mark.parametrize("sht", [1, 2, 3, 4])
def test_protect_unprotect_round_trip(sht: int) -> None:
    mme, ue = contexts()
    plain = nas.emm_information(full_name="JPN-ROAM X")
    wire = nas.protect(plain, mme, DOWNLINK, sht)
    assert wire[0] == (sht << 4) | 7
    assert wire[5] == 0  # SQN of the first downlink message
    assert mme.dl_count.value == 1
    assert (wire[6:] == plain) == (sht in (1, 3))
    assert wire[1:5] == eia2(mme.k_nas_int, 0, DOWNLINK, wire[5:])
    got_sht, got_plain, ok = nas.unprotect(wire, ue, DOWNLINK)
    assert (got_sht, got_plain, ok) == (sht, plain, True)


def test_a_protected_message_s_header_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """§9.1: decoding with the context reads the security header once, then checks the MAC
    and deciphers what it read."""
    mme, ue = contexts()
    wire = nas.protect(nas.emm_information(full_name="JPN-ROAM X"), mme, DOWNLINK, 2)
    parsed = []
    parse = nas._parse_protected
    monkeypatch.setattr(nas, "_parse_protected", lambda data: parsed.append(data) or parse(data))
    msg = nas.decode(wire, ue, DOWNLINK)
    assert parsed == [wire]
    assert msg.name == "EMMInformation" and msg.fields["mac_valid"] is True
    assert msg.fields["security_header_type"] == 2 and msg.fields["sequence_number"] == 0
    assert ue.dl_count.value == 0 and nas.decode(wire, ue, DOWNLINK).fields["mac_valid"] is False


def test_wrong_mac_is_reported_not_raised() -> None:
    mme, ue = contexts()
    wire = bytearray(nas.protect(nas.emm_status(17), mme, DOWNLINK, 1))
    wire[2] ^= 0xFF
    sht, plain, ok = nas.unprotect(bytes(wire), ue, DOWNLINK)
    assert (sht, plain, ok) == (1, nas.emm_status(17), False)
    msg = nas.decode(bytes(wire), ue, DOWNLINK)
    assert msg.name == "EMMStatus" and msg.fields["mac_valid"] is False


def test_replayed_count_is_not_accepted() -> None:
    mme, ue = contexts()
    wire = nas.protect(nas.emm_status(17), mme, DOWNLINK, 1)
    assert nas.unprotect(wire, ue, DOWNLINK)[2] is True
    assert nas.unprotect(wire, ue, DOWNLINK)[2] is False


def test_uplink_count_estimated_from_sqn() -> None:
    mme, ue = contexts()
    for _ in range(3):
        nas.protect(b"\x07\x43\x00\x00", ue, UPLINK, 2)  # messages lost on the way
    wire = nas.protect(nas.attach_complete(nas.activate_default_eps_bearer_context_accept(5)),
                       ue, UPLINK, 2)
    msg = nas.decode(wire, mme, UPLINK)
    assert msg.name == "AttachComplete"
    assert msg.fields["mac_valid"] is True
    assert msg.fields["sequence_number"] == 3
    assert msg.fields["security_header_type"] == 2
    assert mme.ul_count.value == 3


def test_decode_without_context() -> None:
    mme, _ = contexts()
    integrity = nas.protect(nas.security_mode_command(2, 2, 1, nas.ue_security_capability()),
                            mme, DOWNLINK, 3)
    msg = nas.decode(integrity)
    assert msg.name == "SecurityModeCommand"
    assert msg.fields["security_header_type"] == 3
    assert msg.fields["sequence_number"] == 0
    assert msg.fields["mac"] == integrity[1:5]
    ciphered = nas.protect(nas.emm_status(17), mme, DOWNLINK, 2)
    hidden = nas.decode(ciphered)
    assert hidden.name == "SecurityProtectedNASMessage"
    assert hidden.fields["ciphered"] is True
    assert hidden.fields["sequence_number"] == 1
    assert hidden.fields["payload"] == ciphered[6:].hex()


def test_garbage_with_bad_mac_is_reported_as_protected() -> None:
    _, ue = contexts()
    wire = bytes([0x27]) + b"\x00" * 5 + b"\x07\x99"
    msg = nas.decode(wire, ue, DOWNLINK)
    assert msg.name == "SecurityProtectedNASMessage"
    assert msg.fields["mac_valid"] is False


# ---- interop: Wireshark's nas-eps dissector reads our bytes ----

TSHARK_UAT = 'uat:user_dlts:"User 0 (DLT=147)","nas-eps","0","","0",""'


def tshark_fields(tmp_path: Path, packets: list[bytes], fields: list[str]) -> list[list[str]]:
    from scapy.packet import Raw
    from scapy.utils import PcapWriter

    path = tmp_path / "nas.pcap"
    writer = PcapWriter(str(path), linktype=147)
    for pkt in packets:
        writer.write(Raw(pkt))
    writer.close()
    cmd = ["tshark", "-r", str(path), "-o", TSHARK_UAT, "-T", "fields", "-E", "occurrence=a",
           "-E", "aggregator=|"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("\t") for line in out.splitlines()]


@pytest.mark.tshark
def test_tshark_dissects_messages(tmp_path: Path) -> None:
    numbers = nas.emergency_number_list([("110", ["police"]), ("119", ["fire", "ambulance"])])
    packets = [
        nas.attach_request(attach_type=6, imei=IMEI, esm_container=emergency_pdn_request()),
        nas.attach_accept(tai_list=[nas.Tai(PLMN, 1)], esm_container=default_bearer_request(),
                          guti=GUTI, emergency_numbers=numbers),
        nas.emm_information(full_name="JPN-ROAM X", short_name="JPN-ROAM", local_time_zone=36),
        nas.identity_response(imsi=IMSI),
    ]
    rows = tshark_fields(tmp_path, packets, [
        "nas_eps.nas_msg_emm_type", "nas_eps.emm.eps_att_type", "nas_eps.emm.type_of_id",
        "nas_eps.esm_request_type", "gsm_a.dtap.emergency_bcd_num", "gsm_a.dtap.serv_cat_b1",
        "gsm_a.dtap.serv_cat_b3", "gsm_a.dtap.text_string", "gsm_a.dtap.timezone",
        "nas_eps.emm.m_tmsi", "e212.imsi", "_ws.expert.severity"])
    attach, accept, info, ident = rows
    assert attach[0] == "0x41" and attach[1] == "6" and attach[2] == "3" and attach[3] == "4"
    assert accept[0] == "0x42" and accept[4] == "110|119"
    assert accept[5] == "1|0" and accept[6] == "0|1"  # police; fire brigade
    assert accept[9] == str(0xDEADBEEF)
    assert info[7] == "JPN-ROAM X|JPN-ROAM"
    assert int(info[8], 16) == 36  # quarter-hours: GMT + 9 hours
    assert ident[10] == IMSI
    assert all(row[11] == "" for row in rows)


@pytest.mark.tshark
def test_tshark_dissects_security_header(tmp_path: Path) -> None:
    mme, _ = contexts()
    wire = nas.protect(nas.emm_status(17), mme, DOWNLINK, 1)
    rows = tshark_fields(tmp_path, [wire], ["nas_eps.security_header_type",
                                            "nas_eps.msg_auth_code", "nas_eps.seq_no",
                                            "nas_eps.nas_msg_emm_type", "nas_eps.emm.cause"])
    assert rows[0][0] == "1|0"  # the wrapper, then the plain inner message
    assert int(rows[0][1], 16) == int.from_bytes(wire[1:5], "big")
    assert rows[0][2:] == ["0", "0x60", "17"]


def test_ie_helpers() -> None:
    assert ies.coded_bitrate(300) == 296
    assert ies.time_zone_to_wire(36) == b"\x63"
    assert ies.time_zone_from_wire(b"\x49") == -14
    assert ies.apn_to_wire("sos") == b"\x03sos"
    with pytest.raises(ValueError):
        ies.apn_to_wire("bad..apn")
    assert ies.emergency_number_list([("119", ["fire", "ambulance"])])[0].category_value == 0x06
    assert ies.ue_network_capability(uea=(0, 1), uia=(1, 2)) == b"\xe0\x60\xc0\x60"


@pytest.mark.parametrize(("kbps", "octets", "read_back"), [
    # TS 24.301 Table 9.9.4.2.1 / TS 24.008 §10.5.6.5: 64..568 kbps in 8 kbps steps, and
    # no finer step in the extended octets: 300 kbps is carried as the largest rate not above
    (300, b"\x5d\x5d", 296),
    (296, b"\x5d\x5d", 296),
    (10000, b"\xfe\xfe\x0e\x0e", 10000),  # octet 5: 8600 kbps + 14 * 100 kbps
    (256000, b"\xfe\xfe\xfa\xfa", 256000),
    # octets 7/8: 3 * 256 Mbps + octets 3/5 (128 Mbps + 52 * 2 Mbps) = 1 Gbps exactly
    (1000000, b"\xfe\xfe\xee\xee\x03\x03", 1000000),
    (512000, b"\xff\xff\x00\x00\x02\x02", 512000),  # 2 * 256 Mbps + 0 kbps
])
def test_apn_ambr_extended_octets_read_back(kbps: int, octets: bytes, read_back: int) -> None:
    wire = ies.apn_ambr_to_wire({"downlink": kbps, "uplink": kbps})
    assert wire == octets
    assert ies.apn_ambr_from_wire(wire) == {"downlink": read_back, "uplink": read_back}
    msg = nas.activate_default_eps_bearer_context_request(
        ebi=5, pti=1, qci=9, apn="internet", ipv4="10.45.0.2",
        apn_ambr={"downlink": kbps, "uplink": kbps})
    assert nas.decode(msg).fields["apn_ambr"] == {"downlink": read_back, "uplink": read_back}


def test_attach_request_classmark_3_kept_as_received() -> None:
    # value parts are taken as received, never re-encoded from pycrate's CSN.1 structures
    base = nas.attach_request(imsi=IMSI, esm_container=emergency_pdn_request())
    cm3 = bytes.fromhex("60140400ef650633c02b")
    data = base + b"\x20\x0a" + cm3 + bytes.fromhex("400404026004" "5d0103")
    msg = roundtrip(data)
    assert msg.fields["mobile_station_classmark_3"] == cm3
    assert msg.fields["supported_codecs"] == bytes.fromhex("04026004")
    assert msg.fields["voice_domain_preference_and_ues_usage_setting"] == b"\x03"
