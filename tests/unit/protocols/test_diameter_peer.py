"""Diameter peer machine (RFC 6733 §5, RFC 3539 §3.4): two cores connected in memory."""

from __future__ import annotations

import copy
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.core.plmn import Plmn
from corenet.protocols import diameter_peer as dp

HSS = "hss.epc.mnc010.mcc440.3gppnetwork.org"
MME = "mme.epc.mnc020.mcc440.3gppnetwork.org"
REALM_H = "epc.mnc010.mcc440.3gppnetwork.org"
REALM_M = "epc.mnc020.mcc440.3gppnetwork.org"
TW = 30.0


def pair(
    *, allowed: frozenset[str] = frozenset({MME}), reopen: bool = False,
    client_apps: tuple[tuple[int, int], ...] = ((dia.VENDOR_3GPP, dia.S6A_APPLICATION_ID),),
) -> tuple[dp.DiameterPeer, dp.DiameterPeer]:
    client = dp.DiameterPeer(dp.PeerConfig(MME, REALM_M, watchdog_s=TW,
                                           vendor_specific_application_ids=client_apps),
                             dp.Role.INITIATOR, reopen=reopen)
    server = dp.DiameterPeer(dp.PeerConfig(HSS, REALM_H, allowed_peers=allowed,
                                           watchdog_s=TW), dp.Role.RESPONDER)
    server.connection_made(0.0)
    client.connection_made(0.0)
    return client, server


def roundtrip(a: dp.DiameterPeer, b: dp.DiameterPeer, now: float = 0.0) -> None:
    """Move bytes both ways until both are quiet."""
    for _ in range(20):
        moved = False
        for src, dst in ((a, b), (b, a)):
            for data in src.data_to_send():
                dst.receive(data, now)
                moved = True
        if not moved:
            return


def events(peer: dp.DiameterPeer) -> list[dp.PeerEvent]:
    out = []
    while (e := peer.next_event()) is not None:
        out.append(e)
    return out


def of(kind: type, evs: list[dp.PeerEvent]) -> list:
    return [e for e in evs if isinstance(e, kind)]


def opened() -> tuple[dp.DiameterPeer, dp.DiameterPeer]:
    client, server = pair()
    roundtrip(client, server)
    events(client)
    events(server)
    return client, server


def air_request(e2e: int = 0) -> Message:
    return s6a.air(dia.session_id(MME, 1, 2), MME, REALM_M, REALM_H, "440100000000001",
                   Plmn("440", "20"), hop_by_hop=0, end_to_end=e2e)


def test_capabilities_exchange_opens_both() -> None:
    client, server = pair()
    assert client.state is dp.PeerState.WAIT_I_CEA and server.state is dp.PeerState.WAIT_CER
    cer = dia.decode(client.data_to_send()[0])
    assert cer.name == "CER" and dia.avp(cer, "Origin-Host") == MME
    server.receive(dia.encode(cer), 0.0)
    cea = dia.decode(server.data_to_send()[0])
    assert cea.name == "CEA" and dia.avp(cea, "Result-Code") == 2001
    assert dia.avp(cea, "Vendor-Specific-Application-Id", "Auth-Application-Id") == 16777251
    client.receive(dia.encode(cea), 0.0)
    assert client.is_open and server.is_open
    (o,) = of(dp.PeerOpened, events(client))
    assert (o.origin_host, o.origin_realm) == (HSS, REALM_H)
    (o,) = of(dp.PeerOpened, events(server))
    assert o.origin_host == MME
    assert server.peer_host == MME and client.watchdog_state is dp.WatchdogState.OKAY


def test_unknown_peer_gets_3010_and_is_closed() -> None:
    client, server = pair(allowed=frozenset({"other.mme"}))
    server.receive(client.data_to_send()[0], 0.0)
    (cea_bytes,) = server.data_to_send()
    cea = dia.decode(cea_bytes)
    assert dia.avp(cea, "Result-Code") == dia.ResultCode.DIAMETER_UNKNOWN_PEER
    assert cea.fields["flags"]["error"]  # RFC 6733 §7.1.3
    assert server.state is dp.PeerState.CLOSED
    (rej,) = of(dp.CapabilitiesRejected, events(server))
    assert rej.result_code == 3010 and rej.origin_host == MME
    client.receive(cea_bytes, 0.0)
    assert client.state is dp.PeerState.CLOSED
    assert of(dp.CapabilitiesRejected, events(client))[0].result_code == 3010


