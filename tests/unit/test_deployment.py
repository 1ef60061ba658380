"""Deployment files: the compose file's services run through the same entry points and configs.

There is no Docker engine on the CI machines, so each service's command is run with --check.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import yaml

from corenet.config.loader import load
from corenet.config.models import CorenetConfig
from corenet.nf.psap.service import PsapService
from corenet.runtime import healthcheck
from corenet.runtime.supervisor import NETWORK_FUNCTIONS
from tests.cli_helpers import run
from tests.e2e.network import _blocks, config

ROOT = Path(__file__).resolve().parents[2]


def test_default_yaml_is_the_embedded_defaults() -> None:
    assert load(CorenetConfig, ROOT / "configs/default.yaml") == CorenetConfig()


def _docker_config_on_loopback(tmp_path: Path) -> Path:
    """configs/docker.yaml with the compose bridge 172.28.0.0/24 moved to a free loopback
    block, so that `--check` can bind the addresses here as it would in the containers."""
    block = next(_blocks)
    text = (ROOT / "configs/docker.yaml").read_text().replace("172.28.0.", f"127.{block}.0.")
    path = tmp_path / "docker.yaml"
    path.write_text(text)
    return path


def test_every_compose_service_command_passes_check(tmp_path: Path) -> None:
    compose = yaml.safe_load((ROOT / "docker/compose.yaml").read_text())
    services = compose["services"]
    assert {"hss", "mme", "sgw-pgw", "pcrf", "ims", "psap", "sim-ue"} <= set(services)
    local = str(_docker_config_on_loopback(tmp_path))
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for name, svc in services.items():
            entry = (svc.get("entrypoint") or ["corenet"])[0]
            command = [local if a == "configs/docker.yaml" else a for a in svc["command"]]
            assert command != svc["command"], name
            proc = run(entry, *command, "--check")
            assert proc.returncode == 0, (name, proc.stderr)
    finally:
        os.chdir(cwd)
    addresses = {s["networks"]["epc"]["ipv4_address"] for s in services.values()}
    cfg = load(CorenetConfig, ROOT / "configs/docker.yaml")
    assert {cfg.mme.s1ap.host, cfg.hss.listen.host, cfg.sgw_pgw.s11.host} <= addresses


def test_health_checks_and_start_order() -> None:
    """Each network function reports healthy once its sockets are bound; a service waits for
    the health of the ones it talks to (sim-ue for the MME: no exit 1 on a closed S1AP port)."""
    compose = yaml.safe_load((ROOT / "docker/compose.yaml").read_text())
    services = compose["services"]
    for nf in NETWORK_FUNCTIONS:
        test = services[nf]["healthcheck"]["test"]
        assert test == ["CMD", "python", "-m", "corenet.runtime.healthcheck", nf, "--config",
                        "configs/docker.yaml"], nf
    healthy = {"condition": "service_healthy"}
    assert services["mme"]["depends_on"] == {"hss": healthy, "sgw-pgw": healthy, "dra": healthy}
    assert services["dra"]["depends_on"] == {"mvno-hss": healthy}
    assert services["ims"]["depends_on"] == {"psap": healthy, "sgw-pgw": healthy}
    assert services["sim-ue"]["depends_on"] == {"mme": healthy, "ims": healthy}


async def test_healthcheck_waits_for_the_sockets(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cfg_path = _docker_config_on_loopback(tmp_path)
    cfg = load(CorenetConfig, cfg_path)
    args = ["psap", "--config", str(cfg_path)]
    assert healthcheck.main(args) == 1
    assert capsys.readouterr().err.strip() == (
        f"psap: not listening yet on udp {cfg.psap.listen.host}:5060 (psap.listen)")
    psap = PsapService(cfg.psap.model_copy(update={"database": str(tmp_path / "psap.db")}))
    await psap.start()
    try:
        assert healthcheck.main(args) == 0
    finally:
        await psap.stop()


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
