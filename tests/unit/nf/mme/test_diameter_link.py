"""The MME's S6a link over real loopback TCP against a scripted peer: whom the MME takes requests
from (RFC 6733 §5.6.1, §6.1.9, §6.7.1) and which peer it accepts in the CEA."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.config.models import Endpoint, MmeConfig
from corenet.nf.mme.service import MmeService

HSS_HOST = "hss.epc.mnc010.mcc440.3gppnetwork.org"
HSS_REALM = "epc.mnc010.mcc440.3gppnetwork.org"
DRA_HOST = "dra.epc.mnc010.mcc440.3gppnetwork.org"
MME_HOST = "mme.epc.mnc020.mcc440.3gppnetwork.org"
MME_REALM = "epc.mnc020.mcc440.3gppnetwork.org"
WAIT = 5.0


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _read(reader: asyncio.StreamReader) -> dia.Message:
    head = await asyncio.wait_for(reader.readexactly(4), WAIT)
    rest = await asyncio.wait_for(reader.readexactly(dia.message_length(head) - 4), WAIT)
    return dia.decode(head + rest)


@asynccontextmanager
async def _mme_facing(peer_host: str, route_host: str, *, agent: bool = False,
                      ) -> AsyncIterator[tuple[MmeService, asyncio.StreamReader,
                                               asyncio.StreamWriter]]:
    """An MME whose route names `route_host`, connected to a scripted peer answering CEA as
    `peer_host`."""
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    server = await asyncio.start_server(lambda r, w: accepted.put_nowait((r, w)), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cfg = MmeConfig(
        s1ap=Endpoint(host="127.0.0.1", port=_free_port()),
        s11_local=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        sgw=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        diameter_local_host="127.0.0.1",
        diameter_routes=[{"realm": HSS_REALM, "host": route_host, "agent": agent,
                          "peer": {"host": "127.0.0.1", "port": port}}])
    mme = MmeService(cfg)
    starting = asyncio.ensure_future(mme.start(diameter_wait_s=1.0))
    writer: Any = None
    try:
        reader, writer = await asyncio.wait_for(accepted.get(), WAIT)
        cer = await _read(reader)
        writer.write(dia.encode(dia.cea(cer, peer_host, HSS_REALM, ("127.0.0.1",),
                                        vendor_specific_application_ids=(
                                            (dia.VENDOR_3GPP, dia.S6A_APPLICATION_ID),))))
        await starting
        yield mme, reader, writer
    finally:
        if not starting.done():
            starting.cancel()
        await mme.stop()
        if writer is not None:
            writer.close()
        server.close()
        await server.wait_closed()


def _clr(route: tuple[str, ...] = ()) -> bytes:
    clr = s6a.clr(dia.session_id(HSS_HOST, 1, 1), HSS_HOST, HSS_REALM, MME_HOST, MME_REALM,
                  "440100000000001", hop_by_hop=41, end_to_end=42,
                  cancellation_type=s6a.CancellationType.MME_UPDATE_PROCEDURE)
    avps = list(clr.fields["avps"]) + [("Route-Record", r) for r in route]
    return dia.encode(replace(clr, fields={**clr.fields, "avps": avps}))


@pytest.mark.parametrize(("agent", "code"), [
    (True, dia.ResultCode.DIAMETER_COMMAND_UNSUPPORTED),  # taken: the MME serves no CLR
    (False, dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY),  # refused by the peer machine
], ids=["through-agent", "from-plain-peer"])
async def test_relayed_request_taken_only_through_a_configured_agent(agent: bool,
                                                                     code: int) -> None:
    async with _mme_facing(DRA_HOST, DRA_HOST, agent=agent) as (mme, reader, writer):
        assert mme.s6a_open()
        writer.write(_clr(route=(HSS_HOST,)))  # RFC 6733 §6.1.9: the agent records the HSS
        answer = await _read(reader)
        assert answer.name == "CLA" and answer.fields["hop_by_hop"] == 41
        assert dia.avp(answer, "Result-Code") == code


async def test_request_with_another_origin_host_gets_5012() -> None:
    async with _mme_facing("hss.other.example.org", "hss.other.example.org") as (_, reader,
                                                                                 writer):
        writer.write(_clr())  # Origin-Host HSS_HOST on the connection of hss.other
        answer = await _read(reader)
        assert dia.avp(answer, "Result-Code") == dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY
        assert HSS_HOST in dia.avp(answer, "Error-Message")


async def test_cea_from_another_host_than_the_route_names_is_not_used() -> None:
    async with _mme_facing("hss.impostor.example.org", HSS_HOST) as (mme, reader, _):
        assert not mme.s6a_open()
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # the MME closed
        assert "s6a.peer.open" not in [e.kind for e in mme.events]
