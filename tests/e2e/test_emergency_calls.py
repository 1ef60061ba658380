"""IMS emergency calls in every mode, end to end: UE → P-CSCF → E-CSCF → PSAP, the identity the
PSAP sees, call-back, and the restrictions of the seed report (TS 23.167; TS 24.229 §5.2.10)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from corenet.codecs import sip
from corenet.runtime.supervisor import deciphered_path
from sim_ue.devices import default_profile
from tests import tshark
from tests.e2e.network import config, network, subscribers

NUMBERS = ("110", "118", "119", "184110", "186119", "0312345678", "#7119", "0120123456")
URN = {"110": "urn:service:sos.police", "118": "urn:service:sos.marine", "119": "urn:service:sos.fire"}

# (outcome, SIP status) per mode for the non-emergency and prefixed numbers. In the emergency-only
# modes the phone shows "no service" (seed report): it places emergency calls only.
EXPECTED = {
    "full": {"184110": ("not_attempted", None), "186119": ("not_attempted", None),
             "0312345678": ("answered", 200), "#7119": ("answered", 200),
             "0120123456": ("blocked", 403)},
    "emergency-auth": {n: ("not_attempted", None) for n in NUMBERS if n not in URN},
    "emergency-unauth": {n: ("not_attempted", None) for n in NUMBERS if n not in URN},
}
IDENTITY = {"full": ("msisdn", True), "emergency-auth": ("msisdn", True),
            "emergency-unauth": ("imsi", False)}
CALLBACK = {"full": ("answered", 200), "emergency-auth": ("failed", 480),
            "emergency-unauth": ("failed", 404)}


async def _calls(tmp_path: Path, mode: str, numbers: tuple[str, ...], device: Any = None
                 ) -> tuple[dict[str, dict[str, Any]], list[Any], list[Any], Path]:
    cfg = config(tmp_path, roaming={"policies": [{"home_plmn": "44010", "mode": mode}]})
    subs = subscribers(1)
    out: dict[str, dict[str, Any]] = {}
    async with network(cfg, subs) as net:
        async with net.population(subs, devices=device, call_hold=0.1) as pop:
            if mode == "full":
                await pop.attach()
            for number in numbers:
                (row,) = await pop.call(number)
                out[number] = row
            await pop.answer_callbacks()
            psap = net.runtime.services["psap"]
            records = psap.calls()
            callbacks = [await psap.call_back(rec.id) for rec in records]
    return out, records, callbacks, Path(cfg.pcap or "")


@pytest.mark.parametrize("mode", ["full", "emergency-auth", "emergency-unauth"])
async def test_every_number_in_every_mode(tmp_path: Path, mode: str) -> None:
    calls, records, callbacks, pcap = await _calls(tmp_path, mode, NUMBERS)
    for number, (outcome, status) in EXPECTED[mode].items():
        assert (calls[number]["outcome"], calls[number]["sip_status"]) == (outcome, status), number
    for number in URN:
        assert (calls[number]["outcome"], calls[number]["sip_status"]) == ("answered", 200), number
    assert [(r.dialled, r.service_urn) for r in records] == list(URN.items())
    sub = subscribers(1)[0]
    for rec in records:
        assert (rec.identity_type, rec.verified) == IDENTITY[mode]
        assert rec.identity == (sub.msisdn if IDENTITY[mode][0] == "msisdn" else sub.imsi)
        assert rec.ecgi is not None and rec.ecgi.startswith("44020-")
    assert {(c.outcome, c.sip_status) for c in callbacks} == {CALLBACK[mode]}
    assert tshark.count(pcap, "_ws.malformed") == 0
    methods = set(tshark.values(pcap, "sip.Method"))
    assert {"INVITE", "ACK", "BYE"} <= methods
    if mode == "full":
        assert "REGISTER" in methods
        _emergency_pdn_in_capture(pcap)


def _emergency_pdn_in_capture(pcap: Path) -> None:
    """Full roaming (TS 23.167 §6.2, §7.1): a standalone PDN Connectivity Request with request
    type emergency, its E-RAB Setup, and the emergency REGISTER (sos in Contact) and INVITEs
    from the emergency PDN's address (the `sos` pool), never from the `internet` one."""
    plain = Path(deciphered_path(str(pcap)))
    # the attach's (initial, inside the Attach Request), the `ims` one (initial, GSMA IR.92),
    # then the emergency one
    assert tshark.values(plain, "nas_eps.esm_request_type",
                         display_filter="nas_eps.nas_msg_esm_type == 0xd0") == ["1", "1", "4"]
    assert tshark.values(plain, "gsm_a.gm.sm.apn",
                         display_filter="nas_eps.nas_msg_esm_type == 0xc1") == [
        "internet", "ims", "sos"]  # Activate Default EPS Bearer Context Requests
    # the ims and sos default bearers; each answered call adds its QCI 1 voice bearer (Rx ->
    # Gx -> Create Bearer, TS 23.401 §5.4.1)
    assert tshark.count(pcap, "s1ap.E_RABSetupRequest_element && !(s1ap.qCI == 1)") == 2
    voice = tshark.count(pcap, "s1ap.E_RABSetupRequest_element && s1ap.qCI == 1")
    assert voice >= 1
    assert tshark.count(pcap, "s1ap.E_RABSetupResponse_element") == 2 + voice
    # UE addresses are of the PDN pools 127.145 internet, .146 ims, .147 sos (tests/e2e/network.py);
    # the others are the proxies' hops
    for what, pool in (
            ('sip.Method == "REGISTER" and sip.Contact contains ";sos"', "127.147."),
            ('sip.Method == "INVITE" and sip.r-uri contains "urn:service:sos"', "127.147."),
            ('sip.Method == "REGISTER" and not sip.Contact contains ";sos"', "127.146.")):
        sources = {a for a in tshark.values(pcap, "ip.src", display_filter=what)
                   if a.startswith(("127.145.", "127.146.", "127.147."))}
        assert len(sources) == 1 and sources.pop().startswith(pool), what


