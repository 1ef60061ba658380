"""The CBC and the MME on loopback sockets: SBc-AP over SCTP (PPID 24) or its TCP fallback,
the MME forwarding to an eNB over S1AP and the eNB's response coming back as an indication;
malformed SBc-AP answered with an Error Indication while the MME keeps serving."""

from __future__ import annotations

import asyncio
import socket

from corenet.codecs import cbs, s1ap, sbcap
from corenet.config.models import CbcConfig, Endpoint, MmeConfig
from corenet.nf.cbc.service import CbcService
from corenet.nf.cbc.warnings import WarningKind
from corenet.nf.mme.service import MmeService
from corenet.transport import open_sctp_client
from sim_ue.pws import kill_response
from tests.unit.nf.mme.scenario import MME_PLMN
from tests.unit.nf.mme.test_service import _free_port


def _mme_config() -> MmeConfig:
    return MmeConfig(
        s1ap=Endpoint(host="127.0.0.1", port=_free_port()),
        sbcap=Endpoint(host="127.0.0.1", port=_free_port()),
        s11_local=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        sgw=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        diameter_local_host="127.0.0.1", diameter_routes=[],
        control=Endpoint(host="127.0.0.1", port=0))


async def test_warning_through_the_mme_to_an_enb_and_back() -> None:
    mme = MmeService(_mme_config())
    await mme.start()
    assert mme.sbc.address is not None
    host, port = mme.sbc.address
    cbc = CbcService(CbcConfig(mmes=[Endpoint(host=host, port=port)], local_host="127.0.0.1",
                               control=Endpoint(host="127.0.0.1", port=0), rescuer="kddi"))
    from_mme: asyncio.Queue[s1ap.Message] = asyncio.Queue()
    enb = await open_sctp_client(*mme.s1ap_address,
                                 lambda c, payload, ppid, stream: from_mme.put_nowait(
                                     s1ap.decode(payload)))
    try:
        enb.send(s1ap.encode(s1ap.s1_setup_request(0x101, "enb1", MME_PLMN, [1])), 18, 0)
        assert (await asyncio.wait_for(from_mme.get(), 5)).name == "S1SetupResponse"
        await cbc.start()
        assert cbc.connected() == 1

        (answer,) = await cbc.send(cbc.requests_for(WarningKind.TSUNAMI, [1]))
        assert answer.response is not None
        assert answer.response.name == "Write-Replace-Warning-Response"
        assert answer.response.fields["Cause"] == sbcap.MESSAGE_ACCEPTED

        req = await asyncio.wait_for(from_mme.get(), 5)
        assert req.name == "WriteReplaceWarningRequest"
        assert req.fields["MessageIdentifier"] == cbs.ETWS_TSUNAMI
        assert cbs.parse_warning_type(req.fields["WarningType"])[0] == cbs.WarningTypeValue.TSUNAMI
        enb.send(s1ap.encode(s1ap.write_replace_warning_response(
            req.fields["MessageIdentifier"], req.fields["SerialNumber"], [(MME_PLMN, 0x10101)])),
            18, 0)
        (ind,) = await cbc.wait_indications("Write-Replace-Warning-Indication", 1, 5)
        cells = ind.fields["Broadcast-Scheduled-Area-List"]["cellId-Broadcast-List"]
        assert [c["eCGI"]["cell-ID"] for c in cells] == [0x10101]

        # malformed SBc-AP from a CBC: an Error Indication, and the MME goes on serving
        got: asyncio.Queue[sbcap.Message] = asyncio.Queue()
        rogue = await open_sctp_client(host, port, lambda c, p, ppid, s: got.put_nowait(
            sbcap.decode(p)))
        rogue.send(b"\x00\x00\x80\xff\xff", sbcap.PPID, 0)
        err = await asyncio.wait_for(got.get(), 5)
        assert err.name == "Error-Indication"
        assert err.fields["Cause"] == sbcap.CAUSES["transfer-syntax-error"]
        rogue.close()
        (again,) = await cbc.send(cbc.requests_for(WarningKind.EARTHQUAKE, [1]))
        assert again.response is not None and again.response.fields["Cause"] == 0
        assert (await asyncio.wait_for(from_mme.get(), 5)).name == "WriteReplaceWarningRequest"

        # Stop Warning: a Kill to the eNB per running warning, its answer indicated back
        stopped = await cbc.send(cbc.stop_requests())
        assert [a.response.name for a in stopped if a.response] == ["Stop-Warning-Response"] * 2
        for _ in range(2):
            kill = await asyncio.wait_for(from_mme.get(), 5)
            assert kill.name == "KillRequest"
            enb.send(s1ap.encode(kill_response(kill, "44020", (0x10101,), 3)), 18, 0)
        inds = await cbc.wait_indications("Stop-Warning-Indication", 2, 5)
        assert {i.fields["Message-Identifier"] for i in inds} == {cbs.ETWS_TSUNAMI,
                                                                   cbs.ETWS_EARTHQUAKE}
        cancelled = inds[0].fields["Broadcast-Cancelled-Area-List"]["cellID-Cancelled-List"]
        assert [c["eCGI"]["cell-ID"] for c in cancelled] == [0x10101]
    finally:
        enb.close()
        await cbc.stop()
        await mme.stop()
