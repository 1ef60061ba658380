"""The real MME, HSS and S/P-GW cores (`memnet`) behind one S1AP server on loopback, for
tests of sim_ue's asyncio side (eNB services, the population runner, the CLI): the eNBs speak
S1AP over a real association; the MME's timers run on the event loop's clock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from corenet.codecs import nas, s1ap
from corenet.config.models import CorenetConfig
from corenet.config.subscribers import Subscriber
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn
from corenet.nf.mme import events as mme_ev
from corenet.nf.mme.context import Step
from corenet.nf.mme.policy import Mode, Policy
from corenet.transport import open_sctp_server
from tests.cli_helpers import BIN

from .memnet import OPC, START, K, MemNet

PPID = 18  # TS 36.412 §7: S1AP
HOME = Plmn("440", "10")
# the MME's log record of each uplink NAS message it acted on
_NAS_SEEN = {
    "emm.attach.request": "AttachRequest",
    "emm.authentication.succeeded": "AuthenticationResponse",
    "emm.security.established": "SecurityModeComplete",
    "emm.attach.accepted": "AttachComplete",
    "emm.detach.request": "DetachRequest",
}


class CoreS1Server:
    """One rescuer network in memory; `seen` lists the S1AP messages the eNBs sent and the
    NAS messages the MME acted on, in order."""

    def __init__(self, subs: list[Subscriber], mode: str = "full",
                 pcscf: list[str] | None = None) -> None:
        data = CorenetConfig().model_dump(mode="json")
        data["mme"]["roaming"]["policies"][0]["mode"] = mode
        if pcscf is not None:
            data["sgw_pgw"]["pcscf"] = pcscf  # the P-CSCF the default bearer's PCO names
        self.net = MemNet(CorenetConfig.model_validate(data))
        self.net.store.provision(subs)
        self.net.s1_out = self._send
        self.seen: list[str] = []
        # the ATTACH REQUESTs as sent (plain NAS, TS 24.301 §4.4.4.2), and the (EEA, EIA) of
        # each security mode control that completed
        self.attach_requests: list[dict[str, Any]] = []
        self.smc_algorithms: list[tuple[int, int]] = []
        self._conns: dict[int, Any] = {}
        self._assoc_of: dict[int, int] = {}
        self._logged = 0
        self._server: Any = None
        # how long each UE CONTEXT RELEASE COMMAND takes to reach the eNB (a busy path)
        self.release_delay_s = 0.0
        # SECURITY MODE COMPLETEs lost on the way to the MME (every attach stalls there)
        self.lose_security_mode_complete = False
        # the next S1 SETUP REQUEST refused with this Time to wait (TS 36.413 §9.2.1.61), as
        # by an MME that is not ready yet
        self.refuse_setup_wait: str | None = None
        self._ticker: asyncio.Task[None] | None = None
        # the home operator sharing the eNB (TS 23.251 §4.2 MOCN): its own MME, HSS and
        # S/P-GW; a UE that selected its PLMN is routed there
        self.home: MemNet | None = None
        self._at_home: set[tuple[int, int]] = set()  # (assoc, eNB UE S1AP ID)

    def add_home_network(self, subs: list[Subscriber]) -> None:
        """The home network 440-10 on air again, on the same eNB (its PLMN broadcast too)."""
        data = CorenetConfig().model_dump(mode="json")
        data["mme"]["plmn"] = str(HOME)
        self.home = MemNet(CorenetConfig.model_validate(data))
        self.home.store.provision(subs)
        self.home.s1_out = self._send_home

    def set_mode(self, mode: str) -> None:
        """The roaming policy for the home PLMN 440-10 changes (as `corenet ctl policy set`)."""
        self.net.mme.policy.set(Policy(HOME, None, Mode(mode)))

    async def start(self, port: int = 0) -> tuple[str, int]:
        self._server = await open_sctp_server("127.0.0.1", port, self._on_message,
                                              mode="fallback")
        self._ticker = asyncio.ensure_future(self._tick())
        host, port = self._server.local
        return host, port

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self._server.close()

    async def crash(self) -> None:
        """The MME process dies: every association gone at once, every context lost."""
        self.close()
        await self._server.wait_closed()
        self._conns.clear()
        self._assoc_of.clear()
        self.net.restart_mme()

    def _now(self) -> float:
        return START + asyncio.get_running_loop().time()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self.net.fire_due(self._now())
            if self.home is not None:
                self.home.fire_due(self._now())
            self._note_nas()

    def _on_message(self, conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        assoc = self._assoc_of.get(id(conn))
        now = self._now()
        if assoc is None:
            assoc = self._assoc_of[id(conn)] = len(self._assoc_of) + 1
            self._conns[assoc] = conn
            self.net.now = now
            self.net._to("mme", mme_ev.S1Up(assoc))
        try:
            msg = s1ap.decode(payload)
        except DecodeError:
            self.seen.append("undecodable")
        else:
            self.seen.append(msg.name)
            self._note_attach_request(msg.fields.get("NAS-PDU"))
            if self._lost(assoc, conn, msg):
                return
        to_home = None if self.home is None else self._for_home(assoc, msg, payload, now)
        if self.home is not None and to_home is not None:
            self.home.from_enb(assoc, to_home, stream, now)
            if msg.name != "S1SetupRequest":
                return
        self.net.from_enb(assoc, payload, stream, now)
        self._note_nas()

    def _for_home(self, assoc: int, msg: Any, payload: bytes, now: float) -> bytes | None:
        """What the home network takes of this message (None: nothing): S1 Setup goes to
        both MMEs (to the home one with its PLMN as the eNB's), a UE-associated message
        follows the PLMN its UE selected (TS 36.413 §9.2.1.7 TAI of the INITIAL UE
        MESSAGE)."""
        assert self.home is not None
        f = msg.fields
        if msg.name == "S1SetupRequest":
            if (assoc, -1) not in self._at_home:
                self._at_home.add((assoc, -1))
                self.home.now = now
                self.home._to("mme", mme_ev.S1Up(assoc))
            tas = f.get("SupportedTAs", [])
            return s1ap.encode(s1ap.s1_setup_request(
                f["Global-ENB-ID"]["eNB-ID"][1], f.get("eNBname"), HOME,
                [ta["tAC"] for ta in tas],
                broadcast_plmns=[Plmn.parse(p) for p in tas[0]["broadcastPLMNs"]]))
        key = (assoc, int(f.get("eNB-UE-S1AP-ID", -1)))
        if msg.name == "InitialUEMessage":
            if f["TAI"]["pLMNidentity"] == str(HOME):
                self._at_home.add(key)
            else:
                self._at_home.discard(key)
        return payload if key in self._at_home else None

    def _send_home(self, assoc: int, data: bytes, stream: int) -> None:
        """The home MME's S1AP: its S1 Setup answer stays here (the eNB has the rescuer's)."""
        if stream != 0 or s1ap.decode(data).name not in ("S1SetupResponse", "S1SetupFailure"):
            self._send(assoc, data, stream)

    def _lost(self, assoc: int, conn: Any, msg: Any) -> bool:
        """The faults asked for: True when the message does not reach the MME."""
        if msg.name == "S1SetupRequest" and self.refuse_setup_wait is not None:
            wait, self.refuse_setup_wait = self.refuse_setup_wait, None
            conn.send(s1ap.encode(s1ap.s1_setup_failure(("misc", "om-intervention"), wait)),
                      PPID, 0)
            return True
        if msg.name == "UplinkNASTransport" and self.lose_security_mode_complete:
            ue = self.net.mme.ues.get(msg.fields.get("MME-UE-S1AP-ID"))
            if ue is not None and ue.step is Step.SECURITY_MODE:
                self.seen.append("SecurityModeComplete")
                return True
        return False

    def _note_attach_request(self, pdu: bytes | None) -> None:
        if not pdu:
            return
        try:
            msg = nas.decode(pdu)
        except DecodeError:
            return
        if msg.name == "AttachRequest":
            self.attach_requests.append(msg.fields)

    def _note_nas(self) -> None:
        new, self._logged = self.net.logs[self._logged:], len(self.net.logs)
        for e in new:
            if e.node == "mme" and e.kind in _NAS_SEEN:
                self.seen.append(_NAS_SEEN[e.kind])
            if e.node == "mme" and e.kind == "emm.security.established":
                self.smc_algorithms.append((int(e.data["eea"]), int(e.data["eia"])))

    def _send(self, assoc: int, data: bytes, stream: int) -> None:
        conn = self._conns.get(assoc)
        if conn is None:
            return
        if self.release_delay_s and s1ap.decode(data).name == "UEContextReleaseCommand":
            asyncio.get_running_loop().call_later(self.release_delay_s, conn.send, data, PPID,
                                                  stream)
            return
        conn.send(data, PPID, stream)


async def sim_ue_attach(tmp_path: Path, host: str, port: int, count: int,
                        *args: str) -> asyncio.subprocess.Process:
    """`sim-ue attach` of `count` subscribers from 440100000000001 (memnet keys) through one
    eNB to the server at host:port, started; its output piped."""
    subs = tmp_path / "subs.yaml"
    subs.write_text(f"subscribers:\n  - {{imsi: '440100000000001', count: {count}, "
                    f"msisdn: '819010000001', k: {K}, opc: {OPC}}}\n")
    return await asyncio.create_subprocess_exec(
        str(BIN / "sim-ue"), "attach", "--mme", f"{host}:{port}", "--subscribers", str(subs),
        "--plmn", "44020", "--json", "--sctp", "fallback", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
