"""S11 peer trust, path management and restart handling of the S/P-GW core (TS 29.274 §7.1,
§7.2.1; TS 23.007 §18, §20)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corenet.codecs import gtpv2c as g
from corenet.config.models import ApnPool, SgwPgwConfig
from corenet.core.actions import LogEvent
from corenet.nf.sgw_pgw.core import (
    S11Answer,
    S11NoAnswer,
    S11Request,
    SendRequest,
    SendResponse,
    SgwPgwCore,
)
from corenet.nf.sgw_pgw.store import SessionStore
from tests.unit.nf.sgw_pgw.helpers import (
    IMSI,
    cause_of,
    create_session,
    delete_session,
    modify_bearer,
    roundtrip,
)

MME = ("127.0.0.2", 2123)
MME_B = ("127.0.0.12", 2123)
STRANGER = ("127.0.0.99", 40000)


def make_core(store: SessionStore | None = None, **kw: Any) -> SgwPgwCore:
    kw.setdefault("restart_counter", 3)
    return SgwPgwCore(SgwPgwConfig(**kw), store=store, now=0.0)


def handle(core: SgwPgwCore, msg: Any, peer: tuple[str, int] = MME,
           now: float = 1.0) -> list[Any]:
    return core.handle(S11Request(msg, peer), now)


def response(actions: list[Any]) -> Any:
    [resp] = [a for a in actions if isinstance(a, SendResponse)]
    return roundtrip(resp.message)


def logs(actions: list[Any]) -> list[str]:
    return [a.kind for a in actions if isinstance(a, LogEvent)]


def ipv4(actions: list[Any]) -> str:
    return str(response(actions).fields["paa"]["ipv4"])


def _teid(actions: list[Any]) -> int:
    """The S/P-GW's S11 TEID of the session a Create Session Response announces."""
    return int(response(actions).fields["sender_fteid_c"]["teid"])


# --- peers ----------------------------------------------------------------------------------


def test_create_session_from_an_unconfigured_host_creates_nothing() -> None:
    core = make_core(pools=[ApnPool(apn="sos", ipv4="10.0.0.0/29")])
    reported = []
    for i in range(50):  # the flood that filled the sos pool
        actions = handle(core, create_session(seq=i + 1, imsi=f"4401000000001{i:02d}",
                                              pdn_type=g.PDN_IPV4), STRANGER, now=1.0 + i / 100)
        assert not any(isinstance(a, SendResponse | SendRequest) for a in actions)
        reported += logs(actions)
    assert core.sessions == {}
    # one warning for the burst, every datagram counted
    assert reported == ["sgw.peer.refused"] and core.refused_datagrams == 50
    # the configured MME's emergency attach still gets an address, the first of the pool
    ok = handle(core, create_session(pdn_type=g.PDN_IPV4))
    assert cause_of(response(ok)) == 16 and ipv4(ok) == "10.0.0.1"


def test_echo_from_an_unconfigured_host_is_not_answered() -> None:
    core = make_core()
    assert core.handle(S11Request(roundtrip(g.echo_request(5, 1)), STRANGER), 1.0) == [
        LogEvent("sgw.peer.refused", {"peer": "127.0.0.99:40000", "dropped_since": 0,
                                      "reason": "not a configured MME"})]


def test_one_mme_cannot_exhaust_a_pool_shared_with_another() -> None:
    # 6 host addresses, two MMEs: 3 each; the fourth of one MME is refused with cause 73
    core = make_core(mme_peers=[MME[0], MME_B[0]],
                     pools=[ApnPool(apn="sos", ipv4="10.0.0.0/29")])
    for i in range(3):
        ok = handle(core, create_session(imsi=f"44010000000000{i}", pdn_type=g.PDN_IPV4))
        assert cause_of(response(ok)) == 16
    refused = handle(core, create_session(imsi="440100000000009", pdn_type=g.PDN_IPV4))
    assert cause_of(response(refused)) == g.CAUSE_NO_RESOURCES_AVAILABLE
    other = handle(core, create_session(imsi="440100000000010", pdn_type=g.PDN_IPV4), MME_B)
    assert cause_of(response(other)) == 16 and ipv4(other) == "10.0.0.4"


