"""`corenet hss subscriber add|list|show|delete`: the HSS database, JSON on stdout.

Works on the SQLite file the HSS serves from (`--db PATH`, or the `hss.database` of
`--config FILE`); safe while the HSS runs (WAL mode, each change one transaction).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from corenet.cli.args import Hex, PlmnType, UInt
from corenet.config.loader import load
from corenet.config.models import CorenetConfig, HssConfig
from corenet.config.subscribers import ApnProfile, Subscriber, SubscriberEntry, load_subscribers
from corenet.core.errors import ConfigError
from corenet.core.plmn import Plmn
from corenet.nf.hss.store import HssStore, SubscriberRecord

F = TypeVar("F", bound=Callable[..., Any])


def _out(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2))


def _db_options(fn: F) -> F:
    fn = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                      help="corenet YAML configuration; its hss.database is used")(fn)
    fn = click.option("--db", "db_path", help="HSS SQLite database file")(fn)
    return fn


def _open(db_path: str | None, config_path: str | None, *, create: bool = False) -> HssStore:
    """The HSS store; only `add` may create the file (a mistyped path is an error)."""
    if db_path is not None and config_path is not None:
        raise click.UsageError("give --db or --config, not both")
    if db_path is None:
        try:
            cfg = load(CorenetConfig, config_path).hss if config_path else HssConfig()
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--config") from None
        db_path = cfg.database
    if not create and db_path != ":memory:" and not Path(db_path).is_file():
        raise click.BadParameter(f"no HSS database at {db_path}",
                                 param_hint="--config" if config_path else "--db")
    return HssStore(db_path)


def _apn(text: str, index: int) -> ApnProfile:
    """'name', 'name:qci' or 'name:qci:arp' (TS 23.203 §6.1.7 QCI, ARP priority 1..15)."""
    parts = text.split(":")
    if not parts[0] or len(parts) > 3 or not all(p.isdigit() for p in parts[1:]):
        raise click.BadParameter(f"{text!r}: expected NAME[:QCI[:ARP]]", param_hint="--apn")
    values: dict[str, Any] = {"apn": parts[0], "context_id": index + 1}
    if len(parts) > 1:
        values["qci"] = int(parts[1])
    if len(parts) > 2:
        values["arp_priority"] = int(parts[2])
    try:
        return ApnProfile(**values)
    except ValidationError as exc:
        raise click.BadParameter(f"{text!r}: {exc.errors()[0]['msg']}",
                                 param_hint="--apn") from None


@click.group("hss")
def hss() -> None:
    """The affected operator's HSS (TS 29.272 S6a server)."""


@hss.group("subscriber")
def subscriber() -> None:
    """Provisioned subscribers: keys, SQN, MSISDN, APNs."""


@subscriber.command("add")
@_db_options
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False),
              help="subscribers YAML (configs/subscribers.yaml format)")
@click.option("--imsi", help="IMSI, 6-15 digits (TS 23.003 §2.2)")
@click.option("--count", type=UInt(1_000_000), default=1, show_default=True,
              help="consecutive IMSIs/MSISDNs with the same keys")
@click.option("--k", "k", type=Hex(16), help="subscriber key K")
@click.option("--op", "op", type=Hex(16), help="operator variant OP")
@click.option("--opc", "opc", type=Hex(16), help="OPc")
@click.option("--amf", type=Hex(2), default="8000", show_default=True)
@click.option("--sqn", type=UInt(2**48 - 1), default=0, show_default=True)
@click.option("--msisdn", help="E.164 digits")
@click.option("--apn", "apns", multiple=True,
              help="NAME[:QCI[:ARP]], repeatable; the first is the default APN")
@click.option("--ambr-ul", type=UInt(2**32 - 1), default=50_000_000, show_default=True,
              help="UE-AMBR uplink, bit/s")
@click.option("--ambr-dl", type=UInt(2**32 - 1), default=100_000_000, show_default=True,
              help="UE-AMBR downlink, bit/s")
@click.option("--allowed-plmn", "allowed", type=PlmnType(), multiple=True,
              help="visited PLMN where roaming is allowed (repeatable; none = all)")
@click.option("--replace", is_flag=True,
              help="rewrite an existing IMSI's whole record (omitted options take their "
                   "defaults) instead of changing only the options given")
