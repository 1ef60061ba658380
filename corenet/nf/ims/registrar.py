"""IMS registration with IMS AKA over Cx at the home S-CSCF (with its I-CSCF role), sans-I/O.

TS 24.229 §5.3.1.2 (I-CSCF) and §5.4.1.2 (S-CSCF), TS 29.228 §6.1.1, §6.1.2, §6.3, TS 33.203
§6.1, RFC 3310. A REGISTER is kept pending while its Cx request is out; the Cx answer (or its
failure) gives the SIP answer:

    REGISTER (no answer to a challenge) -> UAR -> UAA 2001/2002 -> MAR -> MAA -> 401 challenge
    REGISTER (response to the challenge) -> verified with XRES -> SAR -> SAA -> 200 (Registered)
    REGISTER (auts in Authorization) -> MAR with RAND || AUTS -> MAA -> 401 with a fresh vector

| outcome                                  | answer | clause                                  |
|------------------------------------------|--------|-----------------------------------------|
| UAA/MAA/SAA with an error result         | 403    | TS 24.229 §5.3.1.3 (negative response)  |
| UAR unanswered (timeout, HSS unreachable)| 480    | TS 24.229 §5.3.1.3                      |
| MAR/SAR unanswered                       | 504    | RFC 3261 §21.5.5 (external server)      |
| response does not match XRES             | 403    | TS 24.229 §5.4.1.2.3                    |
| no private identity (Authorization)      | 403    | TS 24.229 §5.1.1.2.1, §5.4.1.2.1        |

The challenge is `WWW-Authenticate: Digest realm, nonce=base64(RAND || AUTN),
algorithm=AKAv1-MD5, qop="auth", ik, ck` (TS 24.229 §5.4.1.2.1: ik and ck for the P-CSCF, which
removes them, §5.2.2.1). The password of the UE's digest response is RES (RFC 3310 §3.2).
"""

from __future__ import annotations

import base64
import enum
import hmac
import random
from dataclasses import dataclass, field

from corenet.codecs import cx
from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.codecs.sip import SipRequest
from corenet.codecs.sip_digest import AKA_ALGORITHM, digest_params, digest_response
from corenet.config.models import CxConfig
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError
from corenet.nf.ims.proxy import ProxyError, SendSip, answer
from corenet.protocols.diameter_ids import DiameterIds

MAX_CHALLENGES = 100_000  # outstanding 401s kept for their answer


@dataclass(frozen=True)
class SendCx:
    """A Cx request for the home HSS (its answer comes back to `CxRegistrar.on_answer`)."""

    message: Message


@dataclass(frozen=True)
class Registered:
    """The HSS assigned this S-CSCF (SAA): bind the REGISTER's contact, answer 200 with the
    public identities of the IMS subscription (TS 24.229 §5.4.1.2.2)."""

    request: SipRequest
    associated: list[str]


Outcome = SendCx | SendSip | Registered | LogEvent


class Stage(enum.Enum):
    UAR = "UAR"
    MAR = "MAR"
    SAR = "SAR"


@dataclass
class _Pending:
    stage: Stage
    request: SipRequest
    impi: str
    impu: str


@dataclass
class _Challenge:
    vector: cx.ImsAkaVector
    nonce: str
    expires_at: float


