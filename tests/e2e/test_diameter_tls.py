"""An attach whose S6a runs over Diameter TLS/TCP (RFC 6733 §2.1 port 5658, §13.1), with a test
CA: the HSS serves TLS only, the MME verifies the HSS's certificate against the CA and its name
against the route's Origin-Host, and presents its own."""

from __future__ import annotations

from pathlib import Path

from corenet.config.models import DIAMETER_TLS_PORT, DiameterTls, Endpoint
from tests.e2e.network import config, network, subscribers
from tests.tls_ca import TestCa


async def test_attach_with_s6a_over_tls(tmp_path: Path) -> None:
    cfg = config(tmp_path, enbs=1)
    ca = TestCa(tmp_path, "operator-ca")
    hss_id, mme_id = ca.issue(cfg.hss.origin_host), ca.issue(cfg.mme.origin_host)
    listen = Endpoint(host=cfg.hss.listen.host, port=DIAMETER_TLS_PORT)
    hss = cfg.hss.model_copy(update={"listen": listen, "tls": DiameterTls(
        cert=str(hss_id.cert), key=str(hss_id.key), ca=str(ca.cert))})
    route = cfg.mme.diameter_routes[0].model_copy(update={"peer": listen, "tls": DiameterTls(
        cert=str(mme_id.cert), key=str(mme_id.key), ca=str(ca.cert))})
    mme = cfg.mme.model_copy(update={"diameter_routes": [route]})
    cfg = cfg.model_copy(update={"hss": hss, "mme": mme})
    subs = subscribers(2)
    async with network(cfg, subs, pcap=False) as net:
        async with net.population(subs) as pop:
            results = await pop.attach()
        assert net.mme.observe()["s6a_open"] == {route.realm: True}
        assert net.hss.air_count == 2
    assert [r.imsi for r in results if not (r.attached and r.authenticated)] == []
