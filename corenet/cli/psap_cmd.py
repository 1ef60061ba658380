"""`corenet psap calls --json [--db FILE]`: the PSAP's call records."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from corenet.config.models import PsapConfig
from corenet.nf.psap.records import CallStore


@click.group("psap")
def psap() -> None:
    """The PSAP emulator's records."""


@psap.command("calls")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout (the only format)")
@click.option("--db", "db", default=None, help="SQLite file (default: the PSAP's database)")
def calls(as_json: bool, db: str | None) -> None:
    """List recorded emergency calls: identity, verified flag, cell, mode, outcome, call-back."""
    path = db or PsapConfig().database
    if path != ":memory:" and not Path(path).exists():
        click.echo(f"corenet psap calls: no database {path}", err=True)
        sys.exit(2)
    store = CallStore(path)
    try:
        records = [r.to_json() for r in store.all()]
    finally:
        store.close()
    click.echo(json.dumps(records, indent=2))
