"""RFC 6733 (Diameter base protocol) cases against any Diameter node (the HSS, or a peer)."""

from __future__ import annotations

from corenet.codecs import diameter
from corenet.codecs.base import Message
from corenet.conformance.case import case
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.diameter import result_code
from corenet.conformance.verdicts import Inconclusive, check

CREDIT_CONTROL = 4  # RFC 4006: an application an S6a node does not serve
RELAY = 0xFFFFFFFF  # RFC 6733 §2.4: the Relay Application Id


@case("DIA-CER-01", "CER is answered with CEA 2001 carrying Origin-Host, Origin-Realm, "
      "Host-IP-Address, Vendor-Id and Product-Name", "RFC 6733 §5.3.2", "diameter")
async def cer_ok(t: Tester) -> None:
    peer = await t.diameter("diameter", as_mme=False, cer=False)
    cea = await peer.capabilities()
    check(cea.name == "CEA", t.clause, "CEA", cea.name)
    check(result_code(cea) == 2001, t.clause, "Result-Code 2001", result_code(cea))
    for avp in ("Origin-Host", "Origin-Realm", "Host-IP-Address", "Vendor-Id", "Product-Name"):
        check(diameter.avp(cea, avp) is not None, t.clause, f"AVP {avp}", "absent")


@case("DIA-CER-02", "CER with no application in common is answered with "
      "DIAMETER_NO_COMMON_APPLICATION (5010)", "RFC 6733 §5.3", "diameter")
async def cer_no_common(t: Tester) -> None:
    peer = await t.diameter("diameter", as_mme=False, cer=False)
    cea = await peer.capabilities(auth_application_ids=(CREDIT_CONTROL,),
                                  vendor_specific_application_ids=())
    if result_code(cea) == 2001 and RELAY in diameter.avp_all(cea, "Auth-Application-Id"):
        # a relay supports every application (RFC 6733 §2.8.1): nothing can be uncommon
        raise Inconclusive("the SUT is a relay agent (Relay Application Id in its CEA)")
    check(result_code(cea) == 5010, t.clause, "Result-Code 5010", result_code(cea))


@case("DIA-CER-03", "CEA echoes the request's Hop-by-Hop and End-to-End identifiers",
      "RFC 6733 §6.2", "diameter")
async def cer_ids(t: Tester) -> None:
    peer = await t.diameter("diameter", as_mme=False, cer=False)
    req = diameter.cer(peer.origin_host, peer.origin_realm, [t.sut.local_host],
                       hop_by_hop=0x12345678, end_to_end=0x0ABCDEF0)
    cea = await peer.answer_to(req)
    check((cea.fields.get("hop_by_hop"), cea.fields.get("end_to_end")) == (0x12345678, 0x0ABCDEF0),
          t.clause, "hop-by-hop 0x12345678, end-to-end 0x0abcdef0",
          (cea.fields.get("hop_by_hop"), cea.fields.get("end_to_end")))


async def _watchdog(t: Tester) -> Message:
    peer = await t.diameter("diameter", as_mme=False)
    return await peer.answer_to(diameter.dwr(peer.origin_host, peer.origin_realm, **peer.ids()))


@case("DIA-DWR-01", "DWR is answered with DWA 2001", "RFC 6733 §5.5.2", "diameter")
async def dwr(t: Tester) -> None:
    dwa = await _watchdog(t)
    check(dwa.name == "DWA", t.clause, "DWA", dwa.name)
    check(result_code(dwa) == 2001, t.clause, "Result-Code 2001", result_code(dwa))


@case("DIA-DWR-02", "DWA identifies the answering node (Origin-Host, Origin-Realm)",
      "RFC 6733 §5.5.2", "diameter")
async def dwa_origin(t: Tester) -> None:
    dwa = await _watchdog(t)
    for avp in ("Origin-Host", "Origin-Realm"):
        check(bool(diameter.avp(dwa, avp)), t.clause, f"AVP {avp}", "absent")


@case("DIA-DPR-01", "DPR is answered with DPA 2001", "RFC 6733 §5.4.2", "diameter")
async def dpr(t: Tester) -> None:
    peer = await t.diameter("diameter", as_mme=False)
    dpa = await peer.answer_to(diameter.dpr(peer.origin_host, peer.origin_realm, **peer.ids()))
    check(dpa.name == "DPA", t.clause, "DPA", dpa.name)
    check(result_code(dpa) == 2001, t.clause, "Result-Code 2001", result_code(dpa))
