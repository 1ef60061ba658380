"""Start network functions alone or together, on their own sockets, sharing one capture."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from corenet.config.models import CorenetConfig
from corenet.pcap.tap import PcapTap
from corenet.pcap.writer import PcapWriter
from corenet.transport.base import Direction

log = logging.getLogger("corenet.runtime")

NETWORK_FUNCTIONS = ("hss", "sgw-pgw", "mme")  # start order: servers before their clients


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def seeded_bytes(seed: int, label: str) -> Callable[[int], bytes]:
    """Reproducible 'random' bytes (RANDs) for runs that must give identical captures."""
    rng = random.Random(f"{label}:{seed}")
    return lambda n: rng.randbytes(n)


def build_service(name: str, cfg: CorenetConfig, tap: PcapTap | None,
                  seed: int | None = None) -> Service:
    if name == "hss":
        from corenet.nf.hss.service import HssService

        if seed is None:
            return HssService(cfg.hss, tap=tap)
        return HssService(cfg.hss, tap=tap, random_bytes=seeded_bytes(seed, "hss"))
    if name == "sgw-pgw":
        from corenet.nf.sgw_pgw.service import SgwPgwService

        return SgwPgwService(cfg.sgw_pgw, tap=tap)
    if name == "mme":
        from corenet.nf.mme.service import MmeService

        return MmeService(cfg.mme, tap=tap)
    raise ValueError(f"unknown network function {name!r}")


@dataclass
class Runtime:
    """The network functions of one configuration, started in one process.

    When several functions share the process, each message is recorded once, by its sender; a
    function running alone records both directions of its own links.
    """

    cfg: CorenetConfig
    names: tuple[str, ...] = NETWORK_FUNCTIONS
    pcap_path: str | None = None
    seed: int | None = None  # set: RANDs are reproducible (captures identical per seed)
    writer: PcapWriter | None = None
    services: dict[str, Any] = field(default_factory=dict)

    def tap(self) -> PcapTap | None:
        if self.writer is None:
            return None
        alone = len(self.names) == 1
        directions = (Direction.SENT, Direction.RECEIVED) if alone else (Direction.SENT,)
        return PcapTap(self.writer, directions=directions)

    async def start(self) -> None:
        if self.pcap_path:
            Path(self.pcap_path).parent.mkdir(parents=True, exist_ok=True)
            self.writer = PcapWriter(self.pcap_path, seed=self.cfg.seed)
        for name in self.names:
            svc = build_service(name, self.cfg, self.tap(), self.seed)
            await svc.start()
            self.services[name] = svc
            log.info("%s started", name)

    async def stop(self) -> None:
        for name in reversed(list(self.services)):
            try:
                await self.services[name].stop()
            except Exception:  # a failing stop must not keep the others running
                log.exception("stopping %s failed", name)
        self.services.clear()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def run_forever(runtime: Runtime) -> None:
    await runtime.start()
    try:
        await asyncio.Event().wait()
    finally:
        await runtime.stop()
