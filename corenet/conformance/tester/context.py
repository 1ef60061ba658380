"""What a case drives the SUT with: tester nodes bound to this case's capture, closed after it."""

from __future__ import annotations

import itertools
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.conformance.sut import Endpoints
from corenet.conformance.tester.diameter import (
    RELAY_APPLICATION_ID,
    TesterDiameter,
    advertised,
    result_code,
)
from corenet.conformance.tester.enb import TesterEnb
from corenet.conformance.tester.gtp import TesterGtp
from corenet.conformance.tester.sip import TesterSip
from corenet.conformance.tester.ue import TesterUe
from corenet.conformance.verdicts import Inconclusive
from corenet.core.plmn import Plmn
from corenet.pcap.tap import PcapTap

# eNB IDs (TS 36.413 §9.2.1.37) and IMSIs are handed out across the whole run so that cases
# sharing a SUT never meet each other's state.
_enb_ids = itertools.count(0x100)
_imsis = itertools.count(0)


class Tester:
    __test__ = False  # not a pytest class

    def __init__(self, sut: Endpoints, tap: PcapTap | None, clause: str) -> None:
        self.sut, self.ids, self.clause = sut, sut.ids, clause
        self._tap = tap
        self._closers: list[Any] = []

    def need(self, interface: str) -> tuple[str, int]:
        where = self.sut.get(interface)
        if where is None:
            raise Inconclusive(f"no {interface} interface given for the SUT (--sut {interface}=...)")
        return where

    @property
    def plmn(self) -> Plmn:
        return self.ids.visited_plmn

    async def enb(self, *, setup: bool = True) -> TesterEnb:
        """A tester eNB, S1 Setup done unless `setup` is False."""
        enb = TesterEnb(self.need("mme"), self.plmn, self.ids.tac, next(_enb_ids),
                        self.sut.local_host, None if self._tap is None else self._tap.sctp,
                        self.sut.sctp_mode)
        self._closers.append(enb)
        await enb.connect()
        if setup:
            answer = await enb.setup()
            if answer.name != "S1SetupResponse":
                raise Inconclusive(f"S1 Setup refused: {answer.name} {answer.fields.get('Cause')}")
        return enb

    def new_imsi(self) -> str:
        n = next(_imsis) % self.ids.subscribers
        return str(int(self.ids.first_imsi) + n).zfill(len(self.ids.first_imsi))

    async def ue(self, enb: TesterEnb | None = None, imsi: str | None = None) -> TesterUe:
        enb = enb or await self.enb()
        return TesterUe(enb, imsi or self.new_imsi(), bytes.fromhex(self.ids.k),
                        bytes.fromhex(self.ids.opc))

    async def attached_ue(self, *, emergency: bool = False) -> tuple[TesterUe, Message]:
        """A UE through a whole attach: (UE, Attach Accept NAS) or Inconclusive."""
        ue = await self.ue()
        dl = await ue.attach(self.plmn, emergency=emergency)
        if dl.name != "AttachAccept" or dl.nas is None:
            raise Inconclusive(f"attach did not reach Attach Accept: {dl.name}")
        ue.complete_attach(dl)
        return ue, dl.nas

    async def diameter(self, interface: str = "hss", *, as_mme: bool = True,
                       cer: bool = True, origin_host: str | None = None,
                       **cer_kw: Any) -> TesterDiameter:
        """A Diameter peer of the SUT: an MME of the visited PLMN (S6a) or a bare peer."""
        host = origin_host or (self.ids.tester_mme_host if as_mme else self.ids.tester_peer_host)
        realm = self.ids.mme_realm if as_mme else self.ids.tester_peer_realm
        peer = TesterDiameter(self.need(interface), host, realm, self.sut.local_host,
                              None if self._tap is None else self._tap.tcp)
        self._closers.append(peer)
        await peer.connect()
        if cer:
            cea = await peer.capabilities(**cer_kw)
            if result_code(cea) != 2001 and not cer_kw:
                raise Inconclusive(f"capabilities exchange refused: {result_code(cea)}")
        return peer

    async def application_peer(self, interface: str, application: int, name: str, *,
                               origin_host: str | None = None) -> TesterDiameter:
        """A Diameter client of one 3GPP application (Cx, Gx, Rx) of the SUT. A SUT whose CEA
        does not advertise that application (RFC 6733 §5.3: the applications in common) is
        not one the case applies to: Inconclusive, naming the application."""
        host = origin_host or self.ids.tester_peer_host
        peer = TesterDiameter(self.need(interface), host, self.ids.tester_peer_realm,
                              self.sut.local_host, None if self._tap is None else self._tap.tcp)
        self._closers.append(peer)
        await peer.connect()
        cea = await peer.capabilities(vendor_specific_application_ids=(
            (dia.VENDOR_3GPP, application),))
        apps = advertised(cea)
        if application not in apps:
            relay = " (a relay agent)" if RELAY_APPLICATION_ID in apps else ""
            raise Inconclusive(f"not applicable: the SUT{relay} does not advertise {name} "
                               f"({application}) in its CEA")
        if result_code(cea) != 2001:
            raise Inconclusive(f"capabilities exchange refused: {result_code(cea)}")
        return peer

    async def gtp(self, interface: str = "sgw") -> TesterGtp:
        """A GTPv2-C node: an MME towards the S-GW (`sgw`), or an S-GW towards the MME's S11
        (`mme-s11`)."""
        gtp = TesterGtp(self.need(interface), self.sut.local_host,
                        None if self._tap is None else self._tap.udp)
        self._closers.append(gtp)
        await gtp.open()
        return gtp

    async def sip(self, local: tuple[str, int] | None = None) -> TesterSip:
        """A SIP endpoint on `local` (a UE's address, port 0) or the SUT's PSAP address."""
        where = local if local is not None else self.need("psap")
        node = TesterSip(where, None if self._tap is None else self._tap.udp)
        self._closers.append(node)
        await node.open()
        return node

    def close(self) -> None:
        for c in reversed(self._closers):
            try:
                c.close()
            except Exception:  # noqa: BLE001 - a close never changes a verdict
                pass
        self._closers.clear()

