"""Dedicated bearers from PCC rules at the S/P-GW (TS 23.401 §5.4.1, §5.4.4.1; TS 29.274
§7.2.3-§7.2.4, §7.2.9.2-§7.2.10.2; TS 23.203 §6.1.1.4), read like the sequence chart:
PCC rule installed -> Create Bearer Request -> Create Bearer Response -> PccReport."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace
from typing import Any

import pytest

from corenet.codecs import gtpv2c as g
from corenet.codecs import tft
from corenet.codecs.base import Message
from corenet.config.models import SgwPgwConfig
from corenet.nf.sgw_pgw import core as core_module
from corenet.nf.sgw_pgw.bearers import (
    GW_PCEF_MALFUNCTION,
    INCORRECT_FLOW_INFORMATION,
    MISSING_FLOW_INFORMATION,
    NO_BEARER_BOUND,
    RESOURCE_ALLOCATION_FAILURE,
    UNKNOWN_RULE_NAME,
    UNSUCCESSFUL_QOS_VALIDATION,
    Fteid,
)
from corenet.nf.sgw_pgw.core import (
    S11Answer,
    S11NoAnswer,
    S11Request,
    SendRequest,
    SendResponse,
    Session,
    SgwPgwCore,
)
from corenet.nf.sgw_pgw.pcc import PccInstall, PccRemove, PccReport, PccRule, PccRuleStatus
from corenet.nf.sgw_pgw.store import SessionStore, _json_hook, record_text
from tests.unit.nf.sgw_pgw.helpers import create_session, delete_session, modify_bearer, roundtrip

MME = ("127.0.0.2", 2123)
MME_TEID = 0x77
REMOTE = "10.46.0.7"


def voice(name: str = "voice", ue: str = "127.147.0.1", **kw: Any) -> PccRule:
    flows = (f"permit out 17 from {REMOTE} 40000 to {ue} 50000",
             f"permit in 17 from {ue} 50000 to {REMOTE} 40000")
    values: dict[str, Any] = {"qci": 1, "arp_priority": 2, "mbr_ul_bps": 128_000,
                              "mbr_dl_bps": 128_000, "gbr_ul_bps": 64_000,
                              "gbr_dl_bps": 64_000, "flows": flows, **kw}
    return PccRule(name, **values)


def attached(core: SgwPgwCore) -> Session:
    """A PDN connection with its default bearer up (TS 23.401 §5.3.2.1)."""
    [resp] = [a for a in core.handle(S11Request(create_session(1, mme_teid=MME_TEID), MME), 1.0)
              if isinstance(a, SendResponse)]
    teid = resp.message.fields["sender_fteid_c"]["teid"]
    core.handle(S11Request(modify_bearer(2, teid), MME), 1.0)
    return core.sessions[teid]


def requests(actions: list[Any]) -> list[Message]:
    out = []
    for a in actions:
        if isinstance(a, SendRequest):
            assert a.peer == MME
            out.append(roundtrip(a.message))
    return out


def reports(actions: list[Any]) -> list[PccReport]:
    return [a for a in actions if isinstance(a, PccReport)]


def create_bearer_response(request: Message, s: Session, *, ebi: int = 6,
                           cause: int = g.CAUSE_REQUEST_ACCEPTED) -> Message:
    sgw = request.fields["bearer_contexts"][0]["s1u_sgw_fteid"]
    return roundtrip(g.create_bearer_response(
        request.fields["sequence"], teid=s.s11_sgw_teid, cause=cause, bearer_contexts=[{
            "ebi": ebi, "cause": cause, "s1u_enb_fteid": (g.FTEID_S1U_ENB, 0xE2, "127.0.1.1"),
            "s1u_sgw_fteid": (sgw["interface_type"], sgw["teid"], sgw["ipv4"])}]))


def install(core: SgwPgwCore, s: Session, *rules: PccRule) -> list[Any]:
    return core.handle_pcc(PccInstall(str(s.ue_ipv4), rules), 2.0)


def test_voice_rule_gives_create_bearer_request_with_qci1_gbr_and_tft() -> None:
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    [req] = requests(install(core, s, voice()))
    f = req.fields
    assert req.name == "CreateBearerRequest"
    assert (f["teid"], f["linked_ebi"]) == (MME_TEID, 5)
    [bc] = f["bearer_contexts"]
    assert bc["ebi"] == 0  # TS 23.401 §5.4.1 step 2: the MME assigns it
    qos = bc["bearer_qos"]
    assert (qos["qci"], qos["pl"], qos["pci"], qos["pvi"]) == (1, 2, 0, 1)
    assert (qos["gbr_ul_kbps"], qos["gbr_dl_kbps"], qos["mbr_dl_kbps"]) == (64, 64, 128)
    assert bc["s1u_sgw_fteid"]["interface_type"] == g.FTEID_S1U_SGW
    assert bc["s5s8u_pgw_fteid"]["interface_type"] == g.FTEID_S5S8U_PGW
    assert bc["charging_id"] > s.bearers[5].charging_id
    op, filters = tft.decode(bc["tft"])
    assert op == tft.OP_CREATE
    down, up = filters
    assert (down.direction, up.direction) == (tft.DOWNLINK, tft.UPLINK)
    for pf in filters:
        assert pf.remote == ipaddress.ip_network(REMOTE)
        assert (pf.protocol, pf.local_port, pf.remote_port) == (17, 50000, 40000)
    assert down.precedence != up.precedence


def test_accepted_create_bearer_response_reports_active_with_the_ebi() -> None:
    core = SgwPgwCore(SgwPgwConfig(), store=SessionStore(":memory:"))
    s = attached(core)
    [req] = requests(install(core, s, voice()))
    out = core.handle(S11Answer(create_bearer_response(req, s), MME, req), 3.0)
    assert reports(out) == [PccReport(str(s.ue_ipv4), ("voice",), PccRuleStatus.ACTIVE, ebi=6)]
    bearer = s.bearers[6]
    assert bearer.qos["qci"] == 1 and bearer.rules == ("voice",)
    assert bearer.s1u_enb_fteid is not None and bearer.s1u_enb_fteid["teid"] == 0xE2
    # kept in the store: a restarted S/P-GW has the dedicated bearer with its rule
    assert core.store is not None
    again = SgwPgwCore(SgwPgwConfig(), store=core.store)
    assert again.sessions[s.s11_sgw_teid].bearers[6].rules == ("voice",)


def test_second_rule_with_same_qci_and_arp_joins_the_bearer() -> None:
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    [req] = requests(install(core, s, voice()))
    core.handle(S11Answer(create_bearer_response(req, s), MME, req), 3.0)
    out = install(core, s, voice("video-audio"))
    assert requests(out) == []
    assert reports(out) == [PccReport(str(s.ue_ipv4), ("video-audio",), PccRuleStatus.ACTIVE,
                                      ebi=6)]


def test_refused_or_unanswered_create_bearer_reports_inactive() -> None:
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    [req] = requests(install(core, s, voice()))
    out = core.handle(S11Answer(create_bearer_response(req, s, cause=g.CAUSE_UE_REFUSES),
                                MME, req), 3.0)
    [report] = reports(out)
    assert (report.status, report.failure_code) == (PccRuleStatus.INACTIVE,
                                                   RESOURCE_ALLOCATION_FAILURE)
    assert set(s.bearers) == {5}
    [req] = requests(install(core, s, voice()))
    [report] = reports(core.handle(S11NoAnswer(req, MME), 20.0))
    assert (report.status, report.failure_code) == (PccRuleStatus.INACTIVE,
                                                   RESOURCE_ALLOCATION_FAILURE)


def test_rules_that_cannot_be_bound_are_inactive_with_their_code() -> None:
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    out = install(core, s, voice("no-gbr", gbr_ul_bps=0, gbr_dl_bps=0),
                  voice("no-flows", flows=()), voice("bad", flows=("deny out ip from any to any",)))
    assert requests(out) == []
    codes = {r.names: r.failure_code for r in reports(out)}
    assert codes == {("no-gbr",): UNSUCCESSFUL_QOS_VALIDATION,
                     ("no-flows",): MISSING_FLOW_INFORMATION,
                     ("bad",): INCORRECT_FLOW_INFORMATION}
    [report] = reports(core.handle_pcc(PccInstall("10.99.0.1", (voice(),)), 2.0))
    assert report.failure_code == NO_BEARER_BOUND


def test_removing_the_last_rule_deletes_the_bearer() -> None:
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    [req] = requests(install(core, s, voice()))
    core.handle(S11Answer(create_bearer_response(req, s), MME, req), 3.0)
    [delete] = requests(core.handle_pcc(PccRemove(str(s.ue_ipv4), ("voice",)), 4.0))
    assert delete.name == "DeleteBearerRequest"
    assert (delete.fields["teid"], delete.fields["ebis"]) == (MME_TEID, [6])
    answer = roundtrip(g.delete_bearer_response(
        delete.fields["sequence"], teid=s.s11_sgw_teid, linked_ebi=5,
        bearer_contexts=[{"ebi": 6, "cause": 16}]))
    out = core.handle(S11Answer(answer, MME, delete), 5.0)
    assert reports(out) == [PccReport(str(s.ue_ipv4), ("voice",), PccRuleStatus.INACTIVE,
                                      ebi=6)]
    assert set(s.bearers) == {5}
    [unknown] = reports(core.handle_pcc(PccRemove(str(s.ue_ipv4), ("voice",)), 6.0))
    assert unknown.failure_code == UNKNOWN_RULE_NAME


def test_late_answer_for_a_deleted_pdn_connection_changes_nothing() -> None:
    """The PDN connection went (Delete Session) while its bearer was being created: the
    answer finds no session, the rule is inactive, the TEIDs taken for it are free again."""
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    [req] = requests(install(core, s, voice()))
    core.handle(S11Request(delete_session(3, s.s11_sgw_teid), MME), 3.0)
    out = core.handle(S11Answer(create_bearer_response(req, s), MME, req), 4.0)
    [report] = reports(out)
    assert (report.status, report.failure_code) == (PccRuleStatus.INACTIVE,
                                                   RESOURCE_ALLOCATION_FAILURE)
    assert core.sessions == {}
    taken = req.fields["bearer_contexts"][0]["s1u_sgw_fteid"]["teid"]
    assert core._user_teids.reserve(taken)  # given back


def test_rules_of_one_install_with_one_qci_share_a_new_bearer() -> None:
    """TS 23.203 §6.1.1.4: one bearer per QCI and ARP; its TFT holds both rules' filters."""
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    [req] = requests(install(core, s, voice("rtp"), voice("rtcp", precedence=120)))
    _, filters = tft.decode(req.fields["bearer_contexts"][0]["tft"])
    assert len(filters) == 4 and len({f.identifier for f in filters}) == 4
    assert req.fields["bearer_contexts"][0]["bearer_qos"]["gbr_dl_kbps"] == 128
    [report] = reports(core.handle(S11Answer(create_bearer_response(req, s), MME, req), 3.0))
    assert (report.names, report.ebi) == (("rtp", "rtcp"), 6)


