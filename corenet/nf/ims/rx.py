"""The P-CSCF's Rx client (the AF of TS 29.214), sans-I/O: AARs and STRs it builds, and what
their answers say.

Binding (TS 29.214 §4.4.1, §4.4.5a): the first request from a UE address the P-CSCF does not
know yet is held while an AAR for the SIP signalling path of that address (a media component of
Flow-Usage AF_SIGNALLING, AF-Signalling-Protocol SIP) asks the PCRF for the IP-CAN session,
with AF-Requested-Data "EPC-level identities" and Required-Access-Info USER_LOCATION so that the
AAA names the subscriber (Subscription-Id IMSI / E.164, User-Equipment-Info IMEISV) and the cell.

The roaming mode of the UE follows from standard answers only:

| AAR (no Service-URN) | AAR with the emergency Service-URN | Subscription-Id E.164 | mode             |
|----------------------|------------------------------------|-----------------------|------------------|
| success              | -                                  | present               | full             |
| 5067                 | success                            | present               | emergency-auth   |
| either success       |                                    | absent                | emergency-unauth |

- 5067 UNAUTHORIZED_NON_EMERGENCY_SESSION (TS 29.214 §4.4.1): the address belongs to the
  emergency PDN connection of a UE attached for emergency bearer services only (TS 23.401
  §4.3.12.1), which gets emergency sessions only; the held request is sent on (after a second
  AAR carrying the Service-URN, TS 29.214 §4.4.1) only when it is an emergency request, otherwise
  refused with 403 (TS 23.167 §6.2.1).
- An E.164 Subscription-Id is the MSISDN of the home subscription data (TS 29.272 §7.3.2), which
  only a UE authenticated by its home network has; the P-GW reports an unauthenticated IMSI
  (TS 29.274 §8.12 UIMSI) without one. No MSISDN: the IMSI (or IMEI) is a claim, not verified.
- 5065 IP-CAN_SESSION_NOT_AVAILABLE: the address is not a UE of this network: 403
  (RFC 3261 §21.4.4). No answer (the PCRF unreachable, the request's timer): 503 Service
  Unavailable (RFC 3261 §21.5.4), the UE may try again.

Media (TS 29.214 §4.4.1 with the SDP answer, TS 29.213 §6.1-6.2): when the SDP answer of an
INVITE from or to a UE passes, an AAR in its own Rx session describes the audio stream
(Media-Component-Description: the flows from the SDP addresses and ports, Max-Requested-Bandwidth
from b=AS, Codec-Data with the SDP of each side, the Service-URN of an emergency call); BYE or
CANCEL ends it with an STR (TS 29.214 §4.4.4).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs import pcc as codec
from corenet.codecs import sdp
from corenet.codecs.base import Message
from corenet.codecs.ims_sip import Cell
from corenet.config.models import PcrfLink
from corenet.core.errors import DecodeError
from corenet.nf.ims.binding import AccessMode, UeBinding
from corenet.protocols.diameter_ids import DiameterIds

Rc = dia.ResultCode
Exp = codec.ExperimentalResult
DEFAULT_AUDIO_KBPS = 64  # TS 29.213 §6.2: without b=AS, the bandwidth of G.711 payload


@dataclass(frozen=True)
class SendRx:
    """A request to the PCRF."""

    message: Message


@dataclass
class _Media:
    ue_address: str
    ue_sdp: bytes | None
    other_sdp: bytes | None
    urn: str | None
    ue_offered: bool
    sid: str | None = None


@dataclass(frozen=True)
class Binding:
    """What an AAA told of an address, or why there is nothing to tell."""

    address: str
    binding: UeBinding | None
    status: int = 0  # SIP status for the held requests when `binding` is None
    detail: str = ""
    emergency_only: bool = False  # 5067: retry with the Service-URN for emergency requests


class RxClient:
    """Rx sessions of one P-CSCF."""

    def __init__(self, link: PcrfLink, ids: DiameterIds) -> None:
        self.me = codec.Origin(link.origin_host, link.origin_realm)
        self.link = link
        self.ids = ids
        self.binding_sids: dict[str, str] = {}  # Rx Session-Id -> address (bound)
        self._asked: dict[str, tuple[str, bool]] = {}  # Session-Id -> (address, with URN)
        self._media: dict[str, _Media] = {}  # by Call-ID

    def pending(self, address: str) -> bool:
        return any(a == address for a, _ in self._asked.values())

    def _aar(self, sid: str, avps: list[tuple[str, Any]]) -> SendRx:
        return SendRx(codec.request("AAR", sid, self.me, self.link.realm, avps,
                                    dest_host=self.link.host))

    def bind(self, address: str, port: int, urn: str | None) -> SendRx:
        """The signalling-path AAR of TS 29.214 §4.4.5a for `address` (SIP from `port`)."""
        sid = self.ids.session_id()
        self._asked[sid] = (address, urn is not None)
        ue = f"{address} {port}"
        flows = [("Flow-Description", f"permit out 17 from any to {ue}"),
                 ("Flow-Description", f"permit in 17 from {ue} to any")]
        avps: list[tuple[str, Any]] = [
            *_address_avps(address),
            ("Media-Component-Description", [
                ("Media-Component-Number", 0),
                ("Media-Sub-Component", [("Flow-Number", 1), *flows,
                                         ("Flow-Usage", codec.FLOW_USAGE_AF_SIGNALLING)])]),
            ("AF-Signalling-Protocol", codec.AF_SIGNALLING_SIP),
            ("AF-Requested-Data", codec.EPC_LEVEL_IDENTITIES),
            ("Required-Access-Info", codec.USER_LOCATION)]
        if urn is not None:
            avps.append(("Service-URN", urn.encode()))
        return self._aar(sid, avps)

    def bound(self, answer: Message, request: Message) -> Binding | None:
        """The outcome of a binding AAR (None: not one of ours)."""
        sid = str(dia.avp(request, "Session-Id"))
        asked = self._asked.pop(sid, None)
        if asked is None:
            return None
        address, with_urn = asked
        code = codec.result_of(answer)
        if code == Exp.UNAUTHORIZED_NON_EMERGENCY_SESSION and not with_urn:
            return Binding(address, None, 403, "an emergency PDN connection serves emergency "
                           "sessions only", emergency_only=True)
        if code == Exp.IP_CAN_SESSION_NOT_AVAILABLE:
            return Binding(address, None, 403, f"{address} is not the address of an IP-CAN "
                           "session")
        if code != Rc.DIAMETER_SUCCESS:
            return Binding(address, None, 503, f"binding failed ({code})")
        ids = codec.identities_of(answer)
        loc = codec.location_of(dia.avp(answer, "3GPP-User-Location-Info"))
        cell = None if loc is None else Cell(loc.plmn, loc.tac, loc.eci)
        if not ids.msisdn:
            mode = AccessMode.EMERGENCY_UNAUTH
        else:
            mode = AccessMode.EMERGENCY_AUTH if with_urn else AccessMode.FULL
        self.binding_sids[sid] = address
        return Binding(address, UeBinding(address, mode, ids.imsi, ids.msisdn, ids.imeisv,
                                          "", cell))

    def failed(self, request: Message) -> Binding | None:
        """A binding AAR that got no answer."""
        asked = self._asked.pop(str(dia.avp(request, "Session-Id")), None)
        if asked is None:
            return None
        return Binding(asked[0], None, 503, "the PCRF did not answer")

    def aborted(self, request: Message) -> tuple[Message, list[SendRx]]:
        """ASR (the IP-CAN session ended, TS 29.213 §4.2.2): ASA, then the STR of the session;
        RAR (a Specific-Action notification): RAA."""
        sid = str(dia.avp(request, "Session-Id"))
        known = sid in self.binding_sids or any(m.sid == sid for m in self._media.values())
        code = Rc.DIAMETER_SUCCESS if known else Rc.DIAMETER_UNKNOWN_SESSION_ID
        answer = codec.answer(request, self.me, code)
        if request.name != "ASR" or not known:
            return answer, []
        self.binding_sids.pop(sid, None)
        for call_id in [c for c, m in self._media.items() if m.sid == sid]:
            del self._media[call_id]
        return answer, [self.terminate(sid)]

    def address_of(self, request: Message) -> str | None:
        return self.binding_sids.get(str(dia.avp(request, "Session-Id")))

    def terminate(self, sid: str) -> SendRx:
        """STR, TS 29.214 §4.4.4 (Termination-Cause DIAMETER_LOGOUT)."""
        return SendRx(codec.request("STR", sid, self.me, self.link.realm, [
            ("Termination-Cause", codec.DIAMETER_LOGOUT)], dest_host=self.link.host))

    # -- media ---------------------------------------------------------------------------

    def offer(self, call_id: str, ue_address: str, body: bytes, from_ue: bool,
              urn: str | None) -> None:
        """The SDP offer of an INVITE from (or to) a UE, kept until its answer."""
        if not body or call_id in self._media or len(self._media) >= 100_000:
            return
        self._media[call_id] = _Media(ue_address, body if from_ue else None,
                                      None if from_ue else body, urn, from_ue)

    def answered(self, call_id: str, body: bytes, status: int) -> SendRx | None:
        """A response to the INVITE: the media AAR once the SDP answer is there (2xx)."""
        media = self._media.get(call_id)
        if media is None or media.sid is not None:
            return None
        if status >= 300:
            del self._media[call_id]
            return None
        if status < 200 or not body:
            return None
        if media.ue_sdp is None:
            media.ue_sdp = body
        else:
            media.other_sdp = body
        component = _media_component(media)
        if component is None:
            del self._media[call_id]
            return None
        media.sid = self.ids.session_id()
        avps: list[tuple[str, Any]] = [*_address_avps(media.ue_address), component]
        if media.urn:
            avps.append(("Service-URN", media.urn.encode()))
        return self._aar(media.sid, avps)

    def ended(self, call_id: str) -> SendRx | None:
        """BYE or CANCEL: the STR of the call's media session."""
        media = self._media.pop(call_id, None)
        if media is None or media.sid is None:
            return None
        return self.terminate(media.sid)


