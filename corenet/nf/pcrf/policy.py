"""From the service information of an Rx AAR to PCC rules: a pure decision, TS 29.213 §6.3.

| Media-Component-Description              | PCC rule                                        |
|------------------------------------------|-------------------------------------------------|
| Flow-Usage AF_SIGNALLING in every flow   | none: the default bearer carries SIP signalling  |
| Flow-Status REMOVED (3)                  | none                                            |
| Media-Type AUDIO (0)                     | QCI 1, GBR = MBR = Max-Requested-Bandwidth      |
| other media types                        | QCI 2 (video) / 9 (data), no GBR                |
| with Service-URN "urn:service:sos..."    | the emergency ARP (TS 23.203 §6.1.7.2, §6.2.1)  |

TS 29.213 §6.3 (Table 6.3.1): the authorized QoS of a media component is its
Max-Requested-Bandwidth-UL/DL, and conversational audio maps to QCI 1; for a GBR QCI the PCRF
sets the Guaranteed Bitrate to the authorized maximum. The flows are the media component's
Flow-Descriptions (TS 29.214 §5.3.7: "permit out" is downlink, "permit in" uplink), turned into
the Gx form (TS 29.212 §5.3.8: both "permit out", the uplink one with the UE as source).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs import pcc as codec
from corenet.nf.sgw_pgw.pcc import PccRule

FLOW_STATUS_REMOVED = 3  # TS 29.214 §5.3.11
QCI_BY_MEDIA = {0: 1, 1: 2}  # TS 29.213 Table 6.3.1: audio -> 1, video -> 2; data -> 9
QCI_DEFAULT = 9


@dataclass(frozen=True)
class Arp:
    priority: int
    preemption_capability: bool
    preemption_vulnerability: bool


def is_emergency(service_urn: Any) -> bool:
    """TS 29.214 §5.3.14 Service-URN: "sos" and its sub-services (RFC 5031)."""
    text = service_urn.decode(errors="replace") if isinstance(service_urn, bytes) else ""
    return text.lower().startswith(("sos", "urn:service:sos"))


def gx_flow(description: str) -> tuple[str, bool]:
    """A Flow-Description of Rx in the Gx form: ("permit out ...", uplink?)."""
    words = description.split()
    if len(words) < 3 or words[0] != "permit" or words[1] not in ("in", "out"):
        raise ValueError(f"not an IPFilterRule of TS 29.214 §5.3.7: {description!r}")
    if words[1] == "out":
        return description, False
    return " ".join(["permit", "out", *words[2:]]), True


def rules_for(rx_name: str, components: Iterable[Any], arp: Arp) -> list[PccRule]:
    """One PCC rule per media component of the AAR that is not signalling."""
    rules = []
    for mcd in components:
        if dia.avp(mcd, "Flow-Status") == FLOW_STATUS_REMOVED:
            continue
        subs = [s for s in dia.avp_all(mcd, "Media-Sub-Component")
                if dia.avp(s, "Flow-Usage") != codec.FLOW_USAGE_AF_SIGNALLING]
        down: list[str] = []
        up: list[str] = []
        for sub in subs:
            for desc in dia.avp_all(sub, "Flow-Description"):
                flow, uplink = gx_flow(str(desc))
                (up if uplink else down).append(flow)
        if not down and not up:
            continue
        media = dia.avp(mcd, "Media-Type", default=0)
        qci = QCI_BY_MEDIA.get(int(media), QCI_DEFAULT)
        mbr_ul = int(dia.avp(mcd, "Max-Requested-Bandwidth-UL", default=0))
        mbr_dl = int(dia.avp(mcd, "Max-Requested-Bandwidth-DL", default=0))
        gbr = qci <= 4  # TS 23.203 Table 6.1.7: QCI 1-4 are GBR
        number = int(dia.avp(mcd, "Media-Component-Number", default=0))
        rules.append(PccRule(
            name=f"{rx_name}-{number}", qci=qci, arp_priority=arp.priority,
            preemption_capability=arp.preemption_capability,
            preemption_vulnerability=arp.preemption_vulnerability,
            mbr_ul_bps=mbr_ul, mbr_dl_bps=mbr_dl,
            gbr_ul_bps=mbr_ul if gbr else 0, gbr_dl_bps=mbr_dl if gbr else 0,
            flows=(*down, *up)))
    return rules


def uplink(flow: str, ue_address: str) -> bool:
    """A Gx "permit out" filter whose source is the UE is an uplink one (TS 29.212 §5.3.8)."""
    words = flow.split()
    return "from" in words and words.index("from") + 1 < len(words) and (
        words[words.index("from") + 1].split("/")[0] == ue_address)


def rule_definition(rule: PccRule, ue_address: str) -> tuple[str, Any]:
    """Charging-Rule-Definition (TS 29.212 §5.3.4) of one rule; Flow-Information with its
    Flow-Direction (§5.3.65)."""
    flows = [("Flow-Information", [
        ("Flow-Description", f),
        ("Flow-Direction", codec.FLOW_DIRECTION_UPLINK if uplink(f, ue_address)
         else codec.FLOW_DIRECTION_DOWNLINK)]) for f in rule.flows]
    return ("Charging-Rule-Definition", [
        ("Charging-Rule-Name", rule.name.encode()), *flows,
        ("Flow-Status", codec.FLOW_STATUS_ENABLED),
        ("QoS-Information", codec.qos_information(
            rule.qci, rule.arp_priority, preemption_capability=rule.preemption_capability,
            preemption_vulnerability=rule.preemption_vulnerability,
            mbr_ul=rule.mbr_ul_bps, mbr_dl=rule.mbr_dl_bps, gbr_ul=rule.gbr_ul_bps,
            gbr_dl=rule.gbr_dl_bps)),
        ("Precedence", rule.precedence)])

