"""Diameter relay agents put in the S6a path of a test network (tests.e2e.network.config)."""

from __future__ import annotations

from corenet.config.models import (
    CorenetConfig,
    DiameterPeerSpec,
    DiameterRoute,
    DraConfig,
    Endpoint,
)
from corenet.orchestration.mvno import mvno_of_kind, with_full_mvno

MME_HOST = "mme.epc.mnc020.mcc440.3gppnetwork.org"
DEA_HOST = "dea.epc.mnc020.mcc440.3gppnetwork.org"


def block_ip(cfg: CorenetConfig, last: int) -> str:
    """An address of the configuration's own 127.N.0.0/16 block."""
    return cfg.hss.listen.host.rsplit(".", 1)[0] + f".{last}"


def via_agent(cfg: CorenetConfig, agent_host: str, agent_ip: str, agent_port: int,
              realm: str | None = None, agent_addresses: list[str] | None = None) -> CorenetConfig:
    """The MME reaches `realm` (the HSS's by default) through the agent at agent_ip:agent_port,
    and the HSS takes the agent as a relaying peer (RFC 6733 §2.8)."""
    realm = realm or cfg.hss.origin_realm
    routes = [r for r in cfg.mme.diameter_routes if r.realm != realm] + [DiameterRoute(
        realm=realm, host=agent_host, peer=Endpoint(host=agent_ip, port=agent_port), agent=True)]
    hss_peers = [*cfg.hss.peers, DiameterPeerSpec(
        origin_host=agent_host, addresses=agent_addresses or [agent_ip], agent=True)]
    return cfg.model_copy(update={
        "mme": cfg.mme.model_copy(update={"diameter_routes": routes}),
        "hss": cfg.hss.model_copy(update={"peers": hss_peers})})


def one_agent(cfg: CorenetConfig) -> CorenetConfig:
    """The rescuer's edge agent between its MME and the home HSS: MME -> DEA -> HSS."""
    ip = block_ip(cfg, 10)
    dea = DraConfig.model_validate({
        "name": "rescuer-dea", "origin_host": DEA_HOST,
        "origin_realm": cfg.mme.origin_realm, "listen": {"host": ip, "port": 3868},
        "peers": [{"origin_host": MME_HOST, "addresses": [cfg.mme.diameter_local_host]},
                  {"origin_host": cfg.hss.origin_host, "addresses": [cfg.hss.listen.host],
                   "connect": cfg.hss.listen.model_dump()}],
        "routes": [{"realm": cfg.hss.origin_realm, "peer": cfg.hss.origin_host}]})
    cfg = via_agent(cfg, DEA_HOST, ip, 3868)
    return cfg.model_copy(update={"dra": [dea]})



MVNO_REALM = "epc.mnc011.mcc440.3gppnetwork.org"


def full_mvno(cfg: CorenetConfig, tmp: str, *, offers_roaming: bool = True) -> CorenetConfig:
    """The configuration's full MVNO (440-11, its own HSS) of host 440-10 on the test's block,
    reached from the rescuer's MME through both edge agents (corenet.orchestration.mvno)."""
    entry = mvno_of_kind(cfg, "full").model_copy(update={"offers_roaming": offers_roaming})
    roaming = cfg.mme.roaming.model_copy(update={"mvnos": [entry]})
    cfg = cfg.model_copy(update={"mme": cfg.mme.model_copy(update={"roaming": roaming})})
    return with_full_mvno(cfg, entry, lambda n: block_ip(cfg, n), f"{tmp}/mvno-hss.db")