def _address_avps(address: str) -> list[tuple[str, Any]]:
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return codec.ue_address_avps(address, None)
    return codec.ue_address_avps(None, str(ipaddress.IPv6Network((ip, 64), strict=False)))


def _audio(body: bytes | None) -> tuple[str, int, int, bytes] | None:
    """(address, port, b=AS kbit/s, the m= section's lines) of the SDP's audio stream."""
    if not body:
        return None
    try:
        sd = sdp.decode(body)
    except DecodeError:
        return None
    audio = sd.audio()
    conn = None if audio is None else (audio.connection or sd.connection)
    if audio is None or conn is None or audio.port == 0:
        return None
    kbps = next((int(v[3:]) for k, v in audio.other if k == "b" and v.startswith("AS:")
                 and v[3:].isdigit()), DEFAULT_AUDIO_KBPS)
    text = sdp.encode(sdp.SessionDescription(origin=sd.origin, media=[audio]))
    m_lines = text[text.find(b"m="):]
    return conn.address, audio.port, kbps, m_lines


def _media_component(media: _Media) -> tuple[str, Any] | None:
    """Media-Component-Description (TS 29.214 §5.3.8, TS 29.213 §6.2): the flows between the
    two SDP addresses, "permit out" downlink and "permit in" uplink (§5.3.7)."""
    ue, other = _audio(media.ue_sdp), _audio(media.other_sdp)
    if ue is None or other is None:
        return None
    ue_ip, ue_port, ue_kbps, ue_lines = ue
    far_ip, far_port, far_kbps, far_lines = other
    return ("Media-Component-Description", [
        ("Media-Component-Number", 1),
        ("Media-Sub-Component", [
            ("Flow-Number", 1),
            ("Flow-Description", f"permit out 17 from {far_ip} {far_port} to {ue_ip} {ue_port}"),
            ("Flow-Description", f"permit in 17 from {ue_ip} {ue_port} to {far_ip} {far_port}")]),
        ("Media-Type", codec.MEDIA_TYPE_AUDIO),
        # TS 29.213 §6.2: uplink from the UE's b=AS, downlink from the other side's
        ("Max-Requested-Bandwidth-UL", ue_kbps * 1000),
        ("Max-Requested-Bandwidth-DL", far_kbps * 1000),
        # TS 29.214 §5.3.7 Codec-Data: direction, offer/answer, then the SDP lines
        ("Codec-Data", b"uplink\n" + (b"offer" if media.ue_offered else b"answer") + b"\n"
         + ue_lines),
        ("Codec-Data", b"downlink\n" + (b"answer" if media.ue_offered else b"offer") + b"\n"
         + far_lines)])
