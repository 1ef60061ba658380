"""The embedded broker: amqtt (MQTT 3.1.1) on loopback, username/password required.

With no broker configured, corenet runs this one in-process so a drill or a demo needs nothing
else. Anonymous clients are refused at CONNECT (MQTT 3.1.1 §3.2.2.3, return code 5, not
authorised), and a client may publish only on the topics its username (its PLMN) writes
(`corenet.bus.topics.writer`), so no operator can order or acknowledge in another's name.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from corenet.bus import topics
from corenet.bus.client import BusConfig

for _name in ("amqtt", "transitions"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**12, r=8, p=1)
    return f"{salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    salt_hex, _, digest_hex = stored.partition("$")
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=2**12, r=8, p=1)
    return hmac.compare_digest(digest.hex(), digest_hex)


class PasswordAuthPlugin(BaseAuthPlugin):
    """Accepts a CONNECT only with a known username and its password."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)  # username -> hash_password()

    async def authenticate(self, *, session: Session) -> bool | None:
        users: dict[str, str] = getattr(self.context.config, "users", {})
        if not session or not session.username or session.username not in users:
            return False
        return check_password(session.password or "", users[session.username])


class TopicWriterPlugin(BaseTopicPlugin):
    """A PUBLISH is allowed only from the username that writes the topic."""

    @dataclass
    class Config:
        enabled: bool = True

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        if action is not Action.PUBLISH:
            return True
        if session is None or topic is None:
            return False
        owner = topics.writer(topic)
        return owner == "*" or (owner is not None and owner == session.username)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """`async with EmbeddedBroker({"44010": "secret"}) as broker:` then `broker.config`."""

    def __init__(self, users: dict[str, str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._users = {name: hash_password(pw) for name, pw in users.items()}
        self._broker: Broker | None = None

    def _settings(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                f"{__name__}.PasswordAuthPlugin": {"users": self._users},
                f"{__name__}.TopicWriterPlugin": {"enabled": True},
            },
        }

    @property
    def config(self) -> BusConfig:
        """Where clients connect (without credentials)."""
        return BusConfig(self.host, self.port)

    async def start(self) -> None:
        self._broker = Broker(self._settings())
        await self._broker.start()

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
