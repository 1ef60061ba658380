"""S1 Setup and the S1 interface at the MME core (TS 36.413 §8.7): setup accepted or refused
(§8.7.3, causes of §9.2.1.3), the setup guard and the cap on associations, Reset (§8.7.1),
malformed S1AP (§10) and the loss of an association."""

from __future__ import annotations

from corenet.codecs import nas, s1ap
from corenet.config.models import MmeConfig
from corenet.nf.mme.events import CloseS1, S1apReceived, S1Down, S1Up

from .scenario import (
    HOME_PLMN,
    IMSI,
    MME_PLMN,
    Scenario,
)

GARBAGE = b"\x07\x41"  # EMM header of an Attach Request, then nothing: undecodable


def _closed(sc: Scenario) -> list[int]:
    return [a.assoc for a in sc.actions if isinstance(a, CloseS1)]


def test_s1_setup_accepted_for_our_plmn_and_tac() -> None:
    sc = Scenario()
    answer = sc.s1_setup(MME_PLMN, (1,))
    assert answer.name == "S1SetupResponse"
    assert answer.fields["ServedGUMMEIs"][0]["servedPLMNs"] == ["44020"]
    assert answer.fields["ServedGUMMEIs"][0]["servedGroupIDs"] == [0x8001]
    assert answer.fields["ServedGUMMEIs"][0]["servedMMECs"] == [1]
    assert sc.core.enb_count() == 1


def test_s1_setup_refused_for_another_plmn() -> None:
    sc = Scenario()
    answer = sc.s1_setup(HOME_PLMN, (1,))
    assert answer.name == "S1SetupFailure"
    assert answer.fields["Cause"] == ("misc", "unknown-PLMN")
    assert sc.core.enb_count() == 0


def test_s1_setup_refused_for_unserved_tac() -> None:
    sc = Scenario()
    answer = sc.s1_setup(MME_PLMN, (77,))
    assert answer.name == "S1SetupFailure"
    # TS 36.413 §9.2.1.3: the PLMN is ours (not unknown-PLMN); no cause names a TA
    assert answer.fields["Cause"] == ("misc", "unspecified")
    assert answer.fields["TimeToWait"] == "v10s"
    refused = [e.data for e in sc.logs if e.kind == "s1ap.setup.refused"]
    assert refused[-1]["reason"] == "no tracking area served"
    assert refused[-1]["tacs"] == [77] and refused[-1]["served_tacs"] == [1, 2]
    assert sc.core.enb_count() == 0


def test_initial_ue_before_s1_setup_gets_error_indication() -> None:
    sc = Scenario()
    sc.s1(s1ap.initial_ue_message(1, nas.attach_request(imsi=IMSI), MME_PLMN, 1, MME_PLMN, 1))
    (msg,) = sc.sent_s1()
    assert msg.name == "ErrorIndication"
    assert msg.fields["Cause"] == ("protocol", "message-not-compatible-with-receiver-state")
    assert sc.core.ue_count() == 0


def test_association_without_s1_setup_is_closed_by_the_guard() -> None:
    sc = Scenario(cfg=MmeConfig(s1_setup_timeout_s=3.0))
    sc.feed(S1Up(5))
    assert sc.timers[("S1Setup", 5)] == 3.0
    sc.expire("S1Setup", 5)
    assert _closed(sc) == [5]
    assert "s1ap.setup.timeout" in sc.log_kinds()
    assert 5 not in sc.core.enbs


def test_s1_setup_stops_the_guard() -> None:
    sc = Scenario()
    answer = sc.s1_setup()
    assert answer.name == "S1SetupResponse"
    assert ("S1Setup", sc.assoc) not in sc.timers


def test_refused_s1_setup_keeps_the_guard_running() -> None:
    sc = Scenario()
    sc.feed(S1Up(sc.assoc))
    sc.s1(s1ap.s1_setup_request(0x101, "enb1", MME_PLMN, [77]))
    (failure,) = sc.sent_s1()
    assert failure.name == "S1SetupFailure"
    sc.expire("S1Setup", sc.assoc)
    assert _closed(sc) == [sc.assoc]


def test_associations_beyond_the_limit_are_closed_at_once() -> None:
    sc = Scenario(cfg=MmeConfig(max_associations=2))
    for assoc in (1, 2):
        sc.feed(S1Up(assoc))
        assert _closed(sc) == []
    sc.feed(S1Up(3))
    assert _closed(sc) == [3]
    assert "s1ap.association.refused" in sc.log_kinds()
    # a message on the refused association creates nothing
    sc.s1(s1ap.s1_setup_request(0x103, "enb3", MME_PLMN, [1]), assoc=3)
    assert _closed(sc) == [3] and 3 not in sc.core.enbs
    assert sc.sent_s1() == []


def test_malformed_s1ap_gets_error_indication_and_association_kept() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.feed(S1apReceived(sc.assoc, b"\x00\x0c\xff\xff\xff"))
    (ind,) = sc.sent_s1()
    assert ind.name == "ErrorIndication"
    assert ind.fields["Cause"] == ("protocol", "transfer-syntax-error")
    assert sc.core.enb_count() == 1
    sc.authenticate()  # the eNB is still served


def test_reset_all_is_acknowledged() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.s1(s1ap.reset(("misc", "om-intervention")))
    (ack,) = sc.sent_s1()
    assert ack.name == "ResetAcknowledge"
    assert sc.core.ue_count() == 0


def test_association_loss_aborts_attaches_in_progress() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.feed(S1Down(sc.assoc))
    assert sc.core.ue_count() == 0 and sc.core.enb_count() == 0
    assert sc.timers == {}
