"""Who the CSCFs take requests from, without sockets: the IP-CAN binding, dialogs the P-CSCF
took part in (RFC 3261 §12.2.2), the emergency-only limits (TS 23.167 §6.2.1) and the trust
domain of RFC 3325 §2.3, for requests that carry a To-tag as much as for those that do not."""

from __future__ import annotations

from corenet.codecs import sdp, sip
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.config.models import EcscfConfig, Endpoint, HomeImsRoute, PcscfConfig
from corenet.nf.ims.binding import AccessMode, BindingTable, Cell, UeBinding
from corenet.nf.ims.dialplan import DialPlan
from corenet.nf.ims.ecscf import EcscfCore
from corenet.nf.ims.pcscf import PcscfCore
from corenet.nf.ims.proxy import Element, SendSip
from corenet.nf.psap.records import record_from_invite

PCSCF = ("127.0.70.6", 5060)
ECSCF = ("127.0.70.7", 5060)
PSAP = ("127.0.70.8", 5060)
SCSCF = ("127.0.70.9", 5060)
UNAUTH = "127.147.70.1"
FULL = "127.146.70.2"
STRANGER = "127.150.70.3"
IMSI = "440100000000001"
MSISDN = "819010000001"
FORGED = "<tel:+819099999999;verstat=TN-Validation-Passed>"


def pcscf() -> PcscfCore:
    core = PcscfCore(PcscfConfig(listen=Endpoint(host=PCSCF[0], port=PCSCF[1]),
                                 ecscf=Endpoint(host=ECSCF[0], port=ECSCF[1]),
                                 home_ims=[HomeImsRoute(address=Endpoint(host=SCSCF[0],
                                                                         port=SCSCF[1]))]),
                     _bindings(), DialPlan(), Element(*PCSCF))
    return core


def _bindings() -> BindingTable:
    table = BindingTable(None)
    cell = Cell("44020", 1, 0x10101)
    table.add(UeBinding(UNAUTH, AccessMode.EMERGENCY_UNAUTH, IMSI, None, "3534900698733190",
                        "sos", cell))
    table.add(UeBinding(FULL, AccessMode.FULL, IMSI, MSISDN, None, "ims", cell))
    return table


def ecscf() -> EcscfCore:
    return EcscfCore(EcscfConfig(listen=Endpoint(host=ECSCF[0], port=ECSCF[1]), psaps=[],
                                 default_psap=f"sip:psap@{PSAP[0]}:{PSAP[1]}",
                                 pcscfs=[PCSCF[0]]), DialPlan(), Element(*ECSCF))


def invite(ue: str, uri: str, *, to_tag: str | None = None, call_id: str = "c1@ue",
           cseq: int = 1, method: str = "INVITE",
           extra: list[tuple[str, str]] | None = None) -> SipRequest:
    """A request as a UE would send it, through the codec both ways."""
    to = f"<{uri}>" + (f";tag={to_tag}" if to_tag else "")
    req = sip.make_request(
        method, uri, from_=f"<sip:{IMSI}@{ue}>;tag=uetag", to=to, call_id=call_id, cseq=cseq,
        via=f"SIP/2.0/UDP {ue}:5060;branch={sip.new_branch()};rport",
        contact=f"<sip:{IMSI}@{ue}:5060>", headers=extra or [],
        body=sdp.encode(sdp.audio_offer(ue, 4000)) if method == "INVITE" else b"",
        content_type="application/sdp" if method == "INVITE" else None)
    msg = sip.decode(sip.encode(req))
    assert isinstance(msg, SipRequest)
    return msg


def sent(actions: list[object]) -> list[SendSip]:
    return [a for a in actions if isinstance(a, SendSip)]


def only_answer(actions: list[object], ue: str) -> SipResponse:
    """The one thing sent is a response back to the UE."""
    (out,) = sent(actions)
    assert out.peer[0] == ue and isinstance(out.message, SipResponse)
    return out.message


