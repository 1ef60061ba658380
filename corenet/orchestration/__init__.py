"""Orchestration: runs whole networks with simulated subscribers on them (demo, drill network, storm).

This package sits above both the corenet network functions and `sim_ue`: it wires the core
(`corenet.runtime`) and drives UEs and eNBs (`sim_ue`) against it.

Layering rules (checked by tests/unit/test_layers.py):
- only `corenet.cli` and `corenet.orchestration` import `sim_ue`;
- nothing in corenet imports `corenet.orchestration` except `corenet.cli`;
- `sim_ue` never imports `corenet.orchestration`, `corenet.activation` or `corenet.nf`.
"""
