"""Every message of the reference captures and of the catalogue decodes to the same JSON with
both codec levels, in process and through `corenet decode PROTO HEX --codec fast|pycrate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corenet.cli.decode_cmd import decode as decode_cli
from corenet.codecs import catalogue, diameter, gtpv2c, nas, s1ap
from corenet.codecs.fast import diameter as fast_diameter
from corenet.codecs.fast import gtpv2c as fast_gtpv2c
from corenet.codecs.fast import nas as fast_nas
from corenet.core.errors import DecodeError
from corenet.crypto.nas_security import DOWNLINK, UPLINK
from tests.unit.codecs.fast.captures import CAPTURES, messages
from tests.unit.codecs.fast.parity import codec_level

CODECS: dict[str, Any] = {"s1ap": s1ap, "diameter": diameter, "gtpv2": gtpv2c}
FAST: dict[str, Any] = {"diameter": fast_diameter, "gtpv2": fast_gtpv2c}
UPLINK_S1AP = {"InitialUEMessage", "UplinkNASTransport"}


def _json(decode: Any, data: bytes, **kw: Any) -> str:
    try:
        return json.dumps(decode(data, **kw).to_json())
    except DecodeError as err:
        return json.dumps({"error": err.protocol, "cause": repr(err.cause)})


def _both(decode: Any, data: bytes, **kw: Any) -> str:
    with codec_level("pycrate"):
        ref = _json(decode, data, **kw)
    with codec_level("fast"):
        assert _json(decode, data, **kw) == ref
    return ref


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: Path(p).name)
def test_capture_messages_decode_alike(path: Path) -> None:
    seen = 0
    for proto, data in messages(path):
        out = json.loads(_both(CODECS[proto].decode, data))
        assert "error" not in out, (proto, data.hex())
        seen += 1
        if proto in FAST:
            assert FAST[proto].decode(data) is not None  # on the fast path
        pdu = out["fields"].get("NAS-PDU") if proto == "s1ap" else None
        if pdu is not None:
            direction = UPLINK if out["message"] in UPLINK_S1AP else DOWNLINK
            inner = json.loads(_both(nas.decode, bytes.fromhex(pdu), direction=direction))
            if inner.get("message") in nas._BY_NAME and "security_header_type" not in inner["fields"]:
                # a plain message re-encodes alike with both levels, on the fast path
                msg = nas.decode(bytes.fromhex(pdu), direction=direction)
                assert fast_nas.encode(msg) == nas.encode_pycrate(msg)
    assert seen > 50


def _samples() -> list[tuple[str, str, bytes]]:
    out = [("diameter", n, diameter.encode(m)) for n, m in catalogue.diameter_samples()]
    out += [("gtpv2", n, gtpv2c.encode(m)) for n, m in catalogue.gtpv2c_samples()[:4]]
    out += [("s1ap", n, s1ap.encode(m)) for n, m in catalogue.s1ap_samples()[:3]]
    out += [("nas", n, d) for n, d, _ in catalogue.nas_samples()[:6]]
    return out


@pytest.mark.parametrize(("proto", "name", "data"), _samples(), ids=lambda v: v if isinstance(v, str) else "")
def test_cli_prints_the_same_json_with_both_codecs(proto: str, name: str, data: bytes) -> None:
    runner = CliRunner()
    with codec_level("fast"):  # the command sets the process-wide level; restore it after
        outs = [runner.invoke(decode_cli, [proto, data.hex(), "--codec", c]) for c in ("fast", "pycrate")]
    assert [o.exit_code for o in outs] == [0, 0], outs[0].output
    assert outs[0].output == outs[1].output
    assert json.loads(outs[0].output)["message"] == name
