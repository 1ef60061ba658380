"""`corenet run --metrics`: a bad or busy address is one line, never a traceback."""

from __future__ import annotations

import socket

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
