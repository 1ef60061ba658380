"""Bus payloads are parsed within limits (RFC 8259 §9). Over the embedded broker (real MQTT on
loopback): an order nested 30,000 deep is answered by an error event naming "$" and changes
nothing; an acknowledgement nested as deep does not stop the affected operator's client; both
sides go on with the next, valid order."""

from __future__ import annotations

import asyncio

import pytest

from corenet.activation.rescuer import RecordingConfigurator
from corenet.bus import topics, validate
from corenet.bus.broker import EmbeddedBroker
from corenet.bus.client import BusClient
from corenet.bus.topics import Kind
from tests.unit.activation.test_request import A, B, request
from tests.unit.bus.test_embedded_broker import USERS, rescuer_and_affected

DEEP = b'{"request_id":' + b"[" * 30_000 + b"]" * 30_000 + b"}"


async def _ignore(topic: str, data: bytes) -> None:
    return None


def test_load_refuses_deep_and_large_payloads_as_payload_errors() -> None:
    with pytest.raises(validate.PayloadError) as exc:
        validate.load(Kind.ORDER, DEEP)
    assert exc.value.field == "$" and "nested 30001 levels deep" in exc.value.message
    with pytest.raises(validate.PayloadError) as exc:
        validate.load(Kind.ACK, b" " * (validate.MAX_PAYLOAD + 1))
    assert exc.value.field == "$" and "bytes" in exc.value.message


async def test_deep_order_and_ack_are_refused_and_the_bus_goes_on() -> None:
    conf = RecordingConfigurator()
    async with EmbeddedBroker(USERS) as broker:
        ac, acks, events, tasks = await rescuer_and_affected(broker, conf)
        try:
            await ac.publish_raw(topics.order(B, A), DEEP)
            for _ in range(250):
                if events:
                    break
                await asyncio.sleep(0.02)
            assert events and events[0]["type"] == "error" and events[0]["field"] == "$"
            assert "nested" in str(events[0])
            assert conf.applied == []
            # acks to A are written by B: a deep one from B's credentials reaches A's client
            b2 = BusClient(broker.config.with_credentials("44020", "pw-b"), B, subscriptions=[],
                           identifier="t-b2")
            tasks.append(asyncio.create_task(b2.run(_ignore)))
            await asyncio.wait_for(b2.connected.wait(), 5)
            await b2.publish_raw(topics.ack(A, B), DEEP)
            req = request()
            await ac.publish(Kind.ORDER, topics.order(B, A), req.to_json())
            ack = await asyncio.wait_for(acks.get(), 10)
            assert ack.request_id == req.request_id and ack.accepted
            assert not any(t.done() for t in tasks)
            assert [r.request_id for r in conf.applied] == [req.request_id]
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
