"""The P-CSCF binds UE addresses over Rx (TS 29.214 §4.4.1, §4.4.5a): a request from an
unknown address is held until the PCRF's AAA, refused with 403 when the PCRF knows no such
IP-CAN session (5065) and 503 when it does not answer; the mode comes from the answers."""

from __future__ import annotations

import random

from corenet.codecs import diameter as dia
from corenet.codecs import pcc, sdp, sip
from corenet.codecs.base import Message
from corenet.codecs.ims_sip import CALLER_HEADER, RoamingCaller, parse_roaming_caller
from corenet.config.models import Endpoint, HomeImsRoute, PcrfLink, PcscfConfig
from corenet.nf.ims.binding import AccessMode, BindingTable
from corenet.nf.ims.dialplan import DialPlan
from corenet.nf.ims.pcscf import PcscfCore
from corenet.nf.ims.proxy import Element, SendSip
from corenet.nf.ims.rx import RxClient, SendRx
from corenet.nf.pcrf.core import PcrfCore, SendAnswer, SendRequest
from corenet.protocols.diameter_ids import DiameterIds
from tests.unit.nf.ims.test_trust import ECSCF, PCSCF, SCSCF, in_dialog, invite
from tests.unit.nf.pcrf.helpers import IMSI, MSISDN, PCRF, ccr_initial, roundtrip

SOS_UE = "127.147.70.1"
IMS_UE = "127.146.70.2"


def _pcscf() -> PcscfCore:
    link = PcrfLink(origin_host="pcscf.ims.mnc020.mcc440.3gppnetwork.org")
    rx = RxClient(link, DiameterIds(link.origin_host, 0.0, random.Random(3)))
    cfg = PcscfConfig(listen=Endpoint(host=PCSCF[0], port=PCSCF[1]),
                      ecscf=Endpoint(host=ECSCF[0], port=ECSCF[1]),
                      home_ims=[HomeImsRoute(address=Endpoint(host=SCSCF[0], port=SCSCF[1]))])
    return PcscfCore(cfg, BindingTable(None), DialPlan(), Element(*PCSCF), rx=rx)


def _exchange(core: PcscfCore, pcrf: PcrfCore, actions: list) -> list:
    """Each AAR/STR to the PCRF and its answer back, until no Rx request is left."""
    out = []
    while actions:
        action, actions = actions[0], actions[1:]
        if not isinstance(action, SendRx):
            out.append(action)
            continue
        request = roundtrip(action.message)
        [answer] = [a.message for a in pcrf.handle(request, 0.0) if isinstance(a, SendAnswer)]
        actions = actions + core.handle_rx_answer(roundtrip(answer), request, 0.0)
    return out


def _caller(fwd: SendSip) -> RoamingCaller:
    caller = parse_roaming_caller(fwd.message.header(CALLER_HEADER))
    assert caller is not None
    return caller


def _sent(actions: list) -> list[SendSip]:
    return [a for a in actions if isinstance(a, SendSip)]


def _pcrf(*sessions: Message) -> PcrfCore:
    pcrf = PcrfCore(PCRF.host, PCRF.realm)
    for ccr in sessions:
        pcrf.handle(ccr, 0.0)
    return pcrf


def test_request_is_held_until_the_aaa_then_forwarded_with_the_asserted_identity() -> None:
    core, pcrf = _pcscf(), _pcrf(ccr_initial(ue=IMS_UE, apn="ims"))
    held = core.handle_request(invite(IMS_UE, "tel:119"), (IMS_UE, 5060), 0.0)
    [aar] = [a for a in held if isinstance(a, SendRx)]
    msg = roundtrip(aar.message)
    assert msg.name == "AAR" and pcc.ue_address_of(msg) == IMS_UE
    assert dia.avp(msg, "AF-Requested-Data") == pcc.EPC_LEVEL_IDENTITIES
    assert dia.avp(msg, "Media-Component-Description", "Media-Sub-Component",
                   "Flow-Usage") == pcc.FLOW_USAGE_AF_SIGNALLING
    assert not _sent(held)  # nothing leaves before the binding
    [fwd] = _sent(_exchange(core, pcrf, held))
    assert fwd.peer == ECSCF
    assert fwd.message.header("P-Asserted-Identity") == f"<tel:+{MSISDN}>"
    assert _caller(fwd).mode == "full"
    binding = core.bindings.lookup(IMS_UE)
    assert binding is not None and binding.mode is AccessMode.FULL and binding.imsi == IMSI
    assert binding.cell is not None and binding.cell.eci == 0x10101


def test_emergency_pdn_is_bound_again_with_the_service_urn() -> None:
    core, pcrf = _pcscf(), _pcrf(ccr_initial(ue=SOS_UE, apn="sos"))
    out = _exchange(core, pcrf, core.handle_request(invite(SOS_UE, "tel:110"), (SOS_UE, 5060),
                                                    0.0))
    [fwd] = _sent(out)
    assert _caller(fwd).mode == "emergency-auth"
    # a non-emergency request of the same UE: the emergency PDN connection serves no other
    [refused] = _sent(core.handle_request(invite(SOS_UE, "tel:0312345678", call_id="c2@ue"),
                                          (SOS_UE, 5060), 0.0))
    assert isinstance(refused.message, sip.SipResponse) and refused.message.status == 403


