"""Simulated UEs with USIMs behind emulated eNBs: the radio side of corenet.

`usim` (EPS AKA on the card), `ue` (EMM/ESM machines, TS 24.301), `enb` (S1AP eNB emulator,
TS 36.413), `selection` (PLMN selection, TS 23.122 §4.4), `runner` (populations), `cli`
(`sim-ue`).
"""

from __future__ import annotations

from sim_ue.runner import Population, attach_population, detach_population
from sim_ue.ue import UeResult

__all__ = ["Population", "UeResult", "attach_population", "detach_population"]
