"""UE address pools per APN, owned by the PDN GW (TS 23.401 §5.3.1.1, §5.3.1.2).

An IPv4 PDN connection gets one address; an IPv6 one a /64 prefix out of the APN's configured
network (TS 23.401 §5.3.1.2.2: one globally unique /64 per PDN connection) together with the
interface identifier the UE uses for its link-local address; IPv4v6 gets both.
"""

from __future__ import annotations

import functools
import heapq
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from corenet.codecs.pcc import ipv6_text
from corenet.config.models import ApnPool
from corenet.core.errors import ConfigError, CorenetError

# PDN Type values, TS 29.274 §8.34
PDN_IPV4, PDN_IPV6, PDN_IPV4V6 = 1, 2, 3

# Cause values, TS 29.274 Table 8.4-1
CAUSE_MISSING_OR_UNKNOWN_APN = 78
CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED = 83
CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED = 84

IPV6_PREFIX_LENGTH = 64
# TS 23.401 §5.3.1.2.2: the interface identifier sent to the UE; the PDN GW's own on the link
# must differ from it, and the UE is free to pick another one for its global address.
UE_INTERFACE_ID = 1

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_HOST_BITS = 128 - IPV6_PREFIX_LENGTH


def ipv4_text(value: int) -> str:
    """Dotted-quad text of an IPv4 address held as an integer."""
    return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))


def address_int(ip: str | IpAddress) -> tuple[int, int] | None:
    """(IP version, the address as an integer) of a UE address; None if it is not one."""
    if not isinstance(ip, str):
        return ip.version, int(ip)
    try:
        if ":" in ip:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, ip), "big")
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
    except OSError:
        return None


def prefix_of(address: int) -> int:
    """The /64 prefix (TS 23.401 §5.3.1.2.2) holding an IPv6 address, as an integer."""
    return address >> _HOST_BITS << _HOST_BITS


class AllocationError(CorenetError):
    """No address for this request; `cause` is the GTPv2 cause the PDN GW answers with."""

    def __init__(self, cause: int, detail: str) -> None:
        super().__init__(f"{detail} (cause {cause})")
        self.cause = cause
        self.detail = detail


# The text of the addresses of the last PDN connections, by their integers: a Create Session
# Response, the session's record, Gx and the log of each of its requests all write them, within
# moments. Bounded (an address forgotten is written anew), and kept out of `Allocation`, whose
# 100,000 instances of a storm hold integers only.
_TEXTS_KEPT = 4096
_IPV4_TEXTS: dict[int, str] = {}
_IPV6_PREFIX_TEXTS: dict[int, str] = {}


def _keep_text(texts: dict[int, str], address: int, text: str) -> str:
    if len(texts) >= _TEXTS_KEPT:
        texts.clear()
    texts[address] = text
    return text


@dataclass(frozen=True, slots=True)
class Allocation:
    """The addresses of one PDN connection (PAA, TS 29.274 §8.14). A storm holds 100,000 of
    them: the IPv4 address and the /64 prefix (its first address) are integers, turned into
    text or `ipaddress` objects only where a message, a record or a log needs them."""

    apn: str
    pdn_type: int
    ipv4: int | None
    ipv6_prefix: int | None

    @property
    def ipv4_text(self) -> str | None:
        address = self.ipv4
        if address is None:
            return None
        text = _IPV4_TEXTS.get(address)
        if text is None:
            text = _keep_text(_IPV4_TEXTS, address, ipv4_text(address))
        return text

    @property
    def ipv6_prefix_text(self) -> str | None:
        """The prefix as "<address>/64"."""
        prefix = self.ipv6_prefix
        if prefix is None:
            return None
        text = _IPV6_PREFIX_TEXTS.get(prefix)
        if text is None:
            text = _keep_text(_IPV6_PREFIX_TEXTS, prefix,
                              f"{ipv6_text(prefix)}/{IPV6_PREFIX_LENGTH}")
        return text

    @property
    def ipv6_text(self) -> str | None:
        """The prefix with the UE interface identifier (TS 23.401 §5.3.1.2.2)."""
        if self.ipv6_prefix is None:
            return None
        return ipv6_text(self.ipv6_prefix + UE_INTERFACE_ID)

    @property
    def ipv4_address(self) -> ipaddress.IPv4Address | None:
        return None if self.ipv4 is None else ipaddress.IPv4Address(self.ipv4)

    @property
    def ipv6_network(self) -> ipaddress.IPv6Network | None:
        if self.ipv6_prefix is None:
            return None
        return ipaddress.IPv6Network((self.ipv6_prefix, IPV6_PREFIX_LENGTH))

    def paa(self) -> dict[str, Any]:
        """The PAA value of the GTPv2 codec (TS 29.274 §8.14)."""
        return {
            "pdn_type": self.pdn_type,
            "ipv4": self.ipv4_text,
            "ipv6": self.ipv6_text,
            "ipv6_prefix_length": None if self.ipv6_prefix is None else IPV6_PREFIX_LENGTH,
        }

    def holds(self, ip: str | IpAddress) -> bool:
        """True for the IPv4 address or any address of the /64 (the UE picks its IPv6 IID)."""
        found = address_int(ip)
        if found is None:
            return False
        version, value = found
        if version == 4:
            return value == self.ipv4
        return self.ipv6_prefix is not None and prefix_of(value) == self.ipv6_prefix


