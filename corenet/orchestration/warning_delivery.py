"""A public warning sent to a running network and what each simulated UE made of it: the
rescuer's CBC sends SBc-AP Write-Replace Warning (TS 29.168 §4.4.4) to the MME, which forwards
S1AP Write-Replace Warning (TS 36.413 §8.13) to the eNBs of the area; the eNBs broadcast SIB10 /
SIB11 or SIB12 and page with etws-Indication / cmas-Indication (TS 36.331 §5.3.10.9 -
§5.3.10.11); each UE decides from its device profile whether it presents it
(sim_ue.pws.presentation). Used by `corenet demo --etws` and by drill scenarios.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from corenet.config.models import CorenetConfig, Endpoint
from corenet.nf.cbc.service import CbcService
from corenet.nf.cbc.warnings import WarningKind
from corenet.runtime.supervisor import Runtime
from sim_ue.runner import Population
from sim_ue.ue import Ue

KINDS = tuple(k.value for k in WarningKind)
# The Japanese operators' PLMNs (MCC 440), for a rescuer's identifiers per warning
# (corenet.nf.cbc.warnings.rescuers)
RESCUER_OF_PLMN = {"44010": "docomo", "44011": "rakuten", "44020": "softbank",
                   "44050": "kddi", "44051": "kddi"}
INDICATION = "Write-Replace-Warning-Indication"


@dataclass(frozen=True)
class Delivery:
    """One UE's outcome of one warning (all its message identifiers)."""

    warning: str
    message_identifiers: list[int]
    received: bool
    displayed: bool
    sounded: bool
    text: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def send_warning(runtime: Runtime, cfg: CorenetConfig, population: Population,
                       kind: str, tacs: Sequence[int] = (), timeout: float = 10.0,
                       rescuer: str | None = None) -> list[Delivery]:
    """Broadcast `kind` once (Number of Broadcasts 1, no repetition: TS 36.413 §9.2.1.48 /
    §9.2.1.49) to the tracking areas `tacs` (none: every cell of the MME), from a CBC of the
    rescuer `rescuer` (default: the configured one) connected to the runtime's MME; each
    member's outcome, in the population's order.

    The CBC records nothing itself: the MME's capture tap records the SBc-AP it receives
    from this peer outside its process, and what it answers, once each."""
    listen = runtime.services["mme"].sbc.address
    if listen is None:
        raise ValueError("the MME serves no SBc-AP (mme.sbcap)")
    cbc_cfg = cfg.cbc.model_copy(update={
        "mmes": [Endpoint(host=listen[0], port=listen[1])], "sctp": cfg.mme.sctp,
        "control": Endpoint(host=cfg.cbc.control.host, port=0),
        **({"rescuer": rescuer} if rescuer else {})})
    for m in population.members:
        m.ue.warnings.standard_evacuation_id = cbc_cfg.evacuation_id
        m.ue.warnings.docomo_evacuation_id = cbc_cfg.docomo_evacuation_id
    cbc = CbcService(cbc_cfg)
    await cbc.start(wait_s=timeout)
    try:
        if not cbc.connected():
            reason = f"not sent: the CBC could not reach the MME at {listen[0]}:{listen[1]}"
            return [Delivery(kind, [], False, False, False, None, reason)
                    for _ in population.members]
        requests = cbc.requests_for(WarningKind(kind), tacs, repetition_s=0, broadcasts=1)
        await cbc.send(requests, timeout)
        # TS 23.041 §9.1.3.5: the MME indicates where the broadcast was scheduled once the
        # eNBs answered; the UEs camped there have read the SIBs by then
        await cbc.wait_indications(INDICATION, len(requests), timeout)
    finally:
        await cbc.stop()
    mids = [int(r.fields["Message-Identifier"]) for r in requests]
    return [delivery(m.ue, kind, mids) for m in population.members]


def delivery(ue: Ue, kind: str, mids: list[int]) -> Delivery:
    """What `ue` received of the message identifiers `mids` and whether it presented it."""
    got = [w for (mid, _), w in ue.warnings.warnings.items() if mid in mids]
    shown = [w for w in got if w.displayed]
    best = shown[0] if shown else (got[0] if got else None)
    return Delivery(warning=kind, message_identifiers=mids, received=bool(got),
                    displayed=bool(shown), sounded=any(w.sounded for w in got),
                    text=None if best is None else best.text,
                    reason="not received" if best is None else best.reason)


def summary(deliveries: Sequence[Delivery]) -> dict[str, int]:
    """Counts for a report: UEs, and of them those that received, displayed, sounded."""
    return {"ues": len(deliveries), "received": sum(d.received for d in deliveries),
            "displayed": sum(d.displayed for d in deliveries),
            "sounded": sum(d.sounded for d in deliveries)}
