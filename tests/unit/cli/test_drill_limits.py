"""`corenet drill --timeout` and Ctrl-C: the drill ends, saying which step it stopped in."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import BIN

SCENARIO = Path(__file__).parents[3] / "configs" / "scenarios" / "typhoon-alert-meeting.yaml"


@pytest.fixture
def silent_broker() -> Iterator[socket.socket]:
    """Accepts TCP connections and never answers CONNECT (MQTT 3.1.1 §3.2: no CONNACK)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock


def _drill(broker: socket.socket, *extra: str) -> subprocess.Popen[str]:
    port = broker.getsockname()[1]
    return subprocess.Popen([str(BIN / "corenet"), "drill", str(SCENARIO), "--json",
                             "--mqtt", f"mqtt://127.0.0.1:{port}", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_timeout_stops_the_drill_and_names_the_step(silent_broker: socket.socket) -> None:
    proc = _drill(silent_broker, "--timeout", "1")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 124, err
    assert out == ""
    assert "corenet drill typhoon-alert-meeting: did not finish within 1 s" in err
    assert "_exchange (Steps ⑤-⑧ over MQTT" in err
    assert "Traceback" not in err


def test_ctrl_c_says_what_was_interrupted(silent_broker: socket.socket) -> None:
    proc = _drill(silent_broker)
    silent_broker.settimeout(60)
    conn, _ = silent_broker.accept()  # the drill has reached the request over the bus
    conn.close()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "corenet drill typhoon-alert-meeting: interrupted after" in err
    assert "_exchange (Steps ⑤-⑧ over MQTT" in err
    assert "Traceback" not in err