def test_unauthenticated_imsi_reaches_the_psap_unverified() -> None:
    core, pcrf = _pcscf(), _pcrf(ccr_initial(ue=SOS_UE, apn="sos", msisdn=None))
    [fwd] = _sent(_exchange(core, pcrf, core.handle_request(
        invite(SOS_UE, "tel:119"), (SOS_UE, 5060), 0.0)))
    assert fwd.message.header("P-Asserted-Identity") is None
    caller = _caller(fwd)
    assert (caller.mode, caller.imsi) == ("emergency-unauth", IMSI)


def test_non_emergency_request_on_the_emergency_pdn_is_403() -> None:
    core, pcrf = _pcscf(), _pcrf(ccr_initial(ue=SOS_UE, apn="sos"))
    [resp] = _sent(_exchange(core, pcrf, core.handle_request(
        invite(SOS_UE, "tel:0312345678"), (SOS_UE, 5060), 0.0)))
    assert isinstance(resp.message, sip.SipResponse) and resp.message.status == 403


def test_no_ip_can_session_is_403_and_no_answer_is_503() -> None:
    core, pcrf = _pcscf(), _pcrf()
    [resp] = _sent(_exchange(core, pcrf, core.handle_request(
        invite(IMS_UE, "tel:119"), (IMS_UE, 5060), 0.0)))
    assert isinstance(resp.message, sip.SipResponse) and resp.message.status == 403
    held = core.handle_request(invite(IMS_UE, "tel:119", call_id="c3@ue"), (IMS_UE, 5060), 1.0)
    [aar] = [a for a in held if isinstance(a, SendRx)]
    [resp] = _sent(core.handle_rx_failed(aar.message, 4.0))
    assert isinstance(resp.message, sip.SipResponse) and resp.message.status == 503


def test_call_media_aar_and_str_on_bye() -> None:
    core, pcrf = _pcscf(), _pcrf(ccr_initial(ue=IMS_UE, apn="ims"))
    req = invite(IMS_UE, "tel:119")
    req.body = sdp.encode(sdp.audio_offer(IMS_UE, 50000))
    req.set_header("Content-Type", "application/sdp")
    [fwd] = _sent(_exchange(core, pcrf, core.handle_request(req, (IMS_UE, 5060), 0.0)))
    ok = sip.response_for(fwd.message, 200, to_tag="psaptag")
    ok.body = sdp.encode(sdp.audio_answer(sdp.decode(req.body), "127.0.70.8", 40000))
    rx = [a for a in core.handle_response(ok, ECSCF, 0.0) if isinstance(a, SendRx)]
    [aar] = rx
    msg = roundtrip(aar.message)
    assert dia.avp(msg, "Service-URN") == b"urn:service:sos.fire"
    flows = dia.avp_all(msg, "Media-Component-Description", "Media-Sub-Component",
                        "Flow-Description")
    assert flows == [f"permit out 17 from 127.0.70.8 40000 to {IMS_UE} 50000",
                     f"permit in 17 from {IMS_UE} 50000 to 127.0.70.8 40000"]
    actions = pcrf.handle(msg, 0.0)
    [rar] = [a for a in actions if isinstance(a, SendRequest)]
    assert dia.avp(rar.message, "Charging-Rule-Install", "Charging-Rule-Definition",
                   "QoS-Information", "QoS-Class-Identifier") == 1
    bye = in_dialog(IMS_UE, "BYE", 2)
    stop = [a for a in core.handle_request(bye, (IMS_UE, 5060), 1.0) if isinstance(a, SendRx)]
    assert [roundtrip(s.message).name for s in stop] == ["STR"]


def test_asr_forgets_the_binding_and_ends_the_session() -> None:
    core, pcrf = _pcscf(), _pcrf(ccr_initial(ue=IMS_UE, apn="ims"))
    _exchange(core, pcrf, core.handle_request(invite(IMS_UE, "tel:119"), (IMS_UE, 5060), 0.0))
    ccrt = roundtrip(pcc.request("CCR", "pgw;1;1", pcc.Origin("pgw.x", "x"), PCRF.realm, [
        ("CC-Request-Type", pcc.CcRequestType.TERMINATION_REQUEST), ("CC-Request-Number", 1)]))
    [asr] = [a for a in pcrf.handle(ccrt, 0.0) if isinstance(a, SendRequest)]
    answer, actions = core.handle_rx_request(roundtrip(asr.message))
    assert answer.name == "ASA" and dia.avp(answer, "Result-Code") == 2001
    assert [roundtrip(a.message).name for a in actions if isinstance(a, SendRx)] == ["STR"]
    assert core.bindings.lookup(IMS_UE) is None
