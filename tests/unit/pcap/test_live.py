"""Live captures: wall-clock timestamps and every message on disk as soon as it is recorded."""

from __future__ import annotations

import time
from pathlib import Path

from corenet.config.models import CorenetConfig
from corenet.pcap import live_writer
from corenet.pcap.reader import read_packets
from corenet.pcap.writer import DEFAULT_EPOCH_US, PORT_GTPV2C
from corenet.runtime.supervisor import Runtime

MME = ("192.0.2.2", PORT_GTPV2C)
SGW = ("192.0.2.4", PORT_GTPV2C)
ECHO = b"\x40\x01\x00\x04\x00\x00\x01\x00"  # GTPv2-C Echo Request header (TS 29.274 §5.1)


def test_live_writer_records_wall_clock_and_is_readable_before_close(tmp_path: Path) -> None:
    path = tmp_path / "live.pcapng"
    writer = live_writer(path)
    try:
        before = time.time()
        writer.udp(MME, SGW, ECHO)
        after = time.time()
        # not closed, not flushed by the caller: the packet is already in the file
        packets = read_packets(path)
        assert len(packets) == 1
        assert before - 0.001 <= packets[0].ts_us / 1e6 <= after + 0.001
    finally:
        writer.close()


def _first_ts_us(runtime: Runtime, path: Path) -> int:
    assert runtime.writer is not None
    runtime.writer.udp(MME, SGW, ECHO)
    return read_packets(path)[0].ts_us


async def test_runtime_without_seed_captures_live(tmp_path: Path) -> None:
    path = tmp_path / "run.pcapng"
    runtime = Runtime(CorenetConfig(), names=(), pcap_path=str(path))
    await runtime.start()
    try:
        assert abs(_first_ts_us(runtime, path) / 1e6 - time.time()) < 5
    finally:
        await runtime.stop()


async def test_seeded_runtime_freezes_time(tmp_path: Path) -> None:
    path = tmp_path / "demo.pcapng"
    runtime = Runtime(CorenetConfig(), names=(), pcap_path=str(path), seed=1)
    await runtime.start()
    try:
        assert runtime.writer is not None
        runtime.writer.udp(MME, SGW, ECHO)
    finally:
        await runtime.stop()
    # reproducible captures keep the synthetic clock: 2026-01-01T00:00:00Z, then 1 ms a packet
    assert read_packets(path)[0].ts_us == DEFAULT_EPOCH_US
