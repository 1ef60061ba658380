"""Milenage (TS 35.206) and the AKA values built on it (TS 33.102 §6.3, Annex C).

The network side builds authentication vectors (`generate_vector`) and recovers SQN_MS from a
re-synchronisation token (`resync_sqn`); the UE side checks AUTN (`check_autn`), keeps the
SQN array of Annex C.2 (`SqnArray`) and builds AUTS (`build_auts`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SQN_LEN = 6
AMF_LEN = 2
RAND_LEN = 16
AUTN_LEN = 16
AUTS_LEN = 14
# TS 33.102 §6.3.3: MAC-S is computed with a dummy AMF of all zeros.
AMF_RESYNC = b"\x00\x00"

# TS 35.206 §4.1: rotation amounts r1..r5 (bits) and constants c1..c5 (128-bit).
_R = (64, 0, 32, 64, 96)
_C = tuple(n.to_bytes(16, "big") for n in (0, 1, 2, 4, 8))


class MacSFailure(Exception):
    """MAC-S in AUTS did not verify; the HSS must not re-synchronise (TS 33.102 §6.3.5)."""


def _xor(a: bytes, b: bytes) -> bytes:
    if len(a) != len(b):
        raise ValueError(f"XOR of {len(a)} and {len(b)} octets")
    # one big-integer XOR instead of a generator over octets
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _rot(x: bytes, r_bits: int) -> bytes:
    """Cyclic rotation towards the most significant bit (TS 35.206 §4.1); r is a byte multiple."""
    n = r_bits // 8
    return x[n:] + x[:n]


def _check_len(name: str, value: bytes, length: int) -> None:
    if len(value) != length:
        raise ValueError(f"{name} must be {length} octets, got {len(value)}")


def _ecb(k: bytes) -> Cipher[modes.ECB]:
    _check_len("K", k, 16)
    return Cipher(algorithms.AES(k), modes.ECB())


def opc_from_op(k: bytes, op: bytes) -> bytes:
    """OPc = OP xor E_K(OP) (TS 35.206 §4.1)."""
    _check_len("OP", op, 16)
    enc = _ecb(k).encryptor()
    return _xor(enc.update(op), op)


class Milenage:
    """The Milenage kernel for one subscriber key K and its OPc (TS 35.206 §4.1)."""

    __slots__ = ("_enc", "_opc", "_last")  # one per simulated USIM

    def __init__(self, k: bytes, opc: bytes) -> None:
        _check_len("OPc", opc, 16)
        self._enc = _ecb(k).encryptor()
        self._opc = opc
        self._last: tuple[bytes, bytes] | None = None  # (RAND, TEMP) of the last RAND

    def forget_rand(self) -> None:
        """Drop the TEMP kept for the last RAND (once its f1..f5 are computed)."""
        self._last = None

    def _e(self, block: bytes) -> bytes:
        return self._enc.update(block)

    def _temp(self, rand: bytes) -> bytes:
        """TEMP = E_K(RAND xor OPc): f1 and f2-f5 of one RAND share it (computed once)."""
        last = self._last
        if last is not None and last[0] == rand:
            return last[1]
        _check_len("RAND", rand, RAND_LEN)
        temp = self._e(_xor(rand, self._opc))
        self._last = (bytes(rand), temp)
        return temp

    def _out1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc, IN1 = SQN||AMF||SQN||AMF."""
        _check_len("SQN", sqn, SQN_LEN)
        _check_len("AMF", amf, AMF_LEN)
        in1 = (sqn + amf) * 2
        block = _xor(_xor(self._temp(rand), _rot(_xor(in1, self._opc), _R[0])), _C[0])
        return _xor(self._e(block), self._opc)

    def _out(self, rand: bytes, i: int) -> bytes:
        """OUTi = E_K(rot(TEMP xor OPc, ri) xor ci) xor OPc for i = 2..5."""
        block = _xor(_rot(_xor(self._temp(rand), self._opc), _R[i - 1]), _C[i - 1])
        return _xor(self._e(block), self._opc)

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-A, the network authentication code (8 octets)."""
        return self._out1(rand, sqn, amf)[:8]

    def f1star(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-S, the re-synchronisation authentication code (8 octets)."""
        return self._out1(rand, sqn, amf)[8:]

    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
        """(RES 8, CK 16, IK 16, AK 6): RES and AK from OUT2, CK OUT3, IK OUT4."""
        out2 = self._out(rand, 2)
        return out2[8:], self._out(rand, 3), self._out(rand, 4), out2[:6]

    def f5star(self, rand: bytes) -> bytes:
        """AK* for re-synchronisation (6 octets) from OUT5."""
        return self._out(rand, 5)[:6]


def sqn_to_int(b: bytes) -> int:
    _check_len("SQN", b, SQN_LEN)
    return int.from_bytes(b, "big")


def int_to_sqn(n: int) -> bytes:
    if not 0 <= n < 1 << 48:
        raise ValueError(f"SQN is 48 bits, got {n}")
    return n.to_bytes(SQN_LEN, "big")


def eps_separation_bit(amf: bytes) -> bool:
    """AMF bit 0 (the most significant) is the E-UTRAN separation bit (TS 33.401 §6.1.1)."""
    _check_len("AMF", amf, AMF_LEN)
    return bool(amf[0] & 0x80)


@dataclass(frozen=True)
class AuthVector:
    """An authentication vector (TS 33.102 §6.3.2) with the values E-UTRAN keys need."""

    rand: bytes
    xres: bytes
    autn: bytes
    ck: bytes
    ik: bytes
    ak: bytes
    sqn: bytes

    @property
    def sqn_xor_ak(self) -> bytes:
        """The concealed SQN, the first 6 octets of AUTN (input to KASME, TS 33.401 A.2)."""
        return self.autn[:SQN_LEN]


