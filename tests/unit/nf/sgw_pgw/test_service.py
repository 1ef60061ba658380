"""The S/P-GW over real loopback UDP: an MME-side socket sends codec-built S11 requests."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message
from corenet.config.models import Endpoint, SgwPgwConfig
from corenet.core.actions import LogEvent
from corenet.nf.sgw_pgw import SessionState, SgwPgwService
from corenet.pcap import PcapTap, PcapWriter
from corenet.pcap.reader import CapturedPacket, read_packets
from corenet.transport import Address, Direction, UdpEndpoint, open_udp_endpoint
from tests.unit.nf.sgw_pgw.helpers import IMSI, MSISDN, cause_of, create_session, modify_bearer

HOST = "127.0.0.1"


def any_port() -> Endpoint:
    """Port 0: the OS picks a free one (the settings model itself asks for 1..65535)."""
    return Endpoint.model_construct(host=HOST, port=0)


def config(**kw: Any) -> SgwPgwConfig:
    """Serving the test MME on HOST, nothing kept on disk unless `database` is given."""
    kw.setdefault("s11", any_port())
    kw.setdefault("database", ":memory:")
    return SgwPgwConfig(s1u_address=HOST, mme_peers=[HOST], **kw)


class Mme:
    """A bare S11 peer: send bytes, await the next datagram."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.endpoint: UdpEndpoint | None = None
        self.echoes = 0

    async def open(self) -> None:
        self.endpoint = await open_udp_endpoint(HOST, 0, self._got)

    def _got(self, data: bytes, addr: Address) -> None:
        if data[1:2] == b"\x01" and self.endpoint is not None:
            # the S/P-GW's path management: a live MME answers its Echo Request (§7.1.1)
            echo = g.decode(data)
            self.echoes += 1
            self.endpoint.sendto(g.encode(g.echo_response(echo.fields["sequence"], 1)), addr)
            return
        self.inbox.put_nowait(data)

    async def ask(self, msg: Message | bytes, sgw: Address) -> Message:
        assert self.endpoint is not None
        self.endpoint.sendto(msg if isinstance(msg, bytes) else g.encode(msg), sgw)
        return g.decode(await asyncio.wait_for(self.inbox.get(), 5))


Running = tuple[SgwPgwService, list[tuple[Direction, bytes]], list[LogEvent]]


@pytest.fixture
async def sgw(tmp_path: Path) -> AsyncIterator[Running]:
    tapped: list[tuple[Direction, bytes]] = []
    events: list[LogEvent] = []
    # a first start (new database): no MME can hold sessions of an earlier one
    cfg = config(restart_counter=4, database=str(tmp_path / "sgw.db"))
    service = SgwPgwService(cfg, tap=lambda d, s, t, p, pp, st: tapped.append((d, p)),
                            on_event=events.append)
    await service.start()
    try:
        yield service, tapped, events
    finally:
        await service.stop()


async def test_attach_modify_detach_and_echo_over_udp(sgw: Running, mme: Mme) -> None:
    service, tapped, events = sgw
    addr = service.local

    csr = await mme.ask(create_session(seq=1, mme_teid=0x501, indication={"uimsi": True}),
                        addr)
    assert csr.name == "CreateSessionResponse"
    assert (csr.fields["teid"], csr.fields["sequence"], cause_of(csr)) == (0x501, 1, 16)
    assert csr.fields["paa"]["ipv4"] == "127.147.0.1"
    assert csr.fields["recovery"] == 4
    sgw_teid = csr.fields["sender_fteid_c"]["teid"]
    assert csr.fields["sender_fteid_c"]["ipv4"] == HOST

    session = service.session_by_ue_address("127.147.0.1")
    assert session is not None and session.uimsi and not session.authenticated
    assert (session.imsi, session.msisdn) == (IMSI, MSISDN)
    assert service.sessions[sgw_teid] is session

    mbr = await mme.ask(modify_bearer(2, sgw_teid, enb_teid=0x777), addr)
    assert mbr.name == "ModifyBearerResponse"
    assert (mbr.fields["teid"], cause_of(mbr)) == (0x501, 16)
    assert session.state is SessionState.ACTIVE
    assert session.bearers[5].s1u_enb_fteid is not None
    assert session.bearers[5].s1u_enb_fteid["teid"] == 0x777

    echo = await mme.ask(g.echo_request(3, 9), addr)
    assert (echo.name, echo.fields["sequence"], echo.fields["recovery"]) == (
        "EchoResponse", 3, 4)

    dsr = await mme.ask(g.delete_session_request(4, teid=sgw_teid, linked_ebi=5), addr)
    assert dsr.name == "DeleteSessionResponse"
    assert (dsr.fields["teid"], cause_of(dsr)) == (0x501, 16)
    assert service.sessions == {} and service.session_by_ue_address("127.147.0.1") is None

    unknown = await mme.ask(g.delete_session_request(5, teid=sgw_teid), addr)
    assert cause_of(unknown) == 64 and unknown.fields["teid"] == 0

    # every message crossed the tap: 5 requests received, 5 responses sent
    assert [d for d, _ in tapped].count(Direction.RECEIVED) == 5
    assert [d for d, _ in tapped].count(Direction.SENT) == 5
    kinds = [e.kind for e in events]
    assert "sgw.session.created" in kinds and "sgw.session.deleted" in kinds


