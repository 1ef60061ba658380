"""The S/P-GW S11 procedures (TS 29.274 §7.1, §7.2) on the sans-I/O core."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import pytest

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message
from corenet.config.models import ApnPool, SgwPgwConfig
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError
from corenet.nf.sgw_pgw.core import (
    S11Malformed,
    S11Request,
    SendResponse,
    SessionState,
    SgwPgwCore,
)
from tests.unit.nf.sgw_pgw.helpers import (
    IMSI,
    MEI,
    MSISDN,
    QOS,
    cause_of,
    create_session,
    delete_session,
    modify_bearer,
    roundtrip,
)

MME = ("127.0.0.2", 2123)


def make_core(**kw: Any) -> SgwPgwCore:
    return SgwPgwCore(SgwPgwConfig(**kw))


def ask(core: SgwPgwCore, msg: Message, peer: tuple[str, int] = MME) -> Message:
    """Handle a request; return the response after a real encode/decode."""
    actions = core.handle(S11Request(msg, peer), 1.0)
    [resp] = [a for a in actions if isinstance(a, SendResponse)]
    assert resp.peer == peer
    return roundtrip(resp.message)


def logs(actions: list[Any]) -> list[str]:
    return [a.kind for a in actions if isinstance(a, LogEvent)]


# --- Create Session -------------------------------------------------------------------------


def test_create_session_accepted_with_fteids_paa_and_bearer() -> None:
    core = make_core()
    resp = ask(core, create_session(seq=11, mme_teid=0x1234))
    f = resp.fields
    assert resp.name == "CreateSessionResponse"
    assert (f["teid"], f["sequence"], cause_of(resp)) == (0x1234, 11, 16)
    sgw = f["sender_fteid_c"]
    assert (sgw["interface_type"], sgw["ipv4"]) == (g.FTEID_S11S4_SGW, "127.0.0.4")
    pgw = f["pgw_s5s8_fteid_c"]
    assert (pgw["interface_type"], pgw["ipv4"]) == (g.FTEID_S5S8C_PGW, "127.0.0.5")
    assert f["paa"] == {"pdn_type": 3, "ipv4": "127.147.0.1", "ipv6": "2001:db8:47::1",
                        "ipv6_prefix_length": 64}
    assert f["apn_restriction"] == 0
    assert f["recovery"] == 0  # first contact with this MME
    [bc] = f["bearer_contexts_created"]
    assert bc["ebi"] == 5 and bc["cause"]["value"] == 16
    assert bc["s1u_sgw_fteid"]["interface_type"] == g.FTEID_S1U_SGW
    assert bc["s1u_sgw_fteid"]["ipv4"] == "127.0.0.4"
    assert bc["charging_id"] >= 1
    s = core.sessions[sgw["teid"]]
    assert s.state is SessionState.CREATED and s.mme_teid == 0x1234


def test_qos_and_apn_ambr_are_taken_from_the_request() -> None:
    core = make_core()
    qos = g.bearer_qos(qci=9, pl=8, pci=0, pvi=1, mbr=(1000, 2000), gbr=(0, 0))
    resp = ask(core, create_session(qos=qos, ambr=(300, 600), apn="internet"))
    assert resp.fields["ambr"] == {"ul_kbps": 300, "dl_kbps": 600}
    assert resp.fields["bearer_contexts_created"][0]["bearer_qos"] == qos
    s = core.sessions[resp.fields["sender_fteid_c"]["teid"]]
    assert s.bearers[5].qos == qos and s.ambr == {"ul_kbps": 300, "dl_kbps": 600}


def test_session_remembers_the_ue_and_is_found_by_address() -> None:
    core = make_core()
    resp = ask(core, create_session())
    s = core.session_by_ue_address("127.147.0.1")
    assert s is not None
    assert (s.imsi, s.msisdn, s.mei) == (IMSI, MSISDN, MEI)
    assert s.rat_type == g.RAT_EUTRAN and s.serving_network == "44020"
    assert s.uli is not None and s.uli["tai"] == {"plmn": "44020", "tac": 1}
    assert s.apn == "sos" and s.authenticated and not s.uimsi
    # IPv6: any address in the UE's /64, whatever interface identifier it picked
    assert core.session_by_ue_address("2001:db8:47::dead:beef") is s
    assert core.session_by_ue_address(ipaddress.ip_address("127.147.0.1")) is s
    assert core.session_by_ue_address("127.147.0.2") is None
    assert core.session_by_ue_address("not an address") is None
    assert s.s11_sgw_teid == resp.fields["sender_fteid_c"]["teid"]


def test_uimsi_is_remembered_as_unauthenticated() -> None:
    core = make_core()
    ask(core, create_session(indication={"uimsi": True}, msisdn=None))
    s = core.session_by_ue_address("127.147.0.1")
    assert s is not None and s.uimsi and not s.authenticated
    assert s.imsi == IMSI and s.msisdn is None


def test_ue_without_imsi_is_identified_by_mei() -> None:
    core = make_core()
    resp = ask(core, create_session(imsi=None, msisdn=None))
    assert cause_of(resp) == 16
    s = core.session_by_ue_address("127.147.0.1")
    assert s is not None and s.imsi is None and s.mei == MEI and not s.authenticated


def test_neither_imsi_nor_mei_is_conditional_ie_missing() -> None:
    resp = ask(make_core(), create_session(imsi=None, mei=None, mme_teid=0x77))
    assert cause_of(resp) == g.CAUSE_CONDITIONAL_IE_MISSING
    assert resp.fields["cause"]["offending_ie"]["type"] == 1
    assert resp.fields["teid"] == 0x77


def test_unknown_apn_is_rejected_with_78() -> None:
    core = make_core()
    resp = ask(core, create_session(apn="nowhere", mme_teid=0x55))
    assert cause_of(resp) == 78 and resp.fields["teid"] == 0x55
    assert "paa" not in resp.fields and core.sessions == {}


def test_pdn_type_not_in_the_pool_is_83() -> None:
    core = make_core(pools=[ApnPool(apn="sos", ipv4="10.0.0.0/24")])
    assert cause_of(ask(core, create_session(pdn_type=g.PDN_IPV6))) == 83


def test_ipv4v6_on_ipv4_only_apn_is_accepted_with_cause_18() -> None:
    core = make_core(pools=[ApnPool(apn="sos", ipv4="10.0.0.0/24")])
    resp = ask(core, create_session(pdn_type=g.PDN_IPV4V6))
    assert cause_of(resp) == g.CAUSE_NEW_PDN_TYPE_NETWORK_PREFERENCE == 18
    assert resp.fields["paa"]["pdn_type"] == g.PDN_IPV4


def test_ipv4v6_without_daf_gets_one_family_with_cause_19() -> None:
    """TS 29.274 §8.12 / TS 23.401 §5.3.1.1: without the Dual Address Bearer Flag the P-GW
    allocates a single address family and answers 19 "new PDN type due to single address
    bearer only"; with DAF the same APN gives both (16)."""
    core = make_core()
    resp = ask(core, create_session(pdn_type=g.PDN_IPV4V6, indication={"daf": False}))
    assert cause_of(resp) == g.CAUSE_NEW_PDN_TYPE_SINGLE_ADDRESS_BEARER_ONLY == 19
    assert resp.fields["paa"] == {"pdn_type": g.PDN_IPV4, "ipv4": "127.147.0.1", "ipv6": None,
                                  "ipv6_prefix_length": None}
    both = ask(core, create_session(seq=2, mme_teid=0x200, imsi="440100000000099",
                                    pdn_type=g.PDN_IPV4V6, indication={"daf": True}))
    assert cause_of(both) == g.CAUSE_REQUEST_ACCEPTED
    assert both.fields["paa"]["pdn_type"] == g.PDN_IPV4V6


