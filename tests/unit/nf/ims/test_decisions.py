"""Dial plan, binding and E-CSCF PSAP selection, without sockets."""

from __future__ import annotations

from types import SimpleNamespace

from corenet.codecs.sip import parse_uri
from corenet.config.models import CellArea, DialPlanConfig, DialRule, EcscfConfig, PsapRoute
from corenet.nf.ims.binding import (
    AccessMode,
    BindingTable,
    Cell,
    IdentityType,
    UeBinding,
    cell_from_pani,
    pani,
)
from corenet.nf.ims.dialplan import CallKind, DialPlan
from corenet.nf.ims.ecscf import EcscfCore
from corenet.nf.ims.proxy import Element


def test_dial_plan_classifies_the_seed_numbers() -> None:
    plan = DialPlan()
    got = {n: plan.classify(parse_uri(f"tel:{n}")) for n in
           ("110", "118", "119", "184110", "186119", "#7119", "#9110", "0120123456",
            "0800123456", "0312345678")}
    assert got["110"].service_urn == "urn:service:sos.police"
    assert got["118"].service_urn == "urn:service:sos.marine"
    assert got["119"].service_urn == "urn:service:sos.fire"
    assert (got["184110"].kind, got["184110"].status) == (CallKind.NO_ROUTE, 404)
    assert got["186119"].kind is CallKind.NO_ROUTE
    assert (got["#7119"].kind, got["#7119"].area) == (CallKind.FIXED_AREA, "+81-3")
    assert got["#9110"].kind is CallKind.FIXED_AREA
    assert (got["0120123456"].kind, got["0120123456"].status) == (CallKind.BLOCKED, 403)
    assert got["0800123456"].kind is CallKind.BLOCKED
    assert got["0312345678"].kind is CallKind.NORMAL
    assert plan.classify(parse_uri("sip:110@x;user=phone")).kind is CallKind.EMERGENCY
    assert plan.classify(parse_uri("sip:alice@x")).kind is CallKind.NORMAL
    assert plan.classify(parse_uri("urn:service:sos")).kind is CallKind.EMERGENCY


def test_dial_rules_are_configurable_per_pattern() -> None:
    plan = DialPlan(DialPlanConfig(rules=[DialRule(prefix="#7119", action="block", status=488),
                                          DialRule(prefix="0120", action="fixed-area",
                                                   area="+81-6")]))
    assert plan.classify(parse_uri("tel:#7119")).status == 488
    assert plan.classify(parse_uri("tel:0120000000")).area == "+81-6"


def _session(apn: str, imsi: str | None = "440100000000001", uimsi: bool = False) -> object:
    return SimpleNamespace(imsi=imsi, msisdn="819010000001", mei="3534900698733190", apn=apn,
                           uimsi=uimsi, uli={"tai": {"plmn": "44020", "tac": 1},
                                             "ecgi": {"plmn": "44020", "eci": 0x101}})


class _Gw:
    def __init__(self, sessions: dict[str, object]) -> None:
        self.sessions = sessions

    def session_by_ue_address(self, ip: str) -> object:
        return self.sessions.get(ip)


def test_binding_mode_and_identity_follow_the_session() -> None:
    table = BindingTable(_Gw({"127.146.0.2": _session("ims"), "127.147.0.2": _session("sos"),
                              "127.147.0.3": _session("sos", uimsi=True)}))
    full, auth, unauth = (table.lookup(a) for a in ("127.146.0.2", "127.147.0.2",
                                                     "127.147.0.3"))
    assert full is not None and auth is not None and unauth is not None
    assert (full.mode, auth.mode, unauth.mode) == (
        AccessMode.FULL, AccessMode.EMERGENCY_AUTH, AccessMode.EMERGENCY_UNAUTH)
    assert full.identity() == ("tel:+819010000001", IdentityType.MSISDN, True)
    assert unauth.identity() == ("sip:440100000000001@ims.mnc010.mcc440.3gppnetwork.org",
                                 IdentityType.IMSI, False)
    assert full.cell == Cell("44020", 1, 0x101)
    assert table.lookup("127.146.0.9") is None and table.lookup("not-an-ip") is None


def test_pani_round_trip_and_ue_provided_pani_is_ignored() -> None:
    cell = Cell("440200", 0x12, 0xABCDE01)
    value = pani(cell)
    assert value == ("3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=4402000012ABCDE01; "
                     "network-provided")
    assert cell_from_pani(value) == cell
    assert cell_from_pani("3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=4402000012ABCDE01") is None


def test_ecscf_selects_psap_by_cell_then_tac_then_default() -> None:
    core = EcscfCore(EcscfConfig(
        areas=[CellArea(prefecture="Iwate", ecis=[0x201]), CellArea(prefecture="Miyagi",
                                                                    tacs=[2])],
        psaps=[PsapRoute(prefecture="Miyagi", uri="sip:fire@127.0.0.81", services=["sos.fire"]),
               PsapRoute(prefecture="Miyagi", uri="sip:police@127.0.0.82"),
               PsapRoute(prefecture="Iwate", uri="sip:iwate@127.0.0.83")],
        default_psap="sip:default@127.0.0.8"), DialPlan(), Element("127.0.0.7", 5060))
    assert core.select_psap(Cell("44020", 2, 0x201), "urn:service:sos.fire").uri == \
        "sip:iwate@127.0.0.83"
    assert core.select_psap(Cell("44020", 2, 0x202), "urn:service:sos.fire").uri == \
        "sip:fire@127.0.0.81"
    assert core.select_psap(Cell("44020", 2, 0x202), "urn:service:sos.police").uri == \
        "sip:police@127.0.0.82"
    choice = core.select_psap(Cell("44020", 9, 0x999), "urn:service:sos.police")
    assert (choice.uri, choice.prefecture) == ("sip:default@127.0.0.8", None)
    assert core.select_psap(None, "urn:service:sos").uri == "sip:default@127.0.0.8"


def test_binding_static_entry_wins() -> None:
    table = BindingTable(None)
    table.add(UeBinding("127.146.0.5", AccessMode.FULL, msisdn="81901"))
    assert table.lookup("127.146.0.5") is not None
