"""The rescuer's dial plan: which requests are emergency requests and where others go.

Emergency detection follows TS 24.229 §5.2.10.1 (a Request-URI that is an emergency service URN,
RFC 5031, or an emergency number in a tel URI or a SIP URI with user=phone / a dialled-digit
user part) with the numbers of TS 22.101 §10.1.1 as configured for Japan (110, 118, 119).
Calls prefixed with the caller-ID codes 184/186 are not emergency numbers and the rescuer has
no route for them (the seed: they fail while roaming). Numbers whose destination depends on the
caller's charging area are blocked or routed as from a fixed area (the seed's #7119, #9110,
0120, 0800), per configured prefix.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from corenet.codecs.ims_sip import dialled_digits
from corenet.codecs.sip import Uri
from corenet.config.models import DialPlanConfig

__all__ = ["CallKind", "DialDecision", "DialPlan", "dialled_digits"]

class CallKind(enum.Enum):
    EMERGENCY = "emergency"
    NORMAL = "normal"
    FIXED_AREA = "fixed-area"  # routed as dialled from the configured charging area
    BLOCKED = "blocked"  # refused by a dial rule
    NO_ROUTE = "no-route"  # 184/186 + emergency number


@dataclass(frozen=True)
class DialDecision:
    kind: CallKind
    digits: str | None = None
    service_urn: str | None = None
    status: int | None = None  # the SIP status a refused request is answered with
    area: str | None = None  # RFC 3966 phone-context for FIXED_AREA
    rule: str | None = None


class DialPlan:
    def __init__(self, cfg: DialPlanConfig | None = None) -> None:
        self.cfg = cfg or DialPlanConfig()

    def emergency_urn(self, digits: str) -> str | None:
        """TS 24.229 §5.2.10.1: the service URN of an emergency number, national or with +81."""
        if digits in self.cfg.emergency:
            return self.cfg.emergency[digits]
        return None

    def classify(self, uri: Uri) -> DialDecision:
        """Decide what a UE's initial request for `uri` is (see the module docstring)."""
        if uri.is_emergency:
            return DialDecision(CallKind.EMERGENCY, None, str(uri))
        digits = dialled_digits(uri)
        if digits is None:
            return DialDecision(CallKind.NORMAL)
        urn = self.emergency_urn(digits)
        if urn is not None:
            return DialDecision(CallKind.EMERGENCY, digits, urn)
        for prefix in self.cfg.caller_id_prefixes:
            rest = digits[len(prefix):]
            if digits.startswith(prefix) and self.emergency_urn(rest) is not None:
                return DialDecision(CallKind.NO_ROUTE, digits,
                                    status=self.cfg.caller_id_prefix_status, rule=prefix)
        for rule in self.cfg.rules:
            if digits.startswith(rule.prefix):
                if rule.action == "block":
                    return DialDecision(CallKind.BLOCKED, digits, status=rule.status,
                                        rule=rule.prefix)
                return DialDecision(CallKind.FIXED_AREA, digits, area=rule.area,
                                    rule=rule.prefix)
        return DialDecision(CallKind.NORMAL, digits)