def test_exhausted_pool_is_84_and_delete_frees_the_address() -> None:
    core = make_core(pools=[ApnPool(apn="sos", ipv4="10.0.0.0/30")])
    first = ask(core, create_session(imsi="440100000000001", pdn_type=g.PDN_IPV4))
    ask(core, create_session(imsi="440100000000002", pdn_type=g.PDN_IPV4))
    third = ask(core, create_session(imsi="440100000000003", pdn_type=g.PDN_IPV4))
    assert cause_of(third) == 84
    ask(core, delete_session(9, first.fields["sender_fteid_c"]["teid"]))
    again = ask(core, create_session(imsi="440100000000003", pdn_type=g.PDN_IPV4))
    assert cause_of(again) == 16 and again.fields["paa"]["ipv4"] == "10.0.0.1"


def test_reserved_ebi_is_mandatory_ie_incorrect() -> None:
    resp = ask(make_core(), create_session(ebi=2))
    assert cause_of(resp) == g.CAUSE_MANDATORY_IE_INCORRECT
    assert resp.fields["cause"]["bce"] is True
    assert resp.fields["cause"]["offending_ie"]["type"] == 73


def test_create_session_for_an_existing_pdn_connection_replaces_it() -> None:
    core = make_core()
    old = ask(core, create_session(seq=1))
    actions = core.handle(S11Request(create_session(seq=2), MME), 2.0)
    assert "sgw.session.replaced" in logs(actions)
    assert len(core.sessions) == 1
    assert old.fields["sender_fteid_c"]["teid"] not in core.sessions
    # the old address was released and is the lowest free one again
    s = core.session_by_ue_address("127.147.0.1")
    assert s is not None and s.created_at == 2.0


