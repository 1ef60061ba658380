"""sipp (Debian package sip-tester, installed by scripts/setup.sh) as a real SIP peer in tests."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

WAIT = 20.0
SIPP_TIMEOUT = "15s"
SCENARIOS = Path(__file__).with_name("sipp_scenarios")


def scenario(name: str, cwd: Path) -> str:
    """Copy scenario NAME.xml into `cwd` (sipp's working folder); returns its file name."""
    target = cwd / f"{name}.xml"
    target.write_text((SCENARIOS / f"{name}.xml").read_text())
    return target.name


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sipp_bin() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise RuntimeError("sipp is not installed: run scripts/setup.sh as root (sip-tester)")
    return path


async def run_sipp(*args: str, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sipp_bin(), *args, "-nostdin", "-m", "1", "-timeout", SIPP_TIMEOUT, "-timeout_error",
        "-trace_stat", "-stf", "stat.csv", "-trace_err", cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), WAIT + 10)
    return proc.returncode if proc.returncode is not None else -1, out.decode(errors="replace")


def stat_counter(cwd: Path, name: str) -> int:
    """The last value of a column of sipp's -trace_stat CSV (';' separated)."""
    lines = (cwd / "stat.csv").read_text().splitlines()
    header = lines[0].split(";")
    return int(lines[-1].split(";")[header.index(name)])
