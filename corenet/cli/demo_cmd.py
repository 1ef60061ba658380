"""`corenet demo`: what `make demo` runs."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from typing import Any

import click

from corenet.cli.progress import bar, shown
from corenet.cli.run_cmd import load_config
from corenet.config.models import CorenetConfig, DialPlanConfig
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
              help="every UE then dials NUMBER (110, 118, 119, or any digits) through the IMS; "
                   "a call not placed is reported with its reason")
@click.option("--device", "device_paths", multiple=True, type=click.Path(exists=True),
              help="device profile YAML (or folder); several are assigned round-robin")
@click.option("--eea", type=click.Choice(["0", "2"]), default=None,
              help="NAS ciphering: 0 for captures Wireshark reads as they are (default: config, EEA2)")
@click.option("--mvno", type=click.Choice(["full", "light"]), default=None,
              help="the UEs are subscribers of the affected operator's full or light MVNO")
@click.option("--etws", "warning", default=None,
              type=click.Choice(["earthquake", "tsunami", "earthquake-tsunami", "evacuation",
                                 "test", "cmas"]),
              help="once the UEs are in service the rescuer's CBC broadcasts this warning; "
                   "each UE's reception and presentation is reported")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def demo(config_path: str | None, ues: int, pcap_path: str, seed: int, concurrency: int,
         mode: str, dialled: str | None, device_paths: tuple[str, ...], eea: str | None,
         mvno: str | None, warning: str | None, as_json: bool) -> None:
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
    with bar("attach", ues, show=shown(as_json)):
        report = asyncio.run(run_demo(cfg, ues=ues, pcap=pcap_path, seed=seed,
                                      concurrency=concurrency, mode=mode, call=dialled,
                                      devices=devices, mvno=mvno, etws=warning))
    doc = report.to_json()
    explain_calls(doc, cfg.ims.dialplan)
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        _table(report, doc)
    sys.exit(0 if report.all_attached or _all_explained(doc) else 1)


def _all_explained(doc: dict[str, Any]) -> bool:
    """In the emergency-only modes a UE that did not attach is reported with its reason (its
    device cannot, or the number dialled does not start an emergency attach)."""
    return doc["mode"] != "full" and all(u["attached"] or u["reason"] for u in doc["ues"])


def explain_calls(doc: dict[str, Any], dialplan: DialPlanConfig) -> None:
    """Say why a call was not placed, with the rule behind it, in each UE's `call.reason` (the
    UE's own words when no rule below applies: device restrictions, IMS answers...); a UE
    that never attached because of it gets the same `reason`.

    - Emergency-only modes (TS 23.401 §4.3.12.1; JAPAN Roaming emergency-only roaming): the
      roamer has no normal service, only the emergency numbers of the dial plan (110, 118, 119)
      start an emergency attach and a call; any other number is not attempted.
    - 184/186 caller-ID prefixes before an emergency number: the emergency call does not
      connect while roaming (JAPAN Roaming known restriction), unless the device profile has
      `prefixed_emergency_calls_roaming` in full roaming.
    """
    emergency = sorted(dialplan.emergency)
    for ue in doc["ues"]:
        call = ue.get("call")
        if not call or call["outcome"] == "answered":
            continue
        why = _call_rule(call["dialled"], doc["mode"], emergency, dialplan.caller_id_prefixes)
        if why is not None:
            call["reason"] = why
        if not ue["attached"] and not ue["reason"] and call.get("reason"):
            ue["reason"] = call["reason"]


def _call_rule(dialled: str, mode: str, emergency: list[str],
               prefixes: list[str]) -> str | None:
    digits = re.sub(r"[\s-]", "", dialled)
    prefix = next((p for p in prefixes if digits.startswith(p) and len(digits) > len(p)), None)
    core = digits[len(prefix):] if prefix else digits
    numbers = "/".join(emergency)
    if core in emergency and prefix:
        return (f"a {prefix} caller-ID prefix before the emergency number {core} does not "
                f"connect while roaming (JAPAN Roaming restriction; in full roaming only on "
                f"devices with prefixed_emergency_calls_roaming); dial {core} alone")
    if core not in emergency and mode != "full":
        return (f"{dialled} is not an emergency number: in {mode} roaming the UE has no normal "
                f"service and only {numbers} start an emergency attach and call "
                f"(TS 23.401 §4.3.12.1)")
    return None


def with_eea(cfg: CorenetConfig, eea: int) -> CorenetConfig:
    """The MME selects `eea` first (TS 33.401 §7.2.4.4); every UE supports EEA0 and EEA2."""
    security = cfg.mme.security.model_copy(update={"eea": [eea]})
    return cfg.model_copy(update={"mme": cfg.mme.model_copy(update={"security": security})})


def _table(report, doc: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    head = ("IMSI", "MSISDN", "GUTI", "IPv4", "display", "UE-AMBR UL", "UE-AMBR DL", "mode",
            "result", "known as", "call") + (("warning",) if report.warnings is not None else ())
    rows = []
    for u in doc["ues"]:
        call = u.get("call")
        result = ("attached" if u["attached"] else f"rejected #{u['cause']}" if u["cause"]
                  else "not attached" if call and call["outcome"] == "not_attempted" else "failed")
        if u["attached"] and u["emergency"]:
            result = "emergency" + ("" if u["authenticated"] else ", unauthenticated")
        elif not u["attached"] and u["reason"] and not (call and call.get("reason")):
            result += f" ({u['reason']})"
        call_text = "-" if not call else f"{call['outcome']} {call['sip_status'] or ''}".strip()
        if call and call.get("psap"):
            p = call["psap"]
            call_text += f" (PSAP: {p['identity_type']} {p['identity']}{'' if p['verified'] else ' unverified'})"
        elif call and call.get("reason"):
            call_text += f" ({call['reason']})"
        rows.append((u["imsi"], u["msisdn"] or "-", u["guti"] or "-", u["ipv4"] or "-",
                     u["display"] or "-", _bps(u["ue_ambr_ul"]), _bps(u["ue_ambr_dl"]),
                     report.mode, result, u["identity_at_network"] or "-", call_text)
                    + ((_warning_text(u["warning"]),) if "warning" in u else ()))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    for row in (head, *rows):
        click.echo("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
    ok = sum(1 for u in report.results if u.attached)
    click.echo(f"\n{ok}/{len(report.results)} attached; capture: {report.pcap}")
    if report.warnings:
        from corenet.orchestration.warning_delivery import summary

        n = summary(report.warnings)
        click.echo(f"warning {report.warnings[0].warning}: {n['received']}/{n['ues']} received, "
                   f"{n['displayed']} displayed, {n['sounded']} sounded")


def _warning_text(w: dict[str, Any]) -> str:
    """'sounded' / 'displayed' / 'received, not shown (why)' / 'not received'."""
    if w["sounded"]:
        return "sounded"
    if w["displayed"]:
        return "displayed"
    return f"received, not shown ({w['reason']})" if w["received"] else "not received"


def _bps(v: int | None) -> str:
    return "-" if v is None else f"{v / 1000:g} kbps"