def test_configured_per_mme_limit() -> None:
    core = make_core(max_sessions_per_peer=1)
    assert cause_of(response(handle(core, create_session(imsi="440100000000001")))) == 16
    assert cause_of(response(handle(core, create_session(imsi="440100000000002")))) == 73
    # another APN has its own count
    assert cause_of(response(handle(core, create_session(imsi="440100000000002",
                                                         apn="ims")))) == 16


# --- §7.2.1 collision with an unauthenticated IMSI ------------------------------------------


def test_uimsi_create_session_does_not_replace_the_authenticated_session() -> None:
    core = make_core()
    victim = handle(core, create_session(seq=1, mme_teid=0x100))
    victim_ip = ipv4(victim)
    attacker = handle(core, create_session(seq=2, mme_teid=0x200, indication={"uimsi": True}))
    assert cause_of(response(attacker)) == 16
    assert "sgw.session.replaced" not in logs(attacker)
    s = core.session_by_ue_address(victim_ip)
    assert s is not None and s.imsi == IMSI and s.authenticated and s.mme_teid == 0x100
    assert len(core.sessions) == 2 and ipv4(attacker) != victim_ip
    # the same unauthenticated UE attaching again replaces its own session only
    again = handle(core, create_session(seq=3, mme_teid=0x300, indication={"uimsi": True}))
    assert "sgw.session.replaced" in logs(again) and len(core.sessions) == 2
    assert core.session_by_ue_address(victim_ip) is s


# --- path management ------------------------------------------------------------------------


def test_mme_without_echo_answers_loses_its_sessions() -> None:
    core = make_core(echo_interval_s=60.0, pools=[ApnPool(apn="sos", ipv4="10.0.0.0/30")])
    first = handle(core, create_session(imsi="440100000000001", pdn_type=g.PDN_IPV4))
    assert ipv4(first) == "10.0.0.1"
    assert core.get_timer() == 61.0
    assert core.handle_timer(30.0) == []
    [echo] = core.handle_timer(61.0)
    assert isinstance(echo, SendRequest) and echo.peer == MME
    assert roundtrip(echo.message).fields["recovery"] == 3
    assert core.get_timer() is None  # one Echo outstanding at a time
    # TS 23.007 §20: the transaction layer gave up after N3-REQUESTS attempts
    down = core.handle(S11NoAnswer(echo.message, MME), 70.0)
    assert logs(down) == ["sgw.path.down"] and down[0].data["released"] == 1
    assert core.sessions == {} and core.session_by_ue_address("10.0.0.1") is None
    assert ipv4(handle(core, create_session(imsi="440100000000002",
                                            pdn_type=g.PDN_IPV4))) == "10.0.0.1"


def test_answered_echo_keeps_the_sessions_and_rearms() -> None:
    core = make_core(echo_interval_s=60.0)
    handle(core, create_session())
    [echo] = core.handle_timer(61.0)
    answer = roundtrip(g.echo_response(9, 1))
    assert core.handle(S11Answer(answer, MME, echo.message), 61.5) == []
    assert len(core.sessions) == 1 and core.get_timer() == 121.5


def test_echo_is_due_while_the_mme_holds_a_session_on_any_apn() -> None:
    """TS 29.274 §7.1.1: an MME is echoed while it holds PDN connections here, whatever
    their APNs; once its last one is deleted, no Echo Request is due."""
    core = make_core(echo_interval_s=60.0)
    sos = _teid(handle(core, create_session(imsi="440100000000001", apn="sos")))
    web = _teid(handle(core, create_session(seq=2, imsi="440100000000002",
                                            apn="internet", mme_teid=0x200)))
    assert core.get_timer() == 61.0
    handle(core, delete_session(3, sos))
    assert core.get_timer() == 61.0
    handle(core, delete_session(4, web))
    assert core.sessions == {} and core.get_timer() is None and core.handle_timer(61.0) == []


