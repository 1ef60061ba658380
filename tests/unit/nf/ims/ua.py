"""A small SIP UA for the tests: registers, calls, answers call-backs (RFC 3261 §8, §13)."""

from __future__ import annotations

import asyncio

from corenet.codecs import sdp, sip
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.protocols.sip_transactions import Dialog, Event, RequestReceived, ResponseReceived
from corenet.transport.sip import SipPeer, SipStack


class LoopbackUa:
    def __init__(self, host: str, proxy: tuple[str, int], msisdn: str, *, tap: object = None):
        self.host = host
        self.proxy = SipPeer("UDP", proxy)
        self.msisdn = msisdn
        self.stack = SipStack(self._on_event, udp_tap=getattr(tap, "udp", None))
        self.finals: asyncio.Queue[SipResponse] = asyncio.Queue()
        self.incoming: list[SipRequest] = []

    async def start(self) -> None:
        await self.stack.start(self.host, 0, tcp=False)

    def close(self) -> None:
        self.stack.close()

    @property
    def contact(self) -> str:
        return f"<sip:+{self.msisdn}@{self.host}:{self.stack.local[1]}>"

    def _on_event(self, event: Event, peer: SipPeer) -> None:
        if isinstance(event, ResponseReceived) and event.response.status >= 200:
            self.finals.put_nowait(event.response)
        elif isinstance(event, RequestReceived) and event.key is not None:
            req = event.request
            self.incoming.append(req)
            if req.method == "INVITE":
                offer = sdp.decode(req.body_parts()[0].body)
                body = sdp.encode(sdp.audio_answer(offer, self.host, 45000))
                rr = [("Record-Route", r) for r in req.headers_all("Record-Route")]
                self.stack.send_response(sip.response_for(
                    req, 200, headers=rr + [("Contact", self.contact)], body=body,
                    content_type="application/sdp"), peer)
            else:
                self.stack.send_response(sip.response_for(req, 200), peer)

    async def request(self, req: SipRequest) -> SipResponse:
        await self.stack.send_request(req, self.proxy)
        return await asyncio.wait_for(self.finals.get(), 10)

    async def register(self, domain: str = "ims.mnc010.mcc440.3gppnetwork.org") -> SipResponse:
        aor = f"<sip:+{self.msisdn}@{domain}>"
        return await self.request(sip.make_request(
            "REGISTER", f"sip:{domain}", from_=f"{aor};tag={sip.new_tag()}", to=aor,
            call_id=sip.new_call_id(self.host), cseq=1, via=self.stack.via(),
            contact=self.contact, headers=[("Expires", "600")]))

    async def call(self, uri: str, *, claimed: str | None = None,
                   bye: bool = True) -> SipResponse:
        """INVITE `uri`; on 200, ACK and BYE through the route set."""
        offer = sdp.encode(sdp.audio_offer(self.host, 44000))
        extra = [("P-Asserted-Identity", f"<{claimed}>")] if claimed else []
        invite = sip.make_request(
            "INVITE", uri, from_=f"<sip:+{self.msisdn}@{self.host}>;tag={sip.new_tag()}",
            to=f"<{uri}>", call_id=sip.new_call_id(self.host), cseq=1, via=self.stack.via(),
            contact=self.contact, headers=extra, body=offer, content_type="application/sdp")
        final = await self.request(invite)
        if final.status == 200 and bye:
            dialog = Dialog.from_uac(invite, final)
            await self.stack.send_request(dialog.create_request("ACK", self.stack.via()),
                                          self.proxy)
            bye_ok = await self.request(dialog.create_request("BYE", self.stack.via()))
            assert bye_ok.status == 200
        return final
