"""The UE's IMS user agent core driven without sockets, like TS 24.229's sequence charts:
REGISTER with an IMS AKA challenge (§5.1.1.2, TS 33.203 §6.1), an emergency call answered
then ended by the UE's BYE after the hold (RFC 3261 §13.2.2.4, §15.1.1), the far end hanging
up first, a call-back answered (TS 23.167 §7.7), and a call nobody answers."""

from __future__ import annotations

import base64

from corenet.codecs import sdp, sip
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.core.actions import StartTimer, TimerExpired
from corenet.core.plmn import Plmn
from corenet.crypto.milenage import Milenage, generate_vector, int_to_sqn
from corenet.protocols.sip_transactions import (
    RequestReceived,
    ResponseReceived,
    SipPeer,
    TransactionTimeout,
    client_key,
)
from sim_ue.dialling import analyse_dialled
from sim_ue.ims_core import (
    CALL_HOLD,
    SIP_GUARD,
    Action,
    CallbackEnded,
    CallDone,
    CallOutcome,
    RegistrationDone,
    SendRequest,
    SendResponse,
    SipReceived,
    UaCore,
)
from sim_ue.isim import Isim

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
HOME = Plmn.parse("44010")
DOMAIN = "ims.mnc010.mcc440.3gppnetwork.org"
PCSCF = SipPeer("UDP", ("127.0.0.6", 5060))
UE = ("127.145.0.7", 5060)


def _core() -> UaCore:
    isim = Isim("440100000000001", "819010000001", HOME, Milenage(K, OPC))
    return UaCore(isim, UE, PCSCF, hold=1.0, timeout=35.0)


def _sent(actions: list[Action]) -> list[SipRequest]:
    return [a.request for a in actions if isinstance(a, SendRequest)]


def _answer(core: UaCore, req: SipRequest, status: int, **kwargs: object) -> list[Action]:
    resp = sip.response_for(req, status, to_tag="far", **kwargs)  # type: ignore[arg-type]
    return core.handle(SipReceived(ResponseReceived(resp, PCSCF.address, client_key(req), req),
                                   PCSCF))


def _challenge() -> str:
    """TS 33.203 §6.1: nonce = base64(RAND || AUTN) from the home network's AKA vector."""
    rand = bytes(range(16))
    vector = generate_vector(Milenage(K, OPC), rand, int_to_sqn(32), bytes.fromhex("8000"))
    nonce = base64.b64encode(rand + vector.autn).decode()
    return f'Digest realm="{DOMAIN}", nonce="{nonce}", algorithm=AKAv1-MD5, qop="auth"'


def test_register_answers_the_aka_challenge_once() -> None:
    core = _core()
    (first,) = _sent(core.register())
    assert first.method == "REGISTER" and str(first.request_uri) == f"sip:{DOMAIN}"
    assert str(first.to.uri) == f"sip:+819010000001@{DOMAIN}"
    (second,) = _sent(_answer(core, first, 401, headers=[("WWW-Authenticate", _challenge())]))
    auth = second.header("Authorization") or ""
    assert "algorithm=AKAv1-MD5" in auth and "auts=" not in auth
    assert second.call_id == first.call_id and second.cseq.seq == first.cseq.seq + 1
    out = _answer(core, second, 200, headers=[("P-Associated-URI", "<tel:+819010000001>")])
    (done,) = [a for a in out if isinstance(a, RegistrationDone)]
    assert done.registration.registered and done.registration.status == 200
    assert done.registration.associated == ["<tel:+819010000001>"]


def test_emergency_call_is_acked_held_and_ended_by_the_ue() -> None:
    core = _core()
    result, out = core.call(analyse_dialled("119", domain=DOMAIN))
    (invite,) = _sent(out)
    assert str(invite.request_uri) == "urn:service:sos.fire"
    assert invite.header("P-Preferred-Identity") is None  # §5.1.6.8.2: unregistered
    assert StartTimer(SIP_GUARD, client_key(invite), 35.0) in out
    out = _answer(core, invite, 200, headers=[("Contact", "<sip:psap@127.0.0.8>")])
    (ack,) = _sent(out)
    assert ack.method == "ACK" and str(ack.request_uri) == "sip:psap@127.0.0.8"
    (hold,) = [a for a in out if isinstance(a, StartTimer) and a.name == CALL_HOLD]
    (bye,) = _sent(core.handle(TimerExpired(CALL_HOLD, hold.key)))
    assert bye.method == "BYE" and bye.call_id == invite.call_id
    out = _answer(core, bye, 200)
    assert [a.result for a in out if isinstance(a, CallDone)] == [result]
    assert (result.outcome, result.sip_status, result.registered) == (
        CallOutcome.ANSWERED, 200, False)
    assert core.calls == [result]


