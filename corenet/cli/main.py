"""The `corenet` command. JSON on stdout; a bad argument exits 2 with one line naming it."""

from __future__ import annotations

import json
from typing import Any

import click

from corenet.cli.args import run_command
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
    run_command(cli, "corenet", argv)


if __name__ == "__main__":
    main()