def test_changed_mme_recovery_releases_its_sessions() -> None:
    core = make_core()
    handle(core, create_session(imsi="440100000000001"))
    # first counter seen: learnt, nothing released
    assert response(handle(core, roundtrip(g.echo_request(7, 4)))).fields["recovery"] == 3
    assert len(core.sessions) == 1
    # TS 23.007 §18: another counter is an MME that restarted and lost its UEs
    actions = handle(core, roundtrip(g.echo_request(8, 5)))
    assert response(actions).name == "EchoResponse"
    assert "sgw.peer.restarted" in logs(actions) and core.sessions == {}


def test_create_session_with_a_new_recovery_first_releases_the_old_sessions() -> None:
    core = make_core()
    old = create_session(seq=1, imsi="440100000000001")
    handle(core, roundtrip(g.create_session_request(
        1, imsi="440100000000001", sender_fteid=(g.FTEID_S11_MME, 0x100, MME[0]), apn="sos",
        pdn_type=g.PDN_IPV4, bearer_contexts=[{"ebi": 5, "bearer_qos": old.fields[
            "bearer_contexts_to_be_created"][0]["bearer_qos"]}], recovery=1)))
    assert len(core.sessions) == 1
    new = handle(core, roundtrip(g.create_session_request(
        2, imsi="440100000000002", sender_fteid=(g.FTEID_S11_MME, 0x101, MME[0]), apn="sos",
        pdn_type=g.PDN_IPV4, bearer_contexts=[{"ebi": 5, "bearer_qos": old.fields[
            "bearer_contexts_to_be_created"][0]["bearer_qos"]}], recovery=2)))
    assert "sgw.peer.restarted" in logs(new)
    [s] = core.sessions.values()
    assert s.imsi == "440100000000002" and str(s.ue_ipv4) == "127.147.0.1"


# --- persistence ----------------------------------------------------------------------------


def test_sessions_survive_in_the_store_and_keep_their_addresses(tmp_path: Path) -> None:
    db = str(tmp_path / "sgw.db")
    store = SessionStore(db)
    core = make_core(store)
    a = response(handle(core, create_session(seq=1, imsi="440100000000001", mme_teid=0x10)))
    b = response(handle(core, create_session(seq=2, imsi="440100000000002", mme_teid=0x11)))
    c = response(handle(core, create_session(seq=3, imsi="440100000000003", mme_teid=0x12)))
    teid_a = a.fields["sender_fteid_c"]["teid"]
    handle(core, modify_bearer(4, teid_a, enb_teid=0xE5))
    handle(core, delete_session(5, c.fields["sender_fteid_c"]["teid"]))
    # the process dies: no close, no goodbye; a new core opens the same file
    again = make_core(SessionStore(db))
    assert again.restored == 2 and len(again.sessions) == 2
    s = again.session_by_ue_address(a.fields["paa"]["ipv4"])
    assert s is not None and s.imsi == "440100000000001" and s.mme_teid == 0x10
    assert s.bearers[5].s1u_enb_fteid is not None and s.bearers[5].s1u_enb_fteid["teid"] == 0xE5
    assert s.state.value == "active"
    assert again.session_by_ue_address(b.fields["paa"]["ipv4"]) is not None
    # a new UE gets the freed address of the deleted session, never a held one
    d = response(handle(again, create_session(seq=6, imsi="440100000000004", mme_teid=0x13)))
    assert d.fields["paa"]["ipv4"] == c.fields["paa"]["ipv4"]
    held = {a.fields["sender_fteid_c"]["teid"], b.fields["sender_fteid_c"]["teid"]}
    assert d.fields["sender_fteid_c"]["teid"] not in held
    # restored sessions still answer their MME's requests
    assert cause_of(response(handle(again, delete_session(7, teid_a)))) == 16
    assert SessionStore(db).count() == 2


