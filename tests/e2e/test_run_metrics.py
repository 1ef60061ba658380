"""`corenet run --metrics HOST:PORT`: Prometheus metrics scraped over HTTP after attaches."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from corenet.bus.broker import free_port
from tests.e2e.served import corenet_run, sim_ue_attach

KNOWN, UNKNOWN = "440100000000401", "440100000000402"


def _scrape(host: str, port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as rsp:
        text = rsp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_after_one_accepted_and_one_rejected_attach(tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    cfg, server = await corenet_run(tmp_path, [KNOWN], "--metrics", f"127.0.0.1:{port}",
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await sim_ue_attach(cfg, tmp_path, [KNOWN, UNKNOWN], "--timeout", "20")
        m = await asyncio.to_thread(_scrape, "127.0.0.1", port)
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
