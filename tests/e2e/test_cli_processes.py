"""The network as separate processes: `corenet run` serves, `sim-ue attach --mme` replays attaches
against it as it would against a third-party MME."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import yaml

from corenet.config.models import CorenetConfig
from corenet.runtime.healthcheck import not_listening
from tests import tshark
from tests.cli_helpers import BIN
from tests.e2e.network import OPC, K, config, wait_port


def _network(tmp_path: Path, imsi: str, count: int) -> tuple[CorenetConfig, Path, Path]:
    """A network on free addresses whose HSS holds `count` subscribers from `imsi` on: its
    configuration, the configuration's file and the subscribers' file."""
    subs_file = tmp_path / "subscribers.yaml"
    subs_file.write_text(yaml.safe_dump({"subscribers": [
        {"imsi": imsi, "count": count, "msisdn": "8190200" + imsi[-5:], "k": K, "opc": OPC}]}))
    cfg = config(tmp_path)
    data = cfg.model_dump(mode="json")
    data["hss"]["subscribers_file"] = str(subs_file)
    cfg_file = tmp_path / "corenet.yaml"
    cfg_file.write_text(yaml.safe_dump(data))
    return cfg, cfg_file, subs_file


async def _run(*args: str, timeout: float = 120) -> str:
    proc = await asyncio.create_subprocess_exec(*args, stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, (args, err.decode()[-2000:])
    return out.decode()


def _stop(procs: list[subprocess.Popen[str]]) -> list[str]:
    """SIGTERM to each process, the last started first: the end of the stderr of those that
    did not then exit 0."""
    for proc in reversed(procs):
        proc.send_signal(signal.SIGTERM)
    for proc in reversed(procs):
        proc.wait(timeout=30)
    return [p.stderr.read()[-2000:] for p in procs if p.stderr and p.returncode]


async def _attach(cfg: CorenetConfig, subs_file: Path, ues: int,
                  enbs: int) -> list[dict[str, Any]]:
    """`sim-ue attach --mme` of `ues` subscribers through `enbs` eNBs, then detach: each UE's
    report."""
    out = await _run(str(BIN / "sim-ue"), "attach", "--mme",
                     f"{cfg.mme.s1ap.host}:{cfg.mme.s1ap.port}", "--subscribers", str(subs_file),
                     "--ues", str(ues), "--enbs", str(enbs), "--sctp", "fallback", "--json",
                     "--detach")
    report = json.loads(out)
    return report["ues"] if isinstance(report, dict) else report  # type: ignore[no-any-return]


async def test_corenet_run_serves_sim_ue_attach_over_the_cli(tmp_path: Path) -> None:
    cfg, cfg_file, subs_file = _network(tmp_path, "440100000000101", 6)
    pcap = tmp_path / "served.pcapng"
    server = subprocess.Popen([str(BIN / "corenet"), "run", "--config", str(cfg_file), "--pcap", str(pcap)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        await wait_port(cfg.mme.s1ap.host, cfg.mme.s1ap.port)
        ues = await _attach(cfg, subs_file, 6, 2)
    finally:
        failed = _stop([server])
    assert not failed, failed
    assert len(ues) == 6 and all(u["attached"] for u in ues)
    assert {u["network_name"] for u in ues} == {"JPN-ROAM X"}
    # the served capture records both directions of the MME's and the HSS's links
    assert tshark.count(pcap, "diameter.cmd.code == 316 && diameter.Result-Code == 2001") == 6
    assert tshark.count(pcap, "s1ap.procedureCode == 12") == 6
    assert tshark.count(pcap, "_ws.malformed") == 0
    # TS 36.413 §9.1.4.1: a Handover Restriction List with the serving PLMN in every ICS
    # Request; §8.9: the eNB reports each UE's radio capability after it
    assert tshark.count(pcap, "s1ap.procedureCode == 9 && s1ap.servingPLMN == 44:f0:02") == 6
    assert tshark.count(pcap, "s1ap.procedureCode == 22 && lte-rrc.bandEUTRA == 1") == 6


async def test_named_functions_share_one_process_and_serve_attaches(tmp_path: Path) -> None:
    """`corenet run mme sgw-pgw pcrf hss`: those four in one process, started servers first
    whatever the order named; the P-GW opens its Gx session at the PCRF beside it (TS 29.212
    §4.5.1) and the functions not named are not started."""
    cfg, cfg_file, subs_file = _network(tmp_path, "440100000000301", 3)
    pcap = tmp_path / "network.pcapng"
    check = await _run(str(BIN / "corenet"), "run", "mme", "sgw-pgw", "pcrf", "hss", "mme",
                       "--config", str(cfg_file), "--check")
    assert json.loads(check)["network_functions"] == ["hss", "pcrf", "sgw-pgw", "mme"]
    server = subprocess.Popen([str(BIN / "corenet"), "run", "mme", "sgw-pgw", "pcrf", "hss",
                               "--config", str(cfg_file), "--pcap", str(pcap)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        await wait_port(cfg.mme.s1ap.host, cfg.mme.s1ap.port)
        assert not_listening(cfg, "psap") and not_listening(cfg, "ims")
        ues = await _attach(cfg, subs_file, 3, 1)
    finally:
        failed = _stop([server])
    assert not failed, failed
    assert len(ues) == 3 and all(u["attached"] for u in ues)
    assert tshark.count(pcap, "diameter.cmd.code == 316 && diameter.Result-Code == 2001") == 3
    assert tshark.count(pcap, "diameter.cmd.code == 272 && diameter.CC-Request-Type == 1 "
                              "&& diameter.flags.request == 1") == 3
    assert tshark.count(pcap, "gtpv2.message_type == 33 && gtpv2.cause == 16") == 3
    assert tshark.count(pcap, "_ws.malformed") == 0


async def test_two_groups_of_functions_keep_gx_between_their_processes(tmp_path: Path) -> None:
    """`corenet run hss pcrf` and `corenet run sgw-pgw mme`: the P-GW, without a PCRF beside
    it, opens each Gx session at the PCRF of the other process (TS 29.212 §4.5.1)."""
    cfg, cfg_file, subs_file = _network(tmp_path, "440100000000401", 2)
    assert cfg.pcrf is not None

    def start(*group: str) -> subprocess.Popen[str]:
        return subprocess.Popen([str(BIN / "corenet"), "run", *group, "--config", str(cfg_file),
                                 "--pcap", str(tmp_path / f"{group[0]}.pcapng")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    procs = [start("hss", "pcrf")]
    try:
        await wait_port(cfg.pcrf.listen.host, cfg.pcrf.listen.port)  # started after the HSS
        procs.append(start("sgw-pgw", "mme"))
        await wait_port(cfg.mme.s1ap.host, cfg.mme.s1ap.port)
        ues = await _attach(cfg, subs_file, 2, 1)
    finally:
        failed = _stop(procs)
    assert not failed, failed
    assert len(ues) == 2 and all(u["attached"] for u in ues)
    # the PCRF's process records both directions of its Gx link: two CCR-I, two CCA-I 2001
    home = tmp_path / "hss.pcapng"
    assert tshark.count(home, "diameter.cmd.code == 272 && diameter.CC-Request-Type == 1 "
                              "&& diameter.flags.request == 1") == 2
    assert tshark.count(home, "diameter.cmd.code == 272 && diameter.flags.request == 0 "
                              "&& diameter.Result-Code == 2001") >= 2
    assert tshark.count(home, "_ws.malformed") == 0


# every function as its own `corenet run`, servers before their clients
ALONE = ("hss", "pcrf", "sgw-pgw", "psap", "ims", "mme")
# the PSAP's record per roaming mode (TS 23.167 §6.2.1): who calls, and whether it is verified
RECORDS = {"full": ("msisdn", True), "emergency-auth": ("msisdn", True),
           "emergency-unauth": ("imsi", False)}


async def _until_listening(cfg_data: dict[str, object], nf: str) -> None:
    cfg = CorenetConfig.model_validate(cfg_data)
    for _ in range(300):
        if not not_listening(cfg, nf):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{nf} does not listen")


async def test_each_function_in_its_own_process_reaches_the_psap_in_every_mode(
        tmp_path: Path) -> None:
    """hss, pcrf, sgw-pgw, psap, ims and mme each a `corenet run` of their own: the P-CSCF binds
    over Rx to the PCRF the P-GW told over Gx, in another process (TS 29.214 §4.4.1)."""
    imsis = {mode: f"44010000000020{i}" for i, mode in enumerate(RECORDS, 1)}
    everyone = tmp_path / "subscribers.yaml"
    everyone.write_text(yaml.safe_dump({"subscribers": [
        {"imsi": imsi, "msisdn": f"81902000020{i}", "k": K, "opc": OPC}
        for i, imsi in enumerate(imsis.values(), 1)]}))
    data = config(tmp_path, enbs=1).model_dump(mode="json")
    data["hss"]["subscribers_file"] = str(everyone)
    cfg_file = tmp_path / "corenet.yaml"
    cfg_file.write_text(yaml.safe_dump(data))
    procs: list[subprocess.Popen[str]] = []
    try:
        for nf in ALONE:
            procs.append(subprocess.Popen(
                [str(BIN / "corenet"), "run", nf, "--config", str(cfg_file),
                 "--pcap", str(tmp_path / f"{nf}.pcapng")],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
            await _until_listening(data, nf)
        control = f"{data['mme']['control']['host']}:{data['mme']['control']['port']}"
        for mode, imsi in imsis.items():
            one = tmp_path / f"{mode}.yaml"
            one.write_text(yaml.safe_dump({"subscribers": [
                s for s in yaml.safe_load(everyone.read_text())["subscribers"]
                if s["imsi"] == imsi]}))
            await _run(str(BIN / "corenet"), "ctl", "--endpoint", control, "policy", "set",
                       "44010", mode)
            out = await _run(str(BIN / "sim-ue"), "call", "--dial", "119", "--config",
                             str(cfg_file), "--subscribers", str(one), "--sctp", "fallback",
                             "--json")
            report = json.loads(out)
            calls = report["ues"] if isinstance(report, dict) else report
            assert [c["outcome"] for c in calls] == ["answered"], (mode, calls)
        records = json.loads(await _run(str(BIN / "corenet"), "psap", "calls", "--db",
                                        data["psap"]["database"], "--json"))
    finally:
        failed = _stop(procs)
    assert not failed, failed
    got = {r["identity"]: (r["identity_type"], bool(r["verified"]), r["mode"]) for r in records}
    for i, (mode, (kind, verified)) in enumerate(RECORDS.items(), 1):
        identity = f"81902000020{i}" if kind == "msisdn" else imsis[mode]
        assert got.get(identity) == (kind, verified, mode), (mode, records)
    # Gx and Rx crossed process boundaries: the PCRF's capture holds CCR-I and AAR/AAA
    pcrf_pcap = tmp_path / "pcrf.pcapng"
    assert tshark.count(pcrf_pcap, "diameter.cmd.code == 272 && diameter.CC-Request-Type == 1") >= 3
    assert tshark.count(pcrf_pcap, "diameter.cmd.code == 265 && diameter.flags.request == 0") >= 3
    assert tshark.count(pcrf_pcap, "_ws.malformed") == 0
