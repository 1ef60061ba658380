"""Shared test material: subscribers, S6a requests as an MME sends them, a Diameter client."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.config.models import DiameterPeerSpec
from corenet.config.subscribers import ApnProfile, Subscriber
from corenet.core.plmn import Plmn
from corenet.protocols import diameter_peer as dp
from corenet.transport import open_diameter_tcp_client, open_sctp_client

# TS 35.208 test set 1
K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"
IMSI = "440100000000001"
MSISDN = "819010000001"
VISITED = Plmn("440", "20")
HSS_HOST = "hss.epc.mnc010.mcc440.3gppnetwork.org"
HSS_REALM = "epc.mnc010.mcc440.3gppnetwork.org"
MME_HOST = "mme.epc.mnc020.mcc440.3gppnetwork.org"
MME2_HOST = "mme2.epc.mnc020.mcc440.3gppnetwork.org"
MME_REALM = "epc.mnc020.mcc440.3gppnetwork.org"

_ids = itertools.count(1)


def subscriber(imsi: str = IMSI, **kw: Any) -> Subscriber:
    values: dict[str, Any] = {
        "imsi": imsi, "msisdn": MSISDN, "k": K, "opc": OPC, "amf": "8000",
        "ue_ambr_ul_bps": 50_000_000, "ue_ambr_dl_bps": 100_000_000,
        "apns": [ApnProfile(apn="internet", context_id=1, pdn_type="ipv4v6", qci=9,
                            arp_priority=8),
                 ApnProfile(apn="ims", context_id=2, pdn_type="ipv4v6", qci=5, arp_priority=1)],
        "default_apn": "internet",
    }
    values.update(kw)
    return Subscriber(**values)


def _sid(host: str) -> str:
    return dia.session_id(host, 1, next(_ids))


def air(imsi: str = IMSI, *, n: int = 1, resync: bytes | None = None, host: str = MME_HOST,
        plmn: Plmn = VISITED) -> Message:
    return s6a.air(_sid(host), host, MME_REALM, HSS_REALM, imsi, plmn, hop_by_hop=next(_ids),
                   end_to_end=next(_ids), num_vectors=n, resync_info=resync)


def ulr(imsi: str = IMSI, *, host: str = MME_HOST, flags: int = s6a.UlrFlags.S6A_S6D_INDICATOR,
        plmn: Plmn = VISITED) -> Message:
    return s6a.ulr(_sid(host), host, MME_REALM, HSS_REALM, imsi, plmn, hop_by_hop=next(_ids),
                   end_to_end=next(_ids), ulr_flags=flags)


def pur(imsi: str = IMSI, *, host: str = MME_HOST) -> Message:
    return s6a.pur(_sid(host), host, MME_REALM, HSS_REALM, imsi, hop_by_hop=next(_ids),
                   end_to_end=next(_ids))


def without(msg: Message, name: str) -> Message:
    avps = [a for a in msg.fields["avps"] if a[0] != name]
    return Message(msg.protocol, msg.name, msg.code, {**msg.fields, "avps": avps})


def wire(msg: Message) -> Message:
    """Through pycrate and back, as the peer would see it."""
    return dia.decode(dia.encode(msg))


def local_peer(host: str = MME_HOST, *addresses: str) -> DiameterPeerSpec:
    """A configured Diameter peer connecting from loopback (or from `addresses`)."""
    return DiameterPeerSpec(origin_host=host, addresses=list(addresses or ["127.0.0.1"]))


def peer_config(host: str = MME_HOST, realm: str = MME_REALM, **kw: Any) -> dp.PeerConfig:
    return dp.PeerConfig(origin_host=host, origin_realm=realm, **kw)


class DiameterClient:
    """An MME-side Diameter connection over real TCP driven by the initiator peer machine."""

    def __init__(self, config: dp.PeerConfig) -> None:
        self.peer = dp.DiameterPeer(config, dp.Role.INITIATOR)
        self.events: asyncio.Queue[dp.PeerEvent] = asyncio.Queue()
        self.conn: Any = None
        self.auto_answer_clr = True
        self.ppid = 0

    @classmethod
    async def connect(cls, host: str, port: int, config: dp.PeerConfig,
                      transport: str = "tcp", **kw: Any) -> DiameterClient:
        """`kw`: transport options (`local_host`, `ssl_context`, `server_hostname`)."""
        client = cls(config)
        opener = open_sctp_client if transport == "sctp" else open_diameter_tcp_client
        client.conn = await opener(host, port, client._on_message, on_close=client._on_close,
                                   **kw)
        client.ppid = 46 if transport == "sctp" else 0
        client.peer.connection_made(asyncio.get_running_loop().time())
        client._pump()
        return client

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _on_message(self, conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        self.peer.receive(payload, self._now())
        self._pump()

    def _on_close(self, conn: Any) -> None:
        self.peer.connection_lost(self._now())
        self._pump()

    def _pump(self) -> None:
        while (event := self.peer.next_event()) is not None:
            if (isinstance(event, dp.RequestReceived) and event.message.name == "CLR"
                    and self.auto_answer_clr):
                cfg = self.peer.config
                self.peer.send_answer(s6a.cla(event.message, cfg.origin_host, cfg.origin_realm),
                                      self._now())
            self.events.put_nowait(event)
        assert self.conn is not None
        if not self.conn.closed:
            for data in self.peer.data_to_send():
                self.conn.send(data, self.ppid)
            if self.peer.state is dp.PeerState.CLOSED:
                self.conn.close()

    async def next(self, kind: type, timeout: float = 3.0) -> Any:
        """The next event of type `kind` (others are skipped)."""
        while True:
            event = await asyncio.wait_for(self.events.get(), timeout)
            if isinstance(event, kind):
                return event

    async def opened(self) -> dp.PeerOpened:
        event: dp.PeerOpened = await self.next(dp.PeerOpened)
        return event

    async def ask(self, msg: Message) -> Message:
        self.peer.request(msg, self._now())
        self._pump()
        event: dp.AnswerReceived = await self.next(dp.AnswerReceived)
        return event.message

    async def close(self) -> None:
        if self.conn is not None and not self.conn.closed:
            self.peer.close(self._now())
            self._pump()
            try:
                await asyncio.wait_for(self.conn.wait_closed(), 2.0)
            except TimeoutError:
                self.conn.close()
