"""Voice domain preference and UE's usage setting (TS 24.008 §10.5.5.28, used in EPS by
TS 24.301 §9.9.3.44) with pycrate's `VoiceDomPref`: one octet, bit 3 the UE's usage setting,
bits 2-1 the voice domain preference for E-UTRAN."""

from __future__ import annotations

import functools
from typing import Literal

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)

# isort: split
from pycrate_mobile.TS24008_MM import VoiceDomPref

UsageSetting = Literal["voice-centric", "data-centric"]
VoiceDomain = Literal["cs-voice-only", "ims-ps-voice-only", "cs-voice-preferred",
                      "ims-ps-voice-preferred"]

# §10.5.5.28: bit 3 (0 voice centric, 1 data centric); bits 2-1 in this order 00, 01, 10, 11
USAGE_CODES: dict[str, int] = {"voice-centric": 0, "data-centric": 1}
DOMAIN_CODES: dict[str, int] = {"cs-voice-only": 0, "ims-ps-voice-only": 1,
                                "cs-voice-preferred": 2, "ims-ps-voice-preferred": 3}


@functools.lru_cache(maxsize=len(USAGE_CODES) * len(DOMAIN_CODES))
def to_wire(usage: UsageSetting, domain: VoiceDomain) -> bytes:
    """The IE value part (8 possible values, each built once)."""
    return VoiceDomPref(val={"UEUsage": USAGE_CODES[usage],
                             "VoiceDomPref": DOMAIN_CODES[domain]}).to_bytes()


def from_wire(raw: bytes) -> tuple[str, str]:
    """(usage setting, voice domain preference) names of a value part."""
    ie = VoiceDomPref()
    ie.from_bytes(raw[:1])
    usage, domain = ie["UEUsage"].get_val(), ie["VoiceDomPref"].get_val()
    return ({v: k for k, v in USAGE_CODES.items()}[usage],
            {v: k for k, v in DOMAIN_CODES.items()}[domain])
