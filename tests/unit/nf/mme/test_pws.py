"""Warning delivery through the MME (TS 23.041 §9.1.3.5): SBc-AP in, S1AP Write-Replace
Warning / Kill out to the eNBs of the area, responses aggregated into the indication."""

from __future__ import annotations

from corenet.codecs import cbs, s1ap, sbcap
from corenet.codecs.base import Message
from corenet.nf.mme import pws
from corenet.nf.mme.events import S1Down, S1Up, SbcapReceived, SbcUp, SendS1ap, SendSbcap
from tests.unit.nf.mme.scenario import MME_PLMN, Scenario

PLMN = str(MME_PLMN)
SERIAL = cbs.serial_number(0, 5, 0)
CBC = 1


def _network() -> Scenario:
    """Two eNBs: association 1 serves TAC 1, association 2 TAC 2; one CBC."""
    sc = Scenario()
    sc.s1_setup(tacs=(1,))
    sc.feed(S1Up(2))
    sc.s1(s1ap.s1_setup_request(0x102, "enb2", MME_PLMN, (2,)), assoc=2)
    sc.feed(SbcUp(CBC))
    return sc


def _cbc(sc: Scenario, msg: Message | bytes) -> tuple[list[Message], dict[int, Message]]:
    data = msg if isinstance(msg, bytes) else sbcap.encode(msg)
    out = sc.feed(SbcapReceived(CBC, data))
    to_cbc = [sbcap.decode(a.data) for a in out if isinstance(a, SendSbcap)]
    to_enbs = {a.assoc: s1ap.decode(a.data) for a in out if isinstance(a, SendS1ap)}
    return to_cbc, to_enbs


def _request(tacs: list[int], mid: int = cbs.ETWS_EARTHQUAKE_AND_TSUNAMI) -> Message:
    return sbcap.write_replace_warning_request(
        mid, SERIAL, 4096, 3, sbcap.warning_area(tais=[(PLMN, t) for t in tacs]),
        cbs.warning_type(2), cbs.DCS_UCS2, cbs.warning_message_contents("津波"),
        send_indication=True, tais=[(PLMN, t) for t in tacs])


def test_write_replace_goes_to_the_enbs_of_the_tais_and_is_answered_at_once() -> None:
    sc = _network()
    to_cbc, to_enbs = _cbc(sc, _request([2, 9]))
    (response,) = to_cbc
    assert response.name == "Write-Replace-Warning-Response"
    assert response.fields["Cause"] == sbcap.MESSAGE_ACCEPTED
    assert response.fields["Unknown-Tracking-Area-List"] == [
        {"tai": {"pLMNidentity": PLMN, "tAC": 9}}]
    assert list(to_enbs) == [2]
    req = to_enbs[2]
    assert req.name == "WriteReplaceWarningRequest"
    assert req.fields["MessageIdentifier"] == cbs.ETWS_EARTHQUAKE_AND_TSUNAMI
    assert req.fields["SerialNumber"] == SERIAL
    assert req.fields["RepetitionPeriod"] == 4095  # TS 29.168 §4.4.5: 4096 becomes 4095
    assert req.fields["WarningAreaList"] == ("trackingAreaListforWarning",
                                             [{"pLMNidentity": PLMN, "tAC": 2}, {"pLMNidentity": PLMN, "tAC": 9}])
    assert cbs.decode_warning_message_contents(req.fields["WarningMessageContents"],
                                               req.fields["DataCodingScheme"]) == "津波"


def test_responses_aggregate_into_one_write_replace_warning_indication() -> None:
    sc = _network()
    _cbc(sc, _request([]))  # no TAI list: every eNB
    mid = cbs.ETWS_EARTHQUAKE_AND_TSUNAMI
    sc.s1(s1ap.write_replace_warning_response(mid, SERIAL, [(MME_PLMN, 0x101)]), assoc=1)
    assert not [a for a in sc.actions if isinstance(a, SendSbcap)]
    out = sc.s1(s1ap.write_replace_warning_response(mid, SERIAL, [(MME_PLMN, 0x201)]), assoc=2)
    (ind,) = [sbcap.decode(a.data) for a in out if isinstance(a, SendSbcap)]
    assert ind.name == "Write-Replace-Warning-Indication"
    cells = ind.fields["Broadcast-Scheduled-Area-List"]["cellId-Broadcast-List"]
    assert [c["eCGI"]["cell-ID"] for c in cells] == [0x101, 0x201]
    assert (pws.AGGREGATION_TIMER, (mid, SERIAL)) not in sc.timers