def test_far_end_hanging_up_first_ends_the_call_without_our_bye() -> None:
    core = _core()
    result, out = core.call(analyse_dialled("110", domain=DOMAIN))
    (invite,) = _sent(out)
    _answer(core, invite, 200, headers=[("Contact", "<sip:psap@127.0.0.8>")])
    bye = sip.make_request("BYE", f"sip:{UE[0]}", from_="<sip:psap@127.0.0.8>;tag=far",
                           to=str(invite.from_), call_id=invite.call_id, cseq=1,
                           via="SIP/2.0/UDP 127.0.0.6;branch=z9hG4bKpsapbye")
    out = core.handle(SipReceived(RequestReceived(bye, PCSCF.address, ("server", "b", "BYE")),
                                  PCSCF))
    assert [a.response.status for a in out if isinstance(a, SendResponse)] == [200]
    assert [a.result for a in out if isinstance(a, CallDone)] == [result]
    assert not _sent(out)


def test_call_without_final_response_fails() -> None:
    core = _core()
    result, out = core.call(analyse_dialled("119", domain=DOMAIN))
    (invite,) = _sent(out)
    timeout = TransactionTimeout(client_key(invite), invite, "B")
    out = core.handle(SipReceived(timeout, PCSCF))
    assert [a.result for a in out if isinstance(a, CallDone)] == [result]
    assert (result.outcome, result.sip_status, result.reason) == (
        CallOutcome.FAILED, None, "no final response")


def test_call_back_is_answered_then_ended_by_the_ue_after_the_hold() -> None:
    core = _core()
    invite = sip.make_request(
        "INVITE", f"sip:+819010000001@{UE[0]}", from_="<sip:psap@127.0.0.8>;tag=psap",
        to="<tel:+819010000001>", call_id="cb-1@psap", cseq=1,
        via="SIP/2.0/UDP 127.0.0.6;branch=z9hG4bKcb1", contact="<sip:psap@127.0.0.8>",
        headers=[("P-Asserted-Identity", "<sip:psap@127.0.0.8>")],
        body=sdp.encode(sdp.audio_offer("127.0.0.8", 40002)), content_type="application/sdp")
    out = core.handle(SipReceived(RequestReceived(invite, PCSCF.address,
                                                  ("server", "b", "INVITE")), PCSCF))
    responses: list[SipResponse] = [a.response for a in out if isinstance(a, SendResponse)]
    assert [r.status for r in responses] == [180, 200]
    answer = sdp.decode(responses[1].body)  # RFC 3264 §6
    assert answer.connection is not None and answer.connection.address == UE[0]
    (record,) = core.callbacks
    assert (record.caller, record.identity) == ("sip:psap@127.0.0.8", "<sip:psap@127.0.0.8>")
    (hold,) = [a for a in out if isinstance(a, StartTimer) and a.name == CALL_HOLD]
    (bye,) = _sent(core.handle(TimerExpired(CALL_HOLD, hold.key)))
    assert bye.method == "BYE" and str(bye.request_uri) == "sip:psap@127.0.0.8"
    out = _answer(core, bye, 200)
    assert [a.callback for a in out if isinstance(a, CallbackEnded)] == [record]
    assert (record.outcome, record.sip_status, record.ended_by) == ("answered", 200, "local")


def test_guard_timer_ends_a_transaction_the_layer_never_ended() -> None:
    core = _core()
    result, out = core.call(analyse_dialled("118", domain=DOMAIN))
    (guard,) = [a for a in out if isinstance(a, StartTimer) and a.name == SIP_GUARD]
    out = core.handle(TimerExpired(SIP_GUARD, guard.key))
    assert [a.result for a in out if isinstance(a, CallDone)] == [result]
    assert result.outcome is CallOutcome.FAILED and result.sip_status is None


def test_call_back_answers_copy_the_record_route_and_the_bye_follows_it() -> None:
    """RFC 3261 §12.1.1: the 180 and 200 to the call-back carry the INVITE's Record-Route
    (in order) and the UE's Contact; the UE's BYE has that route set as Route (§12.2.1.1)."""
    core = _core()
    rrs = ["<sip:127.0.0.6:5060;lr>", "<sip:127.0.0.9:5060;lr>"]
    invite = sip.make_request(
        "INVITE", f"sip:+819010000001@{UE[0]}", from_="<sip:psap@127.0.0.8>;tag=psap",
        to="<tel:+819010000001>", call_id="cb-2@psap", cseq=1,
        via="SIP/2.0/UDP 127.0.0.6;branch=z9hG4bKcb2", contact="<sip:psap@127.0.0.8>",
        headers=[("Record-Route", r) for r in rrs] + [("Priority", "psap-callback")],
        body=sdp.encode(sdp.audio_offer("127.0.0.8", 40002)), content_type="application/sdp")
    out = core.handle(SipReceived(RequestReceived(invite, PCSCF.address,
                                                  ("server", "b", "INVITE")), PCSCF))
    responses = [a.response for a in out if isinstance(a, SendResponse)]
    assert [r.status for r in responses] == [180, 200]
    for resp in responses:
        assert resp.headers_all("Record-Route") == rrs
        assert [str(c.uri) for c in resp.contacts] == [f"sip:+819010000001@{UE[0]}:{UE[1]}"]
    (hold,) = [a for a in out if isinstance(a, StartTimer) and a.name == CALL_HOLD]
    sent = [a for a in core.handle(TimerExpired(CALL_HOLD, hold.key))
            if isinstance(a, SendRequest)]
    (bye,) = sent
    assert bye.peer == PCSCF
    assert bye.request.headers_all("Route") == rrs


