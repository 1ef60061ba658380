"""What the UE makes of the digits the user dialled (TS 24.229 §5.1.6.8.1, RFC 5031, RFC 3966).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from corenet.codecs.nas_ies import EmergencyNumber

# Japan's country code (ITU-T E.164 assignment) for national numbers the user dials
COUNTRY_CODE = "81"
# RFC 5031 §4.2 sub-services for the Japanese emergency numbers (110 police, 118 Japan Coast
# Guard, 119 fire and ambulance); 112 and 911 (TS 22.101 §10.1.1) map to the generic urn.
EMERGENCY_URNS: dict[str, str] = {
    "110": "urn:service:sos.police",
    "118": "urn:service:sos.marine",
    "119": "urn:service:sos.fire",
    "112": "urn:service:sos",
    "911": "urn:service:sos",
}
# TS 24.229 §5.1.6.8.1: the emergency service type from the categories of the network's
# Emergency Number List (TS 24.008 §10.5.3.13, §10.5.4.33), in RFC 5031 terms
CATEGORY_SERVICES: dict[str, str] = {
    "police": "sos.police", "ambulance": "sos.ambulance", "fire_brigade": "sos.fire",
    "fire": "sos.fire", "marine_guard": "sos.marine", "marine": "sos.marine",
    "mountain_rescue": "sos.mountain", "mountain": "sos.mountain",
}
# Caller-ID prefixes: 184 withholds, 186 presents the caller's number
PREFIX_WITHHOLD, PREFIX_PRESENT = "184", "186"
# Numbers whose destination depends on the caller's charging area (seed report): freephone,
# navigation dial and short codes go as home-local numbers, not as global E.164 numbers
LOCAL_ONLY_PREFIXES = ("0120", "0800", "0570", "0990")
class CallKind(enum.Enum):
    EMERGENCY = "emergency"
    NORMAL = "normal"


@dataclass(frozen=True)
class DialAnalysis:
    """What the UE makes of the digits the user dialled."""

    dialled: str
    digits: str  # separators removed
    kind: CallKind
    number: str  # the digits without a 184/186 prefix
    prefix: str | None
    request_uri: str
    to_uri: str
    privacy: str | None = None  # RFC 3323 §4.2 / RFC 3325 §9.3

    @property
    def emergency(self) -> bool:
        return self.kind is CallKind.EMERGENCY


def emergency_urn(number: str, numbers: Iterable[EmergencyNumber] = ()) -> str:
    """TS 24.229 §5.1.6.8.1: the service URN with the sub-service of the number's category
    in the network's Emergency Number List when it names exactly one, else Japan's table."""
    for entry in numbers:
        if entry.number == number and len(entry.categories) == 1:
            service = CATEGORY_SERVICES.get(entry.categories[0])
            if service is not None:
                return f"urn:service:{service}"
    return EMERGENCY_URNS.get(number, "urn:service:sos")


def normal_uri(digits: str, domain: str) -> str:
    """RFC 3966: '+'-numbers and national numbers (0 + area/mobile code) as global E.164
    tel URIs; charging-area dependent numbers (freephone, short codes, '#'-codes) as
    home-local numbers with the home domain as phone-context (TS 24.229 §5.1.2A.1.5)."""
    if digits.startswith("+"):
        return f"tel:{digits}"
    # RFC 3966 §3 / RFC 3261 §25.1: '#' is not allowed bare in a URI; it is sent as %23
    digits = digits.replace("#", "%23")
    national = (digits.startswith("0") and not digits.startswith("00") and len(digits) >= 10
                and not digits.startswith(LOCAL_ONLY_PREFIXES))
    if national:
        return f"tel:+{COUNTRY_CODE}{digits[1:]}"
    return f"tel:{digits};phone-context={domain}"


def split_prefix(digits: str) -> tuple[str | None, str]:
    if digits[:3] in (PREFIX_WITHHOLD, PREFIX_PRESENT) and len(digits) > 3:
        return digits[:3], digits[3:]
    return None, digits


def analyse_dialled(dialled: str, *, domain: str,
                    emergency_numbers: Iterable[EmergencyNumber] = ()) -> DialAnalysis:
    """Emergency number (the UE's list, TS 22.101 §10.1.1, plus the network's, TS 24.301
    §5.5.1.2.4), optionally behind 184/186, or a normal number."""
    digits = re.sub(r"[\s\-().]", "", dialled)
    if not digits or not re.fullmatch(r"\+?[0-9*#]+", digits):
        raise ValueError(f"{dialled!r} is not a dialable number")
    numbers = list(emergency_numbers)
    known = set(EMERGENCY_URNS) | {e.number for e in numbers}
    prefix, core = split_prefix(digits)
    if core in known:
        # 184 withholds the caller's identity (RFC 3325 §9.3 "id"); 186 presents it
        privacy = "id" if prefix == PREFIX_WITHHOLD else None
        urn = emergency_urn(core, numbers)
        # TS 24.229 §5.1.6.8.2: To carries the emergency URN or the dialled emergency number
        to = f"tel:{core};phone-context=+{COUNTRY_CODE}"
        return DialAnalysis(dialled, digits, CallKind.EMERGENCY, core, prefix, urn, to, privacy)
    uri = normal_uri(digits, domain)
    return DialAnalysis(dialled, digits, CallKind.NORMAL, digits, None, uri, uri)
