"""Decode parity: every real message of the reference captures (pcaps/), the NAS PDUs they carry,
every catalogue message and every third-party message (tests/thirdparty) prints the same JSON
through `corenet decode PROTO HEX --codec fast` and `--codec pycrate`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from corenet.codecs import catalogue, diameter, gtpv2c, s1ap
from tests.thirdparty.test_thirdparty import MESSAGES as THIRD_PARTY
from tests.thirdparty.test_thirdparty import decode_both
from tests.unit.codecs.fast.captures import CAPTURES, messages

UPLINK_S1AP = {"InitialUEMessage", "UplinkNASTransport"}


def _with_nas(proto: str, data: bytes) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """The message, then the NAS PDU an S1AP message carries (with its direction)."""
    out = decode_both(proto, data.hex())
    yield proto, data.hex(), ()
    pdu = out["fields"].get("NAS-PDU") if proto == "s1ap" else None
    if pdu is not None:
        direction = "uplink" if out["message"] in UPLINK_S1AP else "downlink"
        yield "nas", pdu, ("--direction", direction)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: Path(p).name)
def test_every_capture_message_prints_the_same_json(path: Path) -> None:
    seen: set[tuple[str, bytes]] = set()
    for proto, data in messages(path):
        if (proto, data) in seen:
            continue
        seen.add((proto, data))
        for inner_proto, hexdata, args in _with_nas(proto, data):
            out = decode_both(inner_proto, hexdata, *args)  # asserts exit 0 and equal output
            assert "error" not in out
    assert len(seen) > 20


def _catalogue() -> list[tuple[str, bytes]]:
    out = [("diameter", diameter.encode(m)) for _, m in catalogue.diameter_samples()]
    out += [("gtpv2", gtpv2c.encode(m)) for _, m in catalogue.gtpv2c_samples()]
    out += [("s1ap", s1ap.encode(m)) for _, m in catalogue.s1ap_samples()]
    out += [("nas", d) for _, d, _ in catalogue.nas_samples()]
    return out


def test_every_catalogue_message_prints_the_same_json() -> None:
    for proto, data in _catalogue():
        for inner_proto, hexdata, args in _with_nas(proto, data):
            decode_both(inner_proto, hexdata, *args)


def test_every_third_party_message_prints_the_same_json() -> None:
    for m in THIRD_PARTY:
        out = decode_both(m["protocol"], m["hex"])
        assert json.dumps(out)
