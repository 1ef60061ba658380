"""`corenet decode PROTOCOL HEX|-`: a hex dump from a log, decoded to JSON.

SIP is text: `corenet decode sip FILE|-` reads the message from a file or stdin.

`--codec fast|pycrate` picks the codec implementation (`corenet.codecs.selection`); both print
the same JSON.

An engineer's tool, not a server: it reads what a dissector would (`corenet.codecs.dissect`).
Diameter AVPs outside the S6a dictionary are named from the RFC 6733 base, IETF application and
3GPP dictionaries; AVPs no dictionary knows, octets after a Diameter, GTPv2-C or S1AP message
and S1AP IEs left out for their criticality are listed under "warnings" instead of failing. A
security protected NAS message with --kasme and no --direction is tried in both directions; the
MAC tells which.

Exit 0 with {"protocol", "message", "code", "fields"[, "warnings"]}; exit 1 with
{"error", "protocol", "cause"} when the bytes do not decode; exit 2 for a bad argument.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click

from corenet.cli.args import Hex
from corenet.codecs import dissect
from corenet.codecs.base import Message, to_jsonable
from corenet.codecs.selection import DEFAULT, CodecLevel, set_codec
from corenet.core.errors import DecodeError

# protocol name on the command line -> codec module
CODECS = {
    "s1ap": "corenet.codecs.s1ap",
    "nas": "corenet.codecs.nas",
    "diameter": "corenet.codecs.diameter",
    "gtpv2": "corenet.codecs.gtpv2c",
    "sip": "corenet.codecs.sip",
}


def _read_hex(text: str) -> bytes:
    if text == "-":
        text = sys.stdin.read()
    return Hex().convert(text, None, None)


def _read_sip(arg: str) -> bytes:
    """RFC 3261 messages are text; files saved on Unix may have bare LF line ends."""
    if arg == "-":
        return sys.stdin.buffer.read()
    try:
        with open(arg, "rb") as f:
            return f.read()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {arg}: {exc.strerror}",
                                 param_hint="'FILE'") from None


def _nas_context(kasme: bytes | None, eia: int, eea: int) -> Any:
    if kasme is None:
        return None
    from corenet.crypto.nas_security import NasSecurityContext

    return NasSecurityContext.from_kasme(0, kasme, eia, eea)


@click.command()
@click.argument("protocol", type=click.Choice(sorted(CODECS)), metavar="PROTOCOL")
@click.argument("data", metavar="HEX|FILE|-")
@click.option("--kasme", type=Hex(32), default=None, help="NAS: KASME to check the MAC and decipher")
@click.option("--eia", type=click.IntRange(0, 7), default=2, show_default=True, help="NAS integrity algorithm")
@click.option("--eea", type=click.IntRange(0, 7), default=0, show_default=True, help="NAS ciphering algorithm")
@click.option(
    "--direction",
    type=click.Choice(["uplink", "downlink"]),
    default=None,
    help="NAS: direction of the message (default: guessed from the message type)",
)
@click.option(
    "--codec", "codec_name",
    type=click.Choice([level.value for level in CodecLevel]),
    default=DEFAULT.value,
    show_default=True,
    help="fast codecs (byte-identical, pycrate as fallback) or pycrate alone",
)
def decode(protocol: str, data: str, kasme: bytes | None, eia: int, eea: int,
           direction: str | None, codec_name: str) -> None:
    """Decode one PROTOCOL message given as hex (or '-' to read hex from stdin); for sip, a
    file holding the message text (or '-' for stdin)."""
    set_codec(codec_name)
    if protocol == "sip":
        _decode_sip(_read_sip(data))
        return
    try:
        raw = _read_hex(data)
    except click.BadParameter as exc:
        raise click.BadParameter(exc.message, param_hint="'HEX'") from None
    if not raw:
        raise click.BadParameter("no bytes given", param_hint="'HEX'")
    codec = importlib.import_module(CODECS[protocol])
    warnings: list[dict[str, Any]] = []
    try:
        if protocol == "nas":
            dirn = None if direction is None else (0 if direction == "uplink" else 1)
            msg, warnings = _decode_nas(codec, raw, kasme, eia, eea, dirn)
        elif protocol == "diameter":
            msg, warnings = dissect.dissect_diameter(raw)
        elif protocol == "s1ap":
            msg, warnings = dissect.dissect_s1ap(raw)
        elif protocol == "gtpv2":
            msg, warnings = dissect.dissect_gtpv2(raw)
        else:
            msg = codec.decode(raw)
    except DecodeError as exc:
        click.echo(json.dumps({
            "error": exc.detail,
            "protocol": exc.protocol,
            "cause": to_jsonable(exc.cause),
        }))
        sys.exit(1)
    out = msg.to_json()
    if warnings:
        out["warnings"] = to_jsonable(warnings)
    click.echo(json.dumps(out, indent=2))


def _decode_nas(codec: Any, raw: bytes, kasme: bytes | None, eia: int, eea: int,
                direction: int | None) -> tuple[Message, list[dict[str, Any]]]:
    """With a KASME and no direction, each direction in turn (TS 33.401 §8.1.1: the direction
    bit is an input of the MAC), then the security header alone when neither verifies."""
    if kasme is None or direction is not None:
        return codec.decode(raw, ctx=_nas_context(kasme, eia, eea), direction=direction), []
    notes: list[dict[str, Any]] = []
    for dirn, name in ((0, "uplink"), (1, "downlink")):
        try:
            msg = codec.decode(raw, ctx=_nas_context(kasme, eia, eea), direction=dirn)
        except DecodeError as exc:
            notes.append({"direction": name, "detail": f"not read in this direction: {exc.detail}"})
            continue
        if msg.fields.get("mac_valid"):
            return msg, [{"direction": name, "detail": "the MAC verifies in this direction"}]
    msg = codec.decode(raw, direction=None)
    return msg, notes or [{"detail": "the MAC verifies in neither direction with this KASME "
                                     "and --eia; give --direction to decipher anyway"}]


def _decode_sip(raw: bytes) -> None:
    from corenet.codecs import sip

    try:
        # read as an observer: no server policy (Require, a missing close delimiter)
        msg = sip.to_message(*sip.read(raw))
    except DecodeError as exc:
        click.echo(json.dumps({"error": exc.detail, "protocol": exc.protocol,
                               "cause": to_jsonable(exc.cause)}))
        sys.exit(1)
    click.echo(json.dumps(msg.to_json(), indent=2))
