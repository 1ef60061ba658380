"""`corenet pcaps --out DIR --seed N`: regenerate the reference captures (deterministic per seed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from corenet.pcap.reference import write_reference_capture


@click.command("pcaps")
@click.option("--out", "out_dir", default="pcaps", show_default=True, help="output folder")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--ues", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="run the sample network on this configuration's addresses "
                   "(default: the embedded defaults, whose addresses the committed samples show)")
def pcaps(out_dir: str, seed: int, ues: int, config_path: str | None) -> None:
    """Regenerate the reference captures; the same seed gives byte-identical files.

    reference.pcapng / reference-eea0.pcapng: one of each message corenet encodes;
    sample-full.pcapng (+ sample-full.deciphered.pcapng): a full-roaming demo run with EEA2;
    sample-full-eea0.pcapng: the same run with EEA0. (`corenet demo` writes pcaps/demo.pcapng.)
    """
    from corenet.cli.demo_cmd import with_eea
    from corenet.config.loader import load
    from corenet.config.models import CorenetConfig
    from corenet.orchestration.demo import run_demo

    out = Path(out_dir)
    written = [
        str(write_reference_capture(out / "reference.pcapng", seed=seed, eea=2)),
        str(write_reference_capture(out / "reference-eea0.pcapng", seed=seed, eea=0)),
    ]
    # One UE at a time: the order of messages, and so the file, depends on nothing but the seed.
    base = CorenetConfig() if config_path is None else load(CorenetConfig, config_path)
    for name, cfg in (("sample-full.pcapng", base),
                      ("sample-full-eea0.pcapng", with_eea(base, 0))):
        report = asyncio.run(run_demo(cfg, ues=ues, pcap=str(out / name), seed=seed, concurrency=1))
        if not report.all_attached:
            raise click.ClickException(f"{name}: not every UE attached")
        written.append(str(out / name))
    click.echo(json.dumps({"seed": seed, "pcaps": written}))
