"""The bus client: aiomqtt with QoS 1, retained status, reconnect with backoff, and an outbox.

Orders are written to a SQLite outbox before they are published and leave it only when the
rescuer's acknowledgement (or refusal) arrives; every reconnect resends what is still there, so a
broker restart between an order and its acknowledgement loses nothing. Rescuers answer a resent
order again without applying it twice (`corenet.activation.rescuer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import aiomqtt

from corenet.bus import topics
from corenet.bus.topics import Kind
from corenet.bus.validate import PayloadError, dump, load
from corenet.core.errors import ConfigError
from corenet.core.plmn import Plmn

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], Awaitable[None]]


@dataclass(frozen=True)
class BusConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str) -> BusConfig:
        """mqtt://user:password@host:port or mqtts://... (TLS, port 8883 by default; `?ca=FILE`
        names the CA certificates that verify the broker, otherwise the system's)."""
        parts = urlparse(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ConfigError(f"--mqtt: expected mqtt://[user:password@]host[:port], got {url!r}")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            ca_file=parse_qs(parts.query).get("ca", [None])[0],
        )

    def with_credentials(self, username: str | None, password: str | None) -> BusConfig:
        return BusConfig(self.host, self.port, username, password, self.tls, self.ca_file)


class Outbox:
    """Unacknowledged orders, kept in SQLite across restarts of the broker and of the sender."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (request_id TEXT, topic TEXT, payload BLOB,"
            " created REAL, PRIMARY KEY (request_id, topic))"
        )
        self._db.commit()

    def put(self, request_id: str, topic: str, payload: bytes) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO outbox VALUES (?, ?, ?, ?)",
            (request_id, topic, payload, time.time()),
        )
        self._db.commit()

    def remove(self, request_id: str, topic: str) -> bool:
        cur = self._db.execute(
            "DELETE FROM outbox WHERE request_id = ? AND topic = ?", (request_id, topic)
        )
        self._db.commit()
        return cur.rowcount > 0

    def pending(self) -> list[tuple[str, str, bytes]]:
        rows = self._db.execute("SELECT request_id, topic, payload FROM outbox ORDER BY created")
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    def close(self) -> None:
        self._db.close()


class BusClient:
    """One operator's connection. `run(handler)` connects, subscribes and dispatches until
    cancelled, reconnecting with exponential backoff."""

    def __init__(
        self,
        config: BusConfig,
        operator: Plmn,
        *,
        subscriptions: list[str],
        outbox: Outbox | None = None,
        identifier: str | None = None,
        backoff: tuple[float, float] = (0.05, 2.0),
        resend_s: float = 5.0,
    ) -> None:
        self.config = config
        self.operator = operator
        self.subscriptions = subscriptions
        self.outbox = outbox or Outbox()
        self.identifier = identifier or f"corenet-{operator}"
        self.backoff = backoff
        self.resend_s = resend_s
        self.connected = asyncio.Event()
        self.connect_errors: list[str] = []
        self._client: aiomqtt.Client | None = None
        self._retained: dict[str, bytes] = {}
        self._pending: list[tuple[str, bytes, int, bool]] = []

    def _make(self) -> aiomqtt.Client:
        return mqtt_client(self.config, self.identifier)

    async def run(self, handler: Handler) -> None:
        """Until cancelled. A cancellation that a library call swallowed (Python 3.11's
        `asyncio.wait_for` returns the result when its future completes as the task is
        cancelled; aiomqtt waits for every PUBACK and SUBACK that way) is taken up at the next
        step, so `task.cancel()` always ends the client."""
        delay = self.backoff[0]
        while True:
            try:
                async with self._make() as client:
                    self._client = client
                    await self._on_connect(client)
                    _raise_if_cancelled()
                    delay = self.backoff[0]
                    resender = asyncio.create_task(self._resend(client))
                    try:
                        async for message in client.messages:
                            await self._dispatch(str(message.topic), bytes(message.payload),
                                                 handler)
                            _raise_if_cancelled()
                    finally:
                        resender.cancel()
            except aiomqtt.MqttError as exc:
                # a failed DISCONNECT while being cancelled must not turn into a reconnect
                _raise_if_cancelled()
                self.connect_errors.append(str(exc))
                log.warning("bus %s: %s; retrying in %.2fs", self.identifier, exc, delay)
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff[1])

    async def _on_connect(self, client: aiomqtt.Client) -> None:
        for sub in self.subscriptions:
            await client.subscribe(sub, qos=1)
        for topic, payload in self._retained.items():
            await client.publish(topic, payload, qos=1, retain=True)
        pending, self._pending = self._pending, []
        for topic, payload, qos, retain in pending:
            await client.publish(topic, payload, qos=qos, retain=retain)
        for _, topic, payload in self.outbox.pending():
            await client.publish(topic, payload, qos=1)
        self.connected.set()

    async def _resend(self, client: aiomqtt.Client) -> None:
        """Orders still unacknowledged are sent again: the rescuer may have been offline."""
        with contextlib.suppress(aiomqtt.MqttError):
            while True:
                await asyncio.sleep(self.resend_s)
                for _, topic, payload in self.outbox.pending():
                    await client.publish(topic, payload, qos=1)

    async def _dispatch(self, topic: str, payload: bytes, handler: Handler) -> None:
        with contextlib.suppress(ValueError, PayloadError):
            where = topics.parse(topic)
            if where.kind is Kind.ACK and where.operator == self.operator and where.peer:
                request_id = load(Kind.ACK, payload)["request_id"]
                self.outbox.remove(request_id, topics.order(where.peer, self.operator))
        try:
            await handler(topic, payload)
        except Exception:  # a handler bug must not stop the bus
            log.exception("bus %s: handler failed on %s", self.identifier, topic)

    async def publish(self, kind: Kind, topic: str, payload: dict[str, Any]) -> None:
        """Validate and publish; orders go through the outbox, status is retained."""
        data = dump(kind, payload)
        retain = topics.RETAIN[kind]
        if kind is Kind.ORDER:
            self.outbox.put(payload["request_id"], topic, data)
        if retain:
            self._retained[topic] = data
        client = self._client
        if client is None:
            if kind is not Kind.ORDER and not retain:
                self._pending.append((topic, data, topics.QOS[kind], retain))
            return
        try:
            await client.publish(topic, data, qos=topics.QOS[kind], retain=retain)
        except aiomqtt.MqttError:
            if kind is not Kind.ORDER and not retain:
                self._pending.append((topic, data, topics.QOS[kind], retain))

    async def publish_raw(self, topic: str, data: bytes) -> None:
        """Publish bytes as they are (tests of how peers handle malformed payloads)."""
        if self._client is None:
            raise ConnectionError("not connected")
        await self._client.publish(topic, data, qos=1)


def _raise_if_cancelled() -> None:
    """Re-raise a cancellation of the current task that an awaited call did not propagate."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def mqtt_client(config: BusConfig, identifier: str) -> aiomqtt.Client:
    """An MQTT 3.1.1 client for `config`: TLS verifying the broker when mqtts (RFC 8446 via
    the ssl module), username and password in CONNECT (MQTT 3.1.1 §3.1.3.4)."""
    tls = ssl.create_default_context(cafile=config.ca_file) if config.tls else None
    return aiomqtt.Client(
        config.host, config.port, username=config.username, password=config.password,
        identifier=identifier, clean_session=True, keepalive=10, tls_context=tls, timeout=5,
    )


async def probe(config: BusConfig, identifier: str = "corenet-probe",
                timeout: float = 5.0) -> str | None:
    """Try to connect once; None on success, the broker's refusal otherwise (or that nothing
    answered within `timeout` seconds: a peer that is not an MQTT broker may never answer)."""
    try:
        async with asyncio.timeout(timeout), mqtt_client(config, identifier):
            return None
    except aiomqtt.MqttError as exc:
        return str(exc)
    except TimeoutError:
        return f"no CONNACK within {timeout:g} s"
