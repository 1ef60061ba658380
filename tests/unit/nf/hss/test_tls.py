"""Diameter over TLS/TCP (RFC 6733 §2.1, §13.1) between the HSS and its peers, with a test CA.

TLS starts with the connection, before CER/CEA. The HSS presents a certificate naming its
Origin-Host and asks for the peer's; each side checks the other's certificate against the CA and
the certificate's name against the peer's Origin-Host.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.config.models import DiameterTls, Endpoint, HssConfig, MmeConfig
from corenet.nf.hss.service import HssService
from corenet.nf.mme.service import MmeService
from corenet.protocols import diameter_peer as dp
from corenet.transport.tcp import client_tls_context
from tests.tls_ca import TestCa
from tests.unit.nf.hss.helpers import (
    HSS_HOST,
    HSS_REALM,
    MME2_HOST,
    MME_HOST,
    DiameterClient,
    air,
    local_peer,
    peer_config,
    subscriber,
)

WAIT = 5.0


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path, "operator-ca")


@pytest.fixture
def other_ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path, "another-ca")


@pytest.fixture
async def hss(ca: TestCa) -> AsyncIterator[HssService]:
    own = ca.issue(HSS_HOST)
    cfg = HssConfig(listen=Endpoint.model_construct(host="127.0.0.1", port=0),
                    database=":memory:", subscribers_file=None,
                    peers=[local_peer(MME_HOST), local_peer(MME2_HOST)],
                    tls=DiameterTls(cert=str(own.cert), key=str(own.key), ca=str(ca.cert)))
    svc = HssService(cfg, subscribers=[subscriber()])
    await svc.start()
    yield svc
    await svc.stop()


def _client_ctx(trust: TestCa, identity: TestCa, host: str = MME_HOST) -> ssl.SSLContext:
    mine = identity.issue(host)
    return client_tls_context(str(trust.cert), str(mine.cert), str(mine.key))


async def test_peer_over_tls_is_served(hss: HssService, ca: TestCa) -> None:
    client = await DiameterClient.connect(*hss.local, peer_config(),
                                          ssl_context=_client_ctx(ca, ca),
                                          server_hostname=HSS_HOST)
    assert client.conn.get_extra_info("ssl_object") is not None  # TLS from the first octet
    opened = await client.opened()
    assert opened.origin_host == HSS_HOST
    aia = await client.ask(air())
    assert s6a.result_of(aia) == (2001, False) and len(s6a.vectors_of(aia)) == 1
    await client.close()


async def test_hss_certificate_from_another_ca_is_refused(hss: HssService, ca: TestCa,
                                                          other_ca: TestCa) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await DiameterClient.connect(*hss.local, peer_config(),
                                     ssl_context=_client_ctx(other_ca, ca),
                                     server_hostname=HSS_HOST)


async def test_hss_certificate_naming_another_host_is_refused(hss: HssService,
                                                              ca: TestCa) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await DiameterClient.connect(*hss.local, peer_config(),
                                     ssl_context=_client_ctx(ca, ca),
                                     server_hostname="hss.elsewhere.example.org")


async def _refused(client_ctx: ssl.SSLContext, hss: HssService) -> None:
    """The HSS drops the handshake: no CEA, no vectors; the connection ends."""
    try:
        client = await DiameterClient.connect(*hss.local, peer_config(),
                                              ssl_context=client_ctx, server_hostname=HSS_HOST)
    except (ssl.SSLError, ConnectionError):
        return  # refused during the handshake (TLS 1.2)
    # TLS 1.3: the client's side of the handshake completes before the server checks it
    closed = await client.next(dp.ConnectionClosed, WAIT)
    assert closed.reason == "connection lost"
    assert client.peer.state is dp.PeerState.CLOSED and client.peer.peer_host is None


async def test_mme_certificate_from_another_ca_is_refused(hss: HssService, ca: TestCa,
                                                          other_ca: TestCa) -> None:
    await _refused(_client_ctx(ca, other_ca), hss)


async def test_mme_without_certificate_is_refused(hss: HssService, ca: TestCa) -> None:
    await _refused(client_tls_context(str(ca.cert)), hss)


async def test_certificate_of_one_mme_cannot_open_as_another(hss: HssService,
                                                             ca: TestCa) -> None:
    # a valid certificate of MME2, CER claiming MME: RFC 6733 §13.1 identity check -> 3010
    client = await DiameterClient.connect(*hss.local, peer_config(MME_HOST),
                                          ssl_context=_client_ctx(ca, ca, MME2_HOST),
                                          server_hostname=HSS_HOST)
    rejected = await client.next(dp.CapabilitiesRejected, WAIT)
    assert rejected.result_code == dia.ResultCode.DIAMETER_UNKNOWN_PEER
    assert "certificate" in rejected.detail
    await client.next(dp.ConnectionClosed, WAIT)


async def test_plain_tcp_peer_gets_nothing(hss: HssService) -> None:
    reader, writer = await asyncio.open_connection(*hss.local)
    writer.write(dia.encode(dia.cer(MME_HOST, "epc.mnc020.mcc440.3gppnetwork.org",
                                    ("127.0.0.1",), hop_by_hop=1, end_to_end=1)))
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), WAIT)
    assert not data.startswith(b"\x01")  # no Diameter answer; at most a TLS alert
    writer.close()


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_mme_connects_over_tls_and_gets_vectors(hss: HssService, ca: TestCa) -> None:
    mine = ca.issue(MME_HOST)
    host, port = hss.local
    cfg = MmeConfig(
        s1ap=Endpoint(host="127.0.0.1", port=_free_port()),
        s11_local=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        sgw=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        diameter_local_host="127.0.0.1",
        diameter_routes=[{"realm": HSS_REALM, "host": HSS_HOST,
                          "peer": {"host": host, "port": port},
                          "tls": {"ca": str(ca.cert), "cert": str(mine.cert),
                                  "key": str(mine.key)}}])
    mme = MmeService(cfg)
    await mme.start(diameter_wait_s=WAIT)
    try:
        assert mme.observe()["s6a_open"] == {HSS_REALM: True}  # the HSS speaks TLS only
        opened = [e for e in mme.events if e.kind == "s6a.peer.open"]
        assert opened and opened[0].data["peer"] == HSS_HOST
    finally:
        await mme.stop()


async def test_mme_refuses_hss_certificate_from_another_ca(hss: HssService, ca: TestCa,
                                                           other_ca: TestCa) -> None:
    mine = ca.issue(MME_HOST)
    host, port = hss.local
    cfg = MmeConfig(
        s1ap=Endpoint(host="127.0.0.1", port=_free_port()),
        s11_local=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        sgw=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        diameter_local_host="127.0.0.1",
        diameter_routes=[{"realm": HSS_REALM, "host": HSS_HOST,
                          "peer": {"host": host, "port": port},
                          "tls": {"ca": str(other_ca.cert), "cert": str(mine.cert),
                                  "key": str(mine.key)}}])
    mme = MmeService(cfg)
    await mme.start(diameter_wait_s=1.0)
    try:
        assert not mme.s6a_open()
        failed = [e for e in mme.events if e.kind == "s6a.connect.failed"]
        assert failed and "CERTIFICATE_VERIFY_FAILED" in failed[0].data["reason"]
    finally:
        await mme.stop()
