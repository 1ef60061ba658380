"""Start network functions alone or together, on their own sockets, sharing one capture."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from corenet.codecs.selection import set_codec
from corenet.config.models import CorenetConfig, Endpoint
from corenet.core.actions import LogEvent
from corenet.core.logs import NETWORK_FUNCTION
from corenet.pcap.decipher import DecipheringTap
from corenet.pcap.tap import PcapTap
from corenet.pcap.writer import PcapWriter, live_writer
from corenet.runtime.addresses import listeners
from corenet.transport.base import BindError, Direction

log = logging.getLogger("corenet.runtime")

# start order: servers before their clients (the PCRF before the P-GW and the P-CSCF, its Gx and
# Rx clients; the PSAP is the E-CSCF's next hop)
NETWORK_FUNCTIONS = ("hss", "mvno-hss", "dra", "home-pgw", "pcrf", "sgw-pgw", "psap", "ims",
                     "mme")
# started only when named (`corenet run cbc`): the CBC of the rescuing operator (TS 23.041)
OPTIONAL_FUNCTIONS = ("cbc",)


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def seeded_bytes(seed: int, label: str) -> Callable[[int], bytes]:
    """Reproducible 'random' bytes (RANDs) for runs that must give identical captures."""
    rng = random.Random(f"{label}:{seed}")
    return lambda n: rng.randbytes(n)


def wired(name: str, cfg: CorenetConfig, started: dict[str, Any]) -> CorenetConfig:
    """`cfg` with the MME's peers that run in this process and were left at port 0 (a free
    port) pointed at the address they bound: its S/P-GW on S11 (TS 29.274) and its Diameter
    route to the HSS of that realm (RFC 6733 §6.1); the PCRF's clients (the P-GW's Gx, the
    P-CSCF's Rx) at the PCRF's bound address; the home S-CSCF's Cx link to the HSS
    (TS 29.229)."""
    pcrf = started.get("pcrf") if cfg.pcrf is not None else None  # none: an empty group
    if name in ("sgw-pgw", "ims") and pcrf is not None:
        cfg = _to_pcrf(name, cfg, _endpoint(pcrf.local))
    if name == "ims":
        return _wired_cx(cfg, started)
    if name != "mme":
        return cfg
    mme = cfg.mme
    update: dict[str, Any] = {}
    sgw = started.get("sgw-pgw")
    if sgw is not None and mme.sgw.port == 0:
        update["sgw"] = _endpoint(sgw.local)
    hss = started.get("hss")
    if hss is not None and any(r.peer.port == 0 and r.realm == hss.cfg.origin_realm
                               for r in mme.diameter_routes):
        update["diameter_routes"] = [
            r.model_copy(update={"peer": _endpoint(hss.local)})
            if r.peer.port == 0 and r.realm == hss.cfg.origin_realm else r
            for r in mme.diameter_routes]
    if not update:
        return cfg
    return cfg.model_copy(update={"mme": mme.model_copy(update=update)})


def pcrf_links(cfg: CorenetConfig, names: tuple[str, ...]) -> CorenetConfig:
    """`cfg` for the functions `names` run in one process. Several functions run together
    without the PCRF (a storm, a drill) have none: the P-GW without Gx (its static policy),
    the P-CSCF reading the S/P-GW's sessions. A function run alone, or any run of `corenet run`
    (`Runtime.pcrf_elsewhere`), keeps its links to a PCRF of another process."""
    if len(names) <= 1 or "pcrf" in names:
        return cfg
    ims = cfg.ims.model_copy(update={"pcscf": cfg.ims.pcscf.model_copy(update={"pcrf": None})})
    return cfg.model_copy(update={
        "pcrf": None, "ims": ims, "sgw_pgw": cfg.sgw_pgw.model_copy(update={"pcrf": None})})


def _to_pcrf(name: str, cfg: CorenetConfig, bound: Endpoint) -> CorenetConfig:
    if name == "sgw-pgw":
        link = cfg.sgw_pgw.pcrf
        if link is None or link.peer.port != 0:
            return cfg
        return cfg.model_copy(update={"sgw_pgw": cfg.sgw_pgw.model_copy(update={
            "pcrf": link.model_copy(update={"peer": bound})})})
    pcscf = cfg.ims.pcscf
    if pcscf.pcrf is None or pcscf.pcrf.peer.port != 0:
        return cfg
    pcscf = pcscf.model_copy(update={"pcrf": pcscf.pcrf.model_copy(update={"peer": bound})})
    return cfg.model_copy(update={"ims": cfg.ims.model_copy(update={"pcscf": pcscf})})


def _wired_cx(cfg: CorenetConfig, started: dict[str, Any]) -> CorenetConfig:
    hss, cx = started.get("hss"), cfg.ims.home.cx
    if hss is None or cx is None or cx.hss.port != 0:
        return cfg
    home = cfg.ims.home.model_copy(update={"cx": cx.model_copy(update={
        "hss": _endpoint(hss.local)})})
    return cfg.model_copy(update={"ims": cfg.ims.model_copy(update={"home": home})})


def _endpoint(address: Any) -> Endpoint:
    return Endpoint(host=str(address[0]), port=int(address[1]))


def build_service(name: str, cfg: CorenetConfig, tap: PcapTap | None,
                  seed: int | None = None, started: dict[str, Any] | None = None,
                  on_event: Callable[[LogEvent], None] | None = None) -> Service:
    cfg = wired(name, cfg, started or {})
    if name == "hss":
        from corenet.nf.hss.service import HssService

        if seed is None:
            return HssService(cfg.hss, tap=tap, on_event=on_event)
        return HssService(cfg.hss, tap=tap, random_bytes=seeded_bytes(seed, "hss"),
                          on_event=on_event, reproducible=True)
    if name == "mvno-hss":
        from corenet.nf.hss.service import HssService

        return ServiceGroup({h.origin_host: HssService(
            h, tap=tap, random_bytes=seeded_bytes(seed or 0, h.origin_host)
            if seed is not None else os.urandom) for h in cfg.mvno_hss})
    if name == "dra":
        from corenet.nf.dra.service import DraService

        return ServiceGroup({d.name: DraService(d, tap=tap, seed=seed) for d in cfg.dra})
    if name == "home-pgw":
        from corenet.nf.sgw_pgw.service import SgwPgwService

        return ServiceGroup({p.s11.host: SgwPgwService(p, tap=tap, on_event=on_event,
                                                       reproducible=seed is not None)
                             for p in cfg.home_pgw})
    if name == "pcrf":
        from corenet.nf.pcrf.service import PcrfService

        if cfg.pcrf is None:
            return ServiceGroup({})
        return PcrfService(cfg.pcrf, tap=tap, on_event=on_event, seed=seed)
    if name == "sgw-pgw":
        from corenet.nf.sgw_pgw.service import SgwPgwService

        return SgwPgwService(cfg.sgw_pgw, tap=tap, on_event=on_event,
                             reproducible=seed is not None, seed=seed)
    if name == "mme":
        from corenet.nf.mme.service import MmeService

        return MmeService(cfg.mme, tap=tap, seed=seed, on_event=on_event)
    if name == "ims":
        from corenet.nf.ims.service import ImsService

        return ImsService(cfg.ims, tap=tap, sessions=(started or {}).get("sgw-pgw"), seed=seed,
                          on_event=on_event)
    if name == "psap":
        from corenet.nf.psap.service import PsapService
        from corenet.protocols.sip_ua import SipIds

        return PsapService(cfg.psap, tap=tap, on_event=on_event,
                           ids=SipIds.seeded(seed, "psap"))
    if name == "cbc":
        from corenet.nf.cbc.service import CbcService

        return CbcService(cfg.cbc, tap=tap, on_event=on_event)
    raise ValueError(f"unknown network function {name!r}")


class ServiceGroup:
    """Several instances of one network function (the Diameter agents, full MVNOs' HSSs),
    started in order and stopped in reverse."""

    def __init__(self, members: dict[str, Any]) -> None:
        self.members = members

    async def start(self) -> None:
        for member in self.members.values():
            await member.start()

    async def stop(self) -> None:
        for member in reversed(list(self.members.values())):
            await member.stop()


def deciphered_path(pcap_path: str) -> str:
    """NAME.pcapng -> NAME.deciphered.pcapng"""
    p = Path(pcap_path)
    stem = p.name[: -len(".pcapng")] if p.name.endswith(".pcapng") else p.name
    return str(p.with_name(stem + ".deciphered.pcapng"))


class OncePerProcessTap(PcapTap):
    """Records what is sent, and what is received from peers outside this process."""

    def __init__(self, writer: PcapWriter, local_ips: frozenset[str],
                 local_networks: tuple[str, ...] = ()) -> None:
        super().__init__(writer, directions=(Direction.SENT, Direction.RECEIVED))
        self.local_ips = local_ips
        self.local_networks = tuple(ipaddress.ip_network(n) for n in local_networks)

    def keeps(self, direction: Direction, src: Any) -> bool:
        if direction is Direction.SENT:
            return True
        if src[0] in self.local_ips:
            return False
        addr = ipaddress.ip_address(src[0])
        return not any(addr in net for net in self.local_networks)

    def sctp(self, direction: Direction, src: Any, dst: Any, payload: bytes, ppid: int,
             stream: int) -> None:
        if self.keeps(direction, src):
            self.writer.sctp(src, dst, payload, ppid, stream)

    def tcp(self, direction: Direction, src: Any, dst: Any, payload: bytes, ppid: int = 0,
            stream: int = 0) -> None:
        if self.keeps(direction, src):
            self.writer.tcp(src, dst, payload)

    def udp(self, direction: Direction, src: Any, dst: Any, payload: bytes, ppid: int = 0,
            stream: int = 0) -> None:
        if self.keeps(direction, src):
            self.writer.udp(src, dst, payload)


def _tee(*taps: Any) -> Any:
    return None if not taps else taps[0] if len(taps) == 1 else TeeTap(*taps)


class TeeTap:
    """Records each message in several captures."""

    def __init__(self, *taps: Any) -> None:
        self.taps = taps

    def sctp(self, *args: Any) -> None:
        for t in self.taps:
            t.sctp(*args)

    def tcp(self, *args: Any) -> None:
        for t in self.taps:
            t.tcp(*args)

    def udp(self, *args: Any) -> None:
        for t in self.taps:
            t.udp(*args)


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

    deciphered: PcapWriter | None = None

    # The functions keep their links to the configuration's PCRF even when it is not among
    # them (`corenet run sgw-pgw mme` beside a `corenet run pcrf`); a storm or a drill, run
    # without a PCRF, has them dropped (`pcrf_links`).
    pcrf_elsewhere: bool = False

    # The configuration's simulated eNBs and UEs run in this process too (demo, drills, tests):
    # their eNB addresses and the UE address pools (IMS user agents) are then local peers.
    sim_ue_in_process: bool = False

    # Observers of the running functions (logs, metrics): every event of each function with
    # the function's name, and taps that see every message every transport carries.
    on_event: Callable[[str, LogEvent], None] | None = None
    observers: tuple[Any, ...] = ()

    def tap(self) -> Any:
        """The tap every transport of this runtime records through, the observers' taps
        included (None: no capture and no observer).

        A message between two functions of this process is recorded once, by its sender; a
        message from a peer outside (a third-party MME or eNB) is recorded when received.
        """
        if self.writer is None:
            return _tee(*self.observers)
        local = self.local_ips()
        nets: tuple[str, ...] = ()
        if self.sim_ue_in_process:
            local |= {e.address for e in self.cfg.sim_ue.enbs}
            pools = [*self.cfg.sgw_pgw.pools, *(p for g in self.cfg.home_pgw for p in g.pools)]
            nets = tuple(p.ipv4 for p in pools if p.ipv4)
        main = OncePerProcessTap(self.writer, local, nets)
        if self.deciphered is None:
            return _tee(main, *self.observers)
        return _tee(main, DecipheringTap(OncePerProcessTap(self.deciphered, local, nets),
                                         self._nas_keys), *self.observers)

    def local_ips(self) -> frozenset[str]:
        c = self.cfg
        by_nf = {
            "hss": {c.hss.listen.host},
            "mvno-hss": {h.listen.host for h in c.mvno_hss},
            "dra": {d.listen.host for d in c.dra},
            "home-pgw": {p.s11.host for p in c.home_pgw},
            "mme": {c.mme.s1ap.host, c.mme.s11_local.host, c.mme.diameter_local_host},
            "sgw-pgw": {c.sgw_pgw.s11.host},
            "pcrf": set() if c.pcrf is None else {c.pcrf.listen.host},
            "ims": {c.ims.pcscf.listen.host, c.ims.ecscf.listen.host, c.ims.home.listen.host},
            "psap": {c.psap.listen.host},
            "cbc": {c.cbc.local_host},
        }
        return frozenset(ip for name in self.names for ip in by_nf.get(name, ()))

    def _nas_keys(self, mme_ue_id: int) -> Any:
        mme = self.services.get("mme")
        ue = None if mme is None else mme.core.ues.get(mme_ue_id)
        return None if ue is None else ue.security.sec

    async def start(self) -> None:
        set_codec(self.cfg.codec)  # process-wide: every function of this process encodes alike
        if not self.pcrf_elsewhere:
            self.cfg = pcrf_links(self.cfg, self.names)
        if self.pcap_path:
            Path(self.pcap_path).parent.mkdir(parents=True, exist_ok=True)
            self.writer = self._capture(self.pcap_path)
            if "mme" in self.names and any(a != 0 for a in self.cfg.mme.security.eea):
                self.deciphered = self._capture(deciphered_path(self.pcap_path))
        for name in self.names:
            emit = None if self.on_event is None else functools.partial(self.on_event, name)
            token = NETWORK_FUNCTION.set(name)  # what the function's tasks and records carry
            try:
                svc = build_service(name, self.cfg, self.tap(), self.seed, self.services, emit)
                await svc.start()
            except BindError as exc:
                exc.fields = tuple(dict.fromkeys(
                    lst.field for lst in listeners(self.cfg, [name])
                    if (lst.host, lst.port) == (exc.host, exc.port)))
                raise
            finally:
                NETWORK_FUNCTION.reset(token)
            self.services[name] = svc
            log.info("%s started", name)

    def _capture(self, path: str) -> PcapWriter:
        """With a seed, time is frozen and client ports are shown stable, so that a run's
        capture is reproducible; otherwise the capture is live (wall clock, written as sent)."""
        if self.seed is None:
            return live_writer(path, seed=self.cfg.seed)
        return PcapWriter(path, seed=self.cfg.seed, stable_ports=True)

    async def stop(self) -> None:
        for name in reversed(list(self.services)):
            try:
                await self.services[name].stop()
            except Exception:  # a failing stop must not keep the others running
                log.exception("stopping %s failed", name)
        self.services.clear()
        for writer in (self.writer, self.deciphered):
            if writer is not None:
                writer.close()
        self.writer = self.deciphered = None


async def run_forever(runtime: Runtime) -> None:
    await runtime.start()
    try:
        await asyncio.Event().wait()
    finally:
        await runtime.stop()
