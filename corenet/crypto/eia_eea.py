"""EPS integrity (EIA) and ciphering (EEA) algorithms, TS 33.401 §5.1.3, §5.1.4 and Annex B.

Algorithm identifiers follow TS 33.401 §5.1.3.2 / §5.1.4.2: 0 = EIA0/EEA0 (null),
1 = 128-EIA1/EEA1 (SNOW 3G), 2 = 128-EIA2/EEA2 (AES), 3 = 128-EIA3/EEA3 (ZUC).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

MAC_LEN = 4
_MASK128 = (1 << 128) - 1


class UnsupportedAlgorithm(ValueError):
    """An EIA/EEA identifier this implementation does not provide."""


def _check_params(key: bytes, count: int, bearer: int, direction: int) -> None:
    # TS 33.401 B.1.1 / B.2.1: KEY 128 bits, COUNT 32 bits, BEARER 5 bits, DIRECTION 1 bit.
    if len(key) != 16:
        raise ValueError(f"KEY is 16 octets, got {len(key)}")
    if not 0 <= count < 1 << 32:
        raise ValueError(f"COUNT is 32 bits, got {count}")
    if not 0 <= bearer < 32:
        raise ValueError(f"BEARER is 5 bits, got {bearer}")
    if direction not in (0, 1):
        raise ValueError(f"DIRECTION is 0 (uplink) or 1 (downlink), got {direction}")


def _length(data: bytes, length_bits: int | None) -> int:
    if length_bits is None:
        return len(data) * 8
    if not 0 <= length_bits <= len(data) * 8:
        raise ValueError(f"LENGTH {length_bits} bits exceeds the {len(data)} octets given")
    return length_bits


def _zero_tail(data: bytes, length_bits: int) -> bytes:
    """Keep the first length_bits bits; the bits after them in the last octet become 0."""
    out = bytearray(data[: (length_bits + 7) // 8])
    spare = -length_bits % 8
    if spare:
        out[-1] &= (0xFF << spare) & 0xFF
    return bytes(out)


def _block_prefix(count: int, bearer: int, direction: int) -> bytes:
    """COUNT[0..31] || BEARER[0..4] || DIRECTION || 0^26 (TS 33.401 B.1.3, B.2.3)."""
    return _prefix(count, bearer, direction).to_bytes(8, "big")


def _prefix(count: int, bearer: int, direction: int) -> int:
    """The 64 bits of `_block_prefix` as an integer."""
    return (count << 32) | (bearer << 27) | (direction << 26)


def _ramp(blocks: int) -> tuple[int, int]:
    """(R, I) with R = sum 2^(128 (n-1-i)) and I = sum i 2^(128 (n-1-i)), i = 0..n-1: the
    counter blocks T1..Tn of 128-EEA2 (TS 33.401 B.1.3) are (PREFIX || 0^64) * R + I, one
    integer of n blocks (i < 2^64: no carry from one block into the next)."""
    rep = ramp = 0
    for i in range(blocks):
        rep = (rep << 128) | 1
        ramp = (ramp << 128) | i
    return rep, ramp


# the NAS messages of a storm are a few blocks long; longer ones join their blocks
_RAMPS = [_ramp(n) for n in range(33)]


def _dbl(x: int) -> int:
    """Doubling in GF(2^128) for CMAC subkeys (NIST SP 800-38B §6.1)."""
    x <<= 1
    return (x & _MASK128) ^ (0x87 if x >> 128 else 0)


def cmac_bits(key: bytes, data: bytes, length_bits: int) -> bytes:
    """AES-CMAC over a message of any bit length (NIST SP 800-38B §6.2), 16 octets.

    128-EIA2 is defined on bit strings (TS 33.401 B.2.3); this covers lengths that are not a
    whole number of octets.
    """
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    k1 = _dbl(int.from_bytes(enc.update(bytes(16)), "big"))
    k2 = _dbl(k1)
    nbytes = (length_bits + 7) // 8
    m = int.from_bytes(data[:nbytes], "big") >> (nbytes * 8 - length_bits)
    nblocks = max(1, (length_bits + 127) // 128)
    if length_bits and length_bits % 128 == 0:
        m ^= k1
    else:
        # SP 800-38B §6.2 step 4: append a single 1 bit, then zeros up to the block boundary.
        m = (((m << 1) | 1) << (nblocks * 128 - length_bits - 1)) ^ k2
    blocks = m.to_bytes(nblocks * 16, "big")
    x = bytes(16)
    for i in range(nblocks):
        x = enc.update(bytes(a ^ b for a, b in zip(x, blocks[16 * i : 16 * i + 16], strict=True)))
    return x


# One keyed CMAC per K_NASint (or K_RRCint...): a security context MACs every NAS message with
# the same key, so the AES key schedule and the CMAC object are made once per key and each MAC
# starts from a copy (NIST SP 800-38B §6.2 keeps no state between messages). Bounded: cleared
# when full.
_CMACS: dict[bytes, CMAC] = {}
_CMACS_MAX = 4096


def _keyed_cmac(key: bytes) -> CMAC:
    if type(key) is not bytes:
        key = bytes(key)
    keyed = _CMACS.get(key)
    if keyed is None:
        keyed = CMAC(algorithms.AES(key))
        if len(_CMACS) >= _CMACS_MAX:
            _CMACS.clear()
        _CMACS[key] = keyed
    return keyed.copy()


def aes_cmac(key: bytes, data: bytes, length_bits: int) -> bytes:
    """AES-CMAC, through the `cryptography` package when the length is whole octets."""
    if length_bits % 8:
        return cmac_bits(key, data, length_bits)
    c = _keyed_cmac(key)
    c.update(data[: length_bits // 8])
    return c.finalize()


def eia0(
    key: bytes,
    count: int,
    bearer: int,
    direction: int,
    message: bytes,
    length_bits: int | None = None,
) -> bytes:
    """Null integrity: a MAC of 32 zero bits (TS 33.401 §5.1.4.2, TS 24.301 §4.4.3.3)."""
    return bytes(MAC_LEN)


def eea0(
    key: bytes,
    count: int,
    bearer: int,
    direction: int,
    data: bytes,
    length_bits: int | None = None,
) -> bytes:
    """Null ciphering: the keystream is all zeros (TS 33.401 §5.1.3.2)."""
    return bytes(data)


def eia2(
    key: bytes,
    count: int,
    bearer: int,
    direction: int,
    message: bytes,
    length_bits: int | None = None,
) -> bytes:
    """128-EIA2: MACT = the 32 most significant bits of AES-CMAC(KEY, M) (TS 33.401 B.2.3).

    M = COUNT || BEARER || DIRECTION || 0^26 || MESSAGE, Mlen = 64 + LENGTH.
    """
    _check_params(key, count, bearer, direction)
    if length_bits is None:  # whole octets: the message as it is
        return _eia2_octets(key, _prefix(count, bearer, direction), message)
    n = _length(message, length_bits)
    prefix = _block_prefix(count, bearer, direction)
    return aes_cmac(key, prefix + _zero_tail(message, n), 64 + n)[:MAC_LEN]


def _eia2_octets(key: bytes, prefix: int, message: bytes) -> bytes:
    c = _keyed_cmac(key)
    c.update(prefix.to_bytes(8, "big"))
    c.update(message)
    return c.finalize()[:MAC_LEN]


def nas_eia2(key: bytes, count: int, direction: int, message: bytes) -> bytes:
    """128-EIA2 of a NAS message (TS 33.401 §8.1.1: BEARER 0) for a NAS security context,
    whose KEY (K_NASint, 16 octets from A.7), COUNT (a 24-bit NAS COUNT) and DIRECTION (0
    or 1) are valid by construction: `eia2` without its parameter checks."""
    return _eia2_octets(key, (count << 32) | (direction << 26), message)


def eea2(
    key: bytes,
    count: int,
    bearer: int,
    direction: int,
    data: bytes,
    length_bits: int | None = None,
) -> bytes:
    """128-EEA2: AES in CTR mode (TS 33.401 B.1.3).

    T1 = COUNT || BEARER || DIRECTION || 0^26 || 0^64; the following counter blocks increment
    the 64 least significant bits, which `cryptography`'s 128-bit CTR counter matches for
    any message shorter than 2^64 blocks.
    """
    _check_params(key, count, bearer, direction)
    n = _length(data, length_bits)
    out = _ctr(key, _prefix(count, bearer, direction), data[: (n + 7) // 8])
    return out if length_bits is None else _zero_tail(out, n)


def nas_eea2(key: bytes, count: int, direction: int, data: bytes) -> bytes:
    """128-EEA2 of a NAS message (TS 33.401 §8.2: BEARER 0) for a NAS security context, as
    `nas_eia2` (K_NASenc): `eea2` without its parameter checks."""
    return _ctr(key, (count << 32) | (direction << 26), data)


def _ctr(key: bytes, prefix: int, plain: bytes) -> bytes:
    """`plain` XOR the keystream AES(KEY, T1) || AES(KEY, T2) ..., T1 = PREFIX || 0^64."""
    size = len(plain)
    if not size:
        return b""
    # the counter blocks T1, T2, ... enciphered at once into the keystream, XORed in
    blocks = (size + 15) // 16
    if blocks < len(_RAMPS):
        rep, ramp = _RAMPS[blocks]
        counters = ((prefix << 64) * rep + ramp).to_bytes(16 * blocks, "big")
    else:
        head = prefix.to_bytes(8, "big")
        counters = b"".join(head + i.to_bytes(8, "big") for i in range(blocks))
    stream = int.from_bytes(_keyed_ecb(key).update(counters), "big") >> (8 * (16 * blocks - size))
    return (int.from_bytes(plain, "big") ^ stream).to_bytes(size, "big")


# One AES block encryptor per K_NASenc (as the CMACs above): the keystream blocks of CTR mode
# are AES(KEY, Ti) (NIST SP 800-38A §6.5), and an ECB encryptor given whole blocks keeps no
# state between calls, so each message reuses the key schedule. Bounded: cleared when full.
_ECBS: dict[bytes, Any] = {}


def _keyed_ecb(key: bytes) -> Any:
    if type(key) is not bytes:
        key = bytes(key)
    keyed = _ECBS.get(key)
    if keyed is None:
        keyed = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        if len(_ECBS) >= _CMACS_MAX:
            _ECBS.clear()
        _ECBS[key] = keyed
    return keyed


def integrity(
    alg: int, key: bytes, count: int, bearer: int, direction: int, message: bytes
) -> bytes:
    """MAC-I / NAS-MAC with EIA `alg` over the whole of `message`."""
    try:
        fn = _EIA[alg]
    except KeyError:
        raise UnsupportedAlgorithm(f"EIA{alg} is not supported") from None
    return fn(key, count, bearer, direction, message)


def cipher(alg: int, key: bytes, count: int, bearer: int, direction: int, data: bytes) -> bytes:
    """Cipher (or decipher: the same operation) `data` with EEA `alg`."""
    try:
        fn = _EEA[alg]
    except KeyError:
        raise UnsupportedAlgorithm(f"EEA{alg} is not supported") from None
    return fn(key, count, bearer, direction, data)


_EIA = {0: eia0, 2: eia2}
_EEA = {0: eea0, 2: eea2}