def test_recovery_only_on_first_contact() -> None:
    core = make_core(restart_counter=7, mme_peers=["127.0.0.2", "127.0.0.22"])
    assert ask(core, create_session(imsi="440100000000001")).fields["recovery"] == 7
    assert "recovery" not in ask(core, create_session(imsi="440100000000002")).fields
    other = ask(core, create_session(imsi="440100000000003"), ("127.0.0.22", 2123))
    assert other.fields["recovery"] == 7


def test_pco_answers_pcscf_and_dns_addresses_asked_for() -> None:
    core = make_core(pcscf=["10.46.255.1", "2001:db8:46::5"], dns=["10.45.255.53"])
    # TS 24.008 §10.5.6.3: P-CSCF IPv4 (000C) and IPv6 (0001) address requests, no DNS
    pco = bytes.fromhex("80" "000c00" "000100")
    resp = ask(core, create_session(pco=pco))
    answer = resp.fields["pco"]
    assert answer[0] == 0x80
    assert bytes.fromhex("000c040a2eff01") in answer
    assert bytes.fromhex("000110") + ipaddress.ip_address("2001:db8:46::5").packed in answer
    assert bytes.fromhex("000d") not in answer


def test_pco_answers_follow_each_request_when_made_once_per_set_asked() -> None:
    """The answer is made once per set of containers asked for (the UEs of a population ask
    the same): a UE asking for DNS only, then one asking for both, then the first set again,
    each get the addresses they asked for and nothing else (TS 24.008 §10.5.6.3)."""
    core = make_core(pcscf=["10.46.255.1"], dns=["10.45.255.53"])
    dns_only, both = bytes.fromhex("80" "000d00"), bytes.fromhex("80" "000c00" "000d00")
    answers = [ask(core, create_session(imsi=f"44010000000000{i}", pco=pco)).fields["pco"]
               for i, pco in enumerate((dns_only, both, dns_only))]
    assert answers[0] == answers[2] == bytes.fromhex("80" "000d040a2dff35")
    assert answers[1] == bytes.fromhex("80" "000c040a2eff01" "000d040a2dff35")
    assert ask(core, create_session(imsi="440100000000009", pco=bytes.fromhex("80"))
               ).fields.get("pco") is None


