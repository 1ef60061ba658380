"""A scripted eNB speaking raw S1AP to the MME, for tests that misbehave on purpose."""

from __future__ import annotations

import asyncio
from typing import Any

from corenet.codecs import s1ap
from corenet.codecs.base import Message
from corenet.config.models import CorenetConfig
from corenet.core.plmn import Plmn
from corenet.transport import open_sctp_client

RESCUER = Plmn("440", "20")


class RawEnb:
    def __init__(self, cfg: CorenetConfig) -> None:
        self.cfg = cfg
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.conn: Any = None

    async def connect(self) -> Message:
        enb = self.cfg.sim_ue.enbs[0]
        self.conn = await open_sctp_client(
            enb.mme.host, enb.mme.port, self._on_message, mode="fallback", local_host=enb.address)
        self.send(s1ap.s1_setup_request(global_enb_id=0x1FF, enb_name="raw", plmn=RESCUER, tacs=[enb.tac]))
        return await self.receive()

    def _on_message(self, conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        self.inbox.put_nowait(s1ap.decode(payload))

    def send(self, msg: Message | bytes, stream: int = 1) -> None:
        data = msg if isinstance(msg, bytes) else s1ap.encode(msg)
        self.conn.send(data, ppid=18, stream=stream)

    async def receive(self, timeout: float = 10.0) -> Message:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    def initial_ue(self, enb_ue_id: int, nas_pdu: bytes) -> None:
        tac = self.cfg.sim_ue.enbs[0].tac
        self.send(s1ap.initial_ue_message(enb_ue_id=enb_ue_id, nas_pdu=nas_pdu, tai_plmn=RESCUER,
                                          tac=tac, ecgi_plmn=RESCUER, cell_id=0x1FF01))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
