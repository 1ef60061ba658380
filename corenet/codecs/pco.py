"""Protocol configuration options (TS 24.008 §10.5.6.3) with pycrate's `ProtConfig`.

The MS asks for parameters with empty containers (MS to network direction), the network
answers with filled ones (network to MS direction): here the P-CSCF addresses of IMS
(TS 24.229 §9.2.1 b: P-CSCF discovery through the PDN connection's PCO).

Every UE of a population sends the same request and gets the same answer, so each function
keeps its results for the last distinct PCOs it saw (`_SEEN` of them): pycrate stays the only
implementation, and reads a given PCO once instead of once per attach.
"""

from __future__ import annotations

import functools
import ipaddress

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)

# isort: split
from pycrate_mobile.TS24008_SM import ProtConfig

# TS 24.008 §10.5.6.3, container identifiers (table 10.5.154)
PCSCF_IPV6 = 0x0001  # MS to network: P-CSCF IPv6 Address Request; network to MS: the address
DNS_IPV6 = 0x0003
PCSCF_IPV4 = 0x000C  # MS to network: P-CSCF IPv4 Address Request; network to MS: the address
DNS_IPV4 = 0x000D
_SEEN = 256  # distinct PCOs whose results are kept (bounded: a peer chooses the bytes)


@functools.lru_cache(maxsize=_SEEN)
def request(*container_ids: int) -> bytes:
    """A PCO asking for `container_ids` (each an empty container), configuration protocol 0
    (PPP, with the extension bit set, §10.5.6.3 octet 3)."""
    return ProtConfig(val={"Config": [{"ID": cid} for cid in container_ids]}).to_bytes()


def containers(pco: bytes | None) -> list[tuple[int, bytes]]:
    """(container id, contents) of each container; an empty or unreadable PCO gives none
    (TS 24.008 §10.5.6.3: a receiver ignores what it cannot interpret)."""
    if not pco:
        return []
    return list(_containers(bytes(pco)))


@functools.lru_cache(maxsize=_SEEN)
def _containers(pco: bytes) -> tuple[tuple[int, bytes], ...]:
    ie = ProtConfig()
    try:
        ie.from_bytes(pco)
    except Exception:  # noqa: BLE001 - pycrate raises several types on truncated input
        return ()
    return tuple((int(cid), bytes(cont)) for cid, _length, cont in ie["Config"].get_val())


def pcscf_addresses(pco: bytes | None) -> list[str]:
    """The P-CSCF addresses of a network-to-MS PCO, IPv4 (000CH) and IPv6 (0001H), in order."""
    return list(_pcscf_addresses(bytes(pco))) if pco else []


@functools.lru_cache(maxsize=_SEEN)
def _pcscf_addresses(pco: bytes) -> tuple[str, ...]:
    return tuple(str(ipaddress.ip_address(cont)) for cid, cont in _containers(pco)
                 if (cid, len(cont)) in ((PCSCF_IPV4, 4), (PCSCF_IPV6, 16)))
