"""Captures of a running network: wall-clock timestamps, readable by tshark while `corenet run`
serves, and nothing already sent lost when the process is killed."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests import tshark
from tests.e2e.served import corenet_run, sim_ue_attach


async def test_corenet_run_capture_is_live_and_survives_kill(tmp_path: Path) -> None:
    served, ue_side = tmp_path / "served.pcapng", tmp_path / "ue.pcapng"
    imsi = "440100000000201"
    cfg, server = await corenet_run(tmp_path, [imsi], "--pcap", str(served),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.time()
        status, _, err = await sim_ue_attach(cfg, tmp_path, [imsi], "--pcap", str(ue_side))
        assert status == 0, err
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
