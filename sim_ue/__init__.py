"""Simulated UEs with USIMs behind emulated eNBs: the radio side of corenet.

`usim` (EPS AKA on the card), `ue` (EMM/ESM machines, TS 24.301, with the emergency attach of
§5.5.1.2.2), `enb` (S1AP eNB emulator, TS 36.413), `selection` (PLMN selection, TS 23.122
§4.4), `devices` (device profiles of the seed report), `runner` (populations), `cli`
(`sim-ue`).
"""

from __future__ import annotations

from sim_ue.devices import DeviceProfile, assign_devices, load_device, load_devices
from sim_ue.runner import Population, attach_population, detach_population
from sim_ue.ue import UeResult

__all__ = ["DeviceProfile", "Population", "UeResult", "assign_devices", "attach_population",
           "detach_population", "load_device", "load_devices"]
