"""The `corenet` command. JSON on stdout; a bad argument exits 2 with one line naming it."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from corenet.cli.crypto_cmd import crypto
from corenet.cli.ctl_cmd import ctl
from corenet.cli.decode_cmd import decode
from corenet.cli.demo_cmd import demo
from corenet.cli.drill_cmd import drill
from corenet.cli.hss_cmd import hss
from corenet.cli.pcaps_cmd import pcaps
from corenet.cli.psap_cmd import psap
from corenet.cli.run_cmd import run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="corenet")
def cli() -> None:
    """corenet: a 3GPP EPC emulator for emergency inter-operator roaming."""


cli.add_command(crypto)
cli.add_command(ctl)
cli.add_command(decode)
cli.add_command(demo)
cli.add_command(drill)
cli.add_command(hss)
cli.add_command(run)
cli.add_command(pcaps)
cli.add_command(psap)


def emit(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=False))


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's multi-line usage errors become one line on stderr, exit status 2."""
    try:
        rv = cli.main(args=argv, prog_name="corenet", standalone_mode=False)
    except click.UsageError as exc:
        where = f"{exc.ctx.command_path}: " if exc.ctx else ""
        click.echo(f"{where}error: {exc.format_message()}".replace("\n", " "), err=True)
        sys.exit(2)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