def lies() -> list[tuple[str, str]]:
    return [("P-Asserted-Identity", FORGED), ("P-Preferred-Identity", FORGED),
            ("P-Access-Network-Info",
             "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=44020000100FFFFF; network-provided"),
            ("Japan-Roaming-Caller", "mode=full;imsi=440109999999999")]


def test_to_tagged_invite_to_a_normal_number_from_an_emergency_only_ue_is_481() -> None:
    core = pcscf()
    req = invite(UNAUTH, "tel:0312345678", to_tag="forged", extra=lies())
    resp = only_answer(core.handle_request(req, (UNAUTH, 5060), 0.0), UNAUTH)
    assert resp.status == 481 and resp.call_id == "c1@ue" and resp.cseq.method == "INVITE"


def test_to_tagged_invite_from_an_address_without_session_is_403() -> None:
    core = pcscf()
    for uri in ("tel:110", "tel:0312345678"):
        req = invite(STRANGER, uri, to_tag="forged", extra=lies())
        assert only_answer(core.handle_request(req, (STRANGER, 5060), 0.0), STRANGER).status \
            == 403


def test_to_tagged_invite_of_a_full_roaming_ue_outside_any_dialog_is_481() -> None:
    core = pcscf()
    req = invite(FULL, "tel:0312345678", to_tag="forged")
    assert only_answer(core.handle_request(req, (FULL, 5060), 0.0), FULL).status == 481


def _emergency_dialog(core: PcscfCore, ue: str = UNAUTH) -> tuple[SipRequest, SipResponse]:
    """UE -> P-CSCF -> E-CSCF INVITE tel:119, then the PSAP's 200 back through the E-CSCF."""
    (fwd,) = sent(core.handle_request(invite(ue, "tel:119"), (ue, 5060), 0.0))
    assert fwd.peer == ECSCF
    assert isinstance(fwd.message, SipRequest)
    ok = sip.response_for(fwd.message, 200, to_tag="psaptag", headers=[
        ("Record-Route", f"<sip:{ECSCF[0]}:{ECSCF[1]};lr>"),
        ("Record-Route", f"<sip:{PCSCF[0]}:{PCSCF[1]};lr>"),
        ("Contact", f"<sip:psap@{PSAP[0]}:{PSAP[1]}>")])
    (back,) = sent(core.handle_response(ok, ECSCF, 0.1))
    assert back.peer == (ue, 5060) and isinstance(back.message, SipResponse)
    return fwd.message, back.message


def in_dialog(ue: str, method: str, cseq: int, *, route: tuple[str, int] = ECSCF,
              extra: list[tuple[str, str]] | None = None) -> SipRequest:
    req = invite(ue, f"sip:psap@{PSAP[0]}:{PSAP[1]}", to_tag="psaptag", method=method,
                 cseq=cseq, extra=[("Route", f"<sip:{PCSCF[0]}:{PCSCF[1]};lr>"),
                                   ("Route", f"<sip:{route[0]}:{route[1]};lr>"),
                                   *(extra or [])])
    return req


def test_in_dialog_requests_of_an_emergency_dialog_pass_without_the_ues_headers() -> None:
    core = pcscf()
    _emergency_dialog(core)
    ack = in_dialog(UNAUTH, "ACK", 1)
    (out,) = sent(core.handle_request(ack, (UNAUTH, 5060), 0.2))
    assert out.peer == ECSCF
    reinvite = in_dialog(UNAUTH, "INVITE", 2, extra=lies())
    (out,) = sent(core.handle_request(reinvite, (UNAUTH, 5060), 0.3))
    assert out.peer == ECSCF and isinstance(out.message, SipRequest)
    for name in ("P-Asserted-Identity", "P-Preferred-Identity", "P-Access-Network-Info",
                 "Japan-Roaming-Caller"):
        assert out.message.header(name) is None, name
    # what the PSAP would make of it: no identity, nothing verified
    rec = record_from_invite(out.message, "t")
    assert (rec.identity, rec.verified, rec.ecgi, rec.mode) == (None, False, None, None)


