"""The agent over real loopback sockets: capabilities exchange advertising the Relay
application (RFC 6733 §2.4), agent-generated error answers (3003, 3005, 3002) on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.config.models import DraConfig
from corenet.core.plmn import Plmn
from corenet.nf.dra.service import DraService
from corenet.protocols.diameter_peer import RELAY_APPLICATION_ID

MME = "mme.epc.mnc020.mcc440.3gppnetwork.org"
DEA = "dea.epc.mnc020.mcc440.3gppnetwork.org"
HSS = "hss.epc.mnc010.mcc440.3gppnetwork.org"
REALM_H = "epc.mnc010.mcc440.3gppnetwork.org"
WAIT = 5.0


async def _read(reader: asyncio.StreamReader) -> Message:
    head = await asyncio.wait_for(reader.readexactly(4), WAIT)
    rest = await asyncio.wait_for(reader.readexactly(dia.message_length(head) - 4), WAIT)
    return dia.decode(head + rest)


@asynccontextmanager
async def _agent_and_mme() -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """An agent on a free port with a route to an HSS that is not connected, and an MME-side
    connection that has exchanged capabilities with it."""
    cfg = DraConfig.model_validate({
        "name": "dea", "origin_host": DEA, "origin_realm": "epc.mnc020.mcc440.3gppnetwork.org",
        "listen": {"host": "127.0.0.1", "port": 0},
        "peers": [{"origin_host": MME, "addresses": ["127.0.0.1"]},
                  {"origin_host": HSS, "addresses": ["127.0.0.1"]}],
        "routes": [{"realm": REALM_H, "peer": HSS}]})
    agent = DraService(cfg)
    await agent.start()
    reader, writer = await asyncio.open_connection(*agent.local)
    try:
        writer.write(dia.encode(dia.cer(MME, "epc.mnc020.mcc440.3gppnetwork.org", ("127.0.0.1",),
                                        hop_by_hop=1, end_to_end=1)))
        cea = await _read(reader)
        assert dia.avp(cea, "Result-Code") == dia.ResultCode.DIAMETER_SUCCESS
        assert dia.avp(cea, "Origin-Host") == DEA
        assert RELAY_APPLICATION_ID in dia.avp_all(cea, "Auth-Application-Id")
        yield reader, writer
    finally:
        writer.close()
        await agent.stop()


def _air(realm: str, hbh: int, route: tuple[str, ...] = ()) -> bytes:
    msg = s6a.air(dia.session_id(MME, 1, hbh), MME, "epc.mnc020.mcc440.3gppnetwork.org", realm,
                  "440100000000001", Plmn.parse("44020"), hop_by_hop=hbh, end_to_end=hbh)
    avps = [*msg.fields["avps"], *(("Route-Record", r) for r in route)]
    return dia.encode(Message(msg.protocol, msg.name, msg.code, {**msg.fields, "avps": avps}))


async def test_agent_answers_3003_3005_3002_itself_on_the_wire() -> None:
    async with _agent_and_mme() as (reader, writer):
        cases = ((_air("epc.mnc099.mcc440.3gppnetwork.org", 11), 3003),
                 (_air(REALM_H, 12, route=(MME, DEA)), 3005),
                 (_air(REALM_H, 13), 3002))  # the HSS has no open connection
        for request, code in cases:
            writer.write(request)
            answer = await _read(reader)
            assert answer.name == "AIA"
            assert dia.avp(answer, "Result-Code") == code
            assert answer.fields["flags"]["error"] is True
            assert dia.avp(answer, "Origin-Host") == DEA
            assert answer.fields["hop_by_hop"] == dia.decode(request).fields["hop_by_hop"]


@asynccontextmanager
async def _agent_between_mme_and_hss() -> AsyncIterator[tuple[
        asyncio.StreamReader, asyncio.StreamWriter, asyncio.StreamReader,
        asyncio.StreamWriter]]:
    """The agent connects to an HSS listening on a free port (initiator, RFC 6733 §5.6) and
    accepts the MME: both capabilities exchanges done, the HSS's as responder."""
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    server = await asyncio.start_server(lambda r, w: accepted.put_nowait((r, w)), "127.0.0.1", 0)
    hss_port = server.sockets[0].getsockname()[1]
    cfg = DraConfig.model_validate({
        "name": "dea", "origin_host": DEA, "origin_realm": "epc.mnc020.mcc440.3gppnetwork.org",
        "listen": {"host": "127.0.0.1", "port": 0},
        "peers": [{"origin_host": MME, "addresses": ["127.0.0.1"]},
                  {"origin_host": HSS, "addresses": ["127.0.0.1"],
                   "connect": {"host": "127.0.0.1", "port": hss_port}}],
        "routes": [{"realm": REALM_H, "peer": HSS}]})
    agent = DraService(cfg)
    start = asyncio.ensure_future(agent.start())
    hss_r, hss_w = await asyncio.wait_for(accepted.get(), WAIT)
    cer = await _read(hss_r)
    assert cer.name == "CER" and dia.avp(cer, "Origin-Host") == DEA
    hss_w.write(dia.encode(dia.cea(cer, HSS, REALM_H, ("127.0.0.1",),
                                   auth_application_ids=(dia.S6A_APPLICATION_ID,))))
    await asyncio.wait_for(start, WAIT)
    mme_r, mme_w = await asyncio.open_connection(*agent.local)
    try:
        mme_w.write(dia.encode(dia.cer(MME, "epc.mnc020.mcc440.3gppnetwork.org", ("127.0.0.1",),
                                       hop_by_hop=1, end_to_end=1)))
        assert dia.avp(await _read(mme_r), "Result-Code") == dia.ResultCode.DIAMETER_SUCCESS
        yield mme_r, mme_w, hss_r, hss_w
    finally:
        mme_w.close()
        hss_w.close()
        await agent.stop()
        server.close()


