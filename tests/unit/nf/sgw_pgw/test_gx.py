"""The P-GW's Gx client against the PCRF core, in memory (TS 29.212 §4.5.1, §4.5.2, §4.5.7,
§4.5.12)."""

from __future__ import annotations

import ipaddress
import random
from types import SimpleNamespace
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs import pcc
from corenet.config.models import PcrfLink
from corenet.nf.pcrf.core import PcrfCore, SendAnswer, SendRequest
from corenet.nf.sgw_pgw.gx import AnswerGx, Enforce, GxClient, SendGx
from corenet.nf.sgw_pgw.pcc import PccInstall, PccRemove, PccReport, PccRuleStatus
from corenet.nf.sgw_pgw.pools import PDN_IPV4, PDN_IPV4V6, PDN_IPV6, Allocation
from corenet.protocols.diameter_ids import DiameterIds
from tests.unit.nf.pcrf.helpers import (
    IMEISV,
    IMSI,
    MSISDN,
    PCRF,
    ULI,
    aar,
    media_component,
    roundtrip,
    str_,
)

UE = "127.147.0.2"


def _session(*, uimsi: bool = False, teid: int = 7, allocation: Allocation | None = None) -> Any:
    bearer = SimpleNamespace(qos={"qci": 5, "pl": 1})
    return SimpleNamespace(
        home_pgw=None,
        allocation=allocation or Allocation("sos", PDN_IPV4, int(ipaddress.IPv4Address(UE)),
                                            None),
        s11_sgw_teid=teid, uimsi=uimsi, msisdn=MSISDN, imsi=IMSI, mei=IMEISV,
        ambr={"ul_kbps": 100, "dl_kbps": 200}, bearers={5: bearer}, default_ebi=5,
        uli=ULI, apn="sos")


def _client() -> GxClient:
    link = PcrfLink(origin_host="pgw.epc.mnc020.mcc440.3gppnetwork.org")
    return GxClient(link, DiameterIds(link.origin_host, 0.0, random.Random(1)), "127.0.0.4")


def _to_pcrf(pcrf: PcrfCore, actions: list) -> list:
    out = []
    for action in actions:
        if isinstance(action, SendGx):
            out += pcrf.handle(roundtrip(action.message), 0.0)
    return out


def test_ccr_initial_names_subscriber_address_apn_and_cell() -> None:
    [ccr, _] = _client().session_created(_session())
    msg = roundtrip(ccr.message)
    assert dia.avp(msg, "CC-Request-Type") == pcc.CcRequestType.INITIAL_REQUEST
    assert pcc.identities_of(msg) == pcc.Identities(IMSI, MSISDN, IMEISV)
    assert pcc.ue_address_of(msg) == UE and dia.avp(msg, "Called-Station-Id") == "sos"
    assert pcc.location_of(dia.avp(msg, "3GPP-User-Location-Info")) == pcc.Location(
        "44020", 1, 0x10101)
    assert dia.avp(msg, "QoS-Information", "APN-Aggregate-Max-Bitrate-DL") == 200_000
    assert dia.avp(msg, "Destination-Host") == PCRF.host


def test_ccr_initial_of_a_dual_stack_pdn_names_both_addresses_and_binds_by_either() -> None:
    """Framed-IP-Address (RFC 7155 §4.4.10.5.1) and Framed-IPv6-Prefix (RFC 3162 §2.3) made
    from the pool's integers; the PCRF binds an AF session by either (TS 29.213 §5.1)."""
    dual = Allocation("internet", PDN_IPV4V6, int(ipaddress.IPv4Address("10.45.0.9")),
                      int(ipaddress.IPv6Address("2001:db8:45:3::")))
    [ccr, log] = _client().session_created(_session(allocation=dual))
    msg = roundtrip(ccr.message)
    assert dia.avp(msg, "Framed-IP-Address") == bytes([10, 45, 0, 9])
    prefix = dia.avp(msg, "Framed-IPv6-Prefix")
    assert prefix == pcc.framed_ipv6_prefix("2001:db8:45:3::/64") == bytes.fromhex(
        "004020010db800450003")
    assert pcc.ipv6_prefix_of(prefix) == ipaddress.IPv6Network("2001:db8:45:3::/64")
    assert log.data["ue"] == "10.45.0.9"
    pcrf = PcrfCore(PCRF.host, PCRF.realm)
    _to_pcrf(pcrf, [ccr])
    gx = pcrf.session_by_ue_address("2001:db8:45:3:1:2:3:4")
    assert gx is not None and gx is pcrf.session_by_ue_address("10.45.0.9")
    v6_only = Allocation("ims", PDN_IPV6, None, int(ipaddress.IPv6Address("2001:db8:46::")))
    [_, log] = _client().session_created(_session(allocation=v6_only))
    assert log.data["ue"] == "2001:db8:46::"


