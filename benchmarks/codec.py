"""µs per encode and per decode for each message type (a figure, not a test).

    .venv/bin/python benchmarks/codec.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corenet.codecs import catalogue, diameter, gtpv2c, nas, s1ap  # noqa: E402


def per_call_us(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best * 1e6


def rows(repeat: int) -> list[tuple[str, str, float, float, int]]:
    out = []
    for name, data, direction in catalogue.nas_samples():
        msg = nas.decode(data, direction=direction)
        out.append(("nas", name, per_call_us(lambda m=msg: nas.encode(m), repeat),
                    per_call_us(lambda d=data, r=direction: nas.decode(d, direction=r), repeat), len(data)))
    codecs = {"s1ap": s1ap, "diameter": diameter, "gtpv2": gtpv2c}
    for proto, build in catalogue.BUILDERS.items():
        codec = codecs[proto]
        seen = set()
        for name, msg in build():
            if name in seen:
                continue
            seen.add(name)
            data = codec.encode(msg)
            out.append((proto, name, per_call_us(lambda m=msg, c=codec: c.encode(m), repeat),
                        per_call_us(lambda d=data, c=codec: c.decode(d), repeat), len(data)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    table = rows(args.repeat)
    print(f"{'protocol':9} {'message':42} {'bytes':>6} {'encode µs':>10} {'decode µs':>10}")
    for proto, name, enc, dec, size in table:
        print(f"{proto:9} {name:42} {size:6d} {enc:10.1f} {dec:10.1f}")
    attach = {"InitialUEMessage", "DownlinkNASTransport", "UplinkNASTransport", "AIR", "AIA", "ULR",
              "ULA", "CreateSessionRequest", "CreateSessionResponse", "InitialContextSetupRequest",
              "InitialContextSetupResponse", "ModifyBearerRequest", "ModifyBearerResponse",
              "AttachRequest", "AuthenticationRequest", "AuthenticationResponse",
              "SecurityModeCommand", "SecurityModeComplete", "AttachAccept", "AttachComplete",
              "EMMInformation"}
    total = sum(enc + dec for _, name, enc, dec, _ in table if name in attach)
    print(f"\none attach's messages (encode + decode once each): {total / 1000:.1f} ms of CPU")


if __name__ == "__main__":
    main()
