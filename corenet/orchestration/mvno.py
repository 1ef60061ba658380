"""MVNO networks around the reference topology, for `corenet demo --mvno full|light`.

full: the MVNO's own HSS (its PLMN's realm, TS 23.003 §19.2) behind its host MNO's Diameter edge
agent, reached from the rescuer's MME through the rescuer's edge agent (RFC 6733 §2.8.1):
MME -> DEA (rescuer) -> DEA (host) -> MVNO HSS. light: the MVNO's subscribers are held by the
host's HSS, their data PDN the host's interconnect APN.
"""

from __future__ import annotations

from collections.abc import Callable

from corenet.codecs import diameter as dia
from corenet.config.models import (
    ApnPool,
    CorenetConfig,
    DiameterRoute,
    DraConfig,
    Endpoint,
    HssConfig,
    MvnoEntry,
    SgwPgwConfig,
)
from corenet.config.subscribers import ApnProfile, Subscriber, SubscriberEntry
from corenet.core.plmn import Plmn

KINDS = ("full", "light")
# last octet of their address in the topology
RESCUER_DEA, HOST_DEA, MVNO_HSS, HOST_PGW = 10, 11, 12, 13
GTPV2C_PORT = 2123


def mvno_of_kind(cfg: CorenetConfig, kind: str) -> MvnoEntry:
    for entry in cfg.mme.roaming.mvnos:
        if entry.kind == kind and Plmn.parse(entry.host_plmn) == Plmn.parse(cfg.hss.plmn):
            return entry
    raise ValueError(f"no {kind} MVNO of {cfg.hss.plmn} in mme.roaming.mvnos")


def _dea_host(plmn: Plmn) -> str:
    return f"dea.{plmn.realm}"


def with_full_mvno(cfg: CorenetConfig, mvno: MvnoEntry, ip: Callable[[int], str],
                   database: str, port: Callable[[int], int] | None = None) -> CorenetConfig:
    """`cfg` with the full MVNO's HSS and both edge agents, at `ip(RESCUER_DEA)`,
    `port(RESCUER_DEA)` etc. (the HSS's port when `port` is not given)."""
    if mvno.home_plmn is None:
        raise ValueError(f"full MVNO {mvno.name} needs its home_plmn")
    home, host = Plmn.parse(mvno.home_plmn), Plmn.parse(mvno.host_plmn)
    rescuer_host, host_dea = _dea_host(Plmn.parse(cfg.mme.plmn)), _dea_host(host)
    hss_host = f"hss.{home.realm}"
    rescuer_ip, host_ip, hss_ip = ip(RESCUER_DEA), ip(HOST_DEA), ip(MVNO_HSS)
    at = port or (lambda _: cfg.hss.listen.port)
    rescuer_port, host_port, hss_port = at(RESCUER_DEA), at(HOST_DEA), at(MVNO_HSS)
    mvno_hss = HssConfig(
        plmn=str(home), origin_host=hss_host, origin_realm=home.realm,
        listen=Endpoint(host=hss_ip, port=hss_port), database=database, subscribers_file=None,
        control=Endpoint(host=hss_ip, port=0),
        peers=[{"origin_host": host_dea, "addresses": [host_ip], "agent": True}])  # type: ignore[list-item]
    rescuer = DraConfig.model_validate({
        "name": "rescuer-dea", "origin_host": rescuer_host, "origin_realm": cfg.mme.origin_realm,
        "listen": {"host": rescuer_ip, "port": rescuer_port},
        "peers": [{"origin_host": cfg.mme.origin_host,
                   "addresses": [cfg.mme.diameter_local_host]},
                  {"origin_host": host_dea, "addresses": [host_ip], "agent": True,
                   "connect": {"host": host_ip, "port": host_port}}],
        # RFC 6733 §2.7: S6a requests for the MVNO's realm go to its host's agent
        "routes": [{"realm": home.realm, "peer": host_dea,
                    "application_id": dia.S6A_APPLICATION_ID}]})
    host_agent = DraConfig.model_validate({
        "name": "host-dea", "origin_host": host_dea, "origin_realm": host.realm,
        "listen": {"host": host_ip, "port": host_port},
        "peers": [{"origin_host": rescuer_host, "addresses": [rescuer_ip], "agent": True},
                  {"origin_host": hss_host, "addresses": [hss_ip],
                   "connect": {"host": hss_ip, "port": hss_port}}],
        "routes": [{"realm": home.realm, "peer": hss_host}]})
    routes = [r for r in cfg.mme.diameter_routes if r.realm != home.realm] + [DiameterRoute(
        realm=home.realm, host=rescuer_host, peer=Endpoint(host=rescuer_ip, port=rescuer_port),
        agent=True)]
    mme = cfg.mme.model_copy(update={"diameter_routes": routes})
    # the host's agent listens before the rescuer's connects to it
    return cfg.model_copy(update={"mme": mme, "dra": [host_agent, rescuer],
                                  "mvno_hss": [mvno_hss]})


def with_light_mvno(cfg: CorenetConfig, mvno: MvnoEntry, ip: Callable[[int], str],
                    pool: str = "127.148.0.0/16", database: str = ":memory:") -> CorenetConfig:
    """`cfg` with the host's P-GW at `ip(HOST_PGW)` serving the light MVNO's interconnect APN
    from `pool` (loopback by default: a simulated UE sends from its PDN address on this
    machine), home-routed (TS 23.401 §4.3.8.1): the MME selects it for the host's PLMN, the
    rescuer's S/P-GW is the S-GW and reaches it over S8 (GTPv2-C port 2123, TS 29.274 §4.2)."""
    apn = mvno.interconnect_apn
    if apn is None or cfg.home_pgw:
        return cfg
    address = ip(HOST_PGW)
    home_pgw = SgwPgwConfig(
        s11=Endpoint(host=address, port=GTPV2C_PORT), s1u_address=address, s5_address=address,
        pools=[ApnPool(apn=apn, ipv4=pool)], database=database, mme_peers=[],
        s8_peers=[cfg.sgw_pgw.s11.host], pcscf=cfg.sgw_pgw.pcscf, dns=cfg.sgw_pgw.dns)
    sgw = cfg.sgw_pgw.model_copy(update={"s8_peers": [*cfg.sgw_pgw.s8_peers, address]})
    mme = cfg.mme.model_copy(update={
        "home_pgws": {**cfg.mme.home_pgws, str(Plmn.parse(mvno.host_plmn)): address}})
    return cfg.model_copy(update={"sgw_pgw": sgw, "mme": mme, "home_pgw": [home_pgw]})


def mvno_subscribers(mvno: MvnoEntry, base: SubscriberEntry, count: int) -> list[Subscriber]:
    """`count` subscribers of the MVNO: IMSIs from its range or PLMN; a light MVNO's with the
    host's interconnect APN as their only, default APN, never served by a visited P-GW."""
    prefix = mvno.imsi_prefixes[0] if mvno.imsi_prefixes else str(mvno.home_plmn)
    imsi = (prefix + "0" * 15)[:14] + "1"
    update: dict[str, object] = {"imsi": imsi, "count": count,
                                 "msisdn": "81" + str(int(imsi[3:5]) + 90) + imsi[-8:]}
    if mvno.kind == "light" and mvno.interconnect_apn:
        update["apns"] = [ApnProfile(apn=mvno.interconnect_apn, context_id=1,
                                     vplmn_dynamic_address_allowed=False)]
        update["default_apn"] = mvno.interconnect_apn
    return list(base.model_copy(update=update).expand())
