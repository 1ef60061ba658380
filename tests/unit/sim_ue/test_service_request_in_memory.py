"""ECM-IDLE and back, the real cores in memory (`memnet`): the eNB's user inactivity releases
the UE (TS 23.401 §5.3.5), and a service request (TS 24.301 §5.6.1; TS 23.401 §5.3.4.1) gets
the bearers of every PDN connection back, the PDN addresses kept."""

from __future__ import annotations

from typing import Any

from corenet.codecs import s1ap
from corenet.codecs.base import Message
from corenet.config.models import CorenetConfig
from corenet.nf.sgw_pgw.pcc import PccInstall, PccRule, PccRuleStatus
from sim_ue.enb import EnbCore, SendS1ap
from sim_ue.ue import EcmState, EmmState, RequestPdn, ServiceRequest, Ue

from .memnet import MemNet, subscribers

INACTIVITY_S = 10.0


def _network() -> tuple[MemNet, Ue, list[Message], list[Message]]:
    """One UE attached with its `ims` PDN connection; every S1AP message both ways decoded
    into the lists (downlink, uplink)."""
    cfg = CorenetConfig()
    for enb in cfg.sim_ue.enbs:
        enb.inactivity_release_s = INACTIVITY_S
    net = MemNet(cfg)
    down: list[Message] = []
    up: list[Message] = []

    def hold(_assoc: int, data: bytes) -> bool:
        down.append(s1ap.decode(data))
        return False

    net.hold_downlink = hold
    net.add_enbs()
    for enb in net.enbs.values():
        _tap_uplink(enb, up)
    (ue,) = net.add_ues(subscribers(1))
    net.attach(ue)
    net.run(until=lambda: bool(ue.network_name), max_s=1.0)
    net.to_ue(ue, RequestPdn(emergency=False, apn="ims"))
    net.run(until=lambda: bool(ue.pdns), max_s=1.0)
    return net, ue, down, up


def _tap_uplink(enb: EnbCore, up: list[Message]) -> None:
    handle = enb.handle

    def tapped(event: Any, now: float) -> list[Any]:
        out = handle(event, now)
        up.extend(s1ap.decode(a.data) for a in out if isinstance(a, SendS1ap))
        return out

    enb.handle = tapped  # type: ignore[method-assign]


def _idle(net: MemNet, ue: Ue) -> None:
    net.run(until=lambda: ue.ecm is EcmState.IDLE, max_s=2 * INACTIVITY_S)
    assert ue.ecm is EcmState.IDLE and ue.state is EmmState.REGISTERED


def test_user_inactivity_then_service_request_brings_both_bearers_back() -> None:
    net, ue, down, up = _network()
    assert ue.pdn is not None and ue.pdn.ebi == 5
    addresses = (ue.pdn.ipv4, ue.pdns[6].ipv4)
    _idle(net, ue)
    (release,) = [m for m in up if m.name == "UEContextReleaseRequest"]
    assert release.fields["Cause"] == ("radioNetwork", "user-inactivity")
    mme_ue = next(iter(net.mme.ues.values()))
    assert mme_ue.enb_assoc is None  # ECM-IDLE at the MME too
    for addr in addresses:  # the S-GW released the access bearers (TS 23.401 §5.3.5)
        idle = net.sgw.session_by_ue_address(addr or "")
        assert idle is not None and all(b.s1u_enb_fteid is None for b in idle.bearers.values())
    down.clear()
    up.clear()
    modified = net.kinds("mme").count("s11.bearer.modified")

    net.to_ue(ue, ServiceRequest())
    net.run(until=lambda: ue.ecm is EcmState.CONNECTED and ue.state is EmmState.REGISTERED,
            max_s=1.0)
    assert net.done[-1][2].procedure == "service" and net.done[-1][2].ok
    (initial,) = [m for m in up if m.name == "InitialUEMessage"]
    assert initial.fields["S-TMSI"]["m-TMSI"] == ue.guti.m_tmsi  # type: ignore[union-attr]
    assert initial.fields["RRC-Establishment-Cause"] == "mo-Data"
    (ics,) = [m for m in down if m.name == "InitialContextSetupRequest"]
    erabs = {e["e-RAB-ID"]: e for e in ics.fields["E-RABToBeSetupListCtxtSUReq"]}
    assert sorted(erabs) == [5, 6]
    for ebi, addr in zip((5, 6), addresses, strict=True):
        session = net.sgw.session_by_ue_address(addr or "")
        assert session is not None
        bearer = session.bearers[ebi]
        assert erabs[ebi]["gTP-TEID"] == bearer.s1u_sgw_teid  # the S-GW's S1-U F-TEID
    (response,) = [m for m in up if m.name == "InitialContextSetupResponse"]
    for item in response.fields["E-RABSetupListCtxtSURes"]:
        session = net.sgw.session_by_ue_address(addresses[item["e-RAB-ID"] - 5] or "")
        assert session is not None
        # Modify Bearer gave the S-GW the eNB's new S1-U F-TEID of each PDN connection
        fteid = session.bearers[item["e-RAB-ID"]].s1u_enb_fteid
        assert fteid is not None and fteid["teid"] == item["gTP-TEID"]
    assert (ue.pdn.ipv4, ue.pdns[6].ipv4) == addresses  # the PDN addresses are kept
    assert net.kinds("mme").count("s11.bearer.modified") == modified + 2  # one per PDN


