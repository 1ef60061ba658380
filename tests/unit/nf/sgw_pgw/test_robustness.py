"""A node never dies from a peer's bytes: mutated S11 requests through transactions and core."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corenet.codecs import gtpv2c as g
from corenet.config.models import SgwPgwConfig
from corenet.core.actions import LogEvent
from corenet.nf.sgw_pgw.core import S11Malformed, S11Request, SendResponse, SgwPgwCore
from corenet.protocols.gtpv2c_transactions import (
    GtpTransactions,
    MalformedRequest,
    RequestReceived,
)
from tests.unit.nf.sgw_pgw.helpers import create_session, delete_session, modify_bearer

MME = ("127.0.0.2", 2123)
SEEDS = [g.encode(create_session(seq=1, mme_teid=9)), g.encode(modify_bearer(2, 1)),
         g.encode(delete_session(3, 1)), g.encode(g.echo_request(4, 1)),
         g.encode(g.release_access_bearers_request(5, teid=1))]


def run(datagrams: list[bytes]) -> list[bytes]:
    core, tx = SgwPgwCore(SgwPgwConfig()), GtpTransactions()
    sent: list[bytes] = []
    for now, data in enumerate(datagrams):
        tx.receive(data, MME, float(now))
        while (ev := tx.next_event()) is not None:
            if isinstance(ev, RequestReceived | MalformedRequest):
                event = (S11Request(ev.message, ev.peer) if isinstance(ev, RequestReceived)
                         else S11Malformed(ev.error, ev.peer))
                for action in core.handle(event, float(now)):
                    if isinstance(action, SendResponse):
                        tx.send_response(action.message, action.peer, float(now))
                    else:
                        assert isinstance(action, LogEvent)
        sent += [d for d, _ in tx.data_to_send()]
    return sent


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut] if draw(st.booleans()) else data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=3))
def test_mutated_requests_never_raise_and_every_answer_decodes(datagrams: list[bytes]) -> None:
    # a valid attach first, so mutated TEIDs sometimes hit a session
    for out in run([SEEDS[0], *datagrams]):
        msg = g.decode(out)
        assert msg.name.endswith("Response") or msg.name == "VersionNotSupportedIndication"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_raise(data: bytes) -> None:
    for out in run([data]):
        g.decode(out)
