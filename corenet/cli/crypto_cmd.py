"""`corenet crypto ...`: authentication vectors and keys for interop engineers.

Milenage per TS 35.206; KASME, NAS keys and KeNB per TS 33.401 Annex A; 128-EIA2/128-EEA2 per
TS 33.401 Annex B.
"""

from __future__ import annotations

import json

import click

from corenet.cli.args import Hex, PlmnType, UInt
from corenet.core.plmn import Plmn
from corenet.crypto import eia_eea, kdf, milenage


def _out(obj: dict[str, str]) -> None:
    click.echo(json.dumps(obj))


@click.group()
def crypto() -> None:
    """3GPP security computations (TS 35.206, TS 33.401)."""


@crypto.command("milenage")
@click.option("--k", "k", type=Hex(16), required=True, help="subscriber key K (16 bytes)")
@click.option("--op", "op", type=Hex(16), help="operator variant OP (16 bytes)")
@click.option("--opc", "opc", type=Hex(16), help="OPc (16 bytes)")
@click.option("--rand", "rand", type=Hex(16), required=True)
@click.option("--sqn", "sqn", type=Hex(6), required=True)
@click.option("--amf", "amf", type=Hex(2), required=True)
def milenage_cmd(k: bytes, op: bytes | None, opc: bytes | None, rand: bytes, sqn: bytes, amf: bytes) -> None:
    """f1, f1*, f2, f3, f4, f5, f5* (TS 35.206 §4.1)."""
    if (op is None) == (opc is None):
        raise click.UsageError("give exactly one of --op or --opc")
    opc_value = opc if opc is not None else milenage.opc_from_op(k, op or b"")
    m = milenage.Milenage(k, opc_value)
    res, ck, ik, ak = m.f2345(rand)
    _out({
        "opc": opc_value.hex(),
        "mac_a": m.f1(rand, sqn, amf).hex(),
        "mac_s": m.f1star(rand, sqn, amf).hex(),
        "res": res.hex(),
        "ck": ck.hex(),
        "ik": ik.hex(),
        "ak": ak.hex(),
        "ak_star": m.f5star(rand).hex(),
    })


@crypto.command("kasme")
@click.option("--ck", type=Hex(16), required=True)
@click.option("--ik", type=Hex(16), required=True)
@click.option("--sqn-xor-ak", "sqn_xor_ak", type=Hex(6), required=True)
@click.option("--plmn", type=PlmnType(), required=True, help="serving network MCCMNC, e.g. 44020")
def kasme_cmd(ck: bytes, ik: bytes, sqn_xor_ak: bytes, plmn: Plmn) -> None:
    """KASME (TS 33.401 Annex A.2)."""
    _out({"kasme": kdf.kasme(ck, ik, plmn.to_bytes(), sqn_xor_ak).hex()})


@crypto.command("nas-keys")
@click.option("--kasme", type=Hex(32), required=True)
@click.option("--eea", type=click.IntRange(0, 7), required=True)
@click.option("--eia", type=click.IntRange(0, 7), required=True)
def nas_keys_cmd(kasme: bytes, eea: int, eia: int) -> None:
    """K_NASenc and K_NASint (TS 33.401 Annex A.7)."""
    k_enc, k_int = kdf.nas_keys(kasme, eea, eia)
    _out({"k_nas_enc": k_enc.hex(), "k_nas_int": k_int.hex()})


@crypto.command("kenb")
@click.option("--kasme", type=Hex(32), required=True)
@click.option("--ul-count", "ul_count", type=UInt(2**32 - 1), required=True)
def kenb_cmd(kasme: bytes, ul_count: int) -> None:
    """KeNB (TS 33.401 Annex A.3)."""
    _out({"kenb": kdf.kenb(kasme, ul_count).hex()})


def _eia_eea_options(f):  # type: ignore[no-untyped-def]
    f = click.option("--length-bits", "length_bits", type=UInt(2**32), default=None)(f)
    f = click.option("--message", type=Hex(), required=True)(f)
    f = click.option("--direction", type=click.IntRange(0, 1), required=True)(f)
    f = click.option("--bearer", type=UInt(31), required=True)(f)
    f = click.option("--count", type=UInt(2**32 - 1), required=True)(f)
    f = click.option("--key", type=Hex(16), required=True)(f)
    return f


def _check_length(length_bits: int | None, message: bytes) -> None:
    if length_bits is not None and length_bits > 8 * len(message):
        raise click.BadParameter(
            f"{length_bits} bits is longer than the message ({8 * len(message)} bits)",
            param_hint="'--length-bits'",
        )


@crypto.command("eia2")
@_eia_eea_options
def eia2_cmd(key: bytes, count: int, bearer: int, direction: int, message: bytes, length_bits: int | None) -> None:
    """128-EIA2 MAC (TS 33.401 Annex B.2.3)."""
    _check_length(length_bits, message)
    _out({"mac": eia_eea.eia2(key, count, bearer, direction, message, length_bits).hex()})


@crypto.command("eea2")
@_eia_eea_options
def eea2_cmd(key: bytes, count: int, bearer: int, direction: int, message: bytes, length_bits: int | None) -> None:
    """128-EEA2 keystream applied to the message (TS 33.401 Annex B.1.3)."""
    _check_length(length_bits, message)
    _out({"output": eia_eea.eea2(key, count, bearer, direction, message, length_bits).hex()})
