"""pcapng captures of corenet traffic, always in the interfaces' standard framing."""

from __future__ import annotations

from corenet.pcap.tap import PcapTap
from corenet.pcap.writer import PcapWriter, live_writer

__all__ = ["PcapTap", "PcapWriter", "live_writer"]
