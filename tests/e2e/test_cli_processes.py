"""The network as separate processes: `corenet run` serves, `sim-ue attach --mme` replays attaches
against it as it would against a third-party MME."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import yaml

from tests import tshark
from tests.cli_helpers import BIN
from tests.e2e.network import OPC, K, config, wait_port


async def test_corenet_run_serves_sim_ue_attach_over_the_cli(tmp_path: Path) -> None:
    subs_file = tmp_path / "subscribers.yaml"
    subs_file.write_text(yaml.safe_dump({"subscribers": [
        {"imsi": "440100000000101", "count": 6, "msisdn": "819020000101", "k": K, "opc": OPC}]}))
    cfg = config(tmp_path)
    data = cfg.model_dump(mode="json")
    data["hss"]["subscribers_file"] = str(subs_file)
    cfg_file = tmp_path / "corenet.yaml"
    cfg_file.write_text(yaml.safe_dump(data))
    pcap = tmp_path / "served.pcapng"
    server = subprocess.Popen([str(BIN / "corenet"), "run", "--config", str(cfg_file), "--pcap", str(pcap)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        await wait_port(cfg.mme.s1ap.host, cfg.mme.s1ap.port)
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "sim-ue"), "attach", "--mme", f"{cfg.mme.s1ap.host}:{cfg.mme.s1ap.port}",
            "--subscribers", str(subs_file), "--ues", "6", "--enbs", "2", "--sctp", "fallback",
            "--json", "--detach", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert server.returncode == 0, server.stderr.read() if server.stderr else ""
    report = json.loads(out)
    ues = report["ues"] if isinstance(report, dict) else report
    assert len(ues) == 6 and all(u["attached"] for u in ues)
    assert {u["network_name"] for u in ues} == {"JPN-ROAM X"}
    # the served capture records both directions of the MME's and the HSS's links
    assert tshark.count(pcap, "diameter.cmd.code == 316 && diameter.Result-Code == 2001") == 6
    assert tshark.count(pcap, "s1ap.procedureCode == 12") == 6
    assert tshark.count(pcap, "_ws.malformed") == 0
    # TS 36.413 §9.1.4.1: a Handover Restriction List with the serving PLMN in every ICS
    # Request; §8.9: the eNB reports each UE's radio capability after it
    assert tshark.count(pcap, "s1ap.procedureCode == 9 && s1ap.servingPLMN == 44:f0:02") == 6
    assert tshark.count(pcap, "s1ap.procedureCode == 22 && lte-rrc.bandEUTRA == 1") == 6