_CHUNK_SHIFT = 12  # 4,096 members per bitmap of BitSet: 512 octets


class BitSet:
    """A set of non-negative integers kept as bitmaps of 4,096 bits, each made when the first
    member of its range arrives and dropped with the last one. Addresses and TEIDs are handed
    out in order, so their members sit together: a bit or so each, where a `set` of ints
    takes ~130 octets per member (a storm holds 100,000 PDN connections, with 4 TEIDs, an
    IPv4 address and an IPv6 prefix each)."""

    __slots__ = ("_chunks", "_counts", "_len")

    def __init__(self) -> None:
        self._chunks: dict[int, bytearray] = {}
        self._counts: dict[int, int] = {}
        self._len = 0

    def __contains__(self, n: int) -> bool:
        chunk = self._chunks.get(n >> _CHUNK_SHIFT)
        return chunk is not None and bool(chunk[(n & 0xFFF) >> 3] & (1 << (n & 7)))

    def __len__(self) -> int:
        return self._len

    def add(self, n: int) -> None:
        key = n >> _CHUNK_SHIFT
        chunk = self._chunks.get(key)
        if chunk is None:
            chunk = self._chunks[key] = bytearray(1 << (_CHUNK_SHIFT - 3))
            self._counts[key] = 0
        i, bit = (n & 0xFFF) >> 3, 1 << (n & 7)
        if not chunk[i] & bit:
            chunk[i] |= bit
            self._counts[key] += 1
            self._len += 1

    def discard(self, n: int) -> None:
        key = n >> _CHUNK_SHIFT
        chunk = self._chunks.get(key)
        i, bit = (n & 0xFFF) >> 3, 1 << (n & 7)
        if chunk is None or not chunk[i] & bit:
            return
        chunk[i] &= ~bit & 0xFF
        self._len -= 1
        self._counts[key] -= 1
        if not self._counts[key]:
            del self._chunks[key], self._counts[key]


