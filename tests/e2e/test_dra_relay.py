"""Attach through a corenet Diameter relay agent (RFC 6733 §6.1-6.2): MME -> DEA -> HSS over
real loopback sockets, read back with tshark."""

from __future__ import annotations

from pathlib import Path

from tests import tshark
from tests.e2e.agents import DEA_HOST, MME_HOST, one_agent
from tests.e2e.network import config, network, subscribers


async def test_ues_attach_through_the_edge_agent_with_route_records(tmp_path: Path) -> None:
    cfg = one_agent(config(tmp_path, enbs=1))
    subs = subscribers(3)
    async with network(cfg, subs) as net:
        async with net.population(subs, concurrency=3) as pop:
            results = await pop.attach()
        assert [r.imsi for r in results if not r.attached] == []
        dea = net.runtime.services["dra"].members["rescuer-dea"]
        assert dea.relayed >= 6 and dea.agent.pending == 0  # AIR + ULR per UE
    pcap = Path(cfg.pcap or "")
    assert tshark.count(pcap, "_ws.malformed") == 0
    # the HSS sees each AIR relayed: Origin-Host the MME, one Route-Record naming the MME
    # (RFC 6733 §6.1.9), from the agent's address; the answers go back to the MME unchanged
    hss_ip = cfg.hss.listen.host
    rows = tshark.fields(pcap, "diameter.Origin-Host", "diameter.Route-Record", "ip.src",
                         display_filter=f"diameter.cmd.code == 318 && diameter.flags.request == 1"
                                        f" && ip.dst == {hss_ip}")
    assert len(rows) == 3
    for row in rows:
        assert row["diameter.Origin-Host"] == [MME_HOST]
        assert row["diameter.Route-Record"] == [MME_HOST]
        assert row["ip.src"] != [cfg.mme.diameter_local_host]
    # the MME's side of the path: requests without Route-Record, to the agent
    assert tshark.count(pcap, f"diameter.cmd.code == 318 && diameter.flags.request == 1 && "
                              f"ip.src == {cfg.mme.diameter_local_host} && "
                              f"!diameter.Route-Record") == 3
    assert tshark.count(pcap, f"diameter.Origin-Host == \"{DEA_HOST}\" && diameter.cmd.code == 257"
                              f" && diameter.Auth-Application-Id == 0xffffffff") >= 1
