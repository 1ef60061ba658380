"""Home-routed roaming (TS 23.401 §4.3.8.1): the visited node is the S-GW only, the home
P-GW allocates the address; two S/P-GW cores wired in memory over S8 (TS 29.274 §7.2.1-§7.2.2,
§7.2.9-§7.2.10), every message through the codec."""

from __future__ import annotations

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message
from corenet.config.models import ApnPool, SgwPgwConfig
from corenet.nf.sgw_pgw.core import (
    Action,
    S11Answer,
    S11NoAnswer,
    S11Request,
    SendRequest,
    SendResponse,
    SgwPgwCore,
)
from tests.unit.nf.sgw_pgw.helpers import IMSI, cause_of, create_session, roundtrip

MME = ("127.0.0.2", 2123)
VISITED_SGW = ("127.0.0.4", 2123)
HOME_PGW = ("127.0.8.5", 2123)
APN = "mvno-light.interconnect"


def _cores() -> tuple[SgwPgwCore, SgwPgwCore]:
    visited = SgwPgwCore(SgwPgwConfig(s8_peers=[HOME_PGW[0]]))
    home = SgwPgwCore(SgwPgwConfig(
        s11={"host": HOME_PGW[0], "port": 2123}, s1u_address=HOME_PGW[0],
        s5_address=HOME_PGW[0], mme_peers=[], s8_peers=[VISITED_SGW[0]],
        pools=[ApnPool(apn=APN, ipv4="10.148.0.0/16")]))
    return visited, home


def _csr(pgw: str = HOME_PGW[0]) -> Message:
    return create_session(apn=APN, pdn_type=g.PDN_IPV4, pgw=pgw)


def _one(actions: list[Action], kind: type) -> Message:
    (msg,) = [a.message for a in actions if isinstance(a, kind)]
    return roundtrip(msg)


def _attach(visited: SgwPgwCore, home: SgwPgwCore) -> tuple[Message, Message]:
    """MME -> S-GW -> home P-GW and back: (the S8 Create Session Request, the MME's answer)."""
    to_pgw = visited.handle(S11Request(_csr(), MME), 0.0)
    (send,) = [a for a in to_pgw if isinstance(a, SendRequest)]
    assert send.peer == HOME_PGW
    s8_csr = roundtrip(send.message)
    s8_csr_seq = roundtrip(Message(s8_csr.protocol, s8_csr.name, s8_csr.code,
                                   {**s8_csr.fields, "sequence": 7}))
    s8_csr_answer = _one(home.handle(S11Request(s8_csr_seq, VISITED_SGW), 0.0), SendResponse)
    answer = _one(visited.handle(S11Answer(s8_csr_answer, HOME_PGW, s8_csr), 0.0), SendResponse)
    return s8_csr, answer


def test_create_session_goes_over_s8_and_the_home_pgw_allocates_the_address() -> None:
    visited, home = _cores()
    s8_csr, answer = _attach(visited, home)
    # S8 request: the S-GW's S5/S8 F-TEIDs, no PGW S5/S8 address (an S11 IE only)
    assert s8_csr.fields["sender_fteid_c"]["interface_type"] == g.FTEID_S5S8C_SGW
    assert s8_csr.fields["sender_fteid_c"]["ipv4"] == VISITED_SGW[0]
    assert s8_csr.fields.get("pgw_s5s8_fteid_c") is None
    (bc,) = s8_csr.fields["bearer_contexts_to_be_created"]
    assert bc["s5s8u_sgw_fteid"]["interface_type"] == g.FTEID_S5S8U_SGW
    assert s8_csr.fields["imsi"] == IMSI and s8_csr.fields["apn"] == APN
    # the MME's answer: the home P-GW's S5/S8-C F-TEID and the address it allocated
    (pgw_session,) = home.sessions.values()
    assert cause_of(answer) == g.CAUSE_REQUEST_ACCEPTED
    pgw_fteid = answer.fields["pgw_s5s8_fteid_c"]
    assert pgw_fteid["interface_type"] == g.FTEID_S5S8C_PGW
    assert pgw_fteid["ipv4"] == HOME_PGW[0] and pgw_fteid["teid"] == pgw_session.s11_sgw_teid
    assert answer.fields["paa"]["ipv4"] == str(pgw_session.ue_ipv4)
    assert answer.fields["paa"]["ipv4"].startswith("10.148.")
    assert answer.fields["sender_fteid_c"]["interface_type"] == g.FTEID_S11S4_SGW
    assert answer.fields["sender_fteid_c"]["ipv4"] == VISITED_SGW[0]
    (created,) = answer.fields["bearer_contexts_created"]
    assert created["s1u_sgw_fteid"]["ipv4"] == "127.0.0.4"
    assert answer.fields["teid"] == 0x100
    # the visited node knows the UE by the home P-GW's address, and took none of its own
    (sgw_session,) = visited.sessions.values()
    assert sgw_session.home_pgw == HOME_PGW
    assert visited.session_by_ue_address(answer.fields["paa"]["ipv4"]) is sgw_session
    assert visited.pools.pool("sos").in_use == (0, 0)


def test_delete_session_is_answered_once_the_home_pgw_deleted_it() -> None:
    visited, home = _cores()
    _, answer = _attach(visited, home)
    teid = answer.fields["sender_fteid_c"]["teid"]
    to_pgw = visited.handle(S11Request(roundtrip(g.delete_session_request(
        2, teid=teid, linked_ebi=5)), MME), 0.0)
    assert not [a for a in to_pgw if isinstance(a, SendResponse)]
    (send,) = [a for a in to_pgw if isinstance(a, SendRequest)]
    dsr = roundtrip(send.message)
    assert dsr.name == "DeleteSessionRequest" and send.peer == HOME_PGW
    dsr_answer = _one(home.handle(S11Request(dsr, VISITED_SGW), 0.0), SendResponse)
    assert cause_of(dsr_answer) == g.CAUSE_REQUEST_ACCEPTED and not home.sessions
    mme_answer = _one(visited.handle(S11Answer(dsr_answer, HOME_PGW, dsr), 0.0), SendResponse)
    assert mme_answer.name == "DeleteSessionResponse" and mme_answer.fields["teid"] == 0x100
    assert cause_of(mme_answer) == g.CAUSE_REQUEST_ACCEPTED and not visited.sessions


def test_a_silent_home_pgw_gives_the_mme_remote_peer_not_responding() -> None:
    visited, _ = _cores()
    (send,) = [a for a in visited.handle(S11Request(_csr(), MME), 0.0)
               if isinstance(a, SendRequest)]
    answer = _one(visited.handle(S11NoAnswer(send.message, HOME_PGW), 0.0), SendResponse)
    assert answer.name == "CreateSessionResponse" and answer.fields["teid"] == 0x100
    assert cause_of(answer) == g.CAUSE_REMOTE_PEER_NOT_RESPONDING
    assert not visited.sessions


def test_a_pgw_address_not_among_the_s8_peers_is_served_here() -> None:
    visited, _ = _cores()
    actions = visited.handle(S11Request(_csr("127.0.0.5"), MME), 0.0)
    assert not [a for a in actions if isinstance(a, SendRequest)]
    answer = _one(actions, SendResponse)
    assert cause_of(answer) == g.CAUSE_MISSING_OR_UNKNOWN_APN  # no pool here for that APN
