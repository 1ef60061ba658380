"""Which functions of a runtime speak Gx and Rx to the PCRF."""

from __future__ import annotations

from corenet.config.models import CorenetConfig
from corenet.runtime.supervisor import NETWORK_FUNCTIONS, pcrf_links


def test_links_follow_the_functions_run_together() -> None:
    cfg = CorenetConfig()
    assert cfg.sgw_pgw.pcrf is not None and cfg.ims.pcscf.pcrf is not None
    # the whole network, and a function alone (its PCRF runs in another process): kept
    assert pcrf_links(cfg, NETWORK_FUNCTIONS) is cfg
    assert pcrf_links(cfg, ("sgw-pgw",)) is cfg
    # several functions without the PCRF (a storm, a drill): the P-GW on static policy
    partial = pcrf_links(cfg, ("sgw-pgw", "mme"))
    assert partial.pcrf is None and partial.sgw_pgw.pcrf is None
    assert partial.ims.pcscf.pcrf is None


def test_pcrf_null_leaves_the_p_gw_without_gx() -> None:
    cfg = CorenetConfig.model_validate({"pcrf": None})
    assert cfg.sgw_pgw.pcrf is None and cfg.ims.pcscf.pcrf is None
    explicit = CorenetConfig.model_validate({"sgw_pgw": {"pcrf": None}})
    assert explicit.sgw_pgw.pcrf is None and explicit.ims.pcscf.pcrf is not None
