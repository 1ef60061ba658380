"""Container health check: is the network function listening yet?

    python -m corenet.runtime.healthcheck NF --config FILE

Run inside the function's container (the compose file's `healthcheck`): exit 0 when every
socket the function listens on (`corenet.runtime.addresses.listeners`) is bound, so that a
probe bind of the same address and port fails with EADDRINUSE; exit 1 with one line naming the
first one not bound yet. SCTP listeners are left out (a kernel SCTP socket does not show on a
TCP probe): the MME binds its control port only after S1AP listens (MmeService.start), and
that port is checked.
"""

from __future__ import annotations

import sys

from corenet.config.loader import load
from corenet.config.models import CorenetConfig
from corenet.core.errors import ConfigError
from corenet.runtime.addresses import Listener, listeners, probe
from corenet.runtime.supervisor import NETWORK_FUNCTIONS


def not_listening(cfg: CorenetConfig, nf: str) -> list[Listener]:
    """The listeners of `nf` that nothing on this host has bound yet."""
    return [item for item in listeners(cfg, [nf])
            if item.protocol != "sctp" and item.port and probe(item) != "already in use"]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    usage = f"usage: healthcheck {{{'|'.join(NETWORK_FUNCTIONS)}}} [--config FILE]"
    config = None
    if "--config" in args:
        i = args.index("--config")
        if i + 1 >= len(args):
            print(usage, file=sys.stderr)
            return 2
        config = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1 or args[0] not in NETWORK_FUNCTIONS:
        print(usage, file=sys.stderr)
        return 2
    try:
        cfg = load(CorenetConfig, config) if config else CorenetConfig()
    except ConfigError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 2
    waiting = not_listening(cfg, args[0])
    if waiting:
        first = waiting[0]
        print(f"{args[0]}: not listening yet on {first} ({first.field})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
