"""A scripted eNB + UE + HSS + S-GW around the sans-I/O MME core, speaking encoded messages.

Reads like the procedure: "send Attach Request ... receive Authentication Request". The UE
keys come from corenet.crypto (Milenage, KASME, NAS keys) exactly as a USIM would derive them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corenet.codecs import gtpv2c, nas, s1ap, s6a
from corenet.codecs.base import Message
from corenet.config.models import MmeConfig
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.plmn import Plmn
from corenet.crypto import kdf, milenage
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext
from corenet.nf.mme.core import MmeCore
from corenet.nf.mme.events import (
    Action,
    Event,
    S1apReceived,
    S1Up,
    S6aAnswer,
    S11Received,
    SendS1ap,
    SendS6a,
    SendS11,
)

MME_PLMN = Plmn("440", "20")
HOME_PLMN = Plmn("440", "10")
IMSI = "440100000000001"
MSISDN = "819012345678"
K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
HSS_HOST, HSS_REALM = "hss.epc.mnc010.mcc440.3gppnetwork.org", HOME_PLMN.realm
SGW_IP = "127.0.0.4"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass
class Scenario:
    cfg: MmeConfig = field(default_factory=MmeConfig)
    core: MmeCore = field(init=False)
    now: float = NOW
    actions: list[Action] = field(default_factory=list)
    timers: dict[tuple[str, Any], float] = field(default_factory=dict)
    logs: list[LogEvent] = field(default_factory=list)
    assoc: int = 1
    enb_ue_id: int = 7
    mme_ue_id: int | None = None
    sqn: int = 32
    usim: milenage.Milenage = field(default_factory=lambda: milenage.Milenage(K, OPC))
    ue_sec: NasSecurityContext | None = None
    kasme: bytes = b""
    xres_override: bytes | None = None
    vectors_made: int = 0
    ksi: int = 0

    def __post_init__(self) -> None:
        self.core = MmeCore(self.cfg)

    # ------------------------------------------------------------- driving the core

    def feed(self, event: Event) -> list[Action]:
        out = self.core.handle(event, self.now)
        for a in out:
            if isinstance(a, StartTimer):
                self.timers[(a.name, a.key)] = a.seconds
            elif isinstance(a, StopTimer):
                self.timers.pop((a.name, a.key), None)
            elif isinstance(a, LogEvent):
                self.logs.append(a)
        self.actions = out
        return out

    def expire(self, name: str, key: Any) -> list[Action]:
        assert (name, key) in self.timers, f"{name} for {key} is not running"
        del self.timers[(name, key)]
        return self.feed(TimerExpired(name, key))

    def s1(self, msg: Message, assoc: int | None = None) -> list[Action]:
        return self.feed(S1apReceived(assoc or self.assoc, s1ap.encode(msg)))

    def sent_s1(self) -> list[Message]:
        return [s1ap.decode(a.data) for a in self.actions if isinstance(a, SendS1ap)]

    def sent_s6a(self) -> list[Message]:
        return [a.msg for a in self.actions if isinstance(a, SendS6a)]

    def sent_s11(self) -> list[Message]:
        return [a.msg for a in self.actions if isinstance(a, SendS11)]

    def log_kinds(self) -> list[str]:
        return [e.kind for e in self.logs]

    # ------------------------------------------------------------- eNB side

    def s1_setup(self, plmn: Plmn = MME_PLMN, tacs: tuple[int, ...] = (1,)) -> Message:
        self.feed(S1Up(self.assoc))
        self.s1(s1ap.s1_setup_request(0x101, "enb1", plmn, tacs))
        (answer,) = self.sent_s1()
        return answer

    def uplink(self, pdu: bytes) -> list[Action]:
        if self.mme_ue_id is None:
            out = self.s1(s1ap.initial_ue_message(self.enb_ue_id, pdu, MME_PLMN, 1, MME_PLMN,
                                                  0x1010))
            for m in self.sent_s1():
                if "MME-UE-S1AP-ID" in m.fields:
                    self.mme_ue_id = m.fields["MME-UE-S1AP-ID"]
            if self.mme_ue_id is None and self.core.ues:
                self.mme_ue_id = max(self.core.ues)
            return out
        return self.s1(s1ap.uplink_nas_transport(self.mme_ue_id, self.enb_ue_id, pdu, MME_PLMN,
                                                 1, MME_PLMN, 0x1010))

    def downlink_nas(self) -> list[bytes]:
        """NAS PDUs the MME sent (Downlink NAS Transport or inside the E-RAB of an ICS)."""
        out = []
        for m in self.sent_s1():
            if m.name == "DownlinkNASTransport":
                out.append(m.fields["NAS-PDU"])
            elif m.name == "InitialContextSetupRequest":
                out += [e["nAS-PDU"] for e in m.fields["E-RABToBeSetupListCtxtSUReq"]
                        if "nAS-PDU" in e]
        return out

    def received(self) -> list[Message]:
        return [nas.decode(pdu, self.ue_sec, DOWNLINK) for pdu in self.downlink_nas()]

    def protect(self, plain: bytes, sht: int = 2) -> bytes:
        assert self.ue_sec is not None
        return nas.protect(plain, self.ue_sec, UPLINK, sht)

    # ------------------------------------------------------------- HSS side

    def vector(self) -> s6a.EutranVector:
        self.vectors_made += 1
        rand = bytes([self.vectors_made]) * 16
        v = milenage.generate_vector(self.usim, rand, milenage.int_to_sqn(self.sqn),
                                     bytes.fromhex("8000"))
        kasme = kdf.kasme(v.ck, v.ik, MME_PLMN.to_bytes(), v.sqn_xor_ak)
        return s6a.EutranVector(v.rand, self.xres_override or v.xres, v.autn, kasme)

    def answer_air(self, request: Message, **kw: Any) -> list[Action]:
        if kw:
            aia = s6a.aia(request, HSS_HOST, HSS_REALM, **kw)
        else:
            aia = s6a.aia(request, HSS_HOST, HSS_REALM, vectors=[self.vector()])
        return self.feed(S6aAnswer(aia))

    def answer_ulr(self, request: Message, **kw: Any) -> list[Action]:
        if not kw:
            kw["subscription_data"] = s6a.SubscriptionData(
                msisdn=MSISDN, ambr=s6a.Ambr(50_000_000, 100_000_000),
                default_context_identifier=1,
                apn_configurations=(s6a.ApnConfiguration(
                    1, "internet", ambr=s6a.Ambr(50_000_000, 100_000_000)),))
        return self.feed(S6aAnswer(s6a.ula(request, HSS_HOST, HSS_REALM, **kw)))

    # ------------------------------------------------------------- S-GW side

    def answer_create_session(self, request: Message, cause: int = 16,
                              paa: dict[str, Any] | None = None) -> list[Action]:
        mme_teid = request.fields["sender_fteid_c"]["teid"]
        rsp = gtpv2c.create_session_response(
            request.fields["sequence"], teid=mme_teid, cause=cause,
            sender_fteid=(gtpv2c.FTEID_S11S4_SGW, 0x5000, SGW_IP),
            pgw_fteid=(gtpv2c.FTEID_S5S8C_PGW, 0x6000, "127.0.0.5"),
            paa=paa or {"pdn_type": 1, "ipv4": "10.45.0.2"}, ambr=request.fields.get("ambr"),
            bearer_contexts=[{"ebi": 5, "cause": 16,
                              "s1u_sgw_fteid": (gtpv2c.FTEID_S1U_SGW, 0x7000, SGW_IP)}])
        return self.feed(S11Received(gtpv2c.decode(gtpv2c.encode(rsp))))

    def answer_s11(self, request: Message, name: str) -> list[Action]:
        builder = {"ModifyBearerRequest": gtpv2c.modify_bearer_response,
                   "DeleteSessionRequest": gtpv2c.delete_session_response}[name]
        rsp = builder(request.fields["sequence"], teid=1)
        return self.feed(S11Received(gtpv2c.decode(gtpv2c.encode(rsp))))

    # ------------------------------------------------------------- the attach, step by step

    pdn_type = 1  # TS 24.301 §9.9.4.10 PDN type the UE asks for: 1 IPv4, 3 IPv4v6

    def attach_request(self, imsi: str = IMSI, pti: int = 1, esm_info_transfer: bool = False,
                       **kw: Any) -> list[Action]:
        esm_req = nas.pdn_connectivity_request(pti=pti, pdn_type=self.pdn_type,
                                               esm_info_transfer=esm_info_transfer)
        return self.uplink(nas.attach_request(imsi=imsi, esm_container=esm_req, **kw))

    def authenticate(self, **attach: Any) -> Message:
        """Up to the Authentication Request (`attach`: attach_request's arguments); returns it
        (decoded)."""
        self.attach_request(**attach)
        (air,) = self.sent_s6a()
        self.answer_air(air)
        (auth,) = self.received()
        assert auth.name == "AuthenticationRequest"
        return auth

    def ue_response(self, auth: Message) -> bytes:
        check = milenage.check_autn(self.usim, auth.fields["authentication_parameter_rand"],
                                    auth.fields["authentication_parameter_autn"])
        assert check.mac_ok
        self.kasme = kdf.kasme(check.ck, check.ik, MME_PLMN.to_bytes(),
                               auth.fields["authentication_parameter_autn"][:6])
        self.ksi = auth.fields[nas.KSI]
        return nas.authentication_response(check.res)

    def security_mode(self, **attach: Any) -> Message:
        auth = self.authenticate(**attach)
        self.uplink(self.ue_response(auth))
        (pdu,) = self.downlink_nas()
        head = nas.decode(pdu)  # integrity only: readable without the keys
        algs = head.fields["selected_nas_security_algorithms"]
        self.ue_sec = NasSecurityContext.from_kasme(self.ksi, self.kasme, algs["eia"],
                                                    algs["eea"])
        smc = nas.decode(pdu, self.ue_sec, DOWNLINK)
        assert smc.name == "SecurityModeCommand" and smc.fields["mac_valid"]
        return smc

    def attach_until_create_session(self) -> Message:
        self.security_mode()
        self.uplink(self.protect(nas.security_mode_complete("3534900000000101"), 4))
        (ulr,) = self.sent_s6a()
        self.answer_ulr(ulr)
        (csr,) = self.sent_s11()
        return csr

    def attach(self) -> tuple[Message, Message]:
        """Full attach; returns (ICS request, Attach Accept)."""
        csr = self.attach_until_create_session()
        self.answer_create_session(csr)
        (ics,) = self.sent_s1()
        (accept,) = self.received()
        self.s1(s1ap.initial_context_setup_response(
            self.mme_ue_id or 0, self.enb_ue_id, [(5, "127.0.1.1", 0x9000)]))
        (mbr,) = self.sent_s11()
        self.answer_s11(mbr, "ModifyBearerRequest")
        complete = nas.attach_complete(nas.activate_default_eps_bearer_context_accept(5, 1))
        self.uplink(self.protect(complete))
        return ics, accept


def attached_scenario() -> Scenario:
    """An eNB through S1 Setup and one UE attached (EMM Information taken)."""
    sc = Scenario()
    sc.s1_setup()
    sc.attach()
    sc.received()  # EMM Information
    return sc


def release_complete(sc: Scenario) -> None:
    """The eNB answers the UE CONTEXT RELEASE COMMAND the MME just sent (TS 36.413 §8.3.3)."""
    (cmd,) = [m for m in sc.sent_s1() if m.name == "UEContextReleaseCommand"]
    ids = cmd.fields["UE-S1AP-IDs"][1]
    sc.s1(s1ap.ue_context_release_complete(ids["mME-UE-S1AP-ID"], ids["eNB-UE-S1AP-ID"]))
