"""PLMN selection over the PLMNs the emulated cells broadcast (TS 23.122 §4.4).

Automatic mode (§4.4.3.1.1) and manual mode (§4.4.3.1.2), and the three ways the seed report
gives a roamer to return home: back to automatic selection, manual selection of the home
network, or an airplane-mode toggle (switch-off detach, then a fresh selection).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from corenet.core.plmn import Plmn
from sim_ue.enb import Cell
from sim_ue.ue import CellInfo


class SelectionMode(enum.Enum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class ReturnHome(enum.Enum):
    """How the user ends roaming (seed report, "What the user sees and does")."""

    AUTOMATIC = "automatic"
    MANUAL_HOME = "manual-home"
    AIRPLANE_MODE = "airplane-mode"


@dataclass(frozen=True)
class SelectionProfile:
    """The USIM/ME lists automatic selection reads (TS 23.122 §4.4.3.1.1, §3.1)."""

    hplmn: Plmn
    ehplmns: tuple[Plmn, ...] = ()
    user_plmns: tuple[Plmn, ...] = ()  # "User Controlled PLMN Selector with Access Technology"
    operator_plmns: tuple[Plmn, ...] = ()  # "Operator Controlled PLMN Selector ..."
    forbidden: tuple[Plmn, ...] = ()
    names: Mapping[Plmn, str] = field(default_factory=dict)


def available_plmns(cells: Iterable[Cell]) -> list[Plmn]:
    """Each PLMN found on any cell, in the order first seen (TS 23.122 §4.4.3.1)."""
    out: list[Plmn] = []
    for cell in cells:
        for plmn in cell.plmns:
            if plmn not in out:
                out.append(plmn)
    return out


def select_automatic(available: Sequence[Plmn], profile: SelectionProfile,
                     rng: random.Random | None = None) -> Plmn | None:
    """TS 23.122 §4.4.3.1.1: i) the HPLMN or the highest priority EHPLMN; ii) each PLMN of the
    user controlled list in priority order; iii) of the operator controlled list; iv) other
    PLMNs with high quality signal in random order. Forbidden PLMNs are skipped (§3.1)."""
    usable = [p for p in available if p not in profile.forbidden]
    for p in (profile.hplmn, *profile.ehplmns):
        if p in usable:
            return p
    for listed in (profile.user_plmns, profile.operator_plmns):
        for p in listed:
            if p in usable:
                return p
    others = [p for p in usable if p not in (profile.hplmn, *profile.ehplmns)]
    if not others:
        return None
    # iv): every emulated cell has high quality signal; the order among them is random.
    return (rng or random.Random(0)).choice(sorted(others))


def select_manual(available: Sequence[Plmn], chosen: Plmn) -> Plmn | None:
    """TS 23.122 §4.4.3.1.2: the user's choice is tried even if it is forbidden; None when the
    chosen PLMN is not available (the MS then stays on limited service or no service)."""
    return chosen if chosen in available else None


def plmn_by_name(available: Sequence[Plmn], profile: SelectionProfile, name: str) -> Plmn | None:
    """The PLMN the user picks from the manual list by its displayed name, e.g. "JPN-ROAM X"
    (TS 23.122 §4.4.3.1.2: the list of available PLMNs is presented with their names)."""
    for p in available:
        if profile.names.get(p) == name:
            return p
    return None


def suitable_cells(cells: Iterable[Cell], plmn: Plmn) -> list[Cell]:
    """The cells that broadcast the selected PLMN (TS 36.304 §5.2.3)."""
    return [c for c in cells if plmn in c.plmns]


def camp(cells: Iterable[Cell], plmn: Plmn, index: int = 0) -> CellInfo | None:
    """A suitable cell of the selected PLMN (TS 36.304 §5.2.3); `index` spreads UEs."""
    matching = suitable_cells(cells, plmn)
    if not matching:
        return None
    return matching[index % len(matching)].camp(plmn)


def return_home_plan(how: ReturnHome, available: Sequence[Plmn], profile: SelectionProfile,
                     registered: Plmn | None) -> tuple[bool, Plmn | None]:
    """(switch_off_first, PLMN to register on next) for the user's way home.

    Automatic: §4.4.3.1.1 re-run, the HPLMN wins when it is available. Manual home: §4.4.3.1.2
    with the HPLMN. Airplane mode: switch-off detach (TS 24.301 §5.5.2.2) and, at power on,
    automatic selection (§4.4.3.1.1) — which returns home if home is back, and otherwise picks
    the best available network again.
    """
    if how is ReturnHome.AIRPLANE_MODE:
        return True, select_automatic(available, profile)
    if how is ReturnHome.MANUAL_HOME:
        return False, select_manual(available, profile.hplmn)
    chosen = select_automatic(available, profile)
    return False, chosen if chosen != registered else registered