def test_unauthenticated_imsi_is_sent_without_msisdn() -> None:
    [ccr, _] = _client().session_created(_session(uimsi=True))
    assert pcc.identities_of(roundtrip(ccr.message)) == pcc.Identities(IMSI, None, IMEISV)


def test_rar_install_and_remove_reach_the_bearer_side() -> None:
    pcrf, gx = PcrfCore(PCRF.host, PCRF.realm), _client()
    [cca] = [a for a in _to_pcrf(pcrf, gx.session_created(_session()))
             if isinstance(a, SendAnswer)]
    assert dia.avp(cca.message, "Result-Code") == 2001
    [rar] = [a for a in pcrf.handle(aar("p;1;2", media_component()), 0.0)
             if isinstance(a, SendRequest)]
    actions = gx.on_request(roundtrip(rar.message))
    [raa] = [a for a in actions if isinstance(a, AnswerGx)]
    assert raa.message.name == "RAA" and dia.avp(raa.message, "Result-Code") == 2001
    [install] = [a.event for a in actions if isinstance(a, Enforce)]
    assert isinstance(install, PccInstall) and install.ue_address == UE
    assert install.rules[0].qci == 1
    [remove_rar] = [a for a in pcrf.handle(str_("p;1;2"), 0.0) if isinstance(a, SendRequest)]
    [remove] = [a.event for a in gx.on_request(roundtrip(remove_rar.message))
                if isinstance(a, Enforce)]
    assert remove == PccRemove(UE, (install.rules[0].name,))


def test_rar_for_an_unknown_session_is_5002() -> None:
    pcrf, gx = PcrfCore(PCRF.host, PCRF.realm), _client()
    _to_pcrf(pcrf, gx.session_created(_session()))
    [rar] = [a for a in pcrf.handle(aar("p;1;2", media_component()), 0.0)
             if isinstance(a, SendRequest)]
    gx.session_deleted(7)
    [raa] = gx.on_request(roundtrip(rar.message))
    assert isinstance(raa, AnswerGx) and dia.avp(raa.message, "Result-Code") == 5002


def test_inactive_report_is_a_ccr_update_and_deletion_a_ccr_terminate() -> None:
    pcrf, gx = PcrfCore(PCRF.host, PCRF.realm), _client()
    _to_pcrf(pcrf, gx.session_created(_session()))
    [ccru] = gx.on_report(PccReport(UE, ("r1",), PccRuleStatus.INACTIVE, failure_code=4))
    msg = roundtrip(ccru.message)
    assert dia.avp(msg, "CC-Request-Type") == pcc.CcRequestType.UPDATE_REQUEST
    assert dia.avp(msg, "CC-Request-Number") == 1
    report = dia.avp(msg, "Charging-Rule-Report")
    assert (dia.avp(report, "Charging-Rule-Name"), dia.avp(report, "PCC-Rule-Status"),
            dia.avp(report, "Rule-Failure-Code")) == (b"r1", 1, 4)
    assert gx.on_report(PccReport(UE, ("r1",), PccRuleStatus.ACTIVE)) == []
    [ccrt] = gx.session_deleted(7)
    assert dia.avp(ccrt.message, "CC-Request-Type") == pcc.CcRequestType.TERMINATION_REQUEST
    [answer] = [a for a in pcrf.handle(roundtrip(ccrt.message), 0.0) if isinstance(a, SendAnswer)]
    assert dia.avp(answer.message, "Result-Code") == 2001
    assert pcrf.session_by_ue_address(UE) is None
