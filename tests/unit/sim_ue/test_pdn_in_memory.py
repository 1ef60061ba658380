"""A second PDN connection of an attached roaming UE, the real cores in memory (`memnet`):
the emergency PDN connection (TS 23.167 §6.2, §7.1; TS 24.301 §6.5.1 request type
"emergency") and the `ims` one (GSMA IR.92), then PDN disconnect (TS 24.301 §6.5.2)."""

from __future__ import annotations

from corenet.config.models import CorenetConfig
from sim_ue.ue import DisconnectPdn, RequestPdn, Ue

from .memnet import START, MemNet, subscribers


def _attached() -> tuple[MemNet, Ue]:
    net = MemNet(CorenetConfig())
    net.add_enbs()
    (ue,) = net.add_ues(subscribers(1))
    net.attach(ue)
    net.run(until=lambda: bool(ue.network_name))
    return net, ue


def test_emergency_pdn_then_disconnect() -> None:
    net, ue = _attached()
    net.to_ue(ue, RequestPdn(emergency=True))
    net.run(until=lambda: ue.emergency_pdn is not None)
    assert net.now == START
    pdn = ue.emergency_pdn
    assert pdn is not None and pdn.apn == "sos" and pdn.ebi == 6
    assert pdn.ipv4 is not None and pdn.ipv4.startswith("127.147.")
    assert ue.pdn is not None and ue.pdn.apn == "internet"
    sos = net.sgw.session_by_ue_address(pdn.ipv4)
    assert sos is not None and sos.apn == "sos" and sos.default_ebi == 6 and sos.authenticated
    assert sos.bearers[6].s1u_enb_fteid is not None  # Modify Bearer after E-RAB Setup
    assert len(net.sgw.sessions) == 2
    assert "esm.pdn.connected" in net.kinds("mme")
    net.to_ue(ue, DisconnectPdn(6))
    net.run(until=lambda: ue.emergency_pdn is None)
    assert "esm.pdn.disconnected" in net.kinds("mme")
    assert len(net.sgw.sessions) == 1 and net.sgw.session_by_ue_address(pdn.ipv4) is None


def test_ims_pdn_from_the_default_subscription() -> None:
    net, ue = _attached()
    net.to_ue(ue, RequestPdn(emergency=False, apn="ims"))
    net.run(until=lambda: bool(ue.pdns))
    (pdn,) = ue.pdns.values()
    assert pdn.apn == "ims" and not pdn.emergency and pdn.qci == 5
    assert pdn.ipv4 is not None and pdn.ipv4.startswith("127.146.")