def test_session_log_and_record_give_the_allocated_addresses_as_text() -> None:
    core = make_core()
    actions = core.handle(S11Request(create_session(), MME), 1.0)
    [log] = [a for a in actions if isinstance(a, LogEvent) and a.kind == "sgw.session.created"]
    [s] = core.sessions.values()
    assert log.data["ue_ipv4"] == str(s.ue_ipv4) and s.ue_ipv6_prefix is not None
    assert log.data["ue_ipv6_prefix"] == str(s.ue_ipv6_prefix)
    assert s.allocation.paa()["ipv6"] == str(s.ue_ipv6_prefix.network_address + 1)
    s.allocation.paa()["ipv4"] = "mutated"  # each caller gets its own PAA value
    assert s.allocation.paa()["ipv4"] == str(s.ue_ipv4)


def test_no_pco_answer_for_malformed_pco() -> None:
    core = make_core(pcscf=["10.46.255.1"])
    req = create_session()
    # a container longer than the PCO (TS 29.274 §7.7.9: an invalid optional IE is ignored)
    req = replace(req, fields={**req.fields, "pco": bytes.fromhex("80000cff")})
    resp = ask(core, req)
    assert cause_of(resp) == 16 and "pco" not in resp.fields


# --- Modify Bearer --------------------------------------------------------------------------


def created(core: SgwPgwCore, **kw: Any) -> int:
    return int(ask(core, create_session(**kw)).fields["sender_fteid_c"]["teid"])


def test_modify_bearer_stores_the_enb_fteid() -> None:
    core = make_core()
    teid = created(core, mme_teid=0x99)
    resp = ask(core, modify_bearer(3, teid, enb_teid=0xABC, enb_ip="127.0.1.1"))
    assert resp.name == "ModifyBearerResponse"
    assert (resp.fields["teid"], cause_of(resp)) == (0x99, 16)
    [bc] = resp.fields["bearer_contexts_modified"]
    s = core.sessions[teid]
    assert bc["ebi"] == 5 and bc["cause"]["value"] == 16
    assert bc["s1u_sgw_fteid"]["teid"] == s.bearers[5].s1u_sgw_teid
    assert s.bearers[5].s1u_enb_fteid == {"interface_type": g.FTEID_S1U_ENB, "teid": 0xABC,
                                          "ipv4": "127.0.1.1", "ipv6": None}
    assert s.state is SessionState.ACTIVE


def test_modify_bearer_unknown_teid_is_context_not_found() -> None:
    core = make_core()
    created(core)
    resp = ask(core, modify_bearer(3, 0xDEAD))
    assert cause_of(resp) == g.CAUSE_CONTEXT_NOT_FOUND == 64
    assert resp.fields["teid"] == 0


def test_modify_bearer_unknown_ebi_is_context_not_found_for_that_bearer() -> None:
    core = make_core()
    teid = created(core)
    resp = ask(core, modify_bearer(3, teid, ebi=6))
    assert cause_of(resp) == 64
    assert resp.fields["bearer_contexts_modified"][0]["cause"]["value"] == 64
    assert core.sessions[teid].state is SessionState.CREATED


def test_release_access_bearers_forgets_the_enb_and_modify_restores() -> None:
    core = make_core()
    teid = created(core)
    ask(core, modify_bearer(3, teid))
    resp = ask(core, roundtrip(g.release_access_bearers_request(4, teid=teid)))
    assert resp.name == "ReleaseAccessBearersResponse" and cause_of(resp) == 16
    s = core.sessions[teid]
    assert s.state is SessionState.IDLE and s.bearers[5].s1u_enb_fteid is None
    ask(core, modify_bearer(5, teid, enb_teid=0x77))
    assert s.state is SessionState.ACTIVE and s.bearers[5].s1u_enb_fteid is not None


# --- Delete Session -------------------------------------------------------------------------


def test_delete_session_releases_everything() -> None:
    core = make_core()
    teid = created(core, mme_teid=0x42)
    actions = core.handle(S11Request(delete_session(8, teid), MME), 3.0)
    [resp] = [roundtrip(a.message) for a in actions if isinstance(a, SendResponse)]
    assert resp.name == "DeleteSessionResponse"
    assert (resp.fields["teid"], resp.fields["sequence"], cause_of(resp)) == (0x42, 8, 16)
    assert "sgw.session.deleted" in logs(actions)
    assert core.sessions == {} and core.session_by_ue_address("127.147.0.1") is None
    assert core.pools.pool("sos").in_use == (0, 0)


