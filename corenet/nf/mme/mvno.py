"""MVNO subscribers under the rescuer's roaming policy (seed: MVNO subscribers roam over the
existing paths between each MVNO and its host MNO; each MVNO states whether it offers JAPAN
Roaming). A pure decision: the host MNO's rule in force in, the rule for the MVNO's UE out.

Which MVNO an IMSI belongs to: the longest matching IMSI range, else the MVNO whose own home
PLMN prefixes the IMSI (TS 23.003 §2.2). A full MVNO's subscribers are served by its own HSS
(realm of its home PLMN, TS 23.003 §19.2) through the host's Diameter agents; a light MVNO's
by the host's HSS.

| MVNO                               | host mode M          | the MVNO's UE gets |
|------------------------------------|----------------------|--------------------|
| offers no JAPAN Roaming            | any                  | `off`: ATTACH REJECT #11 (#13 where the host's rule names TAs) |
| M among the MVNO's modes           | M                    | M, exactly as the host's own subscribers (emergency modes included) |
| `full` not allowed, an emergency mode allowed | `full`    | that emergency mode (emergency-auth first): normal attach #15, emergency attach served |
| otherwise                          | M                    | `off` |
| no rule in force for the host      | -                    | no rule: #11 |

Why #11 "PLMN not allowed" (TS 24.301 §5.5.1.2.5, Annex A): with no roaming offered there is
no agreement between the UE's home network and the rescuer, the case of #11 (TS 23.122 §3.1):
the UE adds the rescuer's PLMN to its forbidden list and selects another PLMN, including its
host's when it comes back, instead of retrying here. #15 is kept for an MVNO that offers
emergency service only, so that its UEs stay camped in limited service (TS 23.122 §3.5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from corenet.config.models import MvnoEntry
from corenet.core.plmn import Plmn
from corenet.nf.mme.policy import Mode, Policy


@dataclass(frozen=True)
class Mvno:
    name: str
    kind: str  # "full" | "light"
    host: Plmn
    home_plmn: Plmn | None
    imsi_prefixes: tuple[str, ...]
    offers_roaming: bool
    modes: frozenset[Mode]

    @classmethod
    def of(cls, entry: MvnoEntry) -> Mvno:
        return cls(entry.name, entry.kind, Plmn.parse(entry.host_plmn),
                   None if entry.home_plmn is None else Plmn.parse(entry.home_plmn),
                   tuple(entry.imsi_prefixes), entry.offers_roaming,
                   frozenset(Mode(m) for m in entry.modes))


def mvno_of(imsi: str, mvnos: Iterable[Mvno]) -> Mvno | None:
    """The MVNO whose IMSI range (longest prefix) or home PLMN holds `imsi`."""
    best: tuple[int, Mvno] | None = None
    for mvno in mvnos:
        prefixes = [*mvno.imsi_prefixes, *([str(mvno.home_plmn)] if mvno.home_plmn else [])]
        for prefix in prefixes:
            if imsi.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), mvno)
    return None if best is None else best[1]


def mode_for(mvno: Mvno, host_mode: Mode) -> Mode:
    """The mode an MVNO's UEs get while its host is in `host_mode` (module table)."""
    if not mvno.offers_roaming or host_mode is Mode.OFF:
        return Mode.OFF
    if host_mode in mvno.modes:
        return host_mode
    if host_mode is Mode.FULL:
        for emergency in (Mode.EMERGENCY_AUTH, Mode.EMERGENCY_UNAUTH):
            if emergency in mvno.modes:
                return emergency
    return Mode.OFF


def rule_for(mvno: Mvno, host_rule: Callable[[Plmn], Policy | None]) -> Policy | None:
    """The rule for the MVNO's UE: its host's rule in force, in the MVNO's mode."""
    rule = host_rule(mvno.host)
    if rule is None:
        return None
    return replace(rule, home_plmn=mvno.home_plmn or mvno.host,
                   mode=mode_for(mvno, rule.mode))
