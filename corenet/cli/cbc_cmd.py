"""`corenet cbc send`: ask a running CBC (`corenet run cbc`) to broadcast a warning.

The CBC sends one SBc-AP Write-Replace Warning Request (TS 29.168) per message identifier of
the warning to its MMEs. JSON answer on stdout; bad input exits 2 with one line; a CBC that
cannot be reached exits 1 with one line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click

from corenet.cli.ctl_cmd import EndpointType, TacList
from corenet.control.server import request

WARNINGS = ("earthquake", "tsunami", "earthquake-tsunami", "evacuation", "test", "cmas")
DEFAULT_ENDPOINT = "127.0.0.10:7000"  # CbcConfig.control


@click.group("cbc")
def cbc() -> None:
    """The cell broadcast centre (ETWS / CMAS warnings to roamers)."""


@cbc.command("send")
@click.option("--warning", required=True, type=click.Choice(WARNINGS))
@click.option("--tacs", type=TacList(), default=None,
              help="tracking areas of the warning, e.g. 1,2 (default: every cell)")
@click.option("--text", default=None, help="the message text (default: one per warning)")
@click.option("--repeat-s", type=click.IntRange(0, 4095), default=None,
              help="repetition period in seconds (TS 36.413 §9.2.1.48)")
@click.option("--endpoint", type=EndpointType(), default=DEFAULT_ENDPOINT, show_default=True,
              help="the CBC's control endpoint (cbc.control in the configuration)")
def send(warning: str, tacs: list[int] | None, text: str | None, repeat_s: int | None,
         endpoint: tuple[str, int]) -> None:
    """Broadcast WARNING through the running CBC."""
    body: dict[str, Any] = {"op": "send", "warning": warning, "tacs": tacs or []}
    if text is not None:
        body["text"] = text
    if repeat_s is not None:
        body["repeat_s"] = repeat_s
    _call(endpoint, body)


@cbc.command("stop")
@click.option("--endpoint", type=EndpointType(), default=DEFAULT_ENDPOINT, show_default=True,
              help="the CBC's control endpoint (cbc.control in the configuration)")
def stop(endpoint: tuple[str, int]) -> None:
    """Stop every warning the running CBC broadcasts (Stop Warning, TS 29.168)."""
    _call(endpoint, {"op": "stop"})


def _call(endpoint: tuple[str, int], body: dict[str, Any]) -> None:
    host, port = endpoint
    try:
        answer = asyncio.run(request(host, port, body))
    except (TimeoutError, OSError, ValueError) as exc:
        click.echo(f"corenet cbc: error: {host}:{port} unreachable: {exc}", err=True)
        sys.exit(1)
    if not answer.get("ok", False):
        click.echo(f"corenet cbc: error: {answer.get('error', answer)}", err=True)
        sys.exit(2)
    click.echo(json.dumps(answer))
