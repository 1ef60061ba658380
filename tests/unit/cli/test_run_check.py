"""`corenet run --check` validates the listening addresses as well as the fields: each
address must be this host's, free, and used by one listener only (one line per problem)."""

from __future__ import annotations

import socket
from pathlib import Path

import yaml

from corenet.config.loader import load
from corenet.config.models import CorenetConfig
from corenet.runtime.addresses import check_addresses, listeners
from tests.cli_helpers import run
from tests.e2e.network import config


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "corenet.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_free_local_addresses_pass(tmp_path: Path) -> None:
    path = _write(tmp_path, config(tmp_path).model_dump(mode="json"))
    proc = run("corenet", "run", "--config", str(path), "--check")
    assert proc.returncode == 0, proc.stderr


def test_a_busy_port_and_a_foreign_address_are_named(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind((cfg.sgw_pgw.s11.host, 0))
    try:
        data = cfg.model_dump(mode="json")
        data["sgw_pgw"]["s11"]["port"] = busy.getsockname()[1]
        data["psap"]["listen"]["host"] = "192.0.2.1"  # RFC 5737 TEST-NET-1: not this host's
        path = _write(tmp_path, data)
        proc = run("corenet", "run", "--config", str(path), "--check")
    finally:
        busy.close()
    assert proc.returncode == 2
    port = data["sgw_pgw"]["s11"]["port"]  # type: ignore[index]
    assert proc.stderr.strip().splitlines() == [
        f"corenet run: {path}: sgw_pgw.s11: cannot listen on udp {cfg.sgw_pgw.s11.host}:{port}: "
        "already in use",
        f"corenet run: {path}: psap.listen: cannot listen on udp 192.0.2.1:5060: "
        "not an address of this host",
        f"corenet run: {path}: psap.listen: cannot listen on tcp 192.0.2.1:5060: "
        "not an address of this host"]


def test_two_listeners_on_one_address_and_a_malformed_text_address(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clash = cfg.ims.pcscf.listen
    cfg = cfg.model_copy(update={
        "psap": cfg.psap.model_copy(update={"listen": clash}),
        "sgw_pgw": cfg.sgw_pgw.model_copy(update={"s5_address": "pgw.example"})})
    problems = check_addresses(cfg, ["sgw-pgw", "ims", "psap"], bind=False)
    assert problems == [
        "sgw_pgw.s5_address: 'pgw.example' is not an IP address",
        f"ims.pcscf.listen and psap.listen both listen on udp {clash.host}:{clash.port}",
        f"ims.pcscf.listen and psap.listen both listen on tcp {clash.host}:{clash.port}"]


def test_listeners_of_one_function(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert [(x.field, x.protocol) for x in listeners(cfg, ["mme"])] == [
        ("mme.s1ap", "sctp"), ("mme.s11_local", "udp"), ("mme.control", "tcp"),
        ("mme.sbcap", "sctp")]
    # the relay agents and the MVNOs' HSSs, one listener per instance of the configuration
    mvno = load(CorenetConfig, str(Path(__file__).parents[3] / "configs" / "docker.yaml"))
    assert mvno.dra and mvno.mvno_hss
    assert [x.field for x in listeners(mvno, ["dra", "mvno-hss"])] == \
        [f"mvno_hss[{i}].listen" for i in range(len(mvno.mvno_hss))] + \
        [f"dra[{i}].listen" for i in range(len(mvno.dra))]
    # the HSS's control endpoint is served only when the HSS runs alone
    assert [x.field for x in listeners(cfg, ["hss"])] == ["hss.listen", "hss.control"]
    assert [x.field for x in listeners(cfg, ["hss", "mme"])][:1] == ["hss.listen"]
    assert "hss.control" not in [x.field for x in listeners(cfg, ["hss", "mme"])]
