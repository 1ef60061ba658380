"""An HSS restarted between two attaches never reuses an SQN (TS 33.102 §6.3.2, Annex C).

Real SQLite file, real loopback TCP: AIR, stop the HSS, start a new one on the same database
(re-provisioned from the same subscriber list, SQN 0 in it), AIR again. And an HSS process
killed with SIGKILL: the MME's Diameter link comes back by itself once the HSS is restarted,
and the next attach gets a fresh SQN.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from corenet.codecs import nas, s1ap, s6a
from corenet.config.models import Endpoint, HssConfig
from corenet.crypto.milenage import Milenage, SqnArray, check_autn
from corenet.nf.hss.service import HssService
from corenet.nf.mme.service import MmeService
from corenet.transport import open_sctp_client
from tests.cli_helpers import BIN
from tests.e2e.network import config
from tests.unit.nf.hss.helpers import (
    IMSI,
    OPC,
    DiameterClient,
    K,
    air,
    local_peer,
    peer_config,
    subscriber,
)
from tests.unit.nf.mme.scenario import MME_PLMN


async def _one_air(cfg: HssConfig) -> int:
    hss = HssService(cfg, subscribers=[subscriber(sqn=0)])
    await hss.start()
    try:
        client = await DiameterClient.connect(*hss.local, peer_config())
        await client.opened()
        aia = await client.ask(air())
        assert s6a.result_of(aia) == (2001, False)
        (v,) = s6a.vectors_of(aia)
        # committed before the AIA left: the store already holds this SQN
        chk = check_autn(Milenage(bytes.fromhex(K), bytes.fromhex(OPC)), v.rand, v.autn)
        assert chk.mac_ok
        sqn = int.from_bytes(chk.sqn, "big")
        assert hss.store.get(subscriber().imsi).sqn == sqn  # type: ignore[union-attr]
        await client.close()
        return sqn
    finally:
        await hss.stop()


async def test_restarted_hss_issues_fresh_sqn(tmp_path: Path) -> None:
    cfg = HssConfig(listen=Endpoint.model_construct(host="127.0.0.1", port=0),
                    database=str(tmp_path / "hss.db"), subscribers_file=None,
                    peers=[local_peer()])
    first = await _one_air(cfg)
    second = await _one_air(cfg)
    assert second > first
    assert (second >> 5) == (first >> 5) + 1  # next SEQ, next IND slot
    usim = SqnArray(ind_bits=5)
    assert usim.accept(first)
    assert usim.accept(second)
    assert not usim.accept(first)  # a replay of the first would be refused


# ---------------------------------------------------------------- kill -9 of a running HSS


async def _wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


def _start_hss(cfg_file: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "corenet"), "run", "hss", "--config", str(cfg_file)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _authentication_sqn(enb: Any, received: asyncio.Queue[Any], enb_ue_id: int) -> int:
    """Attach Request for IMSI over S1AP; the SQN of the AUTN the MME relays (TS 33.401 §6.1)."""
    esm = nas.pdn_connectivity_request(pti=1)
    enb.send(s1ap.encode(s1ap.initial_ue_message(
        enb_ue_id, nas.attach_request(imsi=IMSI, esm_container=esm), MME_PLMN, 1, MME_PLMN,
        1)), 18, 1)
    while True:  # skipping the release of the previous attempt's context
        dl = await asyncio.wait_for(received.get(), 10)
        if dl.name == "DownlinkNASTransport" and dl.fields["eNB-UE-S1AP-ID"] == enb_ue_id:
            break
    auth = nas.decode(dl.fields["NAS-PDU"])
    assert auth.name == "AuthenticationRequest", auth.name
    chk = check_autn(Milenage(bytes.fromhex(K), bytes.fromhex(OPC)),
                     auth.fields["authentication_parameter_rand"],
                     auth.fields["authentication_parameter_autn"])
    assert chk.mac_ok
    return int.from_bytes(chk.sqn, "big")


async def test_mme_link_recovers_after_hss_kill_9_and_sqn_moves_on(tmp_path: Path) -> None:
    """RFC 6733 §2.1 / RFC 3539 §3.4: the MME re-establishes its connection to a restarted
    HSS; the HSS (killed, not stopped) has every SQN it issued on disk (TS 33.102 Annex C)."""
    subs_file = tmp_path / "subscribers.yaml"
    subs_file.write_text(yaml.safe_dump({"subscribers": [
        {"imsi": IMSI, "msisdn": "819010000001", "k": K, "opc": OPC}]}))
    cfg = config(tmp_path)
    data = cfg.model_dump(mode="json")
    data["hss"]["subscribers_file"] = str(subs_file)
    data["hss"]["control"]["port"] = 0
    cfg_file = tmp_path / "corenet.yaml"
    cfg_file.write_text(yaml.safe_dump(data))
    hss = _start_hss(cfg_file)
    mme = MmeService(cfg.mme)
    try:
        await mme.start(diameter_wait_s=0.1)
        await _wait(mme.s6a_open)
        received: asyncio.Queue[Any] = asyncio.Queue()
        enb = await open_sctp_client(*mme.s1ap_address,
                                     lambda c, payload, ppid, stream: received.put_nowait(
                                         s1ap.decode(payload)))
        enb.send(s1ap.encode(s1ap.s1_setup_request(0x101, "enb1", MME_PLMN, [1])), 18, 0)
        assert (await asyncio.wait_for(received.get(), 10)).name == "S1SetupResponse"
        first = await _authentication_sqn(enb, received, 1)

        hss.send_signal(signal.SIGKILL)  # no DPR, no clean close of the database
        hss.wait(10)
        await _wait(lambda: not mme.s6a_open())
        hss = _start_hss(cfg_file)
        await _wait(mme.s6a_open)  # reconnected by the MME: CER/CEA on a new connection
        second = await _authentication_sqn(enb, received, 2)
        assert second > first
        usim = SqnArray(ind_bits=5)
        assert usim.accept(first) and usim.accept(second) and not usim.accept(first)
        kinds = [e.kind for e in mme.events]
        assert kinds.count("s6a.peer.open") == 2
        enb.close()
    finally:
        await mme.stop()
        hss.kill()
        hss.wait(10)
