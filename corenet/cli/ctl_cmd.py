"""`corenet ctl`: the control API of a running MME (or of an HSS alone) from the shell.

JSON answers on stdout; bad input exits 2 with one line; an endpoint that cannot be reached
exits 1 with one line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click

from corenet.cli.args import PlmnType
from corenet.control.server import request
from corenet.core.plmn import Plmn

MODES = ("off", "full", "emergency-auth", "emergency-unauth")
DEFAULT_ENDPOINT = "127.0.0.2:7000"


class EndpointType(click.ParamType):
    name = "host:port"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        host, sep, port = str(value).rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            self.fail(f"expected HOST:PORT, got {value!r}", param, ctx)
        return host, int(port)


class TacList(click.ParamType):
    name = "tacs"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> list[int]:
        if isinstance(value, list):
            return value
        try:
            tacs = [int(t, 0) for t in str(value).split(",") if t.strip()]
        except ValueError:
            self.fail(f"expected TACs like 1,2, got {value!r}", param, ctx)
        if not tacs or any(not 0 <= t <= 0xFFFF for t in tacs):
            self.fail(f"TACs are 0..65535, got {value!r}", param, ctx)
        return tacs


def _call(ctx: click.Context, body: dict[str, Any]) -> None:
    host, port = ctx.obj["endpoint"]
    try:
        answer = asyncio.run(request(host, port, body))
    except (TimeoutError, OSError, ValueError) as exc:
        click.echo(f"corenet ctl: error: {host}:{port} unreachable: {exc}", err=True)
        sys.exit(1)
    if not answer.get("ok", False):
        click.echo(f"corenet ctl: error: {answer.get('error', 'refused')}", err=True)
        sys.exit(2)
    click.echo(json.dumps(answer, indent=2))


@click.group()
@click.option("--endpoint", type=EndpointType(), default=DEFAULT_ENDPOINT, show_default=True,
              envvar="CORENET_CTL_ENDPOINT", help="control endpoint of the MME (or an HSS)")
@click.pass_context
def ctl(ctx: click.Context, endpoint: tuple[str, int]) -> None:
    """Roaming policy and injected home-network failures of a running network."""
    ctx.ensure_object(dict)
    ctx.obj["endpoint"] = endpoint


@ctl.group()
def policy() -> None:
    """Roaming policy per home PLMN (and tracking areas)."""


@policy.command("show")
@click.argument("plmn", type=PlmnType(), required=False)
@click.option("--tac", type=click.IntRange(0, 0xFFFF), help="the rule in force in this TA")
@click.pass_context
def policy_show(ctx: click.Context, plmn: Plmn | None, tac: int | None) -> None:
    """Every rule, or those of PLMN (the one in force in --tac)."""
    if plmn is None:
        if tac is not None:
            raise click.UsageError("--tac needs a PLMN")
        _call(ctx, {"op": "policy.list"})
        return
    _call(ctx, {"op": "policy.get", "home_plmn": str(plmn), "tac": tac})


@policy.command("set")
@click.argument("plmn", type=PlmnType())
@click.argument("mode", type=click.Choice(MODES))
@click.option("--tacs", type=TacList(), help="only in these TAs, e.g. 1,2")
@click.option("--try-aka-first/--no-try-aka-first", default=None,
              help="emergency-unauth: try AKA, go on unauthenticated when it fails")
@click.option("--allow-imei-only/--no-allow-imei-only", default=None,
              help='emergency-unauth "all UEs": accept IMEI-only emergency attach')
@click.option("--fallback-unauth/--no-fallback-unauth", default=None,
              help="emergency-auth: unauthenticated while the home HSS is unreachable")
@click.pass_context
def policy_set(ctx: click.Context, plmn: Plmn, mode: str, tacs: list[int] | None,
               try_aka_first: bool | None, allow_imei_only: bool | None,
               fallback_unauth: bool | None) -> None:
    """Set the MODE for roamers of PLMN."""
    body: dict[str, Any] = {"op": "policy.set", "home_plmn": str(plmn), "mode": mode,
                            "tacs": tacs}
    for key, value in (("try_aka_first", try_aka_first), ("allow_imei_only", allow_imei_only),
                       ("fallback_unauth_when_hss_down", fallback_unauth)):
        if value is not None:
            body[key] = value
    _call(ctx, body)


@ctl.command("fail")
@click.argument("failure", type=click.Choice(("hss-unreachable", "home-core-failed")))
@click.option("--plmn", type=PlmnType(), default="44010", show_default=True,
              help="the home network that fails")
@click.option("--how", type=click.Choice(("drop", "close")), default="drop", show_default=True,
              help="hss-unreachable: drop everything silently, or close the sockets")
@click.pass_context
def fail(ctx: click.Context, failure: str, plmn: Plmn | str, how: str) -> None:
    """Inject a home-network failure."""
    _call(ctx, {"op": "fail", "failure": failure, "home_plmn": str(plmn), "how": how})


@ctl.command("restore")
@click.option("--plmn", type=PlmnType(), help="only this home network (default: all)")
@click.pass_context
def restore(ctx: click.Context, plmn: Plmn | None) -> None:
    """Undo injected failures."""
    _call(ctx, {"op": "restore", "home_plmn": None if plmn is None else str(plmn)})


@ctl.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Policies, injected failures, home HSSs held unreachable, UEs served."""
    _call(ctx, {"op": "status"})
