"""`corenet demo`: what `make demo` runs."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import click

from corenet.cli.run_cmd import load_config
from corenet.config.models import CorenetConfig
from corenet.core.errors import ConfigError


@click.command("demo")
@click.option("--config", "config_path", default=None, help="YAML configuration (default: embedded)")
@click.option("--ues", default=10, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--pcap", "pcap_path", default="pcaps/demo.pcapng", show_default=True)
@click.option("--seed", default=1, show_default=True, type=int, help="reproducible message contents")
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--mode", type=click.Choice(["full", "emergency-auth", "emergency-unauth"]),
              default="full", show_default=True, help="the rescuer's policy for the affected PLMN")
@click.option("--call", "dialled", default=None, metavar="NUMBER",
              help="every UE then dials NUMBER (110, 118, 119, or any digits) through the IMS")
@click.option("--device", "device_paths", multiple=True, type=click.Path(exists=True),
              help="device profile YAML (or folder); several are assigned round-robin")
@click.option("--eea", type=click.Choice(["0", "2"]), default=None,
              help="NAS ciphering: 0 for captures Wireshark reads as they are (default: config, EEA2)")
@click.option("--mvno", type=click.Choice(["full", "light"]), default=None,
              help="the UEs are subscribers of the affected operator's full or light MVNO")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def demo(config_path: str | None, ues: int, pcap_path: str, seed: int, concurrency: int,
         mode: str, dialled: str | None, device_paths: tuple[str, ...], eea: str | None,
         mvno: str | None, as_json: bool) -> None:
    """N subscribers of the affected operator on the rescuer's network, in MODE."""
    from corenet.orchestration.demo import run_demo
    from sim_ue.devices import load_devices

    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        click.echo(f"corenet demo: {exc}", err=True)
        sys.exit(2)
    if eea is not None:
        cfg = with_eea(cfg, int(eea))
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    try:
        devices = load_devices(list(device_paths)) if device_paths else None
    except ConfigError as exc:
        click.echo(f"corenet demo: {exc}", err=True)
        sys.exit(2)
    if mvno is not None:
        from corenet.orchestration.mvno import mvno_of_kind

        try:
            mvno_of_kind(cfg, mvno)
        except ValueError as exc:  # no MVNO of that kind in the configuration
            click.echo(f"corenet demo: {exc}", err=True)
            sys.exit(2)
    report = asyncio.run(run_demo(cfg, ues=ues, pcap=pcap_path, seed=seed, concurrency=concurrency,
                                  mode=mode, call=dialled, devices=devices, mvno=mvno))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _table(report)
    sys.exit(0 if report.all_attached or _all_explained(report) else 1)


def _all_explained(report) -> bool:  # type: ignore[no-untyped-def]
    """In the emergency-only modes a UE whose device cannot attach is reported with its reason."""
    return report.mode != "full" and all(r.attached or r.reason for r in report.results)


def with_eea(cfg: CorenetConfig, eea: int) -> CorenetConfig:
    """The MME selects `eea` first (TS 33.401 §7.2.4.4); every UE supports EEA0 and EEA2."""
    security = cfg.mme.security.model_copy(update={"eea": [eea]})
    return cfg.model_copy(update={"mme": cfg.mme.model_copy(update={"security": security})})


def _table(report) -> None:  # type: ignore[no-untyped-def]
    head = ("IMSI", "MSISDN", "GUTI", "IPv4", "display", "UE-AMBR UL", "UE-AMBR DL", "mode",
            "result", "known as", "call")
    rows = []
    for u in report.to_json()["ues"]:
        result = "attached" if u["attached"] else f"rejected #{u['cause']}" if u["cause"] else "failed"
        if u["attached"] and u["emergency"]:
            result = "emergency" + ("" if u["authenticated"] else ", unauthenticated")
        elif not u["attached"] and u["reason"]:
            result += f" ({u['reason']})"
        call = u.get("call")
        call_text = "-" if not call else f"{call['outcome']} {call['sip_status'] or ''}".strip()
        if call and call.get("psap"):
            p = call["psap"]
            call_text += f" (PSAP: {p['identity_type']} {p['identity']}{'' if p['verified'] else ' unverified'})"
        rows.append((u["imsi"], u["msisdn"] or "-", u["guti"] or "-", u["ipv4"] or "-",
                     u["display"] or "-", _bps(u["ue_ambr_ul"]), _bps(u["ue_ambr_dl"]),
                     report.mode, result, u["identity_at_network"] or "-", call_text))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    for row in (head, *rows):
        click.echo("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
    ok = sum(1 for u in report.results if u.attached)
    click.echo(f"\n{ok}/{len(report.results)} attached; capture: {report.pcap}")


def _bps(v: int | None) -> str:
    return "-" if v is None else f"{v / 1000:g} kbps"