def test_no_common_application_5010() -> None:
    client, server = pair(client_apps=((dia.VENDOR_3GPP, 16777216),))
    roundtrip(client, server)
    assert server.state is dp.PeerState.CLOSED and client.state is dp.PeerState.CLOSED
    assert of(dp.CapabilitiesRejected, events(client))[0].result_code == 5010


def test_relay_agent_responder_shares_every_application() -> None:
    """RFC 6733 §2.4, §5.3: an agent advertising the Relay application accepts an S6a peer."""
    client = dp.DiameterPeer(dp.PeerConfig(MME, REALM_M, watchdog_s=TW), dp.Role.INITIATOR)
    relay = dp.DiameterPeer(dp.PeerConfig(
        "dea.example.org", REALM_M, auth_application_ids=(dp.RELAY_APPLICATION_ID,),
        vendor_specific_application_ids=(), watchdog_s=TW), dp.Role.RESPONDER)
    relay.connection_made(0.0)
    client.connection_made(0.0)
    roundtrip(client, relay)
    assert client.is_open and relay.is_open
    assert of(dp.PeerOpened, events(relay))[0].origin_host == MME


def test_message_before_cer_closes() -> None:
    _, server = pair()
    dwr = dia.dwr(MME, REALM_M, hop_by_hop=1, end_to_end=1)
    server.receive(dia.encode(dwr), 0.0)
    assert server.state is dp.PeerState.CLOSED
    assert of(dp.ConnectionClosed, events(server))


def test_cea_timeout_closes() -> None:
    client, _ = pair()
    assert client.get_timer() == 10.0
    client.handle_timer(10.0)
    assert client.state is dp.PeerState.CLOSED
    assert client.get_timer() is None


def test_request_answer_correlation_and_stream_fragments() -> None:
    client, server = opened()
    with_e2e = air_request()
    hbh = client.request(with_e2e, 1.0)
    data = b"".join(client.data_to_send())
    for i in range(0, len(data), 7):  # TCP may cut anywhere
        server.receive(data[i:i + 7], 1.0)
    (rr,) = of(dp.RequestReceived, events(server))
    assert rr.message.name == "AIR" and rr.message.fields["hop_by_hop"] == hbh
    assert rr.message.fields["end_to_end"] != 0
    server.send_answer(s6a.aia(rr.message, HSS, REALM_H,
                               experimental_result=5001), 1.5)
    roundtrip(client, server, 1.5)
    (ar,) = of(dp.AnswerReceived, events(client))
    assert ar.message.name == "AIA" and ar.request.fields["hop_by_hop"] == hbh
    assert s6a.result_of(ar.message) == (5001, True)


def test_request_timeout_event() -> None:
    client, _ = opened()
    hbh = client.request(air_request(), 1.0, timeout=2.0)
    assert client.get_timer() == 3.0
    client.handle_timer(3.0)
    (t,) = of(dp.RequestTimedOut, events(client))
    assert t.hop_by_hop == hbh and t.request.name == "AIR"


