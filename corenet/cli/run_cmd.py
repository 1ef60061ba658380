"""`corenet run [NF ...] --config FILE [--check]`: network functions as servers, in one process
(NF: hss, mvno-hss, dra, home-pgw, pcrf, sgw-pgw, psap, ims, mme, cbc; none named: all but the
CBC; `dra`: the configuration's Diameter relay agents)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

import click
from pydantic import BaseModel

from corenet.cli.args import cannot_listen
from corenet.cli.ctl_cmd import EndpointType
from corenet.config.loader import load
from corenet.config.models import CorenetConfig, Endpoint
from corenet.core.errors import ConfigError
from corenet.core.logs import LOG_FORMATS, setup_logging
from corenet.pcap.wirelog import WireLog
from corenet.runtime import loop as event_loop
from corenet.runtime.supervisor import NETWORK_FUNCTIONS, OPTIONAL_FUNCTIONS, Runtime
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
@click.argument("nfs", nargs=-1, type=click.Choice(NETWORK_FUNCTIONS + OPTIONAL_FUNCTIONS))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML configuration (default: embedded defaults)")
@click.option("--check", is_flag=True, help="validate the configuration and exit")
@click.option("--pcap", "pcap_path", default=None, help="capture file (default: from config)")
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]),
              show_default=True, help="debug adds every message in hex (logger corenet.wire)")
@click.option("--log-format", default="human", type=click.Choice(LOG_FORMATS), show_default=True,
              help="json: one object per line with time, level, nf, event and its fields")
@click.option("--metrics", "metrics_at", default=None, type=EndpointType(), metavar="HOST:PORT",
              help="serve Prometheus metrics at http://HOST:PORT/metrics")
def run(nfs: tuple[str, ...], config_path: str | None, check: bool, pcap_path: str | None,
        log_level: str, log_format: str, metrics_at: tuple[str, int] | None) -> None:
    """Run network functions in this process (all of them when none is named) until interrupted."""
    names = run_order(nfs)
    try:
        cfg = load_config(config_path)
        check_config(cfg, names)
    except ConfigError as exc:
        click.echo(f"corenet run: {exc}", err=True)
        sys.exit(2)
    if check:
        from corenet.runtime.addresses import check_addresses

        problems = check_addresses(cfg, names)
        for line in problems:
            click.echo(f"corenet run: {config_path or '(embedded defaults)'}: {line}", err=True)
        if problems:
            sys.exit(2)
        click.echo(json.dumps({"config": config_path or "(embedded defaults)", "ok": True,
                               "network_functions": list(names)}))
        return
    repeats = setup_logging(log_level, log_format=log_format)
    observers: tuple[Any, ...] = (WireLog(),) if log_level == "debug" else ()
    on_event = None
    stop_metrics = None
    if metrics_at is not None:
        from corenet.metrics import Metrics, serve

        metrics = Metrics()
        try:
            stop_metrics = serve(metrics, *metrics_at)
        except OSError as exc:
            click.echo(f"corenet run: cannot serve metrics on {metrics_at[0]}:{metrics_at[1]} "
                       f"({exc.strerror or exc}; give --metrics a free address)", err=True)
            sys.exit(1)
        observers += (metrics.tap,)
        on_event = metrics.on_event
    runtime = Runtime(cfg, names=names, pcap_path=pcap_path if pcap_path is not None else cfg.pcap,
                      observers=observers, on_event=on_event, pcrf_elsewhere=True)
    try:
        event_loop.run(_serve(runtime))  # uvloop when installed
    except BindError as exc:
        exc.fields = exc.fields or tuple(endpoint_fields(cfg, exc.host, exc.port))
        cannot_listen("corenet run", exc)
    finally:
        if stop_metrics is not None:
            stop_metrics()
        repeats.flush()


def run_order(nfs: tuple[str, ...]) -> tuple[str, ...]:
    """The functions named, each once, in the order they start (a function's servers are up
    before those that connect to them); none named: every network function."""
    if not nfs:
        return NETWORK_FUNCTIONS
    order = NETWORK_FUNCTIONS + OPTIONAL_FUNCTIONS
    return tuple(sorted(set(nfs), key=order.index))


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
