"""Captures dissect cleanly in Wireshark (tshark): real S1AP, Diameter and GTPv2-C payloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.pcap import PcapWriter
from corenet.pcap.writer import PPID_DIAMETER, PPID_S1AP
from tests.unit.pcap.messages import (
    diameter_cea,
    diameter_cer,
    dissect,
    gtpv2_echo,
    problems,
    protocols,
    s1_setup_request,
    s1_setup_response,
)

pytestmark = pytest.mark.tshark

ENB = ("10.1.0.1", 36412)
MME = ("10.2.0.1", 36412)
MME_DIA = ("10.2.0.1", 40001)
DRA = ("10.3.0.1", 3868)
MME_SCTP_DIA = ("10.2.0.1", 3868)
HSS = ("10.4.0.1", 3868)
MME_S11 = ("10.2.0.1", 2123)
SGW_S11 = ("10.5.0.1", 2123)

N_S1AP = 10


def _write_capture(path: Path, seed: int = 7) -> None:
    req, rsp = s1_setup_request(), s1_setup_response()
    with PcapWriter(path, seed=seed) as w:
        # S1AP over SCTP both ways, several streams, a burst one way (stand-alone SACKs)
        w.sctp(ENB, MME, req, PPID_S1AP, 0, comment="S1 Setup Request")
        w.sctp(MME, ENB, rsp, PPID_S1AP, 0, comment="S1 Setup Response")
        for i in range(3):
            w.sctp(ENB, MME, req, PPID_S1AP, 1 + i)
        w.sctp(MME, ENB, rsp, PPID_S1AP, 1)
        w.sctp(MME, ENB, rsp, PPID_S1AP, 2)
        # larger than one packet: fragmented DATA (RFC 9260 §6.9), reassembled by Wireshark
        w.sctp(ENB, MME, s1_setup_request(256), PPID_S1AP, 0, comment="fragmented")
        w.sctp(MME, ENB, rsp, PPID_S1AP, 0)
        # a new association after SHUTDOWN must not look like retransmissions
        w.sctp_shutdown(ENB, MME)
        w.sctp(ENB, MME, req, PPID_S1AP, 0, comment="after reconnect")
        # Diameter over TCP, including a message spanning several segments
        w.tcp(MME_DIA, DRA, diameter_cer(1), comment="CER")
        w.tcp(DRA, MME_DIA, diameter_cea(1), comment="CEA")
        w.tcp(MME_DIA, DRA, diameter_cer(2, "x" * 4000), comment="long CER")
        w.tcp(DRA, MME_DIA, diameter_cea(2))
        w.tcp_close(MME_DIA, DRA)
        # Diameter over SCTP
        w.sctp(MME_SCTP_DIA, HSS, diameter_cer(3), PPID_DIAMETER, 0)
        w.sctp(HSS, MME_SCTP_DIA, diameter_cea(3), PPID_DIAMETER, 0)
        # GTPv2-C over UDP
        w.udp(MME_S11, SGW_S11, gtpv2_echo(True, 1), comment="Echo Request")
        w.udp(SGW_S11, MME_S11, gtpv2_echo(False, 1))


Row = dict[str, str]


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    path = tmp_path_factory.mktemp("pcap") / "mixed.pcapng"
    _write_capture(path)
    return dissect(path)


def _with(rows: list[Row], proto: str) -> list[Row]:
    return [r for r in rows if proto in protocols(r)]


def test_no_malformed_and_no_expert_warnings(rows: list[Row]) -> None:
    assert len(rows) > 40
    assert problems(rows) == []


def test_no_retransmissions_or_tcp_analysis_flags(rows: list[Row]) -> None:
    for r in rows:
        assert r["sctp.retransmission"] == ""
        assert r["tcp.analysis.retransmission"] == ""
        assert r["tcp.analysis.flags"] == ""


def test_every_s1ap_data_frame_is_dissected(rows: list[Row]) -> None:
    # every DATA chunk ending an S1AP message (E bit) is dissected as S1AP
    ends = [r for r in rows if r["sctp.data_payload_proto_id"] == "18"
            and r["sctp.data_e_bit"] == "1"]
    assert len(ends) == N_S1AP
    assert all("s1ap" in protocols(r) for r in ends)
    s1ap = _with(rows, "s1ap")
    assert [r["s1ap.procedureCode"] for r in s1ap] == ["17"] * N_S1AP
    # responses are successfulOutcome, requests initiatingMessage
    assert sum(1 for r in s1ap if r["s1ap.successfulOutcome_element"]) == 4


def test_checksums_verified_good(rows: list[Row]) -> None:
    sctp = _with(rows, "sctp")
    assert len(sctp) > 20
    assert {r["sctp.checksum.status"] for r in sctp} == {"1"}
    assert {r["tcp.checksum.status"] for r in _with(rows, "tcp")} == {"1"}
    assert [r["udp.checksum.status"] for r in _with(rows, "udp")] == ["1", "1"]
    assert {r["ip.checksum.status"] for r in rows} == {"1"}


def test_verification_tags_are_the_peers(rows: list[Row]) -> None:
    s1 = [r for r in rows if r["sctp.srcport"] == str(ENB[1])]
    # the first association only: up to its SHUTDOWN COMPLETE (chunk type 14)
    end = next(i for i, r in enumerate(s1) if r["sctp.chunk_type"] == "14")
    first = s1[: end + 1]
    init, init_ack = first[0], first[1]
    assert init["sctp.chunk_type"] == "1"
    assert init["sctp.verification_tag"] == "0x00000000"  # RFC 9260 §8.5.1
    assert init_ack["sctp.chunk_type"] == "2"
    enb_tag, mme_tag = init["sctp.initiate_tag"], init_ack["sctp.initiate_tag"]
    assert enb_tag != mme_tag
    for r in first[1:]:
        assert r["sctp.verification_tag"] == (enb_tag if r["ip.src"] == MME[0] else mme_tag)
    # the reopened association chose new tags
    reopened = s1[end + 1]
    assert reopened["sctp.chunk_type"] == "1"
    assert reopened["sctp.initiate_tag"] not in (enb_tag, mme_tag)


def test_tsns_consecutive_per_direction(rows: list[Row]) -> None:
    by_dir: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        if r["sctp.srcport"] == str(ENB[1]) and r["sctp.data_tsn_raw"]:
            key = (r["ip.src"], r["sctp.verification_tag"])
            by_dir.setdefault(key, []).extend(int(t) for t in r["sctp.data_tsn_raw"].split(","))
    assert len(by_dir) == 3  # both directions, then the eNB alone on the new association
    for seq in by_dir.values():
        assert seq == list(range(seq[0], seq[0] + len(seq)))


def test_diameter_and_gtpv2_dissected(rows: list[Row]) -> None:
    dia = _with(rows, "diameter")
    assert [r["diameter.cmd.code"] for r in dia] == ["257"] * 6
    assert [r["diameter.flags.request"] for r in dia] == ["1", "0", "1", "0", "1", "0"]
    assert [r["diameter.Result-Code"] for r in dia if r["diameter.Result-Code"]] == ["2001"] * 3
    gtp = [(r["gtpv2.message_type"], r["gtpv2.seq"], r["gtpv2.rec"])
           for r in _with(rows, "gtpv2")]
    assert gtp == [("1", "0x000001", "3"), ("2", "0x000001", "3")]


def test_comments_present(rows: list[Row]) -> None:
    commented = [r for r in rows if r["frame.comment"]]
    assert [r["frame.comment"] for r in commented] == [
        "S1 Setup Request", "S1 Setup Response", "fragmented", "after reconnect",
        "CER", "CEA", "long CER", "Echo Request",
    ]
    # a fragmented message's comment sits on the frame where it is reassembled
    frag = next(r for r in commented if r["frame.comment"] == "fragmented")
    assert frag["s1ap.procedureCode"] == "17"


def test_ipv6_capture_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "v6.pcapng"
    enb, mme = ("2001:db8::1", 36412), ("2001:db8::2", 36412)
    with PcapWriter(path, seed=1) as w:
        w.sctp(enb, mme, s1_setup_request(), PPID_S1AP)
        w.sctp(mme, enb, s1_setup_response(), PPID_S1AP)
        w.sctp(enb, mme, s1_setup_request(200), PPID_S1AP)
        w.tcp(("2001:db8::2", 40000), ("2001:db8::3", 3868), diameter_cer(1, "y" * 2000))
        w.udp(("2001:db8::2", 2123), ("2001:db8::4", 2123), gtpv2_echo(True))
    rows = dissect(path)
    assert problems(rows) == []
    assert len(_with(rows, "s1ap")) == 3
    assert len(_with(rows, "diameter")) == 1
    assert len(_with(rows, "gtpv2")) == 1
    assert {r["sctp.checksum.status"] for r in _with(rows, "sctp")} == {"1"}
    assert rows[0]["ipv6.src"] == "2001:db8::1"
