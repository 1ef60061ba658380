"""SBc-AP codec (TS 29.168): round trips, field values, error answers, tshark dissection."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from corenet.codecs import cbs, sbcap, sbcap_asn
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError, EncodeError
from corenet.pcap import PcapWriter
from tests import tshark

PLMN = "44020"
TEXT = "津波警報が発表されました。"
CONTENT = cbs.warning_message_contents(TEXT)
SERIAL = cbs.serial_number(cbs.GeographicalScope.CELL_WIDE_IMMEDIATE, 0x101, 1)


def all_messages() -> list[Message]:
    return [
        sbcap.write_replace_warning_request(
            cbs.ETWS_EARTHQUAKE_AND_TSUNAMI, SERIAL, 10, 5, sbcap.warning_area(tais=[(PLMN, 1)]),
            cbs.warning_type(cbs.WarningTypeValue.EARTHQUAKE_AND_TSUNAMI),
            cbs.DCS_UCS2, CONTENT, send_indication=True),
        sbcap.write_replace_warning_request(
            0x1112, SERIAL, 0, 1, sbcap.warning_area(cells=[(PLMN, 0x1234567)]),
            data_coding_scheme=cbs.DCS_GSM7, warning_message_content=cbs.warning_message_contents(
                "Presidential alert"), concurrent=True),
        sbcap.write_replace_warning_request(
            0x1100, SERIAL, 60, 0, sbcap.warning_area(emergency_area_ids=[0x000102])),
        sbcap.write_replace_warning_response(0x1102, SERIAL, unknown_tais=[(PLMN, 9)]),
        sbcap.stop_warning_request(0x1102, SERIAL, sbcap.warning_area(tais=[(PLMN, 1)]), True,
                                   tais=[(PLMN, 1)]),
        sbcap.stop_warning_response(0x1102, SERIAL, sbcap.CAUSES["valid-message-not-identified"]),
        sbcap.write_replace_warning_indication(0x1102, SERIAL, [(PLMN, 0x100), (PLMN, 0x101)]),
        sbcap.stop_warning_indication(0x1102, SERIAL, [(PLMN, 0x100)]),
        sbcap.pws_restart_indication([(PLMN, 0x100)], (PLMN, 1), [(PLMN, 1)], [0x0A0B0C]),
        sbcap.pws_failure_indication([(PLMN, 0x100)], (PLMN, 1)),
        sbcap.error_indication(sbcap.CAUSES["transfer-syntax-error"]),
    ]


@pytest.mark.parametrize("msg", all_messages(), ids=lambda m: m.name)
def test_round_trip(msg: Message) -> None:
    data = sbcap.encode(msg)
    assert sbcap.decode(data) == msg
    assert sbcap.encode(sbcap.decode(data)) == data


def test_write_replace_warning_request_field_values() -> None:
    got = sbcap.decode(sbcap.encode(all_messages()[0]))
    assert got.name == "Write-Replace-Warning-Request" and got.code == 0
    f = got.fields
    assert f["Message-Identifier"] == 0x1102
    assert cbs.parse_serial_number(f["Serial-Number"]) == (0, 0x101, 1)
    assert f["Warning-Area-List"] == ("tracking-Area-List-for-Warning",
                                      [{"pLMNidentity": PLMN, "tAC": 1}])
    assert (f["Repetition-Period"], f["Number-of-Broadcasts-Requested"]) == (10, 5)
    assert cbs.parse_warning_type(f["Warning-Type"]) == (2, True, True)
    assert cbs.decode_warning_message_contents(f["Warning-Message-Content"],
                                               f["Data-Coding-Scheme"]) == TEXT
    assert f["Send-Write-Replace-Warning-Indication"] == "true"


def test_encode_refuses_missing_mandatory_ie() -> None:
    bad = Message("sbcap", "Write-Replace-Warning-Request", 0, {"Message-Identifier": 1})
    with pytest.raises(EncodeError, match="mandatory"):
        sbcap.encode(bad)


def _without_ie(msg: Message, ie_id: int) -> bytes:
    """`msg` encoded, then one IE taken out of its protocolIEs (a peer's faulty message)."""
    pdu = sbcap_asn.SBC_AP_PDU_Descriptions.SBC_AP_PDU
    pdu.from_aper(sbcap.encode(msg))
    kind, body = pdu.get_val()
    name, content = body["value"]
    ies = [ie for ie in content["protocolIEs"] if ie["id"] != ie_id]
    pdu.set_val((kind, {**body, "value": (name, {"protocolIEs": ies})}))
    return bytes(pdu.to_aper())


def test_garbage_is_a_transfer_syntax_error_answered_by_error_indication() -> None:
    with pytest.raises(DecodeError) as info:
        sbcap.decode(b"\x00\x00\xff\xff\xff")
    assert info.value.cause == "transfer-syntax-error"
    answer = sbcap.answer_for(info.value)
    assert answer is not None and answer.name == "Error-Indication"
    decoded = sbcap.decode(sbcap.encode(answer))
    assert decoded.fields["Cause"] == sbcap.CAUSES["transfer-syntax-error"]
    assert decoded.fields["Criticality-Diagnostics"]["procedureCode"] == 0


def test_missing_mandatory_ie_answered_by_response_with_cause() -> None:
    data = _without_ie(all_messages()[0], 10)  # id-Repetition-Period (TS 29.168 §4.4.7)
    with pytest.raises(DecodeError) as info:
        sbcap.decode(data)
    assert info.value.cause == "abstract-syntax-error-reject"
    answer = sbcap.answer_for(info.value)
    assert answer is not None and answer.name == "Write-Replace-Warning-Response"
    decoded = sbcap.decode(sbcap.encode(answer))
    assert decoded.fields["Message-Identifier"] == 0x1102
    assert decoded.fields["Cause"] == sbcap.CAUSES["abstract-syntax-error-reject"]
    diag = decoded.fields["Criticality-Diagnostics"]
    assert diag["triggeringMessage"] == "initiating-message"
    assert diag["iE-CriticalityDiagnostics"] == [
        {"iECriticality": "reject", "iE-ID": 10, "typeOfError": "missing"}]


def test_unknown_procedure_code_is_not_comprehended() -> None:
    data = bytearray(sbcap.encode(all_messages()[-1]))
    data[1] = 200  # procedureCode of a procedure nobody defines
    with pytest.raises(DecodeError) as info:
        sbcap.decode(bytes(data))
    # Error Indication's criticality is ignore: TS 36.413 §10.3.4.1 says ignore and notify.
    assert info.value.cause == "abstract-syntax-error-ignore-and-notify"


@pytest.mark.tshark
def test_tshark_dissects_every_message(tmp_path: Path) -> None:
    pcap = tmp_path / "sbcap.pcapng"
    cbc, mme = ("10.9.0.1", 40000), ("10.2.0.1", sbcap.PORT)
    with PcapWriter(pcap, seed=3) as w:
        for msg in all_messages():
            w.sctp(cbc, mme, sbcap.encode(msg), sbcap.PPID, 0, comment=msg.name)
    assert tshark.count(pcap, "sbcap") == len(all_messages())
    assert tshark.count(pcap, "_ws.malformed || _ws.expert.severity >= warning") == 0
    codes = tshark.values(pcap, "sbc-ap.procedureCode")
    assert codes == ["0", "0", "0", "0", "1", "1", "3", "4", "5", "6", "2"]
    first = tshark.fields(pcap, "sbc-ap.Message_Identifier", "sbc-ap.WarningType.value",
                          "sbc-ap.WarningMessageContents.decoded_page",
                          display_filter="frame.comment contains \"Write-Replace-Warning-Request\"")
    assert first[0]["sbc-ap.Message_Identifier"] == [str(0x1102)]
    assert first[0]["sbc-ap.WarningType.value"] == ["2"]
    assert "".join(first[0]["sbc-ap.WarningMessageContents.decoded_page"]) == TEXT
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y", "sbcap", "-V"], capture_output=True,
                         text=True, check=True).stdout
    assert "Write-Replace-Warning-Request" in out and "Malformed" not in out
