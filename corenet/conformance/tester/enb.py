"""A tester eNB on S1-MME (TS 36.413): one SCTP association, inbound PDUs sorted per UE."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from corenet.codecs import s1ap
from corenet.codecs.base import Message
from corenet.conformance.verdicts import Inconclusive, NoAnswer
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn
from corenet.transport import open_sctp_client

S1AP_PPID = 18  # TS 36.412 §7
T = TypeVar("T")


class TesterEnb:
    def __init__(self, mme: tuple[str, int], plmn: Plmn, tac: int, enb_id: int,
                 local_host: str | None, tap: Any, sctp_mode: str) -> None:
        self.mme, self.plmn, self.tac, self.enb_id = mme, plmn, tac, enb_id
        self.local_host, self.tap, self.sctp_mode = local_host, tap, sctp_mode
        self.common: asyncio.Queue[Message] = asyncio.Queue()  # non UE-associated
        self.per_ue: dict[int, asyncio.Queue[Message]] = {}
        self.undecodable: list[str] = []
        self.conn: Any = None
        self._next_ue = 1

    async def connect(self) -> None:
        try:
            self.conn = await open_sctp_client(
                self.mme[0], self.mme[1], self._on_message, mode=self.sctp_mode,  # type: ignore[arg-type]
                local_host=self.local_host, tap=self.tap)
        except OSError as exc:
            raise Inconclusive(f"S1-MME {self.mme[0]}:{self.mme[1]} unreachable: {exc}") from exc

    async def setup(self, plmn: Plmn | None = None) -> Message:
        """S1 Setup (TS 36.413 §8.7.3): the answer, Response or Failure."""
        if self.conn is None:
            await self.connect()
        self.send(s1ap.s1_setup_request(global_enb_id=self.enb_id, enb_name=f"tester-{self.enb_id}",
                                        plmn=plmn or self.plmn, tacs=[self.tac]), stream=0)
        return await self.receive_common()

    def _on_message(self, conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        try:
            msg = s1ap.decode(payload)
        except DecodeError as exc:
            self.undecodable.append(exc.detail)
            return
        enb_ue = msg.fields.get("eNB-UE-S1AP-ID")
        if enb_ue is None and msg.name == "UEContextReleaseCommand":
            ids = msg.fields.get("UE-S1AP-IDs")
            if isinstance(ids, tuple) and ids[0] == "uE-S1AP-ID-pair":
                enb_ue = ids[1].get("eNB-UE-S1AP-ID")
        if isinstance(enb_ue, int) and enb_ue in self.per_ue:
            self.per_ue[enb_ue].put_nowait(msg)
        else:
            self.common.put_nowait(msg)

    def send(self, msg: Message | bytes, stream: int = 1) -> None:
        data = msg if isinstance(msg, bytes) else s1ap.encode(msg)
        self.conn.send(data, ppid=S1AP_PPID, stream=stream)

    async def receive_common(self, timeout: float = 5.0) -> Message:
        return await get(self.common, timeout, "non UE-associated S1AP message")

    def new_ue_id(self) -> int:
        ue_id, self._next_ue = self._next_ue, self._next_ue + 1
        self.per_ue[ue_id] = asyncio.Queue()
        return ue_id

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


async def get(queue: asyncio.Queue[T], timeout: float, what: str) -> T:
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except TimeoutError:
        raise NoAnswer(what, timeout) from None
