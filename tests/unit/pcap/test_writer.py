"""PcapWriter without Wireshark: determinism, timestamps, SCTP/TCP state, pcapng structure."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.layers.sctp import SCTP, SCTPChunkData, SCTPChunkInit, SCTPChunkInitAck, SCTPChunkSACK

from corenet.core.errors import DecodeError
from corenet.pcap import PcapWriter
from corenet.pcap.pcapng import enhanced_packet_block, interface_description_block
from corenet.pcap.pcapng import section_header_block as shb
from corenet.pcap.reader import CapturedPacket, parse_packets, read_packets
from corenet.pcap.sctp import SctpAssociation
from corenet.pcap.writer import DEFAULT_EPOCH_US, PPID_S1AP
from tests.unit.pcap.messages import dissect, s1_setup_request, s1_setup_response

ENB = ("192.0.2.1", 36412)
MME = ("192.0.2.2", 36412)


def _capture(seed: int, clock: list[float] | None = None) -> bytes:
    buf = io.BytesIO()
    ticks = iter(clock) if clock is not None else None
    w = PcapWriter(buf, clock=(lambda: next(ticks)) if ticks else None, seed=seed)
    w.sctp(ENB, MME, b"\x00\x11req", PPID_S1AP, comment="one")
    w.sctp(MME, ENB, b"\x20\x11rsp", PPID_S1AP, stream=1)
    w.tcp(("192.0.2.2", 40000), ("192.0.2.3", 3868), b"\x01" + b"\x00" * 19)
    w.udp(("192.0.2.2", 2123), ("192.0.2.4", 2123), b"\x40\x01\x00\x04\x00\x00\x01\x00")
    w.close()
    assert not buf.closed  # a caller's file stays open
    return buf.getvalue()


def _packets(data: bytes) -> list[CapturedPacket]:
    return parse_packets(data)


def test_same_seed_same_bytes() -> None:
    assert _capture(5) == _capture(5)
    assert _capture(5, [10.0, 11.0, 12.0, 13.0]) == _capture(5, [10.0, 11.0, 12.0, 13.0])


def test_different_seed_different_tags() -> None:
    def tags(data: bytes) -> tuple[int, int]:
        pk = _packets(data)
        init = IP(pk[0].data)[SCTPChunkInit]
        init_ack = IP(pk[1].data)[SCTPChunkInitAck]
        return init.init_tag, init_ack.init_tag

    a, b = tags(_capture(1)), tags(_capture(2))
    assert a != b
    assert a[0] != a[1]


def test_default_clock_starts_2026_and_steps_1ms() -> None:
    pk = _packets(_capture(0))
    # 4 handshake + 2 data + 3 TCP handshake + 1 TCP data + 1 UDP
    assert len(pk) == 11
    assert [p.ts_us for p in pk] == [DEFAULT_EPOCH_US + 1000 * i for i in range(11)]


def test_clock_and_explicit_ts() -> None:
    buf = io.BytesIO()
    with PcapWriter(buf, clock=lambda: 100.25, seed=0) as w:
        w.udp(("192.0.2.1", 5060), ("192.0.2.2", 5060), b"OPTIONS")
        w.udp(("192.0.2.1", 5060), ("192.0.2.2", 5060), b"OPTIONS", ts=200.5)
        data = buf.getvalue()
    assert [p.ts_us for p in _packets(data)] == [100_250_000, 200_500_000]


def test_comment_on_the_message_frame_only() -> None:
    pk = _packets(_capture(0))
    assert [p.comment for p in pk[:5]] == [None, None, None, None, "one"]
    assert all(p.comment is None for p in pk[5:])


def test_sctp_tsn_ssn_and_sack() -> None:
    assoc = SctpAssociation(ENB, MME, seed=3)
    hs = [IP(f.packet) for f in assoc.handshake()]
    enb_tsn0 = hs[0][SCTPChunkInit].init_tsn
    mme_tsn0 = hs[1][SCTPChunkInitAck].init_tsn
    frames = []
    frames += assoc.data(ENB, b"a", PPID_S1AP, 0)
    frames += assoc.data(ENB, b"b", PPID_S1AP, 0)  # second unacked packet: MME SACKs
    frames += assoc.data(ENB, b"c", PPID_S1AP, 5)
    frames += assoc.data(MME, b"d", PPID_S1AP, 0)  # SACK for "c" bundled before DATA
    pk = [IP(f.packet) for f in frames]
    data = [p[SCTPChunkData] for p in pk if p.haslayer(SCTPChunkData)]
    assert [d.tsn for d in data[:3]] == [enb_tsn0, enb_tsn0 + 1, enb_tsn0 + 2]
    assert [(d.stream_id, d.stream_seq) for d in data[:3]] == [(0, 0), (0, 1), (5, 0)]
    assert data[3].tsn == mme_tsn0 and data[3].proto_id == PPID_S1AP
    sacks = [p[SCTPChunkSACK] for p in pk if p.haslayer(SCTPChunkSACK)]
    assert [s.cumul_tsn_ack for s in sacks] == [enb_tsn0 + 1, enb_tsn0 + 2]
    # standalone SACK goes MME -> eNB with the eNB's tag
    assert pk[2][SCTP].sport == MME[1] and pk[2][SCTP].tag == hs[0][SCTPChunkInit].init_tag
    assert [f.completes_message for f in frames] == [True, True, False, True, True]


def test_sctp_fragments_share_ssn_and_set_b_e_bits() -> None:
    assoc = SctpAssociation(ENB, MME, seed=0)
    assoc.handshake()
    frames = assoc.data(ENB, bytes(4000), PPID_S1AP, 2)
    chunks = [IP(f.packet)[SCTPChunkData] for f in frames if IP(f.packet).haslayer(SCTPChunkData)]
    assert len(chunks) == 3
    assert [(c.beginning, c.ending) for c in chunks] == [(1, 0), (0, 0), (0, 1)]
    assert {c.stream_seq for c in chunks} == {0}
    assert b"".join(bytes(c.data) for c in chunks) == bytes(4000)
    assert all(len(f.packet) <= 1500 for f in frames)


def test_tcp_seq_ack_follow_bytes() -> None:
    buf = io.BytesIO()
    a, b = ("192.0.2.2", 40000), ("192.0.2.3", 3868)
    with PcapWriter(buf, seed=9) as w:
        w.tcp(a, b, b"x" * 100)
        w.tcp(b, a, b"y" * 30)
        w.tcp(a, b, b"z" * 3000)
        data = buf.getvalue()
    segs = [IP(p.data)[TCP] for p in _packets(data)]
    syn, synack, ack = segs[:3]
    assert syn.flags == "S" and synack.flags == "SA" and ack.flags == "A"
    assert synack.ack == syn.seq + 1 and ack.ack == synack.seq + 1
    d1, d2, d3a, d3b, d3c = segs[3:]
    assert d1.seq == syn.seq + 1 and d1.ack == synack.seq + 1
    assert d2.seq == synack.seq + 1 and d2.ack == d1.seq + 100
    assert d3a.seq == d1.seq + 100 and d3a.ack == d2.seq + 30
    assert [len(s.payload) for s in (d3a, d3b, d3c)] == [1460, 1460, 80]
    assert d3b.seq == d3a.seq + 1460 and d3c.flags == "PA"


def test_invalid_records_rejected() -> None:
    w = PcapWriter(io.BytesIO())
    with pytest.raises(ValueError):
        w.sctp(ENB, MME, b"", PPID_S1AP)
    with pytest.raises(ValueError):
        w.sctp(ENB, MME, b"x", PPID_S1AP, stream=70000)
    with pytest.raises(ValueError):
        w.udp(("192.0.2.1", 1), ("2001:db8::1", 1), b"x")
    with pytest.raises(ValueError):
        w.tcp(("192.0.2.1", 1), ("not-an-ip", 1), b"x")
    w.close()
    with pytest.raises(ValueError):
        w.udp(("192.0.2.1", 1), ("192.0.2.2", 1), b"x")


def test_path_writer_and_reader(tmp_path: Path) -> None:
    path = tmp_path / "f.pcapng"
    with PcapWriter(path, seed=1) as w:
        w.sctp(ENB, MME, s1_setup_request(), PPID_S1AP, comment="é comment")
    pk = read_packets(path)
    assert len(pk) == 5 and pk[-1].comment == "é comment"
    assert IP(pk[-1].data)[SCTPChunkData].proto_id == PPID_S1AP


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_reader_raises_only_decode_error(data: bytes) -> None:
    valid = shb() + interface_description_block()
    for blob in (data, valid + data):
        try:
            parse_packets(blob)
        except DecodeError:
            pass


def test_colliding_tsns_are_flagged_by_wireshark(tmp_path: Path) -> None:
    """The failure the writer avoids: an association restarted with the same tags and TSNs is
    reported as retransmissions and its payload is no longer dissected."""
    path = tmp_path / "collide.pcapng"
    blocks = [shb(), interface_description_block()]
    ts = DEFAULT_EPOCH_US
    for _ in range(2):
        assoc = SctpAssociation(ENB, MME, seed=0, incarnation=0)
        frames = assoc.handshake() + assoc.data(ENB, s1_setup_request(), PPID_S1AP, 0)
        frames += assoc.data(MME, s1_setup_response(), PPID_S1AP, 0)
        for f in frames:
            blocks.append(enhanced_packet_block(ts, f.packet))
            ts += 1000
    path.write_bytes(b"".join(blocks))
    rows = dissect(path)
    assert any(r["sctp.retransmission"] for r in rows)
