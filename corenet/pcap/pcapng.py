"""pcapng blocks (IETF draft-ietf-opsawg-pcapng, "PCAP Next Generation Dump File Format").

Only the three blocks a capture needs: Section Header (§4.1), Interface Description (§4.2) and
Enhanced Packet (§4.3), written little-endian (the Byte-Order Magic tells readers which).
"""

from __future__ import annotations

import struct

# §4.1, §4.2, §4.3 block types
SHB_TYPE = 0x0A0D0D0A
IDB_TYPE = 0x00000001
EPB_TYPE = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D

# LINKTYPE_RAW: each packet begins with an IPv4 or IPv6 header (tcpdump.org link-layer types).
LINKTYPE_RAW = 101

# §3.5 option codes
OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_USERAPPL = 4
IF_NAME = 2
IF_TSRESOL = 9


def _pad4(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    # §3.5: code, length of the unpadded value, value padded to 32 bits.
    return struct.pack("<HH", code, len(value)) + _pad4(value)


def _options(opts: list[tuple[int, bytes]]) -> bytes:
    if not opts:
        return b""
    return b"".join(_option(c, v) for c, v in opts) + struct.pack("<HH", OPT_ENDOFOPT, 0)


def _block(block_type: int, body: bytes) -> bytes:
    # §3.1: the total length is repeated after the body so readers can walk backwards.
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


def section_header_block(application: str = "corenet") -> bytes:
    """§4.1: version 1.0, section length unknown (-1)."""
    body = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1)
    body += _options([(SHB_USERAPPL, application.encode())])
    return _block(SHB_TYPE, body)


def interface_description_block(
    linktype: int = LINKTYPE_RAW, snaplen: int = 0, name: str = "corenet"
) -> bytes:
    """§4.2: snaplen 0 means no limit; if_tsresol 6 = microseconds."""
    body = struct.pack("<HHI", linktype, 0, snaplen)
    body += _options([(IF_NAME, name.encode()), (IF_TSRESOL, bytes([6]))])
    return _block(IDB_TYPE, body)


def enhanced_packet_block(
    ts_us: int, packet: bytes, comment: str | None = None, interface_id: int = 0
) -> bytes:
    """§4.3: 64-bit timestamp split high/low in if_tsresol units; optional opt_comment."""
    body = struct.pack(
        "<IIIII",
        interface_id,
        (ts_us >> 32) & 0xFFFFFFFF,
        ts_us & 0xFFFFFFFF,
        len(packet),
        len(packet),
    )
    body += _pad4(packet)
    if comment is not None:
        body += _options([(OPT_COMMENT, comment.encode("utf-8"))])
    return _block(EPB_TYPE, body)
