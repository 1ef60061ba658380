"""The system under test: where its interfaces are, and corenet's own network functions started
as one when no external implementation is named.

`--sut mme=HOST:PORT,hss=HOST:PORT,sgw=HOST:PORT` points the tester at another implementation;
`Identities` are the values the tester uses around it (PLMNs, realms, test subscribers' keys),
which that implementation must be provisioned with.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from corenet.config.models import CorenetConfig
from corenet.core.plmn import Plmn

INTERFACES = ("mme", "hss", "sgw", "diameter", "pcscf", "psap", "pcrf", "mme-s11")
NAS_TIMER_S = 0.4


@dataclass(frozen=True)
class Identities:
    """What the tester plays with (TS 35.208 test set 1 keys, as the embedded subscribers)."""

    visited_plmn: Plmn = Plmn("440", "20")
    home_plmn: Plmn = Plmn("440", "10")
    tac: int = 1
    first_imsi: str = "440100000000001"
    first_msisdn: str = "819010000001"  # of first_imsi, one more per IMSI
    subscribers: int = 1000
    k: str = "465b5ce8b199b49faa5f0a2ee238a6bc"
    opc: str = "cd63cb71954a9f4e48a5994e37a02baf"
    mme_host: str = "mme.epc.mnc020.mcc440.3gppnetwork.org"
    mme_realm: str = "epc.mnc020.mcc440.3gppnetwork.org"
    home_realm: str = "epc.mnc010.mcc440.3gppnetwork.org"
    tester_mme_host: str = "mme-tester.epc.mnc020.mcc440.3gppnetwork.org"
    # a second MME of the visited PLMN, to make the HSS cancel the first (TS 29.272 §5.2.1.2)
    tester_mme2_host: str = "mme-tester2.epc.mnc020.mcc440.3gppnetwork.org"
    # a subscriber allowed to roam in 440-99 only (TS 29.272 §5.2.1.1.3: 5004 elsewhere)
    restricted_imsi: str = "440108000000001"
    tester_peer_host: str = "peer.conformance.mnc020.mcc440.3gppnetwork.org"
    tester_peer_realm: str = "conformance.mnc020.mcc440.3gppnetwork.org"
    # the tester as an AF (a P-CSCF) on Rx, beside itself as the P-GW on Gx (TS 29.214)
    tester_af_host: str = "af.conformance.mnc020.mcc440.3gppnetwork.org"
    ambr_cap_bps: int = 300_000
    network_name: str = "JPN-ROAM X"
    emergency_numbers: tuple[str, ...] = ("110", "118", "119")


@dataclass(frozen=True)
class Endpoints:
    """Where the SUT listens, by interface; `local_host` the tester binds from."""

    addresses: dict[str, tuple[str, int]] = field(default_factory=dict)
    local_host: str = "127.0.0.1"
    sctp_mode: str = "auto"
    ids: Identities = Identities()
    # the SUT's NAS timer value when known (the embedded SUT), else TS 24.301 §10.2's 6 s
    t3460_s: float = 6.0

    def get(self, interface: str) -> tuple[str, int] | None:
        return self.addresses.get(interface)


def parse_sut(text: str) -> dict[str, tuple[str, int]]:
    """"mme=HOST:PORT,hss=HOST:PORT" -> {"mme": (HOST, PORT), ...}; ValueError names the part."""
    out: dict[str, tuple[str, int]] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, where = part.partition("=")
        host, colon, port = where.rpartition(":")
        if not sep or not colon or not port.isdigit() or name not in INTERFACES:
            raise ValueError(f"{part!r}: expected NAME=HOST:PORT with NAME one of "
                             f"{', '.join(INTERFACES)}")
        out[name] = (host.strip("[]"), int(port))
    return out


def free_port(host: str, kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_sip_port(host: str) -> int:
    """A port free for both UDP and TCP (a SIP element listens on both, RFC 3261 §18)."""
    while True:
        port = free_port(host)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        return port


def _block() -> int:
    """A 127.N.0.0/16 block for the embedded SUT, N in 150..249 (clear of the UE pools)."""
    return 150 + os.getpid() % 100


def embedded_config(base: CorenetConfig, mode: str, folder: Path, ids: Identities,
                    block: int | None = None) -> CorenetConfig:
    """`base` (the embedded defaults or --sut-config) on free ports of one loopback block,
    with the rescuer's policy for the home PLMN in `mode` and the test subscribers in the HSS."""
    n = _block() if block is None else block
    ip = lambda last: f"127.{n}.0.{last}"  # noqa: E731
    subs = folder / "subscribers.yaml"
    subs.write_text(yaml.safe_dump({"subscribers": [
        {"imsi": ids.first_imsi, "count": ids.subscribers, "msisdn": ids.first_msisdn,
         "k": ids.k, "opc": ids.opc, "amf": "8000"},
        {"imsi": ids.restricted_imsi, "k": ids.k, "opc": ids.opc, "amf": "8000",
         "allowed_visited_plmns": ["44099"]}]}))
    data = base.model_dump(mode="json")
    hss, mme, sgw = data["hss"], data["mme"], data["sgw_pgw"]
    hss.update(listen={"host": ip(3), "port": free_port(ip(3))}, transport="tcp", tls=None,
               database=str(folder / f"hss-{mode}.db"), subscribers_file=str(subs),
               control={"host": ip(3), "port": 0})
    hss["peers"] = [*hss.get("peers", []),
                    {"origin_host": mme["origin_host"], "addresses": [ip(2)]},
                    {"origin_host": ids.tester_mme_host, "addresses": [ip(1)]},
                    {"origin_host": ids.tester_mme2_host, "addresses": [ip(1)]},
                    {"origin_host": ids.tester_peer_host, "addresses": [ip(1)]}]
    sgw.update(s11={"host": ip(4), "port": free_port(ip(4), socket.SOCK_DGRAM)},
               s1u_address=ip(4), s5_address=ip(5), database=str(folder / f"sgw-{mode}.db"),
               mme_peers=[ip(2), ip(1)], pcscf=[ip(6)])
    mme.update(s1ap={"host": ip(2), "port": free_port(ip(2))}, sctp="fallback",
               s11_local={"host": ip(2), "port": free_port(ip(2), socket.SOCK_DGRAM)},
               sgw=dict(sgw["s11"]), diameter_local_host=ip(2),
               control={"host": ip(2), "port": 0}, pgw_s5s8_address=ip(5),
               sbcap={"host": ip(2), "port": 0})
    mme["diameter_routes"] = [{**r, "peer": dict(hss["listen"]), "transport": "tcp", "tls": None}
                              if r["realm"] == hss["origin_realm"] else r
                              for r in mme["diameter_routes"]]
    # NAS timers short enough for the retransmission cases to run in seconds (the count of
    # retransmissions stays the configuration's)
    mme["timers"].update({k: min(float(mme["timers"][k]), NAS_TIMER_S)
                          for k in ("t3450_s", "t3460_s", "t3470_s")})
    roaming = mme["roaming"]
    home = hss["plmn"]
    roaming["policies"] = [p for p in roaming["policies"] if p["home_plmn"] != home] + [
        {"home_plmn": home, "mode": mode}]
    # the IMS: P-CSCF given to UEs (PCO), E-CSCF routing every emergency call to the tester's PSAP
    ims = data["ims"]
    psap_uri = f"sip:psap@{ip(1)}:{free_port(ip(1), socket.SOCK_DGRAM)}"
    ims["pcscf"].update(listen={"host": ip(6), "port": free_sip_port(ip(6))},
                        ecscf={"host": ip(7), "port": 0})
    ims["ecscf"].update(listen={"host": ip(7), "port": 0}, default_psap=psap_uri,
                        pcscfs=[ip(6)])
    ims["ecscf"]["psaps"] = [{**p, "uri": psap_uri} for p in ims["ecscf"]["psaps"]]
    ims["home"]["listen"] = {"host": ip(9), "port": 0}
    ims["home"]["pcscfs"] = [ip(6)]
    cx = ims["home"].get("cx")
    if cx is not None:  # the home S-CSCF's Cx link to this HSS (TS 29.229)
        cx.update(hss=dict(hss["listen"]), local_host=ip(9))
        hss["peers"] = [p for p in hss["peers"] if p["origin_host"] != cx["origin_host"]] + [
            {"origin_host": cx["origin_host"], "addresses": [ip(9)]}]
    ims["pcscf"]["home_ims"] = [{**r, "address": {"host": ip(9), "port": 0}}
                                for r in ims["pcscf"]["home_ims"]]
    _pcrf(data, ip, ids)
    data["pcap"] = None
    return CorenetConfig.model_validate(data)


