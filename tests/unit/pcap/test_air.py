"""What a cell broadcasts recorded beside the S1AP that caused it: the writer's second interface
in Wireshark's exported-PDU framing, dissected as LTE RRC (TS 36.331 §6.2.2, §6.3.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.codecs import cbs
from corenet.pcap import PcapWriter
from corenet.pcap.writer import PPID_S1AP
from sim_ue import pws
from tests import tshark
from tests.unit.pcap.messages import s1_setup_request

pytestmark = pytest.mark.tshark

ENB = ("10.1.0.1", 36412)
MME = ("10.2.0.1", 36412)


def test_broadcasts_share_the_capture_with_s1ap(tmp_path: Path) -> None:
    pcap = tmp_path / "air.pcapng"
    pdus = pws.broadcast_pdus(cbs.ETWS_EARTHQUAKE_AND_TSUNAMI, 0x3010,
                              cbs.warning_type(cbs.WarningTypeValue.EARTHQUAKE_AND_TSUNAMI),
                              cbs.warning_message_contents("津波警報", cbs.DCS_UCS2), cbs.DCS_UCS2)
    with PcapWriter(pcap, seed=1) as w:
        w.sctp(ENB, MME, s1_setup_request(), PPID_S1AP)
        air = pws.AirTap(w)
        air(pws.OnAir("enb1", 0x101, "lte_rrc.bcch_dl_sch", pws.sib1("44020", 1, 0x101, True, False)))
        air(pws.OnAir("enb1", 0x101, "lte_rrc.pcch", pws.paging(True, False)))
        for p in pdus:
            air(pws.OnAir("enb1", 0x101, "lte_rrc.bcch_dl_sch", p))
        w.sctp(MME, ENB, s1_setup_request(), PPID_S1AP)
    assert tshark.count(pcap, tshark.CLEAN_WITH_BROADCASTS) == 0
    assert tshark.count(pcap, "s1ap") == 2
    assert {int(v) for v in tshark.values(pcap, "lte-rrc.messageIdentifier")} == {
        cbs.ETWS_EARTHQUAKE_AND_TSUNAMI}
    # TS 23.041 §9.4.1.2.1: the Message Code is bits 13-4 of the Serial Number
    assert {int(v) for v in tshark.values(pcap, "lte-rrc.serialNumber.msg_code")} == {
        (0x3010 >> 4) & 0x3FF}
    assert tshark.count(pcap, "lte-rrc.etws_Indication") == 1
    assert tshark.count(pcap, "lte-rrc.systemInformationBlockType1_element") == 1
    comments = tshark.values(pcap, "frame.comment", "lte_rrc")
    assert set(comments) == {"enb1 cell 0x101"}
