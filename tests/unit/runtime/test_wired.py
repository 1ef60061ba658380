"""Wiring the functions of one process to each other's bound addresses."""

from __future__ import annotations

from corenet.config.models import CorenetConfig
from corenet.runtime.supervisor import ServiceGroup, wired


def test_a_configuration_without_a_pcrf_wires_its_p_gw_and_p_cscf_without_one() -> None:
    """`pcrf: null` builds an empty group for the PCRF; the P-GW then runs without Gx and the
    P-CSCF without Rx (their static policy), and wiring leaves their links as they are."""
    cfg = CorenetConfig.model_validate({"pcrf": None})
    started = {"pcrf": ServiceGroup({})}
    assert wired("sgw-pgw", cfg, started).sgw_pgw == cfg.sgw_pgw
    assert wired("ims", cfg, started).ims.pcscf == cfg.ims.pcscf
