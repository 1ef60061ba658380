"""What the MME's procedures need from the core that owns the contexts: a narrow port.

The procedures (`attach.py`, `detach.py`, `authentication.py`, `security_mode.py`,
`nas_path.py`, `s1ap_handler.py`, `s11_path.py`) act on one UE context and emit actions through
this port; they never import `core.py`, which implements it (`MmeCore`). `S1Port` adds what the
S1AP handler needs on top: the eNB contexts and the UE-associated logical connections
(TS 36.413 §8.3, §8.6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from corenet.codecs.base import Message
from corenet.codecs.nas_ies import Guti
from corenet.config.models import MmeConfig
from corenet.core.plmn import Plmn
from corenet.nf.mme.context import EnbContext, HomeNetwork, UeContext
from corenet.nf.mme.events import Action
from corenet.nf.mme.mvno import Mvno
from corenet.nf.mme.overload import DoicThrottle
from corenet.nf.mme.policy import RoamingPolicy
from corenet.nf.mme.pws import PwsState
from corenet.nf.mme.s6a_client import S6aRequests
from corenet.nf.mme.s11_client import S11Requests


class MmePort(Protocol):
    """The MME as a procedure sees it: configuration, outputs, transactions, UE lookup."""

    cfg: MmeConfig
    plmn: Plmn
    policy: RoamingPolicy
    mvnos: tuple[Mvno, ...]
    s6a: S6aRequests
    overload: DoicThrottle
    s11: S11Requests
    ues: dict[int, UeContext]
    by_mtmsi: dict[int, int]  # M-TMSI -> MME UE S1AP ID of the GUTIs we allocated
    # the ATTACH ACCEPT encoders by TAI list (accept.attach_accept)
    attach_accepts: dict[Any, Any]
    now: float
    # the clock whose time the network tells UEs (EMM INFORMATION, TS 24.301 §5.4.5)
    told_time: Callable[[], float] | None

    @property
    def home_plmns(self) -> tuple[Plmn, ...]: ...

    def home_of(self, imsi: str) -> Plmn: ...

    def home_network(self, imsi: str) -> HomeNetwork: ...

    def emit(self, action: Action) -> None: ...

    def log(self, kind: str, **data: Any) -> None: ...

    def start_timer(self, name: str, key: Any, seconds: float) -> None: ...

    def stop_timer(self, name: str, key: Any) -> None: ...

    def send_s6a(self, ue: UeContext, msg: Message, realm: str) -> None: ...

    def send_s11(self, ue: UeContext, msg: Message) -> None: ...

    def hss_down(self, realm: str) -> bool: ...

    def ue_by_imsi(self, imsi: str) -> UeContext | None: ...

    def set_imsi(self, ue: UeContext, imsi: str) -> None: ...

    def ue_by_guti(self, guti: Guti) -> UeContext | None: ...

    def allocate_guti(self, ue: UeContext) -> Guti: ...

    def release(self, ue: UeContext, cause: tuple[str, str], keep: bool = False) -> None: ...

    def adopt_connection(self, ue: UeContext, conn: UeContext) -> None: ...


class S1Port(MmePort, Protocol):
    """The MME as the S1AP handler sees it (TS 36.413 §8.7: the S1 interface instances)."""

    enbs: dict[int, EnbContext]
    pws: PwsState

    def new_ue(self, enb: EnbContext, enb_ue_id: int, fields: dict[str, Any]) -> UeContext: ...

    def idle_ue(self, s_tmsi: dict[str, Any] | None) -> UeContext | None: ...

    def idle_context(self, ue: UeContext) -> bool: ...

    def detach_from_enb(self, ue: UeContext) -> None: ...

    def delete_ue(self, ue: UeContext) -> None: ...