def test_bye_ends_the_dialog_and_later_requests_are_481() -> None:
    core = pcscf()
    _emergency_dialog(core)
    bye = in_dialog(UNAUTH, "BYE", 2)
    (out,) = sent(core.handle_request(bye, (UNAUTH, 5060), 0.2))
    assert out.peer == ECSCF and isinstance(out.message, SipRequest)
    (relayed,) = sent(core.handle_response(sip.response_for(out.message, 200), ECSCF, 0.3))
    assert relayed.peer == (UNAUTH, 5060)
    again = in_dialog(UNAUTH, "INVITE", 3)
    assert only_answer(core.handle_request(again, (UNAUTH, 5060), 0.4), UNAUTH).status == 481


def test_dialog_expires() -> None:
    core = pcscf()
    _emergency_dialog(core)
    late = core.cfg.dialog_lifetime_s + 10
    req = in_dialog(UNAUTH, "INVITE", 2)
    assert only_answer(core.handle_request(req, (UNAUTH, 5060), late), UNAUTH).status == 481


def test_another_ue_cannot_use_a_dialog_it_is_not_bound_to() -> None:
    core = pcscf()
    _emergency_dialog(core, UNAUTH)
    req = in_dialog(FULL, "INVITE", 2)
    assert only_answer(core.handle_request(req, (FULL, 5060), 0.2), FULL).status == 481


def test_an_emergency_dialog_does_not_lead_to_the_home_network() -> None:
    core = pcscf()
    _emergency_dialog(core)
    req = in_dialog(UNAUTH, "INVITE", 2, route=SCSCF)
    req.uri = "tel:0312345678"
    assert only_answer(core.handle_request(req, (UNAUTH, 5060), 0.2), UNAUTH).status == 403


def test_a_response_from_elsewhere_creates_no_dialog() -> None:
    core = pcscf()
    (fwd,) = sent(core.handle_request(invite(UNAUTH, "tel:119"), (UNAUTH, 5060), 0.0))
    assert isinstance(fwd.message, SipRequest)
    forged = sip.response_for(fwd.message, 200, to_tag="psaptag")
    core.handle_response(forged, (UNAUTH, 5060), 0.1)  # the UE answering its own request
    req = in_dialog(UNAUTH, "INVITE", 2)
    assert only_answer(core.handle_request(req, (UNAUTH, 5060), 0.2), UNAUTH).status == 481


def test_a_final_failure_leaves_only_its_ack() -> None:
    core = pcscf()
    (fwd,) = sent(core.handle_request(invite(UNAUTH, "tel:119"), (UNAUTH, 5060), 0.0))
    assert isinstance(fwd.message, SipRequest)
    busy = sip.response_for(fwd.message, 486, to_tag="psaptag")
    sent(core.handle_response(busy, ECSCF, 0.1))
    ack = in_dialog(UNAUTH, "ACK", 1)
    assert [s.peer for s in sent(core.handle_request(ack, (UNAUTH, 5060), 0.2))] == [ECSCF]
    req = in_dialog(UNAUTH, "INVITE", 2)
    assert only_answer(core.handle_request(req, (UNAUTH, 5060), 0.3), UNAUTH).status == 481


def test_emergency_only_ue_may_start_no_other_method_even_to_an_emergency_uri() -> None:
    core = pcscf()
    for method in ("OPTIONS", "MESSAGE", "SUBSCRIBE", "REGISTER"):
        req = invite(UNAUTH, "urn:service:sos", method=method)
        assert only_answer(core.handle_request(req, (UNAUTH, 5060), 0.0), UNAUTH).status \
            == 403, method


