"""The USIM of a simulated UE: EPS AKA on the card side (TS 33.102 §6.3.3, TS 31.102 §7.1.2).

The card holds K, OPc, IMSI and MSISDN (from the subscriber provisioning file the HSS also
reads) and the SQN array of TS 33.102 Annex C. `authenticate` answers one (RAND, AUTN).
"""

from __future__ import annotations

from dataclasses import dataclass

from corenet.config.subscribers import Subscriber
from corenet.crypto.milenage import (
    AUTN_LEN,
    RAND_LEN,
    Milenage,
    SqnArray,
    build_auts,
    check_autn,
    eps_separation_bit,
    int_to_sqn,
    opc_from_op,
    sqn_to_int,
)

# TS 24.301 §9.9.3.9 EMM causes the UE sends in Authentication Failure (§5.4.2.6).
CAUSE_MAC_FAILURE = 20
CAUSE_SYNCH_FAILURE = 21
CAUSE_NON_EPS_AUTH_UNACCEPTABLE = 26


@dataclass(frozen=True)
class AuthSuccess:
    """RES, CK, IK and the concealed SQN (SQN xor AK, an input of KASME, TS 33.401 A.2)."""

    res: bytes
    ck: bytes
    ik: bytes
    sqn_xor_ak: bytes


@dataclass(frozen=True)
class AuthFailure:
    """The EMM cause to report and, for #21, the re-synchronisation token AUTS."""

    cause: int
    auts: bytes | None = None


AuthResult = AuthSuccess | AuthFailure


def sqn_array_at(sqn_ms: int, ind_bits: int = 5) -> SqnArray:
    """A card whose highest accepted SQN is `sqn_ms` (TS 33.102 Annex C.2.2): the value is
    stored in the slot its IND selects, the other slots stay at their initial value 0.

    Going through `SqnArray.accept` would apply the wrap-around limit (SEQ - SEQ_MS <= delta)
    against the initial SQN_MS = 0 and refuse every value above delta * 2**IND; the card's
    state is simply set here, whatever its distance from 0 (SQN is 48 bits, Annex C.1)."""
    if not 0 <= sqn_ms < 1 << 48:
        raise ValueError(f"SQN is 48 bits (0..0xffffffffffff), got {sqn_ms}")
    slots = [0] * (1 << ind_bits)
    slots[sqn_ms & ((1 << ind_bits) - 1)] = sqn_ms
    return SqnArray.from_list(slots)


class Usim:
    """One USIM: keys, identities and the Annex C.2 sequence number state."""

    __slots__ = ("imsi", "msisdn", "imei", "_milenage", "sqn")  # one per simulated UE

    def __init__(self, imsi: str, k: bytes, opc: bytes, msisdn: str | None = None,
                 imei: str | None = None, sqn_array: SqnArray | None = None) -> None:
        self.imsi = imsi
        self.msisdn = msisdn
        self.imei = imei
        self._milenage = Milenage(k, opc)
        self.sqn = sqn_array if sqn_array is not None else SqnArray()

    @classmethod
    def from_subscriber(cls, sub: Subscriber) -> Usim:
        """The card the operator issued for `sub` (OPc derived from OP when only OP is given,
        TS 35.206 §4.1)."""
        k = bytes.fromhex(sub.k)
        opc = bytes.fromhex(sub.opc) if sub.opc else opc_from_op(k, bytes.fromhex(sub.op or ""))
        return cls(sub.imsi, k, opc, msisdn=sub.msisdn, imei=sub.imei)

    def authenticate(self, rand: bytes, autn: bytes) -> AuthResult:
        """TS 33.102 §6.3.3 in the order of TS 24.301 §5.4.2.6: MAC check (#20), the AMF
        separation bit for E-UTRAN (TS 33.401 §6.1.1, #26), SQN freshness (Annex C, #21)."""
        try:
            return self._authenticate(rand, autn)
        finally:
            self._milenage.forget_rand()  # its f1..f5 are done: not kept per UE

    def _authenticate(self, rand: bytes, autn: bytes) -> AuthResult:
        if len(rand) != RAND_LEN or len(autn) != AUTN_LEN:
            return AuthFailure(CAUSE_MAC_FAILURE)
        chk = check_autn(self._milenage, rand, autn)
        if not chk.mac_ok:
            # TS 33.102 §6.3.3: XMAC != MAC -> user authentication reject, cause MAC failure.
            return AuthFailure(CAUSE_MAC_FAILURE)
        if not eps_separation_bit(chk.amf):
            # TS 33.401 §6.1.1: the ME rejects a vector whose AMF separation bit is 0; checked
            # before the SQN so a rejected vector does not consume an Annex C slot.
            return AuthFailure(CAUSE_NON_EPS_AUTH_UNACCEPTABLE)
        if not self.sqn.accept(sqn_to_int(chk.sqn)):
            # TS 33.102 §6.3.3 / §6.3.5: SQN out of range -> synchronisation failure with AUTS.
            sqn_ms = int_to_sqn(self.sqn.highest())
            return AuthFailure(CAUSE_SYNCH_FAILURE, build_auts(self._milenage, rand, sqn_ms))
        return AuthSuccess(res=chk.res, ck=chk.ck, ik=chk.ik, sqn_xor_ak=autn[:6])
