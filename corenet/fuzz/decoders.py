"""Fuzz targets over the decoders: only `DecodeError` may leave a decoder (core/errors.py).

Seeds are real messages built by the project's own encoders, so mutations start on the wire format
(ASN.1 PER for S1AP, TLV for NAS/Diameter/GTPv2-C, text for SIP/SDP).
"""

from __future__ import annotations

from corenet.core.errors import DecodeError
from corenet.fuzz.target import Target, outcome


def _s1ap_seeds() -> list[bytes]:
    from corenet.codecs import s1ap
    from corenet.core.plmn import Plmn

    plmn = Plmn("440", "20")
    return [s1ap.encode(m) for m in (
        s1ap.s1_setup_request(0x12345, "enb", plmn, [1, 2]),
        s1ap.s1_setup_response("mme", [plmn], 1, 2, 3),
        s1ap.initial_ue_message(7, b"\x07\x41\x71", plmn, 1, plmn, 0x1234567, s_tmsi=(1, 2)),
        s1ap.uplink_nas_transport(1, 2, b"\x07\x60\x6f", plmn, 1, plmn, 5),
        s1ap.initial_context_setup_request(
            1, 2, 10**8, 10**7, [s1ap.ERabToBeSetup(5, 9, 1, "192.0.2.1", 0x1234, b"\x27")],
            0xE000, 0xC000, bytes(32)),
        s1ap.initial_context_setup_response(1, 2, [(5, "192.0.2.2", 7)]),
        s1ap.ue_context_release_request(1, 2, ("radioNetwork", "user-inactivity")),
        s1ap.ue_context_release_command(1, 2, ("nas", "normal-release")),
        s1ap.ue_context_release_complete(1, 2),
        s1ap.reset(("misc", "unspecified"), [(1, 2), (None, 3)]),
        s1ap.error_indication(("protocol", "semantic-error"), 1, 2),
        s1ap.write_replace_warning_request(0x1100, 0x3000, 10, 1, b"\x01\x80", b"\x01" + bytes(83),
                                           0x48, warning_area_cells=[(plmn, 1)]),
    )]


def _s1ap(data: bytes) -> str:
    from corenet.codecs import s1ap

    return outcome(s1ap.decode(data))


def nas_seeds() -> list[bytes]:
    from corenet.codecs import nas
    from corenet.core.plmn import Plmn
    from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext

    plmn = Plmn("440", "20")
    esm = nas.pdn_connectivity_request(pti=1, request_type=4, apn="sos")
    bearer = nas.activate_default_eps_bearer_context_request(
        ebi=5, pti=1, qci=5, apn="sos", ipv4="10.45.0.2", apn_ambr={"downlink": 300, "uplink": 300})
    numbers = nas.emergency_number_list([("110", ["police"]), ("119", ["fire", "ambulance"])])
    ctx = NasSecurityContext.from_kasme(1, bytes(32), eia=2, eea=2)
    attach = nas.attach_request(attach_type=6, imei="356938035643809", esm_container=esm,
                                last_visited_tai=nas.Tai(plmn, 1), drx=b"\x00\x0a")
    info = nas.emm_information(full_name="JPN-ROAM X", short_name="JPN-ROAM X", local_time_zone=36)
    plain = [
        attach,
        nas.attach_request(attach_type=1, imsi="440100123456789", esm_container=esm),
        nas.attach_accept(tai_list=[nas.Tai(plmn, 1)], esm_container=bearer,
                          guti=nas.Guti(plmn, 1, 2, 3), emergency_numbers=numbers,
                          eps_network_feature_support={"emc_bs": 1}),
        nas.authentication_request(0, bytes(16), bytes(16)),
        nas.authentication_response(bytes(8)),
        nas.authentication_failure(21, auts=bytes(14)),
        nas.security_mode_command(2, 2, 0, nas.ue_security_capability(), imeisv_request=True),
        nas.security_mode_complete("3569380356438091"),
        nas.identity_request(1),
        nas.identity_response(imsi="440100123456789"),
        nas.detach_request(1, True, 0, imsi="440100123456789"),
        nas.detach_request_network(1, 7),
        info, esm, bearer, nas.esm_status(5, 1, 81),
    ]
    return plain + [nas.protect(info, ctx, DOWNLINK, 1), nas.protect(attach, ctx, UPLINK, 4)]


