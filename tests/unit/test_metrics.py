"""Metrics derived from the network functions' events and from the messages on the wire."""

from __future__ import annotations

from corenet.codecs import diameter as dia
from corenet.codecs import gtpv2c, s6a
from corenet.core.actions import LogEvent
from corenet.core.plmn import Plmn
from corenet.metrics import Metrics
from corenet.transport.base import Direction

MME, HSS = ("127.0.0.2", 40001), ("127.0.0.3", 3868)
MME_S11, SGW = ("127.0.0.2", 2123), ("127.0.0.4", 2123)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def value(m: Metrics, name: str, **labels: str) -> float:
    return m.registry.get_sample_value(name, labels) or 0.0


def test_attaches_by_mode_and_cause_and_active_ues() -> None:
    m = Metrics()
    ev = lambda kind, **d: m.on_event("mme", LogEvent(kind, d))  # noqa: E731
    ev("emm.attach.request", mme_ue_id=1, identity="imsi", attach_type=1)
    ev("emm.attach.accepted", imsi="440100000000001", mme_ue_id=1, emergency=False,
       authenticated=True)
    # TS 24.301 §9.9.3.11: attach type 6 is an emergency attach; accepted unauthenticated
    ev("emm.attach.request", mme_ue_id=2, identity="imei", attach_type=6)
    ev("emm.attach.accepted", imsi=None, mme_ue_id=2, emergency=True, authenticated=False)
    ev("emm.attach.request", mme_ue_id=3, identity="imsi", attach_type=6)
    ev("emm.attach.rejected", imsi="440500000000001", mme_ue_id=3, emm_cause=11, esm_cause=None)
    ev("emm.attach.request", mme_ue_id=4, identity="imsi", attach_type=1)
    ev("emm.attach.rejected", imsi="440100000000004", reason="authentication")
    ev("mme.ue.deleted", mme_ue_id=1, imsi="440100000000001")
    assert value(m, "corenet_attach_attempts_total", mode="normal") == 2
    assert value(m, "corenet_attach_attempts_total", mode="emergency") == 2
    assert value(m, "corenet_attach_successes_total", mode="normal") == 1
    assert value(m, "corenet_attach_successes_total", mode="emergency-unauthenticated") == 1
    assert value(m, "corenet_attach_failures_total", mode="emergency", cause="11") == 1
    assert value(m, "corenet_attach_failures_total", mode="normal", cause="authentication") == 1
    assert value(m, "corenet_active_ues", mode="normal") == 0
    assert value(m, "corenet_active_ues", mode="emergency-unauthenticated") == 1


def test_air_calls_and_peers() -> None:
    m = Metrics()
    m.on_event("hss", LogEvent("s6a.air.accepted", {"imsi": "1", "result_code": 2001}))
    m.on_event("hss", LogEvent("s6a.air.rejected", {"imsi": "2", "result_code": 5001,
                                                    "experimental": True}))
    m.on_event("ims", LogEvent("ecscf.psap.selected", {"urn": "urn:service:sos.police"}))
    m.on_event("ims", LogEvent("ecscf.request.refused", {"uri": "x", "status": 403}))
    m.on_event("psap", LogEvent("psap.call.answered", {"call_id": "c"}))
    m.on_event("psap", LogEvent("psap.request.refused", {"method": "BYE", "status": 481}))
    m.on_event("hss", LogEvent("diameter.peer.opened", {"peer": "mme.a", "realm": "a"}))
    m.on_event("hss", LogEvent("diameter.peer.rejected", {"peer": None, "origin_host": "x",
                                                          "result_code": 3010}))
    m.on_event("mme", LogEvent("s6a.watchdog", {"peer": "hss.b", "old": "OKAY",
                                                "new": "SUSPECT"}))
    m.on_event("mme", LogEvent("s6a.watchdog", {"peer": "hss.c", "new": "NOT-A-STATE"}))
    assert value(m, "corenet_hss_air_total", result="success") == 1
    assert value(m, "corenet_hss_air_total", result="5001") == 1
    assert value(m, "corenet_emergency_calls_total", nf="ims", outcome="routed") == 1
    assert value(m, "corenet_emergency_calls_total", nf="ims", outcome="refused") == 1
    assert value(m, "corenet_emergency_calls_total", nf="psap", outcome="answered") == 1
    assert value(m, "corenet_emergency_calls_total", nf="psap", outcome="refused") == 0
    state = "corenet_diameter_peer_state"
    assert value(m, state, nf="hss", peer="mme.a", **{state: "open"}) == 1
    assert value(m, state, nf="mme", peer="hss.b", **{state: "suspect"}) == 1
    assert value(m, state, nf="mme", peer="hss.b", **{state: "open"}) == 0
    assert value(m, "corenet_diameter_peers_refused_total", nf="hss", result_code="3010") == 1


def test_s6a_latency_from_request_to_its_answer() -> None:
    clock = Clock()
    m = Metrics(clock=clock)
    req = s6a.air("mme;1;1", "mme.a", "a", "b", "440100000000001", Plmn.parse("44020"),
                  hop_by_hop=7, end_to_end=9)
    answer = s6a.aia(req, "hss.b", "b", result_code=2001)
    other = s6a.air("mme;1;2", "mme.a", "a", "b", "440100000000002", Plmn.parse("44020"),
                    hop_by_hop=8, end_to_end=10)
    m.tap.tcp(Direction.SENT, MME, HSS, dia.encode(req))
    m.tap.tcp(Direction.SENT, MME, HSS, dia.encode(other))  # never answered
    clock.now += 0.25
    m.tap.tcp(Direction.RECEIVED, HSS, MME, dia.encode(answer))
    m.tap.tcp(Direction.RECEIVED, HSS, MME, dia.encode(answer))  # a duplicate is not timed
    hist = "corenet_s6a_request_duration_seconds"
    assert value(m, f"{hist}_count", command="AIR") == 1
    assert value(m, f"{hist}_sum", command="AIR") == 0.25
    assert value(m, f"{hist}_bucket", command="AIR", le="0.25") == 1
    assert value(m, f"{hist}_bucket", command="AIR", le="0.1") == 0


def test_s11_latency_matches_the_sequence_number_from_that_peer() -> None:
    clock = Clock()
    m = Metrics(clock=clock)
    m.tap.udp(Direction.SENT, MME_S11, SGW,
              gtpv2c.encode(gtpv2c.delete_session_request(77, teid=5, linked_ebi=5)))
    clock.now += 0.5
    # the same sequence number from another peer answers nothing of ours (TS 29.274 §7.6)
    m.tap.udp(Direction.RECEIVED, ("127.0.0.9", 2123), MME_S11,
              gtpv2c.encode(gtpv2c.delete_session_response(77, teid=9)))
    m.tap.udp(Direction.RECEIVED, SGW, MME_S11,
              gtpv2c.encode(gtpv2c.delete_session_response(77, teid=9)))
    m.tap.udp(Direction.RECEIVED, SGW, MME_S11, b"\x00garbage")
    hist = "corenet_s11_request_duration_seconds"
    assert value(m, f"{hist}_count", message="DeleteSessionRequest") == 1
    assert value(m, f"{hist}_sum", message="DeleteSessionRequest") == 0.5
