"""The long differential campaign: for every message type on the fast path, hypothesis draws
messages and damaged bytes and checks that the fast codecs and the pycrate path agree (same
bytes, same Message, same accept/reject and DecodeError cause). The normal test run does a few
dozen examples per type (tests/unit/codecs/fast); this runs as many as asked.

    .venv/bin/python benchmarks/codec_parity.py [--examples 10000] [--protocol diameter|gtpv2|nas|s1ap] [--message ULA]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from corenet.codecs import diameter, gtpv2c, nas, s1ap  # noqa: E402
from tests.unit.codecs.fast import parity  # noqa: E402


def _diameter(name: str) -> Callable[[st.DataObject], None]:
    def run(data: st.DataObject) -> None:
        msg = data.draw(parity.diameter_message(name, valid=data.draw(st.booleans())))
        parity.check_diameter_encode(msg)
        try:
            wire = diameter.encode_pycrate(msg)
        except Exception:
            return
        parity.check_diameter_decode(wire)
        bad = data.draw(parity.mutated_bytes(wire))
        parity.check_diameter_decode(bad)
        parity.check_diameter_decode(parity.with_fixed_length(bad), strict=data.draw(st.booleans()))
    return run


def _gtpv2c(name: str) -> Callable[[st.DataObject], None]:
    def run(data: st.DataObject) -> None:
        msg = data.draw(parity.gtpv2c_message(name, valid=data.draw(st.booleans())))
        parity.check_gtpv2c_encode(msg)
        try:
            wire = gtpv2c.encode_pycrate(msg)
        except Exception:
            return
        parity.check_gtpv2c_decode(wire)
        parity.check_gtpv2c_decode(data.draw(parity.mutated_bytes(wire)))
    return run


def _nas(key: str) -> Callable[[st.DataObject], None]:
    def run(data: st.DataObject) -> None:
        msg = data.draw(parity.nas_message(key, valid=data.draw(st.booleans())))
        parity.check_nas_encode(msg)
        direction = parity.NAS_WIRE[key][2]
        try:
            wire = nas.encode_pycrate(msg)
        except Exception:
            wire = parity.NAS_WIRE[key][1]
        parity.check_nas_decode(wire, direction)
        parity.check_nas_decode(data.draw(parity.mutated_bytes(wire)), direction)
    return run


def _s1ap(name: str) -> Callable[[st.DataObject], None]:
    def run(data: st.DataObject) -> None:
        msg = data.draw(parity.s1ap_message(name, valid=data.draw(st.booleans())))
        parity.check_s1ap_encode(msg)
        try:
            wire = s1ap.encode_pycrate(msg)
        except Exception:
            sample = parity.S1AP_SAMPLES.get(name)
            if sample is None:
                return
            wire = s1ap.encode_pycrate(sample)
        parity.check_s1ap_decode(wire)
        parity.check_s1ap_decode(data.draw(parity.mutated_bytes(wire)))
    return run


CAMPAIGNS: dict[str, tuple[list[str], Callable[[str], Callable[[st.DataObject], None]]]] = {
    "diameter": (sorted(parity.DIAMETER_SAMPLES), _diameter),
    "gtpv2": (sorted(parity.GTPV2C_SAMPLES), _gtpv2c),
    "nas": (sorted(parity.NAS_SAMPLES), _nas),
    "s1ap": (parity.S1AP_NAMES, _s1ap),
}


def campaign(protocol: str, name: str, examples: int) -> float:
    body = CAMPAIGNS[protocol][1](name)
    test: Any = settings(max_examples=examples, deadline=None, database=None,
                         phases=[Phase.generate, Phase.shrink],
                         suppress_health_check=list(HealthCheck))(given(data=st.data())(body))
    t0 = time.perf_counter()
    test()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=10_000, help="per message type")
    ap.add_argument("--protocol", choices=sorted(CAMPAIGNS), action="append")
    ap.add_argument("--message", action="append", help="only these message types")
    args = ap.parse_args()
    for protocol in args.protocol or sorted(CAMPAIGNS):
        for name in CAMPAIGNS[protocol][0]:
            if args.message and name not in args.message:
                continue
            took = campaign(protocol, name, args.examples)
            print(f"{protocol:9} {name:32} {args.examples:7d} examples agree ({took:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
