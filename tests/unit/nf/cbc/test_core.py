"""The sans-I/O CBC (TS 23.041 §9.1.3.5): responses matched by Message Identifier and Serial
Number, the response guard, and the running warnings sent again after a PWS Restart."""

from __future__ import annotations

from corenet.codecs import cbs, sbcap
from corenet.core.actions import StartTimer, TimerExpired
from corenet.nf.cbc.core import Answered, CbcCore, MmeUp, SbcapReceived, Send, SendSbcap

PLMN = "44020"
SERIAL = cbs.serial_number(0, 3, 0)
REQUEST = sbcap.write_replace_warning_request(
    cbs.ETWS_EARTHQUAKE, SERIAL, 10, 2, sbcap.warning_area(tais=[(PLMN, 1), (PLMN, 2)]),
    cbs.warning_type(0), tais=[(PLMN, 1), (PLMN, 2)])


def _sent(actions: list[object]) -> list[sbcap.Message]:
    return [sbcap.decode(a.data) for a in actions if isinstance(a, SendSbcap)]


def test_response_is_matched_and_its_guard_stopped() -> None:
    cbc = CbcCore()
    cbc.handle(MmeUp(1), 0.0)
    out = cbc.handle(Send((REQUEST,)), 0.0)
    assert [m.name for m in _sent(out)] == ["Write-Replace-Warning-Request"]
    assert any(isinstance(a, StartTimer) for a in out)
    rsp = sbcap.encode(sbcap.write_replace_warning_response(cbs.ETWS_EARTHQUAKE, SERIAL))
    out = cbc.handle(SbcapReceived(1, rsp), 1.0)
    (answered,) = [a for a in out if isinstance(a, Answered)]
    assert answered.key == (cbs.ETWS_EARTHQUAKE, SERIAL)
    assert answered.response is not None and answered.response.fields["Cause"] == 0


def test_no_response_in_time_is_answered_with_none() -> None:
    cbc = CbcCore()
    cbc.handle(MmeUp(1), 0.0)
    cbc.handle(Send((REQUEST,)), 0.0)
    out = cbc.handle(TimerExpired("SBcResponse", (1, (cbs.ETWS_EARTHQUAKE, SERIAL))), 5.0)
    assert [a for a in out if isinstance(a, Answered)] == [
        Answered(1, (cbs.ETWS_EARTHQUAKE, SERIAL), None)]


def test_pws_restart_resends_running_warnings_to_the_restarted_tais() -> None:
    cbc = CbcCore()
    cbc.handle(MmeUp(1), 0.0)
    cbc.handle(Send((REQUEST,)), 0.0)
    restart = sbcap.encode(sbcap.pws_restart_indication([(PLMN, 0x201)], (PLMN, 2), [(PLMN, 2)]))
    (again,) = _sent(cbc.handle(SbcapReceived(1, restart), 9.0))
    assert again.name == "Write-Replace-Warning-Request"
    assert (again.fields["Message-Identifier"], again.fields["Serial-Number"]) == (
        cbs.ETWS_EARTHQUAKE, SERIAL)
    assert again.fields["List-of-TAIs"] == [{"tai": {"pLMNidentity": PLMN, "tAC": 2}}]


def test_garbage_from_an_mme_gets_an_error_indication() -> None:
    cbc = CbcCore()
    cbc.handle(MmeUp(1), 0.0)
    (err,) = _sent(cbc.handle(SbcapReceived(1, b"\xff"), 0.0))
    assert err.name == "Error-Indication"
    assert err.fields["Cause"] == sbcap.CAUSES["transfer-syntax-error"]
