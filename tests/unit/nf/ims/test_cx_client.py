"""The S-CSCF's Cx link to a real HSS over loopback TCP: a request made while the link is still
being opened waits for it; an HSS that stops answering makes the request fail (RFC 6733 §5.5.4,
RFC 3539), so the REGISTER behind it gets its answer (480/504) instead of hanging."""

from __future__ import annotations

import asyncio

from corenet.codecs import cx
from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.config.models import CxConfig, Endpoint, HssConfig
from corenet.core.actions import LogEvent
from corenet.nf.hss.service import HssService
from corenet.nf.ims.cx_client import CxClient
from tests.unit.nf.hss.helpers import IMSI, MSISDN, local_peer, subscriber

SCSCF = "scscf.ims.mnc010.mcc440.3gppnetwork.org"
DOMAIN = "ims.mnc010.mcc440.3gppnetwork.org"


def _mar(n: int) -> Message:
    return cx.mar(dia.session_id(SCSCF, 1, n), SCSCF, DOMAIN,
                  "epc.mnc010.mcc440.3gppnetwork.org", f"{IMSI}@{DOMAIN}",
                  f"sip:+{MSISDN}@{DOMAIN}", f"sip:{SCSCF}")


class Outcomes:
    def __init__(self) -> None:
        self.answers: asyncio.Queue[Message] = asyncio.Queue()
        self.failures: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.events: list[LogEvent] = []

    def client(self, hss: tuple[str, int], timeout: float = 0.5) -> CxClient:
        cfg = CxConfig(hss=Endpoint(host=hss[0], port=hss[1]), local_host="127.0.0.1",
                       request_timeout_s=timeout)
        return CxClient(cfg, "127.0.0.1", self.answers.put_nowait,
                        lambda sid, why: self.failures.put_nowait((sid, why)),
                        self.events.append)


async def test_requests_wait_for_the_link_then_fail_when_the_hss_goes_silent() -> None:
    hss = HssService(HssConfig(listen=Endpoint.model_construct(host="127.0.0.1", port=0),
                               database=":memory:", subscribers_file=None,
                               peers=[local_peer(SCSCF)]), subscribers=[subscriber()])
    await hss.start()
    out = Outcomes()
    client = out.client(hss.local)
    client.start()
    try:
        client.request(_mar(1))  # before CER/CEA: waits for the link
        maa = await asyncio.wait_for(out.answers.get(), 5)
        assert maa.name == "MAA" and len(cx.vectors_of(maa)) == 1
        hss.inject_failure("drop")  # the home HSS stops answering
        client.request(_mar(2))
        sid, why = await asyncio.wait_for(out.failures.get(), 5)
        assert sid == str(dia.avp(_mar(2), "Session-Id")) and why
        assert out.answers.empty()
    finally:
        client.stop()
        await hss.stop()


async def test_no_hss_listening_fails_the_request() -> None:
    out = Outcomes()
    client = out.client(("127.0.0.1", 9), timeout=0.3)  # discard port: nobody listens
    client.start()
    try:
        client.request(_mar(3))
        _, why = await asyncio.wait_for(out.failures.get(), 5)
        assert why == "HSS not connected"
        assert any(e.kind == "scscf.cx.down" for e in out.events)
    finally:
        client.stop()


async def test_stopping_the_link_answers_the_requests_waiting_for_it() -> None:
    """A peer that accepts TCP but never answers the CER: the request waits for the link; the
    link taken down (a Cx outage) reports it failed at once, so its REGISTER is answered."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    out = Outcomes()
    client = out.client(("127.0.0.1", port), timeout=30.0)
    client.start()
    try:
        await asyncio.wait_for(client.connector.attempted.wait(), 5)
        client.request(_mar(4))
        await asyncio.sleep(0.05)
        assert out.failures.empty()  # still waiting for the CEA
        client.set_down(True)
        assert out.failures.get_nowait() == (str(dia.avp(_mar(4), "Session-Id")),
                                             "Cx link closed")
    finally:
        client.stop()
        server.close()
        await server.wait_closed()
