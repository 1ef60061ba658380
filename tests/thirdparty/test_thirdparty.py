"""Messages of other implementations (tests/thirdparty/messages.json, origin per message): each
decodes with `corenet decode`, to the same JSON with both codec levels, NAS inside S1AP too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corenet.cli.decode_cmd import decode as decode_cli
from corenet.codecs import diameter, s1ap
from corenet.codecs.fast import s1ap as fast_s1ap
from corenet.core.errors import DecodeError
from tests.unit.codecs.fast.parity import codec_level

MESSAGES: list[dict[str, Any]] = json.loads((Path(__file__).parent / "messages.json").read_text())
UPLINK_S1AP = {"InitialUEMessage", "UplinkNASTransport"}


def _ids(m: dict[str, Any]) -> str:
    return f"{m['protocol']}-{m['message']}-{m['hex'][:12]}"


def decode_both(proto: str, hexdata: str, *args: str) -> dict[str, Any]:
    """`corenet decode` with --codec fast and --codec pycrate: same output, exit 0."""
    runner = CliRunner()
    with codec_level("fast"):  # the command sets the process-wide level; restore it after
        outs = [runner.invoke(decode_cli, [proto, hexdata, *args, "--codec", c])
                for c in ("fast", "pycrate")]
    assert outs[0].exit_code == 0, outs[0].output
    assert outs[0].output == outs[1].output
    out: dict[str, Any] = json.loads(outs[0].output)
    return out


def test_every_message_names_its_origin() -> None:
    assert len(MESSAGES) >= 15
    for m in MESSAGES:
        assert m["origin"] and m["protocol"] in ("s1ap", "diameter", "gtpv2", "nas")
        bytes.fromhex(m["hex"])


@pytest.mark.parametrize("m", MESSAGES, ids=_ids)
def test_decodes_alike_with_both_codecs(m: dict[str, Any]) -> None:
    out = decode_both(m["protocol"], m["hex"])
    assert out["message"] == m["message"]
    pdu = out["fields"].get("NAS-PDU") if m["protocol"] == "s1ap" else None
    if pdu is not None:
        direction = "uplink" if out["message"] in UPLINK_S1AP else "downlink"
        inner = decode_both("nas", pdu, "--direction", direction)
        assert inner["protocol"] == "nas" and "error" not in inner


def _one(message: str, start: str = "") -> dict[str, Any]:
    return next(m for m in MESSAGES if m["message"] == message and m["hex"].startswith(start))


def test_nasreq_der_reads_rfc_6733_and_rfc_7155_avps() -> None:
    """Auth-Request-Type (274, RFC 6733 §8.7) with the M bit: the S6a server answers 5001, the
    engineer's decoder names it; NASREQ (RFC 7155) and EAP (RFC 4072) AVPs are named too."""
    out = decode_both("diameter", _one("DER")["hex"])
    avps = dict((a[0], a[1]) for a in out["fields"]["avps"])
    assert avps["Auth-Request-Type"] == 3  # AUTHORIZE_AUTHENTICATE
    assert avps["NAS-Port-Type"] == 19 and avps["NAS-Identifier"] == "nas1"
    assert avps["EAP-Payload"] == "0201001601616c696365406578616d706c652e6e6574"
    assert out["fields"]["application"] == "Diameter EAP" and "warnings" not in out
    with pytest.raises(diameter.DecodeError) as err:
        diameter.decode(bytes.fromhex(_one("DER")["hex"]))
    assert err.value.cause == diameter.ResultCode.DIAMETER_AVP_UNSUPPORTED


def test_nasreq_dea_multi_round() -> None:
    out = decode_both("diameter", _one("DEA")["hex"])
    avps = dict((a[0], a[1]) for a in out["fields"]["avps"])
    assert out["message"] == "DEA" and avps["Result-Code"] == 1001  # DIAMETER_MULTI_ROUND_AUTH
    assert avps["Multi-Round-Time-Out"] == 30 and avps["State"] == "00010203"


def test_ue_capability_info_indication_with_two_trailing_octets() -> None:
    """TS 36.413 §10.2: a node answers octets after the PDU with an Error Indication; the
    decoder reads the PDU and reports the 2 octets."""
    out = decode_both("s1ap", _one("UECapabilityInfoIndication", "0016402d")["hex"])
    assert out["fields"]["eNB-UE-S1AP-ID"] == 31 and out["fields"]["MME-UE-S1AP-ID"] == 1
    assert out["fields"]["UERadioCapability"].startswith("00b80101")
    assert out["warnings"] == [{"trailing_octets": 2, "hex": "0000"}]


def test_real_s1ap_messages_are_on_the_fast_path() -> None:
    """The fast S1AP decoder gives pycrate's Message for every real S1AP-PDU pycrate accepts."""
    taken = 0
    for m in MESSAGES:
        if m["protocol"] != "s1ap":
            continue
        data = bytes.fromhex(m["hex"])
        try:
            ref = s1ap.decode_pycrate(data)
        except DecodeError:
            assert fast_s1ap.decode(data) is None
            continue
        got = fast_s1ap.decode(data)
        assert got is not None and repr(got) == repr(ref)
        taken += 1
    assert taken >= 10