def test_many_pending_requests_time_out_in_deadline_order_answered_ones_never() -> None:
    client, server = opened()
    timeouts = [5.0, 2.0, 9.0, 2.0, 7.0, 3.0] * 30
    sent = [client.request(air_request(), 1.0, timeout=t) for t in timeouts]
    server.receive(b"".join(client.data_to_send()), 1.0)
    requests = [e.message for e in of(dp.RequestReceived, events(server))]
    for req in requests[::3]:  # a third is answered
        server.send_answer(s6a.aia(req, HSS, REALM_H, experimental_result=5001), 1.5)
    roundtrip(client, server, 1.5)
    answered = {a.request.fields["hop_by_hop"] for a in of(dp.AnswerReceived, events(client))}
    assert answered == set(sent[::3])
    left = [(1.0 + t, h) for t, h in zip(timeouts, sent, strict=True) if h not in answered]
    assert client.get_timer() == min(at for at, _ in left)
    client.handle_timer(4.0)  # 2.0 and 3.0 expire
    first = [e.hop_by_hop for e in of(dp.RequestTimedOut, events(client))]
    assert sorted(first) == sorted(h for at, h in left if at <= 4.0)
    assert client.get_timer() == min(at for at, _ in left if at > 4.0) == 8.0
    client.handle_timer(20.0)
    rest = [e.hop_by_hop for e in of(dp.RequestTimedOut, events(client))]
    assert sorted(first + rest) == sorted(h for _, h in left)
    deadline = {h: at for at, h in left}
    assert [deadline[h] for h in rest] == sorted(deadline[h] for h in rest)  # earliest first
    assert client.get_timer() == 31.5  # only the watchdog, 30 s after the last answer


def test_request_refused_unless_open() -> None:
    client, _ = pair()
    try:
        client.request(air_request(), 0.0)
    except dp.PeerNotOpen:
        pass
    else:
        raise AssertionError("request accepted before CEA")


def test_watchdog_sends_dwr_after_silence_and_dwa_keeps_okay() -> None:
    client, server = opened()
    assert client.get_timer() == TW
    client.handle_timer(TW)
    (dwr,) = [dia.decode(d) for d in client.data_to_send()]
    assert dwr.name == "DWR" and dia.avp(dwr, "Origin-Host") == MME
    server.receive(dia.encode(dwr), TW)
    (dwa,) = [dia.decode(d) for d in server.data_to_send()]
    assert dwa.name == "DWA" and dia.avp(dwa, "Result-Code") == 2001
    client.receive(dia.encode(dwa), TW + 0.1)
    assert client.watchdog_state is dp.WatchdogState.OKAY
    assert client.get_timer() == TW + 0.1 + TW
    assert not of(dp.WatchdogChanged, events(client))


def test_watchdog_failure_suspect_then_down() -> None:
    client, _ = opened()
    client.request(air_request(), 1.0, timeout=100.0)
    client.handle_timer(TW + 1.0)  # 30 s silent after the request: DWR
    assert [dia.decode(d).name for d in client.data_to_send()] == ["AIR", "DWR"]
    client.handle_timer(2 * TW + 1.0)  # no DWA: SUSPECT, failover
    assert client.watchdog_state is dp.WatchdogState.SUSPECT
    evs = events(client)
    (fo,) = of(dp.RequestsFailedOver, evs)
    assert [r.name for r in fo.requests] == ["AIR"]
    assert of(dp.WatchdogChanged, evs)[0].new is dp.WatchdogState.SUSPECT
    assert not client.is_open
    client.handle_timer(3 * TW + 1.0)  # still nothing: DOWN, connection closed
    assert client.watchdog_state is dp.WatchdogState.DOWN
    assert client.state is dp.PeerState.CLOSED
    assert of(dp.ConnectionClosed, events(client))


def test_suspect_fails_back_on_any_message() -> None:
    client, server = opened()
    client.handle_timer(TW)
    client.data_to_send()
    client.handle_timer(2 * TW)
    assert client.watchdog_state is dp.WatchdogState.SUSPECT
    server.receive(dia.encode(dia.dwr(MME, REALM_M, hop_by_hop=9, end_to_end=9)), 0.0)
    client.receive(dia.encode(dia.dwr(HSS, REALM_H, hop_by_hop=7, end_to_end=7)), 2 * TW + 1)
    assert client.watchdog_state is dp.WatchdogState.OKAY
    assert client.is_open


def test_reopen_needs_three_dwas() -> None:
    client, server = pair(reopen=True)
    roundtrip(client, server, 0.0)
    assert client.state is dp.PeerState.OPEN
    assert client.watchdog_state is dp.WatchdogState.REOPEN and not client.is_open
    for i in range(1, 3):
        client.handle_timer(i * TW)
        roundtrip(client, server, i * TW)
    assert client.watchdog_state is dp.WatchdogState.OKAY
    assert client.is_open


