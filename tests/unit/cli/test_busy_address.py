"""A network function whose address is taken: every command that starts one says so in one
line naming the configuration field, exit status 1, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from tests.cli_helpers import run
from tests.e2e.network import config


@pytest.mark.parametrize("command", [
    ("corenet", "demo", "--ues", "1"),
    ("corenet", "pcaps", "--ues", "1"),
])
def test_a_busy_hss_address_is_one_line_naming_its_field(tmp_path: Path,
                                                         command: tuple[str, ...]) -> None:
    cfg = config(tmp_path)
    with socket.socket() as busy:
        busy.bind((cfg.hss.listen.host, 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        data = cfg.model_dump(mode="json")
        data["hss"]["listen"]["port"] = port
        data["mme"]["diameter_routes"][0]["peer"]["port"] = port
        path = tmp_path / "corenet.yaml"
        path.write_text(yaml.safe_dump(data))
        out = ("--pcap", str(tmp_path / "demo.pcapng")) if command[1] == "demo" else (
            "--out", str(tmp_path / "pcaps"))
        proc = run(*command, "--config", str(path), *out)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"corenet {command[1]}: cannot listen on {cfg.hss.listen.host}:{port}: "
        "Address already in use (set hss.listen in the configuration to a free address)"]
