"""A capture holding one of each message, read by tshark: every message dissects cleanly.

Wireshark field names: s1ap.procedureCode, nas_eps.nas_msg_emm_type, nas_eps.nas_msg_esm_type,
diameter.cmd.code, diameter.Result-Code, gtpv2.message_type.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.codecs import catalogue, s1ap
from corenet.codecs import diameter as dia
from corenet.pcap.reference import write_reference_capture
from tests import tshark


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_reference_capture(tmp_path_factory.mktemp("ref") / "reference.pcapng", seed=1, eea=2)


def test_no_malformed_packets_and_no_expert_warnings(capture: Path) -> None:
    assert tshark.count(capture, "_ws.malformed") == 0
    assert tshark.expert_problems(capture) == ""


def test_every_s1ap_procedure_is_dissected(capture: Path) -> None:
    codes = {int(v) for v in tshark.values(capture, "s1ap.procedureCode")}
    expected = {s1ap.PROCEDURE_CODES[name] for name, _ in catalogue.s1ap_samples()}
    assert expected <= codes
    assert {9, 11, 12, 13, 14, 15, 17, 18, 23, 36} <= codes


def test_every_nas_message_type_is_dissected(capture: Path) -> None:
    emm = {int(v, 16) for v in tshark.values(capture, "nas_eps.nas_msg_emm_type")}
    # TS 24.301 §9.8 Table 9.8.1
    assert {0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x4C, 0x4E, 0x52, 0x53, 0x54, 0x55, 0x56, 0x5C,
            0x5D, 0x5E, 0x5F, 0x60, 0x61} <= emm
    # §8.2.25: the SERVICE REQUEST has no message type, its security header type is 1100
    assert "12" in tshark.values(capture, "nas_eps.security_header_type")
    esm = {int(v, 16) for v in tshark.values(capture, "nas_eps.nas_msg_esm_type")}
    # Table 9.8.2
    assert {0xC1, 0xC2, 0xC3, 0xD0, 0xD1, 0xE8} <= esm


def test_emergency_numbers_and_network_name_decode(capture: Path) -> None:
    numbers = set(tshark.values(capture, "gsm_a.dtap.emergency_bcd_num"))
    assert {"110", "118", "119"} <= numbers
    names = set(tshark.values(capture, "gsm_a.dtap.text_string"))
    assert "JPN-ROAM X" in names
    attach_types = {int(v) for v in tshark.values(capture, "nas_eps.emm.eps_att_type")}
    assert {1, 6} <= attach_types


def test_diameter_commands_and_result_codes(capture: Path) -> None:
    rows = tshark.fields(capture, "diameter.cmd.code", "diameter.flags.request", "diameter.Result-Code")
    seen = {(int(r["diameter.cmd.code"][0]), r["diameter.flags.request"][0] in ("1", "True"))
            for r in rows if r["diameter.cmd.code"]}
    for code in (257, 280, 282, 316, 317, 318, 319, 321):
        assert (code, True) in seen and (code, False) in seen, code
    results = {int(v) for r in rows for v in r["diameter.Result-Code"]}
    assert results == {2001}
    assert "440100000000001" in tshark.values(capture, "e212.imsi", "diameter.cmd.code == 318")


def test_cx_gx_rx_commands_under_their_applications(capture: Path) -> None:
    """Cx UAR/MAR/SAR (TS 29.229 §6.1), Gx CCR/RAR (TS 29.212 §5.6), Rx AAR/STR (TS 29.214
    §5.6): each request and answer under its application, the PCC rule's QCI decoded."""
    rows = tshark.fields(capture, "diameter.cmd.code", "diameter.flags.request",
                         "diameter.applicationId", display_filter="diameter")
    seen = {(int(r["diameter.cmd.code"][0]), r["diameter.flags.request"][0] in ("1", "True"),
             int(r["diameter.applicationId"][0])) for r in rows}
    for app, codes in ((dia.CX_APPLICATION_ID, (300, 301, 303)),
                       (dia.GX_APPLICATION_ID, (272, 258)), (dia.RX_APPLICATION_ID, (265, 275))):
        for code in codes:
            assert (code, True, app) in seen and (code, False, app) in seen, (app, code)
    assert tshark.values(capture, "diameter.QoS-Class-Identifier",
                         "diameter.cmd.code == 258") == ["1"]
    assert "440100000000001@ims.mnc010.mcc440.3gppnetwork.org" in tshark.values(
        capture, "diameter.User-Name", "diameter.cmd.code == 303")


def test_gtpv2_message_types_and_uimsi(capture: Path) -> None:
    types = {int(v) for v in tshark.values(capture, "gtpv2.message_type")}
    assert {1, 2, 32, 33, 34, 35, 36, 37, 95, 96, 99, 100} <= types
    rows = tshark.fields(capture, "gtpv2.uimsi", "gtpv2.apn", display_filter="gtpv2.message_type == 32")
    uimsi = {r["gtpv2.apn"][0]: r["gtpv2.uimsi"] for r in rows}
    assert uimsi["sos"] == ["1"] and uimsi["internet"] == []  # no Indication IE at all


def test_every_sctp_data_frame_carries_s1ap_or_diameter(capture: Path) -> None:
    rows = tshark.fields(capture, "frame.number", "frame.protocols", display_filter="sctp.data_tsn")
    assert len(rows) > 40
    for r in rows:
        protos = r["frame.protocols"][0].split(":")
        assert "s1ap" in protos or "diameter" in protos, r
    assert tshark.count(capture, "sctp.retransmission") == 0
    ppids = {int(v) for v in tshark.values(capture, "sctp.data_payload_proto_id")}
    assert ppids == {18, 46}


def test_capture_is_deterministic(tmp_path: Path, capture: Path) -> None:
    again = write_reference_capture(tmp_path / "again.pcapng", seed=1, eea=2)
    other = write_reference_capture(tmp_path / "other.pcapng", seed=2, eea=2)
    assert again.read_bytes() == capture.read_bytes()
    assert other.read_bytes() != capture.read_bytes()
