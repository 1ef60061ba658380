"""The ISIM of the UE's UICC (TS 31.103): the IMS identities (TS 23.003 §13) and IMS AKA
(TS 33.203 §6.1) answered as RFC 3310 Digest AKAv1-MD5."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from corenet.codecs.sip_digest import digest_params, digest_response
from corenet.config.subscribers import Subscriber
from corenet.core.identifiers import impi as impi_for
from corenet.core.identifiers import impu as impu_for
from corenet.core.identifiers import ims_domain
from corenet.core.plmn import Plmn
from corenet.crypto.milenage import (
    Milenage,
    SqnArray,
    build_auts,
    check_autn,
    int_to_sqn,
    opc_from_op,
    sqn_to_int,
)

__all__ = ["Isim", "IsimAuthError", "digest_params", "digest_response", "impi_for", "impu_for",
           "ims_domain"]


class IsimAuthError(Exception):
    """The challenge could not be answered (bad nonce, MAC failure)."""


@dataclass
class Isim:
    """The IMS identities and AKA of the UICC (TS 31.103), sharing the USIM's K and OPc."""

    imsi: str
    msisdn: str | None
    home: Plmn
    milenage: Milenage
    sqn: SqnArray = field(default_factory=SqnArray)

    @classmethod
    def from_subscriber(cls, sub: Subscriber, home: Plmn, sqn: SqnArray | None = None) -> Isim:
        """`sqn`: the USIM's SQN array when IMS AKA runs on the USIM of the same UICC (TS
        33.203 §6.1, the HSS keeping one SQN_HE per IMSI for EPS and IMS AKA)."""
        k = bytes.fromhex(sub.k)
        opc = bytes.fromhex(sub.opc) if sub.opc else opc_from_op(k, bytes.fromhex(sub.op or ""))
        return cls(sub.imsi, sub.msisdn, home, Milenage(k, opc), sqn or SqnArray())

    @property
    def impi(self) -> str:
        return impi_for(self.imsi, self.home)

    @property
    def impu(self) -> str:
        return impu_for(self.msisdn, self.imsi, self.home)

    @property
    def domain(self) -> str:
        return ims_domain(self.home)

    def challenge(self, nonce_b64: str) -> tuple[bytes | None, bytes | None]:
        """RFC 3310 §3.2: nonce = base64(RAND || AUTN); returns (RES, None) or, on an SQN out
        of range, (None, AUTS) (TS 33.203 §6.1.2, TS 33.102 §6.3.3)."""
        try:
            raw = base64.b64decode(nonce_b64, validate=True)
        except ValueError:
            raise IsimAuthError("nonce is not base64") from None
        if len(raw) < 32:
            raise IsimAuthError(f"nonce of {len(raw)} octets, RAND||AUTN needs 32")
        rand, autn = raw[:16], raw[16:32]
        chk = check_autn(self.milenage, rand, autn)
        if not chk.mac_ok:
            raise IsimAuthError("MAC failure (TS 33.203 §6.1.2)")
        if not self.sqn.accept(sqn_to_int(chk.sqn)):
            return None, build_auts(self.milenage, rand, int_to_sqn(self.sqn.highest()))
        return chk.res, None
