"""A companion capture in which ciphered NAS is shown as plaintext.

Wireshark cannot read NAS ciphered with 128-EEA2 without the keys. Beside `NAME.pcapng` corenet
writes `NAME.deciphered.pcapng`: the same packets, except that each S1AP NAS-PDU whose security
header type is 2 or 4 (TS 24.301 §9.3.1: integrity protected and ciphered) is replaced by its
plaintext, with the header type reduced to the integrity-only one (1 or 3) and a packet comment
saying so. The MAC left in the header is the one computed over the ciphered message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corenet.codecs import nas, s1ap
from corenet.codecs.base import Message
from corenet.core.errors import CorenetError
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext
from corenet.pcap.writer import PPID_S1AP
from corenet.transport.base import Address, Direction

NAS_KEYS = ("NAS-PDU", "nAS-PDU")
CIPHERED = {2: 1, 4: 3}  # security header type -> the integrity-only type shown instead
UPLINK_MESSAGES = {"UplinkNASTransport", "InitialUEMessage"}

KeyLookup = Callable[[int], NasSecurityContext | None]


def nearest_count(reference: int, sqn: int) -> int:
    """The NAS COUNT whose low octet is `sqn`, closest to `reference` (TS 24.301 §4.4.3.1)."""
    base = (reference & ~0xFF) | sqn
    return min((base - 256, base, base + 256), key=lambda c: (abs(c - reference), c))


def decipher_nas(pdu: bytes, ctx: NasSecurityContext, direction: int) -> bytes | None:
    sht = pdu[0] >> 4
    if sht not in CIPHERED or len(pdu) < 7:
        return None
    counter = ctx.ul_count if direction == UPLINK else ctx.dl_count
    count = nearest_count(counter.value, pdu[5])
    plain = ctx.decrypt(direction, max(count, 0), pdu[6:])
    return nas.security_protected(CIPHERED[sht], pdu[1:5], pdu[5], plain)


class DecipheringTap:
    """Passes every record to `inner` (a PcapTap), deciphering S1AP NAS-PDUs on the way."""

    def __init__(self, inner: Any, keys: KeyLookup) -> None:
        self.inner = inner
        self.keys = keys
        self._seen: dict[int, NasSecurityContext] = {}

    def sctp(self, direction: Direction, src: Address, dst: Address, payload: bytes, ppid: int,
             stream: int) -> None:
        if ppid == PPID_S1AP:
            payload, comment = self._s1ap(payload)
            if comment is not None:
                if self.inner.keeps(direction, src):
                    self.inner.writer.sctp(src, dst, payload, ppid, stream, comment=comment)
                return
        self.inner.sctp(direction, src, dst, payload, ppid, stream)

    def tcp(self, *args: Any, **kw: Any) -> None:
        self.inner.tcp(*args, **kw)

    def udp(self, *args: Any, **kw: Any) -> None:
        self.inner.udp(*args, **kw)

    def _context(self, mme_ue_id: int | None) -> NasSecurityContext | None:
        if mme_ue_id is None:
            return None
        ctx = self.keys(mme_ue_id)
        if ctx is not None:
            self._seen[mme_ue_id] = ctx
            return ctx
        return self._seen.get(mme_ue_id)

    def _s1ap(self, payload: bytes) -> tuple[bytes, str | None]:
        try:
            msg = s1ap.decode(payload)
        except CorenetError:
            return payload, None
        ctx = self._context(msg.fields.get("MME-UE-S1AP-ID"))
        if ctx is None or ctx.eea == 0:
            return payload, None
        direction = UPLINK if msg.name in UPLINK_MESSAGES else DOWNLINK
        changed: list[str] = []
        fields = _replace_nas(msg.fields, lambda pdu: _swap(pdu, ctx, direction, changed))
        if not changed:
            return payload, None
        out = s1ap.encode(Message(msg.protocol, msg.name, msg.code, fields))
        note = (f"corenet: NAS deciphered with 128-EEA{ctx.eea}; security header type "
                f"{', '.join(changed)} shown as integrity only; the MAC is that of the ciphered message")
        return out, note


def _swap(pdu: bytes, ctx: NasSecurityContext, direction: int, changed: list[str]) -> bytes:
    plain = decipher_nas(pdu, ctx, direction)
    if plain is None:
        return pdu
    changed.append(str(pdu[0] >> 4))
    return plain


def _replace_nas(value: Any, fn: Callable[[bytes], bytes]) -> Any:
    if isinstance(value, dict):
        return {k: fn(v) if k in NAS_KEYS and isinstance(v, bytes) else _replace_nas(v, fn)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_nas(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(_replace_nas(v, fn) for v in value)
    return value
