"""A header that breaks the stream gets the RFC 6733 §7.1.5 answer before the connection closes.

Version other than 1 -> DIAMETER_UNSUPPORTED_VERSION (5011); a Message Length the node will not
take -> DIAMETER_INVALID_MESSAGE_LENGTH (5015). The answer echoes the header fields that could be
read (command, application, Hop-by-Hop, End-to-End); then the connection is closed, since the
next message's start cannot be found (RFC 6733 §3). Both sides: the HSS (responder) and the MME
(initiator) share the peer machine.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.config.models import Endpoint, HssConfig, MmeConfig
from corenet.nf.hss.service import HssService
from corenet.nf.mme.service import MmeService
from tests.unit.nf.hss.helpers import (
    HSS_HOST,
    HSS_REALM,
    MME_HOST,
    DiameterClient,
    air,
    local_peer,
    peer_config,
    subscriber,
)

WAIT = 5.0
HBH, E2E = 0x01020304, 0x0A0B0C0D


def _header(version: int, length: int, *, request: bool = True) -> bytes:
    """A ULR header (code 316, S6a) with a chosen version and Message Length."""
    flags = 0xC0 if request else 0x40
    return (bytes([version]) + length.to_bytes(3, "big") + bytes([flags])
            + (316).to_bytes(3, "big") + dia.S6A_APPLICATION_ID.to_bytes(4, "big")
            + HBH.to_bytes(4, "big") + E2E.to_bytes(4, "big"))


async def _read_message(reader: asyncio.StreamReader) -> dia.Message:
    head = await asyncio.wait_for(reader.readexactly(4), WAIT)
    rest = await asyncio.wait_for(reader.readexactly(dia.message_length(head) - 4), WAIT)
    return dia.decode(head + rest)


@pytest.fixture
async def hss() -> AsyncIterator[HssService]:
    cfg = HssConfig(listen=Endpoint.model_construct(host="127.0.0.1", port=0),
                    database=":memory:", subscribers_file=None, peers=[local_peer()])
    svc = HssService(cfg, subscribers=[subscriber()])
    await svc.start()
    yield svc
    await svc.stop()


@pytest.mark.parametrize(("header", "code"), [
    (_header(2, 64), dia.ResultCode.DIAMETER_UNSUPPORTED_VERSION),
    (_header(1, 1 << 21), dia.ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH),  # 2 MiB > 1 MiB
    (_header(1, 22), dia.ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH),  # not a multiple of 4
], ids=["version-2", "length-over-limit", "length-not-4-aligned"])
async def test_hss_answers_bad_header_then_closes(hss: HssService, header: bytes,
                                                  code: int) -> None:
    reader, writer = await asyncio.open_connection(*hss.local)
    writer.write(header + bytes(44))
    await writer.drain()
    answer = await _read_message(reader)
    assert answer.name == "ULA" and not answer.fields["flags"]["request"]
    assert dia.avp(answer, "Result-Code") == code
    # 5xxx is not a protocol error: no E bit (RFC 6733 §3.2 e-bit, §7.1.3, §7.2)
    assert not answer.fields["flags"]["error"]
    assert (answer.fields["hop_by_hop"], answer.fields["end_to_end"]) == (HBH, E2E)
    assert answer.fields["application_id"] == dia.S6A_APPLICATION_ID
    assert (dia.avp(answer, "Origin-Host"), dia.avp(answer, "Origin-Realm")) == (HSS_HOST,
                                                                                  HSS_REALM)
    assert await asyncio.wait_for(reader.read(), WAIT) == b""  # then closed
    writer.close()
    # the HSS goes on serving others
    client = await DiameterClient.connect(*hss.local, peer_config())
    await client.opened()
    assert s6a.result_of(await client.ask(air())) == (2001, False)
    await client.close()


async def test_bad_answer_header_is_not_answered(hss: HssService) -> None:
    reader, writer = await asyncio.open_connection(*hss.local)
    writer.write(_header(2, 64, request=False) + bytes(44))  # RFC 6733 §7.2: no answer to answers
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_mme_answers_bad_header_from_its_hss_then_reconnects() -> None:
    """A fake HSS on a raw socket: CEA, then a request with version 2."""
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    server = await asyncio.start_server(lambda r, w: accepted.put_nowait((r, w)), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cfg = MmeConfig(
        s1ap=Endpoint(host="127.0.0.1", port=_free_port()),
        s11_local=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        sgw=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        diameter_local_host="127.0.0.1",
        diameter_routes=[{"realm": HSS_REALM, "host": HSS_HOST,
                          "peer": {"host": "127.0.0.1", "port": port}}])
    mme = MmeService(cfg)
    starting = asyncio.ensure_future(mme.start(diameter_wait_s=3.0))
    try:
        reader, writer = await asyncio.wait_for(accepted.get(), WAIT)
        cer = await _read_message(reader)
        assert cer.name == "CER" and dia.avp(cer, "Origin-Host") == MME_HOST
        writer.write(dia.encode(dia.cea(cer, HSS_HOST, HSS_REALM, ("127.0.0.1",),
                                        vendor_specific_application_ids=(
                                            (dia.VENDOR_3GPP, dia.S6A_APPLICATION_ID),))))
        await starting
        assert mme.s6a_open()
        writer.write(_header(2, 64) + bytes(44))
        await writer.drain()
        answer = await _read_message(reader)
        assert dia.avp(answer, "Result-Code") == dia.ResultCode.DIAMETER_UNSUPPORTED_VERSION
        assert (answer.fields["hop_by_hop"], answer.fields["end_to_end"]) == (HBH, E2E)
        assert dia.avp(answer, "Origin-Host") == MME_HOST
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed after the answer
        writer.close()
        # RFC 6733 §2.1: the MME connects again (Tc) and sends a new CER
        reader2, writer2 = await asyncio.wait_for(accepted.get(), WAIT)
        assert (await _read_message(reader2)).name == "CER"
        writer2.close()
    finally:
        if not starting.done():
            starting.cancel()
        await mme.stop()
        server.close()
        await server.wait_closed()
