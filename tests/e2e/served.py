"""`corenet run` as its own process on a test's loopback block, and `sim-ue attach` against it."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import yaml

from corenet.config.models import CorenetConfig
from tests.cli_helpers import BIN
from tests.e2e.network import OPC, K, config, wait_port


def subscribers_file(path: Path, *imsis: str) -> Path:
    """A provisioning file with these IMSIs (TS 35.208 test set 1 keys)."""
    path.write_text(yaml.safe_dump({"subscribers": [
        {"imsi": imsi, "msisdn": "8190" + imsi[-8:], "k": K, "opc": OPC} for imsi in imsis]}))
    return path


async def corenet_run(tmp_path: Path, hss_imsis: list[str], *args: str,
                      **popen: Any) -> tuple[CorenetConfig, subprocess.Popen[str]]:
    """Every network function in one `corenet run` process, its HSS provisioned with
    `hss_imsis`; returns once the MME listens."""
    cfg = config(tmp_path)
    data = cfg.model_dump(mode="json")
    data["hss"]["subscribers_file"] = str(subscribers_file(tmp_path / "hss.yaml", *hss_imsis))
    cfg_file = tmp_path / "corenet.yaml"
    cfg_file.write_text(yaml.safe_dump(data))
    server = subprocess.Popen([str(BIN / "corenet"), "run", "--config", str(cfg_file), *args],
                              text=True, **popen)
    try:
        await wait_port(cfg.mme.s1ap.host, cfg.mme.s1ap.port)
    except BaseException:
        server.kill()
        server.wait(30)
        raise
    return cfg, server


async def sim_ue_attach(cfg: CorenetConfig, tmp_path: Path, imsis: list[str],
                        *args: str) -> tuple[int, str, str]:
    """`sim-ue attach` of these IMSIs through one eNB to the MME of `cfg`: (status, out, err)."""
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "sim-ue"), "attach", "--mme", f"{cfg.mme.s1ap.host}:{cfg.mme.s1ap.port}",
        "--subscribers", str(subscribers_file(tmp_path / "ues.yaml", *imsis)),
        "--enbs", "1", "--sctp", "fallback", "--json", *args,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()