def _pcrf(data: dict[str, Any], ip: Callable[[int], str], ids: Identities) -> None:
    """The PCRF (TS 29.212 Gx, TS 29.214 Rx) on its own address, with the P-GW, the P-CSCF
    and the tester as its peers; a configuration without a PCRF keeps none (the P-GW's
    static policy, no Rx): the cases needing one are then inconclusive."""
    pcrf, sgw, pcscf = data.get("pcrf"), data["sgw_pgw"], data["ims"]["pcscf"]
    if pcrf is None:
        sgw["pcrf"] = pcscf["pcrf"] = None
        return
    pcrf["listen"] = {"host": ip(8), "port": free_port(ip(8))}
    gx = {**(sgw.get("pcrf") or {}), "peer": dict(pcrf["listen"]), "local_host": ip(4)}
    gx.setdefault("origin_host", "pgw." + pcrf["origin_realm"])
    rx = {**(pcscf.get("pcrf") or {}), "peer": dict(pcrf["listen"]), "local_host": ip(6)}
    rx.setdefault("origin_host", "pcscf." + pcscf["domain"])
    sgw["pcrf"], pcscf["pcrf"] = gx, rx
    pcrf["peers"] = [{"origin_host": gx["origin_host"], "addresses": [ip(4)]},
                     {"origin_host": rx["origin_host"], "addresses": [ip(6)]},
                     {"origin_host": ids.tester_peer_host, "addresses": [ip(1)]},
                     {"origin_host": ids.tester_af_host, "addresses": [ip(1)]}]


