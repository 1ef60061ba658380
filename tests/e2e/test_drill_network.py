"""A drill over the embedded broker that really reconfigures the rescuer's network (issue:
activation drills, items 4 and 8): before the acknowledgement a UE of 440-10 is rejected (#11,
policy off), after it the scenario's UEs attach; `ues_served` is the attached count; after
termination the policy is off again. Read back from the capture with tshark."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner

from corenet.cli.drill_cmd import drill
from corenet.orchestration.drill import load_scenario, run_drill
from corenet.runtime.supervisor import deciphered_path
from tests import tshark

SCENARIOS = Path(__file__).resolve().parents[2] / "configs" / "scenarios"


async def test_full_roaming_drill_reconfigures_the_mme_and_serves_the_ues(tmp_path: Path) -> None:
    sc = dataclasses.replace(load_scenario(SCENARIOS / "earthquake-7.yaml"), ues=8)
    pcap = tmp_path / "drill.pcapng"
    result = await run_drill(sc, pcap=str(pcap))
    report = result.report(sc)
    net = report["network"]
    assert report["activated"] and net["rescuer"] == "44020"
    before = net["before_activation"]
    assert before["imsi"] == "440100000000001"
    assert (before["attached"], before["cause"]) == (False, 11)  # policy off for 440-10
    assert report["ues_served"] == 8 == report["release"][-1]["attached"]
    attached = [row["attached"] for row in report["release"]]
    assert attached == sorted(attached)
    assert [row["factor"] for row in report["release"]] == [0.1, 0.3, 0.6, 0.9, None]
    assert report["release"][0]["attempts"] == 8
    assert "44020 mme: roaming policy for 44010 in TACs [4101, 4102, 4103]: full" in \
        report["changes"]
    end = net["termination"]
    assert end["detached"] == 8
    assert end["policy"] == {"4101": "off", "4102": "off", "4103": "off"}
    assert (end["after_termination"]["attached"], end["after_termination"]["cause"]) == (
        False, 13)  # roaming not allowed in this TA
    # the capture: one #11 before the ack, eight Attach Accepts, one #13 after termination
    plain = Path(deciphered_path(str(pcap)))
    assert tshark.count(pcap, "_ws.malformed") == 0
    assert tshark.values(pcap, "nas_eps.emm.cause") == ["11", "13"]
    assert tshark.count(plain, "nas_eps.nas_msg_emm_type == 0x42") == 8  # Attach Accept
    assert tshark.count(plain, "nas_eps.nas_msg_emm_type == 0x45") == 8  # Detach Request
    # the scenario's earthquake + tsunami warning from the rescuer's (SoftBank's) CBC reached
    # the eight served UEs, through SBc-AP, S1AP Write-Replace Warning and SIB10/SIB11
    warning = report["warning"]
    assert (warning["warning"], warning["rescuer"]) == ("earthquake-tsunami", "softbank")
    assert warning["message_identifiers"] == [0x1102]
    assert (warning["ues"], warning["received"]) == (8, 8)
    assert len(warning["per_ue"]) == 8
    assert all(u["received"] and u["text"] for u in warning["per_ue"])
    mids = tshark.values(pcap, "sbc-ap.Message_Identifier", "sbcap && sbc-ap.procedureCode == 0")
    assert [int(m) for m in mids] == [0x1102, 0x1102]  # request and response
    tacs = tshark.values(pcap, "sbc-ap.tAC", "sbcap && sbc-ap.procedureCode == 0")
    assert {int(t) for t in tacs} == {4101, 4102, 4103}
    assert tshark.count(pcap, "s1ap.procedureCode == 36") == 2 * 3  # three eNBs
    assert tshark.count(pcap, "lte-rrc.etws_Indication") == 3
    assert {int(v) for v in tshark.values(pcap, "lte-rrc.messageIdentifier")} == {0x1102}


async def test_emergency_only_drill_serves_emergency_attaches(tmp_path: Path) -> None:
    sc = dataclasses.replace(load_scenario(SCENARIOS / "emergency-only.yaml"), ues=4)
    result = await run_drill(sc)
    report = result.report(sc)
    assert report["mode"] == "emergency-only" and report["ues_served"] == 4
    assert report["network"]["before_activation"]["cause"] == 11
    assert "44020 mme: roaming policy for 44010 in TACs [1501, 1502]: emergency-auth" in \
        report["changes"]
    assert report["network"]["termination"]["policy"] == {"1501": "off", "1502": "off"}


def test_cli_drill_reports_ues_served() -> None:
    res = CliRunner().invoke(drill, [str(SCENARIOS / "emergency-only.yaml"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["ues_served"] == 10 and out["activated"] is True