def _nas(data: bytes) -> str:
    from corenet.codecs import nas
    from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext

    ctx = NasSecurityContext.from_kasme(1, bytes(32), eia=2, eea=2)
    seen = []
    for args in ((), (None, UPLINK), (None, DOWNLINK), (ctx, UPLINK), (ctx, DOWNLINK)):
        try:
            seen.append(outcome(nas.decode(data, *args)))  # type: ignore[arg-type]
        except DecodeError as exc:
            seen.append(outcome(exc))
    return "|".join(seen)


def diameter_seeds() -> list[bytes]:
    from corenet.codecs import diameter as d
    from corenet.codecs import s6a
    from corenet.core.plmn import Plmn

    plmn = Plmn("440", "20")
    sid = d.session_id("mme.example.org", 1, 2)
    air = s6a.air(sid, "mme.example.org", "example.org", "home.org", "440100123456789", plmn,
                  hop_by_hop=1, end_to_end=2, resync_info=bytes(30))
    ulr = s6a.ulr(sid, "mme.example.org", "example.org", "home.org", "440100123456789", plmn,
                  hop_by_hop=3, end_to_end=4, imei="35349006987330", software_version="01")
    sub = s6a.SubscriptionData(
        msisdn="819012345678", ambr=s6a.Ambr(300_000, 300_000),
        apn_configurations=(s6a.ApnConfiguration(1, "internet", ambr=s6a.Ambr(1, 2)),))
    return [d.encode(m) for m in (
        air, ulr,
        d.cer("mme.example.org", "example.org", ["192.0.2.1", "2001:db8::1"], hop_by_hop=5,
              end_to_end=6),
        s6a.aia(air, "hss.org", "home.org",
                vectors=[s6a.EutranVector(bytes(16), bytes(8), bytes(16), bytes(32), 1)]),
        s6a.ula(ulr, "hss.org", "home.org", subscription_data=sub),
        s6a.aia(air, "hss.org", "home.org", experimental_result=5001),
        d.dwr("a.org", "org", hop_by_hop=7, end_to_end=8),
    )]


def _diameter(data: bytes) -> str:
    from corenet.codecs import diameter as d

    msg = d.decode(data)
    try:
        d.check_mandatory(msg)
    except DecodeError as exc:
        return outcome(msg) + "|" + outcome(exc)
    return outcome(msg)


def gtpv2c_seeds() -> list[bytes]:
    from corenet.codecs import gtpv2c as g

    tft = bytes.fromhex("21100109" "10c0a80001ffffffff")
    return [g.encode(m) for m in (
        g.echo_request(1, 2),
        g.create_session_request(
            7, imsi="440101234567890", msisdn="819012345678", mei="3534900698733190",
            uli=("44020", 1, "44020", 2), serving_network="44020", indication={"uimsi": True},
            sender_fteid=(g.FTEID_S11_MME, 0x1111, "10.0.0.1"), apn="sos", selection_mode=1,
            paa={"pdn_type": 3, "ipv4": "0.0.0.0", "ipv6": "::", "ipv6_prefix_length": 64},
            ambr=(1000, 2000), pco=bytes.fromhex("80000d00"),
            bearer_contexts=[{"ebi": 5, "bearer_qos": g.bearer_qos(5, 1)}]),
        g.create_session_response(
            7, teid=1, sender_fteid=(g.FTEID_S11S4_SGW, 2, "10.0.0.2"),
            paa={"pdn_type": 1, "ipv4": "10.45.0.7"},
            cause=g.cause(70, {"type": 80, "length": 0, "instance": 0}),
            bearer_contexts=[{"ebi": 5, "cause": 16, "s1u_sgw_fteid": (1, 3, None, "2001:db8::1")}]),
        g.create_bearer_request(9, teid=1, linked_ebi=5, bearer_contexts=[
            {"ebi": 0, "tft": tft, "bearer_qos": g.bearer_qos(1, 2, mbr=(64, 64), gbr=(64, 64))}]),
        g.modify_bearer_request(3, teid=1, bearer_contexts=[
            {"ebi": 5, "s1u_enb_fteid": (0, 9, "10.0.1.1")}]),
        g.delete_bearer_request(4, teid=1, ebis=[6, 7]),
        g.delete_session_request(5, teid=1, linked_ebi=5, uli=("44020", 1, "44020", 2)),
    )]


def _gtpv2c(data: bytes) -> str:
    from corenet.codecs import gtpv2c as g

    return outcome(g.decode(data))


def _cbs_seeds() -> list[bytes]:
    from corenet.codecs import cbs

    texts = ["Earthquake warning: take cover", "緊急地震速報 強い揺れに警戒", "x" * 200]
    # first octet: the Data Coding Scheme (TS 23.038 §5) the contents are decoded with
    out = [bytes([cbs.data_coding_scheme_for(t)]) + cbs.warning_message_contents(t) for t in texts]
    return out + [b"\x01" + cbs.warning_type(0, True, True)]


