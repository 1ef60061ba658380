"""Who may ask the HSS for vectors, over real loopback TCP (RFC 6733 §5.3, §5.6.1, §6.7.1).

A configured peer is an Origin-Host *and* the addresses it connects from; every request on a
connection must come from that connection's peer (or be relayed by a configured agent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.config.models import Endpoint, HssConfig
from corenet.core.actions import LogEvent
from corenet.nf.hss.service import HssService
from corenet.protocols import diameter_peer as dp
from tests.unit.nf.hss.helpers import (
    IMSI,
    MME2_HOST,
    MME_HOST,
    DiameterClient,
    air,
    local_peer,
    peer_config,
    subscriber,
)

MME_ADDRESS = "127.0.0.2"  # where the configured MME connects from
ROGUE_ADDRESS = "127.0.0.1"


@pytest.fixture
async def hss() -> AsyncIterator[HssService]:
    cfg = HssConfig(listen=Endpoint.model_construct(host="127.0.0.1", port=0),
                    database=":memory:", subscribers_file=None,
                    peers=[local_peer(MME_HOST, MME_ADDRESS), local_peer(MME2_HOST)])
    events: list[LogEvent] = []
    svc = HssService(cfg, subscribers=[subscriber()], on_event=events.append)
    svc.events = events  # type: ignore[attr-defined]
    await svc.start()
    yield svc
    await svc.stop()


def _sqn(hss: HssService) -> int:
    return hss.store.get(IMSI).sqn  # type: ignore[union-attr]


async def test_configured_origin_host_from_another_address_gets_3010(hss: HssService) -> None:
    sqn = _sqn(hss)
    rogue = await DiameterClient.connect(*hss.local, peer_config(MME_HOST),
                                         local_host=ROGUE_ADDRESS)
    rejected = await rogue.next(dp.CapabilitiesRejected)
    assert rejected.result_code == dia.ResultCode.DIAMETER_UNKNOWN_PEER
    assert MME_HOST in rejected.detail and ROGUE_ADDRESS in rejected.detail
    await rogue.next(dp.ConnectionClosed)
    assert rogue.peer.state is dp.PeerState.CLOSED and rogue.conn.closed
    with pytest.raises(dp.PeerNotOpen):
        rogue.peer.request(air(), 0.0)  # no AIR can follow: nothing is served
    assert _sqn(hss) == sqn
    refused = [e for e in hss.events if e.kind == "diameter.peer.rejected"]  # type: ignore[attr-defined]
    assert refused and refused[0].data["result_code"] == 3010

    # the same Origin-Host from its configured address is served
    mme = await DiameterClient.connect(*hss.local, peer_config(MME_HOST), local_host=MME_ADDRESS)
    await mme.opened()
    aia = await mme.ask(air(host=MME_HOST))
    assert s6a.result_of(aia) == (2001, False) and len(s6a.vectors_of(aia)) == 1
    await mme.close()


async def test_air_with_forged_origin_host_gets_5012_and_no_vectors(hss: HssService) -> None:
    sqn = _sqn(hss)
    mme2 = await DiameterClient.connect(*hss.local, peer_config(MME2_HOST))
    await mme2.opened()
    forged = air(host=MME_HOST)  # MME2's connection, MME's name
    aia = await mme2.ask(forged)
    assert aia.name == "AIA" and not aia.fields["flags"]["request"]
    assert dia.avp(aia, "Result-Code") == dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY
    assert dia.avp(aia, "Session-Id") == dia.avp(forged, "Session-Id")
    assert MME_HOST in dia.avp(aia, "Error-Message")
    assert dia.avp(aia, "Authentication-Info") is None and s6a.vectors_of(aia) == []
    assert _sqn(hss) == sqn and hss.air_count == 0

    # the connection stays up, and MME2's own requests are served
    own = await mme2.ask(air(host=MME2_HOST))
    assert s6a.result_of(own) == (2001, False) and len(s6a.vectors_of(own)) == 1
    await mme2.close()


async def test_unconfigured_origin_host_still_refused(hss: HssService) -> None:
    client = await DiameterClient.connect(*hss.local, peer_config("rogue.example.org"))
    rejected = await client.next(dp.CapabilitiesRejected)
    assert rejected.result_code == dia.ResultCode.DIAMETER_UNKNOWN_PEER