def test_duplicate_end_to_end_gets_cached_answer() -> None:
    client, server = opened()
    client.request(air_request(), 1.0)
    first_bytes = client.data_to_send()[0]
    server.receive(first_bytes, 1.0)
    (rr,) = of(dp.RequestReceived, events(server))
    # retransmission before the answer: dropped, still in progress
    server.receive(first_bytes, 1.1)
    assert of(dp.MessageDiscarded, events(server))[0].reason == "duplicate"
    server.send_answer(s6a.aia(rr.message, HSS, REALM_H, experimental_result=5420), 1.2)
    server.data_to_send()
    # RFC 6733 §3: retransmitted with T flag and a new Hop-by-Hop after failover
    dup = dia.decode(first_bytes)
    flags = {**dup.fields["flags"], "retransmit": True}
    dup = replace(dup, fields={**dup.fields, "flags": flags, "hop_by_hop": 4242})
    server.receive(dia.encode(dup), 2.0)
    assert not of(dp.RequestReceived, events(server))
    (again,) = [dia.decode(d) for d in server.data_to_send()]
    assert again.fields["hop_by_hop"] == 4242
    assert again.fields["end_to_end"] == dup.fields["end_to_end"]
    assert s6a.result_of(again) == (5420, True)


def test_malformed_request_gets_error_answer_and_connection_stays() -> None:
    client, server = opened()
    raw = bytearray(dia.encode(replace(air_request(), fields={
        **air_request().fields, "hop_by_hop": 77, "end_to_end": 78})))
    raw[4] |= dia.FLAG_E  # E bit in a request: RFC 6733 §3 -> 3008
    server.receive(bytes(raw), 1.0)
    (ans,) = [dia.decode(d) for d in server.data_to_send()]
    assert dia.avp(ans, "Result-Code") == dia.ResultCode.DIAMETER_INVALID_HDR_BITS
    assert ans.fields["hop_by_hop"] == 77 and ans.fields["flags"]["error"]
    assert of(dp.ErrorAnswered, events(server))[0].result_code == 3008
    assert server.is_open


def test_missing_avp_answered_5005_by_the_machine() -> None:
    _, server = opened()
    req = air_request()
    req = replace(req, fields={**req.fields, "hop_by_hop": 5, "end_to_end": 6,
                               "avps": [a for a in req.fields["avps"] if a[0] != "User-Name"]})
    server.receive(dia.encode(req), 1.0)
    (ans,) = [dia.decode(d) for d in server.data_to_send()]
    assert dia.avp(ans, "Result-Code") == 5005
    assert dia.avp(ans, "Failed-AVP", "User-Name") == ""
    assert not of(dp.RequestReceived, events(server))


def test_bad_avp_length_5014() -> None:
    _, server = opened()
    raw = bytearray(dia.encode(replace(air_request(), fields={
        **air_request().fields, "hop_by_hop": 5, "end_to_end": 6})))
    # the Session-Id AVP (first, at offset 20) claims more octets than the message holds
    raw[25:28] = (len(raw)).to_bytes(3, "big")
    server.receive(bytes(raw), 1.0)
    (ans,) = [dia.decode(d) for d in server.data_to_send()]
    assert dia.avp(ans, "Result-Code") == dia.ResultCode.DIAMETER_INVALID_AVP_LENGTH
    assert dia.avp(ans, "Failed-AVP") is not None


def test_framing_error_closes() -> None:
    _, server = opened()
    raw = bytearray(dia.encode(dia.dwr(MME, REALM_M, hop_by_hop=3, end_to_end=4)))
    raw[0] = 2  # RFC 6733 §3: version must be 1
    server.receive(bytes(raw), 1.0)
    (ans,) = [dia.decode(d) for d in server.data_to_send()]
    assert dia.avp(ans, "Result-Code") == dia.ResultCode.DIAMETER_UNSUPPORTED_VERSION
    assert server.state is dp.PeerState.CLOSED
    assert of(dp.ConnectionClosed, events(server))


def test_disconnect_peer_request() -> None:
    client, server = opened()
    client.close(5.0)
    assert client.state is dp.PeerState.CLOSING
    roundtrip(client, server, 5.0)
    assert server.state is dp.PeerState.CLOSED and client.state is dp.PeerState.CLOSED
    (d,) = of(dp.DisconnectRequested, events(server))
    assert d.cause == dia.DisconnectCause.DO_NOT_WANT_TO_TALK_TO_YOU


