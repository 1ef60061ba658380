"""Diameter relay agents put in the S6a path of a test network (tests.e2e.network.config)."""

from __future__ import annotations

from corenet.codecs import diameter as dia
from corenet.config.models import (
    CorenetConfig,
    DiameterPeerSpec,
    DiameterRoute,
    DraConfig,
    Endpoint,
    HssConfig,
    MvnoEntry,
)

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


HOST_DEA_HOST = "dea.epc.mnc010.mcc440.3gppnetwork.org"
MVNO_PLMN = "44011"
MVNO_REALM = "epc.mnc011.mcc440.3gppnetwork.org"
MVNO_HSS_HOST = "hss.epc.mnc011.mcc440.3gppnetwork.org"


def full_mvno(cfg: CorenetConfig, tmp: str, *, offers_roaming: bool = True) -> CorenetConfig:
    """A full MVNO (PLMN 440-11, its own HSS) of host 440-10, reached from the rescuer's MME
    through the rescuer's edge agent and the host's: MME -> DEA 440-20 -> DEA 440-10 -> HSS."""
    rescuer_ip, host_ip, hss_ip = block_ip(cfg, 10), block_ip(cfg, 11), block_ip(cfg, 12)
    mvno_hss = HssConfig.model_validate({
        "plmn": MVNO_PLMN, "origin_host": MVNO_HSS_HOST, "origin_realm": MVNO_REALM,
        "listen": {"host": hss_ip, "port": 3868}, "database": f"{tmp}/mvno-hss.db",
        "subscribers_file": None, "control": {"host": hss_ip, "port": 0},
        "peers": [{"origin_host": HOST_DEA_HOST, "addresses": [host_ip], "agent": True}]})
    rescuer = DraConfig.model_validate({
        "name": "rescuer-dea", "origin_host": DEA_HOST, "origin_realm": cfg.mme.origin_realm,
        "listen": {"host": rescuer_ip, "port": 3868},
        "peers": [{"origin_host": MME_HOST, "addresses": [cfg.mme.diameter_local_host]},
                  {"origin_host": HOST_DEA_HOST, "addresses": [host_ip], "agent": True,
                   "connect": {"host": host_ip, "port": 3868}}],
        "routes": [{"realm": MVNO_REALM, "peer": HOST_DEA_HOST,
                    "application_id": dia.S6A_APPLICATION_ID}]})
    host = DraConfig.model_validate({
        "name": "host-dea", "origin_host": HOST_DEA_HOST, "origin_realm": cfg.hss.origin_realm,
        "listen": {"host": host_ip, "port": 3868},
        "peers": [{"origin_host": DEA_HOST, "addresses": [rescuer_ip], "agent": True},
                  {"origin_host": MVNO_HSS_HOST, "addresses": [hss_ip],
                   "connect": {"host": hss_ip, "port": 3868}}],
        "routes": [{"realm": MVNO_REALM, "peer": MVNO_HSS_HOST}]})
    routes = [*cfg.mme.diameter_routes, DiameterRoute(
        realm=MVNO_REALM, host=DEA_HOST, peer=Endpoint(host=rescuer_ip, port=3868), agent=True)]
    roaming = cfg.mme.roaming.model_copy(update={"mvnos": [MvnoEntry(
        name="mvno-full", kind="full", host_plmn=cfg.hss.plmn, home_plmn=MVNO_PLMN,
        offers_roaming=offers_roaming)]})
    mme = cfg.mme.model_copy(update={"diameter_routes": routes, "roaming": roaming})
    return cfg.model_copy(update={"mme": mme, "dra": [rescuer, host], "mvno_hss": [mvno_hss]})
