"""An unauthenticated emergency UE never gets non-emergency service, whatever it sends
(TS 23.401 §4.3.12.1; MISSION.md mode 3): random message sequences from the UE side, built with
the codecs, against the sans-I/O MME core with an answering S-GW. Invariants after every step:
no Diameter at all, every Create Session is for the emergency APN with the UIMSI flag, every
E-RAB is the emergency QCI, and no UE context holds another PDN or counts as authenticated."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.codecs import gtpv2c, nas, s1ap
from corenet.config.models import MmeConfig
from corenet.core.errors import DecodeError
from corenet.crypto.nas_security import DOWNLINK, NasSecurityContext
from corenet.nf.mme.events import S11Received, SendS1ap, SendS6a, SendS11
from tests.unit.nf.mme.scenario import IMSI, MME_PLMN, SGW_IP, Scenario

IMSIS = (IMSI, "440100000000002")
APNS = (None, "internet", "ims", "sos")


class Harness:
    def __init__(self) -> None:
        cfg = MmeConfig(roaming={"policies": [{"home_plmn": "44010",
                                               "mode": "emergency-unauth"}]})
        self.sc = Scenario(cfg=cfg)
        self.sc.s1_setup()
        self.next_enb_ue_id = 100
        self.sessions = 0

    # ------------------------------------------------------------- the UE side

    def new_connection(self, pdu: bytes) -> None:
        self.next_enb_ue_id += 1
        self.sc.enb_ue_id, self.sc.mme_ue_id = self.next_enb_ue_id, None
        self.sc.ue_sec = None
        self.sc.s1(s1ap.initial_ue_message(self.sc.enb_ue_id, pdu, MME_PLMN, 1, MME_PLMN, 1))
        self.sc.mme_ue_id = next((m.fields["MME-UE-S1AP-ID"] for m in self.sc.sent_s1()
                                  if "MME-UE-S1AP-ID" in m.fields), None)
        self.settle()

    def send(self, plain: bytes, protect: bool) -> None:
        pdu = self.sc.protect(plain) if protect and self.sc.ue_sec is not None else plain
        if self.sc.mme_ue_id is None:
            self.new_connection(pdu)
            return
        self.sc.s1(s1ap.uplink_nas_transport(self.sc.mme_ue_id, self.sc.enb_ue_id, pdu,
                                             MME_PLMN, 1, MME_PLMN, 1))
        self.settle()

    # ------------------------------------------------------------- the network side

    def settle(self) -> None:
        """Check what the MME sent, answer the S-GW side, adopt a null security context."""
        pending = list(self.sc.actions)
        while pending:
            answers: list[Any] = []
            for action in pending:
                assert not isinstance(action, SendS6a), "Diameter for an unauthenticated UE"
                if isinstance(action, SendS11):
                    answers.append(action.msg)
                elif isinstance(action, SendS1ap):
                    self.check_s1(action.data)
            pending = []
            for msg in answers:
                pending += self.answer_s11(msg)
        self.check_contexts()

    def check_s1(self, data: bytes) -> None:
        msg = s1ap.decode(data)
        if msg.name == "InitialContextSetupRequest":
            for erab in msg.fields["E-RABToBeSetupListCtxtSUReq"]:
                assert erab["e-RABlevelQoSParameters"]["qCI"] == 5
            assert msg.fields["UESecurityCapabilities"] == {
                "encryptionAlgorithms": 0, "integrityProtectionAlgorithms": 0}
        if msg.name == "DownlinkNASTransport":
            pdu = msg.fields["NAS-PDU"]
            try:
                head = nas.decode(pdu)
            except DecodeError:
                return
            if head.name == "SecurityModeCommand":
                assert head.fields["selected_nas_security_algorithms"] == {"eea": 0, "eia": 0}
                self.sc.ue_sec = NasSecurityContext(0, b"", 0, 0, b"", b"")
                nas.decode(pdu, self.sc.ue_sec, DOWNLINK)

    def answer_s11(self, msg: Any) -> list[Any]:
        seq = msg.fields["sequence"]
        if msg.name == "CreateSessionRequest":
            assert msg.fields["apn"] == "sos"
            assert msg.fields.get("msisdn") is None
            assert (msg.fields.get("indication") or {}).get("uimsi") is True
            self.sessions += 1
            mme_teid = msg.fields["sender_fteid_c"]["teid"]
            rsp = gtpv2c.create_session_response(
                seq, teid=mme_teid, cause=16,
                sender_fteid=(gtpv2c.FTEID_S11S4_SGW, 0x5000, SGW_IP),
                pgw_fteid=(gtpv2c.FTEID_S5S8C_PGW, 0x6000, "127.0.0.5"),
                paa={"pdn_type": 1, "ipv4": "10.47.0.2"},
                bearer_contexts=[{"ebi": 5, "cause": 16,
                                  "s1u_sgw_fteid": (gtpv2c.FTEID_S1U_SGW, 0x7000, SGW_IP)}])
        elif msg.name == "ModifyBearerRequest":
            rsp = gtpv2c.modify_bearer_response(seq, teid=1)
        elif msg.name == "DeleteSessionRequest":
            rsp = gtpv2c.delete_session_response(seq, teid=1)
        else:
            return []
        return self.sc.feed(S11Received(gtpv2c.decode(gtpv2c.encode(rsp))))

    def check_contexts(self) -> None:
        for ue in self.sc.core.ues.values():
            assert not ue.authenticated and ue.session.subscription is None and ue.msisdn is None
            assert ue.session.pdn is None or ue.session.pdn.apn == "sos"
            assert ue.session.pdn is None or ue.emergency


# ------------------------------------------------------------------ what a UE may send

def _attach(h: Harness, draw: Any) -> None:
    kind = draw(st.sampled_from(("emergency", "normal", "guti")))
    apn = draw(st.sampled_from(APNS))
    rtype = draw(st.sampled_from((1, 4)))
    esm = nas.pdn_connectivity_request(pti=1, request_type=rtype, apn=apn)
    imsi = draw(st.sampled_from(IMSIS))
    ue = h.sc.core.ue_by_imsi(imsi)
    if kind == "guti" and ue is not None and ue.guti is not None:
        pdu = nas.attach_request(attach_type=draw(st.sampled_from((1, 2))), guti=ue.guti,
                                 esm_container=esm)
    else:
        pdu = nas.attach_request(attach_type=6 if kind == "emergency" else 1, imsi=imsi,
                                 esm_container=esm)
    h.new_connection(pdu)


def _pdn_request(h: Harness, draw: Any) -> None:
    pdu = nas.pdn_connectivity_request(pti=draw(st.integers(1, 254)),
                                       request_type=draw(st.sampled_from((1, 4))),
                                       apn=draw(st.sampled_from(APNS)))
    h.send(pdu, draw(st.booleans()))


def _smc_complete(h: Harness, draw: Any) -> None:
    h.send(nas.security_mode_complete("3534900000000101"), True)


def _attach_complete(h: Harness, draw: Any) -> None:
    h.sc.s1(s1ap.initial_context_setup_response(h.sc.mme_ue_id or 0, h.sc.enb_ue_id,
                                                [(5, "127.0.1.1", 0x9000)]))
    h.settle()
    h.send(nas.attach_complete(nas.activate_default_eps_bearer_context_accept(5, 1)), True)


def _detach(h: Harness, draw: Any) -> None:
    h.send(nas.detach_request(imsi=draw(st.sampled_from(IMSIS)),
                              switch_off=draw(st.booleans())), draw(st.booleans()))


def _esm_info(h: Harness, draw: Any) -> None:
    h.send(nas.esm_information_response(1, apn=draw(st.sampled_from(APNS))), True)


def _identity(h: Harness, draw: Any) -> None:
    h.send(nas.identity_response(imsi=draw(st.sampled_from(IMSIS))), draw(st.booleans()))


def _auth_response(h: Harness, draw: Any) -> None:
    h.send(nas.authentication_response(draw(st.binary(min_size=4, max_size=16))),
           draw(st.booleans()))


def _release(h: Harness, draw: Any) -> None:
    if h.sc.mme_ue_id is not None:
        h.sc.s1(s1ap.ue_context_release_complete(h.sc.mme_ue_id, h.sc.enb_ue_id))
        h.settle()
    h.sc.mme_ue_id = None


STEPS = (_attach, _attach, _pdn_request, _smc_complete, _attach_complete, _detach, _esm_info,
         _identity, _auth_response, _release)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_unauthenticated_emergency_ue_never_gets_other_service(data: st.DataObject) -> None:
    h = Harness()
    for _ in range(data.draw(st.integers(3, 14), label="steps")):
        step = data.draw(st.sampled_from(STEPS))
        step(h, data.draw)
    h.check_contexts()


def test_the_harness_reaches_an_emergency_session() -> None:
    """The property is not vacuous: the scripted happy path creates the emergency session."""
    h = Harness()
    esm = nas.pdn_connectivity_request(pti=1, request_type=4, apn="internet")
    h.new_connection(nas.attach_request(attach_type=6, imsi=IMSI, esm_container=esm))
    assert h.sc.ue_sec is not None
    _smc_complete(h, None)
    assert h.sessions == 1
    _attach_complete(h, None)
    ue = h.sc.core.ue_by_imsi(IMSI)
    assert ue is not None and ue.attach_complete and ue.session.pdn is not None
    assert ue.session.pdn.apn == "sos" and ue.unauthenticated_emergency
