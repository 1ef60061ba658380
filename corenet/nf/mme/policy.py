"""The rescuer's roaming policy: per home PLMN and tracking area, what its roamers get.

Modes (MISSION.md, TS 23.401 §4.3.12.1):

| mode               | normal attach          | emergency attach (type 6, TS 24.301 §5.5.1.2.2)       |
|--------------------|------------------------|--------------------------------------------------------|
| `off`              | #11 / #13              | #11 / #13                                              |
| `full`             | AKA + ULR, subscribed  | AKA + ULR ("valid UEs only"), emergency APN            |
| `emergency-auth`   | #15                    | AKA + ULR ("authenticated UEs only"), emergency APN    |
| `emergency-unauth` | #15                    | no S6a ("IMSI required, authentication optional"), or  |
|                    |                        | AKA first and unauthenticated when it fails (option);  |
|                    |                        | IMEI only when "all UEs" is allowed, otherwise #5      |

Causes of an ATTACH REJECT (TS 24.301 §5.5.1.2.5, UE behaviour per cause; TS 23.122):

| cause | when | why this one |
|-------|------|--------------|
| #11 PLMN not allowed | `off` for the whole PLMN, or no policy | the UE forbids the PLMN and selects another (TS 23.122 §3.1, §4.4.3.1) |
| #13 Roaming not allowed in this TA | `off` in some TAs only | the TA goes to "forbidden TAs for roaming"; the UE looks for another TA or PLMN |
| #15 No suitable cells in TA | normal attach in an emergency-only mode | EMM-DEREGISTERED.LIMITED-SERVICE, the PLMN is *not* forbidden: the UE stays camped, shows no service, may still make an emergency attach (TS 23.122 §3.5, TS 24.301 §5.5.1.2.5 #15); the selection is kept for when full roaming starts |
| #5 IMEI not accepted | emergency attach with IMEI only where the policy requires an IMSI | TS 24.301 Annex A: the network does not accept emergency attach using an IMEI |

#9 (UE identity cannot be derived) is not used: it makes the UE re-attach with its IMSI, i.e.
the same refusal again; #17 stays the answer to a home network that cannot be reached when no
fallback applies (TS 29.272 Annex A).

Standalone PDN CONNECTIVITY REQUESTs of a UE attached for emergency bearer services are refused
with ESM #32 "service option not supported" for a non-emergency request (TS 24.301 §6.5.1.4,
Annex B: the PLMN does not offer it to this UE) and #55 "multiple PDN connections for a given APN
not allowed" for a second emergency one (TS 24.301 §6.5.1.4).

The rescuer's own subscribers (IMSI PLMN = MME PLMN) are outside any policy.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, replace
from typing import Any

from corenet.config.models import MmeConfig, RoamingPolicyEntry
from corenet.core.plmn import Plmn
from corenet.nf.mme import causes

# TS 24.301 §9.9.3.9 causes chosen by the policy (see the table above)
IMEI_NOT_ACCEPTED = 5
# TS 24.301 §9.9.4.4 ESM causes for PDN requests of an emergency-only UE
ESM_SERVICE_OPTION_NOT_SUPPORTED = 32
ESM_MULTIPLE_PDN_SAME_APN_NOT_ALLOWED = 55


class Mode(enum.Enum):
    OFF = "off"
    FULL = "full"
    EMERGENCY_AUTH = "emergency-auth"
    EMERGENCY_UNAUTH = "emergency-unauth"

    @property
    def emergency_only(self) -> bool:
        return self in (Mode.EMERGENCY_AUTH, Mode.EMERGENCY_UNAUTH)


@dataclass(frozen=True)
class Policy:
    """One rule: roamers of `home_plmn` in `tacs` (None: everywhere) get `mode`."""

    home_plmn: Plmn
    tacs: frozenset[int] | None
    mode: Mode
    try_aka_first: bool = False
    allow_imei_only: bool = False
    fallback_unauth_when_hss_down: bool = False
    on_home_core_failed: Mode | None = Mode.EMERGENCY_AUTH

    @classmethod
    def of(cls, entry: RoamingPolicyEntry) -> Policy:
        return cls(
            home_plmn=Plmn.parse(entry.home_plmn),
            tacs=None if entry.tacs is None else frozenset(entry.tacs), mode=Mode(entry.mode),
            try_aka_first=entry.try_aka_first, allow_imei_only=entry.allow_imei_only,
            fallback_unauth_when_hss_down=entry.fallback_unauth_when_hss_down,
            on_home_core_failed=(None if entry.on_home_core_failed is None
                                 else Mode(entry.on_home_core_failed)))

    def covers(self, tac: int) -> bool:
        return self.tacs is None or tac in self.tacs

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["home_plmn"] = str(self.home_plmn)
        d["tacs"] = None if self.tacs is None else sorted(self.tacs)
        d["mode"] = self.mode.value
        d["on_home_core_failed"] = (None if self.on_home_core_failed is None
                                    else self.on_home_core_failed.value)
        return d


@dataclass(frozen=True, slots=True)
class AttachPlan:
    """How an admitted attach proceeds."""

    emergency: bool
    authenticate: bool  # AIR / AKA with the home HSS
    unauth_on_no_answer: bool = False  # the HSS does not answer in time: go on unauthenticated
    unauth_on_failure: bool = False  # AKA fails: go on unauthenticated
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Refusal:
    emm_cause: int
    reason: str


Decision = AttachPlan | Refusal

# (home PLMN, TA) pairs whose configured rule is remembered
RULES_KEPT = 4096

# the plans `decide` gives, one shared instance each (a UE context holds its plan while it
# attaches, not a copy of its own)
OWN_SUBSCRIBER = AttachPlan(emergency=False, authenticate=True, reason="own subscriber")
OWN_EMERGENCY = AttachPlan(emergency=True, authenticate=True, reason="own subscriber")
ALL_UES_IMEI = AttachPlan(emergency=True, authenticate=False, reason="all UEs (IMEI)")
FULL_ROAMING = AttachPlan(emergency=False, authenticate=True, reason="full roaming")
UNAUTH_AKA_FIRST = AttachPlan(True, True, unauth_on_no_answer=True, unauth_on_failure=True,
                              reason="authentication optional, tried first")
UNAUTH_IMSI = AttachPlan(True, False, reason="IMSI required, authentication optional")
AUTH_HSS_DOWN_FALLBACK = AttachPlan(True, False, reason="home HSS unreachable: fallback")
AUTH_WITH_FALLBACK = AttachPlan(True, True, unauth_on_no_answer=True,
                                reason="authenticated UEs only")
AUTH_ONLY = AttachPlan(True, True, reason="authenticated UEs only")


class RoamingPolicy:
    """The policy table, changeable at run time, plus the home networks reported failed."""

    def __init__(self, own: Plmn, policies: list[Policy]) -> None:
        self.own = own
        self._policies: list[Policy] = list(policies)
        self.home_core_failed: set[Plmn] = set()
        # the home PLMNs the table names, made again only when a rule is set: every attach
        # asks for them (TS 23.003 §2.2, the home network of its IMSI)
        self._homes: tuple[Plmn, ...] | None = None
        # (home PLMN, TAC) -> the configured rule, forgotten when a rule is set
        self._rules: dict[tuple[Plmn, int], Policy | None] = {}

    @classmethod
    def from_config(cls, cfg: MmeConfig) -> RoamingPolicy:
        return cls(Plmn.parse(cfg.plmn), [Policy.of(e) for e in cfg.roaming.policies])

    def policies(self) -> list[Policy]:
        return list(self._policies)

    def home_plmns(self) -> tuple[Plmn, ...]:
        """The home PLMNs of the rules, in the table's order; the same tuple until a rule
        is set."""
        if self._homes is None:
            self._homes = tuple(dict.fromkeys(p.home_plmn for p in self._policies))
        return self._homes

    def set(self, policy: Policy) -> Policy | None:
        """Add or replace the rule for (home PLMN, TAs); the rule it replaced, if any."""
        self._homes = None
        self._rules.clear()
        for i, old in enumerate(self._policies):
            if old.home_plmn == policy.home_plmn and old.tacs == policy.tacs:
                self._policies[i] = policy
                return old
        self._policies.append(policy)
        return None

    def lookup(self, home: Plmn, tac: int) -> Policy | None:
        """The configured rule: one naming the TA wins over one for every TA."""
        key = (home, tac)
        if key in self._rules:
            return self._rules[key]
        rules = [p for p in self._policies if p.home_plmn == home and p.covers(tac)]
        rules.sort(key=lambda p: p.tacs is None)
        if len(self._rules) >= RULES_KEPT:
            self._rules.clear()
        rule = self._rules[key] = rules[0] if rules else None
        return rule

    def effective(self, home: Plmn, tac: int) -> Policy | None:
        """The rule in force: a failed home core switches to its `on_home_core_failed` mode."""
        rule = self.lookup(home, tac)
        if rule is None or home not in self.home_core_failed or rule.on_home_core_failed is None:
            return rule
        if rule.mode is Mode.OFF:
            return rule
        return replace(rule, mode=rule.on_home_core_failed)

    def imei_only_allowed(self, tac: int) -> Policy | None:
        """A rule in force in this TA serving UEs without IMSI ("all UEs", §4.3.12.1)."""
        for home in self.home_plmns():
            rule = self.effective(home, tac)
            if rule is not None and rule.mode is Mode.EMERGENCY_UNAUTH and rule.allow_imei_only:
                return rule
        return None


def decide(rule: Policy | None, *, emergency: bool, has_imsi: bool, own: bool,
           hss_down: bool) -> Decision:
    """Admission of an attach (TS 23.401 §4.3.12.1, §5.3.2.1; causes in the module table)."""
    if own:
        # the rescuer's own subscribers: normal service from their own HSS, whatever the policy
        return OWN_EMERGENCY if emergency else OWN_SUBSCRIBER
    if not has_imsi:
        if rule is not None and rule.mode is Mode.EMERGENCY_UNAUTH and rule.allow_imei_only:
            return ALL_UES_IMEI
        return Refusal(IMEI_NOT_ACCEPTED, "IMSI required")
    if rule is None:
        return Refusal(causes.PLMN_NOT_ALLOWED, "no roaming agreement in force")
    if rule.mode is Mode.OFF:
        in_tas = rule.tacs is not None
        return Refusal(causes.ROAMING_NOT_ALLOWED_IN_THIS_TA if in_tas
                       else causes.PLMN_NOT_ALLOWED, "roaming off")
    if not emergency:
        if rule.mode.emergency_only:
            return Refusal(causes.NO_SUITABLE_CELLS_IN_TA, f"{rule.mode.value}: emergency only")
        return FULL_ROAMING
    if rule.mode is Mode.EMERGENCY_UNAUTH:
        if rule.try_aka_first and not hss_down:
            return UNAUTH_AKA_FIRST
        return UNAUTH_IMSI
    fallback = rule.mode is Mode.EMERGENCY_AUTH and rule.fallback_unauth_when_hss_down
    if fallback and hss_down:
        return AUTH_HSS_DOWN_FALLBACK
    return AUTH_WITH_FALLBACK if fallback else AUTH_ONLY
