"""An Attach Request carrying MS Classmark 3: pycrate re-encodes its own decode of it wrongly;
the fast path writes the value parts as received, and tshark reads them as TS 24.008 says."""

from __future__ import annotations

import logging
from pathlib import Path

from pycrate_mobile import TS24301_EMM as EMM

from corenet.codecs import catalogue, nas, s1ap
from corenet.codecs.fast import nas as fast_nas
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import UPLINK
from corenet.pcap.writer import PcapWriter
from tests import tshark

CM3 = bytes.fromhex("91d8cdc3")  # TS 24.008 §10.5.1.7 value part (CSN.1)
CODECS = bytes.fromhex("04026004")  # TS 24.008 §10.5.4.32: UMTS (SysID 4), UMTS AMR-WB
VOICE = b"\x03"  # TS 24.008 §10.5.5.28: IMS PS voice preferred, CS voice secondary
# TS 24.301 §8.2.4: the optional IEs 0x20 MS Classmark 3, 0x40 Supported Codecs, 0x5D Voice
# domain preference and UE's usage setting, after the mandatory part
ATTACH = (catalogue.nas_samples()[0][1] + b"\x20" + bytes((len(CM3),)) + CM3
          + b"\x40" + bytes((len(CODECS),)) + CODECS + b"\x5d\x01" + VOICE)


def test_pycrate_re_encoding_of_its_own_decode_shifts_the_later_ies() -> None:
    logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)
    pyc = EMM.EMMAttachRequest()
    pyc.from_bytes(ATTACH)
    again = bytes(pyc.to_bytes())
    assert again != ATTACH  # the CSN.1 re-encoding of MS Classmark 3 moves the bits after it
    assert CODECS not in again and again[-3:] != b"\x5d\x01\x03"


def test_fast_path_writes_the_value_parts_as_received() -> None:
    msg = nas.decode(ATTACH, direction=UPLINK)
    assert msg.fields["mobile_station_classmark_3"] == CM3
    assert msg.fields["supported_codecs"] == CODECS
    assert msg.fields["voice_domain_preference_and_ues_usage_setting"] == VOICE
    assert fast_nas.decode_plain(ATTACH, UPLINK) is not None
    data = fast_nas.encode(msg)
    assert data == ATTACH == nas.encode_pycrate(msg)


def test_tshark_reads_the_ies_after_classmark_3(tmp_path: Path) -> None:
    data = fast_nas.encode(nas.decode(ATTACH, direction=UPLINK))
    assert data is not None
    plmn = Plmn("440", "20")
    pcap = tmp_path / "attach-cm3.pcapng"
    with PcapWriter(pcap) as w:
        w.sctp(("127.0.1.1", 36412), ("127.0.0.2", 36412),
               s1ap.encode(s1ap.initial_ue_message(1, data, plmn, 1, plmn, 1)), 18, stream=1)
    assert tshark.count(pcap, "_ws.malformed") == 0
    row = tshark.fields(pcap, "gsm_a.classmark3.pgsmSupported", "gsm_a.dtap.sysid",
                        "gsm_a.dtap.codec.umts_amr_wb", "gsm_a.gm.gmm.voice_domain_pref_for_eutran",
                        "gsm_a.gm.gmm.ue_usage_setting", display_filter="s1ap")[0]
    assert row["gsm_a.classmark3.pgsmSupported"] == ["1"]  # §10.5.1.7: P-GSM supported
    assert [int(v, 16) for v in row["gsm_a.dtap.sysid"]] == [4]  # §10.5.4.32: UMTS
    assert row["gsm_a.dtap.codec.umts_amr_wb"] == ["1"]
    assert row["gsm_a.gm.gmm.voice_domain_pref_for_eutran"] == ["3"]  # §10.5.5.28
    assert row["gsm_a.gm.gmm.ue_usage_setting"] == ["0"]