async def test_agent_relays_over_the_link_it_initiated_and_maps_hop_by_hop_back() -> None:
    async with _agent_between_mme_and_hss() as (mme_r, mme_w, hss_r, hss_w):
        mme_w.write(_air(REALM_H, 21))
        relayed = await _read(hss_r)
        # RFC 6733 §6.1.9: Route-Record names the peer it came from; End-to-End kept
        assert relayed.name == "AIR" and relayed.fields["flags"]["request"] is True
        assert dia.avp_all(relayed, "Route-Record") == [MME]
        assert dia.avp(relayed, "Origin-Host") == MME
        assert relayed.fields["end_to_end"] == 21
        hss_w.write(dia.encode(s6a.aia(relayed, HSS, REALM_H,
                                       result_code=dia.ResultCode.DIAMETER_SUCCESS)))
        answer = await _read(mme_r)
        # RFC 6733 §6.2.2: back with the Hop-by-Hop id the MME gave the request
        assert answer.name == "AIA" and answer.fields["hop_by_hop"] == 21
        assert dia.avp(answer, "Result-Code") == dia.ResultCode.DIAMETER_SUCCESS
        assert dia.avp(answer, "Origin-Host") == HSS


async def test_next_hop_lost_with_a_request_pending_gives_3002() -> None:
    async with _agent_between_mme_and_hss() as (mme_r, mme_w, hss_r, hss_w):
        mme_w.write(_air(REALM_H, 31))
        assert (await _read(hss_r)).name == "AIR"
        hss_w.close()  # the HSS goes away without answering (RFC 3539 §3.4.1 failover)
        answer = await _read(mme_r)
        assert answer.name == "AIA" and answer.fields["hop_by_hop"] == 31
        assert dia.avp(answer, "Result-Code") == dia.ResultCode.DIAMETER_UNABLE_TO_DELIVER
        assert answer.fields["flags"]["error"] is True
        assert dia.avp(answer, "Origin-Host") == DEA
