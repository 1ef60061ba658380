"""TS 24.229 / TS 23.167 cases against the IMS (P-CSCF, E-CSCF), the tester playing an
emergency-attached UE and the PSAP; and the JAPAN Roaming report's identity at the PSAP."""

from __future__ import annotations

import base64

from corenet.codecs import nas, sip
from corenet.codecs.ims_sip import CALLER_HEADER
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.codecs.sip_digest import digest_params
from corenet.conformance.case import case
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.sip import TesterSip
from corenet.conformance.verdicts import Inconclusive, check
from corenet.core.identifiers import ims_domain

SOS = "urn:service:sos"
IDENTITY = "JAPAN Roaming report: caller identity at the PSAP per mode"


async def _ue_sip(t: Tester, *, emergency: bool = True) -> tuple[TesterSip, str]:
    """An attached UE's SIP endpoint on the address its default bearer got (TS 23.401)."""
    ue, accept = await t.attached_ue(emergency=emergency)
    esm = (accept.fields.get(nas.ESM_CONTAINER) or {}).get("fields") or {}
    ipv4 = (esm.get("pdn_address") or {}).get("ipv4")
    if not ipv4:
        raise Inconclusive(f"no IPv4 address in the default bearer: {esm.get('pdn_address')}")
    return await t.sip((ipv4, 0)), ue.imsi


def _invite(node: TesterSip, uri: str, **extra: str) -> SipRequest:
    host, port = node.local
    return sip.make_request(
        "INVITE", uri, from_=f"<sip:anonymous@anonymous.invalid>;tag={sip.new_tag()}",
        to=f"<{uri}>", call_id=sip.new_call_id(host), cseq=1, via=node.via(),
        contact=f"<sip:ue@{host}:{port}>", headers=list(extra.items()),
        body=b"v=0\r\no=- 1 1 IN IP4 " + host.encode() + b"\r\ns=-\r\nc=IN IP4 "
        + host.encode() + b"\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n",
        content_type="application/sdp")


async def _at_psap(t: Tester, extra: dict[str, str] | None = None) -> tuple[SipRequest, str]:
    """An emergency INVITE from an attached UE, as the PSAP receives it (TS 23.167 §6.2.1);
    the PSAP refuses it (480) so that the call ends."""
    psap = await t.sip()
    ue, imsi = await _ue_sip(t)
    ue.send(_invite(ue, SOS, **(extra or {})), t.need("pcscf"))
    while True:
        msg, source = await psap.receive(what="the INVITE at the PSAP")
        if isinstance(msg, SipRequest) and msg.method == "INVITE":
            psap.send(sip.response_for(msg, 480, to_tag=sip.new_tag()), source)
            return msg, imsi


@case("IMS-EMC-01", "An emergency INVITE from an emergency-attached UE reaches the PSAP",
      "TS 23.167 §6.2.1", "pcscf", ("emergency-auth",))
async def routed(t: Tester) -> None:
    invite, _ = await _at_psap(t)
    check(invite.method == "INVITE", t.clause, "INVITE at the PSAP", invite.method)


@case("IMS-EMC-02", "The P-CSCF adds a network-provided P-Access-Network-Info with the cell",
      "TS 24.229 §5.2.10.1 / §7.2A.4", "pcscf", ("emergency-auth",))
async def pani(t: Tester) -> None:
    invite, _ = await _at_psap(t)
    value = invite.header("P-Access-Network-Info") or ""
    check("3GPP-E-UTRAN" in value and "network-provided" in value, t.clause,
          "3GPP-E-UTRAN...;network-provided", value or "absent")


@case("IMS-EMC-03", "A P-Asserted-Identity sent by the UE is not trusted: the network asserts "
      "its own", "TS 24.229 §5.2.6.3.3 / RFC 3325 §5", "pcscf", ("emergency-auth",))
async def untrusted(t: Tester) -> None:
    forged = "<tel:+81000000000>"
    invite, _ = await _at_psap(t, {"P-Asserted-Identity": forged})
    check(forged not in invite.headers_all("P-Asserted-Identity"), t.clause,
          "the UE's P-Asserted-Identity removed", invite.headers_all("P-Asserted-Identity"))


