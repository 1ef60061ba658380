"""scapy's layers for the captures, imported on first use.

Importing them costs a process about 40 MiB and half a second; a network function, a storm
worker or a UE shard that writes no capture never needs them. `PcapWriter` loads them when it
opens, so no procedure pays the import halfway through.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE = {
    "IP": "scapy.layers.inet", "TCP": "scapy.layers.inet", "UDP": "scapy.layers.inet",
    "IPv6": "scapy.layers.inet6", "Raw": "scapy.packet",
    **{name: "scapy.layers.sctp" for name in (
        "SCTP", "SCTPChunkCookieAck", "SCTPChunkCookieEcho", "SCTPChunkData", "SCTPChunkInit",
        "SCTPChunkInitAck", "SCTPChunkParamStateCookie", "SCTPChunkSACK", "SCTPChunkShutdown",
        "SCTPChunkShutdownAck", "SCTPChunkShutdownComplete")},
}


def __getattr__(name: str) -> Any:
    """PEP 562: a layer's class, imported on first access and kept as a module global."""
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def load() -> None:
    """Import every layer now."""
    for name in _MODULE:
        __getattr__(name)
