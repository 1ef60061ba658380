"""`corenet run --log-format json`: every network function logs one JSON object per line, with
levels that mean something (a refused UE is a WARNING, messages in hex at DEBUG)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.served import corenet_run, sim_ue_attach

KNOWN, UNKNOWN = "440100000000301", "440100000000302"


async def test_every_network_function_logs_json_lines(tmp_path: Path) -> None:
    cfg, server = await corenet_run(tmp_path, [KNOWN], "--log-format", "json",
                                    "--log-level", "debug", stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
    try:
        # one UE the HSS knows, one it does not (TS 29.272 §5.2.3.1.3: 5001 unknown user)
        await sim_ue_attach(cfg, tmp_path, [KNOWN, UNKNOWN], "--timeout", "20")
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "nf", "event", "message"} <= set(x) for x in lines)

    def first(event: str, **match: Any) -> dict[str, Any]:
        found = [x for x in lines if x["event"] == event
                 and all(x.get(k) == v for k, v in match.items())]
        assert found, f"no {event} {match}"
        return found[0]

    started = {first(f"{nf}.started")["nf"] for nf in ("hss", "mme", "sgw", "ims", "psap")}
    assert started == {"hss", "mme", "sgw-pgw", "ims", "psap"}
    accepted = first("emm.attach.accepted", imsi=KNOWN)
    assert accepted["nf"] == "mme" and accepted["level"] == "INFO"
    assert first("s6a.air.accepted", imsi=KNOWN)["nf"] == "hss"
    assert first("sgw.session.created")["nf"] == "sgw-pgw"
    refused = first("s6a.air.rejected", imsi=UNKNOWN)
    assert refused["nf"] == "hss" and refused["level"] == "WARNING"
    assert refused["experimental"] is True and refused["result_code"] == 5001
    assert first("emm.attach.rejected", imsi=UNKNOWN)["level"] == "WARNING"
    # per-message hex at DEBUG, from the function that sent it (the first records of the kind
    # pass the repeat filter: the Diameter capabilities exchanges made at start)
    owners = {cfg.mme.s1ap.host: "mme", cfg.hss.listen.host: "hss", cfg.sgw_pgw.s11.host:
              "sgw-pgw", cfg.ims.pcscf.listen.host: "ims",
              cfg.ims.home.listen.host: "ims"}  # the S-CSCF's Cx to the HSS
    if cfg.pcrf is not None:
        owners[cfg.pcrf.listen.host] = "pcrf"
    sent = [x for x in lines if x["event"] == "wire.sent"]
    assert sent and all(x["level"] == "DEBUG" and bytes.fromhex(x["hex"]) for x in sent)
    assert all(owners[x["src"].rsplit(":", 1)[0]] == x["nf"] for x in sent), sent
