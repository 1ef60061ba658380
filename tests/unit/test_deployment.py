"""Deployment files: the compose file's services run through the same entry points and configs.

There is no Docker engine on the CI machines, so each service's command is run with --check.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import yaml

from corenet.config.loader import load
from corenet.config.models import CorenetConfig
from tests.cli_helpers import run
from tests.e2e.network import config

ROOT = Path(__file__).resolve().parents[2]


def test_default_yaml_is_the_embedded_defaults() -> None:
    assert load(CorenetConfig, ROOT / "configs/default.yaml") == CorenetConfig()


def test_every_compose_service_command_passes_check() -> None:
    compose = yaml.safe_load((ROOT / "docker/compose.yaml").read_text())
    services = compose["services"]
    assert {"hss", "mme", "sgw-pgw", "ims", "psap", "sim-ue"} <= set(services)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for name, svc in services.items():
            entry = (svc.get("entrypoint") or ["corenet"])[0]
            proc = run(entry, *svc["command"], "--check")
            assert proc.returncode == 0, (name, proc.stderr)
    finally:
        os.chdir(cwd)
    addresses = {s["networks"]["epc"]["ipv4_address"] for s in services.values()}
    cfg = load(CorenetConfig, ROOT / "configs/docker.yaml")
    assert {cfg.mme.s1ap.host, cfg.hss.listen.host, cfg.sgw_pgw.s11.host} <= addresses


def test_state_files_live_on_named_volumes() -> None:
    """The HSS's SQNs, the S/P-GW's sessions, the MME's restart counter and the PSAP's records
    survive a recreated container: each file's folder is a named volume of its service."""
    compose = yaml.safe_load((ROOT / "docker/compose.yaml").read_text())
    cfg = load(CorenetConfig, ROOT / "configs/docker.yaml")
    state = {"hss": cfg.hss.database, "sgw-pgw": cfg.sgw_pgw.database,
             "mme": cfg.mme.restart_counter_file, "psap": cfg.psap.database}
    for service, path in state.items():
        assert path is not None and path.startswith("/"), (service, path)
        mounts = dict(m.rsplit(":", 1)[::-1] for m in compose["services"][service]["volumes"]
                      if m.count(":") == 1)
        folder = str(Path(path).parent)
        assert mounts.get(folder) in compose["volumes"], (service, folder, mounts)


def test_a_bad_config_names_file_field_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mme:\n  plmn: '44020'\n  s1ap:\n    host: 127.0.0.2\n    port: 70000\n")
    proc = run("corenet", "run", "mme", "--config", str(bad), "--check")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"corenet run: {bad}: line 5: mme.s1ap.port: Input should be less than or equal to 65535")


def test_a_busy_address_is_one_line_naming_the_config_field(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    busy = socket.socket()
    busy.bind((cfg.hss.listen.host, 0))
    busy.listen()
    try:
        port = busy.getsockname()[1]
        data = cfg.model_dump(mode="json")
        data["hss"]["listen"]["port"] = port
        path = tmp_path / "busy.yaml"
        path.write_text(yaml.safe_dump(data))
        proc = run("corenet", "run", "hss", "--config", str(path))
    finally:
        busy.close()
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"corenet run: cannot listen on {cfg.hss.listen.host}:{port}: Address already in use "
        "(set hss.listen in the configuration to a free address)"]
