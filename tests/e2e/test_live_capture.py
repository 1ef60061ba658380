"""Captures of a running network: wall-clock timestamps, readable by tshark while `corenet run`
serves, and nothing already sent lost when the process is killed."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import yaml

from tests import tshark
from tests.cli_helpers import BIN
from tests.e2e.network import OPC, K, config, wait_port


async def test_corenet_run_capture_is_live_and_survives_kill(tmp_path: Path) -> None:
    subs_file = tmp_path / "subscribers.yaml"
    subs_file.write_text(yaml.safe_dump({"subscribers": [
        {"imsi": "440100000000201", "count": 1, "msisdn": "819020000201", "k": K, "opc": OPC}]}))
    cfg = config(tmp_path)
    data = cfg.model_dump(mode="json")
    data["hss"]["subscribers_file"] = str(subs_file)
    cfg_file = tmp_path / "corenet.yaml"
    cfg_file.write_text(yaml.safe_dump(data))
    served, ue_side = tmp_path / "served.pcapng", tmp_path / "ue.pcapng"
    server = subprocess.Popen([str(BIN / "corenet"), "run", "--config", str(cfg_file),
                               "--pcap", str(served)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await wait_port(cfg.mme.s1ap.host, cfg.mme.s1ap.port)
        started = time.time()
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "sim-ue"), "attach", "--mme", f"{cfg.mme.s1ap.host}:{cfg.mme.s1ap.port}",
            "--subscribers", str(subs_file), "--ues", "1", "--enbs", "1", "--sctp", "fallback",
            "--pcap", str(ue_side), "--json", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        ended = time.time()
        # the server still runs: its capture already holds the attach, stamped with today's time
        assert server.poll() is None
        stamps = [float(t) for t in tshark.values(served, "frame.time_epoch",
                                                  display_filter="s1ap.procedureCode == 12")]
        assert len(stamps) == 1
        assert started - 1 <= stamps[0] <= ended + 1
        ue_stamps = [float(t) for t in tshark.values(ue_side, "frame.time_epoch",
                                                     display_filter="s1ap")]
        assert ue_stamps and all(started - 1 <= t <= ended + 1 for t in ue_stamps)
        frames = tshark.count(served, "frame")
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    # killed without a chance to close the file: every frame recorded before is still there
    assert tshark.count(served, "frame") == frames
    assert tshark.count(served, "diameter.cmd.code == 316 && diameter.Result-Code == 2001") == 1
