"""MmeService on loopback sockets: S1 Setup over SCTP (or its fallback), a NAS round trip,
an S6a request without a peer failing fast, and a clean stop."""

from __future__ import annotations

import asyncio
import socket
import typing

from corenet.codecs import nas, s1ap
from corenet.config.models import Endpoint, MmeConfig
from corenet.nf.mme.context import BearerStep, EmmState, EnbState, EsmStep, Step
from corenet.nf.mme.events import Action
from corenet.nf.mme.service import MmeService
from corenet.transport import open_sctp_client

from .scenario import IMSI, MME_PLMN


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config() -> MmeConfig:
    return MmeConfig(
        s1ap=Endpoint(host="127.0.0.1", port=_free_port()),
        s11_local=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        sgw=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        diameter_local_host="127.0.0.1", diameter_routes=[], diameter_request_timeout_s=0.2)


async def test_s1_setup_attach_reject_and_clean_stop() -> None:
    mme = MmeService(_config())
    await mme.start()
    received: asyncio.Queue[s1ap.Message] = asyncio.Queue()
    host, port = mme.s1ap_address
    conn = await open_sctp_client(host, port,
                                  lambda c, payload, ppid, stream: received.put_nowait(
                                      s1ap.decode(payload)))
    conn.send(s1ap.encode(s1ap.s1_setup_request(0x101, "enb1", MME_PLMN, [1])), 18, 0)
    answer = await asyncio.wait_for(received.get(), 5)
    assert answer.name == "S1SetupResponse"
    assert mme.enb_count() == 1
    # no route to the home HSS: the attach is refused at once with #17 (TS 29.272 Annex A)
    esm = nas.pdn_connectivity_request(pti=1)
    conn.send(s1ap.encode(s1ap.initial_ue_message(
        1, nas.attach_request(imsi=IMSI, esm_container=esm), MME_PLMN, 1, MME_PLMN, 1)), 18, 1)
    dl = await asyncio.wait_for(received.get(), 5)
    reject = nas.decode(dl.fields["NAS-PDU"])
    assert reject.name == "AttachReject" and reject.fields["emm_cause"] == 17
    cmd = await asyncio.wait_for(received.get(), 5)
    assert cmd.name == "UEContextReleaseCommand"
    conn.send(s1ap.encode(s1ap.ue_context_release_complete(dl.fields["MME-UE-S1AP-ID"], 1)),
              18, 1)
    for _ in range(50):
        if mme.ue_count() == 0:
            break
        await asyncio.sleep(0.01)
    assert mme.ue_count() == 0
    conn.close()
    await mme.stop()
    assert mme.pending_timers() == 0


async def _closed_by_peer(host: str, port: int) -> bool:
    """Connect, send nothing; True once the MME closes the association."""
    closed = asyncio.Event()
    conn = await open_sctp_client(host, port, lambda c, p, ppid, s: None,
                                  on_close=lambda c: closed.set())
    try:
        await asyncio.wait_for(closed.wait(), 5)
    finally:
        conn.close()
    return closed.is_set()


async def test_silent_association_is_closed_after_the_s1_setup_guard() -> None:
    cfg = _config().model_copy(update={"s1_setup_timeout_s": 0.2})
    mme = MmeService(cfg)
    await mme.start()
    try:
        assert await _closed_by_peer(*mme.s1ap_address)
        assert "s1ap.setup.timeout" in [e.kind for e in mme.events]
        assert mme.core.enbs == {}
    finally:
        await mme.stop()


async def test_associations_beyond_the_limit_are_closed() -> None:
    cfg = _config().model_copy(update={"max_associations": 1})
    mme = MmeService(cfg)
    await mme.start()
    received: asyncio.Queue[s1ap.Message] = asyncio.Queue()
    host, port = mme.s1ap_address
    first = await open_sctp_client(host, port, lambda c, payload, ppid, stream:
                                   received.put_nowait(s1ap.decode(payload)))
    try:
        first.send(s1ap.encode(s1ap.s1_setup_request(0x101, "enb1", MME_PLMN, [1])), 18, 0)
        assert (await asyncio.wait_for(received.get(), 5)).name == "S1SetupResponse"
        assert await _closed_by_peer(host, port)
        assert "s1ap.association.refused" in [e.kind for e in mme.events]
        assert mme.enb_count() == 1 and not first.closed
    finally:
        first.close()
        await mme.stop()


def test_every_action_of_the_core_has_what_carries_it_out() -> None:
    """The service carries out an action by its class (one look-up, no chain of isinstance):
    every kind the core may return (events.Action) is in that table."""
    mme = MmeService(_config())
    assert set(mme._appliers) == set(typing.get_args(Action))


def test_states_of_the_procedure_tables_hash_by_identity() -> None:
    """(step, message) keys are looked up on every message: a state hashes as the object it
    is (members are singletons), not through the Python call of enum.Enum.__hash__."""
    for states in (EnbState, EmmState, Step, EsmStep, BearerStep):
        assert states.__hash__ is object.__hash__
        table = {(s, "AttachComplete"): s.value for s in states}
        assert all(table[(s, "AttachComplete")] == s.value for s in states)
