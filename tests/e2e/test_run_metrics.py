"""`corenet run --metrics HOST:PORT`: Prometheus metrics scraped over HTTP after attaches."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import urllib.request
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from corenet.bus.broker import free_port
from tests.cli_helpers import BIN
from tests.e2e.network import OPC, K, config, wait_port

KNOWN, UNKNOWN = "440100000000401", "440100000000402"


def _subscribers(path: Path, *imsis: str) -> Path:
    path.write_text(yaml.safe_dump({"subscribers": [
        {"imsi": imsi, "msisdn": "8190" + imsi[-8:], "k": K, "opc": OPC} for imsi in imsis]}))
    return path


def _scrape(host: str, port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as rsp:
        text = rsp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_after_one_accepted_and_one_rejected_attach(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    data = cfg.model_dump(mode="json")
    data["hss"]["subscribers_file"] = str(_subscribers(tmp_path / "hss.yaml", KNOWN))
    cfg_file = tmp_path / "corenet.yaml"
    cfg_file.write_text(yaml.safe_dump(data))
    host, port = cfg.mme.s1ap.host, free_port(cfg.mme.s1ap.host)
    server = subprocess.Popen([str(BIN / "corenet"), "run", "--config", str(cfg_file),
                               "--metrics", f"{host}:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        await wait_port(cfg.mme.s1ap.host, cfg.mme.s1ap.port)
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "sim-ue"), "attach", "--mme", f"{cfg.mme.s1ap.host}:{cfg.mme.s1ap.port}",
            "--subscribers", str(_subscribers(tmp_path / "ues.yaml", KNOWN, UNKNOWN)),
            "--enbs", "1", "--sctp", "fallback", "--json", "--timeout", "20",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        await asyncio.wait_for(proc.communicate(), 120)
        m = await asyncio.to_thread(_scrape, host, port)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err

    def value(name: str, **labels: str) -> float:
        return m.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("corenet_attach_attempts_total", mode="normal") == 2
    assert value("corenet_attach_successes_total", mode="normal") == 1
    # the unknown IMSI: refused by the HSS (5001, TS 29.272 §5.2.3.1.3), so by the MME
    failures = {k[1]: v for k, v in m.items() if k[0] == "corenet_attach_failures_total"}
    assert sum(failures.values()) == 1 and all(("mode", "normal") in k for k in failures)
    assert value("corenet_active_ues", mode="normal") == 1
    assert value("corenet_hss_air_total", result="success") == 1
    assert value("corenet_hss_air_total", result="5001") == 1
    # one AIR answered for each UE, one ULR for the accepted one, timed at the MME
    assert value("corenet_s6a_request_duration_seconds_count", command="AIR") == 2
    assert value("corenet_s6a_request_duration_seconds_count", command="ULR") == 1
    assert value("corenet_s11_request_duration_seconds_count",
                 message="CreateSessionRequest") == 1
    # an Enum metric: the state is the label named after the metric (one sample per state)
    assert value("corenet_diameter_peer_state", nf="mme",
                 peer="hss.epc.mnc010.mcc440.3gppnetwork.org",
                 corenet_diameter_peer_state="open") == 1
    assert value("corenet_diameter_peer_state", nf="hss",
                 peer="mme.epc.mnc020.mcc440.3gppnetwork.org",
                 corenet_diameter_peer_state="open") == 1
