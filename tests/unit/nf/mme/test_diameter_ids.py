"""The MME's S6a Session-Ids and End-to-End Identifiers are never repeated by a restart
(RFC 6733 §8.8, §3), and a seeded run (`--seed`) repeats its own exactly. Each start's CER is
read off the wire from a scripted HSS; its first AIR is the one the core would send."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

from corenet.codecs import diameter as dia
from corenet.config.models import Endpoint, MmeConfig
from corenet.nf.mme.service import MmeService
from tests.unit.nf.mme.test_diameter_link import HSS_HOST, HSS_REALM, WAIT, _free_port, _read

IMSI = "440100000000001"


async def _start(seed: int | None, clock: Callable[[], float] = time.time,
                 ) -> tuple[int, str, int]:
    """One MME start: (E2E of its CER, Session-Id and E2E of its first AIR)."""
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    server = await asyncio.start_server(lambda r, w: accepted.put_nowait((r, w)), "127.0.0.1", 0)
    cfg = MmeConfig(
        s1ap=Endpoint(host="127.0.0.1", port=_free_port()),
        s11_local=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        sgw=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        diameter_local_host="127.0.0.1",
        diameter_routes=[{"realm": HSS_REALM, "host": HSS_HOST, "peer": {
            "host": "127.0.0.1", "port": server.sockets[0].getsockname()[1]}}])
    mme = MmeService(cfg, seed=seed, clock=clock)
    starting = asyncio.ensure_future(mme.start(diameter_wait_s=0.2))
    try:
        reader, writer = await asyncio.wait_for(accepted.get(), WAIT)
        cer = await _read(reader)
        await starting
        air = mme.core.s6a.air(IMSI, HSS_REALM)
        writer.close()
        return int(cer.fields["end_to_end"]), dia.avp(air, "Session-Id"), int(
            air.fields["end_to_end"])
    finally:
        await mme.stop()
        server.close()
        await server.wait_closed()


async def test_two_starts_never_share_session_ids_or_end_to_end_ids() -> None:
    first, second = await _start(None), await _start(None)
    assert first[1] != second[1]
    assert {first[0], first[2]}.isdisjoint({second[0], second[2]})
    # RFC 6733 §8.8: <DiameterIdentity>;<high 32 bits>;<low 32 bits>
    host, high, low = first[1].split(";")
    assert host == MmeConfig().origin_host and int(high) > 1 and low.isdigit()


async def test_same_seed_gives_the_same_ids() -> None:
    one, again, other = await _start(7), await _start(7), await _start(8)
    assert one == again
    assert one != other


async def test_the_mme_clock_starts_the_identifiers() -> None:
    """One clock: the one handed to the MME also reaches its Diameter peer machine and ids."""
    started = float(0x6955B000 | 0x123)  # 2026 in seconds, low 12 bits 0x123
    cer_e2e, sid, air_e2e = await _start(None, clock=lambda: started)
    assert cer_e2e >> 20 == air_e2e >> 20 == 0x123  # RFC 6733 §3
    assert sid.split(";")[1] == str(int(started))  # RFC 6733 §8.8