def test_rule_with_the_default_bearers_qos_binds_to_it() -> None:
    """A rule whose QCI and ARP are the default bearer's needs no new bearer."""
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    default = s.bearers[5].qos  # QCI 5, priority 1, pre-emption disabled / enabled
    rule = PccRule("signalling", qci=default["qci"], arp_priority=default["pl"],
                   preemption_capability=False, preemption_vulnerability=True,
                   flows=(f"permit out 17 from {REMOTE} 5060 to 127.147.0.1 5060",))
    out = install(core, s, rule)
    assert requests(out) == []
    assert reports(out) == [PccReport(str(s.ue_ipv4), ("signalling",), PccRuleStatus.ACTIVE,
                                      ebi=5)]


def test_an_ebi_the_mme_gave_twice_is_refused() -> None:
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    [req] = requests(install(core, s, voice()))
    [report] = reports(core.handle(S11Answer(create_bearer_response(req, s, ebi=5), MME, req),
                                   3.0))
    assert (report.status, report.failure_code) == (PccRuleStatus.INACTIVE, GW_PCEF_MALFUNCTION)
    assert s.bearers[5].rules == ()


def test_the_record_text_is_the_encoders_and_restores_the_same_session() -> None:
    """The stored record is written as text directly (core._record_json); it is exactly what
    the JSON encoder makes of the record, for a PDN connection with a dedicated bearer (TFT
    octets, PCC rule), the eNB's F-TEIDs, a PCO, and for one whose values are not shared."""
    core = SgwPgwCore(SgwPgwConfig(), store=SessionStore(":memory:"))
    s = attached(core)
    [req] = requests(install(core, s, voice()))
    core.handle(S11Answer(create_bearer_response(req, s), MME, req), 3.0)
    s.pco = b"\x80\x00\x0d\x00"
    odd = replace(s, uli={"tai": {"plmn": "44020", "tac": 7}, "\"quoted\"": "é"},
                  mme_fteid={"teid": 5, "ipv4": "127.0.0.2", "interface_type": 10},
                  imsi=None, mei="35349006987331", created_at=0, selection_mode=None)
    as_dict = replace(s, mme_fteid=dict(s.mme_fteid))  # the codec's four keys, not slots
    for session in (s, odd, as_dict):
        text = core_module._record_json(session)
        assert text == record_text(core_module._record(session))
        again = core_module._session_of(json.loads(text, object_hook=_json_hook))
        assert core_module._record(again) == core_module._record(session)
    assert s.bearers[6].tft is not None and s.bearers[6].rules == ("voice",)
    assert s.bearers[5].s1u_enb_fteid is not None


