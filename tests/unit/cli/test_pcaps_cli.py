"""`corenet pcaps` regenerates the sample captures; the same seed gives byte-identical files."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests import tshark
from tests.cli_helpers import run_json
from tests.e2e.network import config


def _generate(out: Path, seed: int) -> dict[str, bytes]:
    # the sample network on a loopback block of this test's own, not the default addresses
    cfg = out.parent / "network.yaml"
    if not cfg.exists():
        cfg.write_text(yaml.safe_dump(config(out.parent).model_dump(mode="json")))
    rc, report = run_json("corenet", "pcaps", "--out", str(out), "--seed", str(seed), "--ues", "3",
                          "--config", str(cfg))
    assert rc == 0
    return {Path(p).name: Path(p).read_bytes() for p in report["pcaps"]}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = _generate(tmp_path / "a", 1)
    again = _generate(tmp_path / "b", 1)
    other = _generate(tmp_path / "c", 2)
    assert set(first) == {"reference.pcapng", "reference-eea0.pcapng", "sample-full.pcapng", "sample-full-eea0.pcapng"}
    assert first == again
    assert all(first[name] != other[name] for name in first)
    assert (tmp_path / "a" / "sample-full.deciphered.pcapng").exists()


def test_eea0_demo_capture_reads_without_keys(tmp_path: Path) -> None:
    _generate(tmp_path, 1)
    # Wireshark's default (nas-eps.null_decipher TRUE) reads NAS "ciphered" with EEA0.
    emm = tshark.values(tmp_path / "sample-full-eea0.pcapng", "nas_eps.nas_msg_emm_type",
                        opts=("-o", "nas-eps.null_decipher:TRUE"))
    assert emm.count("0x42") == 3 and emm.count("0x61") == 3  # Attach Accept, EMM Information
    ciphered = tshark.values(tmp_path / "sample-full.pcapng", "nas_eps.nas_msg_emm_type")
    assert "0x42" not in ciphered  # EEA2: Wireshark cannot see inside without the keys
    plain = tshark.values(tmp_path / "sample-full.deciphered.pcapng", "nas_eps.nas_msg_emm_type")
    assert plain.count("0x42") == 3
    comments = tshark.values(tmp_path / "sample-full.deciphered.pcapng", "frame.comment")
    assert comments and all("deciphered" in c for c in comments)
