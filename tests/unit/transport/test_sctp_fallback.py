"""SCTP over the fallback framing on loopback: PPID/stream kept, bad frames close one connection."""

from __future__ import annotations

import asyncio
import io
import logging
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.core.errors import DecodeError, EncodeError
from corenet.pcap import PcapTap, PcapWriter
from corenet.pcap.reader import parse_packets
from corenet.transport import Direction, open_sctp_client, open_sctp_server
from corenet.transport import sctp as sctp_mod
from corenet.transport.fallback import (
    CAUSE_NO_USER_DATA,
    HEADER,
    FallbackFramer,
    encode_frame,
)

WAIT = 5.0


class Recorder:
    """Collects callback invocations in queues."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[tuple[Any, bytes, int, int]] = asyncio.Queue()
        self.connected: asyncio.Queue[Any] = asyncio.Queue()
        self.closed: asyncio.Queue[Any] = asyncio.Queue()
        self.errors: asyncio.Queue[tuple[Any, DecodeError]] = asyncio.Queue()
        self.taps: list[tuple[Direction, tuple[str, int], tuple[str, int], bytes, int, int]] = []

    def on_message(self, conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        self.messages.put_nowait((conn, payload, ppid, stream))

    def on_connect(self, conn: Any) -> None:
        self.connected.put_nowait(conn)

    def on_close(self, conn: Any) -> None:
        self.closed.put_nowait(conn)

    def on_error(self, conn: Any, exc: DecodeError) -> None:
        self.errors.put_nowait((conn, exc))

    def tap(self, direction: Direction, src: tuple[str, int], dst: tuple[str, int],
            payload: bytes, ppid: int, stream: int) -> None:
        self.taps.append((direction, src, dst, payload, ppid, stream))

    def kwargs(self) -> dict[str, Any]:
        return {"on_connect": self.on_connect, "on_close": self.on_close,
                "on_error": self.on_error, "tap": self.tap}


async def _get(q: asyncio.Queue[Any]) -> Any:
    return await asyncio.wait_for(q.get(), WAIT)


async def test_round_trip_keeps_ppid_and_stream() -> None:
    srv, cli = Recorder(), Recorder()
    server = await open_sctp_server("127.0.0.1", 0, srv.on_message, **srv.kwargs(),
                                    mode="fallback")
    async with server:
        host, port = server.local
        conn = await open_sctp_client(host, port, cli.on_message, **cli.kwargs(), mode="fallback")
        server_conn = await _get(srv.connected)
        conn.send(b"\x00\x11S1AP", ppid=18, stream=0)
        conn.send(b"second", ppid=18, stream=7)
        conn.send(b"diameter", ppid=46, stream=65535)
        got = [await _get(srv.messages) for _ in range(3)]
        assert [(p, ppid, s) for _, p, ppid, s in got] == [
            (b"\x00\x11S1AP", 18, 0), (b"second", 18, 7), (b"diameter", 46, 65535),
        ]
        assert got[0][0] is server_conn
        server_conn.send(b"answer", ppid=18, stream=3)
        _, payload, ppid, stream = await _get(cli.messages)
        assert (payload, ppid, stream) == (b"answer", 18, 3)
        conn.close()
        assert await _get(srv.closed) is server_conn
        # tap: the client saw its sends as SENT local->remote and the answer as RECEIVED
        assert cli.taps[0] == (Direction.SENT, conn.local, (host, port), b"\x00\x11S1AP", 18, 0)
        assert cli.taps[-1] == (Direction.RECEIVED, (host, port), conn.local, b"answer", 18, 3)
        assert srv.taps[0] == (Direction.RECEIVED, conn.local, (host, port),
                               b"\x00\x11S1AP", 18, 0)
        assert srv.taps[-1][0] is Direction.SENT
        assert [t[0] for t in srv.taps] == [Direction.RECEIVED] * 3 + [Direction.SENT]


@pytest.mark.parametrize("header", [
    HEADER.pack(0xFFFFFFFF, 18, 0),  # garbage length
    HEADER.pack(0, 18, 0),  # SCTP DATA must carry user data
])
async def test_bad_length_closes_connection_server_keeps_accepting(header: bytes) -> None:
    srv = Recorder()
    server = await open_sctp_server("127.0.0.1", 0, srv.on_message, **srv.kwargs(),
                                    mode="fallback")
    async with server:
        host, port = server.local
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(encode_frame(b"ok", 18, 1) + header + b"junk")
        await writer.drain()
        _, payload, _, _ = await _get(srv.messages)
        assert payload == b"ok"
        _, exc = await _get(srv.errors)
        assert isinstance(exc, DecodeError) and exc.protocol == "sctp"
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed by the server
        writer.close()
        # a well-behaved client still gets through
        cli = Recorder()
        conn = await open_sctp_client(host, port, cli.on_message, mode="fallback")
        conn.send(b"again", ppid=18, stream=2)
        _, payload, ppid, stream = await _get(srv.messages)
        assert (payload, ppid, stream) == (b"again", 18, 2)
        conn.close()


async def test_failing_and_async_callbacks_do_not_break_the_connection() -> None:
    seen: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_message(conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        if payload == b"boom":
            raise RuntimeError("handler bug")
        await seen.put(payload)

    server = await open_sctp_server("127.0.0.1", 0, on_message, mode="fallback")
    async with server:
        conn = await open_sctp_client(*server.local, lambda *a: None, mode="fallback")
        conn.send(b"boom", 18)
        conn.send(b"fine", 18)
        assert await _get(seen) == b"fine"
        assert not conn.closed
        conn.close()


def test_framer_splits_and_joins() -> None:
    data = encode_frame(b"abc", 18, 1) + encode_frame(b"defg", 46, 2)
    framer = FallbackFramer()
    frames = []
    for i in range(len(data)):
        frames += framer.feed(data[i : i + 1])
    assert [(f.payload, f.ppid, f.stream) for f in frames] == [(b"abc", 18, 1), (b"defg", 46, 2)]
    assert FallbackFramer().feed(data) == frames
    assert struct.unpack("!IIH", data[:10]) == (3, 18, 1)


def test_framer_takes_a_pass_of_frames_at_once_and_keeps_the_tail() -> None:
    """One read carrying a whole pass's messages (StreamConnection writes them together):
    every frame, in order, and the incomplete one kept for the next read."""
    frames_in = [(bytes([i]) * (i + 1), 18, i % 3) for i in range(200)]
    data = b"".join(encode_frame(*f) for f in frames_in)
    tail = encode_frame(b"tail", 18, 0)
    framer = FallbackFramer()
    got = framer.feed(data + tail[:7])
    assert [(f.payload, f.ppid, f.stream) for f in got] == frames_in
    assert framer.feed(tail[7:]) == [(b"tail", 18, 0)]
    assert framer.feed(b"") == [] and framer.error is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=80), max_size=8), st.booleans())
def test_framer_any_split_gives_the_frames_and_the_fault_of_one_read(cuts: list[int],
                                                                    bad: bool) -> None:
    """However the reads cut the stream (frames whole in a read, cut across reads, a read
    ending in the middle of a header), the same frames, as bytes, and the same fault."""
    frames_in = [(b"abc", 18, 1), (bytes(range(40)), 46, 2), (b"z", 18, 0)]
    data = b"".join(encode_frame(*f) for f in frames_in)
    if bad:
        data += HEADER.pack(0, 18, 0) + encode_frame(b"after", 18, 0)
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    whole = FallbackFramer()
    expected = whole.feed(data)
    framer = FallbackFramer()
    got = []
    for a, b in zip(points, points[1:], strict=False):
        got += framer.feed(data[a:b])
    assert got == expected == frames_in
    assert all(type(f.payload) is bytes for f in got)
    assert (framer.error is None) == (whole.error is None) == (not bad)
    if bad:
        assert framer.error is not None and framer.error.cause == CAUSE_NO_USER_DATA


def test_framer_limits() -> None:
    framer = FallbackFramer(max_message=10)
    frames = framer.feed(encode_frame(b"0123456789", 18, 0) + HEADER.pack(11, 18, 0))
    assert [f.payload for f in frames] == [b"0123456789"]  # frames before the fault survive
    assert framer.error is not None and "exceeds" in framer.error.detail
    assert framer.feed(encode_frame(b"x", 18, 0)) == []  # the stream stays unusable
    empty = FallbackFramer()
    assert empty.feed(HEADER.pack(0, 18, 0)) == []
    assert empty.error is not None and empty.error.cause == 9
    with pytest.raises(EncodeError):
        FallbackFramer().encode(b"", 18, 0)
    with pytest.raises(EncodeError):
        FallbackFramer().encode(b"x", 18, 70000)


async def test_kernel_mode_unavailable_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sctp_mod, "kernel_sctp_status", lambda: (False, "no kernel SCTP"))
    with pytest.raises(OSError):
        await open_sctp_server("127.0.0.1", 0, lambda *a: None, mode="kernel")


async def test_auto_mode_logs_fallback(monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(sctp_mod, "kernel_sctp_status", lambda: (False, "no kernel SCTP"))
    sctp_mod._announce.cache_clear()
    with caplog.at_level(logging.INFO, logger="corenet.transport"):
        server = await open_sctp_server("127.0.0.1", 0, lambda *a: None, mode="auto")
    server.close()
    await server.wait_closed()
    lines = [r.getMessage() for r in caplog.records if "SCTP transport" in r.getMessage()]
    assert len(lines) == 1 and "fallback" in lines[0] and "no kernel SCTP" in lines[0]


async def test_pcap_tap_records_standard_sctp() -> None:
    buf = io.BytesIO()
    writer = PcapWriter(buf, seed=4)
    tap = PcapTap(writer, directions={Direction.SENT})  # both ends share one writer
    server = await open_sctp_server("127.0.0.1", 0, lambda c, p, ppid, s: c.send(p, ppid, s),
                                    tap=tap.sctp, mode="fallback")
    got: asyncio.Queue[bytes] = asyncio.Queue()
    async with server:
        conn = await open_sctp_client(*server.local, lambda c, p, ppid, s: got.put_nowait(p),
                                      tap=tap.sctp, mode="fallback")
        conn.send(b"\x00\x11\x00\x00", ppid=18, stream=1)
        assert await _get(got) == b"\x00\x11\x00\x00"
        conn.close()
    writer.close()
    packets = parse_packets(buf.getvalue())
    # handshake (4) + request + echoed answer carrying a bundled SACK
    assert len(packets) == 6
    assert all(p.data[9] == 132 for p in packets)  # IPv4 protocol number 132 = SCTP


async def test_client_binds_local_host() -> None:
    srv = Recorder()
    server = await open_sctp_server("127.0.0.1", 0, srv.on_message, **srv.kwargs(),
                                    mode="fallback")
    async with server:
        conn = await open_sctp_client(*server.local, lambda *a: None, mode="fallback",
                                      local_host="127.0.0.2")
        assert conn.local[0] == "127.0.0.2"
        server_conn = await _get(srv.connected)
        assert server_conn.remote == conn.local
        conn.close()


async def test_accept_out_of_descriptors_warns_once_and_resumes(
        caplog: pytest.LogCaptureFixture) -> None:
    """EMFILE on accept: one warning, back-off, and the waiting associations are taken once
    descriptors are free again (no traceback per attempt, the server keeps listening)."""
    import os
    import resource
    import socket

    srv = Recorder()
    server = await open_sctp_server("127.0.0.1", 0, srv.on_message, **srv.kwargs(),
                                    mode="fallback")
    host, port = server.local
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    clients: list[socket.socket] = []
    caplog.set_level(logging.WARNING, logger="corenet.transport")
    try:
        lowest_free = os.dup(0)
        os.close(lowest_free)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free + 3, hard))
        for _ in range(3):  # every descriptor left goes to a client
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            clients.append(c)
            c.connect((host, port))  # completed by the kernel, waiting in the backlog
        with pytest.raises(OSError):
            socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        for _ in range(40):  # several back-off rounds of the acceptor
            await asyncio.sleep(0.02)
        assert server.accept_failures >= 2
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        for _ in clients:
            await _get(srv.connected)
        texts = [r.getMessage() for r in caplog.records]
        assert sum("cannot accept" in t for t in texts) == 1
        assert sum("accepting again" in t for t in texts) == 1
        assert all(r.exc_info is None for r in caplog.records)
    finally:
        for c in clients:
            c.close()
        server.close()
        await server.wait_closed()