def test_a_kept_fteid_reads_as_the_codecs_dict() -> None:
    """The MME's and the eNB's F-TEIDs (TS 29.274 §8.22) are kept in slots (`Fteid`), read
    as the decoded dict they came from; an F-TEID of other keys is kept as a dict."""
    decoded = roundtrip(modify_bearer(9, 1, enb_teid=0xE7)).fields[
        "bearer_contexts_to_be_modified"][0]["s1u_enb_fteid"]
    kept = Fteid.of(decoded)
    assert isinstance(kept, Fteid) and kept == decoded and dict(kept) == decoded
    assert (kept["teid"], kept.get("ipv4"), kept.get("ipv6"), kept.get("nothing")) == (
        0xE7, "127.0.1.1", None, None)
    assert list(kept) == list(decoded) and len(kept) == 4 and "teid" in kept
    with pytest.raises(KeyError):
        kept["nothing"]
    other = Fteid.of({"teid": 1, "interface_type": 0, "ipv4": "127.0.0.1"})
    assert type(other) is dict and other["teid"] == 1
    core = SgwPgwCore(SgwPgwConfig())
    s = attached(core)
    assert isinstance(s.mme_fteid, Fteid) and s.mme_teid == MME_TEID
    assert isinstance(s.bearers[5].s1u_enb_fteid, Fteid)
