"""`corenet storm`: a re-attach storm of the affected operator's UEs onto K rescuers."""

from __future__ import annotations

import json
from collections import Counter

import click

from corenet.activation.release import parse_schedule
from corenet.cli.progress import bar, shown
from corenet.orchestration.storm import (
    StormConfig,
    StormProgress,
    StormResult,
    run_storm,
)
from corenet.orchestration.storm_report import default_out_dir, last_cause, write_report
from corenet.runtime import loop


@click.command("storm")
@click.option("--ues", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--rescuers", type=click.IntRange(1, 200), default=1, show_default=True)
@click.option("--release", "release", default="auto", show_default=True,
              help="all-at-once | auto | steps:0.05x20,0.2x20,0.5x20,1.0 (factor x seconds)")
@click.option("--hss-capacity", "capacity", type=click.FloatRange(min=0.1), default=40.0,
              show_default=True, help="Home HSS capacity, AIR per second.")
@click.option("--own-ues", type=click.IntRange(0), default=20, show_default=True,
              help="The rescuers' own subscribers attaching during the storm.")
@click.option("--barring-time", type=click.Choice(["4", "8", "16", "32", "64", "128", "256",
                                                   "512"]), default="16", show_default=True,
              help="ac-BarringTime in seconds (TS 36.331 §6.3.1). A barred UE tries again "
                   "0.7..1.3 x this later without signalling, so a shorter time lets the "
                   "auto release meter the retries in finer steps.")
@click.option("--timer-scale", type=click.FloatRange(min=0.001), default=0.25,
              show_default=True, help="Wall seconds per UE back-off timer second.")
@click.option("--concurrency", type=click.IntRange(1), default=400, show_default=True)
@click.option("--max-duration", type=click.FloatRange(min=0.1), default=None,
              help="Stop after this many seconds.")
@click.option("--processes", type=click.Choice(["auto", "on", "off"]), default="auto",
              show_default=True,
              help="Each rescuer (S/P-GW, MME, eNBs, UEs) in a worker process of its own; "
                   "auto: from 5000 UEs.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Report folder (storm.json, storm.png, storm-latency.png, "
                   "never-attached.csv); default ./storm-<UTC timestamp>/.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the KPIs as one JSON object (default: one 'key: value' per line).")
def storm(ues: int, rescuers: int, release: str, capacity: float, own_ues: int,
          barring_time: str, timer_scale: float, concurrency: int, max_duration: float | None,
          processes: str, seed: int, out_dir: str | None, as_json: bool) -> None:
    """Emulate UEs re-attaching to rescuers under a release schedule; report KPIs and plots."""
    try:
        parse_schedule(release, capacity_air_per_s=capacity)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--release") from exc
    try:
        cfg = StormConfig(ues=ues, rescuers=rescuers, release=release,
                          hss_capacity_air_per_s=capacity, own_ues=own_ues,
                          barring_time_s=int(barring_time), timer_scale=timer_scale,
                          concurrency=concurrency, max_duration_s=max_duration, seed=seed,
                          processes={"auto": None, "on": True, "off": False}[processes])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ues") from exc
    res = loop.run(_run(cfg, show=shown(as_json)))
    paths = write_report(res, out_dir or default_out_dir())
    never = res.never_attached
    kpis = {**res.kpis(), "never_attached": len(never),
            "never_attached_by_cause": dict(sorted(Counter(last_cause(r) for r in never).items())),
            "out": paths["folder"], "report": paths["json"],
            "plots": [paths["png"], paths["latency_png"]],
            "never_attached_csv": paths["never_attached_csv"]}
    if as_json:
        click.echo(json.dumps(kpis, indent=2))
        return
    for key, value in kpis.items():
        text = " ".join(value) if key == "plots" else value
        click.echo(f"{key}: {text}")


async def _run(cfg: StormConfig, *, show: bool) -> StormResult:
    with bar("storm", cfg.ues, show=show) as progress:

        def update(p: StormProgress) -> None:
            factor = "lifted" if p.factor is None else f"{p.factor:.2f}"
            progress.update(completed=p.attached,
                            status=f"ACB {factor}  AIR/s {p.air_per_s:.0f}")

        return await run_storm(cfg, progress=update if show else None)
