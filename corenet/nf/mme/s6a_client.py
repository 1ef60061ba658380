"""S6a requests of the MME towards the home HSS (TS 29.272 §5.2) and reading their answers.

Each request opens its own Diameter session (TS 29.272 §7.1.4: no session state is kept), so the
Session-Id identifies the procedure an answer belongs to. Requests are routed by realm
(RFC 6733 §6.1): the Destination-Realm is the IMSI's home network realm (TS 23.003 §19.2).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.codecs.diameter import avp
from corenet.config.models import DiameterRoute, MmeConfig
from corenet.core.plmn import Plmn
from corenet.nf.mme.overload import supported_features_avp
from corenet.protocols.diameter_ids import DiameterIds


@dataclass(frozen=True)
class S6aOutcome:
    """A read answer: success, or the code it failed with (None = no answer at all)."""

    ok: bool
    code: int | None
    experimental: bool


class S6aRequests:
    """Builds AIR, ULR and PUR for one MME (TS 29.272 §7.2.3, §7.2.5, §7.2.11)."""

    def __init__(self, cfg: MmeConfig, ids: DiameterIds | None = None) -> None:
        self._cfg = cfg
        self._visited = Plmn.parse(cfg.plmn)
        # RFC 6733 §8.8, §3: the service gives the ids of this start (its clock, or a seed);
        # without one they start at random
        self.ids = ids or DiameterIds(cfg.origin_host, 0.0, random.SystemRandom())
        self._hbh = 0

    def route_for(self, realm: str) -> DiameterRoute | None:
        """The configured peer serving `realm` (RFC 6733 §6.1.4 realm-based routing)."""
        for route in self._cfg.diameter_routes:
            if route.realm == realm:
                return route
        return None

    def _ids(self) -> tuple[str, int, int]:
        """A new session (RFC 6733 §8.8), a Hop-by-Hop Identifier (replaced by the peer
        machine that sends it, §6.1) and an End-to-End Identifier (§3)."""
        self._hbh = (self._hbh + 1) & 0xFFFFFFFF
        return self.ids.session_id(), self._hbh, self.ids.end_to_end()

    def air(self, imsi: str, realm: str, resync_info: bytes | None = None) -> Message:
        """AIR for one E-UTRAN vector; resync_info = RAND || AUTS (TS 29.272 §7.3.15)."""
        sid, hbh, e2e = self._ids()
        # RFC 7683 §5.1.1; TS 29.272 §7.2.5 [ OC-Supported-Features ]
        extra = (supported_features_avp(),) if self._cfg.doic else ()
        return s6a.air(sid, self._cfg.origin_host, self._cfg.origin_realm, realm, imsi,
                       self._visited, hop_by_hop=hbh, end_to_end=e2e, num_vectors=1,
                       immediate_response_preferred=True, resync_info=resync_info,
                       extra=extra)

    def ulr(self, imsi: str, realm: str, imeisv: str | None, initial_attach: bool) -> Message:
        """ULR (TS 29.272 §5.2.1.1.2); ULR-Flags per §7.3.7: S6a/S6d indicator set (MME),
        Initial-Attach-Indicator on an initial attach."""
        sid, hbh, e2e = self._ids()
        flags = s6a.UlrFlags.S6A_S6D_INDICATOR
        if initial_attach:
            flags |= s6a.UlrFlags.INITIAL_ATTACH_INDICATOR
        # TS 29.272 §7.3.4: IMEI is the 14 digits TAC + SNR; Software-Version the 2 SVN digits
        imei = imeisv[:14] if imeisv and len(imeisv) == 16 else None
        svn = imeisv[14:] if imeisv and len(imeisv) == 16 else None
        return s6a.ulr(sid, self._cfg.origin_host, self._cfg.origin_realm, realm, imsi,
                       self._visited, hop_by_hop=hbh, end_to_end=e2e, ulr_flags=flags,
                       imei=imei, software_version=svn)

    def pur(self, imsi: str, realm: str) -> Message:
        """PUR after a detach (TS 29.272 §5.2.1.3): UE purged in the MME."""
        sid, hbh, e2e = self._ids()
        return s6a.pur(sid, self._cfg.origin_host, self._cfg.origin_realm, realm, imsi,
                       hop_by_hop=hbh, end_to_end=e2e)


def outcome(answer: Message) -> S6aOutcome:
    """Success is Result-Code 2001 (RFC 6733 §7.1.2); anything else is a failure."""
    res = s6a.result_of(answer)
    if res is None:
        return S6aOutcome(False, None, False)
    ok = not res.experimental and res.code == 2001
    return S6aOutcome(ok, res.code, res.experimental)


def session_of(msg: Message) -> str | None:
    value = avp(msg, "Session-Id")
    return value if isinstance(value, str) else None
