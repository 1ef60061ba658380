"""UEs and eNBs split into shards (`sim-ue attach --shard I/N`): processes or hosts that each
run a share of the population against the same MME."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from corenet.config.models import EnbConfig
from corenet.runtime import loop
from sim_ue.runner import SHARD_ENB_STRIDE, Shard
from tests.cli_helpers import BIN
from tests.e2e.network import subscribers
from tests.unit.sim_ue import memnet
from tests.unit.sim_ue.core_s1 import CoreS1Server

K, OPC = bytes.fromhex(memnet.K), bytes.fromhex(memnet.OPC)

ENBS = [EnbConfig(name="enb1", global_enb_id=0x101, tac=1),
        EnbConfig(name="enb2", global_enb_id=0x102, tac=2)]


def test_shards_partition_the_subscribers() -> None:
    subs = subscribers(10)
    parts = [Shard(i, 3).subscribers(subs) for i in range(3)]
    assert sorted(s.imsi for p in parts for s in p) == sorted(s.imsi for s in subs)
    assert [len(p) for p in parts] == [4, 3, 3]
    assert parts[1][0].imsi == subs[1].imsi and parts[1][1].imsi == subs[4].imsi


def test_each_shard_has_enbs_of_its_own() -> None:
    ids = {e.global_enb_id for i in range(4) for e in Shard(i, 4).enbs(ENBS)}
    assert len(ids) == 8
    second = Shard(1, 4).enbs(ENBS)
    assert [e.global_enb_id for e in second] == [0x101 + SHARD_ENB_STRIDE, 0x102 + SHARD_ENB_STRIDE]
    assert [e.name for e in second] == ["enb1-s1", "enb2-s1"]
    assert [e.name for e in Shard(0, 1).enbs(ENBS)] == ["enb1", "enb2"]
    assert Shard(2, 4).seed(7) != Shard(3, 4).seed(7)


@pytest.mark.parametrize("text", ["4/4", "-1/2", "1", "a/b", "1/0"])
def test_bad_shards_name_the_problem(text: str) -> None:
    with pytest.raises(ValueError):
        Shard.parse(text)


def test_global_enb_id_stays_20_bits() -> None:
    with pytest.raises(ValueError, match="20 bits"):
        Shard(255, 256).enbs([EnbConfig(name="e", global_enb_id=0xFFF00, tac=1)])


def test_loop_runs_a_coroutine_and_names_itself() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert loop.run(answer()) == 42
    assert loop.loop_name() in ("uvloop", "asyncio")


async def test_two_shard_processes_attach_every_ue_once(tmp_path: Path) -> None:
    mme = CoreS1Server(subscribers(5, k=memnet.K, opc=memnet.OPC))
    host, port = await mme.start()
    subs = tmp_path / "subs.yaml"
    subs.write_text(f"subscribers:\n  - {{imsi: '440100000000001', count: 5, "
                    f"msisdn: '819010000001', k: {K.hex()}, opc: {OPC.hex()}}}\n")
    try:
        procs = [await asyncio.create_subprocess_exec(
            str(BIN / "sim-ue"), "attach", "--mme", f"{host}:{port}", "--subscribers",
            str(subs), "--enbs", "2", "--plmn", "44020", "--json", "--sctp", "fallback",
            "--timeout", "10", "--shard", f"{i}/2",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for i in range(2)]
        outs = [await asyncio.wait_for(p.communicate(), 60) for p in procs]
    finally:
        mme.close()
    assert [p.returncode for p in procs] == [0, 0], [o[1].decode() for o in outs]
    shards = [json.loads(o[0]) for o in outs]
    assert [r["imsi"][-1] for r in shards[0]] == ["1", "3", "5"]
    assert [r["imsi"][-1] for r in shards[1]] == ["2", "4"]
    assert all(r["attached"] for s in shards for r in s)
    assert {r["enb"] for r in shards[1]} == {"enb1-s1", "enb2-s1"}


async def test_bad_shard_exits_2(tmp_path: Path) -> None:
    subs = tmp_path / "subs.yaml"
    subs.write_text(f"subscribers:\n  - {{imsi: '440100000000001', msisdn: '819010000001', "
                    f"k: {K.hex()}, opc: {OPC.hex()}}}\n")
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "sim-ue"), "attach", "--mme", "127.0.0.1:1", "--subscribers", str(subs),
        "--shard", "3/2", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert b"--shard" in err and b"3/2" in err
