"""Initial Context Setup details (TS 36.413 §8.3.1, §9.1.4.1): the Handover Restriction List
(§9.2.1.22; TS 23.401 §4.3.5.7, §5.3.2.1 step 17) per roaming mode, and the UE Radio
Capability the eNB reports in UE CAPABILITY INFO INDICATION (§8.9), kept by the MME."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from corenet.codecs import nas, s1ap
from corenet.codecs.ue_radio_capability import JAPAN_BANDS, bands_of, ue_radio_capability
from corenet.config.models import MmeConfig, RoamingPolicyEntry

from .scenario import IMSI, Scenario
from .test_emergency_attach import _complete_unauth, _emergency_attach, _finish


def _full_roaming(**kw: object) -> Scenario:
    cfg = MmeConfig(roaming={"policies": [RoamingPolicyEntry(home_plmn="44010",
                                                             mode="full")]}, **kw)
    sc = Scenario(cfg=cfg)
    sc.s1_setup()
    return sc


def test_full_roaming_ics_restricts_handover_to_serving_and_equivalent_plmns() -> None:
    sc = _full_roaming(equivalent_plmns=["44021", "44020"])
    ics, _ = sc.attach()
    hrl = s1ap.decode(s1ap.encode(ics)).fields["HandoverRestrictionList"]
    assert hrl["servingPLMN"] == "44020"
    # the serving PLMN is not repeated among the equivalent ones (§9.2.1.22)
    assert hrl["equivalentPLMNs"] == ["44021"]
    assert "forbiddenInterRATs" not in hrl
    assert "UERadioCapability" not in ics.fields  # none known at attach (TS 23.401 §5.11.2)


def test_emergency_only_ics_restricts_handover_to_the_serving_plmn() -> None:
    cfg = MmeConfig(equivalent_plmns=["44021"], roaming={"policies": [
        RoamingPolicyEntry(home_plmn="44010", mode="emergency-unauth")]})
    sc = Scenario(cfg=cfg)
    sc.s1_setup()
    _emergency_attach(sc)
    _, csr = _complete_unauth(sc)
    ics, _ = _finish(sc, csr)
    hrl = ics.fields["HandoverRestrictionList"]
    assert hrl == {"servingPLMN": "44020"}


def test_ue_capability_info_indication_is_stored_and_replaced() -> None:
    sc = _full_roaming()
    sc.attach()
    first = ue_radio_capability((1, 3))
    sc.s1(s1ap.ue_capability_info_indication(sc.mme_ue_id or 0, sc.enb_ue_id, first))
    assert sc.sent_s1() == []  # an indication, nothing answers it (TS 36.413 §8.9.2)
    assert "s1ap.ue_capability.stored" in sc.log_kinds()
    ue = sc.core.ue_by_imsi(IMSI)
    assert ue is not None and bands_of(ue.ue_radio_capability or b"") == [1, 3]
    sc.s1(s1ap.ue_capability_info_indication(sc.mme_ue_id or 0, sc.enb_ue_id,
                                             ue_radio_capability()))
    assert bands_of(ue.ue_radio_capability or b"") == list(JAPAN_BANDS)


def test_ue_capability_info_indication_for_unknown_ue_is_error_indication() -> None:
    sc = _full_roaming()
    sc.s1(s1ap.ue_capability_info_indication(99, 5, ue_radio_capability()))
    (err,) = sc.sent_s1()
    assert err.name == "ErrorIndication"
    assert tuple(err.fields["Cause"]) == ("radioNetwork", "unknown-mme-ue-s1ap-id")


def test_attach_deletes_the_stored_radio_capability() -> None:
    """TS 23.401 §5.11.2: the MME deletes the UE radio capability when the UE attaches."""
    sc = _full_roaming()
    sc.attach()
    sc.s1(s1ap.ue_capability_info_indication(sc.mme_ue_id or 0, sc.enb_ue_id,
                                             ue_radio_capability()))
    esm = nas.pdn_connectivity_request(pti=1, pdn_type=1)
    sc.uplink(sc.protect(nas.attach_request(imsi=IMSI, esm_container=esm)))
    ue = sc.core.ues[sc.mme_ue_id or 0]
    assert ue.ue_radio_capability is None


def test_ue_radio_capability_octets_decode_as_rrc() -> None:
    data = ue_radio_capability((1, 19, 28))
    assert bands_of(data) == [1, 19, 28]


@pytest.mark.tshark
def test_tshark_reads_restriction_list_and_radio_capability(tmp_path: Path) -> None:
    from scapy.all import IP, SCTP, SCTPChunkData, wrpcap

    sc = _full_roaming(equivalent_plmns=["44021"])
    ics, _ = sc.attach()
    info = s1ap.ue_capability_info_indication(sc.mme_ue_id or 0, sc.enb_ue_id,
                                              ue_radio_capability((1, 19)))
    pkts = [IP(src="192.0.2.1", dst="192.0.2.2") / SCTP(sport=36412, dport=36412)
            / SCTPChunkData(data=s1ap.encode(m), proto_id=18, tsn=n, stream_id=1,
                            beginning=1, ending=1)
            for n, m in enumerate((ics, info), 1)]
    path = tmp_path / "ics.pcap"
    wrpcap(str(path), pkts)
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=;", "-e",
         "s1ap.procedureCode", "-e", "s1ap.servingPLMN", "-e", "s1ap.PLMNidentity",
         "-e", "lte-rrc.bandEUTRA", "-e", "_ws.expert.severity"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip().splitlines()
    ics_line, info_line = (line.split(";") for line in out)
    assert ics_line[0] == "9" and ics_line[1] == "44f002"  # 440-20 (TS 24.008 §10.5.1.3)
    assert "44f012" in ics_line[2]  # 440-21, the equivalent PLMN
    assert info_line[0] == "22" and info_line[3].startswith("1,19")  # supportedBandListEUTRA
    assert ics_line[4] == "" and info_line[4] == ""