@dataclass
class CxRegistrar:
    cfg: CxConfig
    domain: str  # the home network domain: the realm of the challenge (TS 24.229 §5.4.1.2.1)
    pending: dict[str, _Pending] = field(default_factory=dict)  # by Cx Session-Id
    challenges: dict[tuple[str, str], _Challenge] = field(default_factory=dict)
    # Session-Ids (RFC 6733 §8.8); the service gives those of its start-up (seeded or not)
    ids: DiameterIds | None = None

    def __post_init__(self) -> None:
        if self.ids is None:
            self.ids = DiameterIds(self.cfg.origin_host, 0.0, random.Random(self.cfg.origin_host))

    @property
    def server_name(self) -> str:
        """Server-Name, TS 29.229 §6.3.4: the SIP URI of this S-CSCF."""
        return f"sip:{self.cfg.origin_host}"

    # -- from SIP --------------------------------------------------------------------------

    def register(self, req: SipRequest, impu: str, now: float) -> list[Outcome]:
        """A REGISTER to authenticate (TS 24.229 §5.4.1.2.1), or the answer to our challenge
        (§5.4.1.2.2), or a re-synchronisation (§5.4.1.2.1, RFC 3310 §3.4)."""
        if any(p.request.call_id == req.call_id and p.request.cseq.seq == req.cseq.seq
               for p in self.pending.values()):
            return []  # RFC 3261 §17.2.1: a retransmission while the first is still served
        params = digest_params(req.header("Authorization") or "")
        impi = params.get("username", "")
        if not impi:
            raise ProxyError(403, "no private user identity in Authorization "
                                  "(TS 24.229 §5.1.1.2.1)")
        key = (impi, req.call_id)
        challenge = self.challenges.get(key)
        if challenge is not None and challenge.expires_at <= now:
            del self.challenges[key]
            challenge = None
        if challenge is None or params.get("nonce") != challenge.nonce or not params.get(
                "response"):
            return self._uar(req, impi, impu)
        del self.challenges[key]
        if "auts" in params:
            try:
                auts = base64.b64decode(params["auts"], validate=True)
            except ValueError:
                raise ProxyError(403, "auts is not base64 (RFC 3310 §3.4)") from None
            return self._mar(req, impi, impu, resync=challenge.vector.rand + auts)
        expected = digest_response(impi, params.get("realm", self.domain), challenge.vector.xres,
                                   req.method, params.get("uri", ""), challenge.nonce,
                                   params.get("qop"), params.get("nc", ""),
                                   params.get("cnonce", ""))
        if not hmac.compare_digest(expected, params["response"]):
            raise ProxyError(403, "the digest response does not match XRES "
                                  "(TS 24.229 §5.4.1.2.3)")
        return self._sar(req, impi, impu, cx.ServerAssignmentType.REGISTRATION,
                         "ims.aka.verified")

    def deregister(self, impi: str, impu: str) -> list[Outcome]:
        """TS 24.229 §5.4.1.4 / TS 29.228 §6.1.2: the HSS is told of a user de-registration
        (the answer only logged)."""
        msg = cx.sar(self._sid(), self.cfg.origin_host, self.cfg.origin_realm,
                     self.cfg.hss_realm, impi, impu, self.server_name,
                     cx.ServerAssignmentType.USER_DEREGISTRATION,
                     destination_host=self.cfg.hss_host)
        return [SendCx(msg)]

    # -- from Cx ---------------------------------------------------------------------------

    def on_answer(self, msg: Message, now: float) -> list[Outcome]:
        p = self.pending.pop(str(dia.avp(msg, "Session-Id")), None)
        if p is None:
            return [LogEvent("scscf.cx.answer", {"command": msg.name,
                                                 "result_code": cx.result_of(msg)})]
        code = cx.result_of(msg)
        # UAA: 2001/2002 (first/subsequent registration) are Experimental-Results; MAA, SAA:
        # Result-Code DIAMETER_SUCCESS (TS 29.229 §6.2)
        experimental = dia.avp(msg, "Result-Code") is None
        if code is None or not 2000 <= code < 3000 or experimental and p.stage is not Stage.UAR:
            # TS 24.229 §5.3.1.3: a negative answer of the HSS
            return self._refuse(p, 403, f"{msg.name} result {code}")
        if p.stage is Stage.UAR:
            return self._mar(p.request, p.impi, p.impu)
        if p.stage is Stage.MAR:
            return self._challenge(p, msg, now)
        try:
            associated = cx.public_identities(dia.avp(msg, "User-Data") or b"")
        except DecodeError:
            associated = []
        return [Registered(p.request, associated or [p.impu]),
                LogEvent("scscf.cx.registered", {"impi": p.impi, "impu": p.impu})]

    def on_failure(self, session_id: str, reason: str) -> list[Outcome]:
        """No answer to a Cx request: TS 24.229 §5.3.1.3 (UAR: 480), RFC 3261 §21.5.5 (504)."""
        p = self.pending.pop(session_id, None)
        if p is None:
            return []
        return self._refuse(p, 480 if p.stage is Stage.UAR else 504,
                            f"{p.stage.value} not answered: {reason}")

    # -- steps -----------------------------------------------------------------------------

    def _uar(self, req: SipRequest, impi: str, impu: str) -> list[Outcome]:
        """TS 24.229 §5.3.1.2 (I-CSCF role), TS 29.228 §6.1.1."""
        visited = (req.header("P-Visited-Network-ID") or self.domain).strip().strip('"')
        kind = cx.UserAuthorizationType.REGISTRATION
        msg = cx.uar(self._sid(), self.cfg.origin_host, self.cfg.origin_realm,
                     self.cfg.hss_realm, impi, impu, visited, authorization_type=kind,
                     destination_host=self.cfg.hss_host)
        return self._send(Stage.UAR, req, impi, impu, msg)

    def _mar(self, req: SipRequest, impi: str, impu: str,
             resync: bytes | None = None) -> list[Outcome]:
        """TS 24.229 §5.4.1.2.1, TS 29.228 §6.3.1: one IMS AKA vector."""
        msg = cx.mar(self._sid(), self.cfg.origin_host, self.cfg.origin_realm,
                     self.cfg.hss_realm, impi, impu, self.server_name, resync=resync,
                     destination_host=self.cfg.hss_host)
        return self._send(Stage.MAR, req, impi, impu, msg)

    def _sar(self, req: SipRequest, impi: str, impu: str, kind: int,
             event: str) -> list[Outcome]:
        """TS 24.229 §5.4.1.2.2, TS 29.228 §6.1.2: this S-CSCF assigned to the user."""
        msg = cx.sar(self._sid(), self.cfg.origin_host, self.cfg.origin_realm,
                     self.cfg.hss_realm, impi, impu, self.server_name, kind,
                     destination_host=self.cfg.hss_host)
        return [*self._send(Stage.SAR, req, impi, impu, msg),
                LogEvent(event, {"impi": impi, "impu": impu})]

    def _challenge(self, p: _Pending, maa: Message, now: float) -> list[Outcome]:
        """TS 24.229 §5.4.1.2.1: 401 with the AKA challenge (RFC 3310 §3.1)."""
        try:
            vector = cx.vectors_of(maa)[0]
        except (DecodeError, IndexError):
            return self._refuse(p, 403, "MAA without an IMS AKA vector")
        nonce = base64.b64encode(vector.nonce).decode()
        if len(self.challenges) >= MAX_CHALLENGES:  # challenges never answered expire
            self.challenges = {k: c for k, c in self.challenges.items() if c.expires_at > now}
            while len(self.challenges) >= MAX_CHALLENGES:
                self.challenges.pop(next(iter(self.challenges)))
        self.challenges[(p.impi, p.request.call_id)] = _Challenge(
            vector, nonce, now + self.cfg.challenge_lifetime_s)
        www = (f'Digest realm="{self.domain}", nonce="{nonce}", algorithm={AKA_ALGORITHM}, '
               f'qop="auth", ik="{vector.ik.hex()}", ck="{vector.ck.hex()}"')
        return [answer(p.request, 401, headers=[("WWW-Authenticate", www)]),
                LogEvent("scscf.register.challenged", {"impi": p.impi, "impu": p.impu})]

    def _send(self, stage: Stage, req: SipRequest, impi: str, impu: str,
              msg: Message) -> list[Outcome]:
        self.pending[str(dia.avp(msg, "Session-Id"))] = _Pending(stage, req, impi, impu)
        return [SendCx(msg)]

    def _refuse(self, p: _Pending, status: int, detail: str) -> list[Outcome]:
        return [answer(p.request, status),
                LogEvent("scscf.register.refused", {"impi": p.impi, "impu": p.impu,
                                                    "status": status, "detail": detail})]

    def _sid(self) -> str:
        assert self.ids is not None  # set in __post_init__
        return self.ids.session_id()
