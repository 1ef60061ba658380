"""Duplicate requests at the HSS, over real loopback TCP (RFC 6733 §3, §6.2, Appendix C).

A duplicate is the same request again (Origin-Host and End-to-End Identifier, same content):
it gets the first answer. Another request that reuses the End-to-End Identifier is answered on
its own, never with the answer of the request that used it before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.config.models import Endpoint, HssConfig
from corenet.nf.hss.service import HssService
from tests.unit.nf.hss.helpers import (
    IMSI,
    DiameterClient,
    air,
    local_peer,
    peer_config,
    pur,
    subscriber,
)

IMSI_B = "440100000000002"
E2E = 0x5EED


@pytest.fixture
async def hss() -> AsyncIterator[HssService]:
    cfg = HssConfig(listen=Endpoint.model_construct(host="127.0.0.1", port=0),
                    database=":memory:", subscribers_file=None, peers=[local_peer()])
    svc = HssService(cfg, subscribers=[subscriber(), subscriber(IMSI_B, msisdn="819010000002")])
    await svc.start()
    yield svc
    await svc.stop()


def _e2e(msg: Message, e2e: int = E2E, *, retransmit: bool = False) -> Message:
    flags = {**msg.fields["flags"], "retransmit": retransmit}
    return replace(msg, fields={**msg.fields, "end_to_end": e2e, "flags": flags})


def _sqn(hss: HssService, imsi: str) -> int:
    return hss.store.get(imsi).sqn  # type: ignore[union-attr]


async def test_other_requests_reusing_an_end_to_end_id_get_their_own_answers(
        hss: HssService) -> None:
    client = await DiameterClient.connect(*hss.local, peer_config())
    await client.opened()
    first = _e2e(air(IMSI))
    aia_a = await client.ask(first)
    assert s6a.result_of(aia_a) == (2001, False)
    assert aia_a.fields["end_to_end"] == E2E
    (vector_a,) = s6a.vectors_of(aia_a)

    # another IMSI, same Origin-Host and End-to-End id: vectors of its own
    second = _e2e(air(IMSI_B))
    aia_b = await client.ask(second)
    assert dia.avp(aia_b, "Session-Id") == dia.avp(second, "Session-Id")
    assert s6a.result_of(aia_b) == (2001, False)
    (vector_b,) = s6a.vectors_of(aia_b)
    assert vector_b.rand != vector_a.rand and vector_b.kasme != vector_a.kasme
    assert _sqn(hss, IMSI_B) > 0

    # an unknown IMSI with the same pair: its own refusal, not a cached AIA with vectors
    unknown = await client.ask(_e2e(air("440109999999999")))
    assert s6a.result_of(unknown) == (dia.ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN,
                                      True)
    assert s6a.vectors_of(unknown) == []

    # a PUR with the same pair: a PUA, not an AIA
    pua = await client.ask(_e2e(pur(IMSI)))
    assert pua.name == "PUA" and s6a.result_of(pua) == (2001, False)
    assert dia.avp(pua, "Session-Id") != dia.avp(first, "Session-Id")
    await client.close()


async def test_retransmission_gets_the_first_answer_and_no_new_sqn(hss: HssService) -> None:
    client = await DiameterClient.connect(*hss.local, peer_config())
    await client.opened()
    request = _e2e(air(IMSI))
    aia = await client.ask(request)
    sqn = _sqn(hss, IMSI)
    # RFC 6733 §3: the T flag marks a retransmission (after a failover), same End-to-End id
    again = await client.ask(_e2e(request, retransmit=True))
    assert s6a.vectors_of(again) == s6a.vectors_of(aia)
    assert dia.avp(again, "Session-Id") == dia.avp(request, "Session-Id")
    assert _sqn(hss, IMSI) == sqn and hss.air_count == 1
    await client.close()