def test_the_ues_route_does_not_steer_an_initial_request() -> None:
    core = pcscf()
    req = invite(UNAUTH, "tel:110", extra=[("Route", f"<sip:{SCSCF[0]}:{SCSCF[1]};lr>")])
    (out,) = sent(core.handle_request(req, (UNAUTH, 5060), 0.0))
    assert out.peer == ECSCF and isinstance(out.message, SipRequest)
    assert out.message.headers_all("Route") == [f"<sip:{ECSCF[0]}:{ECSCF[1]};lr>"]


def test_core_peers_are_known_by_address() -> None:
    core = pcscf()
    callback = sip.make_request(
        "INVITE", f"sip:+{MSISDN}@{FULL}:5060", from_="<sip:psap@x>;tag=p", to=f"<tel:+{MSISDN}>",
        call_id="cb@psap", cseq=1, via=f"SIP/2.0/UDP {SCSCF[0]}:{SCSCF[1]};branch=z9hG4bKs")
    (out,) = sent(core.handle_request(callback, SCSCF, 0.0))
    assert out.peer == (FULL, 5060)
    assert only_answer(core.handle_request(callback, (STRANGER, 5060), 0.0), SCSCF[0]) \
        .status == 403


def test_ecscf_takes_requests_only_from_its_pcscfs_and_psaps() -> None:
    core = ecscf()
    req = invite(UNAUTH, "urn:service:sos.fire", extra=lies())
    for source in ((UNAUTH, 5060), (STRANGER, 5060)):
        (out,) = sent(core.handle_request(req, source))
        assert out.peer[0] == UNAUTH and isinstance(out.message, SipResponse)
        assert out.message.status == 403
    (out,) = sent(core.handle_request(invite(UNAUTH, "urn:service:sos.fire"), PCSCF))
    assert out.peer == PSAP


def test_ecscf_keeps_an_emergency_dialog_between_pcscf_and_psap() -> None:
    core = ecscf()
    req = invite(UNAUTH, "tel:0312345678", to_tag="psaptag",
                 extra=[("Route", f"<sip:{ECSCF[0]}:{ECSCF[1]};lr>"),
                        ("Route", f"<sip:{SCSCF[0]}:{SCSCF[1]};lr>")])
    (out,) = sent(core.handle_request(req, PCSCF))
    assert isinstance(out.message, SipResponse) and out.message.status == 403
    bye = invite(UNAUTH, f"sip:psap@{PSAP[0]}:{PSAP[1]}", to_tag="psaptag", method="BYE",
                 extra=[("Route", f"<sip:{ECSCF[0]}:{ECSCF[1]};lr>")])
    (out,) = sent(core.handle_request(bye, PCSCF))
    assert out.peer == PSAP and isinstance(out.message, SipRequest)


def test_scscf_believes_asserted_identities_and_serves_originating_requests_from_pcscfs_only(
        ) -> None:
    """RFC 3325 §2.3/§5: a UE registering straight at the home S-CSCF with a forged
    P-Asserted-Identity, or calling its breakout, is refused; through the P-CSCF it works, and
    a call-back from outside reaches the registered user."""
    from corenet.config.models import HomeImsConfig
    from corenet.nf.ims.scscf import ScscfCore

    core = ScscfCore(HomeImsConfig(listen=Endpoint(host=SCSCF[0], port=SCSCF[1]),
                                   pcscfs=[PCSCF[0]], cx=None), Element(*SCSCF))
    aor = f"<sip:+{MSISDN}@ims.mnc010.mcc440.3gppnetwork.org>"

    def register(source: str) -> SipRequest:
        return sip.make_request(
            "REGISTER", "sip:ims.mnc010.mcc440.3gppnetwork.org", from_=f"{aor};tag=r",
            to=aor, call_id=f"reg@{source}", cseq=1, contact=f"<sip:ue@{FULL}:5060>",
            via=f"SIP/2.0/UDP {source}:5060;branch={sip.new_branch()}",
            headers=[("P-Asserted-Identity", f"<tel:+{MSISDN}>")])

    (out,) = sent(core.handle_request(register(STRANGER), (STRANGER, 5060), 0.0))
    assert isinstance(out.message, SipResponse) and out.message.status == 403
    assert core.registrations == {}
    for uri in ("tel:0312345678", f"sip:pstn@{SCSCF[0]}:{SCSCF[1]}"):
        (out,) = sent(core.handle_request(invite(STRANGER, uri), (STRANGER, 5060), 0.0))
        assert isinstance(out.message, SipResponse) and out.message.status == 403, uri
    (out,) = sent(core.handle_request(register(PCSCF[0]), PCSCF, 0.0))
    assert isinstance(out.message, SipResponse) and out.message.status == 200
    (out,) = sent(core.handle_request(invite(PCSCF[0], "tel:0312345678"), PCSCF, 0.0))
    assert isinstance(out.message, SipResponse) and out.message.status == 200
    (out,) = sent(core.handle_request(invite(PSAP[0], f"tel:+{MSISDN}"), PSAP, 0.0))
    assert out.peer == (FULL, 5060) and isinstance(out.message, SipRequest)


