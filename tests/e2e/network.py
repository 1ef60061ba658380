"""A whole emulated network on its own loopback addresses, for end-to-end tests.

Each test takes a distinct 127.N.0.0/16 block so captures and sockets never mix between tests.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corenet.config.models import CorenetConfig
from corenet.config.subscribers import Subscriber, SubscriberEntry
from corenet.runtime.supervisor import Runtime
from sim_ue.runner import Population

# 127.N.0.0/16 blocks, N in 20..139, starting at a per-process offset so that test processes
# running side by side do not share addresses; each block's UEs get 127.145-147.(2(N-20)).0/23.
_blocks = (20 + (os.getpid() + i) % 120 for i in itertools.count())

K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"


def subscribers(count: int, first_imsi: str = "440100000000001", **kw: Any) -> list[Subscriber]:
    entry = SubscriberEntry(imsi=first_imsi, count=count, msisdn="8190" + first_imsi[-8:],
                            k=kw.pop("k", K), opc=kw.pop("opc", OPC), **kw)
    return list(entry.expand())


def config(tmp_path: Path, *, enbs: int = 2, **mme: Any) -> CorenetConfig:
    n = next(_blocks)
    ip = lambda host, last: f"127.{n}.{host}.{last}"  # noqa: E731
    data: dict[str, Any] = {
        "hss": {"listen": {"host": ip(0, 3), "port": 3868}, "database": str(tmp_path / "hss.db"),
                "subscribers_file": None, "control": {"host": ip(0, 3), "port": 7000},
                "peers": [{"origin_host": "mme.epc.mnc020.mcc440.3gppnetwork.org",
                           "addresses": [ip(0, 2)]},
                          {"origin_host": "scscf.ims.mnc010.mcc440.3gppnetwork.org",
                           "addresses": [ip(0, 9)]}]},
        "mme": {"s1ap": {"host": ip(0, 2), "port": 36412}, "s11_local": {"host": ip(0, 2), "port": 2123},
                "sgw": {"host": ip(0, 4), "port": 2123}, "diameter_local_host": ip(0, 2),
                "diameter_routes": [{"realm": "epc.mnc010.mcc440.3gppnetwork.org",
                                     "host": "hss.epc.mnc010.mcc440.3gppnetwork.org",
                                     "peer": {"host": ip(0, 3), "port": 3868}}],
                "control": {"host": ip(0, 2), "port": 7000}, **mme},
        "sgw_pgw": {"s11": {"host": ip(0, 4), "port": 2123}, "s1u_address": ip(0, 4),
                    "s5_address": ip(0, 5), "pcscf": [ip(0, 6)],
                    "database": str(tmp_path / "sgw-pgw.db"),
                    # UE addresses of this block only: a UE's IMS agent binds its PDN address
                    "pools": [{"apn": apn, "ipv4": f"127.{octet}.{2 * (n - 20)}.0/23",
                               "ipv6": f"2001:db8:{octet}:{(n - 20) * 512:x}::/55"}
                              for apn, octet in (("internet", 145), ("ims", 146), ("sos", 147))]},
        "ims": {
            "pcscf": {"listen": {"host": ip(0, 6), "port": 5060}, "ecscf": {"host": ip(0, 7), "port": 5060},
                      "home_ims": [{"address": {"host": ip(0, 9), "port": 5060}}]},
            "ecscf": {"listen": {"host": ip(0, 7), "port": 5060},
                      "psaps": [{"prefecture": "Tokyo", "uri": f"sip:psap@{ip(0, 8)}:5060"},
                                {"prefecture": "Miyagi", "uri": f"sip:psap@{ip(0, 8)}:5060"}],
                      "default_psap": f"sip:psap@{ip(0, 8)}:5060"},
            "home": {"listen": {"host": ip(0, 9), "port": 5060},
                     "cx": {"hss": {"host": ip(0, 3), "port": 3868}}},
        },
        "psap": {"listen": {"host": ip(0, 8), "port": 5060}, "database": str(tmp_path / "psap.db"),
                 "callback_route": {"host": ip(0, 9), "port": 5060}, "uri": f"sip:psap@{ip(0, 8)}:5060",
                 "trusted_peers": [ip(0, 7)]},
        "sim_ue": {"enbs": [{"name": f"enb{i + 1}", "global_enb_id": 0x100 + i + 1, "tac": 1 + i % 2,
                             "address": ip(1, i + 1), "mme": {"host": ip(0, 2), "port": 36412}}
                            for i in range(enbs)]},
        "pcrf": {"listen": {"host": ip(0, 15), "port": 3868}},
        "pcap": str(tmp_path / "run.pcapng"),
    }
    return CorenetConfig.model_validate(data)


@dataclass
class Network:
    cfg: CorenetConfig
    runtime: Runtime

    @property
    def hss(self) -> Any:
        return self.runtime.services["hss"]

    @property
    def mme(self) -> Any:
        return self.runtime.services["mme"]

    @property
    def sgw(self) -> Any:
        return self.runtime.services["sgw-pgw"]

    def tap(self) -> Any:
        tap = self.runtime.tap()
        return None if tap is None else tap.sctp

    def population(self, subs: list[Subscriber], **kw: Any) -> Population:
        kw.setdefault("sctp_mode", "fallback")
        kw.setdefault("pcscf", (self.cfg.ims.pcscf.listen.host, self.cfg.ims.pcscf.listen.port))
        tap = self.runtime.tap()
        kw.setdefault("sip_tap", tap)
        kw.setdefault("timeout", 30.0)
        return Population(subs, self.cfg.sim_ue.enbs, tap=self.tap(), **kw)


@asynccontextmanager
async def network(cfg: CorenetConfig, subs: list[Subscriber], *, pcap: bool = True,
                  seed: int = 1) -> AsyncIterator[Network]:
    runtime = Runtime(cfg, pcap_path=cfg.pcap if pcap else None, seed=seed,
                      sim_ue_in_process=True)
    await runtime.start()
    try:
        runtime.services["hss"].store.provision(subs)
        yield Network(cfg, runtime)
    finally:
        await runtime.stop()


async def wait_port(host: str, port: int, timeout: float = 30.0) -> None:
    """Until a TCP endpoint accepts (a network function started as its own process serves)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            if loop.time() > end:
                raise
            await asyncio.sleep(0.1)