def test_unmatched_answer_discarded() -> None:
    client, server = opened()
    req = air_request()
    req = replace(req, fields={**req.fields, "hop_by_hop": 999, "end_to_end": 1})
    client.receive(dia.encode(s6a.aia(req, HSS, REALM_H, experimental_result=5001)), 1.0)
    assert of(dp.MessageDiscarded, events(client))[0].reason == "unmatched answer"


_OPEN_SERVER = opened()[1]
_AIR_BYTES = dia.encode(replace(air_request(), fields={
    **air_request().fields, "hop_by_hop": 5, "end_to_end": 6}))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    server = copy.deepcopy(_OPEN_SERVER)
    server.receive(data, 1.0)
    for out in server.data_to_send():
        dia.decode(out)  # every answer we produce is well formed
    events(server)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=20, max_value=200), st.binary(min_size=1, max_size=4))
def test_corrupted_request_never_raises(pos: int, junk: bytes) -> None:
    server = copy.deepcopy(_OPEN_SERVER)
    raw = bytearray(_AIR_BYTES)
    pos = pos % len(raw)
    raw[pos:pos + len(junk)] = junk
    raw[1:4] = len(raw).to_bytes(3, "big")
    server.receive(bytes(raw), 1.0)
    for out in server.data_to_send():
        dia.decode(out)
    events(server)


# ------------------------------------------------------------------ peer identity (RFC 6733 §5.6.1)


def _responder(**kw: object) -> dp.DiameterPeer:
    remote = kw.pop("remote_address", None)
    names = kw.pop("certificate_names", None)
    server = dp.DiameterPeer(dp.PeerConfig(HSS, REALM_H, watchdog_s=TW, **kw),  # type: ignore[arg-type]
                             dp.Role.RESPONDER, remote_address=remote,  # type: ignore[arg-type]
                             certificate_names=names)  # type: ignore[arg-type]
    server.connection_made(0.0)
    return server


def _client(host: str = MME, **kw: object) -> dp.DiameterPeer:
    client = dp.DiameterPeer(dp.PeerConfig(host, REALM_M, watchdog_s=TW, **kw),  # type: ignore[arg-type]
                             dp.Role.INITIATOR)
    client.connection_made(0.0)
    return client


def _cea_code(server: dp.DiameterPeer) -> int:
    (cea,) = [dia.decode(d) for d in server.data_to_send()]
    assert cea.name == "CEA"
    return int(dia.avp(cea, "Result-Code"))


def test_configured_origin_host_only_from_its_addresses() -> None:
    config = {"allowed_peers": frozenset({MME}), "peer_addresses": {MME: frozenset({"10.0.0.2"})}}
    liar = _responder(remote_address="10.0.0.66", **config)
    liar.receive(_client().data_to_send()[0], 0.0)
    assert _cea_code(liar) == dia.ResultCode.DIAMETER_UNKNOWN_PEER
    assert liar.state is dp.PeerState.CLOSED
    (rej,) = of(dp.CapabilitiesRejected, events(liar))
    assert rej.origin_host == MME and "10.0.0.66" in rej.detail
    honest = _responder(remote_address="10.0.0.2", **config)
    honest.receive(_client().data_to_send()[0], 0.0)
    assert _cea_code(honest) == 2001 and honest.is_open


def test_origin_host_compared_as_fqdn_case_insensitively() -> None:
    server = _responder(remote_address="10.0.0.2", allowed_peers=frozenset({MME}),
                        peer_addresses={MME: frozenset({"10.0.0.2"})})
    server.receive(_client(MME.upper()).data_to_send()[0], 0.0)
    assert _cea_code(server) == 2001


def test_certificate_must_name_the_cer_origin_host() -> None:
    server = _responder(certificate_names=frozenset({"mme2.example.org"}))
    server.receive(_client().data_to_send()[0], 0.0)
    assert _cea_code(server) == dia.ResultCode.DIAMETER_UNKNOWN_PEER
    assert "certificate" in of(dp.CapabilitiesRejected, events(server))[0].detail


