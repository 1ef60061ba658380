"""Full-roaming attach throughput and latency of the whole emulator (a figure, not a test):
attaches/s, p50/p99 attach latency, peak RSS.

    .venv/bin/python benchmarks/attach.py --ues 1000 [--concurrency 64] [--pcap PATH]
        [--codec fast|pycrate|both] [--processes P [--nf-processes 1|2|4]] [--rate R] [--net 201]
        [--json]

Closed loop by default: `--concurrency` attaches at a time, as fast as the emulator goes (the
peak rate). `--rate R` is open loop: attach k starts at k / R seconds whatever the others do,
and its latency counts from then, so the p99 at half the peak rate is the latency a network at
that load gives (`rate` in the figures).

`--nf-processes 1` (with `--processes P`) runs the four network functions together in one
`corenet run hss pcrf sgw-pgw mme` process instead of one each: the network on one core, the UEs
on the other. `--nf-processes 2` runs them as `corenet run hss pcrf` and `corenet run sgw-pgw
mme` (the Diameter servers in one process, the MME and its S/P-GW in the other): with one UE
shard, three processes: on a 2-core host, the layout with the highest rate.

`--processes 0` (the default) runs everything in this one process, on the 127.<net>.0.0/16
block too. `--processes P` (P >= 1)
spreads the emulator over processes on real loopback sockets: the HSS, the PCRF, the S/P-GW and
the MME each in a `corenet run <nf>` process of its own, and the UEs with their eNBs in P `sim-ue`
shards (`sim_ue.runner.Shard`, as `sim-ue attach --shard I/P` runs them), all on the
127.<net>.0.0/16 block. `processes` in the figures counts the processes that do the work
(4 network functions + P shards, or 1). `peak_rss_mib` is their summed peak resident set,
`cpu_s` their summed CPU time from the first attach to the last, read while every UE is still
attached (the S1 teardown after it is not counted, in either layout): cpu_s / wall_s above 1
means more than one core was busy.
`runq_s` is the time their threads were ready to run but waited for a core (Linux schedstat
run delay): on a shared machine a process can be neither busy nor idle but queued, and the
latency then comes from the other work on the host, not from the emulator.

`--profile DIR` runs every working process under cProfile and writes DIR/<process>.prof
(hss, pcrf, sgw-pgw, mme, sim-ue-I, or all.prof in one process; DIR/fast/ and DIR/pycrate/
with `--codec both`); the time a process spends in
`select.epoll.poll` is its event loop waiting for input, the rest is CPU or blocking calls
(`sqlite3` COMMITs wait for fsync). Read them with `python -m pstats`.

`--codec both` runs the fast codec and then pycrate under the same conditions, one after the
other, and prints both figures and their ratios (`--json`: three JSON lines, fast, pycrate,
then `{"ratio_attaches_per_s", "ratio_cpu_ms_per_attach"}`, pycrate's CPU per attach over the
fast path's). The in-process run is unseeded, as a `corenet run` network function is: the HSS
and the S/P-GW commit in groups on their writer threads.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from corenet.config.models import CorenetConfig  # noqa: E402
from corenet.orchestration.demo import EMBEDDED_SUBSCRIBERS  # noqa: E402
from corenet.runtime import loop  # noqa: E402
from corenet.runtime.supervisor import Runtime  # noqa: E402
from sim_ue.runner import Population, Shard  # noqa: E402
from tests.e2e.network import wait_port  # noqa: E402

BIN = Path(sys.executable).parent
NFS = ("hss", "pcrf", "sgw-pgw", "mme")  # the P-GW opens its Gx session per PDN connection
# `--nf-processes`: the `corenet run` processes the network functions run in
NF_GROUPS = {1: [NFS], 2: [("hss", "pcrf"), ("sgw-pgw", "mme")], 4: [(nf,) for nf in NFS]}


class TimedPopulation(Population):
    """Attach latencies, closed-loop (at most `concurrency` attaches at a time) or open-loop
    (`paced`: attach k starts at `t0 + k / rate`, its latency counted from then, so a queue
    in front of the network counts)."""

    latencies: list[float]
    _rate: float | None = None
    _t0 = 0.0
    _started = 0

    def paced(self, rate: float | None, t0: float) -> None:
        """Open loop from `t0` (perf_counter) at `rate` attaches/s; None: closed loop."""
        self._rate, self._t0 = rate, t0
        if rate:
            self.concurrency = max(1, len(self.members))

    async def _attach_one(self, member: Any, plmn: Any) -> None:
        t0 = time.perf_counter()
        if self._rate:
            t0 = self._t0 + self._started / self._rate
            self._started += 1
            await asyncio.sleep(max(0.0, t0 - time.perf_counter()))
        await super()._attach_one(member, plmn)
        self.latencies.append(time.perf_counter() - t0)


def _enbs(ues: int) -> int:
    """eNBs enough for `ues` UE contexts: the MME serves at most `max_ue_contexts_per_enb`
    (4096) per eNB (TS 36.413 §8.6.2.1), so 10,000 UEs on two eNBs would be refused."""
    per_enb = CorenetConfig().mme.max_ue_contexts_per_enb // 2
    return max(2, -(-ues // per_enb))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _figures(ues: int, attached: int, wall: float, latencies: list[float], rss: float,
             codec: str, processes: int, cpu_s: float, runq_s: float) -> dict[str, Any]:
    """`cpu_s`: CPU seconds of every working process during the attaches; `runq_s`: seconds
    their threads waited for a core."""
    return {
        "ues": ues, "attached": attached, "wall_s": round(wall, 3),
        "attaches_per_s": round(attached / wall, 1) if wall > 0 else 0.0,
        "p50_ms": round(1000 * percentile(latencies, 50), 1) if latencies else None,
        "p99_ms": round(1000 * percentile(latencies, 99), 1) if latencies else None,
        "peak_rss_mib": round(rss, 1), "codec": codec, "processes": processes,
        "loop": loop.loop_name(), "cpu_s": round(cpu_s, 2), "runq_s": round(runq_s, 1),
        "cpu_ms_per_attach": round(1000 * cpu_s / attached, 2) if attached else None,
    }


# ------------------------------------------------------------------ everything in one process


async def run(ues: int, concurrency: int, pcap: str | None, codec: str = "fast",
              net: int = 201, rate: float | None = None) -> dict[str, Any]:
    """Everything in this process, on the 127.<net>.0.0/16 block (as the processes run)."""
    entry = EMBEDDED_SUBSCRIBERS.model_copy(update={"count": ues})
    subs = list(entry.expand())
    with tempfile.TemporaryDirectory() as tmp:
        path = _config(Path(tmp), ues, codec, net, _enbs(ues))
        cfg = CorenetConfig.model_validate(yaml.safe_load(path.read_text()))
        # the attach's functions only, as the multi-process run starts them: nothing binds
        # outside the 127.<net>.0.0/16 block
        runtime = Runtime(cfg, pcap_path=pcap, names=NFS,
                          sim_ue_in_process=True)
        await runtime.start()
        tap = runtime.tap()
        pop = TimedPopulation(subs, cfg.sim_ue.enbs, tap=None if tap is None else tap.sctp,
                              concurrency=concurrency, info_wait=0.0, timeout=300.0)
        pop.latencies = []
        async with pop:
            t0, cpu0, runq0 = time.perf_counter(), _cpu_s(), _runq_s(os.getpid())
            pop.paced(rate, t0)
            results = await pop.attach()
            wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
            runq = _runq_s(os.getpid()) - runq0
        await runtime.stop()
    ok = sum(r.attached for r in results)
    return _figures(ues, ok, wall, pop.latencies, _peak_rss_mib(), codec, 1, cpu, runq)


# ------------------------------------------------------------------ spread over processes


def _profiled(cmd: list[str], profile: str | None, name: str) -> list[str]:
    """Python running `cmd` (a script and its arguments), under cProfile writing
    PROFILE/<name>.prof when `profile` is given."""
    if not profile:
        return [sys.executable, *cmd]
    return [sys.executable, "-m", "cProfile", "-o", str(Path(profile) / f"{name}.prof"), *cmd]


def _config(tmp: Path, ues: int, codec: str, net: int, enbs: int) -> Path:
    """A configuration on 127.<net>.0.0/16 with the benchmark's subscribers."""
    ip = lambda a, b: f"127.{net}.{a}.{b}"  # noqa: E731
    subs = tmp / "subscribers.yaml"
    entry = EMBEDDED_SUBSCRIBERS.model_copy(update={"count": ues})
    subs.write_text(yaml.safe_dump({"subscribers": [entry.model_dump(mode="json")]}))
    mme_host = "mme.epc.mnc020.mcc440.3gppnetwork.org"
    data: dict[str, Any] = {
        "codec": codec, "pcap": None,
        "hss": {"listen": {"host": ip(0, 3), "port": 3868}, "database": str(tmp / "hss.db"),
                "subscribers_file": str(subs), "control": {"host": ip(0, 3), "port": 0},
                "peers": [{"origin_host": mme_host, "addresses": [ip(0, 2)]}]},
        "mme": {"s1ap": {"host": ip(0, 2), "port": 36412}, "sctp": "fallback",
                "s11_local": {"host": ip(0, 2), "port": 2123},
                "sgw": {"host": ip(0, 4), "port": 2123}, "diameter_local_host": ip(0, 2),
                "diameter_routes": [{"realm": "epc.mnc010.mcc440.3gppnetwork.org",
                                     "host": "hss.epc.mnc010.mcc440.3gppnetwork.org",
                                     "peer": {"host": ip(0, 3), "port": 3868}}],
                "control": {"host": ip(0, 2), "port": 0}},
        "pcrf": {"listen": {"host": ip(0, 15), "port": 3868}},
        "sgw_pgw": {"s11": {"host": ip(0, 4), "port": 2123}, "s1u_address": ip(0, 4),
                    "s5_address": ip(0, 5), "database": str(tmp / "sgw-pgw.db"),
                    "mme_peers": [ip(0, 2)]},
        "sim_ue": {"subscribers_file": str(subs),
                   "enbs": [{"name": f"enb{i + 1}", "global_enb_id": 0x101 + i, "tac": 1 + i % 2,
                             "address": ip(1, i + 1), "mme": {"host": ip(0, 2), "port": 36412}}
                            for i in range(enbs)]},
    }
    cfg = CorenetConfig.model_validate(data)
    path = tmp / "corenet.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    return path


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _runq_s(pid: int) -> float:
    """Seconds the threads of a running process waited on a run queue (/proc/<pid>/task/*/
    schedstat, second field: run delay in ns)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def _vm_hwm_mib(pid: int) -> float:
    """Peak resident set of a running process (Linux /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def worker(cfg_path: str, shard_text: str, ues: int, concurrency: int, start_at: float,
                 codec: str, rate: float | None = None) -> None:
    """One shard: its UEs attach once every shard is up (at `start_at`, wall clock); prints its
    figures as one JSON line, then detaches once a line arrives on stdin."""
    from corenet.codecs import selection
    from corenet.config import loader
    from corenet.config.subscribers import load_subscribers

    selection.set_codec(codec)
    cfg = loader.load(CorenetConfig, cfg_path)
    shard = Shard.parse(shard_text)
    subs = shard.subscribers(load_subscribers(cfg.sim_ue.subscribers_file)[:ues])
    pop = TimedPopulation(subs, shard.enbs(cfg.sim_ue.enbs), concurrency=concurrency,
                          info_wait=0.0, timeout=300.0, sctp_mode="fallback",
                          seed=shard.seed(1))
    pop.latencies = []
    async with pop:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        t0, cpu0, runq0 = time.time(), _cpu_s(), _runq_s(os.getpid())
        pop.paced(rate, time.perf_counter())
        results = await pop.attach()
        t1, cpu, runq = time.time(), _cpu_s() - cpu0, _runq_s(os.getpid()) - runq0
        # the figures go out while every UE is still attached: the parent reads the network
        # functions' CPU now, before the S1 teardown (Release Access Bearers per UE) begins
        print(json.dumps({"start": t0, "end": t1, "attached": sum(r.attached for r in results),
                          "latencies": pop.latencies, "peak_rss_mib": _peak_rss_mib(),
                          "cpu_s": cpu, "runq_s": runq}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def run_processes(ues: int, concurrency: int, codec: str, processes: int,
                  net: int, profile: str | None = None,
                  rate: float | None = None, nf_processes: int = 4) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        cfg_path = _config(tmp, ues, codec, net, _enbs(ues))
        cfg = CorenetConfig.model_validate(yaml.safe_load(cfg_path.read_text()))
        nfs: dict[str, subprocess.Popen[bytes]] = {}
        # the listening addresses whose functions serve the next group
        listens = {"hss": cfg.hss.listen, "pcrf": cfg.pcrf.listen, "mme": cfg.mme.s1ap}
        try:
            for group in NF_GROUPS[nf_processes]:
                name = "+".join(group)
                nfs[name] = subprocess.Popen(
                    _profiled([str(BIN / "corenet"), "run", *group, "--config", str(cfg_path),
                               "--pcap", "", "--log-level", "warning"], profile, name),
                    stdout=subprocess.DEVNULL, stderr=(tmp / f"{name}.log").open("w"))
                for ready in (listens[nf] for nf in group if nf in listens):
                    asyncio.run(wait_port(ready.host, ready.port, timeout=60.0))
            start_at = time.time() + 3.0 + 0.5 * processes  # every shard imported and set up
            workers = [subprocess.Popen(
                _profiled([__file__, "--worker", f"{i}/{processes}", "--config",
                           str(cfg_path), "--ues", str(ues), "--concurrency",
                           str(max(1, concurrency // processes)), "--start-at", str(start_at),
                           "--codec", codec,
                           *(["--rate", str(rate / processes)] if rate else [])],
                          profile, f"sim-ue-{i}"),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE) for i in range(processes)]
            time.sleep(max(0.0, start_at - time.time()))
            cpu0 = {nf: _proc_cpu_s(p.pid) for nf, p in nfs.items()}
            runq0 = {nf: _runq_s(p.pid) for nf, p in nfs.items()}
            # every shard's figures come while its UEs are attached: the network functions'
            # CPU counts the attaches, not the teardown that follows
            shards = [json.loads(w.stdout.readline()) for w in workers]
            nf_rss = sum(_vm_hwm_mib(p.pid) for p in nfs.values())
            by_nf = {nf: round(_proc_cpu_s(p.pid) - cpu0[nf], 2) for nf, p in nfs.items()}
            runq_nf = {nf: round(_runq_s(p.pid) - runq0[nf], 1) for nf, p in nfs.items()}
            for w in workers:
                w.communicate(b"\n")
        finally:
            for proc in nfs.values():
                proc.terminate()
            for proc in nfs.values():
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    wall = max(s["end"] for s in shards) - min(s["start"] for s in shards)
    latencies = [v for s in shards for v in s["latencies"]]
    rss = nf_rss + sum(s["peak_rss_mib"] for s in shards)
    figures = _figures(ues, sum(s["attached"] for s in shards), wall, latencies, rss, codec,
                       len(nfs) + processes, sum(by_nf.values()) + sum(s["cpu_s"] for s in shards),
                       sum(runq_nf.values()) + sum(s["runq_s"] for s in shards))
    by_nf.update({f"sim-ue {i}/{processes}": round(s["cpu_s"], 2) for i, s in enumerate(shards)})
    runq_nf.update({f"sim-ue {i}/{processes}": round(s["runq_s"], 1)
                    for i, s in enumerate(shards)})
    return {**figures, "cpu_s_by_process": by_nf, "runq_s_by_process": runq_nf}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ues", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--pcap", default=None)
    ap.add_argument("--codec", choices=["fast", "pycrate", "both"], default="fast")
    ap.add_argument("--processes", type=int, default=0,
                    help="UE shard processes, network functions in processes of their own "
                         "(0: everything in this process)")
    ap.add_argument("--nf-processes", type=int, choices=sorted(NF_GROUPS), default=4,
                    help="with --processes: the HSS, the PCRF, the S/P-GW and the MME each in a "
                         "process of its own (4), as HSS+PCRF and S/P-GW+MME (2), or together "
                         "in one (1)")
    ap.add_argument("--net", type=int, default=201, help="the 127.<net>.0.0/16 block to bind")
    ap.add_argument("--rate", type=float, default=None,
                    help="open loop: start this many attaches per second (over all shards), "
                         "latency counted from each one's scheduled start")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--profile", metavar="DIR",
                    help="run every working process under cProfile, DIR/<process>.prof")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    ap.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        loop.run(worker(args.config, args.worker, args.ues, args.concurrency,
                        args.start_at, args.codec, args.rate))
        return
    codecs = ("fast", "pycrate") if args.codec == "both" else (args.codec,)
    runs = [_measure(args, codec, args.profile and _profile_dir(args.profile, codec, codecs))
            for codec in codecs]
    if len(runs) == 2:
        fast, ref = runs
        runs.append({"ratio_attaches_per_s": _ratio(fast["attaches_per_s"],
                                                    ref["attaches_per_s"]),
                     "ratio_cpu_ms_per_attach": _ratio(ref["cpu_ms_per_attach"],
                                                       fast["cpu_ms_per_attach"])})
    for figures in runs:
        if args.json:
            print(json.dumps(figures), flush=True)
            continue
        for k, v in figures.items():
            print(f"{k:24} {v:.2f}" if isinstance(v, float) else f"{k:24} {v}")
        print(flush=True)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 1) if a and b else None


def _profile_dir(profile: str, codec: str, codecs: tuple[str, ...]) -> str:
    """DIR itself for one codec, DIR/<codec> for each of both."""
    path = Path(profile) / codec if len(codecs) > 1 else Path(profile)
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def _measure(args: argparse.Namespace, codec: str, profile: str | None) -> dict[str, Any]:
    """One run of the benchmark with `codec`, cProfiles in `profile` when given."""
    if args.processes > 0:
        return {**run_processes(args.ues, args.concurrency, codec, args.processes, args.net,
                                profile, args.rate, args.nf_processes), "rate": args.rate}
    from corenet.codecs import selection

    selection.set_codec(codec)
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    figures = loop.run(run(args.ues, args.concurrency, args.pcap, codec, args.net, args.rate))
    figures["rate"] = args.rate
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(Path(profile or ".") / "all.prof"))
    return figures


if __name__ == "__main__":
    main()
