"""`corenet run [hss|dra|sgw-pgw|psap|ims|mme] --config FILE [--check]`: network functions as
servers (`dra`: the configuration's Diameter relay agents)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys

import click
from pydantic import BaseModel

from corenet.config.loader import load
from corenet.config.models import CorenetConfig, Endpoint
from corenet.core.errors import ConfigError
from corenet.core.logs import setup_logging
from corenet.runtime.supervisor import NETWORK_FUNCTIONS, Runtime
from corenet.transport.base import BindError


def load_config(path: str | None) -> CorenetConfig:
    """The file's settings, or the embedded defaults when no file is named."""
    if path is None:
        return CorenetConfig()
    return load(CorenetConfig, path)


def check_config(cfg: CorenetConfig, names: tuple[str, ...]) -> None:
    """Everything a start would read besides the file itself (subscribers of the HSS)."""
    if "hss" in names and cfg.hss.subscribers_file:
        from corenet.config.subscribers import load_subscribers

        load_subscribers(cfg.hss.subscribers_file)


@click.command("run")
@click.argument("nf", required=False, type=click.Choice(NETWORK_FUNCTIONS))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML configuration (default: embedded defaults)")
@click.option("--check", is_flag=True, help="validate the configuration and exit")
@click.option("--pcap", "pcap_path", default=None, help="capture file (default: from config)")
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]))
def run(nf: str | None, config_path: str | None, check: bool, pcap_path: str | None, log_level: str) -> None:
    """Run one network function (or all of them) until interrupted."""
    names = (nf,) if nf else NETWORK_FUNCTIONS
    try:
        cfg = load_config(config_path)
        check_config(cfg, names)
    except ConfigError as exc:
        click.echo(f"corenet run: {exc}", err=True)
        sys.exit(2)
    if check:
        click.echo(json.dumps({"config": config_path or "(embedded defaults)", "ok": True,
                               "network_functions": list(names)}))
        return
    repeats = setup_logging(log_level)
    runtime = Runtime(cfg, names=names, pcap_path=pcap_path if pcap_path is not None else cfg.pcap)
    try:
        asyncio.run(_serve(runtime))
    except BindError as exc:
        fields = ", ".join(endpoint_fields(cfg, exc.host, exc.port)) or "its address"
        click.echo(f"corenet run: cannot listen on {exc} (set {fields} in the configuration "
                   "to a free address)", err=True)
        sys.exit(1)
    finally:
        repeats.flush()


def endpoint_fields(model: BaseModel, host: str, port: int, prefix: str = "") -> list[str]:
    """The dotted names of the configuration's endpoints that are host:port."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, Endpoint):
            if value.host == host and value.port == port:
                found.append(path)
        elif isinstance(value, BaseModel):
            found += endpoint_fields(value, host, port, path + ".")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += endpoint_fields(item, host, port, f"{path}[{i}].")
    return found


async def _serve(runtime: Runtime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    try:
        await stop.wait()
    finally:
        await runtime.stop()
