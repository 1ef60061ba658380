"""Diameter over TCP: messages delimited by the RFC 6733 §3 header, however the bytes arrive."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.core.errors import DecodeError, EncodeError
from corenet.transport import Direction, open_diameter_tcp_client, open_diameter_tcp_server
from corenet.transport.tcp import DiameterFramer
from tests.unit.pcap.messages import diameter_cea, diameter_cer

WAIT = 5.0


async def _get(q: asyncio.Queue[Any]) -> Any:
    return await asyncio.wait_for(q.get(), WAIT)


MESSAGES = [diameter_cer(1), diameter_cea(1), diameter_cer(2, "p" * 300)]


def _messages() -> list[bytes]:
    return list(MESSAGES)


def test_framer_one_byte_at_a_time() -> None:
    data = b"".join(_messages())
    framer = DiameterFramer()
    out = []
    for i in range(len(data)):
        out += [f.payload for f in framer.feed(data[i : i + 1])]
    assert out == _messages()
    assert framer.error is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=600), max_size=8))
def test_framer_any_split(cuts: list[int]) -> None:
    data = b"".join(_messages())
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    framer = DiameterFramer()
    out = []
    for a, b in zip(points, points[1:], strict=False):
        out += [f.payload for f in framer.feed(data[a:b])]
    assert out == _messages()
    assert all(type(p) is bytes for p in out)


@pytest.mark.parametrize(("header", "cause"), [
    (b"\x01\x00\x00\x13", 5015),  # length 19 < 20
    (b"\x01\x10\x00\x00", 5015),  # 1 MiB > the 64 KiB limit below
    (b"\x02\x00\x00\x14", 5011),  # version 2
])
def test_framer_rejects_bad_header(header: bytes, cause: int) -> None:
    framer = DiameterFramer(max_message=65536)
    frames = framer.feed(diameter_cer(1) + header)
    assert [f.payload for f in frames] == [diameter_cer(1)]
    assert framer.error is not None
    assert (framer.error.protocol, framer.error.cause) == ("diameter", cause)


def test_encode_checks_header_length() -> None:
    framer = DiameterFramer()
    msg = diameter_cer(1)
    assert framer.encode(msg) == msg
    with pytest.raises(EncodeError):
        framer.encode(msg + b"\x00\x00\x00\x00")
    with pytest.raises(EncodeError):
        framer.encode(b"\x02" + msg[1:])
    # a Message Length that is the true length modulo 2**24 does not delimit the message
    with pytest.raises(EncodeError):
        framer.encode(b"\x01\x00\x00\x14" + bytes((1 << 24) + 16))


async def test_partial_reads_over_loopback() -> None:
    got: asyncio.Queue[bytes] = asyncio.Queue()
    taps: list[tuple[Direction, tuple[str, int], tuple[str, int], bytes, int, int]] = []

    def on_message(conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        got.put_nowait(payload)
        conn.send(diameter_cea(1))

    server = await open_diameter_tcp_server(
        "127.0.0.1", 0, on_message, tap=lambda *a: taps.append(a)
    )
    async with server:
        host, port = server.local
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        msgs = _messages()
        for b in msgs[0]:  # one byte per write
            writer.write(bytes([b]))
            await writer.drain()
        writer.write(msgs[1] + msgs[2])  # two messages in one write
        await writer.drain()
        assert [await _get(got) for _ in range(3)] == msgs
        answers = await asyncio.wait_for(reader.readexactly(3 * len(diameter_cea(1))), WAIT)
        assert answers == diameter_cea(1) * 3
        peer = writer.get_extra_info("sockname")
        assert taps[0] == (Direction.RECEIVED, (peer[0], peer[1]), (host, port), msgs[0], 0, 0)
        assert taps[1] == (Direction.SENT, (host, port), (peer[0], peer[1]), diameter_cea(1), 0, 0)
        writer.close()


async def test_bad_length_reported_then_closed_server_survives() -> None:
    errors: asyncio.Queue[tuple[Any, DecodeError]] = asyncio.Queue()
    closed: asyncio.Queue[Any] = asyncio.Queue()
    got: asyncio.Queue[bytes] = asyncio.Queue()
    server = await open_diameter_tcp_server(
        "127.0.0.1", 0, lambda c, p, ppid, s: got.put_nowait(p),
        on_close=closed.put_nowait, on_error=lambda c, e: errors.put_nowait((c, e)),
    )
    async with server:
        host, port = server.local
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"\x01\x00\x00\x08" + b"\x00" * 16)
        await writer.drain()
        conn, exc = await _get(errors)
        assert exc.cause == 5015
        assert await _get(closed) is conn
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        writer.close()
        # the listening server still serves a well-behaved peer
        client = await open_diameter_tcp_client(host, port, lambda *a: None)
        client.send(diameter_cer(7))
        assert await _get(got) == diameter_cer(7)
        client.close()
        await client.wait_closed()
        assert client.closed
        with pytest.raises(ConnectionError):
            client.send(diameter_cer(8))
