"""MmeService's S11 path over loopback UDP: Echo answered to its sender with the restart
counter kept on disk (TS 29.274 §7.1.1, §8.5; TS 23.007 §18)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from corenet.codecs import gtpv2c
from corenet.codecs.base import Message
from corenet.config.models import MmeConfig
from corenet.nf.mme.service import MmeService
from corenet.transport import open_udp_endpoint

from .test_service import _config


def _with_counter_file(path: Path) -> MmeConfig:
    return _config().model_copy(update={"restart_counter_file": str(path)})


async def _echo_from_elsewhere(mme: MmeService, seq: int) -> Message:
    """An Echo Request from a socket that is not the configured S-GW; the answer that came
    back to that socket."""
    got: asyncio.Queue[bytes] = asyncio.Queue()
    ep = await open_udp_endpoint("127.0.0.1", 0, lambda d, a: got.put_nowait(d))
    try:
        assert ep.local != (mme.cfg.sgw.host, mme.cfg.sgw.port)
        ep.sendto(gtpv2c.encode(gtpv2c.echo_request(seq, 1)), mme.s11_address)
        data = await asyncio.wait_for(got.get(), 5)
        return gtpv2c.decode(data)
    finally:
        ep.close()
        await ep.wait_closed()


async def test_echo_answered_to_its_source_with_a_counter_that_moves_at_each_start(
        tmp_path: Path) -> None:
    counters = []
    for seq in (31, 32):
        mme = MmeService(_with_counter_file(tmp_path / "mme.restart"))
        await mme.start()
        try:
            echo = await _echo_from_elsewhere(mme, seq)
        finally:
            await mme.stop()
        assert echo.name == "EchoResponse" and echo.fields["sequence"] == seq
        counters.append(echo.fields["recovery"])
    # TS 23.007 §18: the MME keeps no state across a restart: +1 at every start
    assert counters == [0, 1]
    assert (tmp_path / "mme.restart").read_text().strip() == "1"