def test_aggregation_guard_indicates_what_came() -> None:
    sc = _network()
    mid = cbs.ETWS_EARTHQUAKE_AND_TSUNAMI
    _cbc(sc, _request([]))
    sc.s1(s1ap.write_replace_warning_response(mid, SERIAL, [(MME_PLMN, 0x101)]), assoc=1)
    out = sc.expire(pws.AGGREGATION_TIMER, (mid, SERIAL))
    (ind,) = [sbcap.decode(a.data) for a in out if isinstance(a, SendSbcap)]
    cells = ind.fields["Broadcast-Scheduled-Area-List"]["cellId-Broadcast-List"]
    assert [c["eCGI"]["cell-ID"] for c in cells] == [0x101]


def test_unknown_tais_only_is_tracking_area_not_valid() -> None:
    sc = _network()
    to_cbc, to_enbs = _cbc(sc, _request([7]))
    assert to_cbc[0].fields["Cause"] == sbcap.CAUSES["tracking-area-not-valid"]
    assert to_enbs == {}


def test_stop_warning_is_a_kill_to_the_enbs() -> None:
    sc = _network()
    stop = sbcap.stop_warning_request(0x1102, SERIAL, sbcap.warning_area(tais=[(PLMN, 1)]),
                                      send_indication=True, tais=[(PLMN, 1)])
    to_cbc, to_enbs = _cbc(sc, stop)
    assert to_cbc[0].name == "Stop-Warning-Response"
    assert to_enbs[1].name == "KillRequest" and to_enbs[1].fields["MessageIdentifier"] == 0x1102


def test_pws_restart_indication_is_relayed_to_the_cbc() -> None:
    sc = _network()
    restart = Message("s1ap", "PWSRestartIndication", s1ap.PROCEDURE_CODES["PWSRestartIndication"], {
        "ECGIListForRestart": [{"pLMNidentity": PLMN, "cell-ID": 0x101}],
        "Global-ENB-ID": {"pLMNidentity": PLMN, "eNB-ID": ("macroENB-ID", 0x101)},
        "TAIListForRestart": [{"pLMNidentity": PLMN, "tAC": 1}]})
    out = sc.s1(restart, assoc=1)
    (ind,) = [sbcap.decode(a.data) for a in out if isinstance(a, SendSbcap)]
    assert ind.name == "PWS-Restart-Indication"
    assert ind.fields["Restarted-Cell-List"] == [{"pLMNidentity": PLMN, "cell-ID": 0x101}]
    assert ind.fields["List-of-TAIs-Restart"] == [{"tai": {"pLMNidentity": PLMN, "tAC": 1}}]


def test_malformed_sbcap_gets_an_error_indication_and_the_mme_keeps_serving() -> None:
    sc = _network()
    to_cbc, _ = _cbc(sc, b"\x00\x00\x80\xff\xff")
    assert [m.name for m in to_cbc] == ["Error-Indication"]
    assert to_cbc[0].fields["Cause"] == sbcap.CAUSES["transfer-syntax-error"]
    to_cbc, to_enbs = _cbc(sc, _request([1]))
    assert to_cbc[0].fields["Cause"] == sbcap.MESSAGE_ACCEPTED and list(to_enbs) == [1]


def test_cell_and_emergency_area_lists_go_to_every_enb_which_picks_its_cells() -> None:
    sc = _network()
    cells = sbcap.write_replace_warning_request(
        0x1100, SERIAL, 10, 1, sbcap.warning_area(cells=[(PLMN, 0x10201)]))
    _, to_enbs = _cbc(sc, cells)
    assert sorted(to_enbs) == [1, 2]
    assert to_enbs[2].fields["WarningAreaList"] == (
        "cellIDList", [{"pLMNidentity": PLMN, "cell-ID": 0x10201}])
    eai = sbcap.write_replace_warning_request(
        0x1100, SERIAL + 1, 10, 1, sbcap.warning_area(emergency_area_ids=[2]))
    _, to_enbs = _cbc(sc, eai)
    assert sorted(to_enbs) == [1, 2]
    assert to_enbs[1].fields["WarningAreaList"] == ("emergencyAreaIDList", [b"\x00\x00\x02"])


def test_an_enb_lost_before_answering_is_not_waited_for() -> None:
    sc = _network()
    mid = cbs.ETWS_EARTHQUAKE_AND_TSUNAMI
    _cbc(sc, _request([]))
    sc.s1(s1ap.write_replace_warning_response(mid, SERIAL, [(MME_PLMN, 0x101)]), assoc=1)
    out = sc.feed(S1Down(2))
    (ind,) = [sbcap.decode(a.data) for a in out if isinstance(a, SendSbcap)]
    cells = ind.fields["Broadcast-Scheduled-Area-List"]["cellId-Broadcast-List"]
    assert [c["eCGI"]["cell-ID"] for c in cells] == [0x101]
    assert (pws.AGGREGATION_TIMER, (mid, SERIAL)) not in sc.timers
