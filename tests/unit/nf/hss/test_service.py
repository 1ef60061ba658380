"""HssService over real loopback TCP: an MME-side client built from the peer machine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.config.models import Endpoint, HssConfig
from corenet.core.actions import LogEvent
from corenet.crypto.milenage import Milenage, SqnArray, check_autn
from corenet.nf.hss.service import HssService
from corenet.protocols import diameter_peer as dp
from corenet.transport import Direction
from tests.unit.nf.hss.helpers import (
    HSS_HOST,
    HSS_REALM,
    IMSI,
    MME2_HOST,
    MME_HOST,
    MSISDN,
    OPC,
    DiameterClient,
    K,
    air,
    local_peer,
    peer_config,
    pur,
    subscriber,
    ulr,
)


@pytest.fixture
async def hss() -> AsyncIterator[HssService]:
    cfg = HssConfig(listen=Endpoint.model_construct(host="127.0.0.1", port=0), database=":memory:",
                    subscribers_file=None, peers=[local_peer(MME_HOST), local_peer(MME2_HOST)])
    events: list[LogEvent] = []
    taps: list[tuple[Direction, bytes]] = []
    svc = HssService(cfg, subscribers=[subscriber()], on_event=events.append,
                     tap=lambda d, src, dst, payload, ppid, stream: taps.append((d, payload)))
    svc.events = events  # type: ignore[attr-defined]
    svc.taps = taps  # type: ignore[attr-defined]
    await svc.start()
    yield svc
    await svc.stop()


async def test_cer_air_ulr_pur_over_tcp(hss: HssService) -> None:
    host, port = hss.local
    client = await DiameterClient.connect(host, port, peer_config())
    opened = await client.opened()
    assert opened.origin_host == HSS_HOST and opened.origin_realm == HSS_REALM
    assert dia.avp(opened.capabilities, "Result-Code") == 2001

    aia = await client.ask(air(n=2))
    assert aia.name == "AIA" and s6a.result_of(aia) == (2001, False)
    vectors = s6a.vectors_of(aia)
    assert len(vectors) == 2
    usim, array = Milenage(bytes.fromhex(K), bytes.fromhex(OPC)), SqnArray()
    for v in vectors:
        chk = check_autn(usim, v.rand, v.autn)
        assert chk.mac_ok and chk.res == v.xres
        assert array.accept(int.from_bytes(chk.sqn, "big"))
        assert len(v.kasme) == 32

    ula = await client.ask(ulr())
    assert s6a.result_of(ula) == (2001, False)
    data = s6a.subscription_data_of(ula)
    assert data is not None and data.msisdn == MSISDN
    assert [a.service_selection for a in data.apn_configurations] == ["internet", "ims"]
    assert hss.store.get(IMSI).mme_host == MME_HOST  # type: ignore[union-attr]

    pua = await client.ask(pur())
    assert s6a.result_of(pua) == (2001, False)
    assert dia.avp(pua, "PUA-Flags") == s6a.PuaFlags.FREEZE_M_TMSI
    assert hss.store.get(IMSI).purged  # type: ignore[union-attr]

    unknown = await client.ask(air("440109999999999"))
    assert s6a.result_of(unknown) == (dia.ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN,
                                      True)
    await client.close()
    kinds = [e.kind for e in hss.events]  # type: ignore[attr-defined]
    for kind in ("hss.started", "diameter.peer.opened", "s6a.air.accepted",
                 "s6a.ulr.accepted", "s6a.pur.accepted", "s6a.air.rejected"):
        assert kind in kinds
    sent = [dia.decode(p).name for d, p in hss.taps if d is Direction.SENT]  # type: ignore[attr-defined]
    assert sent == ["CEA", "AIA", "ULA", "PUA", "AIA", "DPA"]


async def test_clr_sent_to_previous_mme(hss: HssService) -> None:
    host, port = hss.local
    old = await DiameterClient.connect(host, port, peer_config(MME_HOST))
    new = await DiameterClient.connect(host, port, peer_config(MME2_HOST))
    await old.opened()
    await new.opened()
    assert s6a.result_of(await old.ask(ulr(host=MME_HOST))) == (2001, False)
    assert s6a.result_of(await new.ask(ulr(host=MME2_HOST))) == (2001, False)
    clr = (await old.next(dp.RequestReceived)).message
    assert clr.name == "CLR"
    assert dia.avp(clr, "User-Name") == IMSI
    assert dia.avp(clr, "Destination-Host") == MME_HOST
    assert dia.avp(clr, "Cancellation-Type") == s6a.CancellationType.MME_UPDATE_PROCEDURE
    for _ in range(50):  # the CLA travels back to the HSS
        if "s6a.clr.answered" in [e.kind for e in hss.events]:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.02)
    answered = [e for e in hss.events if e.kind == "s6a.clr.answered"]  # type: ignore[attr-defined]
    assert answered and answered[0].data["result_code"] == 2001
    await old.close()
    await new.close()


async def test_unknown_peer_rejected_with_3010(hss: HssService) -> None:
    host, port = hss.local
    client = await DiameterClient.connect(host, port, peer_config("rogue.example.org"))
    rejected = await client.next(dp.CapabilitiesRejected)
    assert rejected.result_code == dia.ResultCode.DIAMETER_UNKNOWN_PEER
    await client.next(dp.ConnectionClosed)
    assert client.peer.state is dp.PeerState.CLOSED


async def test_garbage_closes_only_that_connection(hss: HssService) -> None:
    host, port = hss.local
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"\x07" + bytes(40))  # version 7: the stream cannot be delimited
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 3.0) == b""  # closed by the HSS
    writer.close()
    client = await DiameterClient.connect(host, port, peer_config())
    await client.opened()
    assert s6a.result_of(await client.ask(air())) == (2001, False)
    await client.close()


async def test_stop_sends_dpr(hss: HssService) -> None:
    host, port = hss.local
    client = await DiameterClient.connect(host, port, peer_config())
    await client.opened()
    await hss.stop()
    dpr = await client.next(dp.DisconnectRequested)
    assert dpr.cause == dia.DisconnectCause.REBOOTING


async def test_sctp_transport() -> None:
    cfg = HssConfig(listen=Endpoint.model_construct(host="127.0.0.1", port=0),
                    database=":memory:", subscribers_file=None, peers=[local_peer(MME_HOST)],
                    transport="sctp")
    ppids: list[int] = []
    svc = HssService(cfg, subscribers=[subscriber()],
                     tap=lambda d, src, dst, payload, ppid, stream: ppids.append(ppid))
    await svc.start()
    try:
        client = await DiameterClient.connect(*svc.local, peer_config(), transport="sctp")
        await client.opened()
        assert s6a.result_of(await client.ask(air())) == (2001, False)
        await client.close()
    finally:
        await svc.stop()
    assert ppids and set(ppids) == {46}  # Diameter PPID on every SCTP message


async def test_airs_of_one_read_share_one_group_commit(hss: HssService) -> None:
    """SQNs on disk before an AIA leaves, one commit for the AIRs that arrive together."""
    groups = []
    real_group = hss.store.group

    def counting_group() -> Any:
        groups.append(1)
        return real_group()

    hss.store.group = counting_group  # type: ignore[method-assign]
    host, port = hss.local
    client = await DiameterClient.connect(host, port, peer_config())
    await client.opened()
    now = asyncio.get_running_loop().time()
    for _ in range(20):
        client.peer.request(air(), now)
    client._pump()  # the 20 AIRs leave in one write
    answers = [(await client.next(dp.AnswerReceived)).message for _ in range(20)]
    usim = Milenage(bytes.fromhex(K), bytes.fromhex(OPC))
    sqns = []
    for aia in answers:
        assert s6a.result_of(aia) == (2001, False)
        (v,) = s6a.vectors_of(aia)
        sqns.append(int.from_bytes(check_autn(usim, v.rand, v.autn).sqn, "big"))
    assert len(set(sqns)) == 20
    assert hss.store.get(IMSI).sqn == max(sqns)  # type: ignore[union-attr]
    assert len(groups) < 20
    await client.close()


async def test_an_air_alone_is_committed_on_the_loop_before_its_aia(
        hss: HssService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that arrives alone commits its SQN on the loop, with no worker thread, and
    its AIA leaves only after that COMMIT (TS 33.102 §6.3.3: no SQN handed out twice)."""
    loop = asyncio.get_running_loop()
    handed: list[object] = []
    real = loop.run_in_executor
    monkeypatch.setattr(loop, "run_in_executor",
                        lambda executor, fn, *args: handed.append(fn) or real(executor, fn, *args))
    host, port = hss.local
    client = await DiameterClient.connect(host, port, peer_config())
    await client.opened()
    commits = hss.store.commits
    client.peer.request(air(), loop.time())
    client._pump()
    aia = (await client.next(dp.AnswerReceived)).message
    (vector,) = s6a.vectors_of(aia)
    usim = Milenage(bytes.fromhex(K), bytes.fromhex(OPC))
    sqn = int.from_bytes(check_autn(usim, vector.rand, vector.autn).sqn, "big")
    assert hss.store.commits == commits + 1 and handed == []
    assert hss.store.get(IMSI).sqn == sqn  # type: ignore[union-attr]
    await client.close()


async def test_request_missing_an_avp_is_answered_5005_once_by_the_peer_machine(
        hss: HssService) -> None:
    """RFC 6733 §7.1.5: the ABNF check of the Diameter peer answers; the S6a procedures, which
    trust that check, never serve the request."""
    client = await DiameterClient.connect(*hss.local, peer_config())
    await client.opened()
    broken = air()
    broken = Message(broken.protocol, broken.name, broken.code, {
        **broken.fields, "avps": [a for a in broken.fields["avps"] if a[0] != "Visited-PLMN-Id"]})
    answer = await client.ask(broken)
    assert answer.name == "AIA" and dia.avp(answer, "Result-Code") == 5005
    assert dia.avp(answer, "Failed-AVP", "Visited-PLMN-Id") is not None
    assert not [e for e in hss.events if e.kind.startswith("s6a.air")]  # type: ignore[attr-defined]
    assert hss.store.get(IMSI).sqn == subscriber().sqn  # type: ignore[union-attr]
    ok = await client.ask(air())
    assert s6a.result_of(ok) == (2001, False)
    await client.close()