def test_delete_session_unknown_teid_is_64() -> None:
    resp = ask(make_core(), delete_session(8, 0x4444))
    assert cause_of(resp) == 64 and resp.fields["teid"] == 0


def test_delete_session_wrong_linked_ebi_is_64_and_keeps_the_session() -> None:
    core = make_core()
    teid = created(core)
    assert cause_of(ask(core, delete_session(8, teid, ebi=7))) == 64
    assert teid in core.sessions


# --- Echo and errors ------------------------------------------------------------------------


def test_echo_response_carries_the_restart_counter() -> None:
    resp = ask(make_core(restart_counter=12), roundtrip(g.echo_request(77, 3)))
    assert resp.name == "EchoResponse"
    assert (resp.fields["sequence"], resp.fields["recovery"], resp.fields["teid"]) == (
        77, 12, None)


def _decode_error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as exc:
        g.decode(data)
    return exc.value


def test_missing_mandatory_ie_is_rejected_with_70_and_the_offending_ie() -> None:
    req = g.encode(create_session(seq=21, mme_teid=0x31))
    # drop the RAT Type IE (type 82, 5 octets in all), fix the header length
    pos = req.index(bytes([82, 0, 1, 0]))
    body = req[:pos] + req[pos + 5:]
    broken = body[:2] + (len(body) - 4).to_bytes(2, "big") + body[4:]
    err = _decode_error(broken)
    actions = make_core().handle(S11Malformed(err, MME), 1.0)
    [resp] = [roundtrip(a.message) for a in actions if isinstance(a, SendResponse)]
    assert resp.name == "CreateSessionResponse" and resp.fields["sequence"] == 21
    assert cause_of(resp) == g.CAUSE_MANDATORY_IE_MISSING == 70
    assert resp.fields["cause"]["offending_ie"]["type"] == 82
    assert "sgw.request.malformed" in logs(actions)


def test_malformed_modify_bearer_answers_with_the_mme_teid() -> None:
    core = make_core()
    teid = created(core, mme_teid=0x66)
    req = g.encode(modify_bearer(30, teid))
    # bearer context without its EBI: a mandatory IE missing inside a grouped IE
    pos = req.index(bytes([73, 0, 1, 0]))
    body = req[:pos] + req[pos + 5:]
    body = body[:2] + (len(body) - 4).to_bytes(2, "big") + body[4:]
    gpos = body.index(bytes([93]), 12)
    glen = int.from_bytes(body[gpos + 1:gpos + 3], "big") - 5
    body = body[:gpos + 1] + glen.to_bytes(2, "big") + body[gpos + 3:]
    err = _decode_error(body)
    actions = core.handle(S11Malformed(err, MME), 1.0)
    [resp] = [roundtrip(a.message) for a in actions if isinstance(a, SendResponse)]
    assert resp.name == "ModifyBearerResponse" and resp.fields["teid"] == 0x66
    assert cause_of(resp) == 70 and resp.fields["cause"]["bce"] is True
    assert resp.fields["cause"]["offending_ie"]["type"] == 73


def test_unexpected_message_is_discarded() -> None:
    # Delete Bearer Request goes from the S/P-GW to the MME, never the other way
    msg = roundtrip(g.delete_bearer_request(1, teid=1, linked_ebi=5))
    actions = make_core().handle(S11Request(msg, MME), 1.0)
    assert logs(actions) == ["sgw.discarded"]
    assert not any(isinstance(a, SendResponse) for a in actions)


# --- what a session keeps (a storm holds 100,000) -------------------------------------------


