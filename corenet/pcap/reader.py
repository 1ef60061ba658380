"""Read back the pcapng files PcapWriter produces (little-endian, one section, EPBs)."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from corenet.core.errors import DecodeError
from corenet.pcap.pcapng import BYTE_ORDER_MAGIC, EPB_TYPE, OPT_COMMENT, SHB_TYPE


@dataclass(frozen=True)
class CapturedPacket:
    ts_us: int
    data: bytes
    comment: str | None


def _fail(detail: str) -> DecodeError:
    return DecodeError("pcapng", None, detail)


def _comment(options: bytes) -> str | None:
    # pcapng §3.5 options: code, length, value padded to 32 bits; opt_endofopt ends the list.
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack_from("<HH", options, pos)
        if code == 0:
            return None
        value = options[pos + 4 : pos + 4 + length]
        if len(value) != length:
            raise _fail("truncated option")
        if code == OPT_COMMENT:
            return value.decode("utf-8", errors="replace")
        pos += 4 + length + (-length % 4)
    return None


def parse_packets(data: bytes) -> list[CapturedPacket]:
    """Enhanced Packet Blocks of a little-endian pcapng section (§4.3), in file order."""
    if len(data) < 12 or struct.unpack_from("<I", data)[0] != SHB_TYPE:
        raise _fail("not a pcapng file")
    if struct.unpack_from("<I", data, 8)[0] != BYTE_ORDER_MAGIC:
        raise _fail("only little-endian sections are read")
    packets: list[CapturedPacket] = []
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise _fail("truncated block header")
        block_type, total = struct.unpack_from("<II", data, pos)
        if total < 12 or total % 4 or pos + total > len(data):
            raise _fail(f"bad block length {total} at offset {pos}")
        if block_type == EPB_TYPE:
            if total < 32:
                raise _fail("short Enhanced Packet Block")
            _, high, low, caplen, _ = struct.unpack_from("<IIIII", data, pos + 8)
            start = pos + 28
            end = start + caplen
            if end > pos + total - 4:
                raise _fail("captured length beyond block")
            options = data[start + caplen + (-caplen % 4) : pos + total - 4]
            packets.append(CapturedPacket((high << 32) | low, data[start:end], _comment(options)))
        pos += total
    return packets


def read_packets(path: str | os.PathLike[str]) -> list[CapturedPacket]:
    with open(path, "rb") as f:
        return parse_packets(f.read())
