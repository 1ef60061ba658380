"""The S/P-GW killed (SIGKILL) in the middle of attaches and started again: no UE address is
ever held by two attached UEs (TS 23.007 §18, TS 29.274 §7.1.1 and §8.5).

The S/P-GW runs as its own `corenet run sgw-pgw` process on the test's loopback block; the
HSS, the MME and the simulated eNBs and UEs run in this process.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from corenet.config.models import CorenetConfig
from corenet.runtime.supervisor import Runtime
from sim_ue.runner import Population
from tests.cli_helpers import BIN
from tests.e2e.network import config, subscribers


class SgwProcess:
    """`corenet run sgw-pgw` on the configuration's S11 address."""

    def __init__(self, cfg: CorenetConfig, folder: Path) -> None:
        self.cfg = cfg
        self.folder = folder
        self.file = folder / "corenet.yaml"
        self.file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        log = open(self.folder / f"sgw-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(BIN / "corenet"), "run", "sgw-pgw", "--config", str(self.file),
             "--pcap", str(self.folder / f"sgw-{self.starts}.pcapng"), "--log-level",
             "warning"], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        await self._bound()

    @property
    def recovery(self) -> int:
        """The restart counter the S/P-GW sends (TS 23.007 §18), as it keeps it on disk."""
        return int(Path(self.cfg.sgw_pgw.database + ".restart").read_text())

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    async def _bound(self, timeout: float = 60.0) -> None:
        """Until the S11 socket is bound (it is bound after the sessions were restored and
        the restart counter written). A probe would have to be one of its MMEs: the S/P-GW
        answers nobody else."""
        s11 = self.cfg.sgw_pgw.s11
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            assert self.proc is not None and self.proc.poll() is None, "S/P-GW died"
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                try:
                    sock.bind((s11.host, s11.port))
                except OSError:
                    return
            assert loop.time() < end, "S/P-GW not bound"
            await asyncio.sleep(0.1)


@asynccontextmanager
async def rescuer(tmp_path: Path, count: int) -> AsyncIterator[tuple[Any, SgwProcess, list[Any]]]:
    cfg = config(tmp_path, enbs=3)
    sgw = SgwProcess(cfg, tmp_path)
    await sgw.start()
    runtime = Runtime(cfg, names=("hss", "mme"), sim_ue_in_process=True)
    subs = subscribers(count)
    try:
        await runtime.start()
        runtime.services["hss"].store.provision(subs)
        yield runtime.services["mme"], sgw, subs
    finally:
        await runtime.stop()
        sgw.stop()


def population(cfg_enbs: list[Any], subs: list[Any], enb: int) -> Population:
    return Population(subs, [cfg_enbs[enb]], sctp_mode="fallback", timeout=40.0, info_wait=0.0)


def attached_addresses(mme: Any) -> list[str]:
    """The IPv4 address of every UE the MME holds a PDN connection for."""
    return [ue.session.pdn.ipv4 for ue in mme.core.ues.values()
            if ue.session.session_created and ue.session.pdn is not None and ue.session.pdn.ipv4]


async def until(cond: Callable[[], bool], timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end
        await asyncio.sleep(0.05)


async def test_sgw_killed_during_attaches_keeps_sessions_and_addresses_unique(
        tmp_path: Path) -> None:
    async with rescuer(tmp_path, 30) as (mme, sgw, subs):
        enbs = sgw.cfg.sim_ue.enbs
        first_counter = sgw.recovery
        async with population(enbs, subs[:10], 0) as pop_a:
            results_a = await pop_a.attach()
            assert all(r.attached for r in results_a)
            before = {r.imsi: r.ipv4 for r in results_a}
            async with population(enbs, subs[10:20], 1) as pop_b:
                attaching = asyncio.ensure_future(pop_b.attach())
                await until(lambda: len(attached_addresses(mme)) >= 13)
                sgw.kill()  # kill -9 while UEs of the second group are attaching
                await sgw.start()
                await attaching
                async with population(enbs, subs[20:30], 2) as pop_c:
                    results_c = await pop_c.attach()
                addresses = attached_addresses(mme)
                # the sessions were kept: same restart counter, first group untouched
                assert sgw.recovery == first_counter
                assert "mme.s11.sgw_restarted" not in [e.kind for e in mme.events]
                assert all(r.attached for r in results_c)
                for imsi, ipv4 in before.items():
                    ue = mme.ue(imsi)
                    assert ue is not None and ue.session.session_created and ue.session.pdn.ipv4 == ipv4
                # no address held by two attached UEs
                assert len(addresses) == len(set(addresses)) >= 20
                assert not set(before.values()) & {r.ipv4 for r in results_c}


async def test_sgw_that_lost_its_database_gets_its_old_ues_detached(tmp_path: Path) -> None:
    async with rescuer(tmp_path, 20) as (mme, sgw, subs):
        enbs = sgw.cfg.sim_ue.enbs
        first_counter = sgw.recovery
        async with population(enbs, subs[:10], 0) as pop_a:
            results_a = await pop_a.attach()
            assert all(r.attached for r in results_a)
            sgw.kill()
            for f in tmp_path.glob("sgw-pgw.db*"):
                if not f.name.endswith(".restart"):
                    f.unlink()
            await sgw.start()
            # lost state: the restart counter moved on (TS 23.007 §18)
            assert sgw.recovery == (first_counter + 1) % 256
            async with population(enbs, subs[10:20], 1) as pop_b:
                results_b = await pop_b.attach()
            assert all(r.attached for r in results_b)
            # the MME saw the new Recovery and detached the UEs whose sessions were lost
            assert "mme.s11.sgw_restarted" in [e.kind for e in mme.events]
            await until(lambda: all(mme.ue(r.imsi) is None
                                    or not mme.ue(r.imsi).session.session_created
                                    for r in results_a))
            addresses = attached_addresses(mme)
            assert len(addresses) == len(set(addresses)) == 10
            assert sorted(addresses) == sorted(r.ipv4 for r in results_b)
