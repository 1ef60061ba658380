"""pycrate's LTE RRC ASN.1 (TS 36.331), loaded on first use.

RRCLTE is the largest pycrate module (~55 MiB and ~0.8 s per process). The messages an eNB of
the emulator sends on every access have fast paths (the SIB2 of `corenet.codecs.sib2`, the
handset's UE Radio Capability of `corenet.codecs.ue_radio_capability`), so a process that only
broadcasts barring and reports capabilities - every worker of a storm - never loads it; ETWS/CMAS
broadcasts, paging and anything outside those fast paths load it when first needed.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)


@functools.cache
def _module() -> Any:
    return importlib.import_module("pycrate_asn1dir.RRCLTE")


def definitions() -> Any:
    """EUTRA-RRC-Definitions (TS 36.331 §6)."""
    return _module().EUTRA_RRC_Definitions


def inter_node() -> Any:
    """EUTRA-InterNodeDefinitions (TS 36.331 §10)."""
    return _module().EUTRA_InterNodeDefinitions
