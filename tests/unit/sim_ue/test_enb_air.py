"""The live capture of the simulated eNBs (`sim-ue --pcap`) holds what their cells broadcast:
a WRITE-REPLACE WARNING REQUEST from the MME (TS 36.413 §8.13.2) puts SIB1, Paging with
cmas-Indication and SIB12 on the air (TS 36.331 §5.3.10.11), recorded beside the S1AP on the
capture's exported-PDU interface with wall-clock time (`sim-ue attach --pcap`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from corenet.codecs import cbs, s1ap
from corenet.config.models import EnbConfig, Endpoint
from corenet.pcap import PcapTap, live_writer
from sim_ue.pws import AirTap
from sim_ue.runner import Population
from tests import tshark
from tests.unit.sim_ue.core_s1 import CoreS1Server, sim_ue_attach
from tests.unit.sim_ue.memnet import subscribers

pytestmark = pytest.mark.tshark

CMAS = cbs.MessageIdentifier.CMAS_EXTREME_IMMEDIATE_OBSERVED


async def test_live_capture_records_the_cells_broadcast(tmp_path: Path) -> None:
    mme = CoreS1Server(subscribers(1))
    host, port = await mme.start()
    pcap = tmp_path / "ue.pcapng"
    writer = live_writer(pcap)
    enb = EnbConfig(name="enb1", global_enb_id=0x101, tac=1, plmn="44020",
                    address="127.0.0.1", mme=Endpoint(host=host, port=port))
    started = time.time()
    try:
        pop = Population(subscribers(1), [enb], tap=PcapTap(writer).sctp, sctp_mode="fallback",
                         air=AirTap(writer), timeout=10.0)
        async with pop:
            request = s1ap.write_replace_warning_request(
                CMAS, 0x3020, 0, 1, None, cbs.warning_message_contents("Evacuate now"),
                cbs.DCS_GSM7)
            mme._send(1, s1ap.encode(request), 0)
            ue = pop.members[0].ue
            for _ in range(200):
                if ue.warnings.warnings:
                    break
                await asyncio.sleep(0.02)
            assert [w.text for w in ue.warnings.warnings.values()] == ["Evacuate now"]
    finally:
        mme.close()
        writer.close()
    assert tshark.count(pcap, tshark.CLEAN_WITH_BROADCASTS) == 0
    assert tshark.count(pcap, "s1ap.procedureCode == 36") == 2  # request and response
    assert tshark.count(pcap, "lte-rrc.cmas_Indication_r9") == 1
    assert tshark.count(pcap, "lte-rrc.systemInformationBlockType1_element") == 1
    assert {int(v) for v in tshark.values(pcap, "lte-rrc.messageIdentifier_r9")} == {CMAS}
    stamps = [float(t) for t in tshark.values(pcap, "frame.time_epoch", "lte_rrc")]
    assert len(stamps) == 3 and all(t >= started - 1 for t in stamps)


async def test_sim_ue_attach_stays_camped_and_captures_a_warning(tmp_path: Path) -> None:
    """`sim-ue attach --stay S --pcap`: a warning the MME sends after the attach is broadcast
    by the simulated cell and recorded in the live capture."""
    mme = CoreS1Server(subscribers(1))
    host, port = await mme.start()
    pcap = tmp_path / "ue.pcapng"
    try:
        proc = await sim_ue_attach(tmp_path, host, port, 1, "--enbs", "1", "--stay", "5",
                                   "--pcap", str(pcap), "--timeout", "30")
        for _ in range(1500):  # until the attach is done: the UEs now stay camped
            if "InitialContextSetupResponse" in mme.seen or proc.returncode is not None:
                break
            await asyncio.sleep(0.02)
        request = s1ap.write_replace_warning_request(
            cbs.ETWS_TSUNAMI, 0x3030, 0, 1,
            cbs.warning_type(cbs.WarningTypeValue.TSUNAMI),
            cbs.warning_message_contents("津波警報", cbs.DCS_UCS2), cbs.DCS_UCS2)
        mme._send(1, s1ap.encode(request), 0)
        _, stderr = await asyncio.wait_for(proc.communicate(), 90)
    finally:
        mme.close()
    assert proc.returncode == 0, stderr.decode()
    assert tshark.count(pcap, tshark.CLEAN_WITH_BROADCASTS) == 0
    assert tshark.count(pcap, "s1ap.procedureCode == 36") == 2
    assert tshark.count(pcap, "lte-rrc.etws_Indication") == 1
    assert {int(v) for v in tshark.values(pcap, "lte-rrc.messageIdentifier")} == {
        cbs.ETWS_TSUNAMI}
