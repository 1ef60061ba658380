"""Read captures with the real tshark (installed by scripts/setup.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

NAS_OPTS = ("-o", "nas-eps.null_decipher:FALSE")


def tshark_bin() -> str:
    path = shutil.which("tshark")
    if path is None:
        raise RuntimeError("tshark is not installed: run scripts/setup.sh as root")
    return path


def fields(pcap: str | Path, *names: str, display_filter: str | None = None,
           opts: tuple[str, ...] = NAS_OPTS) -> list[dict[str, list[str]]]:
    """One dict per frame: field name -> all its values in that frame (maybe empty)."""
    cmd = [tshark_bin(), "-r", str(pcap), *opts, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=|"]
    for n in names:
        cmd += ["-e", n]
    if display_filter:
        cmd += ["-Y", display_filter]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    rows = []
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(names) - len(cols))
        rows.append({n: [v for v in c.split("|") if v != ""] for n, c in zip(names, cols, strict=True)})
    return rows


def values(pcap: str | Path, name: str, display_filter: str | None = None,
           opts: tuple[str, ...] = NAS_OPTS) -> list[str]:
    return [v for row in fields(pcap, name, display_filter=display_filter, opts=opts) for v in row[name]]


def expert_problems(pcap: str | Path, opts: tuple[str, ...] = NAS_OPTS) -> str:
    """tshark's expert summary at warning level and above; empty when clean."""
    cmd = [tshark_bin(), "-r", str(pcap), *opts, "-q", "-z", "expert,warn"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    return "\n".join(line for line in out.splitlines() if line.strip())


def count(pcap: str | Path, display_filter: str, opts: tuple[str, ...] = NAS_OPTS) -> int:
    cmd = [tshark_bin(), "-r", str(pcap), *opts, "-Y", display_filter, "-T", "fields", "-e", "frame.number"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    return len(out.split())


# No malformed frame and no expert warning, except LTE RRC's own warning on every Paging with
# etws-Indication or cmas-Indication (Wireshark flags the indication itself)
CLEAN_WITH_BROADCASTS = ("_ws.malformed || (_ws.expert.severity >= warning && "
                         "!(lte-rrc.etws_Indication || lte-rrc.cmas_Indication_r9))")