def test_cer_in_open_naming_another_host_closes() -> None:
    client, server = opened()
    other = _client("mme2.example.org")
    server.receive(other.data_to_send()[0], 1.0)
    assert _cea_code(server) == dia.ResultCode.DIAMETER_UNKNOWN_PEER
    assert server.state is dp.PeerState.CLOSED


def test_cea_from_another_host_than_configured_closes() -> None:
    client = _client(expected_peer="hss.elsewhere.org")
    server = _responder()
    roundtrip(client, server)
    assert client.state is dp.PeerState.CLOSED and not client.is_open
    (rej,) = of(dp.CapabilitiesRejected, events(client))
    assert rej.result_code == 3010 and rej.origin_host == HSS
    assert not of(dp.PeerOpened, events(client))


def _as_sent_by(origin: str, e2e: int, hbh: int, route: tuple[str, ...] = ()) -> bytes:
    req = s6a.air(dia.session_id(origin, 1, e2e), origin, REALM_M, REALM_H, "440100000000001",
                  Plmn("440", "20"), hop_by_hop=hbh, end_to_end=e2e)
    avps = list(req.fields["avps"]) + [("Route-Record", r) for r in route]
    return dia.encode(replace(req, fields={**req.fields, "avps": avps}))


def test_request_with_another_origin_host_answered_5012_not_delivered() -> None:
    _, server = opened()  # the connection's peer is MME
    server.receive(_as_sent_by("mme2.example.org", 90, 91), 1.0)
    assert not of(dp.RequestReceived, evs := events(server))
    (err,) = of(dp.ErrorAnswered, evs)
    assert err.result_code == dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY
    (ans,) = [dia.decode(d) for d in server.data_to_send()]
    assert ans.name == "AIA" and ans.fields["hop_by_hop"] == 91
    assert dia.avp(ans, "Result-Code") == 5012 and dia.avp(ans, "Authentication-Info") is None
    assert server.is_open
    # the peer's own request with the same End-to-End id is not answered from any cache
    server.receive(_as_sent_by(MME, 90, 92), 1.0)
    (rr,) = of(dp.RequestReceived, events(server))
    assert dia.avp(rr.message, "Origin-Host") == MME


def test_relayed_request_accepted_only_from_a_configured_agent() -> None:
    agent = "dra.epc.mnc020.mcc440.3gppnetwork.org"
    for agents, delivered in ((frozenset({agent}), True), (frozenset(), False)):
        server = _responder(relay_agents=agents)
        client = _client(agent)
        roundtrip(client, server)
        events(server)
        server.receive(_as_sent_by(MME, 5, 6, route=(MME,)), 1.0)
        got = events(server)
        assert bool(of(dp.RequestReceived, got)) is delivered
        assert bool(of(dp.ErrorAnswered, got)) is not delivered
    # the first agent records the peer it received the request from, the originator
    # (RFC 6733 §6.1.9, §6.7.1); a request whose first Route-Record is another host is forged
    server = _responder(relay_agents=frozenset({agent}))
    roundtrip(_client(agent), server)
    events(server)
    server.receive(_as_sent_by(MME, 7, 8, route=("someone.else.org", MME)), 1.0)
    assert of(dp.ErrorAnswered, events(server))
    server.receive(_as_sent_by(MME, 9, 10, route=(MME, "dea.other.org")), 1.0)
    assert of(dp.RequestReceived, events(server))


# ------------------------------------------------------------------ duplicates (RFC 6733 §3, App. C)


