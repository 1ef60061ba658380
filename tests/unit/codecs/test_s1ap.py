"""S1AP codec (TS 36.413): round trips, field values, §10 error handling, tshark interop."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from pycrate_asn1dir import S1AP

from corenet.codecs import s1ap
from corenet.codecs.base import Codec, Message
from corenet.core.errors import DecodeError, EncodeError
from corenet.core.plmn import Plmn

PLMN = Plmn("440", "20")
PLMN3 = Plmn("310", "410")
KENB = bytes(range(32))
ERAB = s1ap.ERabToBeSetup(
    e_rab_id=5, qci=5, priority_level=1, transport_layer_address="192.0.2.10",
    gtp_teid=0x11223344, nas_pdu=b"\x27\x01\x02",
)
CAUSE = ("nas", "normal-release")


def all_messages() -> list[Message]:
    return [
        s1ap.s1_setup_request(0x12345, "enb-1", PLMN, [1, 2], broadcast_plmns=[PLMN, PLMN3]),
        s1ap.s1_setup_request(0xABCDEF1, None, PLMN, [7], "v128", enb_id_type="homeENB-ID"),
        s1ap.s1_setup_response("mme-1", [PLMN], 0x8001, 0x01, 200),
        s1ap.s1_setup_failure(("misc", "unspecified"), "v10s"),
        s1ap.initial_ue_message(7, b"\x07\x41\x71", PLMN, 1, PLMN, 0x1234567,
                                "emergency", s_tmsi=(2, 0xC0FFEE01)),
        s1ap.downlink_nas_transport(100, 7, b"\x07\x52"),
        s1ap.uplink_nas_transport(100, 7, b"\x07\x53", PLMN, 1, PLMN, 0x1234567),
        s1ap.initial_context_setup_request(100, 7, 50_000_000, 20_000_000, [ERAB],
                                           0xE000, 0xC000, KENB),
        s1ap.initial_context_setup_response(100, 7, [(5, "2001:db8::5", 0xABCD)],
                                            [(6, ("radioNetwork", "unspecified"))]),
        s1ap.initial_context_setup_failure(100, 7, ("radioNetwork", "unspecified")),
        s1ap.ue_context_release_request(100, 7, ("radioNetwork", "user-inactivity")),
        s1ap.ue_context_release_command(100, 7, CAUSE),
        s1ap.ue_context_release_command(100, None, CAUSE),
        s1ap.ue_context_release_complete(100, 7),
        s1ap.error_indication(("protocol", "transfer-syntax-error"), 100, 7),
        s1ap.error_indication(None),
        s1ap.reset(("misc", "om-intervention")),
        s1ap.reset(("misc", "om-intervention"), [(100, 7), (None, 8), (101, None)]),
        s1ap.reset_acknowledge(),
        s1ap.reset_acknowledge([(100, 7)]),
        s1ap.write_replace_warning_request(
            0x1100, 0x3000, 10, 3, warning_type=b"\x01\x80",
            warning_message_contents=b"\x01" + bytes(83), data_coding_scheme=0x48,
            warning_area_cells=[(PLMN, 0x1234567), (PLMN, 0x1234568)]),
        s1ap.write_replace_warning_request(0x1101, 0x3010, 60, 0,
                                           warning_area_tais=[(PLMN, 1)]),
        s1ap.write_replace_warning_response(0x1100, 0x3000, [(PLMN, 0x1234567)]),
        s1ap.write_replace_warning_response(0x1100, 0x3000),
    ]


@pytest.mark.parametrize("msg", all_messages(), ids=lambda m: m.name)
def test_round_trip(msg: Message) -> None:
    data = s1ap.encode(msg)
    back = s1ap.decode(data)
    assert back.protocol == "s1ap"
    assert (back.name, back.code) == (msg.name, msg.code)
    assert back.fields == msg.fields
    assert s1ap.encode(back) == data


def test_codec_protocol() -> None:
    codec: Codec = s1ap.S1APCodec()
    msg = s1ap.downlink_nas_transport(1, 2, b"\x07")
    assert codec.protocol == "s1ap"
    assert codec.decode(codec.encode(msg)) == msg


def test_procedure_codes() -> None:
    # TS 36.413 §9.3.6
    codes = {m.name: m.code for m in all_messages()}
    assert codes["InitialContextSetupRequest"] == 9
    assert codes["DownlinkNASTransport"] == 11
    assert codes["InitialUEMessage"] == 12
    assert codes["UplinkNASTransport"] == 13
    assert codes["Reset"] == 14
    assert codes["ErrorIndication"] == 15
    assert codes["S1SetupRequest"] == 17
    assert codes["UEContextReleaseRequest"] == 18
    assert codes["UEContextReleaseCommand"] == 23
    assert codes["WriteReplaceWarningRequest"] == 36


def test_s1_setup_request_known_encoding() -> None:
    msg = s1ap.s1_setup_request(0x1234, None, PLMN, [1])
    data = s1ap.encode(msg)
    assert data.hex() == "0011001f000003003b00080044f00200012340004000070000004044f0020089400120"
    f = s1ap.decode(data).fields
    assert f["Global-ENB-ID"] == {"pLMNidentity": "44020", "eNB-ID": ("macroENB-ID", 0x1234)}
    assert f["SupportedTAs"] == [{"tAC": 1, "broadcastPLMNs": ["44020"]}]
    assert f["DefaultPagingDRX"] == "v64"


def test_s1_setup_response_fields() -> None:
    f = s1ap.decode(s1ap.encode(s1ap.s1_setup_response("mme", [PLMN3], 0x8001, 3, 9))).fields
    assert f["MMEname"] == "mme"
    assert f["ServedGUMMEIs"] == [
        {"servedPLMNs": ["310410"], "servedGroupIDs": [0x8001], "servedMMECs": [3]}
    ]
    assert f["RelativeMMECapacity"] == 9


def test_initial_ue_message_fields() -> None:
    msg = s1ap.initial_ue_message(7, b"\x07\x41", PLMN3, 0x1A2B, PLMN, 0xFFFFFFF,
                                  s_tmsi=(2, 0xC0FFEE01))
    f = s1ap.decode(s1ap.encode(msg)).fields
    assert f["eNB-UE-S1AP-ID"] == 7
    assert f["NAS-PDU"] == b"\x07\x41"
    assert f["TAI"] == {"pLMNidentity": "310410", "tAC": 0x1A2B}
    assert f["EUTRAN-CGI"] == {"pLMNidentity": "44020", "cell-ID": 0xFFFFFFF}
    assert f["RRC-Establishment-Cause"] == "mo-Signalling"
    assert f["S-TMSI"] == {"mMEC": 2, "m-TMSI": 0xC0FFEE01}


def test_initial_context_setup_request_fields() -> None:
    msg = s1ap.initial_context_setup_request(100, 7, 50_000_000, 20_000_000, [ERAB],
                                             0xE000, 0xC000, KENB)
    f = s1ap.decode(s1ap.encode(msg)).fields
    assert f["uEaggregateMaximumBitrate"] == {
        "uEaggregateMaximumBitRateDL": 50_000_000, "uEaggregateMaximumBitRateUL": 20_000_000,
    }
    (item,) = f["E-RABToBeSetupListCtxtSUReq"]
    assert item["e-RAB-ID"] == 5
    assert item["e-RABlevelQoSParameters"]["qCI"] == 5
    arp = item["e-RABlevelQoSParameters"]["allocationRetentionPriority"]
    assert arp == {"priorityLevel": 1, "pre-emptionCapability": "shall-not-trigger-pre-emption",
                   "pre-emptionVulnerability": "not-pre-emptable"}
    assert item["transportLayerAddress"] == "192.0.2.10"
    assert item["gTP-TEID"] == 0x11223344
    assert item["nAS-PDU"] == b"\x27\x01\x02"
    assert f["UESecurityCapabilities"] == {
        "encryptionAlgorithms": 0xE000, "integrityProtectionAlgorithms": 0xC000,
    }
    assert f["SecurityKey"] == KENB


def test_initial_context_setup_response_fields() -> None:
    msg = s1ap.initial_context_setup_response(1, 2, [(5, "2001:db8::5", 9)],
                                              [(6, ("radioNetwork", "unspecified"))])
    f = s1ap.decode(s1ap.encode(msg)).fields
    assert f["E-RABSetupListCtxtSURes"] == [
        {"e-RAB-ID": 5, "transportLayerAddress": "2001:db8::5", "gTP-TEID": 9}
    ]
    assert f["E-RABFailedToSetupListCtxtSURes"] == [
        {"e-RAB-ID": 6, "cause": ("radioNetwork", "unspecified")}
    ]


def test_transport_layer_address_forms() -> None:
    both = s1ap.ERabToBeSetup(1, 9, 15, "192.0.2.1,2001:db8::1", 1)
    raw = s1ap.ERabToBeSetup(1, 9, 15, b"\x0a\x00\x00\x01", 1)
    for erab, expected in ((both, "192.0.2.1,2001:db8::1"), (raw, "10.0.0.1")):
        msg = s1ap.initial_context_setup_request(1, 2, 1, 1, [erab], 0, 0, KENB)
        item = s1ap.decode(s1ap.encode(msg)).fields["E-RABToBeSetupListCtxtSUReq"][0]
        assert item["transportLayerAddress"] == expected


def test_release_and_reset_fields() -> None:
    f = s1ap.decode(s1ap.encode(s1ap.ue_context_release_command(100, None, CAUSE))).fields
    assert f == {"UE-S1AP-IDs": ("mME-UE-S1AP-ID", 100), "Cause": ("nas", "normal-release")}
    f = s1ap.decode(s1ap.encode(s1ap.reset(("misc", "unspecified"), [(1, 2), (None, 3)]))).fields
    assert f["ResetType"] == ("partOfS1-Interface", [
        {"mME-UE-S1AP-ID": 1, "eNB-UE-S1AP-ID": 2}, {"eNB-UE-S1AP-ID": 3},
    ])
    f = s1ap.decode(s1ap.encode(s1ap.reset(("misc", "unspecified")))).fields
    assert f["ResetType"] == ("s1-Interface", "reset-all")


def test_write_replace_warning_fields() -> None:
    msg = s1ap.write_replace_warning_request(
        0x1102, 0x3001, 10, 5, warning_type=b"\x04\x80", warning_message_contents=b"\x01\x02",
        data_coding_scheme=0x48, warning_area_cells=[(PLMN, 0x1234567)])
    f = s1ap.decode(s1ap.encode(msg)).fields
    assert f["MessageIdentifier"] == 0x1102
    assert f["SerialNumber"] == 0x3001
    assert f["RepetitionPeriod"] == 10
    assert f["NumberofBroadcastRequest"] == 5
    assert f["WarningType"] == b"\x04\x80"
    assert f["DataCodingScheme"] == 0x48
    assert f["WarningMessageContents"] == b"\x01\x02"
    assert f["WarningAreaList"] == ("cellIDList", [{"pLMNidentity": "44020", "cell-ID": 0x1234567}])
    f = s1ap.decode(s1ap.encode(s1ap.write_replace_warning_response(0x1102, 0x3001,
                                                                    [(PLMN, 9)]))).fields
    assert f["BroadcastCompletedAreaList"] == (
        "cellID-Broadcast", [{"eCGI": {"pLMNidentity": "44020", "cell-ID": 9}}])


def test_to_json() -> None:
    j = s1ap.decode(s1ap.encode(s1ap.downlink_nas_transport(1, 2, b"\xab"))).to_json()
    assert j == {"protocol": "s1ap", "message": "DownlinkNASTransport", "code": 11,
                 "fields": {"MME-UE-S1AP-ID": 1, "eNB-UE-S1AP-ID": 2, "NAS-PDU": "ab"}}


# ---- encode errors (local bugs) ----

@pytest.mark.parametrize("msg", [
    Message("s1ap", "NoSuchMessage", 0, {}),
    Message("s1ap", "DownlinkNASTransport", 11, {"MME-UE-S1AP-ID": 1, "eNB-UE-S1AP-ID": 2}),
    Message("s1ap", "DownlinkNASTransport", 11,
            {"MME-UE-S1AP-ID": 1, "eNB-UE-S1AP-ID": 2, "NAS-PDU": b"", "Bogus": 1}),
    s1ap.downlink_nas_transport(2**32, 2, b"\x07"),
    s1ap.s1_setup_failure(("misc", "no-such-cause")),
])
def test_encode_errors(msg: Message) -> None:
    with pytest.raises(EncodeError):
        s1ap.encode(msg)


# ---- decode errors (TS 36.413 §10) ----

PDU = S1AP.S1AP_PDU_Descriptions.S1AP_PDU


def raw(data: bytes) -> Any:
    PDU.from_aper(data)
    return PDU.get_val()


def reencode(val: Any) -> bytes:
    return bytes(PDU.to_aper(val))


def ies_of(val: Any) -> list[dict[str, Any]]:
    return val[1]["value"][1]["protocolIEs"]


def decode_error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        s1ap.decode(data)
    assert info.value.protocol == "s1ap"
    return info.value


DL = s1ap.encode(s1ap.downlink_nas_transport(100, 7, b"\x07\x52"))


@pytest.mark.parametrize("data", [b"", b"\x00", DL[:-1], DL[:5], b"\xff" * 12, DL + b"\x00"])
def test_transfer_syntax_error(data: bytes) -> None:
    err = decode_error(data)
    assert err.cause == ("protocol", "transfer-syntax-error")


def test_transfer_syntax_error_reports_procedure_code() -> None:
    assert decode_error(DL[:-1]).extra["procedure_code"] == 11


def test_missing_mandatory_reject_ie() -> None:
    val = raw(DL)
    ies_of(val)[:] = [ie for ie in ies_of(val) if ie["id"] != 26]  # drop NAS-PDU
    err = decode_error(reencode(val))
    assert err.cause == ("protocol", "abstract-syntax-error-reject")
    assert err.extra["procedure_code"] == 11
    assert err.extra["triggering_message"] == "initiatingMessage"
    assert err.extra["mme_ue_id"] == 100
    assert err.extra["enb_ue_id"] == 7
    assert err.extra["ie_errors"] == [(26, "reject", "missing")]
    assert err.extra["report"] is True


def test_missing_mandatory_ignore_ie_is_not_reported() -> None:
    data = s1ap.encode(s1ap.initial_context_setup_response(100, 7, [(5, "192.0.2.1", 1)]))
    val = raw(data)
    ies_of(val)[:] = [ie for ie in ies_of(val) if ie["id"] != 51]
    err = decode_error(reencode(val))
    assert err.extra["report"] is False
    assert err.extra["ie_errors"] == [(51, "ignore", "missing")]
    assert err.extra["message"].fields == {"MME-UE-S1AP-ID": 100, "eNB-UE-S1AP-ID": 7}


def _with_unknown_ie(criticality: str) -> bytes:
    val = raw(DL)
    ies_of(val).append({"id": 999, "criticality": criticality, "value": ("_unk_004", b"\x01")})
    return reencode(val)


def test_unknown_ie_reject() -> None:
    err = decode_error(_with_unknown_ie("reject"))
    assert err.cause == ("protocol", "abstract-syntax-error-reject")
    assert err.extra["ie_errors"] == [(999, "reject", "not-understood")]


def test_unknown_ie_notify() -> None:
    err = decode_error(_with_unknown_ie("notify"))
    assert err.cause == ("protocol", "abstract-syntax-error-ignore-and-notify")
    assert err.extra["message"].fields["NAS-PDU"] == b"\x07\x52"


def test_unknown_ie_ignore() -> None:
    assert s1ap.decode(_with_unknown_ie("ignore")).fields["NAS-PDU"] == b"\x07\x52"


@pytest.mark.parametrize(("criticality", "cause", "report"), [
    ("reject", "abstract-syntax-error-reject", True),
    ("notify", "abstract-syntax-error-ignore-and-notify", True),
    ("ignore", "abstract-syntax-error-ignore-and-notify", False),
])
def test_unknown_procedure(criticality: str, cause: str, report: bool) -> None:
    val = raw(DL)
    val[1]["procedureCode"] = 250
    val[1]["criticality"] = criticality
    val[1]["value"] = ("_unk_004", b"\x00\x00\x00")
    err = decode_error(reencode(val))
    assert err.cause == ("protocol", cause)
    assert err.extra["procedure_code"] == 250
    assert err.extra["report"] is report


def test_unknown_message_type() -> None:
    # §10.3.4.1A: DownlinkNASTransport has no successful outcome.
    val = raw(DL)
    val = ("successfulOutcome", {**val[1], "criticality": "reject",
                                 "value": ("_unk_004", b"\x00\x00\x00")})
    err = decode_error(reencode(val))
    assert err.cause == ("protocol", "abstract-syntax-error-reject")
    assert err.extra["triggering_message"] == "successfulOutcome"


def test_repeated_ie() -> None:
    val = raw(DL)
    ies_of(val).append(dict(ies_of(val)[0]))
    err = decode_error(reencode(val))
    assert err.cause == ("protocol", "abstract-syntax-error-falsely-constructed-message")


def test_bad_plmn_digits() -> None:
    val = raw(s1ap.encode(s1ap.s1_setup_request(1, None, PLMN, [1])))
    ies_of(val)[0]["value"][1]["pLMNidentity"] = b"\xaa\xaa\xaa"
    assert decode_error(reencode(val)).cause == ("protocol", "semantic-error")


def test_error_indication_for_decode_error() -> None:
    val = raw(DL)
    ies_of(val)[:] = [ie for ie in ies_of(val) if ie["id"] != 26]
    ei = s1ap.error_indication_for(decode_error(reencode(val)))
    f = s1ap.decode(s1ap.encode(ei)).fields
    assert f["Cause"] == ("protocol", "abstract-syntax-error-reject")
    assert f["MME-UE-S1AP-ID"] == 100 and f["eNB-UE-S1AP-ID"] == 7
    assert f["CriticalityDiagnostics"] == {
        "procedureCode": 11, "triggeringMessage": "initiating-message",
        "procedureCriticality": "ignore",
        "iEsCriticalityDiagnostics": [
            {"iECriticality": "reject", "iE-ID": 26, "typeOfError": "missing"}],
    }


def test_decoder_recovers_after_error() -> None:
    for _ in range(3):
        decode_error(DL[:4])
    assert s1ap.decode(DL).fields["NAS-PDU"] == b"\x07\x52"


# ---- interop: Wireshark's dissector reads our bytes ----

@pytest.mark.tshark
def test_tshark_reads_procedure_code(tmp_path: Path) -> None:
    from scapy.all import IP, SCTP, SCTPChunkData, wrpcap

    nas = b"\x07\x60\x6f"  # EMM STATUS, cause #111 (TS 24.301 §8.2.14)
    data = s1ap.encode(s1ap.initial_ue_message(7, nas, PLMN, 1, PLMN, 0x1234567))
    pkt = (IP(src="192.0.2.1", dst="192.0.2.2") / SCTP(sport=36412, dport=36412)
           / SCTPChunkData(data=data, proto_id=18, tsn=1, stream_id=1, beginning=1, ending=1))
    path = tmp_path / "s1ap.pcap"
    wrpcap(str(path), [pkt])
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "s1ap.procedureCode",
         "-e", "s1ap.ENB_UE_S1AP_ID", "-e", "_ws.expert.severity"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    code, enb_ue_id, *expert = out.split("\t")
    assert code == "12"
    assert enb_ue_id == "7"
    assert expert in ([], [""])


def test_pdu_extension_alternative() -> None:
    # An S1AP-PDU CHOICE extension (X.691 §23): a Type of Message not comprehended (§10.3.4.1A).
    err = decode_error(b"\x80\x03\x00\x0b\x00")
    assert err.cause == ("protocol", "abstract-syntax-error-reject")


def test_error_indication_for_an_unsuccessful_outcome_names_it_as_the_asn1_does() -> None:
    """§9.2.1.21 / §9.3.4: TriggeringMessage "unsuccessfull-outcome" (so spelt in the ASN.1)
    for a rejected IE in an S1 Setup Failure (an input `corenet fuzz` found)."""
    data = (Path(__file__).parents[2] / "fuzz/regressions/mme/crash-11f4a45d506764f1.bin").read_bytes()
    with pytest.raises(DecodeError) as info:
        s1ap.decode(data)
    answer = s1ap.decode(s1ap.encode(s1ap.error_indication_for(info.value)))
    assert answer.name == "ErrorIndication"
    cd = answer.fields["CriticalityDiagnostics"]
    assert cd["triggeringMessage"] == "unsuccessfull-outcome"
    assert answer.fields["Cause"] == ("protocol", "abstract-syntax-error-reject")
