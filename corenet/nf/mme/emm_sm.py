"""The EMM state machine of the network side (TS 24.301 §5.1.3.4), as a table.

Every change of a UE's EMM state goes through `transition`; the rows below are the whole
machine, so the diagram of §5.1.3.4 can be drawn from them:

| from                          | event               | to                             | clause            |
|-------------------------------|---------------------|--------------------------------|-------------------|
| any                           | ATTACH_REQUESTED    | EMM-DEREGISTERED               | §5.5.1.2.3        |
| DEREGISTERED, COMMON, REGISTERED | COMMON_PROCEDURE | EMM-COMMON-PROCEDURE-INITIATED | §5.1.3.4.2, §5.4  |
| DEREGISTERED, COMMON, REGISTERED | ATTACH_COMPLETED | EMM-REGISTERED                 | §5.5.1.2.4        |
| any                           | DETACH_REQUESTED    | EMM-DEREGISTERED-INITIATED     | §5.5.2.2          |
| any                           | DETACH_COMPLETED    | EMM-DEREGISTERED               | §5.5.2.2.2        |
| any                           | REJECTED            | EMM-DEREGISTERED               | §5.5.1.2.5, §5.4.2.5 |
| any                           | ABORTED             | EMM-DEREGISTERED               | §5.4.3.5, §10.2 timer expiry, implicit detach |
"""

from __future__ import annotations

import enum

from corenet.nf.mme.context import EmmState, UeContext


class EmmEvent(enum.Enum):
    """What moves the EMM state of one UE at the MME."""

    ATTACH_REQUESTED = "attach requested"  # ATTACH REQUEST received
    COMMON_PROCEDURE = "common procedure"  # identification / authentication / SMC started
    ATTACH_COMPLETED = "attach completed"  # ATTACH COMPLETE received
    DETACH_REQUESTED = "detach requested"  # UE-initiated DETACH REQUEST received
    DETACH_COMPLETED = "detach completed"  # PDN connection deleted, DETACH ACCEPT sent
    REJECTED = "rejected"  # ATTACH REJECT / AUTHENTICATION REJECT sent
    ABORTED = "aborted"  # procedure aborted, context replaced, implicit detach


_ANY = tuple(EmmState)
_NOT_DETACHING = (EmmState.DEREGISTERED, EmmState.COMMON_PROCEDURE_INITIATED,
                  EmmState.REGISTERED)

# (from, event) -> to
TRANSITIONS: dict[tuple[EmmState, EmmEvent], EmmState] = {
    **{(s, EmmEvent.ATTACH_REQUESTED): EmmState.DEREGISTERED for s in _ANY},
    **{(s, EmmEvent.COMMON_PROCEDURE): EmmState.COMMON_PROCEDURE_INITIATED
       for s in _NOT_DETACHING},
    **{(s, EmmEvent.ATTACH_COMPLETED): EmmState.REGISTERED for s in _NOT_DETACHING},
    **{(s, EmmEvent.DETACH_REQUESTED): EmmState.DEREGISTERED_INITIATED for s in _ANY},
    **{(s, EmmEvent.DETACH_COMPLETED): EmmState.DEREGISTERED for s in _ANY},
    **{(s, EmmEvent.REJECTED): EmmState.DEREGISTERED for s in _ANY},
    **{(s, EmmEvent.ABORTED): EmmState.DEREGISTERED for s in _ANY},
}


def transition(ue: UeContext, event: EmmEvent) -> EmmState:
    """Apply `event` to the UE's EMM state; an event the table does not list for the current
    state leaves it unchanged (e.g. a common procedure while a detach is under way)."""
    ue.emm_state = TRANSITIONS.get((ue.emm_state, event), ue.emm_state)
    return ue.emm_state
