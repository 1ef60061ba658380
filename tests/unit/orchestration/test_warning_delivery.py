"""A warning the CBC cannot deliver (no SBc-AP association with the MME, TS 29.168 §4.1.3) is
reported per UE with its reason instead of stopping the demo or the drill."""

from __future__ import annotations

import socket
from types import SimpleNamespace

from corenet.config.models import CorenetConfig
from corenet.orchestration.warning_delivery import send_warning


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_mme_reports_not_sent() -> None:
    port = _closed_port()
    runtime = SimpleNamespace(services={"mme": SimpleNamespace(
        sbc=SimpleNamespace(address=("127.0.0.1", port)))})
    population = SimpleNamespace(members=[SimpleNamespace(ue=SimpleNamespace(
        warnings=SimpleNamespace())) for _ in range(2)])
    cfg = CorenetConfig().model_copy(update={"mme": CorenetConfig().mme.model_copy(
        update={"sctp": "fallback"})})
    out = await send_warning(runtime, cfg, population, "tsunami", timeout=0.3)  # type: ignore[arg-type]
    assert [(d.received, d.message_identifiers) for d in out] == [(False, [])] * 2
    assert out[0].reason == f"not sent: the CBC could not reach the MME at 127.0.0.1:{port}"
