"""Faults end to end over real sockets: resynchronisation, wrong keys, HSS restarts, detach,
unknown subscribers, silent UEs and malformed bytes (TS 24.301 §5.4.2, §5.5.1.2.5, §5.5.2, §7;
TS 36.413 §10; TS 29.272)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from corenet.codecs import diameter, nas, s6a
from corenet.codecs.catalogue import HSS_REALM, MME_HOST, MME_REALM
from corenet.transport import open_diameter_tcp_client
from tests import tshark
from tests.e2e.flows import diameter_flows, s1ap_flows
from tests.e2e.network import config, network, subscribers
from tests.e2e.raw_enb import RESCUER, RawEnb

ATTACH = nas.attach_request(imsi="440100000000001", ue_net_cap=nas.ue_network_capability(eea=[0, 2], eia=[2]),
                            esm_container=nas.pdn_connectivity_request(pti=1, pdn_type=1))


async def test_synch_failure_resynchronises_and_attaches(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    subs = subscribers(1)
    async with network(cfg, subs) as net, net.population(subs) as pop:
        usim = pop.members[0].ue.usim
        for ind in range(32):  # the USIM has seen far newer SQNs in every IND slot (Annex C.2)
            assert usim.sqn.accept(((1 << 20) << 5) | ind)
        (result,) = await pop.attach()
    assert result.attached
    flow = s1ap_flows(Path(cfg.pcap or ""))[subs[0].imsi]
    assert flow.names().count("AuthenticationRequest") == 2
    assert "AuthenticationFailure" in flow.names() and 21 in flow.emm_causes
    airs = [f for f, name, _ in diameter_flows(Path(cfg.pcap or ""))[subs[0].imsi] if name == "AIR"]
    assert len(airs) == 2
    resync = tshark.fields(Path(cfg.pcap or ""), "frame.number", "diameter.Re-Synchronization-Info",
                           display_filter="diameter.cmd.code == 318 && diameter.flags.request == 1")
    assert [bool(r["diameter.Re-Synchronization-Info"]) for r in resync] == [False, True]


async def test_ue_with_wrong_k_is_rejected(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    hss_subs = subscribers(1)
    ue_subs = subscribers(1, k="00112233445566778899aabbccddeeff")
    async with network(cfg, hss_subs) as net:
        async with net.population(ue_subs) as pop:
            (result,) = await pop.attach()
        await _until(lambda: net.mme.ue_count() == 0)
    assert not result.attached
    flow = s1ap_flows(Path(cfg.pcap or ""))[ue_subs[0].imsi]
    assert 20 in flow.emm_causes  # TS 24.301 §5.4.2.6: MAC failure
    assert {"AuthenticationReject", "AttachReject"} & set(flow.names())
    assert "AttachAccept" not in flow.names()


async def test_hss_restart_between_attaches_never_reuses_an_sqn(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    subs = subscribers(1)
    imsi = subs[0].imsi
    async with network(cfg, subs) as net, net.population(subs) as pop:
        (first,) = await pop.attach()
        await pop.detach()
        sqn_array = pop.members[0].ue.usim.sqn
        sqn_after_first = net.hss.store.get(imsi).sqn
    assert first.attached
    cfg2 = cfg.model_copy(update={"pcap": str(tmp_path / "second.pcapng")})
    async with network(cfg2, subs) as net, net.population(subs) as pop:
        pop.members[0].ue.usim.sqn = sqn_array  # the same USIM, after the HSS restarted
        (second,) = await pop.attach()
        sqn_after_second = net.hss.store.get(imsi).sqn
    assert second.attached
    assert sqn_after_second > sqn_after_first
    flow = s1ap_flows(tmp_path / "second.pcapng")[imsi]
    assert "AuthenticationFailure" not in flow.names()


async def test_detach_sends_pur_and_delete_session(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    subs = subscribers(2)
    async with network(cfg, subs) as net:
        async with net.population(subs) as pop:
            assert all(r.attached for r in await pop.attach())
            await pop.detach()
            await _until(lambda: net.mme.ue_count() == 0)
        assert net.sgw.sessions == {}
    pcap = Path(cfg.pcap or "")
    dia = diameter_flows(pcap)
    for sub in subs:
        assert [r for _, n, r in dia[sub.imsi] if n == "PUA"] == [2001]
    assert tshark.count(pcap, "gtpv2.message_type == 36") == 2
    assert tshark.count(pcap, "gtpv2.message_type == 37 && gtpv2.cause == 16") == 2


async def test_unknown_imsi_gets_attach_reject_with_mapped_cause(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    async with network(cfg, subscribers(1)) as net:
        stranger = subscribers(1, first_imsi="440109999999999")
        async with net.population(stranger) as pop:
            (result,) = await pop.attach()
    assert not result.attached
    assert result.cause == 8  # TS 29.272 Annex A: DIAMETER_ERROR_USER_UNKNOWN -> EMM #8
    dia = diameter_flows(Path(cfg.pcap or ""))["440109999999999"]
    assert [(name, result) for _, name, result in dia] == [("AIR", None), ("AIA", 5001)]


async def test_silent_ue_times_out_and_every_context_is_released(tmp_path: Path) -> None:
    cfg = config(tmp_path, timers={"t3460_s": 0.2, "max_retransmissions": 2})
    async with network(cfg, subscribers(1)) as net:
        enb = RawEnb(cfg)
        assert (await enb.connect()).name == "S1SetupResponse"
        enb.initial_ue(1, ATTACH)
        seen = [await enb.receive() for _ in range(4)]
        enb.send(_release_complete(seen[-1]))
        await _until(lambda: net.mme.ue_count() == 0)
        enb.close()
    auth = [m for m in seen if m.name == "DownlinkNASTransport"]
    assert [nas.decode(m.fields["NAS-PDU"]).name for m in auth] == ["AuthenticationRequest"] * 3
    assert seen[-1].name == "UEContextReleaseCommand"


async def test_malformed_s1ap_and_nas_get_their_answers_and_the_association_survives(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    async with network(cfg, subscribers(1)) as net:
        enb = RawEnb(cfg)
        await enb.connect()
        enb.send(b"\x00\x0c\xff\xff\x01")  # TS 36.413 §10.2: transfer syntax error
        err = await enb.receive()
        assert err.name == "ErrorIndication"
        assert err.fields["Cause"] == ("protocol", "transfer-syntax-error")
        enb.initial_ue(7, bytes.fromhex("07ff"))  # TS 24.301 §7.4: unknown message type
        status = await enb.receive()
        assert status.name == "DownlinkNASTransport"
        emm = nas.decode(status.fields["NAS-PDU"])
        assert emm.name == "EMMStatus" and emm.fields["emm_cause"] == 97
        # the context the message created runs no procedure: released (TS 36.413 §8.3.3)
        release = await enb.receive()
        assert release.name == "UEContextReleaseCommand"
        assert release.fields["UE-S1AP-IDs"][1]["eNB-UE-S1AP-ID"] == 7
        assert release.fields["Cause"] == ("nas", "unspecified")
        enb.send(_release_complete(release))
        await _until(lambda: net.mme.ue_count() == 0)
        enb.initial_ue(8, ATTACH)  # the association still serves
        auth = await enb.receive()
        assert nas.decode(auth.fields["NAS-PDU"]).name == "AuthenticationRequest"
        assert net.mme.enb_count() == 1
        enb.close()


async def test_hss_answers_5005_with_failed_avp_for_a_request_missing_user_name(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    async with network(cfg, subscribers(1), pcap=False):
        answers: asyncio.Queue[bytes] = asyncio.Queue()
        conn = await open_diameter_tcp_client(cfg.hss.listen.host, cfg.hss.listen.port,
                                              lambda c, data, *_: answers.put_nowait(data))
        cer = diameter.cer("test.epc.mnc020.mcc440.3gppnetwork.org", MME_REALM, ["127.0.0.1"],
                           hop_by_hop=1, end_to_end=1)
        conn.send(diameter.encode(cer))
        cea = diameter.decode(await asyncio.wait_for(answers.get(), 5))
        assert diameter.avp(cea, "Result-Code") == 3010  # RFC 6733 §5.3: not a configured peer
        conn.close()
        # the configured MME's Origin-Host is accepted only from its configured address
        conn = await open_diameter_tcp_client(cfg.hss.listen.host, cfg.hss.listen.port,
                                              lambda c, data, *_: answers.put_nowait(data),
                                              local_host=cfg.mme.diameter_local_host)
        conn.send(diameter.encode(diameter.cer(MME_HOST, MME_REALM, [cfg.mme.diameter_local_host],
                                               hop_by_hop=2, end_to_end=2)))
        assert diameter.avp(diameter.decode(await asyncio.wait_for(answers.get(), 5)), "Result-Code") == 2001
        air = s6a.air("s;1", MME_HOST, MME_REALM, HSS_REALM, "440100000000001", RESCUER,
                      hop_by_hop=3, end_to_end=3)
        avps = [(n, v) for n, v, *_ in air.fields["avps"] if n != "User-Name"]
        air = diameter.request_message("AIR", avps, hop_by_hop=3, end_to_end=3)
        conn.send(diameter.encode(air))
        aia = diameter.decode(await asyncio.wait_for(answers.get(), 5))
        assert diameter.avp(aia, "Result-Code") == 5005
        failed = diameter.avp(aia, "Failed-AVP")
        assert failed is not None and "User-Name" in str(failed)
        conn.close()


def _release_complete(cmd):  # type: ignore[no-untyped-def]
    from corenet.codecs import s1ap

    ids = cmd.fields["UE-S1AP-IDs"]
    pair = ids[1] if isinstance(ids, tuple) else ids
    mme_id = pair["mME-UE-S1AP-ID"] if isinstance(pair, dict) else pair
    enb_id = pair.get("eNB-UE-S1AP-ID", 1) if isinstance(pair, dict) else 1
    return s1ap.ue_context_release_complete(mme_ue_id=mme_id, enb_ue_id=enb_id)


async def _until(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