def test_pdn_request_in_ecm_idle_goes_after_a_service_request() -> None:
    net, ue, down, _ = _network()
    _idle(net, ue)
    down.clear()
    net.to_ue(ue, RequestPdn(emergency=True))
    net.run(until=lambda: ue.emergency_pdn is not None, max_s=1.0)
    names = [m.name for m in down]
    assert names.index("InitialContextSetupRequest") < names.index("E-RABSetupRequest")
    assert ue.emergency_pdn is not None and ue.emergency_pdn.ebi == 7


def test_context_lost_at_the_mme_service_reject_9_then_attach_again() -> None:
    net, ue, down, _ = _network()
    _idle(net, ue)
    net.restart_mme()
    net.reconnect_enbs()
    down.clear()
    net.to_ue(ue, ServiceRequest())
    net.run(until=lambda: ue.state is EmmState.REGISTERED and ue.ecm is EcmState.CONNECTED
            and bool(ue.network_name) and "emm.attach.accepted" in net.kinds("mme"),
            max_s=2.0)
    service = [d for _, _, d in net.done if d.procedure == "service"]
    assert service and not service[-1].ok and service[-1].cause == 9  # TS 24.301 §5.6.1.5
    assert "emm.service.rejected" in net.kinds("mme")
    assert ue.state is EmmState.REGISTERED and ue.pdn is not None  # attached again


def test_emergency_only_unauthenticated_ue_comes_back_with_null_algorithms() -> None:
    """TS 23.401 §4.3.12: the emergency-attached UE (EIA0, no KASME) releases, then its
    service request is served like its attach: null algorithms, the serving PLMN only."""
    data = CorenetConfig().model_dump(mode="json")
    data["mme"]["roaming"]["policies"][0]["mode"] = "emergency-unauth"
    for enb in data["sim_ue"]["enbs"]:
        enb["inactivity_release_s"] = INACTIVITY_S
    net = MemNet(CorenetConfig.model_validate(data))
    down: list[Message] = []
    net.hold_downlink = lambda _a, d: bool(down.append(s1ap.decode(d)))
    net.add_enbs()
    (ue,) = net.add_ues(subscribers(1))
    net.dial(ue)
    net.run(until=lambda: ue.state is EmmState.REGISTERED and ue.emergency, max_s=1.0)
    _idle(net, ue)
    down.clear()
    net.to_ue(ue, ServiceRequest())
    net.run(until=lambda: ue.ecm is EcmState.CONNECTED and ue.state is EmmState.REGISTERED,
            max_s=1.0)
    assert [d.ok for _, _, d in net.done if d.procedure == "service"] == [True]
    (ics,) = [m for m in down if m.name == "InitialContextSetupRequest"]
    assert [e["e-RAB-ID"] for e in ics.fields["E-RABToBeSetupListCtxtSUReq"]] == [5]
    caps = ics.fields["UESecurityCapabilities"]
    assert (caps["encryptionAlgorithms"], caps["integrityProtectionAlgorithms"]) == (0, 0)
    assert ics.fields["SecurityKey"] == bytes(32)  # TS 33.401 §15.2.2
    assert ue.pdn is not None and ue.pdn.apn == "sos"


def test_service_request_brings_a_dedicated_bearer_back() -> None:
    """TS 23.401 §5.3.4.1 step 4: the Initial Context Setup lists every EPS bearer of the UE,
    the QCI 1 bearer a PCC rule created included (TS 23.401 §5.4.1)."""
    net, ue, down, up = _network()
    assert ue.pdn is not None and ue.pdn.ipv4 is not None
    ip = ue.pdn.ipv4
    net.pcc(PccInstall(ip, (PccRule("voice", qci=1, gbr_ul_bps=64_000, gbr_dl_bps=64_000,
                                    flows=(f"permit out 17 from 10.46.0.7 40000 to {ip} 50000",)),)))
    net.run(until=lambda: bool(net.pcc_reports), max_s=1.0)
    [report] = net.pcc_reports
    assert report.status is PccRuleStatus.ACTIVE and report.ebi == 7
    _idle(net, ue)
    down.clear()
    up.clear()
    net.to_ue(ue, ServiceRequest())
    net.run(until=lambda: ue.ecm is EcmState.CONNECTED, max_s=1.0)
    (ics,) = [m for m in down if m.name == "InitialContextSetupRequest"]
    erabs = {e["e-RAB-ID"]: e for e in ics.fields["E-RABToBeSetupListCtxtSUReq"]}
    assert sorted(erabs) == [5, 6, 7]
    assert erabs[7]["e-RABlevelQoSParameters"]["qCI"] == 1
    session = net.sgw.session_by_ue_address(ip)
    assert session is not None
    (response,) = [m for m in up if m.name == "InitialContextSetupResponse"]
    fteids = {i["e-RAB-ID"]: i["gTP-TEID"] for i in response.fields["E-RABSetupListCtxtSURes"]}
    enb = session.bearers[7].s1u_enb_fteid  # Modify Bearer carried the dedicated bearer too
    assert enb is not None and enb["teid"] == fteids[7]
    assert 7 in ue.dedicated
