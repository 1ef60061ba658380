"""`corenet pcaps --out DIR --seed N`: regenerate the reference captures (deterministic per seed)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from corenet.pcap.reference import write_reference_capture


@click.command("pcaps")
@click.option("--out", "out_dir", default="pcaps", show_default=True, help="output folder")
@click.option("--seed", default=1, show_default=True, type=int)
def pcaps(out_dir: str, seed: int) -> None:
    """Write pcaps/reference.pcapng (one of each message, EEA2) and reference-eea0.pcapng."""
    out = Path(out_dir)
    written = [
        str(write_reference_capture(out / "reference.pcapng", seed=seed, eea=2)),
        str(write_reference_capture(out / "reference-eea0.pcapng", seed=seed, eea=0)),
    ]
    click.echo(json.dumps({"seed": seed, "pcaps": written}))