def generate_vector(m: Milenage, rand: bytes, sqn: bytes, amf: bytes) -> AuthVector:
    """AUTN = SQN xor AK || AMF || MAC-A (TS 33.102 §6.3.2)."""
    mac_a = m.f1(rand, sqn, amf)
    xres, ck, ik, ak = m.f2345(rand)
    autn = _xor(sqn, ak) + amf + mac_a
    return AuthVector(rand=rand, xres=xres, autn=autn, ck=ck, ik=ik, ak=ak, sqn=sqn)


@dataclass(frozen=True)
class AutnCheck:
    """What the USIM learns from (RAND, AUTN) before its SQN freshness check."""

    sqn: bytes
    amf: bytes
    mac_ok: bool
    res: bytes
    ck: bytes
    ik: bytes
    ak: bytes


def check_autn(m: Milenage, rand: bytes, autn: bytes) -> AutnCheck:
    """USIM side of TS 33.102 §6.3.3: recover SQN with AK, compare XMAC with MAC.

    The SQN freshness check (Annex C) is separate: feed `sqn` to a `SqnArray`.
    """
    _check_len("AUTN", autn, AUTN_LEN)
    res, ck, ik, ak = m.f2345(rand)
    sqn = _xor(autn[:SQN_LEN], ak)
    amf = autn[SQN_LEN : SQN_LEN + AMF_LEN]
    xmac = m.f1(rand, sqn, amf)
    mac_ok = hmac.compare_digest(xmac, autn[SQN_LEN + AMF_LEN :])
    return AutnCheck(sqn=sqn, amf=amf, mac_ok=mac_ok, res=res, ck=ck, ik=ik, ak=ak)


def build_auts(m: Milenage, rand: bytes, sqn_ms: bytes) -> bytes:
    """AUTS = SQN_MS xor AK* || MAC-S, MAC-S = f1*(SQN_MS, RAND, AMF = 0x0000) (TS 33.102 §6.3.3)."""
    mac_s = m.f1star(rand, sqn_ms, AMF_RESYNC)
    return _xor(sqn_ms, m.f5star(rand)) + mac_s


def resync_sqn(m: Milenage, rand: bytes, auts: bytes) -> bytes:
    """HSS side of TS 33.102 §6.3.5: return SQN_MS, or raise MacSFailure."""
    if len(auts) != AUTS_LEN:
        raise MacSFailure(f"AUTS must be {AUTS_LEN} octets, got {len(auts)}")
    sqn_ms = _xor(auts[:SQN_LEN], m.f5star(rand))
    xmac_s = m.f1star(rand, sqn_ms, AMF_RESYNC)
    if not hmac.compare_digest(xmac_s, auts[SQN_LEN:]):
        raise MacSFailure("MAC-S does not verify")
    return sqn_ms


class SqnArray:
    """USIM sequence number verification, TS 33.102 Annex C.2.2 with the Annex C.3 profile.

    SQN = SEQ || IND; IND (the `ind_bits` least significant bits) selects one of 2**ind_bits
    slots, each holding the highest SQN accepted with that index (C.2.2, initial value 0).
    """

    __slots__ = ("ind_bits", "delta", "L", "_slots")  # one per simulated USIM

    def __init__(self, ind_bits: int = 5, delta: int = 2**28, L: int | None = None) -> None:
        if not 0 <= ind_bits < 48:
            raise ValueError(f"IND length must be 0..47 bits, got {ind_bits}")
        self.ind_bits = ind_bits
        self.delta = delta
        self.L = L
        self._slots = [0] * (1 << ind_bits)

    def _seq(self, sqn: int) -> int:
        return sqn >> self.ind_bits

    def highest(self) -> int:
        """SQN_MS: the highest SQN accepted in any slot (C.2.2; used to build AUTS)."""
        return max(self._slots)

    def accept(self, sqn: int) -> bool:
        """Check SQN and, when fresh, record it in its IND slot (C.2.2)."""
        if not 0 <= sqn < 1 << 48:
            return False
        ind = sqn & ((1 << self.ind_bits) - 1)
        seq = self._seq(sqn)
        seq_ms = self._seq(self.highest())
        # C.2.2: fresh only if SEQ > SEQ_MS(i) for the slot i = IND.
        if seq <= self._seq(self._slots[ind]):
            return False
        # C.2.2: protection against wrap-around, SEQ - SEQ_MS <= delta.
        if seq - seq_ms > self.delta:
            return False
        # C.2.2: optional age limit, SEQ_MS - SEQ < L.
        if self.L is not None and seq_ms - seq >= self.L:
            return False
        self._slots[ind] = sqn
        return True

    def to_list(self) -> list[int]:
        return list(self._slots)

    @classmethod
    def from_list(
        cls, values: list[int], delta: int = 2**28, L: int | None = None
    ) -> SqnArray:
        """Restore from `to_list()`; the slot count (a power of two) gives the IND length."""
        n = len(values)
        if n == 0 or n & (n - 1):
            raise ValueError(f"slot count must be a power of two, got {n}")
        arr = cls(ind_bits=n.bit_length() - 1, delta=delta, L=L)
        for i, v in enumerate(values):
            if not 0 <= v < 1 << 48:
                raise ValueError(f"slot {i}: SQN is 48 bits, got {v}")
        arr._slots = [int(v) for v in values]
        return arr
