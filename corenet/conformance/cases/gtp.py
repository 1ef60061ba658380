"""TS 29.274 (GTPv2-C on S11) cases against an S-GW/P-GW, the tester playing the MME."""

from __future__ import annotations

from typing import Any

from corenet.codecs import gtpv2c
from corenet.codecs.base import Message
from corenet.conformance.case import case
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.gtp import TesterGtp
from corenet.conformance.verdicts import check


def _cause(msg: Message) -> int | None:
    c = msg.fields.get("cause")
    return c.get("value") if isinstance(c, dict) else c


async def _create(t: Tester, gtp: TesterGtp, **kw: Any) -> Message:
    seq = gtp.next_sequence()
    args: dict[str, Any] = {
        "teid": 0, "imsi": t.new_imsi(), "mei": "3569380356438091",
        "uli": gtpv2c.uli(t.plmn, t.ids.tac, t.plmn, 0x10101), "serving_network": t.plmn,
        "sender_fteid": gtpv2c.fteid(gtpv2c.FTEID_S11_MME, 0x3000 + seq, gtp.local[0]),
        "pgw_fteid": gtpv2c.fteid(gtpv2c.FTEID_S5S8C_PGW, 0, gtp.peer[0]),
        "apn": "internet", "selection_mode": gtpv2c.SELECTION_MS_OR_NETWORK_VERIFIED,
        "pdn_type": gtpv2c.PDN_IPV4, "paa": {"pdn_type": gtpv2c.PDN_IPV4, "ipv4": "0.0.0.0"},
        "apn_restriction": 0, "ambr": (300, 300),
        "bearer_contexts": [{"ebi": 5, "bearer_qos": gtpv2c.bearer_qos(9, 8)}]}
    args.update(kw)
    return await gtp.request(gtpv2c.create_session_request(seq, **args))


@case("GTP-ECHO-01", "Echo Request is answered with Echo Response carrying Recovery",
      "TS 29.274 §7.1.2", "sgw-pgw")
async def echo(t: Tester) -> None:
    gtp = await t.gtp()
    resp = await gtp.request(gtpv2c.echo_request(gtp.next_sequence(), recovery=1))
    check(resp.name == "EchoResponse", t.clause, "EchoResponse", resp.name)
    check(resp.fields.get("recovery") is not None, t.clause, "a Recovery IE", resp.fields)


@case("GTP-ECHO-02", "Echo Response has the request's sequence number", "TS 29.274 §7.6",
      "sgw-pgw")
async def echo_sequence(t: Tester) -> None:
    gtp = await t.gtp()
    seq = gtp.next_sequence()
    resp = await gtp.request(gtpv2c.echo_request(seq, recovery=1))
    check(resp.fields.get("sequence") == seq, t.clause, f"sequence {seq}",
          resp.fields.get("sequence"))


@case("GTP-VER-01", "A GTPv3 message is answered with Version Not Supported Indication",
      "TS 29.274 §7.7.1", "sgw-pgw")
async def version(t: Tester) -> None:
    gtp = await t.gtp()
    raw = bytearray(gtpv2c.encode(gtpv2c.echo_request(gtp.next_sequence(), recovery=1)))
    raw[0] = (raw[0] & 0x1F) | (3 << 5)  # version 3
    resp = await gtp.request(bytes(raw))
    check(resp.name == "VersionNotSupportedIndication", t.clause,
          "VersionNotSupportedIndication", resp.name)


@case("GTP-CS-16", "Create Session Request is accepted (cause 16) with a PDN address and the "
      "S-GW's S11 F-TEID", "TS 29.274 §7.2.2", "sgw-pgw")
async def create_ok(t: Tester) -> None:
    gtp = await t.gtp()
    resp = await _create(t, gtp)
    check(_cause(resp) == gtpv2c.CAUSE_REQUEST_ACCEPTED, t.clause, "cause 16 Request accepted",
          _cause(resp))
    check(resp.fields.get("paa") is not None, t.clause, "a PAA", "absent")
    check(resp.fields.get("sender_fteid_c") is not None, t.clause, "a Sender F-TEID", "absent")


@case("GTP-CS-TEID", "Create Session Response is sent to the MME's S11 TEID", "TS 29.274 §5.5.2",
      "sgw-pgw")
async def create_teid(t: Tester) -> None:
    gtp = await t.gtp()
    seq = gtp.sequence + 1
    resp = await _create(t, gtp)
    check(resp.fields.get("teid") == 0x3000 + seq, t.clause, f"TEID {0x3000 + seq:#x}",
          resp.fields.get("teid"))


@case("GTP-CS-78", "Create Session Request for an unknown APN is refused with cause 78",
      "TS 29.274 §7.2.2", "sgw-pgw")
async def create_unknown_apn(t: Tester) -> None:
    gtp = await t.gtp()
    resp = await _create(t, gtp, apn="no-such-apn")
    check(_cause(resp) == gtpv2c.CAUSE_MISSING_OR_UNKNOWN_APN, t.clause,
          "cause 78 Missing or unknown APN", _cause(resp))


@case("GTP-DS-64", "Delete Session Request for an unknown TEID is refused with cause 64 "
      "Context not found", "TS 29.274 §7.2.10", "sgw-pgw")
async def delete_unknown(t: Tester) -> None:
    gtp = await t.gtp()
    resp = await gtp.request(gtpv2c.delete_session_request(gtp.next_sequence(), teid=0x7EADBEEF,
                                                           linked_ebi=5))
    check(resp.name == "DeleteSessionResponse", t.clause, "DeleteSessionResponse", resp.name)
    check(_cause(resp) == gtpv2c.CAUSE_CONTEXT_NOT_FOUND, t.clause, "cause 64 Context not found",
          _cause(resp))


@case("GTP-CS-UIMSI", "An emergency Create Session Request with the UIMSI flag is accepted",
      "TS 29.274 §8.12", "sgw-pgw")
async def create_uimsi(t: Tester) -> None:
    gtp = await t.gtp()
    resp = await _create(t, gtp, apn="sos", indication={"uimsi": True},
                         bearer_contexts=[{"ebi": 5, "bearer_qos": gtpv2c.bearer_qos(5, 1)}])
    check(_cause(resp) == gtpv2c.CAUSE_REQUEST_ACCEPTED, t.clause, "cause 16 Request accepted",
          _cause(resp))
