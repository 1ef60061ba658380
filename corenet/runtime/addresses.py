"""Listening addresses of the network functions a `corenet run` would start, and whether this
host can listen on them — what `corenet run --check` reports besides the fields themselves.

`listeners(cfg, names)` lists every socket the functions bind, with the configuration field
that names it; `check_addresses(cfg, names)` returns one line per problem:

- an address given as text that is not an IP address (the Endpoint fields are checked when the
  file is read; `sgw_pgw.s1u_address`, `sgw_pgw.s5_address`, `mme.pgw_s5s8_address` here);
- two listeners on the same protocol, address and port;
- an address that is not one of this host's (EADDRNOTAVAIL), or a port already taken
  (EADDRINUSE), found by binding a probe socket and closing it at once.

SCTP listeners are probed with TCP: the SCTP fallback transport listens on TCP, and a kernel
SCTP socket needs an address of this host just the same.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from corenet.config.models import CorenetConfig, Endpoint

Protocol = Literal["tcp", "udp", "sctp"]


@dataclass(frozen=True)
class Listener:
    field: str  # dotted configuration field, e.g. "mme.s1ap"
    protocol: Protocol
    host: str
    port: int  # 0: a free port chosen at start (never busy)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.protocol} {host}:{self.port}"


def _on(field: str, ep: Endpoint, *protocols: Protocol) -> list[Listener]:
    return [Listener(field, p, ep.host, ep.port) for p in protocols]


def listeners(cfg: CorenetConfig, names: Iterable[str]) -> list[Listener]:
    """The sockets the network functions `names` listen on (control ports 0 are off)."""
    wanted = set(names)
    out: list[Listener] = []
    if "hss" in wanted:
        out += _on("hss.listen", cfg.hss.listen, cfg.hss.transport)
        # the HSS's control endpoint serves only when the HSS runs alone
        if cfg.hss.control.port and wanted == {"hss"}:
            out += _on("hss.control", cfg.hss.control, "tcp")
    if "mme" in wanted:
        out += _on("mme.s1ap", cfg.mme.s1ap, "sctp") + _on("mme.s11_local", cfg.mme.s11_local, "udp")
        if cfg.mme.control.port:
            out += _on("mme.control", cfg.mme.control, "tcp")
    if "sgw-pgw" in wanted:
        out += _on("sgw_pgw.s11", cfg.sgw_pgw.s11, "udp")
    if "pcrf" in wanted and cfg.pcrf is not None:
        out += _on("pcrf.listen", cfg.pcrf.listen, "tcp")
    if "ims" in wanted:
        # RFC 3261 §18: each SIP element listens on UDP and TCP
        for name in ("pcscf", "ecscf", "home"):
            out += _on(f"ims.{name}.listen", getattr(cfg.ims, name).listen, "udp", "tcp")
    if "psap" in wanted:
        out += _on("psap.listen", cfg.psap.listen, "udp", "tcp")
    if "mvno-hss" in wanted:
        for i, hss in enumerate(cfg.mvno_hss):
            out += _on(f"mvno_hss[{i}].listen", hss.listen, hss.transport)
    if "home-pgw" in wanted:
        for i, pgw in enumerate(cfg.home_pgw):
            out += _on(f"home_pgw[{i}].s11", pgw.s11, "udp")
    if "dra" in wanted:
        for i, dra in enumerate(cfg.dra):
            out += _on(f"dra[{i}].listen", dra.listen, "tcp")
    if "mme" in wanted and cfg.mme.sbcap is not None:
        out += _on("mme.sbcap", cfg.mme.sbcap, "sctp")
    if "cbc" in wanted and cfg.cbc.control.port:
        out += _on("cbc.control", cfg.cbc.control, "tcp")
    return out


def _text_addresses(cfg: CorenetConfig, names: set[str]) -> list[tuple[str, str]]:
    out = []
    if "sgw-pgw" in names:
        out += [("sgw_pgw.s1u_address", cfg.sgw_pgw.s1u_address),
                ("sgw_pgw.s5_address", cfg.sgw_pgw.s5_address)]
    if "mme" in names:
        out += [("mme.pgw_s5s8_address", cfg.mme.pgw_s5s8_address)]
    return out


def probe(listener: Listener) -> str | None:
    """Why this host cannot listen there (None when it can): bind a probe socket, close it."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(listener.host).version == 6 \
            else socket.AF_INET
    except ValueError:
        return "not an IP address"
    kind = socket.SOCK_DGRAM if listener.protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            # the servers set SO_REUSEADDR too: a port in TIME_WAIT is not busy for them
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((listener.host, listener.port))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return "not an address of this host"
            if exc.errno == errno.EADDRINUSE:
                return "already in use"
            return exc.strerror or str(exc)
    return None


def check_addresses(cfg: CorenetConfig, names: Iterable[str], *,
                    bind: bool = True) -> list[str]:
    """One line per address problem of the network functions `names` (empty: all good);
    `bind=False` skips the probe sockets (a configuration for another host)."""
    wanted = set(names)
    problems = []
    for field, text in _text_addresses(cfg, wanted):
        try:
            ipaddress.ip_address(text)
        except ValueError:
            problems.append(f"{field}: {text!r} is not an IP address")
    seen: dict[tuple[str, str, int], Listener] = {}
    socks = listeners(cfg, wanted)
    for item in socks:
        # SCTP over the TCP fallback shares the TCP port space
        key = ("tcp" if item.protocol == "sctp" else item.protocol,
               str(ipaddress.ip_address(item.host)), item.port)
        if item.port and key in seen:
            problems.append(f"{seen[key].field} and {item.field} both listen on {item}")
        seen.setdefault(key, item)
    if bind:
        for item in socks:
            why = probe(item)
            if why is not None:
                problems.append(f"{item.field}: cannot listen on {item}: {why}")
    return problems