async def test_a_device_that_handles_184_186_reaches_the_psap(tmp_path: Path) -> None:
    """Devices differ (seed report, "Known restrictions"): one that handles the prefixes strips
    them and calls the service URN; the number still reaches the PSAP (seed, "Secrecy")."""
    device = default_profile().model_copy(update={"prefixed_emergency_calls_roaming": True})
    calls, records, _, _ = await _calls(tmp_path, "full", ("184110", "186119"), device=device)
    assert {(c["outcome"], c["sip_status"]) for c in calls.values()} == {("answered", 200)}
    assert [(r.dialled, r.service_urn, r.identity_type) for r in records] == [
        ("110", URN["110"], "msisdn"), ("119", URN["119"], "msisdn")]


async def test_malformed_sip_gets_400_and_the_pcscf_keeps_serving(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    subs = subscribers(1)
    async with network(cfg, subs, pcap=False) as net:
        pcscf = (cfg.ims.pcscf.listen.host, cfg.ims.pcscf.listen.port)
        bad = (b"INVITE sip:110@x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKx\r\n"
               b"From: <sip:a@b>;tag=1\r\nTo: <sip:110@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
               b"Max-Forwards: many\r\nContent-Length: 0\r\n\r\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(5)
            s.sendto(bad, pcscf)
            answer = sip.decode(await asyncio.to_thread(s.recv, 65535))
        assert isinstance(answer, sip.SipResponse) and answer.status == 400
        async with net.population(subs, call_hold=0.1) as pop:
            await pop.attach()
            (row,) = await pop.call("119")
        assert row["outcome"] == "answered"


def _ask(source_ip: str, dest: tuple[str, int], method: str, uri: str, *,
         to_tag: str | None, route: tuple[str, int]) -> sip.SipResponse:
    """One request from `source_ip` with a forged asserted identity, routed through `dest` to
    `route`; its final response."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source_ip, 0))
        s.settimeout(5)
        port = s.getsockname()[1]
        req = sip.make_request(
            method, uri, from_=f"<sip:x@{source_ip}>;tag=a1", call_id=sip.new_call_id(source_ip),
            to=f"<{uri}>" + (f";tag={to_tag}" if to_tag else ""), cseq=1,
            via=f"SIP/2.0/UDP {source_ip}:{port};branch={sip.new_branch()};rport",
            contact=f"<sip:x@{source_ip}:{port}>",
            headers=[("Route", f"<sip:{dest[0]}:{dest[1]};lr>"),
                     ("Route", f"<sip:{route[0]}:{route[1]};lr>"),
                     ("P-Asserted-Identity", "<tel:+819099999999;verstat=TN-Validation-Passed>"),
                     ("Japan-Roaming-Caller", "mode=full")])
        s.sendto(sip.encode(req), dest)
        while True:
            msg = sip.decode(s.recv(65535))
            assert isinstance(msg, sip.SipResponse)
            if msg.status >= 200:
                return msg


async def test_to_tagged_requests_get_no_service_and_reach_no_psap_as_verified(
        tmp_path: Path) -> None:
    """A To-tag does not make a request in-dialog: from an emergency-only UE's address, from an
    address without session, or sent straight to the E-CSCF or the PSAP, a forged INVITE gets
    no 2xx and the PSAP records nothing (RFC 3261 §12.2.2, RFC 3325 §5, TS 23.167 §6.2.1)."""
    cfg = config(tmp_path, roaming={"policies": [{"home_plmn": "44010",
                                                  "mode": "emergency-unauth"}]})
    subs = subscribers(1)
    pcscf = (cfg.ims.pcscf.listen.host, cfg.ims.pcscf.listen.port)
    ecscf = (cfg.ims.ecscf.listen.host, cfg.ims.ecscf.listen.port)
    psap_at = (cfg.psap.listen.host, cfg.psap.listen.port)
    home = (cfg.ims.home.listen.host, cfg.ims.home.listen.port)
    stranger = cfg.ims.pcscf.listen.host.rsplit(".", 2)[0] + ".3.3"
    async with network(cfg, subs, pcap=False) as net:
        async with net.population(subs, call_hold=0.1) as pop:
            (row,) = await pop.call("110")
            assert row["outcome"] == "answered"
            (ua,) = await pop.answer_callbacks()
            assert ua is not None
            ue_ip = ua.rsplit(":", 1)[0]
            psap = net.runtime.services["psap"]
            before = psap.calls()
            # (from, to, Request-URI, routed on to, status); the normal number is routed to the
            # home S-CSCF's breakout, the emergency one toward the E-CSCF and the PSAP
            asks = [(ue_ip, pcscf, "tel:0312345678", home, 481),
                    (ue_ip, pcscf, "tel:110", ecscf, 481),
                    (stranger, pcscf, "tel:0312345678", home, 403),
                    (stranger, pcscf, "tel:110", ecscf, 403),
                    (ue_ip, ecscf, "urn:service:sos.police", psap_at, 403),
                    (ue_ip, psap_at, "urn:service:sos.police", psap_at, 403)]
            for source, dest, uri, route, status in asks:
                for tag in ("forged", None):
                    if dest == pcscf and tag is None:
                        continue  # initial requests: the existing restrictions tests
                    got = await asyncio.to_thread(_ask, source, dest, "INVITE", uri, to_tag=tag,
                                                  route=route)
                    assert got.status == status, (source, dest, uri, tag)
            (row,) = await pop.call("0312345678")
            assert row["sip_status"] is None or row["sip_status"] >= 400
        after = psap.calls()
    assert after == before
    assert [(r.identity, r.verified) for r in after] == [(subs[0].imsi, False)]