async def test_retransmitted_create_session_is_answered_from_the_cache(sgw: Running, mme: Mme) -> None:
    service, _, events = sgw
    request = g.encode(create_session(seq=40, mme_teid=0x601))
    first = await mme.ask(request, service.local)
    again = await mme.ask(request, service.local)
    assert again == first
    assert len(service.sessions) == 1  # the retransmission created nothing
    assert any(e.kind == "gtpv2.duplicate_request" for e in events)


async def test_malformed_and_foreign_version_get_their_answers(sgw: Running, mme: Mme) -> None:
    service, _, _ = sgw
    gtpv1_echo = bytes([0x32, 1, 0, 4, 0, 0, 0, 0, 0x12, 0x34, 0, 0])
    vnsi = await mme.ask(gtpv1_echo, service.local)
    assert vnsi.name == "VersionNotSupportedIndication"

    req = g.encode(create_session(seq=50, mme_teid=0x701))
    pos = req.index(bytes([71, 0]))  # drop the APN (mandatory, §7.2.1)
    apn_len = int.from_bytes(req[pos + 1:pos + 3], "big")
    body = req[:pos] + req[pos + 4 + apn_len:]
    body = body[:2] + (len(body) - 4).to_bytes(2, "big") + body[4:]
    rej = await mme.ask(body, service.local)
    assert rej.name == "CreateSessionResponse" and rej.fields["sequence"] == 50
    assert cause_of(rej) == 70 and rej.fields["cause"]["offending_ie"]["type"] == 71
    assert service.sessions == {}

    # a node never dies from a peer's bytes: garbage, then a normal request still works
    assert service.local is not None
    assert mme.endpoint is not None
    mme.endpoint.sendto(b"\x48\x20\x00", service.local)
    ok = await mme.ask(g.echo_request(51, 1), service.local)
    assert ok.name == "EchoResponse" and ok.fields["sequence"] == 51


async def test_stop_releases_the_socket(mme: Mme) -> None:
    cfg = config(restart_counter=0)
    service = SgwPgwService(cfg)
    await service.start()
    port = service.local[1]
    await service.stop()
    # the port can be bound again at once
    again = SgwPgwService(config(s11=Endpoint(host=HOST, port=port), restart_counter=0))
    await again.start()
    try:
        echo = await mme.ask(g.echo_request(1, 1), again.local)
        assert echo.fields["recovery"] == 0
    finally:
        await again.stop()


@pytest.mark.tshark
async def test_capture_holds_the_s11_exchange_as_wireshark_reads_it(
        mme: Mme, tmp_path: Path) -> None:
    path = tmp_path / "s11.pcapng"
    writer = PcapWriter(str(path))
    cfg = config(database=str(tmp_path / "sgw.db"))
    # the runtime hands over the PcapTap itself; the S/P-GW records on its UDP side
    service = SgwPgwService(cfg, tap=PcapTap(writer))
    await service.start()
    try:
        resp = await mme.ask(create_session(seq=60, mme_teid=0x801), service.local)
        assert cause_of(resp) == 16
    finally:
        await service.stop()
        writer.close()
    packets = read_packets(path)
    assert len(packets) == 2
    # Wireshark's GTP dissector on UDP takes both versions (TS 29.274 §4.2: port 2123 here
    # is an ephemeral one, hence "decode as")
    out = subprocess.run(
        ["tshark", "-r", str(path), "-d", f"udp.port=={service_port(packets)},gtp",
         "-T", "fields", "-e", "gtpv2.message_type", "-e", "gtpv2.cause",
         "-e", "gtpv2.seq", "-e", "_ws.expert"],
        capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    # no expert info (malformed packet, unknown IE ...) on either message
    assert [line.split("\t") for line in out] == [
        ["32", "", "0x00003c", ""],
        ["33", "16,16", "0x00003c", ""],  # message and bearer context causes
    ]

def service_port(packets: list[CapturedPacket]) -> int:
    """The S/P-GW's UDP port: the destination port of the first (IPv4) packet."""
    data = packets[0].data
    ihl = (data[0] & 0x0F) * 4
    return int.from_bytes(data[ihl + 2:ihl + 4], "big")
