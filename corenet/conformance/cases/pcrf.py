"""TS 29.212 (Gx) and TS 29.214 (Rx) cases against a PCRF, the tester playing the P-GW (the
PCEF, holding IP-CAN sessions) and the P-CSCF (the AF, binding AF sessions to them).

A SUT whose CEA does not advertise Gx or Rx is not one these cases apply to (Inconclusive).
"""

from __future__ import annotations

import itertools
from typing import Any

from corenet.codecs import catalogue, pcc
from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.conformance.case import case
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.diameter import TesterDiameter, result_code
from corenet.conformance.verdicts import check

REMOTE = "10.252.0.1"
# UE addresses no P-GW of the SUT hands out: one per IP-CAN session of the run
_addresses = (f"10.253.{n // 250}.{n % 250 + 1}" for n in itertools.count())


def _ue(t: Tester) -> tuple[str, str, str]:
    """(IMSI, MSISDN, IPv4 address) of a fresh IP-CAN session."""
    imsi = t.new_imsi()
    n = int(imsi) - int(t.ids.first_imsi)
    return imsi, str(int(t.ids.first_msisdn) + n), next(_addresses)


async def _pgw(t: Tester) -> TesterDiameter:
    return await t.application_peer("pcrf", dia.GX_APPLICATION_ID, "Gx")


async def _af(t: Tester) -> TesterDiameter:
    return await t.application_peer("pcrf", dia.RX_APPLICATION_ID, "Rx",
                                    origin_host=t.ids.tester_af_host)


def _request(t: Tester, peer: TesterDiameter, name: str, sid: str,
             avps: list[tuple[str, Any]]) -> Message:
    msg = pcc.request(name, sid, pcc.Origin(peer.origin_host, peer.origin_realm),
                      t.ids.mme_realm, avps)
    msg.fields.update(peer.ids())
    return msg


async def _ccr(t: Tester, peer: TesterDiameter, sid: str, kind: pcc.CcRequestType,
               number: int, *avps: tuple[str, Any]) -> Message:
    return await peer.answer_to(_request(t, peer, "CCR", sid, [
        ("CC-Request-Type", kind), ("CC-Request-Number", number), *avps]))


async def _ip_can_session(t: Tester, peer: TesterDiameter, apn: str = "ims",
                          qci: int = 5) -> tuple[str, str, Message]:
    """IP-CAN session establishment, TS 29.212 §4.5.1: (Session-Id, UE address, CCA-I)."""
    imsi, msisdn, address = _ue(t)
    sid = peer.session_id()
    cca = await _ccr(t, peer, sid, pcc.CcRequestType.INITIAL_REQUEST, 0,
                     *pcc.subscription_ids(imsi, msisdn), *pcc.ue_address_avps(address, None),
                     ("IP-CAN-Type", pcc.IP_CAN_TYPE_3GPP_EPS),
                     ("RAT-Type", pcc.RAT_TYPE_EUTRAN), pcc.default_bearer_qos(qci, 9),
                     ("Called-Station-Id", apn))
    return sid, address, cca


def _media(address: str) -> tuple[str, Any]:
    """An audio stream (TS 29.214 §5.3.8) between the UE and a remote party."""
    return catalogue.audio_component(address, REMOTE)


async def _aar(t: Tester, af: TesterDiameter, address: str, *avps: tuple[str, Any],
               sid: str | None = None) -> Message:
    return await af.answer_to(_request(t, af, "AAR", sid or af.session_id(), [
        *pcc.ue_address_avps(address, None), *avps]))


async def _request_from(peer: TesterDiameter, name: str) -> Message:
    """The next request `name` the SUT sends on this connection (DWRs answered)."""
    while True:
        msg = await peer.receive(what=name)
        if msg.name == "DWR":
            peer.send(dia.dwa(msg, peer.origin_host, peer.origin_realm))
            continue
        return msg


def _answer(peer: TesterDiameter, request: Message) -> None:
    peer.send(pcc.answer(request, pcc.Origin(peer.origin_host, peer.origin_realm), 2001))


def _code(t: Tester, msg: Message, code: int, name: str) -> None:
    check(result_code(msg) == code, t.clause, f"{name} ({code})", result_code(msg))


def _rule_qcis(rar: Message) -> list[int]:
    return [int(q) for install in dia.avp_all(rar, "Charging-Rule-Install")
            for rule in dia.avp_all(install, "Charging-Rule-Definition")
            for q in dia.avp_all(dia.avp(rule, "QoS-Information") or [], "QoS-Class-Identifier")]


@case("GX-CCR-I-01", "CCR-I is answered CCA-I 2001 with Default-EPS-Bearer-QoS and the "
      "request's CC-Request-Type and -Number", "TS 29.212 §4.5.1 / §5.6.3", "pcrf")