def test_a_refused_request_leaves_the_dialog_as_it_was() -> None:
    core = pcscf()
    _emergency_dialog(core)
    stray_bye = in_dialog(UNAUTH, "BYE", 2, route=SCSCF)
    assert only_answer(core.handle_request(stray_bye, (UNAUTH, 5060), 0.2), UNAUTH).status \
        == 403
    reinvite = in_dialog(UNAUTH, "INVITE", 3)
    (out,) = sent(core.handle_request(reinvite, (UNAUTH, 5060), 100.0))
    assert out.peer == ECSCF


def test_fixed_area_number_keeps_its_hash_escaped() -> None:
    """RFC 3966 §3 / RFC 3261 §25.1: #7119 is routed as from the fixed charging area with the
    '#' still written %23 in the Request-URI."""
    req = invite(FULL, "tel:%237119;phone-context=ims.mnc010.mcc440.3gppnetwork.org")
    (out,) = sent(pcscf().handle_request(req, (FULL, 5060), 0.0))
    wire = sip.encode(out.message)
    assert wire.startswith(b"INVITE tel:%237119;phone-context=+81-3 SIP/2.0\r\n")
    fwd = sip.decode(wire)
    assert isinstance(fwd, SipRequest) and fwd.request_uri.user in ("%237119", "#7119")


def test_emergency_identity_is_asserted_only_when_the_network_authenticated_it() -> None:
    """RFC 3325 §9.1: P-Asserted-Identity only for the authenticated MSISDN, without any
    verstat (TS 24.229 §7.2A.20 is STIR/SHAKEN's); an unauthenticated caller's IMSI goes in
    Japan-Roaming-Caller with the mode, whatever the UE itself claimed."""
    core = pcscf()
    got = {}
    for ue in (FULL, UNAUTH):
        (fwd,) = sent(core.handle_request(invite(ue, "tel:119", extra=lies()), (ue, 5060), 0.0))
        assert fwd.peer == ECSCF
        msg = sip.decode(sip.encode(fwd.message))
        assert isinstance(msg, SipRequest)
        assert "verstat" not in sip.encode(msg).decode()
        got[ue] = (msg.headers_all("P-Asserted-Identity"), msg.headers_all("Japan-Roaming-Caller"),
                   msg.header("P-Emergency-Roaming-Mode"))
        rec = record_from_invite(msg, "t")
        got[ue] += ((rec.identity, rec.identity_type, rec.verified, rec.mode),)
    assert got[FULL] == ([f"<tel:+{MSISDN}>"], ["mode=full"], None,
                         (MSISDN, "msisdn", True, "full"))
    assert got[UNAUTH] == ([], [f"mode=emergency-unauth;imsi={IMSI}"], None,
                           (IMSI, "imsi", False, "emergency-unauth"))


