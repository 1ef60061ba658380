"""`corenet decode` through the console script, for each protocol."""

from __future__ import annotations

import pytest

from corenet.codecs import catalogue, diameter, gtpv2c, nas, s1ap
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext
from tests.cli_helpers import run, run_json


def test_s1ap_initial_ue_message() -> None:
    msg = dict(catalogue.s1ap_samples())["InitialUEMessage"]
    rc, out = run_json("corenet", "decode", "s1ap", s1ap.encode(msg).hex())
    assert rc == 0
    assert out["protocol"] == "s1ap" and out["message"] == "InitialUEMessage" and out["code"] == 12
    assert out["fields"]["TAI"] == {"pLMNidentity": "44020", "tAC": 1}
    assert out["fields"]["eNB-UE-S1AP-ID"] == 1


def test_nas_attach_request_from_stdin() -> None:
    data = catalogue.nas_samples()[1][1]  # emergency attach
    rc, out = run_json("corenet", "decode", "nas", "-", stdin=data.hex() + "\n")
    assert rc == 0
    assert out["message"] == "AttachRequest" and out["code"] == 0x41
    assert out["fields"]["eps_attach_type"] == 6
    assert out["fields"]["eps_mobile_identity"] == {"type": "imsi", "value": catalogue.IMSI}
    assert out["fields"]["esm_message_container"]["fields"]["request_type"] == 4


def test_nas_integrity_protected_is_unwrapped() -> None:
    ctx = NasSecurityContext.from_kasme(0, catalogue.KASME, eia=2, eea=0)
    data = nas.protect(nas.emm_information(full_name="JPN-ROAM X"), ctx, DOWNLINK, nas.SHT_INTEGRITY)
    rc, out = run_json("corenet", "decode", "nas", data.hex())
    assert rc == 0
    assert out["message"] == "EMMInformation" and out["fields"]["security_header_type"] == 1


def test_nas_ciphered_without_keys_then_with_keys() -> None:
    ctx = NasSecurityContext.from_kasme(0, catalogue.KASME, eia=2, eea=2)
    data = nas.protect(nas.emm_information(full_name="JPN-ROAM X"), ctx, DOWNLINK, nas.SHT_INTEGRITY_CIPHERED)
    rc, out = run_json("corenet", "decode", "nas", data.hex())
    assert rc == 0
    assert out["message"] == "SecurityProtectedNASMessage" and out["fields"]["ciphered"] is True
    rc, out = run_json("corenet", "decode", "nas", data.hex(), "--kasme", catalogue.KASME.hex(),
                       "--eia", "2", "--eea", "2", "--direction", "downlink")
    assert rc == 0
    assert out["message"] == "EMMInformation" and out["fields"]["mac_valid"] is True
    assert out["fields"]["full_name_for_network"]["text"] == "JPN-ROAM X"


def test_diameter_ula() -> None:
    msg = dict(catalogue.diameter_samples())["ULA"]
    rc, out = run_json("corenet", "decode", "diameter", diameter.encode(msg).hex())
    assert rc == 0
    assert out["message"] == "ULA" and out["code"] == 316
    assert out["fields"]["flags"]["request"] is False
    assert ["Result-Code", 2001] in out["fields"]["avps"]


def test_gtpv2_create_session_request_with_uimsi() -> None:
    msg = [m for n, m in catalogue.gtpv2c_samples() if n == "CreateSessionRequest"][1]
    rc, out = run_json("corenet", "decode", "gtpv2", gtpv2c.encode(msg).hex())
    assert rc == 0
    assert out["message"] == "CreateSessionRequest" and out["code"] == 32
    assert out["fields"]["imsi"] == catalogue.IMSI and out["fields"]["indication"]["uimsi"] is True


@pytest.mark.parametrize(
    "protocol, hexdata, cause",
    [
        ("s1ap", "0011ff", ["protocol", "transfer-syntax-error"]),
        ("nas", "07ff", 97),
        ("diameter", "01000010", 5015),
        ("gtpv2", "2801000800000001", 66),
    ],
)
def test_undecodable_bytes_exit_1_with_cause(protocol: str, hexdata: str, cause: object) -> None:
    rc, out = run_json("corenet", "decode", protocol, hexdata)
    assert rc == 1
    assert out["protocol"] == protocol and out["cause"] == cause and out["error"]


@pytest.mark.parametrize("args, named", [
    (["s1ap", "zz"], "HEX"),
    (["s1ap", ""], "HEX"),
    (["x2ap", "00"], "PROTOCOL"),
    (["nas", "0741", "--kasme", "00"], "--kasme"),
])
def test_bad_argument_exit_2(args: list[str], named: str) -> None:
    proc = run("corenet", "decode", *args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and named in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("direction", "name"), [(DOWNLINK, "downlink"), (UPLINK, "uplink")])
def test_nas_ciphered_with_kasme_and_no_direction(direction: int, name: str) -> None:
    """TS 33.401 §8.1.1: the direction bit is an input of the MAC, so the one that verifies
    is the message's direction; no traceback without --direction."""
    ctx = NasSecurityContext.from_kasme(0, catalogue.KASME, eia=2, eea=2)
    data = nas.protect(nas.emm_status(17), ctx, direction, nas.SHT_INTEGRITY_CIPHERED)
    rc, out = run_json("corenet", "decode", "nas", data.hex(), "--kasme", catalogue.KASME.hex(),
                       "--eia", "2", "--eea", "2")
    assert rc == 0
    assert out["message"] == "EMMStatus" and out["fields"]["emm_cause"] == 17
    assert out["warnings"][0]["direction"] == name


def test_nas_ciphered_with_a_wrong_kasme_decodes_the_header() -> None:
    ctx = NasSecurityContext.from_kasme(0, catalogue.KASME, eia=2, eea=2)
    data = nas.protect(nas.emm_status(17), ctx, DOWNLINK, nas.SHT_INTEGRITY_CIPHERED)
    rc, out = run_json("corenet", "decode", "nas", data.hex(), "--kasme", "00" * 32)
    assert rc == 0
    assert out["message"] == "SecurityProtectedNASMessage" and out["fields"]["ciphered"] is True
    assert "neither direction" in out["warnings"][0]["detail"]


def test_nas_service_request_and_service_reject() -> None:
    ctx = NasSecurityContext.from_kasme(0, catalogue.KASME, eia=2, eea=0)
    ctx.ul_count = type(ctx.ul_count)(0x25)
    data = nas.service_request(ksi=1, ctx=ctx)
    rc, out = run_json("corenet", "decode", "nas", data.hex())
    assert rc == 0
    assert out["message"] == "ServiceRequest" and out["code"] == 0xC7  # TS 24.301 §8.2.25
    assert out["fields"]["nas_key_set_identifier"] == 1
    assert out["fields"]["sequence_number"] == 0x05  # the 5 LSBs of the uplink NAS COUNT
    rc, out = run_json("corenet", "decode", "nas", nas.service_reject(9).hex())
    assert rc == 0 and out["message"] == "ServiceReject" and out["fields"]["emm_cause"] == 9