@asynccontextmanager
async def embedded_sut(base: CorenetConfig, mode: str, ids: Identities = Identities(),
                       block: int | None = None) -> AsyncIterator[Endpoints]:
    """corenet's PCRF, HSS, S/P-GW, IMS and MME in this process, for the cases of one
    roaming mode."""
    from corenet.runtime.supervisor import Runtime

    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="conformance-")))
        cfg = embedded_config(base, mode, folder, ids, block)
        pcrf = ("pcrf",) if cfg.pcrf is not None else ()
        runtime = Runtime(cfg, names=(*pcrf, "hss", "sgw-pgw", "ims", "mme"))
        await runtime.start()
        stack.push_async_callback(runtime.stop)
        n = cfg.mme.s1ap.host.split(".")[1]
        yield Endpoints(
            addresses={"mme": (cfg.mme.s1ap.host, cfg.mme.s1ap.port),
                       "hss": (cfg.hss.listen.host, cfg.hss.listen.port),
                       "diameter": (cfg.hss.listen.host, cfg.hss.listen.port),
                       "sgw": (cfg.sgw_pgw.s11.host, cfg.sgw_pgw.s11.port),
                       "mme-s11": (cfg.mme.s11_local.host, cfg.mme.s11_local.port),
                       "pcscf": (cfg.ims.pcscf.listen.host, cfg.ims.pcscf.listen.port),
                       "psap": _psap(cfg.ims.ecscf.default_psap),
                       **({} if cfg.pcrf is None else {
                           "pcrf": (cfg.pcrf.listen.host, cfg.pcrf.listen.port)})},
            local_host=f"127.{n}.0.1", sctp_mode="fallback", ids=_ids_of(cfg, ids),
            t3460_s=cfg.mme.timers.t3460_s)


def _psap(uri: str) -> tuple[str, int]:
    """Where the E-CSCF sends emergency calls: the tester's PSAP ("sip:psap@HOST:PORT")."""
    host, _, port = uri.split("@", 1)[1].partition(":")
    return host, int(port or 5060)


def _ids_of(cfg: CorenetConfig, ids: Identities) -> Identities:
    """The SUT's own names; what the clauses require (the cap, the name) stays `ids`'."""
    return replace(ids, visited_plmn=Plmn.parse(cfg.mme.plmn), mme_host=cfg.mme.origin_host,
                   mme_realm=cfg.mme.origin_realm, home_realm=cfg.hss.origin_realm)


def external(addresses: dict[str, tuple[str, int]], local_host: str = "127.0.0.1",
             ids: Identities = Identities(), **kw: Any) -> Endpoints:
    return Endpoints(addresses=addresses, local_host=local_host, sctp_mode="auto", ids=ids, **kw)
