"""`corenet fuzz [--target NAME]... [--cases N] [--seed S] [--corpus DIR] [--timeout SEC]`.

Structured mutation of real messages against every decoder and server entry point (see
corenet/fuzz). One JSON line per target on stdout with cases, crashes, hangs and wall time; new
crashing or hanging inputs are written to `--regressions DIR/<target>/` (default
tests/fuzz/regressions), which the test-suite replays. Exit 1 when a crash or hang was found.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from corenet.fuzz import runner
from corenet.fuzz.registry import targets
from corenet.fuzz.runner import REGRESSIONS, Report


@click.command("fuzz")
@click.option("--target", "names", multiple=True, metavar="NAME",
              help="a target (repeatable; default: all); --list shows them")
@click.option("--cases", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="cases per target")
@click.option("--seed", default=0, show_default=True, type=int, help="random seed (reproducible runs)")
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="extra seeds from DIR/<target>/*, and new outcomes saved there")
@click.option("--timeout", default=2.0, show_default=True, type=click.FloatRange(min=0),
              help="CPU seconds one case may use before it counts as a hang (0: no limit)")
@click.option("--regressions", type=click.Path(file_okay=False, path_type=Path),
              default=REGRESSIONS, show_default=True,
              help="where crashing inputs are written, DIR/<target>/")
@click.option("--progress", "progress_every", default=0, type=click.IntRange(min=0),
              help="a progress line on stderr every N cases (0: none)")
@click.option("--list", "list_only", is_flag=True, help="list the targets and exit")
def fuzz_cmd(names: tuple[str, ...], cases: int, seed: int, corpus: Path | None, timeout: float,
             regressions: Path, progress_every: int, list_only: bool) -> None:
    """Fuzz decoders and server handlers; report crashes and hangs."""
    known = targets()
    if list_only:
        for t in known.values():
            click.echo(json.dumps({"target": t.name, "description": t.description}))
        return
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.BadParameter(f"unknown target {unknown[0]!r} (known: {', '.join(known)})",
                                 param_hint="--target")
    found = False
    for name in names or tuple(known):

        def show(r: Report) -> None:
            click.echo(json.dumps({"progress": r.to_json()}), err=True)

        report = runner.fuzz(known[name], cases, seed=seed, timeout=timeout, corpus=corpus,
                      regressions=regressions, progress=show if progress_every else None,
                      progress_every=progress_every or 1)
        click.echo(json.dumps(report.to_json()))
        for finding in report.findings:
            click.echo(f"{name}: {finding.kind} {finding.signature} -> {finding.path}\n"
                       f"{finding.detail}", err=True)
        found = found or bool(report.crashes or report.hangs)
    sys.exit(1 if found else 0)


fuzz = fuzz_cmd