def _identity_case(cid: str, mode: str, want: str, title: str) -> None:
    @case(cid, title, IDENTITY, "pcscf", (mode,))
    async def identity(t: Tester) -> None:
        invite, imsi = await _at_psap(t)
        pai = " ".join(invite.headers_all("P-Asserted-Identity"))
        if want == "imsi":
            # an unverified IMSI is reported, never asserted (RFC 3325 §9.1)
            caller = invite.header(CALLER_HEADER) or ""
            check(f"imsi={imsi}" in caller, t.clause,
                  f"{CALLER_HEADER}: ...;imsi={imsi}", caller or "absent")
            check(imsi not in pai, t.clause, "no IMSI in P-Asserted-Identity", pai)
        else:
            check("tel:+81" in pai or "sip:+81" in pai, t.clause,
                  "the MSISDN (tel:+81...) in P-Asserted-Identity", pai or "absent")


_identity_case("IMS-ID-FULL", "full", "msisdn",
               "Full roaming: the PSAP gets the caller's MSISDN")
_identity_case("IMS-ID-AUTH", "emergency-auth", "msisdn",
               "Emergency-only, authenticated: the PSAP gets the caller's MSISDN")
_identity_case("IMS-ID-UNAUTH", "emergency-unauth", "imsi",
               "Emergency-only, unauthenticated: the PSAP gets the caller's IMSI, reported "
               "as unverified")


@case("IMS-403-01", "A non-emergency INVITE from a UE with only an emergency PDN connection is "
      "refused with 403", "TS 23.167 §6.2.1", "pcscf", ("emergency-auth",))
async def not_emergency(t: Tester) -> None:
    ue, _ = await _ue_sip(t)
    ue.send(_invite(ue, "tel:+81312345678"), t.need("pcscf"))
    while True:
        msg, _ = await ue.receive(what="a final response")
        if isinstance(msg, SipResponse) and msg.status >= 200:
            break
    check(msg.status == 403, t.clause, "403 Forbidden", f"{msg.status} {msg.reason}")


@case("IMS-400-01", "A request with a malformed Max-Forwards is answered with 400 Bad Request",
      "TS 24.229 §5.2.1 / RFC 3261 §21.4.1", "pcscf", ("emergency-auth",))
async def malformed(t: Tester) -> None:
    ue, _ = await _ue_sip(t)
    request = _invite(ue, SOS)
    request.set_header("Max-Forwards", "seventy")  # RFC 3261 §25.1: 1*DIGIT
    ue.send(request.start_line().encode() + b"\r\n" + b"".join(
        f"{h.name}: {h.value}\r\n".encode() for h in request.headers) + b"\r\n" + request.body,
        t.need("pcscf"))
    msg, _ = await ue.receive(what="400 Bad Request")
    check(isinstance(msg, SipResponse) and msg.status == 400, t.clause, "400 Bad Request",
          getattr(msg, "status", msg))


# ---------------------------------------------------------------- registration (IMS AKA)

REGISTRATION = "TS 24.229 §5.2.2.1 / §5.4.1.2.1 / RFC 3310 §3.1"


