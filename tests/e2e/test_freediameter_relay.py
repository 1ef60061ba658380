"""Interop: freeDiameter (a third-party Diameter agent) relays S6a between corenet's MME and
HSS (RFC 6733 §6.1.9), and UEs attach through it.

freeDiameter 1.2.1 needs a TLS certificate and key configured even when its peers do not use
TLS, the dictionaries that carry the S6a AVPs, and acl_wl to take the MME's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from corenet.config.models import CorenetConfig
from tests import tshark
from tests.e2e.agents import MME_HOST, block_ip, via_agent
from tests.e2e.network import config, network, subscribers, wait_port
from tests.tls_ca import TestCa

FD_HOST = "relay.epc.mnc020.mcc440.3gppnetwork.org"
EXTENSIONS = Path("/usr/lib/freeDiameter")


def _free_port() -> int:
    """A TCP port free on every address: freeDiameter 1.2.1 listens on all of them."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


def _freediameter_conf(folder: Path, cfg: CorenetConfig, port: int) -> Path:
    ca = TestCa(folder, "fd-ca")
    cred = ca.issue(FD_HOST)
    acl = folder / "acl.conf"
    # acl_wl: the MME may connect; its CER offers no Inband-Security-Id (no TLS), which
    # freeDiameter takes only from a peer allowed "IPsec" (protection below Diameter)
    acl.write_text(f"ALLOW_IPSEC {MME_HOST}\n")
    hss = cfg.hss.listen
    conf = folder / "freediameter.conf"
    conf.write_text("\n".join([
        f'Identity = "{FD_HOST}";',
        f'Realm = "{cfg.mme.origin_realm}";',
        f"Port = {port};",
        "SecPort = 0;",
        "No_SCTP;",
        "No_IPv6;",
        f'TLS_Cred = "{cred.cert}", "{cred.key}";',
        f'TLS_CA = "{ca.cert}";',
        *(f'LoadExtension = "{EXTENSIONS / name}.fdx";'
          for name in ("dict_nasreq", "dict_dcca", "dict_dcca_3gpp")),
        f'LoadExtension = "{EXTENSIONS / "acl_wl.fdx"}" : "{acl}";',
        f'ConnectPeer = "{cfg.hss.origin_host}" {{ ConnectTo = "{hss.host}"; '
        f"Port = {hss.port}; No_TLS; }};",
        "",
    ]))
    return conf


@contextlib.asynccontextmanager
async def _freediameter(conf: Path, listen: str,
                        port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    program = shutil.which("freeDiameterd") or "/usr/bin/freeDiameterd"
    proc = await asyncio.create_subprocess_exec(
        program, "-c", str(conf), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    try:
        try:
            await wait_port(listen, port, timeout=20.0)
        except OSError:
            if proc.returncode is None:
                proc.terminate()
            out = (await proc.communicate())[0].decode(errors="replace")
            raise AssertionError(f"freeDiameterd did not listen:\n{out[-3000:]}") from None
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10.0)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_ues_attach_through_a_freediameter_relay(tmp_path: Path) -> None:
    cfg = config(tmp_path, enbs=1)
    listen = block_ip(cfg, 11)
    port = _free_port()
    # freeDiameter connects to the HSS from the loopback's default source address
    cfg = via_agent(cfg, FD_HOST, listen, port, agent_addresses=[listen, "127.0.0.1"])
    subs = subscribers(2)
    conf = _freediameter_conf(tmp_path, cfg, port)
    async with network(cfg, subs) as net, _freediameter(conf, listen, port):
        for _ in range(100):  # the MME's route opens once freeDiameter has reached the HSS
            if net.mme.s6a_open():
                break
            await asyncio.sleep(0.1)
        async with net.population(subs, concurrency=2) as pop:
            results = await pop.attach()
        assert [r.imsi for r in results if not r.attached] == []
    pcap = Path(cfg.pcap or "")
    assert tshark.count(pcap, "_ws.malformed") == 0
    # at the HSS: the MME's AIRs relayed by freeDiameter, recording the MME (RFC 6733 §6.1.9)
    rows = tshark.fields(pcap, "diameter.Origin-Host", "diameter.Route-Record",
                         display_filter=f"diameter.cmd.code == 318 && diameter.flags.request == 1"
                                        f" && tcp.dstport == {cfg.hss.listen.port}"
                                        f" && ip.dst == {cfg.hss.listen.host}")
    assert len(rows) == 2
    for row in rows:
        assert row["diameter.Origin-Host"] == [MME_HOST]
        assert row["diameter.Route-Record"] == [MME_HOST]
    # and the answers reached the MME with the HSS's success (freeDiameter's port read as
    # Diameter)
    assert tshark.count(pcap, f"diameter.cmd.code == 316 && diameter.flags.request == 0 && "
                              f"ip.dst == {cfg.mme.diameter_local_host} && "
                              f"diameter.Result-Code == 2001",
                        opts=("-d", f"tcp.port=={port},diameter")) == 2
