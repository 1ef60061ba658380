"""Argument types shared by the CLI: each bad value names the argument that carried it."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from corenet.core.plmn import Plmn
from corenet.transport.base import BindError


class Hex(click.ParamType):
    """Hex string (optional 0x prefix, spaces and colons ignored), optionally of a fixed byte size."""

    name = "hex"

    def __init__(self, size: int | None = None) -> None:
        self.size = size

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> bytes:
        if isinstance(value, bytes):
            return value
        text = str(value).strip().lower().removeprefix("0x").replace(" ", "").replace(":", "")
        try:
            data = bytes.fromhex(text)
        except ValueError:
            self.fail(f"not hexadecimal: {value!r}", param, ctx)
        if self.size is not None and len(data) != self.size:
            self.fail(f"must be {self.size} bytes ({2 * self.size} hex digits), got {len(data)}", param, ctx)
        return data


class PlmnType(click.ParamType):
    name = "plmn"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Plmn:
        if isinstance(value, Plmn):
            return value
        try:
            return Plmn.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)




class UInt(click.ParamType):
    """Non-negative integer in decimal or with a 0x / 0b prefix, bounded by `hi`."""

    name = "integer"

    def __init__(self, hi: int) -> None:
        self.hi = hi

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            n = value
        else:
            try:
                n = int(str(value), 0)
            except ValueError:
                self.fail(f"not an integer: {value!r}", param, ctx)
        if not 0 <= n <= self.hi:
            self.fail(f"{n} is outside 0..{self.hi}", param, ctx)
        return n


def run_command(group: click.Group, prog_name: str, argv: list[str] | None = None) -> None:
    """Run a click entry point: usage errors become one line on stderr with exit status 2,
    never a traceback or click's multi-line usage text."""
    try:
        rv = group.main(args=argv, prog_name=prog_name, standalone_mode=False)
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
    except BindError as exc:
        words = (sys.argv[1:] if argv is None else argv)[:1]
        cannot_listen(" ".join([prog_name, *(w for w in words if not w.startswith("-"))]), exc)
    sys.exit(rv if isinstance(rv, int) else 0)


def cannot_listen(prog: str, exc: BindError) -> NoReturn:
    """A busy address (or not this host's): one line naming the configuration fields that
    give it, exit status 1."""
    fields = ", ".join(exc.fields) or "its address"
    click.echo(f"{prog}: cannot listen on {exc} (set {fields} in the configuration "
               "to a free address)", err=True)
    sys.exit(1)
