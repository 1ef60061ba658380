"""S1 limits of the MME core: the S1 setup guard (TS 36.413 §8.7.3), the cap on associations,
the cap on UE-associated connections per eNB (Error Indication, TS 36.413 §8.7.4 with the cause
of §9.2.1.3), and the release of UE contexts that run no procedure (UE Context Release,
§8.3.3)."""

from __future__ import annotations

from pycrate_asn1dir import S1AP

from corenet.codecs import nas, s1ap
from corenet.config.models import MmeConfig
from corenet.nf.mme.events import CloseS1, S1apReceived, S1Up

from .scenario import MME_PLMN, Scenario

GARBAGE = b"\x07\x41"  # EMM header of an Attach Request, then nothing: undecodable


def _garbage(sc: Scenario, enb_ue_id: int) -> None:
    sc.s1(s1ap.initial_ue_message(enb_ue_id, GARBAGE, MME_PLMN, 1, MME_PLMN, 1))


def _closed(sc: Scenario) -> list[int]:
    return [a.assoc for a in sc.actions if isinstance(a, CloseS1)]


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


def test_garbage_initial_ue_messages_are_released_and_capped() -> None:
    sc = Scenario(cfg=MmeConfig(max_ue_contexts_per_enb=3))
    sc.s1_setup()
    for enb_ue_id in (1, 2, 3):
        _garbage(sc, enb_ue_id)
        sent = sc.sent_s1()
        assert [m.name for m in sent] == ["DownlinkNASTransport", "UEContextReleaseCommand"]
        status = nas.decode(sent[0].fields["NAS-PDU"])
        assert status.name == "EMMStatus"
        ids = sent[1].fields["UE-S1AP-IDs"][1]
        assert ids["eNB-UE-S1AP-ID"] == enb_ue_id
        assert sent[1].fields["Cause"] == ("nas", "unspecified")
    # the eNB has not confirmed the releases yet: a fourth connection is over the limit
    _garbage(sc, 4)
    (ind,) = sc.sent_s1()
    assert ind.name == "ErrorIndication"
    assert ind.fields["Cause"] == ("misc", "control-processing-overload")
    assert ind.fields["eNB-UE-S1AP-ID"] == 4 and ind.fields.get("MME-UE-S1AP-ID") is None
    assert sc.core.ue_count() == 3
    for mme_ue_id in list(sc.core.ues):
        sc.expire("S1Release", mme_ue_id)
    assert sc.core.ue_count() == 0 and sc.timers == {}
    _garbage(sc, 5)
    assert [m.name for m in sc.sent_s1()] == ["DownlinkNASTransport",
                                              "UEContextReleaseCommand"]


def test_many_garbage_messages_leave_no_context_behind() -> None:
    sc = Scenario(cfg=MmeConfig(max_ue_contexts_per_enb=50))
    sc.s1_setup()
    for enb_ue_id in range(1, 301):
        _garbage(sc, enb_ue_id)
        for m in sc.sent_s1():
            if m.name == "UEContextReleaseCommand":
                ids = m.fields["UE-S1AP-IDs"][1]
                sc.s1(s1ap.ue_context_release_complete(ids["mME-UE-S1AP-ID"],
                                                       ids["eNB-UE-S1AP-ID"]))
    assert sc.core.ue_count() == 0
    assert sc.core.mme_ue_ids.in_use() == 0


def test_guard_releases_a_context_running_no_procedure() -> None:
    sc = Scenario(cfg=MmeConfig(nas_guard_s=7.0))
    sc.s1_setup()
    sc.attach_request()  # AIR sent: a procedure is running
    ue_id = sc.mme_ue_id
    assert sc.timers[("NasGuard", ue_id)] == 7.0
    sc.expire("NasGuard", ue_id)
    assert sc.sent_s1() == [] and ("NasGuard", ue_id) in sc.timers
    # the S6a transaction ends without its answer reaching a procedure (a stale answer to
    # a request of an older attach): nothing runs any more for this context
    sc.core.s6a_pending.clear()
    sc.expire("NasGuard", ue_id)
    (cmd,) = sc.sent_s1()
    assert cmd.name == "UEContextReleaseCommand"
    assert cmd.fields["UE-S1AP-IDs"][1]["mME-UE-S1AP-ID"] == ue_id
    assert "emm.context.unused" in sc.log_kinds()


def test_guard_leaves_an_attached_ue_alone() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach()
    sc.expire("NasGuard", sc.mme_ue_id)
    assert sc.sent_s1() == [] and ("NasGuard", sc.mme_ue_id) not in sc.timers
    assert sc.core.ue_count() == 1


def test_uplink_nas_transport_without_its_tai_is_served() -> None:
    """TS 36.413 §10.3: a missing IE whose criticality is ignore-and-notify is reported and the
    message is processed without it (an input `corenet fuzz` found raised KeyError)."""
    sc = Scenario()
    sc.s1_setup()
    sc.attach_request()
    assert sc.mme_ue_id is not None
    tai = sc.core.ues[sc.mme_ue_id].tai
    msg = s1ap.uplink_nas_transport(sc.mme_ue_id, sc.enb_ue_id, GARBAGE, MME_PLMN, 1,
                                    MME_PLMN, 1)
    pdu = S1AP.S1AP_PDU_Descriptions.S1AP_PDU
    pdu.from_aper(s1ap.encode(msg))
    kind, body = pdu.get_val()
    ies = body["value"][1]["protocolIEs"]
    body["value"][1]["protocolIEs"] = [ie for ie in ies if ie["id"] != 67]  # id-TAI
    pdu.set_val((kind, body))
    sc.actions.clear()
    sc.feed(S1apReceived(sc.assoc, pdu.to_aper(), 0))
    assert sc.core.ues[sc.mme_ue_id].tai == tai
    kinds = [m.name for m in sc.sent_s1()]
    assert "DownlinkNASTransport" in kinds  # the undecodable NAS got its EMM Status
