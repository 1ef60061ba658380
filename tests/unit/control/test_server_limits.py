"""The control endpoint parses each request line within limits (RFC 8259 §9): a document nested
30,000 deep gets a one-line answer, and the same connection and the server go on serving."""

from __future__ import annotations

import asyncio
import json

import pytest

from corenet.config.models import MmeConfig
from corenet.control.server import MAX_DEPTH, MAX_LINE, ControlServer, request
from corenet.core import jsonlimits
from corenet.nf.mme.control import ControlApi
from corenet.nf.mme.policy import RoamingPolicy

DEEP = b"[" * 30_000 + b"]" * 30_000


async def _server() -> ControlServer:
    server = ControlServer(ControlApi(RoamingPolicy.from_config(MmeConfig())), lambda _: None)
    await server.start("127.0.0.1", 0)
    return server


async def _exchange(writer: asyncio.StreamWriter, reader: asyncio.StreamReader,
                    line: bytes) -> dict[str, object]:
    writer.write(line)
    await writer.drain()
    answer = await asyncio.wait_for(reader.readline(), 10)
    assert answer, "the endpoint closed the connection without answering"
    return json.loads(answer)  # type: ignore[no-any-return]


async def test_deeply_nested_request_is_answered_and_the_endpoint_keeps_serving() -> None:
    server = await _server()
    try:
        host, port = server.address
        reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
        try:
            for deep in (DEEP, b'{"op":' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001):
                assert len(deep) < MAX_LINE
                answer = await _exchange(writer, reader, deep + b"\n")
                assert answer["ok"] is False
                assert "nested" in str(answer["error"]) and f"limit {MAX_DEPTH}" in str(answer["error"])
            # the same connection still answers a real request
            status = await _exchange(writer, reader, b'{"op": "policy.list"}\n')
            assert status["ok"] is True and isinstance(status["policies"], list)
        finally:
            writer.close()
        # and so does a new one
        assert (await request(host, port, {"op": "policy.list"}))["ok"] is True
    finally:
        await server.stop()


async def test_nesting_at_the_limit_is_parsed_as_usual() -> None:
    server = await _server()
    try:
        host, port = server.address
        nested: object = 1
        for _ in range(MAX_DEPTH - 1):
            nested = [nested]
        answer = await request(host, port, {"op": "policy.list", "x": nested})
        # parsed, then refused by the operation's schema (an unknown field), not by the limit
        assert answer["ok"] is False and "nested" not in str(answer["error"])
    finally:
        await server.stop()


def test_depth_skips_brackets_inside_strings() -> None:
    assert jsonlimits.depth(b'{"a": "[[[{{\\"[[", "b": [1, [2]]}') == 3
    assert jsonlimits.loads(b'"[[[[[[[["', max_depth=1) == "[[[[[[[["
    with pytest.raises(jsonlimits.JsonLimitError, match="nested 3 levels deep"):
        jsonlimits.loads("[[[]]]", max_depth=2)
    with pytest.raises(jsonlimits.JsonLimitError, match="bytes"):
        jsonlimits.loads(b"1" * 11, max_size=10)


async def test_the_client_refuses_a_deeply_nested_answer() -> None:
    async def deep_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(DEEP + b"\n")
        await writer.drain()
        writer.close()

    fake = await asyncio.start_server(deep_answer, "127.0.0.1", 0, limit=MAX_LINE)
    try:
        host, port = fake.sockets[0].getsockname()[:2]
        with pytest.raises(ConnectionError, match="nested 30000 levels deep"):
            await request(host, port, {"op": "status"})
    finally:
        fake.close()
        await fake.wait_closed()
