"""Progress bars: drawn on a terminal while UEs attach, never in JSON output nor in a pipe."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import subprocess
from pathlib import Path

import yaml

from corenet.cli.progress import advance, bar, shown
from tests.cli_helpers import BIN
from tests.e2e.network import config


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_shown_only_on_a_terminal_and_never_for_json() -> None:
    assert shown(stream=Terminal()) is True
    assert shown(as_json=True, stream=Terminal()) is False
    assert shown(stream=io.StringIO()) is False


def test_units_reported_from_tasks_advance_the_open_bar() -> None:
    out = Terminal()

    async def ues() -> None:
        await asyncio.gather(*(asyncio.sleep(0, advance()) for _ in range(3)))

    with bar("attach", 3, show=True, stream=out):
        asyncio.run(ues())
    assert "3/3" in out.getvalue()
    advance()  # no bar open: nothing happens


def _demo(tmp_path: Path, *extra: str) -> str:
    """The demo's standard output when it is a terminal (a pseudo-terminal)."""
    cfg_file = tmp_path / "corenet.yaml"
    cfg_file.write_text(yaml.safe_dump(config(tmp_path).model_dump(mode="json")))
    cmd = [str(BIN / "corenet"), "demo", "--config", str(cfg_file), "--ues", "3",
           "--pcap", str(tmp_path / "demo.pcapng"), *extra]
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.DEVNULL, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal's other end closed: the command has ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=120)
    return b"".join(chunks).decode(errors="replace")


def test_demo_draws_a_bar_on_a_terminal(tmp_path: Path) -> None:
    on_terminal = _demo(tmp_path)
    assert "attach" in on_terminal and "3/3" in on_terminal and "━" in on_terminal
    assert "3/3 attached" in on_terminal  # the table's summary still follows


def test_demo_json_on_a_terminal_is_json_only(tmp_path: Path) -> None:
    out = _demo(tmp_path, "--json")
    report = json.loads(out.replace("\r\n", "\n"))
    assert len(report["ues"]) == 3