def test_request_key_ignores_what_agents_add_but_not_content() -> None:
    base = dia.decode(_as_sent_by(MME, 11, 12))
    relayed = dia.decode(_as_sent_by(MME, 11, 99, route=("dra.example.org",)))
    assert dp.request_key(base) == dp.request_key(relayed)  # Route-Record, Hop-by-Hop: same
    other_imsi = replace(base, fields={**base.fields, "avps": [
        ("User-Name", "440100000000009") if a[0] == "User-Name" else a
        for a in base.fields["avps"]]})
    assert dp.request_key(other_imsi) != dp.request_key(base)  # same pair, other content
    other_host = replace(base, fields={**base.fields, "avps": [
        ("Origin-Host", "mme9.example.org") if a[0] == "Origin-Host" else a
        for a in base.fields["avps"]]})
    assert dp.request_key(other_host) != dp.request_key(base)
    other_e2e = replace(base, fields={**base.fields, "end_to_end": 13})
    assert dp.request_key(other_e2e) != dp.request_key(base)
    upper = replace(base, fields={**base.fields, "avps": [
        ("Origin-Host", MME.upper()) if a[0] == "Origin-Host" else a
        for a in base.fields["avps"]]})
    # the Origin-Host compared as an FQDN (RFC 6733 §4.3.1); its octets are the content's too
    assert dp.request_key(upper, dia.encode(base)) == dp.request_key(base)


def test_request_key_of_the_received_bytes_leaves_out_hop_by_hop_t_bit_and_agent_avps() -> None:
    raw = _as_sent_by(MME, 31, 32)
    key = dp.request_key(dia.decode(raw), raw)
    assert key == dp.request_key(dia.decode(raw))  # from the bytes or from the message
    relayed = dia.decode(_as_sent_by(MME, 31, 77, route=("dra.example.org",)))
    relayed = replace(relayed, fields={
        **relayed.fields, "flags": {**relayed.fields["flags"], "retransmit": True},
        "avps": [*relayed.fields["avps"], ("Proxy-Info", [("Proxy-Host", "dra.example.org"),
                                                          ("Proxy-State", b"x")])]})
    relayed_raw = dia.encode(relayed)
    assert relayed_raw[4] & dia.FLAG_T and relayed_raw != raw
    assert dp.request_key(relayed, relayed_raw) == key
    assert isinstance(key, bytes) and len(key) == 16  # one small object per remembered request
    other_code = bytearray(raw)
    other_code[8:12] = (0).to_bytes(4, "big")  # another Application-ID
    assert dp.request_key(dia.decode(raw), bytes(other_code)) != key


def test_duplicate_gets_the_first_answer_bytes_with_its_own_hop_by_hop() -> None:
    _, server = opened()
    server.receive(_as_sent_by(MME, 41, 42), 1.0)
    (rr,) = of(dp.RequestReceived, events(server))
    server.send_answer(s6a.aia(rr.message, HSS, REALM_H, experimental_result=5420), 1.1)
    (first,) = server.data_to_send()
    server.receive(_as_sent_by(MME, 41, 43, route=("dra.example.org",)), 1.2)
    assert not of(dp.RequestReceived, events(server))
    (again,) = server.data_to_send()
    answer = dia.decode(again)
    assert answer.fields["hop_by_hop"] == 43 and answer.fields["end_to_end"] == 41
    assert dia.avp(answer, "Experimental-Result", "Experimental-Result-Code") == 5420
    assert again[:12] == first[:12] and again[16:] == first[16:]


def test_different_request_with_same_end_to_end_is_delivered_not_answered_from_cache() -> None:
    _, server = opened()
    server.receive(_as_sent_by(MME, 21, 22), 1.0)
    (rr,) = of(dp.RequestReceived, events(server))
    server.send_answer(s6a.aia(rr.message, HSS, REALM_H, experimental_result=5420), 1.1)
    server.data_to_send()
    other = dia.decode(_as_sent_by(MME, 21, 23))
    other = replace(other, fields={**other.fields, "avps": [
        ("User-Name", "440100000000009") if a[0] == "User-Name" else a
        for a in other.fields["avps"]]})
    server.receive(dia.encode(other), 1.2)
    (rr2,) = of(dp.RequestReceived, events(server))
    assert dia.avp(rr2.message, "User-Name") == "440100000000009"
    assert server.data_to_send() == []  # nothing answered on its behalf


