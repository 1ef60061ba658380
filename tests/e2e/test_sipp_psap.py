"""A real SIP peer as the PSAP: sipp answers the emergency call a simulated UE places through the
rescuer's P-CSCF and E-CSCF (TS 23.167 §6.2.1)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from corenet.config.models import CorenetConfig
from tests import tshark
from tests.e2e.network import config, network, subscribers
from tests.sipp import free_udp_port, run_sipp, scenario, stat_counter


def _psap_is(cfg: CorenetConfig, uri: str) -> CorenetConfig:
    ecscf = cfg.ims.ecscf.model_copy(update={"psaps": [], "default_psap": uri})
    return cfg.model_copy(update={"ims": cfg.ims.model_copy(update={"ecscf": ecscf})})


async def test_sipp_as_psap_answers_a_sim_ue_emergency_call(tmp_path: Path) -> None:
    port = free_udp_port()
    cfg = _psap_is(config(tmp_path), f"sip:psap@127.0.0.1:{port}")
    subs = subscribers(1)
    uas = scenario("uas", tmp_path)
    async with network(cfg, subs) as net:
        sipp = asyncio.ensure_future(run_sipp("-sf", uas, "-i", "127.0.0.1", "-p", str(port),
                                              cwd=tmp_path))
        await asyncio.sleep(0.5)  # sipp binds its socket
        async with net.population(subs, call_hold=0.2) as pop:
            await pop.attach()
            (row,) = await pop.call("119")
        rc, out = await sipp
    assert rc == 0, out
    assert stat_counter(tmp_path, "SuccessfulCall(C)") == 1
    assert (row["outcome"], row["sip_status"]) == ("answered", 200)
    pcap = Path(cfg.pcap or "")
    assert "urn:service:sos.fire" in tshark.values(pcap, "sip.r-uri")
    pai = tshark.values(pcap, "sip.P-Asserted-Identity", "sip.Method == \"INVITE\"")
    assert any(f"tel:+{subs[0].msisdn}" in v for v in pai)
    assert tshark.count(pcap, "_ws.malformed") == 0
