"""Policy and charging control at the P-GW (PCEF), as the Gx side and the bearer side share it.

The PCRF installs and removes PCC rules over Gx (TS 29.212 §4.5.2 Provisioning of PCC rules,
Charging-Rule-Install / Charging-Rule-Remove); the P-GW binds each installed rule to a bearer
with the rule's QCI and ARP (TS 29.212 §4.5.2 bearer binding, TS 23.203 §6.1.1.4), creating a
dedicated bearer when none fits (TS 23.401 §5.4.1) and deleting it when its last rule goes
(TS 23.401 §5.4.4.1). The outcome is reported back to the PCRF (TS 29.212 §4.5.12
Charging-Rule-Report with PCC-Rule-Status).

These are the events the Gx adapter gives `SgwPgwCore.handle` and the action it gets back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class PccRule:
    """One dynamic PCC rule (TS 29.212 §5.3.4 Charging-Rule-Definition).

    `flows` are Flow-Description IPFilterRules as TS 29.212 §5.3.8 writes them, e.g.
    ``permit out 17 from 10.45.0.2 50000 to 10.46.0.7 40000``; "out" is downlink, and the
    uplink filter of the same flow is the one with source and destination swapped.
    """

    name: str
    qci: int  # TS 29.212 §5.3.17 QoS-Class-Identifier, 1 for conversational voice
    arp_priority: int = 2  # TS 29.212 §5.3.45 Priority-Level, 1 (highest) .. 15
    preemption_capability: bool = True  # §5.3.46: may pre-empt (value 0 ENABLED)
    preemption_vulnerability: bool = False  # §5.3.47: may not be pre-empted
    mbr_ul_bps: int = 0  # §5.3.15 Max-Requested-Bandwidth-UL
    mbr_dl_bps: int = 0
    gbr_ul_bps: int = 0  # §5.3.25 Guaranteed-Bitrate-UL
    gbr_dl_bps: int = 0
    flows: tuple[str, ...] = ()
    precedence: int = 100  # §5.3.5 Precedence, lower wins


@dataclass(frozen=True)
class PccInstall:
    """Install (or modify) `rules` on the IP-CAN session of the UE holding `ue_address`."""

    ue_address: str
    rules: tuple[PccRule, ...]


@dataclass(frozen=True)
class PccRemove:
    """Remove the rules named `names` from the IP-CAN session of `ue_address`."""

    ue_address: str
    names: tuple[str, ...]


class PccRuleStatus(enum.Enum):
    """TS 29.212 §5.3.19 PCC-Rule-Status."""

    ACTIVE = 0
    INACTIVE = 1
    TEMPORARILY_INACTIVE = 2


@dataclass(frozen=True)
class PccReport:
    """What became of `names` (TS 29.212 §5.3.18 Charging-Rule-Report): ACTIVE once the
    dedicated bearer exists, INACTIVE with `failure_code` (§5.3.38 Rule-Failure-Code, e.g.
    4 GW/PCEF_MALFUNCTION, 10 RESOURCE_ALLOCATION_FAILURE) when it could not be created, or
    when the bearer was released by the network or the UE."""

    ue_address: str
    names: tuple[str, ...]
    status: PccRuleStatus
    failure_code: int | None = None
    ebi: int | None = None
