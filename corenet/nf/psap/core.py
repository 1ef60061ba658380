"""The sans-I/O PSAP: a SIP UAS for emergency calls and a UAC for the call-back.

`PsapCore.handle(event, now) -> list[Action]`; `now` is the wall-clock time (seconds since the
epoch) the records are stamped with. No socket, future, sleep or clock inside.

- INVITE -> 180 Ringing, 200 OK with an RFC 3264 answer (RFC 3261 §13.3); BYE -> 200
  (§15.1.2). Requests are taken only from the trust domain (RFC 3325 §2.3: the configured
  E-CSCF / core addresses and the call-back route); anyone else gets 403 and nothing is
  recorded, so the asserted identity and the network-provided cell a record holds were set by
  the network. A request with a To-tag must belong to one of the PSAP's dialogs (481
  otherwise, §12.2.2); a re-INVITE is answered (§14.2) but is no new call. Each emergency call
  is recorded (`StoreCall`).
- The call-back (`CallBackRequested`) calls the recorded identity through the caller's home
  IMS (TS 23.167 §7.7: a PSAP call-back is an ordinary terminating session): INVITE, ACK of an
  answer (§13.2.2.4), the hold (timer `CallBackHold`), BYE (§15.1.1); each request waits at
  most `callback_timeout_s` (timer `CallBackTimeout`). `CallBackFinished` gives the outcome.

    INVITING --2xx--> TALKING --CallBackHold--> HANGING_UP --final/timeout--> finished
    INVITING --non-2xx/timeout--> finished (failed)
"""

from __future__ import annotations

import datetime
import enum
import logging
from dataclasses import dataclass
from typing import Any

from corenet.codecs import sdp, sip
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.config.models import PsapConfig
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.errors import DecodeError
from corenet.core.identifiers import imei_uri, imsi_uri, tel_uri
from corenet.nf.psap.records import CallRecord, record_from_invite
from corenet.protocols import sip_ua
from corenet.protocols.sip_transactions import (
    Address,
    Dialog,
    RequestReceived,
    ResponseReceived,
    SipPeer,
    TransactionTimeout,
    TransportFailed,
    via_for,
)
from corenet.protocols.sip_transactions import Event as SipEvent
from corenet.protocols.sip_ua import SendFailed, SendRequest, SendResponse, SipReceived

log = logging.getLogger("corenet.psap")

MEDIA_PORT = 40000
MAX_DIALOGS = 10000
CALLBACK_TIMEOUT = "CallBackTimeout"
CALLBACK_HOLD = "CallBackHold"
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"
PSAP_CALLBACK = "psap-callback"  # RFC 7090 §4, the Priority header value of a call-back


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class CallBackRequested:
    """Call the identity of `record` back; `ref` comes back in `CallBackFinished`."""

    record: CallRecord
    ref: int


Event = SipReceived | SendFailed | CallBackRequested | TimerExpired


# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class StoreCall:
    """An answered emergency call to record (records.py)."""

    record: CallRecord


@dataclass(frozen=True)
class CallBackFinished:
    ref: int
    record_id: int | None
    outcome: str  # "answered" | "failed"
    sip_status: int | None


Action = SendRequest | SendResponse | StoreCall | CallBackFinished | StartTimer | StopTimer \
    | LogEvent


# ------------------------------------------------------------------------------ call-back


class CallBackStep(enum.Enum):
    INVITING = "inviting"
    TALKING = "talking"
    HANGING_UP = "hanging-up"


@dataclass
class _CallBack:
    ref: int
    record_id: int | None
    invite: SipRequest
    step: CallBackStep = CallBackStep.INVITING
    status: int | None = None
    dialog: Dialog | None = None
    hop: SipPeer | None = None

    @property
    def method(self) -> str:
        return "INVITE" if self.step is CallBackStep.INVITING else "BYE"


