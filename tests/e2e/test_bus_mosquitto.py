"""Request and acknowledgement over a real mosquitto broker requiring a password, with the topic
ACL of corenet.bus.topics; a broker restart between an order and its acknowledgement."""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from corenet.activation.request import Ack, OwnNetwork
from corenet.activation.rescuer import RecordingConfigurator, Rescuer
from corenet.bus import topics
from corenet.bus.broker import free_port
from corenet.bus.client import BusClient, BusConfig, Outbox, probe
from corenet.bus.topics import Kind
from corenet.cli.drill_cmd import load_scenario, run_drill  # what `corenet drill` runs
from tests.unit.activation.test_request import NOW, A, B, request

SCENARIOS = Path(__file__).parents[2] / "configs" / "scenarios"
USERS = {"44010": "pw-a", "44020": "pw-b", "44050": "pw-c"}
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Mosquitto:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        passwd, acl = folder / "passwd", folder / "acl"
        passwd.write_text("")
        for user, pw in USERS.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, pw], check=True)
        acl.write_text("\n".join(topics.acl_lines()) + "\n")
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {passwd}\nacl_file {acl}\npersistence false\n"
            # Run as root, mosquitto would switch to its own user, who cannot read tmp_path.
            f"user {getpass.getuser()}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None

    @property
    def config(self) -> BusConfig:
        return BusConfig("127.0.0.1", self.port)

    async def ready(self, within: float = 15.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with status {self.proc.returncode}")
            if await probe(self.config.with_credentials("44010", "pw-a"), timeout=2.0) is None:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("mosquitto did not start")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed (scripts/setup.sh installs it)")
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()


class Pair:
    def __init__(self, bus: BusConfig, outbox: Outbox) -> None:
        self.conf = RecordingConfigurator()
        self.rescuer = Rescuer(OwnNetwork(B, frozenset({A}), frozenset({101, 102})), self.conf)
        self.rc = BusClient(bus.with_credentials("44020", "pw-b"), B,
                            subscriptions=[topics.orders_for(B)], identifier="m-b")
        self.ac = BusClient(bus.with_credentials("44010", "pw-a"), A,
                            subscriptions=[topics.acks_for(A)], identifier="m-a", outbox=outbox,
                            backoff=(0.05, 0.2), resend_s=0.2)
        self.acks: asyncio.Queue[Ack] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []

    async def on_order(self, topic: str, data: bytes) -> None:
        for pub in self.rescuer.handle_order(topic, data, NOW):
            await self.rc.publish(pub.kind, pub.topic, pub.payload)

    async def on_ack(self, topic: str, data: bytes) -> None:
        await self.acks.put(Ack.from_json(json.loads(data)))

    def start_affected(self) -> None:
        self.tasks.append(asyncio.create_task(self.ac.run(self.on_ack)))

    def start_rescuer(self) -> None:
        self.tasks.append(asyncio.create_task(self.rc.run(self.on_order)))

    async def close(self) -> None:
        # The fixture's teardown runs in a later turn of the loop than the test: a cancellation
        # that lands while a client is between wake-ups is taken up by its next wait, so cancel
        # until every task has ended.
        while pending := [t for t in self.tasks if not t.done()]:
            for t in pending:
                t.cancel()
            await asyncio.wait(pending, timeout=0.5)


@pytest.fixture
async def pair(mosquitto: Mosquitto, tmp_path: Path) -> AsyncIterator[Pair]:
    await mosquitto.ready()
    p = Pair(mosquitto.config, Outbox(tmp_path / "outbox.db"))
    yield p
    await p.close()


async def test_request_ack_over_mosquitto(pair: Pair) -> None:
    pair.start_rescuer()
    pair.start_affected()
    await asyncio.wait_for(pair.rc.connected.wait(), 5)
    await asyncio.wait_for(pair.ac.connected.wait(), 5)
    req = request()
    await pair.ac.publish(Kind.ORDER, topics.order(B, A), req.to_json())
    ack = await asyncio.wait_for(pair.acks.get(), 5)
    assert ack.accepted and ack.request_id == req.request_id and ack.tacs == (101, 102)
    assert [r.request_id for r in pair.conf.applied] == [req.request_id]


async def test_unauthenticated_client_is_refused(mosquitto: Mosquitto) -> None:
    await mosquitto.ready()
    assert await probe(mosquitto.config) is not None
    assert await probe(mosquitto.config.with_credentials("44010", "wrong")) is not None


async def test_impersonated_order_is_dropped_by_acl(pair: Pair) -> None:
    pair.start_rescuer()
    await asyncio.wait_for(pair.rc.connected.wait(), 5)
    # 44020's own credentials used to order in 44010's name: the ACL drops the PUBLISH.
    intruder = BusClient(pair.rc.config, B, subscriptions=[], identifier="m-x")
    task = asyncio.create_task(intruder.run(lambda t, d: asyncio.sleep(0)))
    pair.tasks.append(task)
    await asyncio.wait_for(intruder.connected.wait(), 5)
    await intruder.publish_raw(topics.order(B, A), json.dumps(request().to_json()).encode())
    await asyncio.sleep(0.3)
    assert pair.conf.applied == []


async def test_broker_restart_loses_no_order(mosquitto: Mosquitto, pair: Pair,
                                             tmp_path: Path) -> None:
    pair.start_affected()
    await asyncio.wait_for(pair.ac.connected.wait(), 5)
    req = request()
    # Published while no rescuer is subscribed, then the broker goes away (no persistence):
    # only the sender's outbox still has the order.
    await pair.ac.publish(Kind.ORDER, topics.order(B, A), req.to_json())
    mosquitto.stop()
    await asyncio.sleep(0.1)
    assert len(pair.ac.outbox.pending()) == 1
    assert len(Outbox(tmp_path / "outbox.db").pending()) == 1  # on disk
    mosquitto.start()
    await mosquitto.ready()
    pair.start_rescuer()
    await asyncio.wait_for(pair.rc.connected.wait(), 5)
    # The affected client reconnects with backoff and resends what its outbox holds until acked.
    ack = await asyncio.wait_for(pair.acks.get(), 10)
    assert ack.accepted and ack.request_id == req.request_id
    await asyncio.sleep(0.05)
    assert pair.ac.outbox.pending() == []
    assert len(pair.conf.applied) == 1


# every scenario shipped, with whether it ends in an activation and how many of its UEs attach
# (earthquake-6plus: recovery is faster than roaming, decided before any request is sent)
DRILLS = {"earthquake-7": (True, 20), "core-dual-failure": (True, 0),
          "earthquake-6plus": (False, 0), "emergency-only": (True, 10),
          "typhoon-alert-meeting": (True, 0)}


@pytest.mark.parametrize("name", sorted(DRILLS))
async def test_drill_over_mosquitto_finishes(mosquitto: Mosquitto, name: str) -> None:
    # A bus client whose cancellation was swallowed by a PUBACK arriving at the same time kept
    # the drill waiting for it forever (earthquake-7, core-dual-failure: two rescuers).
    await mosquitto.ready()
    sc = dataclasses.replace(load_scenario(SCENARIOS / f"{name}.yaml"), passwords=USERS)
    result = await asyncio.wait_for(run_drill(sc, mosquitto.config), 120)
    activated, served = DRILLS[name]
    assert result.activated is activated
    if activated:
        assert sorted(str(a.rescuer) for a in result.acks) == sorted(
            str(r.plmn) for r in sc.rescuers)
        assert all(a.accepted for a in result.acks)
    assert result.ues_served == served
