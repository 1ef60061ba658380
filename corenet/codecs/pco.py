"""Protocol configuration options (TS 24.008 §10.5.6.3) with pycrate's `ProtConfig`.

The MS asks for parameters with empty containers (MS to network direction), the network
answers with filled ones (network to MS direction): here the P-CSCF addresses of IMS
(TS 24.229 §9.2.1 b: P-CSCF discovery through the PDN connection's PCO).
"""

from __future__ import annotations

import ipaddress

import corenet.codecs._pycrate  # noqa: F401  (quiets pycrate before it loads)

# isort: split
from pycrate_mobile.TS24008_SM import ProtConfig

# TS 24.008 §10.5.6.3, container identifiers (table 10.5.154)
PCSCF_IPV6 = 0x0001  # MS to network: P-CSCF IPv6 Address Request; network to MS: the address
DNS_IPV6 = 0x0003
PCSCF_IPV4 = 0x000C  # MS to network: P-CSCF IPv4 Address Request; network to MS: the address
DNS_IPV4 = 0x000D


def request(*container_ids: int) -> bytes:
    """A PCO asking for `container_ids` (each an empty container), configuration protocol 0
    (PPP, with the extension bit set, §10.5.6.3 octet 3)."""
    return ProtConfig(val={"Config": [{"ID": cid} for cid in container_ids]}).to_bytes()


def containers(pco: bytes | None) -> list[tuple[int, bytes]]:
    """(container id, contents) of each container; an empty or unreadable PCO gives none
    (TS 24.008 §10.5.6.3: a receiver ignores what it cannot interpret)."""
    if not pco:
        return []
    ie = ProtConfig()
    try:
        ie.from_bytes(pco)
    except Exception:  # noqa: BLE001 - pycrate raises several types on truncated input
        return []
    return [(int(cid), bytes(cont)) for cid, _length, cont in ie["Config"].get_val()]


def pcscf_addresses(pco: bytes | None) -> list[str]:
    """The P-CSCF addresses of a network-to-MS PCO, IPv4 (000CH) and IPv6 (0001H), in order."""
    out = []
    for cid, cont in containers(pco):
        if (cid, len(cont)) in ((PCSCF_IPV4, 4), (PCSCF_IPV6, 16)):
            out.append(str(ipaddress.ip_address(cont)))
    return out
