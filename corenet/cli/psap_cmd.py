"""`corenet psap calls [--db FILE | --config FILE] [--json]`: the PSAP's call records.

The database is `--db`, else the `psap.database` of `--config`, else the default
`corenet-psap.db` (relative paths, like `corenet run`'s, are relative to the working folder).
Output: a table, one row per call; with `--json` a JSON array of the records.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from corenet.config.loader import load
from corenet.config.models import CorenetConfig, PsapConfig
from corenet.core.errors import ConfigError
from corenet.nf.psap.records import CallStore


@click.group("psap")
def psap() -> None:
    """The PSAP emulator's records."""


def _database(db: str | None, config_path: str | None) -> tuple[str, str]:
    """(path, where it came from) of the PSAP database."""
    if db is not None and config_path is not None:
        raise click.UsageError("give --db or --config, not both")
    if db is not None:
        return db, "--db"
    if config_path is None:
        return PsapConfig().database, "the default psap.database"
    try:
        cfg = load(CorenetConfig, config_path)
    except ConfigError as exc:
        raise click.BadParameter(str(exc).replace("\n", " "), param_hint="--config") from None
    return cfg.psap.database, f"psap.database of {config_path}"


@psap.command("calls")
@click.option("--json", "as_json", is_flag=True, help="print a JSON array instead of a table")
@click.option("--db", "db", default=None, help="SQLite file (default: the PSAP's database)")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="corenet YAML configuration; its psap.database is read")
def calls(as_json: bool, db: str | None, config_path: str | None) -> None:
    """List recorded emergency calls: identity, verified flag, cell, mode, outcome, call-back."""
    path, origin = _database(db, config_path)
    if path != ":memory:" and not Path(path).exists():
        click.echo(f"corenet psap calls: no database {path} ({origin}; give --db or --config)",
                   err=True)
        sys.exit(2)
    store = CallStore(path)
    try:
        records = [r.to_json() for r in store.all()]
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(records, indent=2))
    else:
        _table(records)


_COLUMNS = ("id", "time", "dialled", "service", "identity", "verified", "cell (ECGI)", "tac",
            "mode", "outcome", "call-back")


def _row(r: dict[str, Any]) -> tuple[str, ...]:
    identity = f"{r['identity_type']} {r['identity']}" if r["identity"] else "-"
    callback = (f"{r['callback_outcome']} {r['callback_status'] or ''}".strip()
                if r["callback_outcome"] else "-")
    return (str(r["id"]), r["time"], r["dialled"] or "-", r["service_urn"] or "-", identity,
            "yes" if r["verified"] else "no", r["ecgi"] or "-",
            "-" if r["tac"] is None else str(r["tac"]), r["mode"] or "-", r["outcome"], callback)


def _table(records: list[dict[str, Any]]) -> None:
    rows = [_COLUMNS, *(_row(r) for r in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"\n{len(records)} call(s)")
