"""What the storm's controller knows of its rescuers (`Fleet`) and the storm's parameters.

The rescuers run in the controller's process (`storm.LocalFleet`) or in worker processes of
their own (`storm_processes.WorkerFleet`); both implement `Fleet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corenet.orchestration.storm_roamers import HssRoute, Tally

# from this many UEs on, `processes=None` runs each rescuer in a worker process
PROCESSES_FROM_UES = 5000
# roamers per eNB at most (half the MME's default UE-associated connections per eNB)
UES_PER_ENB = 2048
# eNBs per rescuer at most: each has an address of its rescuer's /24 (storm_roamers.Rescuer)
MAX_ENBS = 240


@dataclass(frozen=True)
class StormConfig:
    ues: int = 2000
    rescuers: int = 1
    release: str = "auto"
    hss_capacity_air_per_s: float = 40.0
    own_ues: int = 20  # the rescuers' own subscribers attaching during the storm (in all)
    own_interval_s: float = 0.5  # one own subscriber starts an attach every this often
    seed: int = 1
    concurrency: int = 400  # attaches in progress at once (RRC connections being set up)
    timer_scale: float = 0.25  # wall seconds per UE back-off timer second
    barring_time_s: int = 4  # ac-BarringTime (TS 36.331 §6.3.1)
    # None: enough for the roamers (`enbs`)
    enbs_per_rescuer: int | None = None
    max_duration_s: float | None = None  # stop there (what is attached by then counts)
    attach_timeout_s: float = 60.0
    net: int = 77  # the 127.<net>.0.0/16 block the run binds to
    # each rescuer in a worker process of its own (None: when ues >= PROCESSES_FROM_UES)
    processes: bool | None = None

    def __post_init__(self) -> None:
        if self.enbs > MAX_ENBS:
            raise ValueError(f"{self.enbs} eNBs per rescuer: at most {MAX_ENBS} "
                             f"({MAX_ENBS * UES_PER_ENB} roamers each); add rescuers")

    @property
    def enbs(self) -> int:
        """eNBs per rescuer carrying its roamers: the MME serves at most
        `max_ue_contexts_per_enb` (4096) UE-associated connections per eNB (TS 36.413 §8.6.2.1)
        and an attached roamer keeps its own, so each eNB takes at most `UES_PER_ENB`."""
        if self.enbs_per_rescuer is not None:
            return self.enbs_per_rescuer
        return max(2, -(-self.ues // max(1, self.rescuers) // UES_PER_ENB) + 1)

    @property
    def in_processes(self) -> bool:
        return self.ues >= PROCESSES_FROM_UES if self.processes is None else self.processes


class Fleet:
    """The rescuers as the controller sees them: in this process (`LocalFleet`) or in worker
    processes (`storm_processes.WorkerFleet`)."""

    processes = 1

    async def start(self, homes: list[HssRoute], factor: float | None) -> None:
        raise NotImplementedError

    async def run(self, t0: float, deadline: float | None) -> bool:
        """Every rescuer's storm from `t0` (loop time) until it ends or `deadline`; True
        when every roamer finished by itself."""
        raise NotImplementedError

    def tallies(self) -> list[Tally]:
        raise NotImplementedError

    def set_barring(self, factor: float | None) -> None:
        raise NotImplementedError

    def pending(self) -> int:
        return 0

    def lag_s(self) -> float:
        """How old the tallies are, plus the time a barring decision takes to reach the cells."""
        return 0.0

    def never_attached(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def peak_rss_mib(self) -> float | None:
        return None

    async def stop(self) -> None:
        raise NotImplementedError
