"""The EPS NAS security context: NAS COUNT (TS 24.301 §4.4.3), integrity (§4.4.4) and
ciphering (§4.4.5) of NAS messages with the keys of TS 33.401 A.7.

The NAS codec builds the security protected message (TS 24.301 §9.1) with pycrate; it calls
`mac` over SQN octet || NAS message and `encrypt`/`decrypt` over the NAS message alone.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from corenet.crypto import eia_eea, kdf

# TS 33.401 B.1.1 / B.2.1: DIRECTION is 0 for uplink, 1 for downlink.
UPLINK = 0
DOWNLINK = 1
# TS 33.401 §8.1.1 (integrity) and §8.2 (ciphering): for NAS, BEARER is the constant 0.
NAS_BEARER = 0
_DIRECTIONS = (UPLINK, DOWNLINK)

_COUNT_MAX = (1 << 24) - 1


class NasCount:
    """NAS COUNT = NAS overflow (16 bits) || NAS SQN (8 bits) (TS 24.301 §4.4.3.1).

    On the sending side `value` is the count of the next message to send (`increment` after
    each). On the receiving side `value` is the count of the last message accepted; `estimate`
    turns a received 8-bit SQN into a full count and `accept` records it once verified.
    """

    __slots__ = ("_value", "_received")  # two per UE, on both sides of a storm

    def __init__(self, value: int = 0) -> None:
        if not 0 <= value <= _COUNT_MAX:
            raise ValueError(f"NAS COUNT is 24 bits, got {value}")
        self._value = value
        self._received = False

    def __repr__(self) -> str:
        return f"NasCount(overflow={self.overflow}, sqn={self.sqn})"

    @property
    def value(self) -> int:
        return self._value

    @property
    def overflow(self) -> int:
        return self._value >> 8

    @property
    def sqn(self) -> int:
        return self._value & 0xFF

    def increment(self) -> None:
        """After sending a message (§4.4.3.1). The count must not wrap with the same key."""
        if self._value == _COUNT_MAX:
            # §4.4.3.1: NAS COUNT must not wrap under one KASME (it would reuse keystream).
            raise OverflowError("NAS COUNT exhausted: a new KASME is required")
        self._value += 1

    def estimate(self, received_sqn: int) -> int:
        """Full NAS COUNT for a received SQN (§4.4.3.1).

        The overflow counter is assumed to have been incremented when the SQN is smaller than
        the SQN of the last accepted message.
        """
        if not 0 <= received_sqn <= 0xFF:
            raise ValueError(f"NAS SQN is 8 bits, got {received_sqn}")
        overflow = self.overflow
        if self._received and received_sqn < self.sqn:
            overflow += 1
        return ((overflow & 0xFFFF) << 8) | received_sqn

    def accept(self, count: int) -> bool:
        """Record a verified received count; False when it is not newer (replay, §4.4.3.2)."""
        if not 0 <= count <= _COUNT_MAX:
            return False
        if self._received and count <= self._value:
            return False
        self._value = count
        self._received = True
        return True


def _count32(count: int) -> int:
    """The 32-bit COUNT input: 8 zero bits || NAS COUNT (TS 24.301 §4.4.3.1)."""
    if not 0 <= count <= _COUNT_MAX:
        raise ValueError(f"NAS COUNT is 24 bits, got {count}")
    return count


@dataclass(slots=True)
class NasSecurityContext:
    """A current EPS security context (TS 33.401 §3.1, TS 24.301 §4.4.2)."""

    ksi: int
    kasme: bytes
    eia: int
    eea: int
    k_nas_int: bytes
    k_nas_enc: bytes
    ul_count: NasCount = field(default_factory=NasCount)
    dl_count: NasCount = field(default_factory=NasCount)

    @classmethod
    def from_kasme(cls, ksi: int, kasme: bytes, eia: int, eea: int) -> NasSecurityContext:
        """Derive K_NASenc and K_NASint for the selected algorithms (TS 33.401 A.7)."""
        k_nas_enc, k_nas_int = kdf.nas_keys(kasme, eea, eia)
        return cls(ksi=ksi, kasme=kasme, eia=eia, eea=eea, k_nas_int=k_nas_int,
                   k_nas_enc=k_nas_enc)

    def seal(self, direction: int, ciphered: bool, plain: bytes) -> tuple[int, bytes, bytes]:
        """Protect the next message sent in `direction`: (SQN, NAS-MAC, NAS message), the
        message ciphered (TS 24.301 §4.4.5) or not, the MAC over SQN octet || message
        (§4.4.3.3); then the direction's NAS COUNT is incremented (§4.4.3.1)."""
        nas_count = self.ul_count if direction == UPLINK else self.dl_count
        count = nas_count.value
        payload = self._cipher(count, direction, plain) if ciphered else plain
        sqn = count & 0xFF
        mac = self._integrity(count, direction, bytes((sqn,)) + payload)
        nas_count.increment()
        return sqn, mac, payload

    def open(self, direction: int, ciphered: bool, mac: bytes, sqn: int,
             payload: bytes) -> tuple[bytes, bool]:
        """(plain NAS message, MAC valid and count newer) of a message received in
        `direction`: the NAS COUNT estimated from its SQN (TS 24.301 §4.4.3.1), the MAC
        checked (§4.4.3.3), the message deciphered (§4.4.5); a valid count is recorded as the
        last one received, a replayed one refused (§4.4.3.2)."""
        nas_count = self.ul_count if direction == UPLINK else self.dl_count
        count = nas_count.estimate(sqn)
        ok = hmac.compare_digest(self._integrity(count, direction, bytes((sqn,)) + payload), mac)
        plain = self._cipher(count, direction, payload) if ciphered else payload
        if ok:
            ok = nas_count.accept(count)
        return plain, ok

    # seal and open pass a NAS COUNT of 24 bits (NasCount): with DIRECTION UPLINK or DOWNLINK
    # and a 128-bit key, 128-EIA2 and 128-EEA2, the algorithms of nearly every context, are
    # called without their parameter checks
    def _integrity(self, count: int, direction: int, data: bytes) -> bytes:
        if self.eia == 2 and direction in _DIRECTIONS and len(self.k_nas_int) == 16:
            return eia_eea.nas_eia2(self.k_nas_int, count, direction, data)
        return eia_eea.integrity(self.eia, self.k_nas_int, count, NAS_BEARER, direction, data)

    def _cipher(self, count: int, direction: int, data: bytes) -> bytes:
        if self.eea == 2 and direction in _DIRECTIONS and len(self.k_nas_enc) == 16:
            return eia_eea.nas_eea2(self.k_nas_enc, count, direction, data)
        return eia_eea.cipher(self.eea, self.k_nas_enc, count, NAS_BEARER, direction, data)

    def count_for(self, direction: int) -> NasCount:
        return self.ul_count if direction == UPLINK else self.dl_count

    def mac(self, direction: int, count: int, data: bytes) -> bytes:
        """NAS-MAC over data = SQN octet || NAS message (TS 24.301 §4.4.3.3, §9.1)."""
        return eia_eea.integrity(
            self.eia, self.k_nas_int, _count32(count), NAS_BEARER, direction, data
        )

    def encrypt(self, direction: int, count: int, data: bytes) -> bytes:
        """Cipher the plain NAS message (TS 24.301 §4.4.5)."""
        return eia_eea.cipher(
            self.eea, self.k_nas_enc, _count32(count), NAS_BEARER, direction, data
        )

    def decrypt(self, direction: int, count: int, data: bytes) -> bytes:
        """Decipher a NAS message: the stream cipher is its own inverse (TS 33.401 B.1)."""
        return self.encrypt(direction, count, data)
