"""The `corenet` command. JSON on stdout; a bad argument exits 2 with one line naming it."""

from __future__ import annotations

import importlib
import importlib.util

import click

from corenet.cli.args import run_command

# Each command's module is imported when the command runs: `corenet crypto` never pays for
# loading the pycrate ASN.1 modules that `corenet decode s1ap` needs.
COMMANDS = {
    "cbc": "corenet.cli.cbc_cmd:cbc",
    "conformance": "corenet.cli.conformance_cmd:conformance",
    "crypto": "corenet.cli.crypto_cmd:crypto",
    "ctl": "corenet.cli.ctl_cmd:ctl",
    "decode": "corenet.cli.decode_cmd:decode",
    "demo": "corenet.cli.demo_cmd:demo",
    "drill": "corenet.cli.drill_cmd:drill",
    "etws": "corenet.cli.etws_cmd:etws",
    "fuzz": "corenet.cli.fuzz_cmd:fuzz",
    "hss": "corenet.cli.hss_cmd:hss",
    "pcaps": "corenet.cli.pcaps_cmd:pcaps",
    "psap": "corenet.cli.psap_cmd:psap",
    "run": "corenet.cli.run_cmd:run",
    "storm": "corenet.cli.storm_cmd:storm",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._available()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    @staticmethod
    def _available() -> list[str]:
        return [name for name, target in COMMANDS.items()
                if importlib.util.find_spec(target.split(":")[0]) is not None]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="corenet")
def cli() -> None:
    """corenet: a 3GPP EPC emulator for emergency inter-operator roaming."""


def main(argv: list[str] | None = None) -> None:
    run_command(cli, "corenet", argv)


if __name__ == "__main__":
    main()
