"""The PCRF and the P-GW over real sockets: Create Session opens the Gx session (CCR-I), an
Rx AAR binds to it, its media component reaches the P-GW as a RAR, Delete Session closes it
(CCR-T) and the AF session is aborted (ASR)."""

from __future__ import annotations

import asyncio
from typing import Any

from corenet.codecs import gtpv2c as g
from corenet.config.models import DiameterPeerSpec, PcrfConfig, PcrfLink
from corenet.core.actions import LogEvent
from corenet.nf.pcrf.service import PcrfService
from corenet.nf.sgw_pgw import SgwPgwService
from corenet.nf.sgw_pgw.pcc import PccInstall, PccRemove
from tests.unit.nf.pcrf.helpers import aar, media_component
from tests.unit.nf.sgw_pgw.helpers import create_session
from tests.unit.nf.sgw_pgw.test_service import HOST, Mme, any_port, config

PGW_HOST = "pgw.epc.mnc020.mcc440.3gppnetwork.org"


async def _until(check: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_gx_session_follows_the_pdn_connection(mme: Mme) -> None:
    events: list[LogEvent] = []
    pcrf = PcrfService(PcrfConfig(listen=any_port(), peers=[
        DiameterPeerSpec(origin_host=PGW_HOST, addresses=[HOST])]), on_event=events.append)
    await pcrf.start()
    link = PcrfLink(peer=pcrf.local_endpoint(), origin_host=PGW_HOST, local_host=HOST)
    sgw = SgwPgwService(config(pcrf=link), on_event=events.append)
    enforced: list[Any] = []
    try:
        await sgw.start()
        sgw.enforce_pcc = enforced.append  # type: ignore[method-assign]
        await _until(lambda: sgw._pcrf.is_open)
        csr = await mme.ask(create_session(seq=1, mme_teid=0x501), sgw.local)
        ue = csr.fields["paa"]["ipv4"]
        await _until(lambda: pcrf.core.session_by_ue_address(ue) is not None)
        gx = pcrf.core.session_by_ue_address(ue)
        assert gx is not None and gx.apn == "sos" and gx.pcef_host == PGW_HOST
        # the Rx session is served by the core directly; its RAR travels over the socket
        actions = pcrf.core.handle(aar("p;1;2", media_component(ue=ue), ue=ue), 0.0)
        pcrf._apply(actions, None)  # type: ignore[arg-type]
        await _until(lambda: enforced)
        assert isinstance(enforced[0], PccInstall) and enforced[0].rules[0].qci == 1
        teid = csr.fields["sender_fteid_c"]["teid"]
        dsr = await mme.ask(g.delete_session_request(2, teid=teid, linked_ebi=5), sgw.local)
        assert dsr.name == "DeleteSessionResponse"
        await _until(lambda: pcrf.core.session_by_ue_address(ue) is None)
        kinds = [e.kind for e in events]
        assert "pcrf.gx.established" in kinds and "pcrf.gx.terminated" in kinds
        assert not any(isinstance(e, PccRemove) for e in enforced)
    finally:
        await sgw.stop()
        await pcrf.stop()
