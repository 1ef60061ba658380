"""The rescuing operator's S/P-GW control plane: S11 server (TS 29.274), UE address pools."""

from __future__ import annotations

from corenet.nf.sgw_pgw.core import Session, SessionState, SgwPgwCore
from corenet.nf.sgw_pgw.pools import AddressPools, Allocation, AllocationError
from corenet.nf.sgw_pgw.service import SgwPgwService

__all__ = [
    "AddressPools",
    "Allocation",
    "AllocationError",
    "Session",
    "SessionState",
    "SgwPgwCore",
    "SgwPgwService",
]