def test_unregistered_emergency_invite_names_no_msisdn_and_the_imei_instance() -> None:
    """TS 24.229 §5.1.6.8.2: no public user identity in the Contact of an unregistered
    emergency INVITE, the IMEI as +sip.instance (RFC 7254); a registered call keeps its own."""
    isim = Isim("440100000000001", "819010000001", HOME, Milenage(K, OPC))
    core = UaCore(isim, UE, PCSCF, imei="35349006987331")
    _, out = core.call(analyse_dialled("119", domain=DOMAIN))
    (invite,) = _sent(out)
    wire = sip.decode(sip.encode(invite))
    assert isinstance(wire, SipRequest)
    (contact,) = wire.contacts
    assert (contact.uri.user, contact.uri.host, contact.uri.port) == (None, UE[0], UE[1])
    assert contact.param("+sip.instance") == '"<urn:gsma:imei:35349006-987331-0>"'
    assert "819010000001" not in wire.header("Contact")  # type: ignore[operator]
    normal = core.invite_request(analyse_dialled("0312345678", domain=DOMAIN), registered=True)
    assert normal.contacts[0].uri.user == "+819010000001"


def _emergency_registration(core: UaCore, status: int) -> SipRequest:
    (reg,) = _sent(core.register(emergency=True))
    out = _answer(core, reg, status, headers=[("Contact", f"<{reg.contacts[0].uri}>")])
    (done,) = [a.registration for a in out if isinstance(a, RegistrationDone)]
    assert done.emergency and done.registered == (status == 200)
    return reg


def test_emergency_registration_then_the_call_over_it() -> None:
    """TS 24.229 §5.1.6.2: a REGISTER of its own with "sos" in the Contact URI; the emergency
    INVITE then goes over it (§5.1.6.8.2), from the IMPU, Contact with "sos"."""
    core = _core()
    (normal,) = _sent(core.register())
    reg = _emergency_registration(core, 200)
    assert reg.contacts[0].uri.params == (("sos", None),)
    assert reg.call_id != normal.call_id and reg.from_.tag != normal.from_.tag
    assert core.registration is None  # the normal registration is not touched
    result, out = core.call(analyse_dialled("119", domain=DOMAIN))
    (invite,) = _sent(out)
    assert result.registered and result.emergency_registration == 200
    assert str(invite.from_.uri) == f"sip:+819010000001@{DOMAIN}"
    assert invite.contacts[0].uri.params == (("sos", None),)


def test_failed_emergency_registration_falls_back_to_an_unregistered_call() -> None:
    """TS 24.229 §5.1.6.1: the attempt fails (403 from a P-CSCF with no route home), the
    emergency INVITE goes unregistered: anonymous From, no "sos" contact, the failure kept."""
    core = _core()
    _emergency_registration(core, 403)
    result, out = core.call(analyse_dialled("110", domain=DOMAIN))
    (invite,) = _sent(out)
    assert (result.registered, result.emergency_registration) == (False, 403)
    assert str(invite.from_.uri) == "sip:anonymous@anonymous.invalid"
    assert invite.contacts[0].uri.params == () and invite.contacts[0].uri.user is None
    assert result.to_json()["emergency_registration"] == 403


def test_ims_aka_on_the_usim_shares_its_sqn_array() -> None:
    """TS 33.203 §6.1 on the USIM of the UICC: one SQN array for EPS and IMS AKA, as the HSS
    keeps one SQN_HE per IMSI; an SQN an EPS challenge used is stale for IMS (TS 33.102
    §6.3.3: synchronisation failure, AUTS), a fresher one is answered with RES."""
    from corenet.config.subscribers import Subscriber
    from corenet.crypto.milenage import resync_sqn, sqn_to_int
    from sim_ue.usim import AuthSuccess, Usim

    sub = Subscriber(imsi="440100000000001", msisdn="819010000001", k=K.hex(), opc=OPC.hex())
    usim = Usim.from_subscriber(sub)
    isim = Isim.from_subscriber(sub, HOME, usim.sqn)
    milenage = Milenage(K, OPC)

    def nonce(sqn: int, amf: str) -> tuple[bytes, str]:
        rand = bytes([sqn & 0xFF]) * 16
        av = generate_vector(milenage, rand, int_to_sqn(sqn), bytes.fromhex(amf))
        return av.autn, base64.b64encode(rand + av.autn).decode()

    autn, _ = nonce(64, "8000")
    assert isinstance(usim.authenticate(bytes([64]) * 16, autn), AuthSuccess)
    _, stale = nonce(64, "0000")
    res, auts = isim.challenge(stale)
    assert res is None and auts is not None
    assert sqn_to_int(resync_sqn(milenage, bytes([64]) * 16, auts)) == 64
    _, fresh = nonce(96, "0000")
    res, auts = isim.challenge(fresh)
    assert res is not None and auts is None
