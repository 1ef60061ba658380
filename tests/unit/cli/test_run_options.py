"""`corenet run --metrics`: a bad or busy address is one line, never a traceback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from tests.cli_helpers import run


def test_metrics_address_that_is_not_host_port_exits_2() -> None:
    proc = run("corenet", "run", "--metrics", "9100")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("corenet run: error: Invalid value for '--metrics': "
                                   "expected HOST:PORT, got '9100'")


def test_busy_metrics_address_exits_1_naming_it() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = run("corenet", "run", "--metrics", f"127.0.0.1:{port}")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"corenet run: cannot serve metrics on 127.0.0.1:{port} (")
    assert lines[0].endswith("; give --metrics a free address)")


def test_network_functions_run_on_the_process_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """`corenet run` serves on `corenet.runtime.loop.run`: uvloop whenever it is installed,
    as the benchmark's and sim-ue's processes do."""
    from click.testing import CliRunner

    from corenet.cli import run_cmd

    served: list[tuple[str, str]] = []

    def on(loop: str) -> Callable[[Coroutine[Any, Any, None]], None]:
        def fake_run(main: Coroutine[Any, Any, None]) -> None:
            served.append((loop, main.cr_code.co_name))
            main.close()
        return fake_run

    monkeypatch.setattr(run_cmd.event_loop, "run", on("corenet.runtime.loop"))
    monkeypatch.setattr(asyncio, "run", on("asyncio"))
    result = CliRunner().invoke(run_cmd.run, ["hss", "--pcap", "", "--log-level", "error"])
    assert result.exit_code == 0, result.output
    assert served == [("corenet.runtime.loop", "_serve")]
