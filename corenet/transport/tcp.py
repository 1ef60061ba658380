"""Diameter over TCP (RFC 6733 §2.1, port 3868): messages delimited by their own header.

RFC 6733 §3: Version (1 octet, must be 1) then Message Length (3 octets, the whole message
including the 20-octet header). A header that cannot be right (version other than 1, length
below 20 or above our limit) means the stream can no longer be delimited: the connection is
reported through `on_error` (with Result-Code 5011 / 5015, §7.1.5) and closed.

Diameter over TLS/TCP (RFC 6733 §2.1, port 5658; §13.1): TLS from the first octet of the
connection, before the capabilities exchange; `server_tls_context` / `client_tls_context` build
the contexts, and `certificate_names` reads the identities a verified peer certificate carries.
"""

from __future__ import annotations

import ssl
import struct
from typing import Any

from corenet.core.errors import DecodeError, EncodeError
from corenet.transport.base import OnClose, OnConnect, OnError, OnMessage, Tap
from corenet.transport.stream import (
    Callbacks,
    Frame,
    MessageServer,
    StreamConnection,
    open_stream_client,
    open_stream_server,
)

DIAMETER_VERSION = 1
HEADER_LENGTH = 20
DEFAULT_MAX_MESSAGE = 1 << 20  # Message Length can reach 2**24 - 1; we accept up to 1 MiB
DIAMETER_UNSUPPORTED_VERSION = 5011  # RFC 6733 §7.1.5
DIAMETER_INVALID_MESSAGE_LENGTH = 5015  # RFC 6733 §7.1.5
_VERSION_LENGTH = struct.Struct("!I")
_VERSION_1 = DIAMETER_VERSION << 24


def message_length(header: bytes | bytearray) -> int:
    """Message Length of RFC 6733 §3 (octets 1..3 of the header)."""
    return int.from_bytes(header[1:4], "big")


class DiameterFramer:
    """Sans-I/O Diameter stream delimiter (one per connection)."""

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self._buf = bytearray()
        self._max = max_message
        self.error: DecodeError | None = None

    def encode(self, payload: bytes, ppid: int = 0, stream: int = 0) -> bytes:
        """The message goes out unchanged; its own header must delimit it."""
        n = len(payload)
        # Version 1 and a Message Length of the whole message (24 bits), read as one word
        if (HEADER_LENGTH <= n < 1 << 24
                and _VERSION_LENGTH.unpack_from(payload)[0] == _VERSION_1 | n):
            return payload
        if n < HEADER_LENGTH or payload[0] != DIAMETER_VERSION:
            raise EncodeError("not a Diameter message (RFC 6733 §3 header)")
        if message_length(payload) != n:
            raise EncodeError(
                f"Diameter Message Length {message_length(payload)} != {n} octets"
            )
        return payload

    def feed(self, data: bytes) -> list[Frame]:
        """Whole frames completed by `data`; on a bad header, sets `error` and stops.

        The messages a read carries whole are cut from `data` itself in one pass; only a
        message cut short waits in the buffer for the next read."""
        if self.error is not None:
            return []
        buf = self._buf
        if buf:
            buf += data
            data = bytes(buf)
            buf.clear()
        frames: list[Frame] = []
        pos, end, limit = 0, len(data), self._max
        while end - pos >= 4:
            # RFC 6733 §3: Version (1 octet) then Message Length (3 octets)
            word = _VERSION_LENGTH.unpack_from(data, pos)[0]
            length = word & 0xFFFFFF
            if word >> 24 != DIAMETER_VERSION or not HEADER_LENGTH <= length <= limit:
                self.error = _header_error(data[pos:pos + HEADER_LENGTH], limit)
                return frames
            if end - pos < length:
                break
            frames.append(Frame(data[pos:pos + length]))
            pos += length
        if pos < end:
            buf += data[pos:] if pos else data
        return frames


def _header_error(header: bytes, limit: int) -> DecodeError:
    """The header (as far as it arrived) that cannot delimit the stream: enough for the peer
    machine to answer (RFC 6733 §7.1.5)."""
    if header[0] != DIAMETER_VERSION:
        return DecodeError("diameter", DIAMETER_UNSUPPORTED_VERSION,
                           f"Diameter version {header[0]} (RFC 6733 §3 requires 1)",
                           header=header)
    return DecodeError("diameter", DIAMETER_INVALID_MESSAGE_LENGTH,
                       f"Diameter Message Length {message_length(header)} outside "
                       f"{HEADER_LENGTH}..{limit}", header=header)


async def open_diameter_tcp_server(
    host: str,
    port: int,
    on_message: OnMessage,
    on_connect: OnConnect | None = None,
    on_close: OnClose | None = None,
    *,
    on_error: OnError | None = None,
    tap: Tap | None = None,
    max_message: int = DEFAULT_MAX_MESSAGE,
    ssl_context: ssl.SSLContext | None = None,
) -> MessageServer:
    """Listen for Diameter peers over TCP (over TLS with `ssl_context`); on_message(conn,
    payload, 0, 0) per message."""
    callbacks = Callbacks(on_message, on_connect, on_close, on_error, tap)
    return await open_stream_server(host, port, lambda: DiameterFramer(max_message), callbacks,
                                    ssl_context=ssl_context)


async def open_diameter_tcp_client(
    host: str,
    port: int,
    on_message: OnMessage,
    on_connect: OnConnect | None = None,
    on_close: OnClose | None = None,
    *,
    on_error: OnError | None = None,
    tap: Tap | None = None,
    max_message: int = DEFAULT_MAX_MESSAGE,
    local_host: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> StreamConnection:
    """Connect to a Diameter peer over TCP, from `local_host` (any port) when given; over TLS
    with `ssl_context`, the peer's certificate checked against `server_hostname`."""
    callbacks = Callbacks(on_message, on_connect, on_close, on_error, tap)
    return await open_stream_client(host, port, lambda: DiameterFramer(max_message), callbacks,
                                    local_host=local_host, ssl_context=ssl_context,
                                    server_hostname=server_hostname)


def server_tls_context(cert: str, key: str, ca: str | None = None) -> ssl.SSLContext:
    """A TLS server context (RFC 6733 §13.1: TLS 1.2 or later); with `ca`, the client must
    present a certificate that CA issued (mutual authentication)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if ca is not None:
        ctx.load_verify_locations(ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_tls_context(ca: str, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """A TLS client context verifying the server against `ca` and its name (the peer's
    Origin-Host, RFC 6733 §13.1); `cert`/`key` are presented if the server asks."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(ca)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if cert is not None and key is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def certificate_names(peercert: Any) -> frozenset[str] | None:
    """The DNS names of a verified peer certificate (`getpeercert()`): subjectAltName dNSName
    entries, or the subject's commonName when it has none (RFC 6125 §6.4.4); None = no
    certificate (plain TCP, or TLS without client authentication)."""
    if not peercert:
        return None
    names = {v for k, v in peercert.get("subjectAltName", ()) if k == "DNS"}
    if not names:
        names = {v for rdn in peercert.get("subject", ()) for k, v in rdn if k == "commonName"}
    return frozenset(names)
