"""An HSS restarted between two attaches never reuses an SQN (TS 33.102 §6.3.2, Annex C).

Real SQLite file, real loopback TCP: AIR, stop the HSS, start a new one on the same database
(re-provisioned from the same subscriber list, SQN 0 in it), AIR again.
"""

from __future__ import annotations

from pathlib import Path

from corenet.codecs import s6a
from corenet.config.models import Endpoint, HssConfig
from corenet.crypto.milenage import Milenage, SqnArray, check_autn
from corenet.nf.hss.service import HssService
from tests.unit.nf.hss.helpers import (
    OPC,
    DiameterClient,
    K,
    air,
    local_peer,
    peer_config,
    subscriber,
)


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
