"""The MME's S11 path: Echo answered to its sender, periodic Echo to the S-GW, and an S-GW
restart seen in its Recovery (TS 29.274 §7.1, §8.5; TS 23.007 §16.1.3, §18; TS 24.301
§5.5.2.3)."""

from __future__ import annotations

from corenet.codecs import gtpv2c, nas, s1ap
from corenet.codecs.base import Message
from corenet.core.actions import StartTimer, TimerExpired
from corenet.nf.mme.context import EmmState
from corenet.nf.mme.events import S11Failed, S11Received, SendS11

from .scenario import IMSI, SGW_IP, Scenario


def wire(msg: Message) -> Message:
    return gtpv2c.decode(gtpv2c.encode(msg))


def attached(sc: Scenario) -> Message:
    """An attached UE; returns the Create Session Request the MME sent."""
    sc.core.s11.restart_counter = 21
    sc.s1_setup()
    csr = sc.attach_until_create_session()
    sc.answer_create_session(csr)
    sc.s1(s1ap.initial_context_setup_response(sc.mme_ue_id or 0, sc.enb_ue_id,
                                              [(5, "127.0.1.1", 0x9000)]))
    (mbr,) = sc.sent_s11()
    sc.answer_s11(mbr, "ModifyBearerRequest")
    sc.uplink(sc.protect(nas.attach_complete(
        nas.activate_default_eps_bearer_context_accept(5, 1))))
    assert sc.core.ue_by_imsi(IMSI) is not None
    return csr


def test_echo_request_is_answered_to_its_sender_with_our_recovery() -> None:
    sc = Scenario()
    sc.core.s11.restart_counter = 42
    sender = ("127.0.0.44", 40123)  # not the configured S-GW (127.0.0.4:2123)
    sc.feed(S11Received(wire(gtpv2c.echo_request(9, 3)), peer=sender))
    [answer] = [a for a in sc.actions if isinstance(a, SendS11)]
    assert answer.peer == sender
    echo = wire(answer.msg)
    assert (echo.name, echo.fields["sequence"], echo.fields["recovery"]) == (
        "EchoResponse", 9, 42)


def test_first_create_session_carries_our_recovery() -> None:
    sc = Scenario()
    csr = attached(sc)
    assert wire(csr).fields["recovery"] == 21


def test_periodic_echo_and_path_failure() -> None:
    sc = Scenario()
    sc.core.s11.restart_counter = 5
    out = sc.feed(echo_timer())
    [echo] = sc.sent_s11()
    assert echo.name == "EchoRequest" and wire(echo).fields["recovery"] == 5
    assert StartTimer("S11Echo", "sgw", sc.cfg.s11_echo_interval_s) in out
    # one Echo outstanding at a time
    sc.feed(echo_timer())
    assert sc.sent_s11() == []
    # TS 23.007 §20: no answer after N3-REQUESTS attempts
    sc.feed(S11Failed(int(echo.fields["sequence"]), "RequestTimedOut"))
    assert "mme.s11.path_down" in sc.log_kinds()
    sc.feed(echo_timer())
    [again] = sc.sent_s11()
    sc.feed(S11Received(wire(gtpv2c.echo_response(again.fields["sequence"], 1)),
                        int(again.fields["sequence"]), (SGW_IP, 2123)))
    assert "mme.s11.path_up" in sc.log_kinds()


def echo_timer() -> TimerExpired:
    return TimerExpired("S11Echo", "sgw")


def test_sgw_restart_detaches_its_ues_with_reattach_required() -> None:
    sc = Scenario()
    attached(sc)
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.session.session_created
    # Recovery learnt from an Echo Response, then another value: the S-GW restarted
    sc.feed(echo_timer())
    [echo] = sc.sent_s11()
    seq = int(echo.fields["sequence"])
    sc.feed(S11Received(wire(gtpv2c.echo_response(seq, 7)), seq, (SGW_IP, 2123)))
    assert ue.session.session_created and "mme.s11.sgw_restarted" not in sc.log_kinds()
    sc.feed(echo_timer())
    [echo] = sc.sent_s11()
    seq = int(echo.fields["sequence"])
    sc.feed(S11Received(wire(gtpv2c.echo_response(seq, 8)), seq, (SGW_IP, 2123)))
    assert "mme.s11.sgw_restarted" in sc.log_kinds()
    # no Delete Session to an S-GW that lost the session (TS 23.007 §16.1.3)
    assert sc.sent_s11() == []
    [detach] = sc.received()
    assert detach.name == "DetachRequest" and detach.fields["detach_type"] == 1
    assert detach.fields["mac_valid"]
    [cmd] = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    assert list(cmd.fields["Cause"]) == ["nas", "detach"]
    assert not ue.session.session_created and ue.emm_state is EmmState.DEREGISTERED
    sc.s1(s1ap.ue_context_release_complete(sc.mme_ue_id or 0, sc.enb_ue_id))
    assert sc.core.ue_count() == 0


def test_idle_ue_of_a_restarted_sgw_is_detached_implicitly() -> None:
    sc = Scenario()
    csr = attached(sc)
    first = sc.core.ue_by_imsi(IMSI)
    assert first is not None
    # the S-GW's Recovery of first contact, in a Create Session Response, is learnt
    sc.feed(S11Received(wire(create_session_response(csr, recovery=3))))
    assert first.session.session_created
    # an idle UE (no S1 connection) is detached implicitly
    first.enb_assoc = first.enb_ue_id = None
    sc.feed(S11Received(wire(gtpv2c.echo_request(77, 4)), peer=(SGW_IP, 2123)))
    assert "mme.s11.sgw_restarted" in sc.log_kinds()
    assert sc.core.ue_by_imsi(IMSI) is None and sc.received() == []


def create_session_response(request: Message, recovery: int) -> Message:
    return gtpv2c.create_session_response(
        request.fields["sequence"], teid=request.fields["sender_fteid_c"]["teid"], cause=16,
        sender_fteid=(gtpv2c.FTEID_S11S4_SGW, 0x5001, SGW_IP),
        pgw_fteid=(gtpv2c.FTEID_S5S8C_PGW, 0x6001, "127.0.0.5"),
        paa={"pdn_type": 1, "ipv4": "10.45.0.3"},
        bearer_contexts=[{"ebi": 5, "cause": 16,
                          "s1u_sgw_fteid": (gtpv2c.FTEID_S1U_SGW, 0x7001, SGW_IP)}],
        recovery=recovery)