def _cbs(data: bytes) -> str:
    from corenet.codecs import cbs

    if not data:
        return "empty"
    # TS 23.041 §9.3.24 Warning-Type, then §9.4.2.2 Warning Message Contents under the DCS
    first = cbs.parse_warning_type(data[1:3]) if len(data) >= 3 else None
    text = cbs.decode_warning_message_contents(data[1:], data[0])
    return f"ok:{first is not None}:{min(len(text), 3)}"


def sip_seeds() -> list[bytes]:
    from corenet.codecs import pidf_lo, sdp, sip
    from corenet.codecs.sip import BodyPart

    offer = sdp.encode(sdp.audio_offer("192.0.2.1", 4000))
    loc = pidf_lo.encode(pidf_lo.LocationObject("sip:ue@x", 35.0, 139.0, 100.0, method="Cell"))
    multi = sip.build_multipart([BodyPart("application/sdp", offer),
                                 BodyPart("application/pidf+xml", loc)], "b1")
    invite = sip.encode(sip.make_request(
        "INVITE", "urn:service:sos.fire", from_="<tel:+819012345678>;tag=a",
        to="<urn:service:sos.fire>", call_id="c@h", cseq=1,
        via="SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;rport", contact="<sip:ue@192.0.2.1>",
        headers=[("P-Asserted-Identity", "<sip:+819012345678@ims.example>, <tel:+8190>"),
                 ("Geolocation", "<cid:loc@ue>"), ("Route", "<sip:p.example;lr>")],
        body=multi, content_type="multipart/mixed;boundary=b1"))
    register = sip.encode(sip.make_request(
        "REGISTER", "sip:ims.example", from_="<sip:440100123456789@ims.example>;tag=r",
        to="<sip:440100123456789@ims.example>", call_id="r@h", cseq=1,
        via="SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKr", contact="<sip:ue@192.0.2.1>;expires=600",
        headers=[("Authorization", 'Digest username="440100123456789@ims.example", '
                  'realm="ims.example", nonce="", uri="sip:ims.example", response=""')]))
    ok = (b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\nf: <sip:a@b>;tag=1\r\n"
          b"t: <sip:c@d>;tag=2\r\ni: c@h\r\nCSeq: 1 INVITE\r\nc: application/sdp\r\n"
          b"l: " + str(len(offer)).encode() + b"\r\n\r\n" + offer)
    return [invite, register, ok]


def _sip(data: bytes) -> str:
    from corenet.codecs import sip

    msg = sip.decode(data)
    sip.to_message(msg)
    return outcome(msg)


def _sdp_seeds() -> list[bytes]:
    from corenet.codecs import sdp

    offer = sdp.audio_offer("192.0.2.1", 4000)
    return [sdp.encode(offer), sdp.encode(sdp.audio_answer(offer, "2001:db8::2", 5000))]


def _sdp(data: bytes) -> str:
    from corenet.codecs import sdp

    sdp.decode(data)
    return "ok"


def _pidf_seeds() -> list[bytes]:
    from corenet.codecs import pidf_lo

    return [pidf_lo.encode(pidf_lo.LocationObject("sip:ue@x", 35.0, 139.0, 100.0, method="Cell"))]


def _pidf(data: bytes) -> str:
    from corenet.codecs import pidf_lo

    pidf_lo.decode(data)
    return "ok"


DECODERS = [
    Target("s1ap", "S1AP PDU decoder (TS 36.413, ASN.1 aligned PER)", _s1ap_seeds, _s1ap),
    Target("nas", "NAS EPS decoder, plain and protected, both directions (TS 24.301)",
           nas_seeds, _nas),
    Target("diameter", "Diameter decoder and mandatory-AVP check (RFC 6733, TS 29.272)",
           diameter_seeds, _diameter),
    Target("gtpv2c", "GTPv2-C decoder (TS 29.274)", gtpv2c_seeds, _gtpv2c),
    Target("cbs", "CBS Warning-Type and Warning Message Contents decoders (TS 23.041)",
           _cbs_seeds, _cbs),
    Target("sip", "SIP message parser (RFC 3261) and typed view", sip_seeds, _sip),
    Target("sdp", "SDP parser (RFC 4566)", _sdp_seeds, _sdp),
    Target("pidf-lo", "PIDF-LO location parser (RFC 4119, RFC 5491)", _pidf_seeds, _pidf),
]