class _Range:
    """Lowest-free-first allocation of the integers 0..size-1, released ones reused first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._next = 0
        self._free: list[int] = []
        self._used = BitSet()

    def take(self) -> int | None:
        if self._free:
            index = heapq.heappop(self._free)
        elif self._next < self.size:
            index, self._next = self._next, self._next + 1
        else:
            return None
        self._used.add(index)
        return index

    def reserve(self, index: int) -> bool:
        """Mark `index` taken (a restored allocation); False if out of range or taken."""
        if not 0 <= index < self.size or index in self._used:
            return False
        if index >= self._next:
            for skipped in range(self._next, index):
                heapq.heappush(self._free, skipped)
            self._next = index + 1
        else:
            self._free.remove(index)
            heapq.heapify(self._free)
        self._used.add(index)
        return True

    def give_back(self, index: int) -> None:
        if index in self._used:
            self._used.discard(index)
            heapq.heappush(self._free, index)

    @property
    def in_use(self) -> int:
        return len(self._used)


class ApnAddressPool:
    """The IPv4 addresses and IPv6 /64 prefixes of one APN."""

    def __init__(self, cfg: ApnPool) -> None:
        self.apn = apn_network_identifier(cfg.apn)
        self.ipv4 = None if cfg.ipv4 is None else ipaddress.IPv4Network(cfg.ipv4)
        self.ipv6 = None if cfg.ipv6 is None else ipaddress.IPv6Network(cfg.ipv6)
        if self.ipv6 is not None and self.ipv6.prefixlen > IPV6_PREFIX_LENGTH:
            raise ConfigError(f"pools[{cfg.apn}].ipv6: {self.ipv6} is longer than /64 "
                              "(TS 23.401 §5.3.1.2.2 gives each UE a /64)")
        # network and broadcast addresses are not host addresses (RFC 919, RFC 950)
        v4_hosts = 0 if self.ipv4 is None else max(self.ipv4.num_addresses - 2, 0)
        if self.ipv4 is not None and self.ipv4.prefixlen >= 31:
            v4_hosts = self.ipv4.num_addresses
        self._v4 = _Range(v4_hosts)
        self._v4_first = 0 if self.ipv4 is None else (
            int(self.ipv4.network_address) + (0 if self.ipv4.prefixlen >= 31 else 1))
        self._v6 = _Range(0 if self.ipv6 is None else
                          1 << (IPV6_PREFIX_LENGTH - self.ipv6.prefixlen))
        self._v4_net = 0 if self.ipv4 is None else int(self.ipv4.network_address)
        self._v6_net = 0 if self.ipv6 is None else int(self.ipv6.network_address)

    def supports(self, pdn_type: int) -> bool:
        if pdn_type == PDN_IPV4:
            return self.ipv4 is not None
        if pdn_type == PDN_IPV6:
            return self.ipv6 is not None
        return pdn_type == PDN_IPV4V6 and (self.ipv4 is not None or self.ipv6 is not None)

    def granted_type(self, requested: int) -> int:
        """TS 23.401 §5.3.1.1: IPv4v6 on a single-stack APN is narrowed to what it has."""
        if requested != PDN_IPV4V6 or (self.ipv4 is not None and self.ipv6 is not None):
            return requested
        return PDN_IPV4 if self.ipv4 is not None else PDN_IPV6

    def allocate(self, pdn_type: int) -> Allocation:
        if not self.supports(pdn_type):
            raise AllocationError(CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED,
                                  f"APN {self.apn} has no pool for PDN type {pdn_type}")
        granted = self.granted_type(pdn_type)
        v4 = self._take_v4() if granted in (PDN_IPV4, PDN_IPV4V6) else None
        v6 = self._take_v6() if granted in (PDN_IPV6, PDN_IPV4V6) else None
        if (granted != PDN_IPV6 and v4 is None) or (granted != PDN_IPV4 and v6 is None):
            self.release(Allocation(self.apn, granted, v4, v6))
            raise AllocationError(CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED,
                                  f"APN {self.apn}: all dynamic addresses are occupied")
        return Allocation(self.apn, granted, v4, v6)

    def reserve(self, allocation: Allocation) -> bool:
        """Take the addresses of a restored allocation again (TS 23.007 §18); False if one of
        them is outside this pool or already taken (nothing is taken then)."""
        v4 = v6 = None
        if allocation.ipv4 is not None:
            v4 = self._v4_index(allocation.ipv4)
            if v4 is None:
                return False
        if allocation.ipv6_prefix is not None:
            v6 = self._v6_index(allocation.ipv6_prefix)
            if v6 is None:
                return False
        if v4 is not None and not self._v4.reserve(v4):
            return False
        if v6 is not None and not self._v6.reserve(v6):
            if v4 is not None:
                self._v4.give_back(v4)
            return False
        return True

    def _v4_index(self, address: int) -> int | None:
        """The index of an address of this pool's IPv4 network (its network and broadcast
        addresses too: `_Range.reserve` refuses what it never hands out)."""
        if self.ipv4 is None:
            return None
        host_bits = 32 - self.ipv4.prefixlen
        if address >> host_bits << host_bits != self._v4_net:
            return None
        return address - self._v4_first

    def _v6_index(self, prefix: int) -> int | None:
        """The index of a /64 prefix of this pool's IPv6 network."""
        if self.ipv6 is None:
            return None
        host_bits = 128 - self.ipv6.prefixlen
        if prefix != prefix_of(prefix) or prefix >> host_bits << host_bits != self._v6_net:
            return None
        return (prefix - self._v6_net) >> _HOST_BITS

    @property
    def capacity(self) -> int:
        """PDN connections this pool can serve (the smaller family bounds dual-stack ones)."""
        sizes = [r.size for r in (self._v4, self._v6) if r.size > 0]
        return min(sizes) if sizes else 0

    def release(self, allocation: Allocation) -> None:
        if allocation.ipv4 is not None and (v4 := self._v4_index(allocation.ipv4)) is not None:
            self._v4.give_back(v4)
        if (allocation.ipv6_prefix is not None
                and (v6 := self._v6_index(allocation.ipv6_prefix)) is not None):
            self._v6.give_back(v6)

    @property
    def in_use(self) -> tuple[int, int]:
        """(IPv4 addresses, IPv6 prefixes) allocated."""
        return self._v4.in_use, self._v6.in_use

    def _take_v4(self) -> int | None:
        index = self._v4.take()
        return None if index is None else self._v4_first + index

    def _take_v6(self) -> int | None:
        index = self._v6.take()
        return None if index is None else self._v6_net + (index << _HOST_BITS)


class AddressPools:
    """All APN pools of the PDN GW, looked up by APN network identifier."""

    def __init__(self, pools: list[ApnPool]) -> None:
        self._pools = {p.apn: p for p in (ApnAddressPool(c) for c in pools)}

    def pool(self, apn: str) -> ApnAddressPool:
        pool = self._pools.get(apn_network_identifier(apn))
        if pool is None:
            raise AllocationError(CAUSE_MISSING_OR_UNKNOWN_APN, f"unknown APN {apn!r}")
        return pool

    def allocate(self, apn: str, pdn_type: int) -> Allocation:
        return self.pool(apn).allocate(pdn_type)

    def release(self, allocation: Allocation) -> None:
        pool = self._pools.get(allocation.apn)
        if pool is not None:
            pool.release(allocation)

    def reserve(self, allocation: Allocation) -> bool:
        pool = self._pools.get(allocation.apn)
        return pool is not None and pool.reserve(allocation)


@functools.lru_cache(maxsize=256)
def apn_network_identifier(apn: str) -> str:
    """TS 23.003 §9.1: the APN without its Operator Identifier; APNs are case-insensitive."""
    labels = apn.lower().split(".")
    # Operator Identifier: "mnc<MNC>.mcc<MCC>.gprs" (TS 23.003 §9.1.2)
    if (len(labels) > 3 and labels[-1] == "gprs" and labels[-2].startswith("mcc")
            and labels[-3].startswith("mnc")):
        labels = labels[:-3]
    return ".".join(labels)