class PsapCore:
    """One PSAP; `local` is the address its SIP transport is bound to."""

    def __init__(self, cfg: PsapConfig, local: Address = ("127.0.0.1", 5060), *,
                 ids: sip_ua.SipIds | None = None) -> None:
        self.cfg = cfg
        self.local = local
        self.ids = ids or sip_ua.SipIds()
        self.trusted = set(cfg.trusted_peers) | {cfg.callback_route.host}
        self._dialogs: dict[tuple[str, str], str] = {}  # (Call-ID, our tag) -> our Contact
        self._callbacks: dict[str, _CallBack] = {}  # by Call-ID
        self._out: list[Action] = []

    @property
    def contact(self) -> str:
        host, port = self.local
        return f"<sip:psap@{host}:{port}>"

    def handle(self, event: Event, now: float) -> list[Action]:
        self._out = []
        if isinstance(event, SipReceived):
            self._on_sip(event.event, event.peer, now)
        elif isinstance(event, SendFailed):
            self._on_failed(event.request)
        elif isinstance(event, CallBackRequested):
            self._call_back(event.record, event.ref)
        else:
            self._on_timer(event)
        out, self._out = self._out, []
        return out

    def dialog_count(self) -> int:
        return len(self._dialogs)

    # -- UAS --------------------------------------------------------------------------------

    def _on_sip(self, event: SipEvent, peer: SipPeer, now: float) -> None:
        try:
            if isinstance(event, RequestReceived) and event.key is not None:
                self._on_request(event.request, peer, now)
            elif isinstance(event, ResponseReceived):
                self._on_response(event.response)
            elif isinstance(event, TransactionTimeout | TransportFailed):
                self._on_failed(event.request)
        except DecodeError as exc:
            log.warning("PSAP: request from %s not served: %s", peer.address, exc.detail)

    def _respond(self, req: SipRequest, status: int, peer: SipPeer, **kwargs: Any) -> None:
        self._out.append(SendResponse(sip.response_for(req, status, **kwargs), peer))

    def _on_request(self, req: SipRequest, peer: SipPeer, now: float) -> None:
        if peer.address[0] not in self.trusted:
            # RFC 3325 §2.3: outside the trust domain
            if req.method != "ACK":
                self._respond(req, 403, peer)
            self._out.append(LogEvent("psap.request.refused", {
                "method": req.method, "source": peer.address[0], "status": 403}))
            return
        tag = req.to.tag
        if tag is not None and (req.call_id, tag) not in self._dialogs:
            if req.method != "ACK":
                self._respond(req, 481, peer)  # §12.2.2
            return
        if req.method == "INVITE":
            if tag is None:
                self._answer(req, peer, now)
            else:
                self._reanswer(req, peer, tag)
        elif req.method == "BYE" and tag is None:
            self._respond(req, 481, peer)
        elif req.method in ("BYE", "OPTIONS", "CANCEL"):
            self._respond(req, 200, peer)
            if req.method == "BYE" and tag is not None:
                self._dialogs.pop((req.call_id, tag), None)
                self._out.append(LogEvent("psap.call.ended", {"call_id": req.call_id}))
        elif req.method != "ACK":
            self._respond(req, 405, peer, headers=[("Allow", ALLOW)])  # §8.2.1

    def _sdp_answer(self, req: SipRequest) -> tuple[bytes, str | None]:
        """RFC 3264 §6: the answer to the request's offer, if it has one."""
        offers = [p for p in req.body_parts() if p.content_type == "application/sdp"]
        if not offers:
            return b"", None
        answer = sdp.audio_answer(sdp.decode(offers[0].body), self.local[0], MEDIA_PORT)
        return sdp.encode(answer), "application/sdp"

    def _answer(self, req: SipRequest, peer: SipPeer, now: float) -> None:
        """RFC 3261 §13.3.1: ring, then accept with an answer to the offer."""
        tag = self.ids.tag()
        try:
            body, ctype = self._sdp_answer(req)
        except DecodeError as exc:
            # RFC 3261 §21.4.26 / RFC 3264 §6: an offer that cannot be answered
            self._respond(req, 488, peer)
            self._out.append(LogEvent("psap.request.refused", {
                "method": req.method, "source": peer.address[0], "status": 488,
                "detail": exc.detail}))
            return
        # §12.1.1: the 180 creates an early dialog and the 200 confirms it: both carry the
        # Record-Route of the INVITE and the PSAP's Contact
        self._out.append(SendResponse(sip_ua.dialog_response(req, 180, to_tag=tag,
                                                      contact=self.contact), peer))
        self._out.append(SendResponse(sip_ua.dialog_response(
            req, 200, to_tag=tag, contact=self.contact, body=body, content_type=ctype), peer))
        if len(self._dialogs) >= MAX_DIALOGS:  # calls never ended: the oldest are forgotten
            del self._dialogs[next(iter(self._dialogs))]
        self._dialogs[(req.call_id, tag)] = self.contact
        self._out.append(StoreCall(record_from_invite(req, _iso(now))))

    def _reanswer(self, req: SipRequest, peer: SipPeer, tag: str) -> None:
        """RFC 3261 §14.2: a re-INVITE in an answered call is accepted; it is no new call."""
        body, ctype = self._sdp_answer(req)
        # §12.2: a target refresh leaves the route set as it is; the Contact is ours again
        self._respond(req, 200, peer, to_tag=tag,
                      headers=[("Contact", self._dialogs[(req.call_id, tag)])],
                      body=body, content_type=ctype)

    # -- call-back (UAC) --------------------------------------------------------------------

    def _call_back(self, rec: CallRecord, ref: int) -> None:
        target = _target(rec)
        if target is None:
            self._finish_with(ref, rec.id, "failed", None)
            return
        host, _ = self.local
        route = SipPeer("UDP", (self.cfg.callback_route.host, self.cfg.callback_route.port))
        invite = sip.make_request(
            "INVITE", target, from_=f"<{self.cfg.uri}>;tag={self.ids.tag()}", to=f"<{target}>",
            call_id=self.ids.call_id(host), cseq=1, via=self._via(),
            contact=self.contact,
            # RFC 7090 §4: a call-back is marked so the network and the UE treat it as one
            headers=[("P-Asserted-Identity", f"<{self.cfg.uri}>"),
                     ("Priority", PSAP_CALLBACK)],
            body=sdp.encode(sdp.audio_offer(host, MEDIA_PORT + 2)),
            content_type="application/sdp")
        self._callbacks[invite.call_id] = _CallBack(ref, rec.id, invite)
        self._out.append(SendRequest(invite, route))
        self._out.append(StartTimer(CALLBACK_TIMEOUT, invite.call_id, self.cfg.callback_timeout_s))

    def _on_response(self, resp: SipResponse) -> None:
        cb = self._callbacks.get(resp.call_id)
        if cb is None or resp.status < 200 or resp.cseq.method != cb.method:
            return
        self._out.append(StopTimer(CALLBACK_TIMEOUT, resp.call_id))
        if cb.step is CallBackStep.HANGING_UP:
            self._finish(cb, "answered", cb.status)
        elif not 200 <= resp.status < 300:
            self._finish(cb, "failed", resp.status)
        else:
            self._talk(cb, resp)

    def _talk(self, cb: _CallBack, ok: SipResponse) -> None:
        """§13.2.2.4: ACK the 2xx along the dialog's route (§12.2.1.1), then hold the call."""
        cb.status = ok.status
        try:
            cb.dialog = Dialog.from_uac(cb.invite, ok)
        except DecodeError:
            self._finish(cb, "failed", ok.status)
            return
        cb.hop = _first_hop(cb.dialog)
        cb.step = CallBackStep.TALKING
        self._dialogs[(cb.invite.call_id, cb.invite.from_.tag or "")] = self.contact
        self._out.append(SendRequest(cb.dialog.create_request("ACK", self._via()), cb.hop))
        self._out.append(StartTimer(CALLBACK_HOLD, cb.invite.call_id, self.cfg.callback_hold_s))

    def _hang_up(self, cb: _CallBack) -> None:
        """§15.1.1: the PSAP ends the call-back with a BYE, unless the UE already did."""
        if cb.dialog is None or cb.hop is None or \
                (cb.invite.call_id, cb.invite.from_.tag or "") not in self._dialogs:
            self._finish(cb, "answered", cb.status)
            return
        cb.step = CallBackStep.HANGING_UP
        self._out.append(SendRequest(cb.dialog.create_request("BYE", self._via()), cb.hop))
        self._out.append(StartTimer(CALLBACK_TIMEOUT, cb.invite.call_id,
                                    self.cfg.callback_timeout_s))

    def _on_failed(self, request: SipRequest) -> None:
        """Timer B/F or a transport failure (§17.1.4) on a call-back request."""
        cb = self._callbacks.get(request.call_id)
        if cb is None or request.method != cb.method:
            return
        self._out.append(StopTimer(CALLBACK_TIMEOUT, request.call_id))
        self._timed_out(cb)

    def _timed_out(self, cb: _CallBack) -> None:
        if cb.step is CallBackStep.HANGING_UP:
            log.warning("PSAP: no answer to the call-back's BYE")
            self._finish(cb, "answered", cb.status)
        else:
            self._finish(cb, "failed", 408)

    def _on_timer(self, ev: TimerExpired) -> None:
        cb = self._callbacks.get(str(ev.key))
        if cb is None:
            return
        if ev.name == CALLBACK_HOLD and cb.step is CallBackStep.TALKING:
            self._hang_up(cb)
        elif ev.name == CALLBACK_TIMEOUT:
            self._timed_out(cb)

    def _finish(self, cb: _CallBack, outcome: str, status: int | None) -> None:
        call_id = cb.invite.call_id
        self._callbacks.pop(call_id, None)
        self._dialogs.pop((call_id, cb.invite.from_.tag or ""), None)
        self._out += [StopTimer(CALLBACK_TIMEOUT, call_id), StopTimer(CALLBACK_HOLD, call_id)]
        self._finish_with(cb.ref, cb.record_id, outcome, status)

    def _finish_with(self, ref: int, record_id: int | None, outcome: str,
                     status: int | None) -> None:
        self._out.append(CallBackFinished(ref, record_id, outcome, status))
        self._out.append(LogEvent("psap.callback", {"record": record_id, "outcome": outcome,
                                                    "sip_status": status}))

    def _via(self) -> str:
        return via_for("UDP", self.local, self.ids.branch())


def _target(rec: CallRecord) -> str | None:
    """The URI the call-back is addressed to: the MSISDN, else the identity as received."""
    if rec.identity is None:
        return None
    if rec.identity_type == "msisdn":
        return tel_uri(rec.identity)
    if rec.identity_type == "imei":
        return imei_uri(rec.identity)
    if rec.identity_type == "imsi":
        return imsi_uri(rec.identity)  # TS 23.003 §13.4B, the IMSI's home IMS domain
    return rec.identity


def _first_hop(dialog: Dialog) -> SipPeer:
    """RFC 3261 §12.2.1.1 with loose routing: the first Route, else the remote target."""
    uri = sip.parse_name_addr(dialog.route_set[0]).uri if dialog.route_set else \
        sip.parse_uri(dialog.remote_target)
    return SipPeer("UDP", ((uri.host or "").strip("[]"), uri.port or 5060))


def _iso(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat(timespec="milliseconds")
