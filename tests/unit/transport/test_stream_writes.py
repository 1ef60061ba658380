"""What a stream connection writes: the messages sent during one pass of the event loop leave
in one write, in the order they were sent, and a close lets them out before the FIN."""

from __future__ import annotations

import asyncio
from typing import Any

from corenet.transport.fallback import FallbackFramer, encode_frame
from corenet.transport.stream import Callbacks, StreamConnection


class _Transport(asyncio.Transport):
    """The socket side of a connection, recording what it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed_after: int | None = None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 36412), "peername": ("127.0.0.2", 40000)}.get(
            name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert self.closed_after is None, "write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed_after = len(self.writes)

    def is_closing(self) -> bool:
        return self.closed_after is not None


def _connection() -> tuple[StreamConnection, _Transport]:
    conn = StreamConnection(FallbackFramer(), Callbacks(on_message=lambda *a: None))
    transport = _Transport()
    conn.connection_made(transport)
    return conn, transport


async def test_messages_of_one_pass_leave_in_one_write_in_order() -> None:
    conn, transport = _connection()
    frames = [(b"\x00\x0c" + bytes([i]) * 20, 18, i) for i in range(3)]
    for payload, ppid, stream in frames:
        conn.send(payload, ppid, stream)
    await asyncio.sleep(0)
    assert transport.writes == [b"".join(encode_frame(p, ppid, s) for p, ppid, s in frames)]
    conn.send(b"next pass", 18, 0)
    await asyncio.sleep(0)
    assert transport.writes[1:] == [encode_frame(b"next pass", 18, 0)]


async def test_what_was_sent_before_a_close_leaves_before_it() -> None:
    conn, transport = _connection()
    conn.send(b"UEContextReleaseCommand", 18, 1)
    conn.close()
    assert transport.writes == [encode_frame(b"UEContextReleaseCommand", 18, 1)]
    assert transport.closed_after == 1
    await asyncio.sleep(0)
    assert transport.writes == [encode_frame(b"UEContextReleaseCommand", 18, 1)]
