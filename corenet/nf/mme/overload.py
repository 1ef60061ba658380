"""The MME as a DOIC reacting node (RFC 7683) and its NAS congestion back-off, as pure decisions.

Per home HSS realm (each realm is routed to one HSS host, so a host report of that HSS covers
every request of the realm), the MME keeps the overload report last received and drops the share
of new AIRs it asks for, with the loss algorithm (RFC 7683 §5.4.3). The drop is deterministic:
a credit grows by (100 - reduction) hundredths per AIR offered and an AIR is sent when a whole
one is there, so exactly the asked share leaves, spread evenly.

| the AIR is for           | report in force | credit >= 1 | decision                      |
|--------------------------|-----------------|-------------|-------------------------------|
| an emergency attach      | any             | any         | send (TS 23.401 §4.3.7.4.2.1) |
| any other attach         | none / expired  | -           | send                          |
| any other attach         | r %             | yes         | send, credit - 1              |
| any other attach         | r %             | no          | ATTACH REJECT #22 + T3346     |

An answer DIAMETER_TOO_BUSY (RFC 6733 §7.1.3) is congestion too: #22 with T3346.

Reports (RFC 7683 §5.2.2): one whose OC-Sequence-Number is not above the one in force is
ignored; OC-Validity-Duration defaults to 30 s and a value above 86,400 s means the default
(§7.5); a validity of 0 or a reduction of 0 ends the overload condition.

T3346 (TS 24.301 §5.3.7, §5.5.1.2.5): the mobility management back-off timer sent with #22, a
random value between half and all of `t3346_s` so that the UEs do not come back together
(TS 23.401 §4.3.7.4.2.1), in the 2-second steps a GPRS timer can code (TS 24.008 §10.5.7.3).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from corenet.codecs import diameter as dia

OLR_DEFAULT_ALGO = 0x0000000000000001  # RFC 7683 §7.2
HOST_REPORT = 0  # RFC 7683 §7.6
DEFAULT_VALIDITY_S = 30  # RFC 7683 §7.5
MAX_VALIDITY_S = 86_400
DIAMETER_TOO_BUSY = int(dia.ResultCode.DIAMETER_TOO_BUSY)


def supported_features_avp() -> tuple[str, list[tuple[str, int]]]:
    """OC-Supported-Features of a reacting node supporting the loss algorithm (RFC 7683 §5.1.1)."""
    return ("OC-Supported-Features", [("OC-Feature-Vector", OLR_DEFAULT_ALGO)])


@dataclass(frozen=True)
class ReportInForce:
    sequence: int
    reduction_percentage: int
    expires_at: float


class DoicThrottle:
    """Overload reports received per home realm and the loss algorithm applied to AIRs."""

    def __init__(self, t3346_s: int = 60, rng: random.Random | None = None) -> None:
        self.t3346_s = t3346_s
        self._rng = rng or random.Random()
        self._reports: dict[str, ReportInForce] = {}
        self._credit: dict[str, int] = {}  # in hundredths of an AIR
        self.dropped = 0

    # -- reports ---------------------------------------------------------------------------

    def on_answer(self, realm: str, answer: Any, now: float) -> ReportInForce | None:
        """Take the OC-OLR of an answer from `realm`'s HSS (RFC 7683 §5.2.2); the report then in
        force."""
        olr = dia.avp(answer, "OC-OLR")
        if olr is not None:
            self._take(realm, olr, now)
        return self.in_force(realm, now)

    def _take(self, realm: str, olr: Any, now: float) -> None:
        sequence = dia.avp(olr, "OC-Sequence-Number")
        kind = dia.avp(olr, "OC-Report-Type")
        if not isinstance(sequence, int) or kind != HOST_REPORT:
            return  # §5.2.2: a report type we do not support is ignored
        current = self.in_force(realm, now)
        if current is not None and sequence <= current.sequence:
            return
        reduction = dia.avp(olr, "OC-Reduction-Percentage", default=0)
        validity = dia.avp(olr, "OC-Validity-Duration", default=DEFAULT_VALIDITY_S)
        if not isinstance(validity, int) or validity > MAX_VALIDITY_S:
            validity = DEFAULT_VALIDITY_S
        if not isinstance(reduction, int) or reduction <= 0 or validity == 0:
            self._reports.pop(realm, None)  # the overload condition ends
            return
        self._reports[realm] = ReportInForce(sequence, min(100, reduction), now + validity)

    def in_force(self, realm: str, now: float) -> ReportInForce | None:
        report = self._reports.get(realm)
        if report is not None and now >= report.expires_at:
            del self._reports[realm]
            self._credit.pop(realm, None)
            return None
        return report

    # -- the loss algorithm ----------------------------------------------------------------

    def admit_air(self, realm: str, now: float, *, emergency: bool) -> bool:
        """Whether an AIR for a new attach may go to `realm`'s HSS (table above)."""
        if emergency:
            return True
        report = self.in_force(realm, now)
        if report is None:
            return True
        credit = self._credit.get(realm, 0) + 100 - report.reduction_percentage
        if credit >= 100:
            self._credit[realm] = credit - 100
            return True
        self._credit[realm] = credit
        self.dropped += 1
        return False

    def t3346(self) -> int:
        """A T3346 value in seconds for ATTACH REJECT #22 (module docstring)."""
        top = max(2, self.t3346_s - self.t3346_s % 2)
        low = max(2, (top // 2) - (top // 2) % 2)
        value = self._rng.randrange(low, top + 1, 2)
        # 2-second steps reach 62 s; beyond, whole minutes (TS 24.008 §10.5.7.3)
        return value if value <= 62 else value - value % 60


def congested(code: int | None, experimental: bool) -> bool:
    """DIAMETER_TOO_BUSY (RFC 6733 §7.1.3): the HSS is overloaded, NAS congestion control
    applies (TS 24.301 §5.3.7)."""
    return code == DIAMETER_TOO_BUSY and not experimental
