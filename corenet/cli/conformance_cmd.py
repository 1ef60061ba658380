"""`corenet conformance`: list the conformance cases, or run them against a SUT."""

from __future__ import annotations

import asyncio
import json
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

import click

from corenet.conformance import junit
from corenet.conformance.case import Case
from corenet.conformance.runner import Report, run
from corenet.conformance.sut import Endpoints, embedded_sut, external, parse_sut
from corenet.conformance.table import all_cases, select
from corenet.conformance.verdicts import CaseResult


@click.group("conformance")
def conformance() -> None:
    """Protocol conformance cases tagged by clause (TS 36.413, TS 24.301, TS 33.401, TS 29.272,
    RFC 6733, TS 29.274, JAPAN Roaming report)."""


@conformance.command("list")
@click.option("--cases", "pattern", default=None, help="Glob(s) on case id or clause, comma-separated.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of cases.")
def list_cases(pattern: str | None, as_json: bool) -> None:
    """Every case: id, title, clause, SUT kind and the modes it applies to."""
    cases = select(pattern) if pattern else all_cases()
    if as_json:
        click.echo(json.dumps([c.to_json() for c in cases], indent=2))
        return
    for c in cases:
        click.echo(f"{c.id:<24} {c.sut:<9} {c.spec:<40} {c.title}")


@conformance.command("run")
@click.option("--sut", "sut", default=None, metavar="NAME=HOST:PORT,...",
              help="An external SUT: mme (S1-MME), hss (S6a), sgw (S11), diameter (base peer).")
@click.option("--sut-config", type=click.Path(exists=True, dir_okay=False), default=None,
              help="corenet configuration of the embedded SUT (default: the embedded one).")
@click.option("--cases", "pattern", default=None, help="Glob(s) on case id or clause, comma-separated.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), default=None,
              help="Write JUnit XML here.")
@click.option("--pcap-dir", type=click.Path(file_okay=False), default=None,
              help="One pcapng per case in this folder.")
@click.option("--local-host", default="127.0.0.1", show_default=True,
              help="Address the tester binds from (with --sut).")
@click.option("--loopback-block", type=click.IntRange(1, 254), default=None,
              help="The embedded SUT listens on 127.N.0.0/16 (free ports); default from the "
                   "process id.")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
def run_cases(sut: str | None, sut_config: str | None, pattern: str | None,
              junit_path: str | None, pcap_dir: str | None, local_host: str,
              loopback_block: int | None, as_json: bool) -> None:
    """Run the cases; exit status 0 only when none failed or errored."""
    addresses = None
    if sut is not None:
        try:
            addresses = parse_sut(sut)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--sut") from exc
    cases = select(pattern)
    if not cases:
        raise click.BadParameter(f"no case matches {pattern!r}", param_hint="--cases")
    if addresses is not None:
        cases = [c for c in cases if _interface(c) in addresses]
        ends = external(addresses, local_host)

        def sut_for(mode: str) -> AbstractAsyncContextManager[Endpoints]:
            return nullcontext(ends)
    else:
        from corenet.config.loader import load
        from corenet.config.models import CorenetConfig

        base = load(CorenetConfig, sut_config) if sut_config else CorenetConfig()

        def sut_for(mode: str) -> AbstractAsyncContextManager[Endpoints]:
            return embedded_sut(base, mode, block=loopback_block)

    show = None if as_json else _line
    report = asyncio.run(run(cases, sut_for, pcap_dir, on_result=show))
    if junit_path:
        junit.write(report, cases, junit_path)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _summary(report)
    if not report.ok:
        raise SystemExit(1)


def _interface(c: Case) -> str:
    return {"mme": "mme", "hss": "hss", "sgw-pgw": "sgw", "diameter": "diameter"}.get(c.sut, c.sut)


def _line(r: CaseResult) -> None:
    click.echo(f"{r.verdict.value.upper():<7} {r.id:<24} {r.duration_s:6.2f}s  {r.reason}")


def _summary(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="conformance")
    for col in ("specification", "pass", "fail", "inconc", "error"):
        table.add_column(col)
    per: dict[str, dict[str, Any]] = {}
    for r in report.results:
        row = per.setdefault(r.spec.split(" §")[0].split(":")[0], {})
        row[r.verdict.value] = row.get(r.verdict.value, 0) + 1
    for spec, row in per.items():
        table.add_row(spec, *(str(row.get(v, 0)) for v in ("pass", "fail", "inconc", "error")))
    Console().print(table)
    c = report.counts()
    click.echo(f"total {c['total']}: {c['passed']} passed, {c['failed']} failed, "
               f"{c['inconclusive']} inconclusive, {c['errors']} errors")
