"""asyncio PSAP: a SIP UAS for emergency calls and a UAC for the call-back.

INVITE -> 180 Ringing, 200 OK with an RFC 3264 answer (RFC 3261 §13.3); BYE -> 200 (§15.1.2).
Requests are taken only from the trust domain (RFC 3325 §2.3: the configured E-CSCF / core
addresses and the call-back route); anyone else gets 403 and nothing is recorded, so the
asserted identity and the network-provided cell a record holds were set by the network. A
request with a To-tag must belong to one of the PSAP's dialogs (481 otherwise, §12.2.2); a
re-INVITE is answered but is no new call. Each emergency call is recorded (records.py) and published as a LogEvent. `call_back(id)`
calls the recorded identity through the caller's home IMS (TS 23.167 §7.7: a PSAP call-back is
an ordinary terminating session), ACKs and ends an answered call (§13.2.2.4, §15.1.1) and
records the final status: it reaches the UE in full roaming only.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corenet.codecs import sdp, sip
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.config.models import PsapConfig
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError
from corenet.core.logs import log_event
from corenet.nf.ims.binding import imei_urn, ims_domain
from corenet.nf.psap.records import CallRecord, CallStore, record_from_invite
from corenet.protocols.sip_transactions import (
    Dialog,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionTimeout,
    TransportFailed,
)
from corenet.transport.sip import SipPeer, SipStack

log = logging.getLogger("corenet.psap")

OnEvent = Callable[[LogEvent], None]
MEDIA_PORT = 40000
MAX_DIALOGS = 10000


@dataclass(frozen=True)
class CallBackResult:
    outcome: str  # "answered" | "failed"
    sip_status: int | None


class PsapService:
    def __init__(self, cfg: PsapConfig, *, tap: Any = None,
                 on_event: OnEvent | None = None) -> None:
        self.cfg = cfg
        self.store = CallStore(cfg.database)
        self.stack = SipStack(self._on_sip, udp_tap=None if tap is None else tap.udp,
                              tcp_tap=None if tap is None else getattr(tap, "tcp", None),
                              limits=sip.Limits(**cfg.sip_limits.model_dump()))
        self.events: list[LogEvent] = []
        self.answered = asyncio.Queue[CallRecord]()
        self._on_event = on_event
        self._pending: dict[str, tuple[str, asyncio.Future[SipResponse]]] = {}
        self.trusted = set(cfg.trusted_peers) | {cfg.callback_route.host}
        self._dialogs: dict[tuple[str, str], str] = {}  # (Call-ID, our tag) -> our Contact

    @property
    def local(self) -> tuple[str, int]:
        return self.stack.local

    async def start(self) -> None:
        await self.stack.start(self.cfg.listen.host, self.cfg.listen.port)  # UDP and TCP, §18
        self._emit(LogEvent("psap.started", {"sip": f"{self.local[0]}:{self.local[1]}"}))

    async def stop(self) -> None:
        for _, fut in self._pending.values():
            fut.cancel()
        self.stack.close()
        await self.stack.wait_closed()
        self.store.close()

    def calls(self) -> list[CallRecord]:
        return self.store.all()

    # -- UAS --------------------------------------------------------------------------------

    def _on_sip(self, event: Event, peer: SipPeer) -> None:
        try:
            if isinstance(event, RequestReceived) and event.key is not None:
                self._on_request(event.request, peer)
            elif isinstance(event, ResponseReceived):
                self._on_response(event.response)
            elif isinstance(event, TransactionTimeout | TransportFailed):
                pending = self._pending.get(event.request.call_id)
                if pending is not None and not pending[1].done() and \
                        pending[0] == event.request.method:
                    pending[1].set_exception(TimeoutError(getattr(event, "timer", "transport")))
        except DecodeError as exc:
            log.warning("PSAP: request from %s not served: %s", peer.address, exc.detail)

    def _on_request(self, req: SipRequest, peer: SipPeer) -> None:
        if peer.address[0] not in self.trusted:
            if req.method != "ACK":
                self.stack.send_response(sip.response_for(req, 403), peer)
            self._emit(LogEvent("psap.request.refused", {
                "method": req.method, "source": peer.address[0], "status": 403}))
            return
        tag = req.to.tag
        if tag is not None and (req.call_id, tag) not in self._dialogs:
            if req.method != "ACK":
                self.stack.send_response(sip.response_for(req, 481), peer)
            return
        if req.method == "INVITE":
            if tag is None:
                self._answer(req, peer)
            else:
                self._reanswer(req, peer, tag)
        elif req.method == "BYE" and tag is None:
            self.stack.send_response(sip.response_for(req, 481), peer)
        elif req.method in ("BYE", "OPTIONS", "CANCEL"):
            self.stack.send_response(sip.response_for(req, 200), peer)
            if req.method == "BYE" and tag is not None:
                self._dialogs.pop((req.call_id, tag), None)
                self._emit(LogEvent("psap.call.ended", {"call_id": req.call_id}))
        elif req.method == "ACK":
            pass
        else:
            self.stack.send_response(sip.response_for(req, 405, headers=[
                ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")]), peer)

    def _answer(self, req: SipRequest, peer: SipPeer) -> None:
        """RFC 3261 §13.3.1: ring, then accept with an answer to the offer."""
        tag = sip.new_tag()
        host, port = self.local
        body, ctype = b"", None
        offers = [p for p in req.body_parts() if p.content_type == "application/sdp"]
        if offers:
            try:
                body = sdp.encode(sdp.audio_answer(sdp.decode(offers[0].body), host,
                                                   MEDIA_PORT))
            except DecodeError as exc:
                # RFC 3261 §21.4.26 / RFC 3264 §6: an offer that cannot be answered
                self.stack.send_response(sip.response_for(req, 488), peer)
                self._emit(LogEvent("psap.request.refused", {
                    "method": req.method, "source": peer.address[0], "status": 488,
                    "detail": exc.detail}))
                return
            ctype = "application/sdp"
        self.stack.send_response(sip.response_for(req, 180, to_tag=tag), peer)
        rr = [("Record-Route", r) for r in req.headers_all("Record-Route")]
        self.stack.send_response(sip.response_for(
            req, 200, to_tag=tag, headers=rr + [("Contact", f"<sip:psap@{host}:{port}>")],
            body=body, content_type=ctype), peer)
        if len(self._dialogs) >= MAX_DIALOGS:  # calls never ended: the oldest are forgotten
            del self._dialogs[next(iter(self._dialogs))]
        self._dialogs[(req.call_id, tag)] = f"<sip:psap@{host}:{port}>"
        rec = record_from_invite(req, _now())
        self.store.add(rec)
        self.answered.put_nowait(rec)
        self._emit(LogEvent("psap.call.answered", rec.to_json()))

    def _reanswer(self, req: SipRequest, peer: SipPeer, tag: str) -> None:
        """RFC 3261 §14.2: a re-INVITE in an answered call is accepted; it is no new call."""
        host, _ = self.local
        body, ctype = b"", None
        offers = [p for p in req.body_parts() if p.content_type == "application/sdp"]
        if offers:
            body = sdp.encode(sdp.audio_answer(sdp.decode(offers[0].body), host, MEDIA_PORT))
            ctype = "application/sdp"
        self.stack.send_response(sip.response_for(
            req, 200, to_tag=tag, headers=[("Contact", self._dialogs[(req.call_id, tag)])],
            body=body, content_type=ctype), peer)

    # -- call-back (UAC) --------------------------------------------------------------------

    def _on_response(self, resp: SipResponse) -> None:
        pending = self._pending.get(resp.call_id)
        if pending is None or pending[1].done() or resp.status < 200:
            return
        if pending[0] == resp.cseq.method:
            pending[1].set_result(resp)

    async def call_back(self, record_id: int) -> CallBackResult:
        """Call the recorded identity back (module docstring); the result is recorded."""
        rec = self.store.get(record_id)
        if rec is None:
            raise KeyError(record_id)
        result = await self._call(_target(rec))
        self.store.set_callback(record_id, result.outcome, result.sip_status)
        self._emit(LogEvent("psap.callback", {"record": record_id, "outcome": result.outcome,
                                              "sip_status": result.sip_status}))
        return result

    async def _call(self, target: str | None) -> CallBackResult:
        if target is None:
            return CallBackResult("failed", None)
        host, port = self.local
        route = SipPeer("UDP", (self.cfg.callback_route.host, self.cfg.callback_route.port))
        invite = sip.make_request(
            "INVITE", target, from_=f"<{self.cfg.uri}>;tag={sip.new_tag()}", to=f"<{target}>",
            call_id=sip.new_call_id(host), cseq=1, via=self.stack.via(),
            contact=f"<sip:psap@{host}:{port}>",
            headers=[("P-Asserted-Identity", f"<{self.cfg.uri}>")],
            body=sdp.encode(sdp.audio_offer(host, MEDIA_PORT + 2)),
            content_type="application/sdp")
        try:
            final = await self._transact(invite, route)
        except TimeoutError:
            return CallBackResult("failed", 408)
        if not 200 <= final.status < 300:
            return CallBackResult("failed", final.status)
        dialog = Dialog.from_uac(invite, final)
        hop = _first_hop(dialog)
        ours = (invite.call_id, invite.from_.tag or "")
        self._dialogs[ours] = f"<sip:psap@{host}:{port}>"
        await self.stack.send_request(dialog.create_request("ACK", self.stack.via()), hop)
        await asyncio.sleep(self.cfg.callback_hold_s)
        bye = dialog.create_request("BYE", self.stack.via())
        try:
            await self._transact(bye, hop)
        except TimeoutError:
            log.warning("PSAP: no answer to the call-back's BYE")
        finally:
            self._dialogs.pop(ours, None)
        return CallBackResult("answered", final.status)

    async def _transact(self, req: SipRequest, peer: SipPeer) -> SipResponse:
        fut: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self._pending[req.call_id] = (req.method, fut)
        try:
            await self.stack.send_request(req, peer)
            return await asyncio.wait_for(fut, self.cfg.callback_timeout_s)
        finally:
            self._pending.pop(req.call_id, None)

    def _emit(self, event: LogEvent) -> None:
        log_event(log, event)
        self.events.append(event)
        if self._on_event is not None:
            self._on_event(event)


def _target(rec: CallRecord) -> str | None:
    """The URI the call-back is addressed to: the MSISDN, else the identity as received."""
    if rec.identity is None:
        return None
    if rec.identity_type == "msisdn":
        return f"tel:+{rec.identity}"
    if rec.identity_type == "imei":
        return f"urn:gsma:imei:{imei_urn(rec.identity)}"
    if rec.identity_type == "imsi":
        # TS 23.003 §13.2 home domain, taking a 2-digit MNC (Japan's numbering)
        return f"sip:{rec.identity}@{ims_domain(rec.identity[:3], rec.identity[3:5])}"
    return rec.identity


def _first_hop(dialog: Dialog) -> SipPeer:
    """RFC 3261 §12.2.1.1 with loose routing: the first Route, else the remote target."""
    uri = sip.parse_name_addr(dialog.route_set[0]).uri if dialog.route_set else \
        sip.parse_uri(dialog.remote_target)
    return SipPeer("UDP", ((uri.host or "").strip("[]"), uri.port or 5060))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
