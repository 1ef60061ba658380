"""Relay agent routing (RFC 6733 §6.1-6.2): each decision and result code, on decoded messages."""

from __future__ import annotations

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.core.plmn import Plmn
from corenet.nf.dra.agent import Answer, Dropped, Forward, RelayAgent, Route

MME = "mme.epc.mnc020.mcc440.3gppnetwork.org"
DEA = "dea.epc.mnc020.mcc440.3gppnetwork.org"
HOST_DEA = "dea.epc.mnc010.mcc440.3gppnetwork.org"
HSS = "hss.epc.mnc010.mcc440.3gppnetwork.org"
HSS_B = "hss2.epc.mnc010.mcc440.3gppnetwork.org"
REALM_H = "epc.mnc010.mcc440.3gppnetwork.org"
REALM_MVNO = "epc.mnc011.mcc440.3gppnetwork.org"


def _air(realm: str = REALM_H, hbh: int = 7, route: tuple[str, ...] = (),
         destination_host: str | None = None) -> Message:
    msg = s6a.air(dia.session_id(MME, 1, hbh), MME, "epc.mnc020.mcc440.3gppnetwork.org", realm,
                  "440100000000001", Plmn.parse("44020"), hop_by_hop=hbh, end_to_end=1000 + hbh,
                  destination_host=destination_host)
    avps = [*msg.fields["avps"], *(("Route-Record", r) for r in route)]
    # through the codec, as a peer connection would deliver it
    return dia.decode(dia.encode(Message(msg.protocol, msg.name, msg.code,
                                         {**msg.fields, "avps": avps})))


def _agent(*routes: Route) -> RelayAgent:
    return RelayAgent(DEA, "epc.mnc020.mcc440.3gppnetwork.org", list(routes))


def _error(actions: list, code: int) -> Message:
    (action,) = actions
    assert isinstance(action, Answer) and action.peer == MME
    answer = dia.decode(dia.encode(action.message))
    assert answer.name == "AIA" and dia.avp(answer, "Result-Code") == code
    assert answer.fields["flags"]["error"] is True  # RFC 6733 §7.1.3: E bit on 3xxx
    assert dia.avp(answer, "Origin-Host") == DEA  # the agent answered, not the server
    assert answer.fields["hop_by_hop"] == 7 and answer.fields["end_to_end"] == 1007
    return answer


def test_request_forwarded_with_route_record_and_answer_routed_back_by_hop_by_hop() -> None:
    agent = _agent(Route(REALM_H, HOST_DEA))
    (fwd,) = agent.handle_request(MME, _air(), {MME, HOST_DEA}, link="mme-1")
    assert isinstance(fwd, Forward) and fwd.peer == HOST_DEA
    sent = dia.decode(dia.encode(fwd.message))
    # RFC 6733 §6.1.9: Route-Record names the peer the request came from; E2E unchanged
    assert dia.avp_all(sent, "Route-Record") == [MME]
    assert sent.fields["end_to_end"] == 1007
    agent.forwarded(fwd.ticket, HOST_DEA, 555)  # the outgoing connection's Hop-by-Hop id
    aia = dia.decode(dia.encode(dia.answer_message(
        dia.decode(dia.encode(Message(sent.protocol, sent.name, sent.code,
                                      {**sent.fields, "hop_by_hop": 555}))),
        [("Session-Id", dia.avp(sent, "Session-Id")), ("Result-Code", 2001),
         ("Auth-Session-State", 1), ("Origin-Host", HSS), ("Origin-Realm", REALM_H)])))
    (back,) = agent.handle_answer(HOST_DEA, aia)
    assert isinstance(back, Answer) and back.peer == MME and back.link == "mme-1"
    assert back.message.fields["hop_by_hop"] == 7  # restored for the MME's connection
    assert dia.avp(back.message, "Origin-Host") == HSS
    # the same answer again matches nothing any more (RFC 6733 §6.2.1)
    assert isinstance(agent.handle_answer(HOST_DEA, aia)[0], Dropped)
    assert agent.pending == 0


def test_unknown_realm_gets_3003_realm_not_served() -> None:
    agent = _agent(Route(REALM_H, HOST_DEA))
    answer = _error(agent.handle_request(MME, _air("epc.mnc099.mcc440.3gppnetwork.org"),
                                         {MME, HOST_DEA}), dia.ResultCode.DIAMETER_REALM_NOT_SERVED)
    assert "mnc099" in dia.avp(answer, "Error-Message")


def test_own_identity_in_route_record_gets_3005_loop_detected() -> None:
    agent = _agent(Route(REALM_H, HOST_DEA))
    _error(agent.handle_request(MME, _air(route=(MME, DEA.upper(), HOST_DEA)), {MME, HOST_DEA}),
           dia.ResultCode.DIAMETER_LOOP_DETECTED)


def test_route_with_no_open_next_hop_gets_3002_unable_to_deliver() -> None:
    agent = _agent(Route(REALM_H, HOST_DEA))
    _error(agent.handle_request(MME, _air(), {MME}), dia.ResultCode.DIAMETER_UNABLE_TO_DELIVER)
    # the only next hop being the sender is no next hop either
    agent = _agent(Route(REALM_H, MME))
    _error(agent.handle_request(MME, _air(), {MME}), dia.ResultCode.DIAMETER_UNABLE_TO_DELIVER)


def test_next_hop_timeout_answers_3002_to_the_sender() -> None:
    agent = _agent(Route(REALM_H, HOST_DEA))
    (fwd,) = agent.handle_request(MME, _air(), {MME, HOST_DEA})
    assert isinstance(fwd, Forward)
    agent.forwarded(fwd.ticket, HOST_DEA, 9)
    _error(agent.handle_failure(HOST_DEA, 9, "request timeout"),
           dia.ResultCode.DIAMETER_UNABLE_TO_DELIVER)
    assert agent.pending == 0


def test_priorities_and_application_pick_the_next_hop() -> None:
    agent = _agent(Route(REALM_H, HSS_B, priority=2), Route(REALM_H, HSS, priority=1),
                   Route(REALM_MVNO, HOST_DEA, application_id=dia.S6A_APPLICATION_ID),
                   Route(REALM_MVNO, HSS, application_id=4))
    (fwd,) = agent.handle_request(MME, _air(), {MME, HSS, HSS_B})
    assert isinstance(fwd, Forward) and fwd.peer == HSS
    (fwd,) = agent.handle_request(MME, _air(hbh=8), {MME, HSS_B})  # preferred one down
    assert isinstance(fwd, Forward) and fwd.peer == HSS_B
    (fwd,) = agent.handle_request(MME, _air(REALM_MVNO, hbh=9), {MME, HSS, HOST_DEA})
    assert isinstance(fwd, Forward) and fwd.peer == HOST_DEA


def test_destination_host_that_is_a_peer_is_reached_directly() -> None:
    agent = _agent(Route(REALM_H, HSS))
    (fwd,) = agent.handle_request(MME, _air(destination_host=HSS_B), {MME, HSS, HSS_B})
    assert isinstance(fwd, Forward) and fwd.peer == HSS_B


def test_lost_sender_forgets_its_requests() -> None:
    agent = _agent(Route(REALM_H, HSS))
    (fwd,) = agent.handle_request(MME, _air(), {MME, HSS}, link="mme-1")
    assert isinstance(fwd, Forward)
    agent.forwarded(fwd.ticket, HSS, 3)
    agent.link_lost("mme-1")
    assert agent.pending == 0
    assert agent.handle_failure(HSS, 3, "timeout") == []
