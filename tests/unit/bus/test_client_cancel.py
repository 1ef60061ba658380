"""A bus client's task ends when cancelled, even when a library call swallowed the cancellation
(the drills against an external broker waited forever for such a task)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiomqtt
import pytest

from corenet.bus import topics
from corenet.bus.client import BusClient, BusConfig
from corenet.core.plmn import Plmn

B = Plmn.parse("44020")


@dataclass
class _Message:
    topic: str
    payload: bytes


class _Broker:
    """Stands for aiomqtt.Client: one order arrives, then nothing; DISCONNECT may fail."""

    def __init__(self, disconnect_fails: bool = False) -> None:
        self.disconnect_fails = disconnect_fails
        self.connections = 0

    def client(self) -> _Broker:
        return self

    async def __aenter__(self) -> _Broker:
        self.connections += 1
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.disconnect_fails:
            raise aiomqtt.MqttError("Disconnected during message iteration")

    async def subscribe(self, *args: Any, **kw: Any) -> None:
        return None

    async def publish(self, *args: Any, **kw: Any) -> None:
        return None

    @property
    def messages(self) -> AsyncIterator[_Message]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[_Message]:
        yield _Message(topics.order(B, Plmn.parse("44010")), b"{}")
        await asyncio.Event().wait()


def _client(broker: _Broker, monkeypatch: pytest.MonkeyPatch) -> BusClient:
    bus = BusClient(BusConfig(), B, subscriptions=[topics.orders_for(B)],
                    backoff=(0.01, 0.01))
    monkeypatch.setattr(bus, "_make", broker.client)
    return bus


async def test_cancel_swallowed_by_wait_for_in_the_handler_still_ends_the_task(
        monkeypatch: pytest.MonkeyPatch) -> None:
    bus = _client(_Broker(), monkeypatch)
    loop = asyncio.get_running_loop()
    puback: asyncio.Future[None] = loop.create_future()
    in_handler = asyncio.Event()

    async def on_order(topic: str, data: bytes) -> None:
        # what aiomqtt's publish does while it waits for the PUBACK (MQTT 3.1.1 §4.3.2)
        in_handler.set()
        await asyncio.wait_for(puback, 5)

    task = asyncio.create_task(bus.run(on_order))
    await asyncio.wait_for(in_handler.wait(), 2)
    # the PUBACK arrives in the same turn of the loop as the cancellation
    puback.set_result(None)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert task in done and task.cancelled()


async def test_cancel_with_a_failing_disconnect_does_not_reconnect(
        monkeypatch: pytest.MonkeyPatch) -> None:
    broker = _Broker(disconnect_fails=True)
    bus = _client(broker, monkeypatch)
    handled = asyncio.Event()

    async def on_order(topic: str, data: bytes) -> None:
        handled.set()

    task = asyncio.create_task(bus.run(on_order))
    await asyncio.wait_for(handled.wait(), 2)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert task in done and task.cancelled()
    assert broker.connections == 1 and bus.connect_errors == []
