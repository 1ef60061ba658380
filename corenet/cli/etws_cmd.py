"""`corenet etws send` (the same as `corenet cbc send`) and `corenet etws matrix`: every rescuing operator x device profile x warning, each run with
real SBc-AP / S1AP / RRC messages (corenet.orchestration.etws_matrix). A Markdown table per rescuer on
stdout, or JSON with --json; --pcap records the SBc-AP and S1AP exchanges."""

from __future__ import annotations

import sys

import click

from corenet.cli.cbc_cmd import send
from corenet.core.errors import ConfigError


@click.group("etws")
def etws() -> None:
    """Earthquake / tsunami warnings (ETWS) and CMAS to roamers."""


# `corenet etws send` is `corenet cbc send`: the running CBC broadcasts the warning
etws.add_command(send)


@etws.command("matrix")
@click.option("--json", "as_json", is_flag=True, help="JSON rows instead of Markdown tables")
@click.option("--pcap", "pcap_path", type=click.Path(dir_okay=False), default=None,
              help="record the SBc-AP and S1AP messages here")
@click.option("--png", "png_path", type=click.Path(dir_okay=False), default=None,
              help="also draw the matrix as a coloured table here")
@click.option("--no-docomo-standard-id", is_flag=True,
              help="docomo sends evacuation information with its own identifier only "
                   "(the situation before the end of fiscal 2025)")
@click.option("--devices", "device_paths", multiple=True, default=["configs/devices"],
              show_default=True, type=click.Path(exists=True),
              help="device profile files or folders")
def matrix(as_json: bool, pcap_path: str | None, png_path: str | None,
           no_docomo_standard_id: bool, device_paths: tuple[str, ...]) -> None:
    """Which device presents which warning on which rescuing network."""
    from corenet.orchestration import etws_matrix as m
    from sim_ue.devices import load_devices

    try:
        devices = load_devices(list(device_paths))
    except ConfigError as exc:
        click.echo(f"corenet etws: {exc}", err=True)
        sys.exit(2)
    rows = m.run_matrix(devices, docomo_standard_id=not no_docomo_standard_id, pcap=pcap_path)
    if png_path is not None:
        m.to_png(rows, png_path)
    click.echo(m.to_json(rows, pcap_path) if as_json else m.to_markdown(rows))
