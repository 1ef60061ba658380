"""Request and acknowledgement over the embedded amqtt broker (real MQTT on loopback)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from corenet.activation.request import Ack, OwnNetwork
from corenet.activation.rescuer import RecordingConfigurator, Rescuer
from corenet.bus import topics
from corenet.bus.broker import EmbeddedBroker
from corenet.bus.client import BusClient, probe
from corenet.bus.topics import Kind
from corenet.core.plmn import Plmn
from tests.unit.activation.test_request import A, B, request

NOW = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)
USERS = {"44010": "pw-a", "44020": "pw-b"}


async def rescuer_and_affected(broker: EmbeddedBroker, conf: RecordingConfigurator):
    rescuer = Rescuer(OwnNetwork(B, frozenset({A}), frozenset({101, 102})), conf)
    rc = BusClient(broker.config.with_credentials("44020", "pw-b"), B,
                   subscriptions=[topics.orders_for(B)], identifier="t-b")
    events: list[dict] = []
    acks: asyncio.Queue[Ack] = asyncio.Queue()

    async def on_order(topic: str, data: bytes) -> None:
        for pub in rescuer.handle_order(topic, data, NOW):
            if pub.kind is Kind.EVENT:
                events.append(pub.payload)
            await rc.publish(pub.kind, pub.topic, pub.payload)

    ac = BusClient(broker.config.with_credentials("44010", "pw-a"), A,
                   subscriptions=[topics.acks_for(A)], identifier="t-a")

    async def on_ack(topic: str, data: bytes) -> None:
        await acks.put(Ack.from_json(json.loads(data)))

    tasks = [asyncio.create_task(rc.run(on_order)), asyncio.create_task(ac.run(on_ack))]
    await asyncio.wait_for(rc.connected.wait(), 5)
    await asyncio.wait_for(ac.connected.wait(), 5)
    return ac, acks, events, tasks


async def test_request_ack_over_embedded_broker() -> None:
    conf = RecordingConfigurator()
    async with EmbeddedBroker(USERS) as broker:
        ac, acks, events, tasks = await rescuer_and_affected(broker, conf)
        try:
            req = request()
            await ac.publish(Kind.ORDER, topics.order(B, A), req.to_json())
            assert len(ac.outbox.pending()) == 1
            ack = await asyncio.wait_for(acks.get(), 5)
            assert ack.accepted and ack.request_id == req.request_id and ack.rescuer == B
            await asyncio.sleep(0.05)
            assert ac.outbox.pending() == []
            assert [r.request_id for r in conf.applied] == [req.request_id]
            assert events[0]["type"] == "configured"
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_malformed_request_gives_error_event_and_no_change() -> None:
    conf = RecordingConfigurator()
    async with EmbeddedBroker(USERS) as broker:
        ac, acks, events, tasks = await rescuer_and_affected(broker, conf)
        try:
            bad = request().to_json()
            bad["mode"] = "half"
            await ac.publish_raw(topics.order(B, A), json.dumps(bad).encode())
            for _ in range(100):
                if events:
                    break
                await asyncio.sleep(0.02)
            assert events[0]["type"] == "error" and events[0]["field"] == "mode"
            assert acks.empty() and conf.applied == []
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_unauthenticated_and_impersonating_clients_cannot_activate() -> None:
    async with EmbeddedBroker(USERS) as broker:
        assert await probe(broker.config) is not None
        assert await probe(broker.config.with_credentials("44010", "wrong")) is not None
        assert await probe(broker.config.with_credentials("44010", "pw-a")) is None
        conf = RecordingConfigurator()
        ac, acks, events, tasks = await rescuer_and_affected(broker, conf)
        # 44020 itself publishing an order in 44010's name is dropped by the broker's ACL.
        intruder = BusClient(broker.config.with_credentials("44020", "pw-b"), Plmn.parse("44020"),
                             subscriptions=[], identifier="t-x")
        task = asyncio.create_task(intruder.run(lambda t, d: asyncio.sleep(0)))
        tasks.append(task)
        try:
            await asyncio.wait_for(intruder.connected.wait(), 5)
            await intruder.publish_raw(topics.order(B, A), json.dumps(request().to_json()).encode())
            await asyncio.sleep(0.3)
            assert conf.applied == [] and acks.empty()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