def test_sessions_of_a_population_share_their_qos_ambr_uli_and_flags() -> None:
    core = make_core()
    teids = [created(core, imsi=f"44010000000000{i}", mme_teid=0x10 + i) for i in range(3)]
    a, b, c = (core.sessions[t] for t in teids)
    assert a.bearers[5].qos is b.bearers[5].qos is c.bearers[5].qos
    assert a.ambr is b.ambr and a.uli is b.uli and a.indication is b.indication
    assert a.bearers[5].qos == {"pci": 1, "pl": 1, "pvi": 0, "qci": 5, "mbr_ul_kbps": 0,
                                "mbr_dl_kbps": 0, "gbr_ul_kbps": 0, "gbr_dl_kbps": 0}
    assert a.uli == {"tai": {"plmn": "44020", "tac": 1},
                     "ecgi": {"plmn": "44020", "eci": 0x101 << 8 | 1}}
    # TS 29.274 §8.12: only the flags that are set are kept (DAF, as the MME sets it)
    assert a.indication == {"daf": True}
    assert not hasattr(a, "__dict__") and not hasattr(a.bearers[5], "__dict__")


def test_the_mme_address_apn_and_pco_of_each_datagram_are_kept_once() -> None:
    """Each datagram brings new copies of the MME's address, the APN and the PCO: the
    sessions keep one object per distinct value."""
    core = make_core()
    pco = bytes.fromhex("80" "000d00")
    teids = [int(ask(core, create_session(imsi=f"44010000000000{i}", mme_teid=0x30 + i,
                                          pco=bytes(bytearray(pco))),
                     (str(ipaddress.ip_address(MME[0])), MME[1])).fields["sender_fteid_c"]["teid"])
             for i in range(2)]
    a, b = (core.sessions[t] for t in teids)
    assert a.mme == b.mme == MME and a.mme is b.mme
    assert a.apn is b.apn and a.pco is b.pco and a.pco == pco
    assert a.serving_network is b.serving_network


def test_modify_bearer_flags_replace_the_shared_ones_of_that_session_only() -> None:
    core = make_core()
    first, second = (created(core, imsi=f"44010000000000{i}", mme_teid=0x20 + i)
                     for i in range(2))
    req = modify_bearer(7, first)
    req = replace(req, fields={**req.fields, "indication": {"daf": False, "oi": True}})
    core.handle(S11Request(req, MME), 2.0)
    assert core.sessions[first].indication == {"oi": True}
    assert core.sessions[second].indication == {"daf": True}


def test_a_shared_value_does_not_follow_later_changes_of_the_message_it_came_from() -> None:
    core = make_core()
    msg = create_session(imsi="440100000000007")
    teid = int(ask(core, msg).fields["sender_fteid_c"]["teid"])
    msg.fields["bearer_contexts_to_be_created"][0]["bearer_qos"]["qci"] = 1
    msg.fields["uli"]["tai"]["tac"] = 99
    s = core.sessions[teid]
    assert s.bearers[5].qos["qci"] == 5 and s.uli is not None and s.uli["tai"]["tac"] == 1


def test_sessions_from_cells_in_turn_keep_their_own_cells_uli_and_qos() -> None:
    """The value last shared with the same keys is handed out only when equal: UEs of two
    cells in turn, and two QoS, each session keeps what its request said (TS 29.274 §8.21,
    §8.15), one object per distinct value."""
    core = make_core()
    sessions = []
    for i, (tac, qci) in enumerate([(1, 5), (2, 5), (1, 9), (2, 9)]):
        msg = create_session(imsi=f"44010000000001{i}", mme_teid=0x40 + i,
                             qos={**QOS, "qci": qci})
        uli = g.uli("44020", tac, "44020", 0x101 << 8 | tac)
        msg = replace(msg, fields={**msg.fields, "uli": uli})
        sessions.append(core.sessions[int(ask(core, msg).fields["sender_fteid_c"]["teid"])])
    a, b, c, d = sessions
    assert [s.uli["tai"]["tac"] for s in sessions if s.uli] == [1, 2, 1, 2]
    assert [s.uli["ecgi"]["eci"] for s in sessions if s.uli] == [0x10101, 0x10102] * 2
    assert a.uli is c.uli and b.uli is d.uli and a.uli is not b.uli
    assert [s.bearers[5].qos["qci"] for s in sessions] == [5, 5, 9, 9]
    assert a.bearers[5].qos is b.bearers[5].qos and c.bearers[5].qos is d.bearers[5].qos
    assert a.bearers[5].qos is not c.bearers[5].qos