def add_cmd(db_path: str | None, config_path: str | None, from_file: str | None,
            imsi: str | None, count: int, k: bytes | None, op: bytes | None, opc: bytes | None,
            amf: bytes, sqn: int, msisdn: str | None, apns: tuple[str, ...], ambr_ul: int,
            ambr_dl: int, allowed: tuple[Plmn, ...], replace: bool) -> None:
    """Provision subscribers. A new IMSI needs --k and --op or --opc. An IMSI already in the
    database changes only in the options given (its MSISDN, keys, APNs... stay otherwise);
    --replace rewrites the whole record from the options and their defaults. The SQN never
    goes back (TS 33.102 Annex C.1.1). --from-file writes each file entry whole."""
    if from_file is not None:
        if imsi is not None or k is not None:
            raise click.UsageError("--from-file excludes --imsi/--k")
        try:
            subs = load_subscribers(from_file)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--from-file") from None
        store = _open(db_path, config_path, create=True)
        try:
            written = store.provision(subs)
        finally:
            store.close()
        _out({"db": store.path, "provisioned": written,
              "first": subs[0].imsi if subs else None, "last": subs[-1].imsi if subs else None})
        return
    if imsi is None:
        raise click.UsageError("--imsi is required (or --from-file)")
    if op is not None and opc is not None:
        raise click.UsageError("give exactly one of --op or --opc")
    ctx = click.get_current_context()
    given = {name for name in _ADD_FIELDS
             if ctx.get_parameter_source(name) in _GIVEN_SOURCES}
    profiles = [_apn(a, i) for i, a in enumerate(apns or ("internet",))]
    # placeholders for the key fields an existing record supplies; checked per IMSI below
    try:
        entry = SubscriberEntry(
            imsi=imsi, count=count, msisdn=msisdn, k=(k or bytes(16)).hex(),
            op=None if op is None else op.hex(),
            opc=None if op is not None else (opc or bytes(16)).hex(),
            amf=amf.hex(), sqn=sqn, ue_ambr_ul_bps=ambr_ul, ue_ambr_dl_bps=ambr_dl,
            apns=profiles, default_apn=profiles[0].apn,
            allowed_visited_plmns=[str(p) for p in allowed])
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "subscriber"
        raise click.BadParameter(err["msg"], param_hint=f"--{field}") from None
    store = _open(db_path, config_path, create=True)
    try:
        subs, created = [], 0
        for sub in entry.expand():
            old = store.get(sub.imsi)
            if old is None or replace:
                if k is None or (op is None) == (opc is None):
                    raise click.UsageError(
                        f"IMSI {sub.imsi} is {'replaced' if old else 'not provisioned'}: "
                        "--k and one of --op or --opc are required")
                subs.append(sub)
                created += old is None
            else:
                subs.append(_merged(old, sub, given))
        written = store.provision(subs)
    finally:
        store.close()
    # "updated": how many of them were already provisioned (present only when some were)
    updated = {"updated": written - created} if written > created else {}
    _out({"db": store.path, "provisioned": written, **updated,
          "first": subs[0].imsi if subs else None, "last": subs[-1].imsi if subs else None})


# `add` options that change a stored subscriber when given (click parameter names)
_ADD_FIELDS = ("k", "op", "opc", "amf", "sqn", "msisdn", "apns", "ambr_ul", "ambr_dl",
               "allowed")
_GIVEN_SOURCES = (click.core.ParameterSource.COMMANDLINE,
                  click.core.ParameterSource.ENVIRONMENT)


def _merged(old: SubscriberRecord, new: Subscriber, given: set[str]) -> Subscriber:
    """`old` with the fields the command line gave taken from `new`. OPc follows a new K when
    the record holds OP (TS 35.206 §4.1 derives OPc from K and OP)."""
    keys: dict[str, Any] = (
        {"op": new.op, "opc": None} if "op" in given else
        {"op": None, "opc": new.opc} if "opc" in given else
        {"op": old.op.hex(), "opc": None} if old.op is not None else
        {"op": None, "opc": old.opc.hex()})
    apns: dict[str, Any] = (
        {"apns": new.apns, "default_apn": new.default_apn} if "apns" in given else
        {"apns": list(old.apns), "default_apn": old.default_apn})
    return Subscriber(
        imsi=old.imsi, **keys, **apns,
        k=new.k if "k" in given else old.k.hex(),
        amf=new.amf if "amf" in given else old.amf.hex(),
        sqn=new.sqn if "sqn" in given else old.sqn,
        msisdn=new.msisdn if "msisdn" in given else old.msisdn,
        ue_ambr_ul_bps=new.ue_ambr_ul_bps if "ambr_ul" in given else old.ue_ambr_ul,
        ue_ambr_dl_bps=new.ue_ambr_dl_bps if "ambr_dl" in given else old.ue_ambr_dl,
        allowed_visited_plmns=(new.allowed_visited_plmns if "allowed" in given
                               else list(old.allowed_visited_plmns)),
        imei=old.imei)


@subscriber.command("list")
@_db_options
def list_cmd(db_path: str | None, config_path: str | None) -> None:
    """One line per subscriber: IMSI, MSISDN, SQN, serving MME, purge flag."""
    store = _open(db_path, config_path)
    try:
        rows = [{"imsi": r.imsi, "msisdn": r.msisdn, "sqn": r.sqn, "mme_host": r.mme_host,
                 "purged": r.purged} for r in store.all()]
    finally:
        store.close()
    _out(rows)


@subscriber.command("show")
@_db_options
@click.argument("imsi")
def show_cmd(db_path: str | None, config_path: str | None, imsi: str) -> None:
    """Everything stored for one IMSI."""
    store = _open(db_path, config_path)
    try:
        rec = store.get(imsi)
    finally:
        store.close()
    if rec is None:
        raise click.BadParameter(f"no subscriber with IMSI {imsi}", param_hint="IMSI")
    _out(rec.to_json())


@subscriber.command("delete")
@_db_options
@click.argument("imsi")
def delete_cmd(db_path: str | None, config_path: str | None, imsi: str) -> None:
    """Remove one IMSI."""
    store = _open(db_path, config_path)
    try:
        deleted = store.delete(imsi)
    finally:
        store.close()
    if not deleted:
        raise click.BadParameter(f"no subscriber with IMSI {imsi}", param_hint="IMSI")
    _out({"deleted": imsi})