def test_restored_sessions_are_checked_with_an_echo_at_once(tmp_path: Path) -> None:
    db = str(tmp_path / "sgw.db")
    core = make_core(SessionStore(db))
    handle(core, create_session())
    handle(core, roundtrip(g.echo_request(2, 40)))  # the MME's counter, kept in the store
    again = SgwPgwCore(SgwPgwConfig(restart_counter=3), store=SessionStore(db), now=500.0)
    assert again.get_timer() == 500.0
    [echo] = again.handle_timer(500.0)
    # the MME restarted meanwhile (its counter moved on): the restored session is released
    out = again.handle(S11Answer(roundtrip(g.echo_response(1, 41)), MME, echo.message), 501.0)
    assert "sgw.peer.restarted" in logs(out) and again.sessions == {}
    assert SessionStore(db).count() == 0


def test_first_answer_after_a_lossy_restart_carries_the_new_recovery() -> None:
    """A restarted S/P-GW that lost its sessions answers the MME's Modify Bearer for one of
    them with "Context not found" and, first contact, its Recovery: the MME learns of the
    restart there (TS 23.007 §18)."""
    core = make_core(restart_counter=4)
    resp = response(handle(core, modify_bearer(3, 0x1234)))
    assert cause_of(resp) == g.CAUSE_CONTEXT_NOT_FOUND and resp.fields["recovery"] == 4
    assert "recovery" not in response(handle(core, modify_bearer(4, 0x1234))).fields


def test_restored_sessions_of_an_mme_no_longer_served_are_dropped(tmp_path: Path) -> None:
    db = str(tmp_path / "sgw.db")
    core = make_core(SessionStore(db), mme_peers=[MME[0], MME_B[0]])
    handle(core, create_session(imsi="440100000000001"))
    handle(core, create_session(imsi="440100000000002"), MME_B)
    again = make_core(SessionStore(db))  # MME_B removed from the configuration
    assert again.restored == 1 and [s.mme for s in again.sessions.values()] == [MME]
    assert SessionStore(db).count() == 1


def test_lossy_restart_is_announced_and_addresses_wait_for_the_other_mmes() -> None:
    """TS 23.007 §18: after a start that lost the sessions every configured MME gets our new
    Recovery at once; until one has answered (it purged its UEs first), another MME could be
    handed an address one of its UEs still holds."""
    core = make_core(mme_peers=[MME[0], MME_B[0]])
    core.announce_restart(0.0)
    echoes = core.handle_timer(0.0)
    assert sorted(a.peer for a in echoes if isinstance(a, SendRequest)) == sorted([MME, MME_B])
    assert all(roundtrip(a.message).fields["recovery"] == 3 for a in echoes)
    refused = response(handle(core, create_session()))
    assert cause_of(refused) == g.CAUSE_NO_RESOURCES_AVAILABLE and core.sessions == {}
    assert refused.fields["recovery"] == 3  # MME learns of the restart from this answer
    [to_b] = [a for a in echoes if a.peer == MME_B]
    core.handle(S11Answer(roundtrip(g.echo_response(1, 8)), MME_B, to_b.message), 0.5)
    # MME_B has purged; MME learnt of the restart from our first answer
    ok = response(handle(core, create_session()))
    assert cause_of(ok) == 16 and "recovery" not in ok.fields


def test_mme_whose_path_failed_no_longer_holds_addresses_back() -> None:
    core = make_core(mme_peers=[MME[0], MME_B[0]])
    core.announce_restart(0.0)
    [to_b] = [a for a in core.handle_timer(0.0) if a.peer == MME_B]
    core.handle(S11NoAnswer(to_b.message, MME_B), 9.0)
    assert cause_of(response(handle(core, create_session()))) == 16


def test_refused_hosts_are_remembered_within_a_bound() -> None:
    from corenet.nf.sgw_pgw.core import REFUSED_HOSTS_KEPT

    core = make_core()
    for i in range(REFUSED_HOSTS_KEPT + 10):
        peer = (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 2123)
        core.handle(S11Request(roundtrip(g.echo_request(1, 1)), peer), 1.0)
    assert core.refused_hosts <= REFUSED_HOSTS_KEPT
    assert core.refused_datagrams == REFUSED_HOSTS_KEPT + 10 and core.sessions == {}
