"""HSS overload, sans-I/O: the AIR capacity it enforces and the DOIC reports it sends.

Two mechanisms, one measure (AIRs, TS 29.272 §5.2.3.1, the load of a re-attach storm):

- **Capacity.** At most `capacity_air_per_s` AIRs are served in any 1-second window; an AIR
  beyond that is answered DIAMETER_TOO_BUSY (3004, RFC 6733 §7.1.3: "the request could not be
  handled ... the requesting node may retry elsewhere"). `None` is unlimited.
- **DOIC** (RFC 7683), as the reporting node of a host report (OC-Report-Type HOST_REPORT,
  §7.6). Towards a reacting node that announced OC-Supported-Features in its request the answer
  carries OC-Supported-Features selecting the loss algorithm (§5.1.2, OC-Feature-Vector
  OLR_DEFAULT_ALGO, §7.2) and, while an overload report is in force, OC-OLR with the reduction
  percentage (§5.4.2, §7.3, §7.7). The percentage is evaluated once per second from the AIRs
  offered in the last second: the reacting nodes already drop r % of their traffic, so what they
  would send is offered / (1 - r), and the new percentage is what brings that down to the
  target (`target` x capacity). A report starts only when that load exceeds the capacity. OC-Sequence-Number grows with every change of content (§7.4).
  When no reduction is needed any more, a report with OC-Validity-Duration 0 and
  OC-Reduction-Percentage 0 ends the overload condition (§5.5.2, §7.5); it is repeated, with
  the same sequence number, until the next overload.

Decision table for one AIR (`admit`):

| capacity | AIRs served in the last 1 s | outcome                       |
|----------|-----------------------------|-------------------------------|
| None     | any                         | served                        |
| C        | < C                         | served                        |
| C        | >= C                        | 3004 DIAMETER_TOO_BUSY        |
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from corenet.codecs import diameter as dia

DIAMETER_TOO_BUSY = int(dia.ResultCode.DIAMETER_TOO_BUSY)
OLR_DEFAULT_ALGO = 0x0000000000000001  # RFC 7683 §7.2: the loss algorithm of §5.4
HOST_REPORT = 0  # RFC 7683 §7.6
DEFAULT_VALIDITY_S = 30  # RFC 7683 §7.5: the default OC-Validity-Duration
MAX_VALIDITY_S = 86_400  # RFC 7683 §7.5
MAX_REDUCTION = 95  # keep some traffic flowing, so that the load stays measurable
WINDOW_S = 1.0


@dataclass(frozen=True)
class OverloadReport:
    """The content of an OC-OLR (RFC 7683 §7.3)."""

    sequence: int
    reduction_percentage: int
    validity_s: int
    report_type: int = HOST_REPORT

    def avp(self) -> tuple[str, list[tuple[str, int]]]:
        return ("OC-OLR", [("OC-Sequence-Number", self.sequence),
                           ("OC-Report-Type", self.report_type),
                           ("OC-Reduction-Percentage", self.reduction_percentage),
                           ("OC-Validity-Duration", self.validity_s)])


def announces_loss(request_avps: Any) -> bool:
    """Whether a request's OC-Supported-Features announces the loss algorithm (RFC 7683
    §5.1.1: an absent OC-Feature-Vector means only the loss algorithm is supported)."""
    features = dia.avp(request_avps, "OC-Supported-Features")
    if features is None:
        return False
    vector = dia.avp(features, "OC-Feature-Vector")
    return vector is None or bool(int(vector) & OLR_DEFAULT_ALGO)


class AirOverload:
    """The AIR capacity of one HSS and its DOIC reporting node state."""

    def __init__(self, capacity_air_per_s: float | None, *, target: float = 0.95,
                 validity_s: int = 10, first_sequence: int = 1) -> None:
        if capacity_air_per_s is not None and capacity_air_per_s <= 0:
            raise ValueError("the AIR capacity must be > 0 AIR/s")
        if not 0 < validity_s <= MAX_VALIDITY_S:
            raise ValueError(f"OC-Validity-Duration must be 1..{MAX_VALIDITY_S} s")
        self.capacity = capacity_air_per_s
        self.target = target
        self.validity_s = validity_s
        self._served: deque[float] = deque()
        self._sequence = first_sequence - 1
        self._reduction = 0
        self._report: OverloadReport | None = None
        self._offered = 0  # AIRs offered since the last evaluation
        self._evaluated_at: float | None = None
        self.rejected = 0

    @property
    def limited(self) -> bool:
        return self.capacity is not None

    # -- capacity --------------------------------------------------------------------------

    def admit(self, now: float) -> bool:
        """One AIR offered at `now`: True to serve it, False to answer 3004 (table above)."""
        self._evaluate(now)
        self._offered += 1
        if self.capacity is None:
            return True
        while self._served and self._served[0] <= now - WINDOW_S:
            self._served.popleft()
        if len(self._served) >= self.capacity:
            self.rejected += 1
            return False
        self._served.append(now)
        return True

    # -- DOIC ------------------------------------------------------------------------------

    def report(self, now: float) -> OverloadReport | None:
        """The OC-OLR to put in an answer now, None when no overload report is in force."""
        if self.capacity is None:
            return None
        self._evaluate(now)
        return self._report

    def answer_avps(self, request: Any, now: float) -> list[tuple[str, Any]]:
        """DOIC AVPs for the answer to `request`: none unless the request announced DOIC
        (RFC 7683 §5.1.2: a reporting node reports only to reacting nodes that support it)."""
        if self.capacity is None or not announces_loss(request):
            return []
        avps: list[tuple[str, Any]] = [
            ("OC-Supported-Features", [("OC-Feature-Vector", OLR_DEFAULT_ALGO)])]
        olr = self.report(now)
        if olr is not None:
            avps.append(olr.avp())
        return avps

    def _evaluate(self, now: float) -> None:
        """Once per second: the reduction percentage from the offered load (RFC 7683 §5.4.2)."""
        if self.capacity is None:
            return
        if self._evaluated_at is None:
            self._evaluated_at = now
            return
        span = now - self._evaluated_at
        if span < WINDOW_S:
            return
        offered_rate = self._offered / span
        self._offered = 0
        self._evaluated_at = now
        # what the reacting nodes would send without abatement
        unabated = offered_rate / (1 - self._reduction / 100)
        goal = self.target * self.capacity
        if self._reduction == 0 and unabated <= self.capacity:
            wanted = 0  # not overloaded: a load just under the capacity asks for nothing
        else:
            wanted = 0 if unabated <= goal else math.ceil(100 * (1 - goal / unabated))
        wanted = min(MAX_REDUCTION, wanted)
        if wanted == self._reduction:
            return
        self._reduction = wanted
        self._sequence += 1
        if wanted > 0:
            self._report = OverloadReport(self._sequence, wanted, self.validity_s)
        elif self._report is not None and self._report.validity_s > 0:
            # §5.5.2: OC-Validity-Duration 0 ends the overload condition at the reacting nodes
            self._report = OverloadReport(self._sequence, 0, 0)
