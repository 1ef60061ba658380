"""The real cores in memory (`memnet`): sim_ue's UE and eNB against the MME, HSS and S/P-GW,
for the three ways of JAPAN Roaming (TS 23.401 §5.3.2.1 attach, §4.3.12 emergency bearer
services), and the emergency attach retried on a new S1 connection."""

from __future__ import annotations

from corenet.codecs import s1ap
from corenet.config.models import CorenetConfig
from corenet.nf.mme.context import EmmState as MmeEmmState
from sim_ue.ue import EmmState

from .memnet import START, MemNet, subscribers


def _network(mode: str = "full") -> MemNet:
    data = CorenetConfig().model_dump(mode="json")
    data["mme"]["roaming"]["policies"][0]["mode"] = mode
    net = MemNet(CorenetConfig.model_validate(data))
    net.add_enbs()
    assert net.mme.enb_count() == 2
    return net


def test_full_roaming_attach_of_two_ues() -> None:
    net = _network()
    ues = net.add_ues(subscribers(2))
    for ue in ues:
        net.attach(ue)
    net.run(until=lambda: all(u.network_name for u in ues))
    assert net.now == START  # no timer had to expire
    for ue in ues:
        assert ue.state is EmmState.REGISTERED and not ue.emergency
        assert ue.network_name == "JPN-ROAM X"  # EMM Information (TS 24.301 §5.4.5)
        assert ue.pdn is not None and ue.pdn.apn == "internet"
        assert ue.pdn.ipv4 is not None and ue.pdn.ipv4.startswith("127.145.")
        ctx = net.mme.ue_by_imsi(ue.usim.imsi)
        assert ctx is not None and ctx.authenticated and ctx.emm_state is MmeEmmState.REGISTERED
        assert ctx.guti == ue.guti and ctx.msisdn == ue.usim.msisdn
    assert [d.ok for _, _, d in net.done] == [True, True]
    assert len(net.sgw.sessions) == 2


def test_emergency_attach_authenticated() -> None:
    net = _network("emergency-auth")
    (ue,) = net.add_ues(subscribers(1))
    net.dial(ue)
    net.run(until=lambda: ue.state is EmmState.REGISTERED)
    assert ue.emergency and ue.display == "no service" and ue.network_name is None
    assert ue.pdn is not None and ue.pdn.apn == "sos" and ue.pdn.emergency
    assert ue.pdn.ipv4 is not None and ue.pdn.ipv4.startswith("127.147.")
    ctx = net.mme.ue_by_imsi(ue.usim.imsi)
    assert ctx is not None and ctx.emergency and ctx.authenticated
    assert ctx.security.sec is not None and ctx.security.sec.eia == 2
    (session,) = net.sgw.sessions.values()
    assert session.apn == "sos"


def test_emergency_attach_unauthenticated_reports_the_imsi() -> None:
    net = _network("emergency-unauth")
    (ue,) = net.add_ues(subscribers(1))
    net.dial(ue)
    net.run(until=lambda: ue.state is EmmState.REGISTERED)
    assert ue.emergency and ue.pdn is not None and ue.pdn.apn == "sos"
    ctx = net.mme.ue_by_imsi(ue.usim.imsi)
    assert ctx is not None and ctx.unauthenticated_emergency
    # TS 33.401 §5.1.4.1: null integrity and ciphering; no AIR went to the home HSS
    assert ctx.security.sec is not None and (ctx.security.sec.eia, ctx.security.sec.eea) == (0, 0)
    assert "emm.authentication.succeeded" not in net.kinds("mme")
    (session,) = net.sgw.sessions.values()
    # TS 29.274 §8.12 UIMSI: the IMSI is reported, flagged unauthenticated
    assert session.imsi == ue.usim.imsi and session.uimsi


def test_emergency_attach_retried_on_a_new_connection_completes_after_t3411() -> None:
    net = _network("emergency-unauth")
    (ue,) = net.add_ues(subscribers(1))
    # the MME's answers to the first attempt never reach the eNB: the UE's T3410 expires
    # (15 s), it drops the connection locally and attaches again after T3411 (10 s) on a new
    # connection, with the same eNB UE S1AP ID
    net.hold_downlink = lambda _assoc, data: s1ap.decode(data).fields.get(
        "MME-UE-S1AP-ID") == 1
    net.dial(ue)
    net.run(until=lambda: ue.state is EmmState.REGISTERED and ue.emergency, max_s=200)
    assert ue.state is EmmState.REGISTERED and ue.emergency
    # before: the first attempt's release tore down the second one (another T3410 + T3411)
    assert net.now - START == 25.0
    assert "ciphered, no security context" not in [
        e.data.get("reason") for e in net.logs if e.kind == "nas.discarded"]
    assert [c.imsi for c in net.mme.ues.values()] == [ue.usim.imsi]


def test_attached_ues_share_what_the_network_gave_them_all() -> None:
    """A storm holds 100,000 attached UEs: equal TAI lists (TS 24.301 §9.9.3.33) and APN-AMBRs
    (§9.9.4.2) are one object; a UE's own state is in slots, and its warning receiver is made
    only when a warning reaches it."""
    net = _network()
    ues = net.add_ues(subscribers(2))
    for ue in ues:
        net.attach(ue)
    net.run(until=lambda: all(u.network_name for u in ues))
    a, b = ues
    assert a.tai_list == b.tai_list and a.tai_list and a.tai_list is b.tai_list
    assert a.pdn is not None and b.pdn is not None and a.pdn.apn_ambr is b.pdn.apn_ambr
    assert not hasattr(a, "__dict__") and not hasattr(a.pdn, "__dict__")
    assert a._warnings is None
    a.warnings.standard_evacuation_id = 0x1105
    assert a.warnings is a.warnings and a.warnings.standard_evacuation_id == 0x1105
    assert b._warnings is None
