"""A tester UE behind a `TesterEnb`: NAS (TS 24.301) with a USIM (TS 33.102 Milenage).

The steps are explicit so that a case can stop, misbehave or stay silent at any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corenet.codecs import nas, s1ap
from corenet.codecs.base import Message
from corenet.conformance.tester.enb import TesterEnb, get
from corenet.core.plmn import Plmn
from corenet.crypto import kdf
from corenet.crypto.milenage import AutnCheck, Milenage, build_auts, check_autn, int_to_sqn
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext

ATTACH_EPS, ATTACH_EMERGENCY = 1, 6  # TS 24.301 §9.9.3.11
REQUEST_INITIAL, REQUEST_EMERGENCY = 1, 4  # TS 24.008 §10.5.6.17
# what a UE announces (TS 24.301 §9.9.3.34): EIA0 too, as UEs do for emergency bearer services
EEA, EIA = (0, 2), (0, 2)


@dataclass
class Downlink:
    """One S1AP message towards the UE with its NAS message, decoded (None when absent)."""

    s1ap: Message
    nas: Message | None
    raw_nas: bytes | None

    @property
    def name(self) -> str:
        return self.nas.name if self.nas is not None else self.s1ap.name


@dataclass
class TesterUe:
    enb: TesterEnb
    imsi: str
    k: bytes
    opc: bytes
    imei: str = "356938035643809"
    enb_ue_id: int = 0
    mme_ue_id: int | None = None
    ctx: NasSecurityContext | None = None
    kasme: bytes | None = None
    res: bytes | None = None
    history: list[Downlink] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.enb_ue_id = self.enb.new_ue_id()
        self.usim = Milenage(self.k, self.opc)

    # ------------------------------------------------------------------ uplink

    def initial(self, pdu: bytes, rrc_cause: str = "mo-Signalling") -> None:
        self.enb.send(s1ap.initial_ue_message(
            enb_ue_id=self.enb_ue_id, nas_pdu=pdu, tai_plmn=self.enb.plmn, tac=self.enb.tac,
            ecgi_plmn=self.enb.plmn, cell_id=(self.enb.enb_id << 8) | 1,
            rrc_establishment_cause=rrc_cause))

    def uplink(self, plain: bytes, *, protect: bool = True, sht: int = nas.SHT_INTEGRITY_CIPHERED) -> bytes:
        """Protected with the current context once there is one (TS 24.301 §4.4.4.1)."""
        pdu = nas.protect(plain, self.ctx, UPLINK, sht) if (protect and self.ctx) else plain
        self.send_raw(pdu)
        return pdu

    def send_raw(self, pdu: bytes) -> None:
        assert self.mme_ue_id is not None, "no MME UE S1AP ID yet"
        self.enb.send(s1ap.uplink_nas_transport(
            mme_ue_id=self.mme_ue_id, enb_ue_id=self.enb_ue_id, nas_pdu=pdu,
            tai_plmn=self.enb.plmn, tac=self.enb.tac, ecgi_plmn=self.enb.plmn,
            cell_id=(self.enb.enb_id << 8) | 1))

    # ------------------------------------------------------------------ downlink

    async def receive(self, timeout: float = 5.0, what: str = "a downlink message") -> Downlink:
        msg = await get(self.enb.per_ue[self.enb_ue_id], timeout, what)
        if isinstance(msg.fields.get("MME-UE-S1AP-ID"), int):
            self.mme_ue_id = msg.fields["MME-UE-S1AP-ID"]
        raw = msg.fields.get("NAS-PDU")
        if raw is None and msg.name == "InitialContextSetupRequest":
            raw = _ics_nas(msg)
        dl = Downlink(msg, None if raw is None else self._decode(bytes(raw)),
                      None if raw is None else bytes(raw))
        self.history.append(dl)
        return dl

    async def receive_nas(self, timeout: float = 5.0, what: str = "a NAS message") -> Downlink:
        """The next downlink carrying NAS; S1AP-only messages in between are kept in history."""
        while True:
            dl = await self.receive(timeout, what)
            if dl.nas is not None or dl.s1ap.name == "UEContextReleaseCommand":
                return dl

    def decode_nas(self, raw: bytes) -> Message:
        """A downlink NAS PDU carried elsewhere than in the S1AP NAS-PDU IE (an E-RAB's)."""
        return self._decode(raw)

    def _decode(self, raw: bytes) -> Message:
        sht = raw[0] >> 4 if raw and raw[0] & 0x0F == nas.PD_EMM else 0
        if sht in (1, 2, 4) and self.ctx is not None:
            return nas.decode(raw, self.ctx, DOWNLINK)
        return nas.decode(raw, None, DOWNLINK)

    # ------------------------------------------------------------------ procedures

    def attach_request(self, *, emergency: bool = False, identity: str = "imsi",
                       ue_eia: tuple[int, ...] = EIA, on_connection: bool = False) -> None:
        """TS 24.301 §5.5.1.2.2 (type 6 = emergency, §9.9.3.11); `on_connection`: on the UE's
        S1 connection (UPLINK NAS TRANSPORT) rather than a new one."""
        esm = nas.pdn_connectivity_request(
            pti=1, request_type=REQUEST_EMERGENCY if emergency else REQUEST_INITIAL)
        ident: dict[str, Any] = {"imei": self.imei} if identity == "imei" else {"imsi": self.imsi}
        pdu = nas.attach_request(
            attach_type=ATTACH_EMERGENCY if emergency else ATTACH_EPS, ksi=7,
            ue_net_cap=nas.ue_network_capability(eea=EEA, eia=ue_eia), esm_container=esm,
            drx=b"\x00\x00", **ident)
        if on_connection:
            self.send_raw(pdu)
        else:
            self.initial(pdu, rrc_cause="emergency" if emergency else "mo-Signalling")

    def autn_check(self, dl: Downlink) -> AutnCheck:
        """The USIM's reading of an Authentication Request's RAND and AUTN (TS 33.102 §6.3.3)."""
        assert dl.nas is not None
        f = dl.nas.fields
        return check_autn(self.usim, bytes(f["authentication_parameter_rand"]),
                          bytes(f["authentication_parameter_autn"]))

    def answer_authentication(self, dl: Downlink, plmn: Plmn) -> bytes:
        """The USIM's answer to an Authentication Request (TS 33.102 §6.3.3): RES."""
        assert dl.nas is not None
        f = dl.nas.fields
        rand, autn = bytes(f["authentication_parameter_rand"]), bytes(f["authentication_parameter_autn"])
        chk = check_autn(self.usim, rand, autn)
        if not chk.mac_ok:
            return nas.authentication_failure(20)
        _, ck, ik, _ = self.usim.f2345(rand)
        self.res = self.usim.f2345(rand)[0]
        self.kasme = kdf.kasme(ck, ik, plmn.to_bytes(), autn[:6])  # TS 33.401 A.2
        return nas.authentication_response(self.res)

    def synch_failure(self, dl: Downlink, sqn_ms: int) -> bytes:
        """AUTS for a USIM whose SQN_MS is `sqn_ms` (TS 33.102 §6.3.3, §6.3.5)."""
        assert dl.nas is not None
        rand = bytes(dl.nas.fields["authentication_parameter_rand"])
        return nas.authentication_failure(21, build_auts(self.usim, rand, int_to_sqn(sqn_ms)))

    def take_smc(self, dl: Downlink) -> tuple[NasSecurityContext, bool]:
        """Take the Security Mode Command's context (TS 24.301 §5.4.3.3): (context, MAC ok)."""
        assert dl.nas is not None and dl.raw_nas is not None
        algs = dl.nas.fields["selected_nas_security_algorithms"]
        ksi = int(dl.nas.fields.get(nas.KSI, 0)) & 7
        kasme = self.kasme if self.kasme is not None else bytes(32)
        ctx = NasSecurityContext.from_kasme(ksi, kasme, eia=int(algs["eia"]), eea=int(algs["eea"]))
        _, _, ok = nas.unprotect(dl.raw_nas, ctx, DOWNLINK)
        self.ctx = ctx
        return ctx, ok

    def smc_complete(self) -> None:
        self.uplink(nas.security_mode_complete(imeisv="3569380356438091"),
                    sht=nas.SHT_INTEGRITY_CIPHERED_NEW_CONTEXT)

    def context_setup_response(self, dl: Downlink) -> None:
        """INITIAL CONTEXT SETUP RESPONSE (TS 36.413 §8.3.1.2) for every E-RAB asked for."""
        assert self.mme_ue_id is not None
        items = dl.s1ap.fields.get("E-RABToBeSetupListCtxtSUReq") or []
        erabs = [(int(i["e-RAB-ID"]), "127.0.0.1", 0x1000 + int(i["e-RAB-ID"])) for i in items]
        self.enb.send(s1ap.initial_context_setup_response(self.mme_ue_id, self.enb_ue_id, erabs))

    async def go_idle(self) -> None:
        """S1 release on inactivity (TS 23.401 §5.3.5): UE CONTEXT RELEASE REQUEST, COMMAND,
        COMPLETE; the UE is in ECM-IDLE with its security context."""
        assert self.mme_ue_id is not None, "no MME UE S1AP ID yet"
        self.enb.send(s1ap.ue_context_release_request(self.mme_ue_id, self.enb_ue_id,
                                                      ("radioNetwork", "user-inactivity")))
        while (await self.receive(what="UEContextReleaseCommand")).s1ap.name != \
                "UEContextReleaseCommand":
            pass
        self.release_complete()

    def service_request(self, s_tmsi: tuple[int, int], pdu: bytes | None = None) -> bytes:
        """From ECM-IDLE (TS 24.301 §5.6.1.2): a new S1 connection whose INITIAL UE MESSAGE
        carries the S-TMSI (MMEC, M-TMSI) and the SERVICE REQUEST (short MAC, §9.9.3.28)."""
        assert self.ctx is not None, "no NAS security context"
        self.enb_ue_id, self.mme_ue_id = self.enb.new_ue_id(), None
        data = pdu if pdu is not None else nas.service_request(self.ctx.ksi & 7, self.ctx)
        self.enb.send(s1ap.initial_ue_message(
            enb_ue_id=self.enb_ue_id, nas_pdu=data, tai_plmn=self.enb.plmn, tac=self.enb.tac,
            ecgi_plmn=self.enb.plmn, cell_id=(self.enb.enb_id << 8) | 1,
            rrc_establishment_cause="mo-Data", s_tmsi=s_tmsi))
        return data

    def release_complete(self) -> None:
        if self.mme_ue_id is not None:
            self.enb.send(s1ap.ue_context_release_complete(self.mme_ue_id, self.enb_ue_id))

    async def attach(self, plmn: Plmn, *, emergency: bool = False,
                     identity: str = "imsi") -> Downlink:
        """A well-behaved attach up to the Attach Accept (or whatever ends it): the last
        downlink. Identity Request, Authentication and Security Mode are answered."""
        self.attach_request(emergency=emergency, identity=identity)
        while True:
            dl = await self.receive_nas(what="the attach procedure's next message")
            name = dl.name
            if name == "IdentityRequest":
                self.uplink(nas.identity_response(imsi=self.imsi))
            elif name == "AuthenticationRequest":
                self.uplink(self.answer_authentication(dl, plmn), protect=False)
            elif name == "SecurityModeCommand":
                self.take_smc(dl)
                self.smc_complete()
            elif name in ("ESMInformationRequest",):
                self.uplink(nas.esm_information_response(pti=1))
            else:
                return dl

    def complete_attach(self, accept: Downlink) -> None:
        """ICS Response + Attach Complete with the default bearer's Accept (§5.5.1.2.4)."""
        assert accept.nas is not None
        self.context_setup_response(accept)
        container = accept.nas.fields.get(nas.ESM_CONTAINER) or {}
        ebi = int((container.get("fields") or {}).get(nas.EBI, 5))
        self.uplink(nas.attach_complete(nas.activate_default_eps_bearer_context_accept(ebi=ebi)))


def _ics_nas(msg: Message) -> bytes | None:
    for item in msg.fields.get("E-RABToBeSetupListCtxtSUReq") or []:
        if item.get("nAS-PDU"):
            return bytes(item["nAS-PDU"])
    return None
