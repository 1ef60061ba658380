"""scapy's layers load with the first capture, not with the code that may write one."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import io, sys
import corenet.orchestration.storm_worker, corenet.nf.mme.service, corenet.nf.sgw_pgw.service
import corenet.nf.hss.service, sim_ue.runner, corenet.pcap
before = sorted(m for m in sys.modules if m.startswith("scapy"))
from corenet.pcap.writer import PcapWriter
PcapWriter(io.BytesIO())
print(len(before), "scapy.layers.sctp" in sys.modules, "scapy.layers.inet6" in sys.modules)
"""


def test_network_functions_and_workers_import_no_scapy_until_a_writer_opens() -> None:
    """A storm worker, the MME, S/P-GW and HSS services and a UE shard import no scapy (about
    40 MiB per process); a `PcapWriter` loads every layer it frames with when it opens."""
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["0", "True", "True"], out.stderr


def test_a_layer_is_scapys_own_class() -> None:
    from scapy.layers.inet import UDP

    from corenet.pcap import layers

    assert layers.UDP is UDP
    with pytest.raises(AttributeError, match="NotALayer"):
        layers.NotALayer  # noqa: B018