async def ccr_initial(t: Tester) -> None:
    peer = await _pgw(t)
    _, _, cca = await _ip_can_session(t, peer, qci=5)
    _code(t, cca, 2001, "DIAMETER_SUCCESS")
    check(dia.avp(cca, "CC-Request-Type") == pcc.CcRequestType.INITIAL_REQUEST, t.clause,
          "CC-Request-Type INITIAL_REQUEST (1)", dia.avp(cca, "CC-Request-Type"))
    qos = dia.avp(cca, "Default-EPS-Bearer-QoS")
    check(qos is not None, t.clause, "a Default-EPS-Bearer-QoS", "absent")
    qci = dia.avp(qos, "QoS-Class-Identifier")
    check(qci == 5, t.clause, "QoS-Class-Identifier 5 (as requested)", qci)
    check(dia.avp(qos, "Allocation-Retention-Priority", "Priority-Level") is not None, t.clause,
          "an Allocation-Retention-Priority", "absent")


@case("GX-CCR-5002", "CCR-U for an unknown session is answered DIAMETER_UNKNOWN_SESSION_ID "
      "(5002)", "TS 29.212 §4.5.2 / RFC 6733 §7.1.5", "pcrf")
async def ccr_unknown(t: Tester) -> None:
    peer = await _pgw(t)
    cca = await _ccr(t, peer, peer.session_id(), pcc.CcRequestType.UPDATE_REQUEST, 1)
    _code(t, cca, 5002, "DIAMETER_UNKNOWN_SESSION_ID")


@case("GX-CCR-T-01", "CCR-T ends the IP-CAN session: 2001, and a later CCR-U for it is "
      "answered 5002", "TS 29.212 §4.5.7", "pcrf")
async def ccr_termination(t: Tester) -> None:
    peer = await _pgw(t)
    sid, _, cca = await _ip_can_session(t, peer)
    _code(t, cca, 2001, "DIAMETER_SUCCESS")
    cca_t = await _ccr(t, peer, sid, pcc.CcRequestType.TERMINATION_REQUEST, 1)
    _code(t, cca_t, 2001, "DIAMETER_SUCCESS")
    again = await _ccr(t, peer, sid, pcc.CcRequestType.UPDATE_REQUEST, 2)
    _code(t, again, 5002, "DIAMETER_UNKNOWN_SESSION_ID")


@case("RX-AAR-5065", "AAR for a UE address no IP-CAN session holds is answered "
      "IP-CAN_SESSION_NOT_AVAILABLE (5065)", "TS 29.214 §4.4.1 / §5.5.3", "pcrf")
async def aar_unbound(t: Tester) -> None:
    af = await _af(t)
    aaa = await _aar(t, af, next(_addresses), _media("10.253.255.1"))
    _code(t, aaa, pcc.ExperimentalResult.IP_CAN_SESSION_NOT_AVAILABLE,
          "IP-CAN_SESSION_NOT_AVAILABLE")


@case("RX-AAR-RAR", "A media AAR bound to an IP-CAN session is answered 2001 and makes the "
      "PCRF send the P-GW a RAR installing a QCI 1 PCC rule", "TS 29.214 §4.4.1 / "
      "TS 29.212 §4.5.2 / TS 29.213 §4.2", "pcrf")
async def aar_rar(t: Tester) -> None:
    pgw = await _pgw(t)
    gx_sid, address, cca = await _ip_can_session(t, pgw)
    _code(t, cca, 2001, "DIAMETER_SUCCESS")
    af = await _af(t)
    aaa = await _aar(t, af, address, _media(address))
    _code(t, aaa, 2001, "DIAMETER_SUCCESS")
    rar = await _request_from(pgw, "RAR")
    _answer(pgw, rar)
    check(rar.name == "RAR", t.clause, "RAR at the P-GW", rar.name)
    check(dia.avp(rar, "Session-Id") == gx_sid, t.clause, f"Session-Id {gx_sid}",
          dia.avp(rar, "Session-Id"))
    qcis = _rule_qcis(rar)
    check(qcis == [1], t.clause, "one Charging-Rule-Definition with QCI 1", qcis)


@case("RX-STR-01", "STR ends the AF session: STA 2001, and a RAR removes its PCC rule at the "
      "P-GW", "TS 29.214 §4.4.4 / TS 29.212 §4.5.2", "pcrf")
async def str_removes(t: Tester) -> None:
    pgw = await _pgw(t)
    gx_sid, address, _ = await _ip_can_session(t, pgw)
    af = await _af(t)
    rx_sid = af.session_id()
    await _aar(t, af, address, _media(address), sid=rx_sid)
    install = await _request_from(pgw, "RAR")
    _answer(pgw, install)
    sta = await af.answer_to(_request(t, af, "STR", rx_sid, [
        ("Termination-Cause", pcc.DIAMETER_LOGOUT)]))
    _code(t, sta, 2001, "DIAMETER_SUCCESS")
    remove = await _request_from(pgw, "RAR")
    _answer(pgw, remove)
    check(dia.avp(remove, "Session-Id") == gx_sid and bool(
        dia.avp(remove, "Charging-Rule-Remove")), t.clause,
        f"RAR with Charging-Rule-Remove for {gx_sid}", remove)