def _register(t: Tester, ue: TesterSip, imsi: str, cseq: int, call_id: str, tag: str, *,
              authorization: str | None = None, verify: str | None = None) -> SipRequest:
    """TS 24.229 §5.1.1.2.1: the UE's REGISTER with sec-agree (RFC 3329 §2.3.1); without an
    `authorization`, the initial one "without credentials" (an empty response)."""
    domain = ims_domain(t.ids.home_plmn)
    n = int(imsi) - int(t.ids.first_imsi)
    impu = f"sip:+{int(t.ids.first_msisdn) + n}@{domain}"
    host, port = ue.local
    auth = authorization or (f'Digest username="{imsi}@{domain}", realm="{domain}", '
                             f'uri="sip:{domain}", nonce="", response=""')
    headers = [("Expires", "600000"), ("Authorization", auth), ("Require", "sec-agree"),
               ("Proxy-Require", "sec-agree"),
               ("Security-Client", f"ipsec-3gpp; alg=hmac-sha-1-96; spi-c=1111; spi-s=2222; "
                                   f"port-c={port}; port-s={port}"),
               *([("Security-Verify", verify)] if verify is not None else []),
               ("Supported", "path, sec-agree")]
    return sip.make_request("REGISTER", f"sip:{domain}", from_=f"<{impu}>;tag={tag}",
                            to=f"<{impu}>", call_id=call_id, cseq=cseq, via=ue.via(),
                            contact=f"<sip:{impu[4:].split('@')[0]}@{host}:{port}>",
                            headers=headers)


async def _final(ue: TesterSip, what: str) -> SipResponse:
    while True:
        msg, _ = await ue.receive(what=what)
        if isinstance(msg, SipResponse) and msg.status >= 200:
            return msg


async def _challenged(t: Tester) -> tuple[TesterSip, str, SipResponse, str, str]:
    ue, imsi = await _ue_sip(t, emergency=False)
    call_id, tag = sip.new_call_id(ue.local[0]), sip.new_tag()
    ue.send(_register(t, ue, imsi, 1, call_id, tag), t.need("pcscf"))
    return ue, imsi, await _final(ue, "401 Unauthorized"), call_id, tag


@case("IMS-REG-401", "REGISTER without credentials is answered 401 with an AKAv1-MD5 "
      "challenge the USIM accepts, without CK/IK, and a Security-Server", REGISTRATION,
      "pcscf", ("full",))
async def register_challenged(t: Tester) -> None:
    from corenet.crypto.milenage import Milenage, check_autn

    _, _, resp, _, _ = await _challenged(t)
    check(resp.status == 401, t.clause, "401 Unauthorized", f"{resp.status} {resp.reason}")
    www = resp.header("WWW-Authenticate") or ""
    params = digest_params(www)
    check(params.get("algorithm", "").upper() == "AKAV1-MD5", t.clause,
          "WWW-Authenticate algorithm=AKAv1-MD5 (RFC 3310 §3.1)", www or "absent")
    check("ck" not in params and "ik" not in params, t.clause,
          "no ck/ik towards the UE (TS 24.229 §5.2.2.1)", www)
    nonce = base64.b64decode(params.get("nonce", ""))
    usim = Milenage(bytes.fromhex(t.ids.k), bytes.fromhex(t.ids.opc))
    check(len(nonce) == 32 and check_autn(usim, nonce[:16], nonce[16:]).mac_ok, t.clause,
          "nonce = base64(RAND || AUTN) with an AUTN the USIM verifies (RFC 3310 §3.2)",
          nonce.hex())
    server = resp.header("Security-Server") or ""
    check(server.startswith("ipsec-3gpp"), t.clause,
          "Security-Server: ipsec-3gpp... (RFC 3329 §2.3.1, TS 33.203 §7.1)", server or "absent")


@case("IMS-REG-494", "A REGISTER whose Security-Verify does not repeat the Security-Server "
      "is answered 494 Security Agreement Required", "TS 24.229 §5.2.2.1 / RFC 3329 §2.3.1",
      "pcscf", ("full",))
async def register_downgrade(t: Tester) -> None:
    ue, imsi, resp, call_id, tag = await _challenged(t)
    if resp.status != 401 or not resp.header("Security-Server"):
        raise Inconclusive(f"no 401 with a Security-Server: {resp.status} {resp.reason}")
    forged = "ipsec-3gpp; q=0.1; alg=hmac-md5-96; spi-c=1; spi-s=2; port-c=1; port-s=1"
    ue.send(_register(t, ue, imsi, 2, call_id, tag, verify=forged), t.need("pcscf"))
    again = await _final(ue, "494 Security Agreement Required")
    check(again.status == 494, t.clause, "494 Security Agreement Required",
          f"{again.status} {again.reason}")
