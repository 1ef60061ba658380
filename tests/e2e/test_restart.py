"""A network function killed (SIGKILL) and started again in the middle of a 200-UE attach: every
UE ends attached. The network functions run as separate `corenet run <nf>` processes; the eNBs
and UEs are simulated in the test process. The eNBs notice the lost S1 association, reconnect
and redo S1 Setup (TS 36.413 §8.7.3); the UEs retry their attach (TS 24.301 §5.5.1.2.6: T3411,
T3402); the MME reconnects to the HSS (RFC 6733 §2.1). After an HSS restart no SQN is issued
twice (TS 33.102 §6.3.2, Annex C): read from the AIAs the MME received and the HSS database.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
import yaml

from corenet.config.models import CorenetConfig
from corenet.control.server import request
from corenet.crypto.milenage import Milenage, check_autn, sqn_to_int
from sim_ue.runner import Population
from sim_ue.ue import EmmState, UeTimers
from tests import tshark
from tests.cli_helpers import BIN
from tests.e2e.network import OPC, K, config, subscribers, wait_port

UES = 200
FIRST_IMSI = "440100000000001"
# short UE timers so that the retries of TS 24.301 §5.5.1.2.6 fit in the test
TIMERS = UeTimers(t3410_s=8.0, t3411_s=0.5, t3402_s=2.0)
KILL_AFTER = 40  # UEs attached when the network function is killed


class Processes:
    """One `corenet run <nf>` process per network function, on one configuration file."""

    def __init__(self, cfg: CorenetConfig, tmp_path: Path) -> None:
        self.cfg = cfg
        self.tmp_path = tmp_path
        self.cfg_file = tmp_path / "corenet.yaml"
        self.cfg_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.logs: list[IO[str]] = []
        self.runs: dict[str, int] = defaultdict(int)
        self.captured: set[str] = set()  # the network functions that write a capture

    def pcap(self, nf: str, run: int = 1) -> Path:
        return self.tmp_path / f"{nf}-{run}.pcapng"

    async def start(self, nf: str) -> None:
        self.runs[nf] += 1
        run = self.runs[nf]
        log = open(self.tmp_path / f"{nf}-{run}.log", "w")  # noqa: SIM115
        self.logs.append(log)
        pcap = str(self.pcap(nf, run)) if nf in self.captured else ""
        self.procs[nf] = subprocess.Popen(
            [str(BIN / "corenet"), "run", nf, "--config", str(self.cfg_file),
             "--pcap", pcap, "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT, text=True)
        ready = READY.get(nf)
        if ready is not None:
            await wait_port(*ready(self.cfg))

    def kill(self, nf: str) -> None:
        """SIGKILL: no goodbye on any interface, as in a crash."""
        proc = self.procs.pop(nf)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> dict[str, int | None]:
        codes = {}
        for nf, proc in reversed(list(self.procs.items())):
            proc.send_signal(signal.SIGTERM)
            try:
                codes[nf] = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[nf] = proc.wait(timeout=10)
        self.procs.clear()
        for log in self.logs:
            log.close()
        return codes

    def log_text(self, nf: str, run: int = 1) -> str:
        return (self.tmp_path / f"{nf}-{run}.log").read_text()


# the TCP endpoint that tells a network function is serving (S1AP runs over the SCTP fallback)
READY: dict[str, Callable[[CorenetConfig], tuple[str, int]]] = {
    "hss": lambda cfg: (cfg.hss.listen.host, cfg.hss.listen.port),
    "mme": lambda cfg: (cfg.mme.s1ap.host, cfg.mme.s1ap.port),
}


def _attached(pop: Population) -> int:
    return sum(1 for m in pop.members if m.ue.state is EmmState.REGISTERED)


def _aia_sqns(pcap: Path) -> list[tuple[str, int]]:
    """(IMSI, SQN) of every vector in the AIAs of the capture, recovered from AUTN as the USIM
    does (TS 33.102 §6.3.3: AK = f5(RAND), MAC checked)."""
    imsi_of: dict[str, str] = {}
    for row in tshark.fields(pcap, "diameter.Session-Id", "diameter.User-Name",
                             display_filter="diameter.cmd.code == 318 && diameter.flags.request == 1"):
        imsi_of[row["diameter.Session-Id"][0]] = row["diameter.User-Name"][0]
    usim = Milenage(bytes.fromhex(K), bytes.fromhex(OPC))
    out = []
    for row in tshark.fields(pcap, "diameter.Session-Id", "diameter.RAND", "diameter.AUTN",
                             display_filter="diameter.cmd.code == 318 && diameter.flags.request == 0"):
        for rand_hex, autn_hex in zip(row["diameter.RAND"], row["diameter.AUTN"], strict=True):
            chk = check_autn(usim, bytes.fromhex(rand_hex.replace(":", "")),
                             bytes.fromhex(autn_hex.replace(":", "")))
            assert chk.mac_ok
            out.append((imsi_of[row["diameter.Session-Id"][0]], sqn_to_int(chk.sqn)))
    return out


# The network functions whose restart is tested. The S/P-GW keeps its sessions on disk, so a
# restart loses none of them (TS 23.007 §18: its Recovery stays the same) and every UE's session
# is still there at the end.
RESTARTED = ["mme", "hss", "sgw-pgw"]


@pytest.mark.parametrize("nf", RESTARTED)
async def test_kill_and_restart_during_a_200_ue_attach(tmp_path: Path, nf: str) -> None:
    subs_file = tmp_path / "subscribers.yaml"
    subs_file.write_text(yaml.safe_dump({"subscribers": [
        {"imsi": FIRST_IMSI, "count": UES, "msisdn": "819000000001", "k": K, "opc": OPC}]}))
    cfg = config(tmp_path, enbs=4, hss_retry_after_s=1.0)
    data = cfg.model_dump(mode="json")
    data["hss"]["subscribers_file"] = str(subs_file)
    cfg = CorenetConfig.model_validate(data)
    procs = Processes(cfg, tmp_path)
    if nf == "hss":
        procs.captured.add("mme")  # the AIAs of both HSS runs, as the MME received them
    subs = subscribers(UES, FIRST_IMSI)  # the same cards as in the file
    try:
        for name in ("hss", "sgw-pgw", "mme"):
            await procs.start(name)
        pop = Population(subs, cfg.sim_ue.enbs, sctp_mode="fallback", timeout=50.0,
                         info_wait=0.0, concurrency=20, ue_timers=TIMERS, reconnect_s=0.2,
                         reconnect_max_s=1.0)
        async with pop:
            attaching = asyncio.ensure_future(pop.attach())
            loop = asyncio.get_running_loop()
            end = loop.time() + 40
            while _attached(pop) < KILL_AFTER and loop.time() < end and not attaching.done():
                await asyncio.sleep(0.02)
            before = _attached(pop)
            assert KILL_AFTER <= before < UES, before
            procs.kill(nf)
            await asyncio.sleep(0.5)
            await procs.start(nf)
            results = await attaching
            status = await request(cfg.mme.control.host, cfg.mme.control.port,
                                   {"op": "status"})
    finally:
        codes = procs.stop_all()
    failed = [(r.imsi, r.outcome, r.cause, r.reason) for r in results if not r.attached]
    assert failed == [], failed[:5]
    assert len(results) == UES
    assert all(code == 0 for code in codes.values()), codes
    # the UEs went through the abnormal cases of TS 24.301 §5.5.1.2.6 and came back
    abnormal = [e.data for enb in pop.enbs for e in enb.log if e.kind == "emm.attach.abnormal"]
    if nf != "sgw-pgw":  # S11 retransmissions (TS 29.274 §7.6) may bridge a short S/P-GW outage
        assert abnormal
    if nf == "mme":
        # every eNB lost its association, came back and redid S1 Setup
        logs = [e.kind for enb in pop.enbs for e in enb.log]
        assert logs.count("s1.reconnected") == len(pop.enbs)
        assert logs.count("s1.setup.succeeded") == 2 * len(pop.enbs)
        assert any(a["reason"] == "lower layer failure" for a in abnormal)
        # the new MME holds the UEs that attached through it, and nothing else: at most those
        # not attached at the kill, at least those minus the accepts already on their way
        assert UES - before - pop.concurrency <= status["ues"] <= UES - before
    if nf == "hss":
        assert any(a["cause"] == 17 for a in abnormal)  # network failure while it was down
        assert status["ues"] == UES  # every attach completed, no context left behind
        # TS 33.102 Annex C: no SQN issued twice, across the restart; the database holds the
        # last one issued
        sqns = _aia_sqns(procs.pcap("mme"))
        assert len(sqns) >= UES
        assert len(set(sqns)) == len(sqns)
        db = sqlite3.connect(cfg.hss.database)
        stored = dict(db.execute("SELECT imsi, sqn FROM subscribers").fetchall())
        db.close()
        for imsi, sqn in sqns:
            assert stored[imsi] >= sqn
    if nf == "sgw-pgw":
        # every attached UE has its session, and no IPv4 address is held by two of them
        assert status["ues"] == UES
        db = sqlite3.connect(cfg.sgw_pgw.database)
        rows = [json.loads(d) for (d,) in db.execute("SELECT data FROM sessions")]
        db.close()
        by_imsi = {r["imsi"]: r["allocation"]["ipv4"] for r in rows}
        assert sorted(by_imsi) == sorted(r.imsi for r in results)
        assert {r.imsi: r.ipv4 for r in results} == by_imsi
        assert len(set(by_imsi.values())) == UES