def test_emergency_registration_is_routed_home_for_full_roaming_only_and_kept_apart() -> None:
    """TS 24.229 §5.2.10.2: the P-CSCF forwards a full-roaming UE's emergency REGISTER ("sos"
    in Contact) to the home IMS; an unauthenticated emergency-only UE's gets 403 (no identity
    to register). The S-CSCF keeps it apart from the normal binding, which call-backs use
    (TS 23.167 §6.2.1)."""
    from corenet.config.models import HomeImsConfig
    from corenet.nf.ims.scscf import ScscfCore

    aor = f"<sip:+{MSISDN}@ims.mnc010.mcc440.3gppnetwork.org>"

    def register(ue: str, contact: str, call_id: str) -> SipRequest:
        return sip.make_request(
            "REGISTER", "sip:ims.mnc010.mcc440.3gppnetwork.org", from_=f"{aor};tag=r",
            to=aor, call_id=call_id, cseq=1, contact=contact,
            via=f"SIP/2.0/UDP {ue}:5060;branch={sip.new_branch()};rport")

    p = pcscf()
    (fwd,) = sent(p.handle_request(register(FULL, f"<sip:ue@{FULL}:5060;sos>", "sos@ue"),
                                   (FULL, 5060), 0.0))
    assert fwd.peer == SCSCF and isinstance(fwd.message, SipRequest)
    assert fwd.message.contacts[0].uri.params == (("sos", None),)
    refused = only_answer(p.handle_request(
        register(UNAUTH, f"<sip:ue@{UNAUTH}:5060;sos>", "sos@unauth"), (UNAUTH, 5060), 0.0),
        UNAUTH)
    assert refused.status == 403
    s = ScscfCore(HomeImsConfig(listen=Endpoint(host=SCSCF[0], port=SCSCF[1]),
                                pcscfs=[PCSCF[0]], cx=None), Element(*SCSCF))
    (normal,) = sent(p.handle_request(register(FULL, f"<sip:ue@{FULL}:5060>", "reg@ue"),
                                      (FULL, 5060), 0.0))
    assert isinstance(normal.message, SipRequest)
    for req in (normal.message, fwd.message):
        (ok,) = sent(s.handle_request(req, PCSCF, 0.0))
        assert isinstance(ok.message, SipResponse) and ok.message.status == 200
    key = f"+{MSISDN}"
    assert s.registrations[key].contact == f"sip:ue@{FULL}:5060"
    assert s.emergency_registrations[key].contact == f"sip:ue@{FULL}:5060;sos"


def test_authenticated_emergency_only_ue_may_attempt_only_an_emergency_registration() -> None:
    """TS 24.229 §5.1.6.1: an emergency-auth UE attempts its emergency registration at home;
    a normal registration stays refused (TS 23.167 §6.2.1: emergency services only)."""
    auth_ue = "127.147.70.9"
    core = pcscf()
    core.bindings.add(UeBinding(auth_ue, AccessMode.EMERGENCY_AUTH, IMSI, MSISDN, None, "sos",
                                Cell("44020", 1, 0x10101)))
    aor = f"<sip:+{MSISDN}@ims.mnc010.mcc440.3gppnetwork.org>"

    def register(sos: bool) -> SipRequest:
        return sip.make_request(
            "REGISTER", "sip:ims.mnc010.mcc440.3gppnetwork.org", from_=f"{aor};tag=r",
            to=aor, call_id=f"reg-{sos}@ue", cseq=1,
            contact=f"<sip:ue@{auth_ue}:5060{';sos' if sos else ''}>",
            via=f"SIP/2.0/UDP {auth_ue}:5060;branch={sip.new_branch()};rport")

    (fwd,) = sent(core.handle_request(register(True), (auth_ue, 5060), 0.0))
    assert fwd.peer == SCSCF and isinstance(fwd.message, SipRequest)
    assert fwd.message.header("P-Asserted-Identity") == f"<tel:+{MSISDN}>"
    assert only_answer(core.handle_request(register(False), (auth_ue, 5060), 0.0),
                       auth_ue).status == 403
