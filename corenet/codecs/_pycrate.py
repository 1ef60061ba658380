"""Import pycrate once, quietly.

pycrate logs a warning at import when the optional CryptoMobile module is absent; corenet does
NAS security itself (corenet.crypto), so that warning is noise.
"""

from __future__ import annotations

import logging

for _name in ("pycrate_mobile.TS24301_EMM", "pycrate_mobile.TS24501_FGMM"):
    logging.getLogger(_name).setLevel(logging.ERROR)