def test_the_answer_cache_gives_back_the_answer_it_was_given_and_keeps_octets() -> None:
    """RFC 6733 App. C: a duplicate gets the first answer. The cache keeps that answer as its
    octets: a storm keeps an AIA and a ULA per attach for the whole window."""
    import tracemalloc

    from tests.unit.codecs.test_diameter import SUBSCRIPTION, _ulr

    ULR = _ulr()

    cache = dp.AnswerCache()
    requests = [replace(ULR, fields={**ULR.fields, "end_to_end": e2e}) for e2e in range(1, 501)]
    answers = [s6a.ula(r, "hss.example", "example", subscription_data=SUBSCRIPTION)
               for r in requests]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keys = [dp.request_key(r) for r in requests]  # kept by the cache: counted with it
    for key, answer in zip(keys, answers, strict=True):
        cache.begin(key, 0.0)
        assert cache.seen(key, 0.0) == (True, None)  # in progress
        cache.complete(key, dia.encode(answer), 0.0)
    per_answer = (tracemalloc.get_traced_memory()[0] - before) / len(answers)
    tracemalloc.stop()
    key, answer = keys[7], answers[7]
    dup, cached = cache.seen(key, 10.0)
    assert dup and cached == dia.encode(answer)
    assert dia.decode(cached).fields["end_to_end"] == answer.fields["end_to_end"]
    size = len(dia.encode(answer))
    # the octets, a 16-octet key and an entry: ~200 B besides the answer (a key tuple, its
    # digest and a time per entry were ~370 B; the AVP objects ~5 KiB)
    assert per_answer - size < 240, (per_answer, size)


def test_answer_cache_forgets_after_the_window_and_beyond_its_size() -> None:
    """RFC 6733 §3: End-to-End Identifiers stay unique for at least 4 minutes, so an answer
    is kept that long (a little longer at most, its second's last arrival counting) and no
    more; above its size the oldest answers go first."""
    cache = dp.AnswerCache(window_s=240.0, max_entries=3)
    for key, at in ((b"a", 0.1), (b"b", 0.5), (b"c", 1.2)):
        cache.begin(key, at)
        cache.complete(key, key * 4, at)
    assert cache.seen(b"a", 240.4) == (True, b"aaaa")  # 240.4 - 0.5: within the window
    assert cache.seen(b"a", 240.6) == (False, None)  # second 0 over: a and b forgotten
    assert cache.seen(b"b", 240.6) == (False, None) and len(cache) == 1
    assert cache.seen(b"c", 241.0) == (True, b"cccc")
    for i in range(4):
        cache.begin(bytes([i]), 241.0)
    assert len(cache) == 5  # pruned on the next look-up
    assert cache.seen(b"c", 241.5) == (False, None) and len(cache) == 3
    assert cache.seen(bytes([0]), 241.5) == (False, None)  # the oldest of the four went too
    assert cache.seen(bytes([1]), 241.5) == (True, None)  # in progress


def test_whole_messages_joined_or_alone_and_one_too_long() -> None:
    """RFC 6733 §3: the Message Length delimits messages, whether a read holds one whole
    message, several, or a part; a whole message above the node's maximum is answered 5015
    (§7.1.5) and the connection closes, as when it comes in parts."""
    client, server = opened()
    hbhs = [client.request(air_request(), 1.0) for _ in range(3)]
    first, second, third = client.data_to_send()
    server.receive(first + second, 1.0)  # two in one read
    server.receive(third, 1.0)  # one whole message
    got = of(dp.RequestReceived, events(server))
    assert [e.message.fields["hop_by_hop"] for e in got] == hbhs
    small = dp.DiameterPeer(dp.PeerConfig(HSS, REALM_H, allowed_peers=frozenset({MME}),
                                          watchdog_s=TW, max_message=len(third) - 4),
                            dp.Role.RESPONDER)
    small.connection_made(0.0)
    other = dp.DiameterPeer(dp.PeerConfig(MME, REALM_M, watchdog_s=TW), dp.Role.INITIATOR)
    other.connection_made(0.0)
    roundtrip(other, small)
    assert small.state is dp.PeerState.OPEN
    events(small)
    small.receive(third, 2.0)
    (answer,) = [dia.decode(d) for d in small.data_to_send()]
    assert dia.avp(answer, "Result-Code") == dia.ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH
    assert answer.fields["hop_by_hop"] == hbhs[2]
    assert small.state is dp.PeerState.CLOSED and not of(dp.RequestReceived, events(small))
