"""UE-initiated detach at the MME core (TS 24.301 §5.5.2.2; TS 23.401 §5.3.8.2.1): Delete
Session, Purge, Detach Accept unless switched off, then the release."""

from __future__ import annotations

from corenet.codecs import diameter, nas

from .scenario import (
    IMSI,
    attached_scenario,
    release_complete,
)


def test_detach_sends_delete_session_and_purge_then_accept() -> None:
    sc = attached_scenario()
    sc.uplink(sc.protect(nas.detach_request(ksi=sc.ksi, imsi=IMSI)))
    (pur,) = sc.sent_s6a()
    assert pur.name == "PUR" and diameter.avp(pur, "User-Name") == IMSI
    (dsr,) = sc.sent_s11()
    assert dsr.name == "DeleteSessionRequest" and dsr.fields["linked_ebi"] == 5
    sc.answer_s11(dsr, "DeleteSessionRequest")
    (accept,) = sc.received()
    assert accept.name == "DetachAccept"
    (cmd,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    assert cmd.fields["Cause"] == ("nas", "detach")
    release_complete(sc)
    assert sc.core.ue_count() == 0


def test_switch_off_detach_has_no_accept() -> None:
    sc = attached_scenario()
    sc.uplink(sc.protect(nas.detach_request(switch_off=True, ksi=sc.ksi, imsi=IMSI)))
    (dsr,) = sc.sent_s11()
    sc.answer_s11(dsr, "DeleteSessionRequest")
    assert [m.name for m in sc.sent_s1()] == ["UEContextReleaseCommand"]
