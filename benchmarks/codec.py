"""µs per encode and per decode for each message type, for both codec levels (a figure, not a
test). The ratio column is pycrate's (encode + decode) time over the fast level's.

    .venv/bin/python benchmarks/codec.py [--repeat N] [--codec both|fast|pycrate]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corenet.codecs import catalogue, diameter, gtpv2c, nas, s1ap, selection  # noqa: E402

ATTACH = {"InitialUEMessage", "DownlinkNASTransport", "UplinkNASTransport", "AIR", "AIA", "ULR",
          "ULA", "CreateSessionRequest", "CreateSessionResponse", "InitialContextSetupRequest",
          "InitialContextSetupResponse", "ModifyBearerRequest", "ModifyBearerResponse",
          "AttachRequest", "AuthenticationRequest", "AuthenticationResponse",
          "SecurityModeCommand", "SecurityModeComplete", "AttachAccept", "AttachComplete",
          "EMMInformation"}


def per_call_us(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best * 1e6


def cases() -> list[tuple[str, str, Callable[[], object], Callable[[], object], int]]:
    """(protocol, message, encode call, decode call, octets) per message type."""
    out: list[tuple[str, str, Callable[[], object], Callable[[], object], int]] = []
    for name, data, direction in catalogue.nas_samples():
        msg = nas.decode(data, direction=direction)
        out.append(("nas", name, lambda m=msg: nas.encode(m),
                    lambda d=data, r=direction: nas.decode(d, direction=r), len(data)))
    codecs = {"s1ap": s1ap, "diameter": diameter, "gtpv2": gtpv2c}
    for proto, build in catalogue.BUILDERS.items():
        codec = codecs[proto]
        seen = set()
        for name, msg in build():
            if name in seen:
                continue
            seen.add(name)
            data = codec.encode(msg)
            out.append((proto, name, lambda m=msg, c=codec: c.encode(m),
                        lambda d=data, c=codec: c.decode(d), len(data)))
    return out


def rows(repeat: int, level: str) -> list[tuple[str, str, float, float, int]]:
    selection.set_codec(level)
    return [(proto, name, per_call_us(enc, repeat), per_call_us(dec, repeat), size)
            for proto, name, enc, dec, size in cases()]


def _attach_ms(table: list[tuple[str, str, float, float, int]]) -> float:
    return sum(enc + dec for _, name, enc, dec, _ in table if name in ATTACH) / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--codec", choices=["both", "fast", "pycrate"], default="both")
    args = ap.parse_args()
    levels = ["pycrate", "fast"] if args.codec == "both" else [args.codec]
    tables = {level: rows(args.repeat, level) for level in levels}
    head = f"{'protocol':9} {'message':42} {'bytes':>6}"
    for level in levels:
        head += f" {level + ' enc µs':>16} {level + ' dec µs':>16}"
    if len(levels) == 2:
        head += f" {'ratio':>6}"
    print(head)
    for i, (proto, name, _, _, size) in enumerate(tables[levels[0]]):
        line = f"{proto:9} {name:42} {size:6d}"
        for level in levels:
            _, _, enc, dec, _ = tables[level][i]
            line += f" {enc:16.1f} {dec:16.1f}"
        if len(levels) == 2:
            slow, fast = tables["pycrate"][i], tables["fast"][i]
            line += f" {(slow[2] + slow[3]) / (fast[2] + fast[3]):6.1f}"
        print(line)
    print()
    for level in levels:
        print(f"one attach's messages (encode + decode once each), {level}: "
              f"{_attach_ms(tables[level]):.1f} ms of CPU")


if __name__ == "__main__":
    main()
