"""SCTP fallback: SCTP user messages carried over TCP when the host has no kernel SCTP.

NON-STANDARD framing, spoken only between corenet components (a third-party MME or HSS expects
real SCTP). Each SCTP user message (RFC 9260 §3.3.1: user data + PPID + stream identifier)
becomes one frame:

    +--------------------+--------------------+----------------+------------------+
    | length (4 octets)  | PPID (4 octets)    | stream (2 oct) | payload (length) |
    +--------------------+--------------------+----------------+------------------+

all integers in network byte order; `length` counts the payload only. Captures still show each
message as SCTP DATA (the pcap tap writes standard framing).
"""

from __future__ import annotations

import struct

from corenet.core.errors import DecodeError, EncodeError
from corenet.transport.stream import (
    Callbacks,
    Frame,
    MessageServer,
    StreamConnection,
    open_stream_client,
    open_stream_server,
)

HEADER = struct.Struct("!IIH")
HEADER_SIZE = HEADER.size
DEFAULT_MAX_MESSAGE = 1 << 20
# RFC 9260 §3.3.10.9 "No User Data" error cause: a DATA chunk must carry user data.
CAUSE_NO_USER_DATA = 9


def encode_frame(payload: bytes, ppid: int, stream: int) -> bytes:
    """One fallback frame; rejects what SCTP could not carry (empty data, stream > 16 bits)."""
    if not payload:
        raise EncodeError("SCTP user messages carry at least one octet (RFC 9260 §3.3.1)")
    try:
        return HEADER.pack(len(payload), ppid, stream) + payload
    except struct.error:  # PPID beyond 32 bits or stream beyond 16 (or negative)
        raise EncodeError(f"PPID {ppid} or stream {stream} out of range") from None


class FallbackFramer:
    """Sans-I/O reader of the fallback framing (one per connection)."""

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self._buf = bytearray()  # the start of a frame that has not fully arrived
        self._max = max_message
        self.error: DecodeError | None = None

    def encode(self, payload: bytes, ppid: int, stream: int) -> bytes:
        if len(payload) > self._max:
            raise EncodeError(f"message of {len(payload)} octets exceeds {self._max}")
        return encode_frame(payload, ppid, stream)

    def feed(self, data: bytes) -> list[Frame]:
        """Whole frames completed by `data`; on a bad header, sets `error` and stops.

        A read usually carries whole frames (the peer writes a pass's messages together):
        they are cut from `data` itself in one pass; only a frame cut short waits in the
        buffer for the next read."""
        if self.error is not None:
            return []
        buf = self._buf
        if buf:
            buf += data
            data = bytes(buf)
            buf.clear()
        frames: list[Frame] = []
        pos, end, limit, unpack = 0, len(data), self._max, HEADER.unpack_from
        while end - pos >= HEADER_SIZE:
            length, ppid, stream = unpack(data, pos)
            if length == 0 or length > limit:
                self.error = (
                    DecodeError("sctp", CAUSE_NO_USER_DATA, "fallback frame with no user data")
                    if length == 0 else
                    DecodeError("sctp", None, f"fallback frame length {length} exceeds {limit}"))
                return frames
            start = pos + HEADER_SIZE
            pos = start + length
            if pos > end:
                pos = start - HEADER_SIZE
                break
            frames.append(Frame(data[start:pos], ppid, stream))
        if pos < end:
            buf += data[pos:] if pos else data
        return frames


async def open_fallback_server(
    host: str, port: int, callbacks: Callbacks, max_message: int = DEFAULT_MAX_MESSAGE
) -> MessageServer:
    return await open_stream_server(host, port, lambda: FallbackFramer(max_message), callbacks)


async def open_fallback_client(
    host: str, port: int, callbacks: Callbacks, max_message: int = DEFAULT_MAX_MESSAGE,
    *, local_host: str | None = None,
) -> StreamConnection:
    return await open_stream_client(host, port, lambda: FallbackFramer(max_message), callbacks,
                                    local_host=local_host)
