"""The control API on a loopback TCP socket: one JSON object per line each way.

A request line that is not a JSON object gets {"ok": false, "error": ...} and the connection
stays open; a peer's bytes never stop the server. A line is parsed within limits (RFC 8259 §9):
at most MAX_LINE bytes and MAX_DEPTH levels of nesting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from corenet.control.api import ControlAction, ControlResult, SetHssFailure, error
from corenet.core import jsonlimits

log = logging.getLogger("corenet.control")

MAX_LINE = 64 * 1024
MAX_DEPTH = 32


class Api(Protocol):
    def handle(self, request: Any, now: float) -> ControlResult[Any]: ...


Apply = Callable[[ControlAction], dict[str, Any] | None]


class ControlServer:
    """`ControlServer(api, apply)`; `start(host, port)` (port 0: a free one); `stop()`.

    `apply` carries out each action and may add fields to the response."""

    def __init__(self, api: Api, apply: Apply, clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self._apply = apply
        self._clock = clock
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("control server not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_LINE)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    def execute(self, request: Any) -> dict[str, Any]:
        """One request through the API, its actions carried out."""
        result = self.api.handle(request, self._clock())
        response = dict(result.response)
        for action in result.actions:
            extra = self._apply(action)
            if extra:
                response.update(extra)
        return response

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(_line(error("request line too long")))
                    break
                if not line:
                    break
                writer.write(_line(self.answer_line(line)))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def answer_line(self, line: bytes) -> dict[str, Any]:
        """The answer to one request line (what `_serve` writes back); never raises."""
        answer = self._answer(line)
        return answer.response if isinstance(answer, ControlResult) else answer

    def _answer(self, line: bytes) -> dict[str, Any] | ControlResult[Any]:
        try:
            request = jsonlimits.loads(line, max_depth=MAX_DEPTH, max_size=MAX_LINE)
        except jsonlimits.JsonLimitError as exc:
            return error(f"request refused: {exc}")
        except ValueError:
            return error("not a JSON line")
        if not isinstance(request, dict):
            return error("a request is a JSON object")
        try:
            return self.execute(request)
        except Exception as exc:  # a fault of ours answers; the server goes on
            log.exception("control request failed")
            return error(f"internal error: {exc}")


def _line(obj: dict[str, Any] | ControlResult[Any]) -> bytes:
    body = obj.response if isinstance(obj, ControlResult) else obj
    return json.dumps(body, sort_keys=False).encode() + b"\n"


async def request(host: str, port: int, body: dict[str, Any],
                  timeout: float = 5.0) -> dict[str, Any]:
    """Send one request, return the answer (the client of `corenet ctl`)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(json.dumps(body).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
    if not line:
        raise ConnectionError("the control endpoint closed the connection")
    try:
        answer = jsonlimits.loads(line, max_depth=MAX_DEPTH, max_size=MAX_LINE)
    except ValueError as exc:
        raise ConnectionError(f"the control endpoint answered something else than JSON: {exc}") from None
    if not isinstance(answer, dict):
        raise ConnectionError("the control endpoint answered something else than an object")
    return answer


def hss_injector(lookup: Callable[[str], Any]) -> Callable[[SetHssFailure], dict[str, Any]]:
    """Carry out SetHssFailure on the HSS of this process serving the realm, if any."""

    def apply(action: SetHssFailure) -> dict[str, Any]:
        hss = lookup(action.realm)
        if hss is None:
            return {"hss_in_process": False}
        hss.inject_failure(action.failure)
        return {"hss_in_process": True}

    return apply
