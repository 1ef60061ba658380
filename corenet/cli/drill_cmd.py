"""`corenet drill FILE.yaml`: run an activation drill on an accelerated clock."""

from __future__ import annotations

import json

import click

from corenet.bus.client import BusConfig
from corenet.cli.bounded import run_bounded
from corenet.core.errors import ConfigError
from corenet.orchestration.drill import drill_markdown, load_scenario, run_drill, save_report


@click.command("drill")
@click.argument("scenario_file", metavar="FILE.yaml", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--mqtt", "mqtt_url", envvar="CORENET_MQTT", default=None,
              help="External broker, mqtt://user:password@host:port (default: embedded broker).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write the activation report (JSON and Markdown) into this folder.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              envvar="CORENET_ACTIVATIONS_DB",
              help="Keep the case (activation or not) in this SQLite file.")
@click.option("--pcap", "pcap_path", type=click.Path(dir_okay=False), default=None,
              help="Capture the in-process network of a scenario with `ues` in this file.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=300.0, show_default=True,
              help="Seconds before the drill is stopped (exit status 124, naming the step).")
def drill(scenario_file: str, as_json: bool, mqtt_url: str | None, out_dir: str | None,
          db_path: str | None, pcap_path: str | None, timeout: float) -> None:
    """Run a scenario: event, decision, request, ack, configuration, service, release, end.

    A scenario with `ues: N` runs the first rescuer's network in process: the accepted request
    reconfigures it and N UEs of the affected operator attach; `ues_served` counts them."""
    try:
        scenario = load_scenario(scenario_file)
        bus = BusConfig.from_url(mqtt_url) if mqtt_url else None
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from exc
    result = run_bounded(run_drill(scenario, bus, pcap=pcap_path),
                         what=f"corenet drill {scenario.name}", timeout=timeout)
    report = save_report(result, scenario, out_dir, db_path)
    if as_json:
        click.echo(json.dumps({
            "scenario": report["scenario"],
            "activated": report["activated"],
            "decision_rule": report["decision_rule"],
            "mode": report["mode"],
            "steps": [
                {k: s[k] for k in ("step", "name", "started", "ended", "max_minutes", "overrun")}
                for s in report["steps"]
            ],
            "ues_served": report["ues_served"],
            "report": report,
        }, indent=2, ensure_ascii=False))
    else:
        click.echo(drill_markdown(report), nl=False)

