"""The S/P-GW service across restarts and against strangers, over real loopback UDP
(TS 23.007 §18 restart counter and restoration, TS 29.274 §7.1 path management)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from corenet.codecs import gtpv2c as g
from corenet.config.models import Endpoint
from corenet.nf.sgw_pgw import SgwPgwService
from corenet.transport import UdpEndpoint, open_udp_endpoint
from tests.unit.nf.sgw_pgw.helpers import cause_of, create_session
from tests.unit.nf.sgw_pgw.test_service import HOST, Mme, config

STRANGER_HOST = "127.0.0.99"


async def _killed(service: SgwPgwService) -> None:
    """What kill -9 leaves: the socket gone, nothing flushed or closed by the service."""
    assert service._endpoint is not None
    service._endpoint.close()
    await service._endpoint.wait_closed()


async def test_create_session_from_an_unconfigured_host_gets_nothing(mme: Mme) -> None:
    service = SgwPgwService(config())
    await service.start()
    got: list[bytes] = []
    stranger: UdpEndpoint = await open_udp_endpoint(STRANGER_HOST, 0,
                                                    lambda d, a: got.append(d))
    try:
        for seq in range(1, 21):
            stranger.sendto(g.encode(create_session(seq=seq, imsi=f"4401000000000{seq:02d}")),
                            service.local)
            stranger.sendto(b"\x60\x01\x00\x04\x00\x00\x01\x00", service.local)  # GTPv3 echo
        # the configured MME's Echo is answered: the stranger's datagrams came before it
        echo = await mme.ask(g.echo_request(1, 1), service.local)
        assert echo.name == "EchoResponse"
        assert service.sessions == {} and got == []
        assert service.core.refused_datagrams == 40
    finally:
        stranger.close()
        await service.stop()


async def test_echo_request_is_answered_to_its_source(mme: Mme) -> None:
    service = SgwPgwService(config(restart_counter=9))
    await service.start()
    try:
        echo = await mme.ask(g.echo_request(77, 1), service.local)
        assert (echo.name, echo.fields["sequence"], echo.fields["recovery"]) == (
            "EchoResponse", 77, 9)
    finally:
        await service.stop()


async def test_killed_sgw_restarts_with_its_sessions_and_counter(mme: Mme,
                                                                 tmp_path: Path) -> None:
    db = str(tmp_path / "sgw-pgw.db")
    first = SgwPgwService(config(database=db))
    await first.start()
    port = first.local[1]
    held = []
    for i in range(3):
        resp = await mme.ask(create_session(seq=i + 1, imsi=f"44010000000000{i}",
                                            mme_teid=0x100 + i), first.local)
        assert cause_of(resp) == 16
        held.append(resp.fields["paa"]["ipv4"])
    counter = first.core.restart_counter
    await _killed(first)

    echoes = mme.echoes
    second = SgwPgwService(config(database=db, s11=Endpoint(host=HOST, port=port)))
    await second.start()
    try:
        # state kept: same counter (TS 23.007 §18), sessions served, no address handed twice
        assert second.core.restart_counter == counter and second.core.restored == 3
        echo = await mme.ask(g.echo_request(10, 1), second.local)
        assert echo.fields["recovery"] == counter
        # the restored sessions' MME was asked at once whether it is still there (§7.1.1)
        assert mme.echoes == echoes + 1
        new = await mme.ask(create_session(seq=11, imsi="440100000000009", mme_teid=0x1FF),
                            second.local)
        assert cause_of(new) == 16 and new.fields["paa"]["ipv4"] not in held
        assert {str(s.ue_ipv4) for s in second.sessions.values()} == {*held,
                                                                      new.fields["paa"]["ipv4"]}
    finally:
        await second.stop()
        first.store.close()  # type: ignore[union-attr]


async def test_lost_database_increments_the_restart_counter(tmp_path: Path) -> None:
    db = tmp_path / "sgw-pgw.db"
    first = SgwPgwService(config(database=str(db)))
    await first.start()
    counter = first.core.restart_counter
    await first.stop()
    again = SgwPgwService(config(database=str(db)))
    await again.start()
    assert again.core.restart_counter == counter  # the database kept the (no) sessions
    await again.stop()
    for f in tmp_path.glob("sgw-pgw.db*"):
        if not f.name.endswith(".restart"):
            f.unlink()
    lossy = SgwPgwService(config(database=str(db)))
    await lossy.start()
    try:
        assert lossy.core.restart_counter == (counter + 1) % 256
        assert (tmp_path / "sgw-pgw.db.restart").read_text().strip() == str((counter + 1) % 256)
    finally:
        await lossy.stop()


async def test_path_failure_to_a_silent_mme_releases_its_sessions() -> None:
    # an MME that attaches one UE, then is gone (its Echo Requests go unanswered)
    service = SgwPgwService(config(echo_interval_s=0.05, t3_response_s=0.05, n3_requests=2))
    events: list[str] = []
    service._on_event = lambda e: events.append(e.kind)
    await service.start()
    got: asyncio.Queue[bytes] = asyncio.Queue()
    mme_ep = await open_udp_endpoint(HOST, 0, lambda d, a: got.put_nowait(d))
    try:
        mme_ep.sendto(g.encode(create_session(seq=1)), service.local)
        assert cause_of(g.decode(await asyncio.wait_for(got.get(), 5))) == 16
        assert len(service.sessions) == 1
        mme_ep.close()  # the MME is gone: Echo Requests to it are never answered
        await asyncio.wait_for(_until(lambda: "sgw.path.down" in events), 10)
        assert service.sessions == {}
        assert service.session_by_ue_address("127.147.0.1") is None
    finally:
        await service.stop()


async def _until(cond: object) -> None:
    while not cond():  # type: ignore[operator]
        await asyncio.sleep(0.01)
