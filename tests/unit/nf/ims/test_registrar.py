"""IMS registration with IMS AKA at the home S-CSCF (I-CSCF role included), its Cx requests
served by the HSS's CxServer in memory: REGISTER -> UAR -> MAR -> 401 -> REGISTER -> SAR -> 200
(TS 24.229 §5.3.1.2, §5.4.1.2; TS 29.228; TS 33.203 §6.1; RFC 3310)."""

from __future__ import annotations

import base64

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import sip
from corenet.codecs.base import Message
from corenet.codecs.sip import SipRequest, SipResponse
from corenet.codecs.sip_digest import digest_params, digest_response
from corenet.config.models import CxConfig, Endpoint, HomeImsConfig
from corenet.core.plmn import Plmn
from corenet.crypto.milenage import Milenage, build_auts, check_autn, int_to_sqn
from corenet.nf.hss.cx import CxServer
from corenet.nf.hss.s6a import SendAnswer
from corenet.nf.hss.store import HssStore
from corenet.nf.ims.proxy import Element, SendSip
from corenet.nf.ims.registrar import SendCx
from corenet.nf.ims.scscf import ScscfCore
from tests.unit.nf.hss.helpers import IMSI, MSISDN, OPC, K, subscriber

DOMAIN = "ims.mnc010.mcc440.3gppnetwork.org"
SCSCF = ("127.0.71.9", 5060)
PCSCF = ("127.0.71.6", 5060)
UE = "127.0.72.1"
IMPI = f"{IMSI}@{DOMAIN}"
IMPU = f"sip:+{MSISDN}@{DOMAIN}"
ISIM = Milenage(bytes.fromhex(K), bytes.fromhex(OPC))


class Home:
    """The S-CSCF core and the HSS's Cx server, wired as the Cx link would."""

    def __init__(self) -> None:
        store = HssStore(":memory:")
        store.provision([subscriber()])
        self.hss = CxServer(store, Plmn("440", "10"), origin_host="hss.example",
                            origin_realm="epc.mnc010.mcc440.3gppnetwork.org")
        self.scscf = ScscfCore(HomeImsConfig(listen=Endpoint(host=SCSCF[0], port=SCSCF[1]),
                                             pcscfs=[PCSCF[0]], cx=CxConfig()), Element(*SCSCF))
        self.cx: list[Message] = []

    def register(self, req: SipRequest) -> SipResponse:
        """The REGISTER in, each Cx request answered by the HSS, the final answer out."""
        actions = self.scscf.handle_request(req, PCSCF, 0.0)
        while True:
            cx = [a for a in actions if isinstance(a, SendCx)]
            if not cx:
                break
            (request,) = cx
            self.cx.append(request.message)
            wire = dia.decode(dia.encode(request.message))
            (answer,) = [a.message for a in self.hss.handle(wire, 0.0)
                         if isinstance(a, SendAnswer)]
            self.cx.append(answer)
            actions = self.scscf.handle_cx_answer(dia.decode(dia.encode(answer)), 0.0)
        (out,) = [a for a in actions if isinstance(a, SendSip)]
        assert out.peer == PCSCF and isinstance(out.message, SipResponse)
        return out.message


def register(authorization: str | None = None, *, cseq: int = 1, sos: bool = False,
             call_id: str = "reg@ue") -> SipRequest:
    auth = authorization or (f'Digest username="{IMPI}", realm="{DOMAIN}", '
                             f'uri="sip:{DOMAIN}", nonce="", response=""')
    return sip.make_request(
        "REGISTER", f"sip:{DOMAIN}", from_=f"<{IMPU}>;tag=r", to=f"<{IMPU}>", call_id=call_id,
        cseq=cseq, contact=f"<sip:+{MSISDN}@{UE}:5060{';sos' if sos else ''}>",
        via=f"SIP/2.0/UDP {PCSCF[0]}:{PCSCF[1]};branch={sip.new_branch()}",
        headers=[("Authorization", auth), ("P-Asserted-Identity", f"<tel:+{MSISDN}>"),
                 ("Path", f"<sip:term@{PCSCF[0]}:{PCSCF[1]};lr>"),
                 ("P-Visited-Network-ID", '"ims.mnc020.mcc440.3gppnetwork.org"')])


def answer_challenge(challenge: SipResponse, *, res: bytes | None = None,
                     auts: bytes | None = None) -> str:
    params = digest_params(challenge.header("WWW-Authenticate") or "")
    raw = base64.b64decode(params["nonce"])
    chk = check_autn(ISIM, raw[:16], raw[16:])
    assert chk.mac_ok
    password = res if res is not None else (b"" if auts else chk.res)
    uri, nonce = f"sip:{DOMAIN}", params["nonce"]
    response = digest_response(IMPI, params["realm"], password, "REGISTER", uri, nonce, "auth",
                               "00000001", "c0ffee")
    value = (f'Digest username="{IMPI}", realm="{params["realm"]}", nonce="{nonce}", '
             f'uri="{uri}", response="{response}", algorithm=AKAv1-MD5, qop=auth, '
             f'nc=00000001, cnonce="c0ffee"')
    if auts is not None:
        value += f', auts="{base64.b64encode(auts).decode()}"'
    return value


@pytest.fixture
def home() -> Home:
    return Home()


def test_register_is_challenged_then_registered_over_cx(home: Home) -> None:
    challenge = home.register(register())
    assert challenge.status == 401
    assert [m.name for m in home.cx] == ["UAR", "UAA", "MAR", "MAA"]
    assert dia.avp(home.cx[0], "Visited-Network-Identifier") == \
        b"ims.mnc020.mcc440.3gppnetwork.org"
    params = digest_params(challenge.header("WWW-Authenticate") or "")
    assert params["algorithm"] == "AKAv1-MD5" and params["qop"] == "auth"
    assert params["realm"] == DOMAIN and len(base64.b64decode(params["nonce"])) == 32
    raw = base64.b64decode(params["nonce"])
    chk = check_autn(ISIM, raw[:16], raw[16:])
    # TS 24.229 §5.4.1.2.1: CK and IK for the P-CSCF, which removes them
    assert (bytes.fromhex(params["ck"]), bytes.fromhex(params["ik"])) == (chk.ck, chk.ik)
    assert home.scscf.registrations == {}

    home.cx.clear()
    ok = home.register(register(answer_challenge(challenge), cseq=2))
    assert ok.status == 200
    assert [m.name for m in home.cx] == ["SAR", "SAA"]
    assert dia.avp(home.cx[0], "Server-Assignment-Type") == 1
    assert ok.headers_all("P-Associated-URI") == [f"<{IMPU}>", f"<tel:+{MSISDN}>"]
    assert ok.headers_all("Path") == [f"<sip:term@{PCSCF[0]}:{PCSCF[1]};lr>"]
    assert ok.headers_all("Service-Route") == [f"<sip:orig@{SCSCF[0]}:{SCSCF[1]};lr>"]
    assert home.scscf.registrations[f"+{MSISDN}"].contact == f"sip:+{MSISDN}@{UE}:5060"
    assert home.hss.store.scscf_of(IMPI) == f"sip:{CxConfig().origin_host}"


def test_wrong_response_is_403_and_the_challenge_is_spent(home: Home) -> None:
    challenge = home.register(register())
    auth = answer_challenge(challenge, res=bytes(8))
    (out,) = home.scscf.handle_request(register(auth, cseq=2), PCSCF, 0.0)[:1]
    assert isinstance(out, SendSip) and isinstance(out.message, SipResponse)
    assert out.message.status == 403
    # a replay of the right answer now finds no challenge: a new UAR
    again = home.scscf.handle_request(register(answer_challenge(challenge), cseq=3), PCSCF, 0.0)
    assert [a.message.name for a in again if isinstance(a, SendCx)] == ["UAR"]


def test_auts_resynchronises_and_a_fresh_challenge_follows(home: Home) -> None:
    challenge = home.register(register())
    raw = base64.b64decode(digest_params(challenge.header("WWW-Authenticate") or "")["nonce"])
    sqn_ms = 1 << 33
    auts = build_auts(ISIM, raw[:16], int_to_sqn(sqn_ms))
    home.cx.clear()
    fresh = home.register(register(answer_challenge(challenge, auts=auts), cseq=2))
    assert fresh.status == 401 and [m.name for m in home.cx] == ["MAR", "MAA"]
    item = dia.avp(home.cx[0], "SIP-Auth-Data-Item", "SIP-Authorization")
    assert item == raw[:16] + auts  # RAND || AUTS, TS 29.229 §6.3.11
    raw2 = base64.b64decode(digest_params(fresh.header("WWW-Authenticate") or "")["nonce"])
    assert int.from_bytes(check_autn(ISIM, raw2[:16], raw2[16:]).sqn, "big") > sqn_ms
    assert home.register(register(answer_challenge(fresh), cseq=3)).status == 200


def test_cx_without_answer_gives_480_for_uar_and_504_for_mar(home: Home) -> None:
    (uar,) = home.scscf.handle_request(register(), PCSCF, 0.0)
    assert isinstance(uar, SendCx)
    # RFC 3261 §17.2.1: the retransmission of a REGISTER still pending starts nothing
    assert home.scscf.handle_request(register(), PCSCF, 0.0) == []
    sid = str(dia.avp(uar.message, "Session-Id"))
    out = home.scscf.handle_cx_failure(sid, "request timeout", 3.0)
    assert [a.message.status for a in out if isinstance(a, SendSip)] == [480]  # type: ignore[union-attr]
    (uar,) = home.scscf.handle_request(register(cseq=2), PCSCF, 5.0)
    (uaa,) = [a.message for a in home.hss.handle(uar.message, 5.0) if isinstance(a, SendAnswer)]  # type: ignore[union-attr]
    (mar,) = home.scscf.handle_cx_answer(uaa, 5.0)
    assert isinstance(mar, SendCx) and mar.message.name == "MAR"
    out = home.scscf.handle_cx_failure(str(dia.avp(mar.message, "Session-Id")), "down", 8.0)
    assert [a.message.status for a in out if isinstance(a, SendSip)] == [504]  # type: ignore[union-attr]


def test_unknown_user_is_403_and_emergency_registration_is_kept_apart(home: Home) -> None:
    other = f"440109999999999@{DOMAIN}"
    req = register(f'Digest username="{other}", realm="{DOMAIN}", uri="sip:{DOMAIN}", '
                   'nonce="", response=""')
    assert home.register(req).status == 403
    sos = home.register(register(sos=True, call_id="sos@ue"))
    assert sos.status == 401
    ok = home.register(register(answer_challenge(sos), cseq=2, sos=True, call_id="sos@ue"))
    assert ok.status == 200 and home.scscf.registrations == {}
    assert home.scscf.emergency_registrations[f"+{MSISDN}"].contact.endswith(";sos")


def test_malformed_cx_answers_get_a_sip_answer_never_an_exception(home: Home) -> None:
    """A MAA without an AKA vector is a negative answer (403); an SAA whose User-Data is no
    XML still registers the public identity of the REGISTER; an unmatched answer is logged."""
    from corenet.codecs import cx

    (uar,) = home.scscf.handle_request(register(), PCSCF, 0.0)
    assert isinstance(uar, SendCx)
    uaa = cx.answer(uar.message, "hss", "realm", experimental=2001)
    (mar,) = home.scscf.handle_cx_answer(uaa, 0.0)
    assert isinstance(mar, SendCx)
    empty = cx.answer(mar.message, "hss", "realm", result_code=2001,
                      extra=[("SIP-Auth-Data-Item", [("SIP-Authenticate", b"short")])])
    out = home.scscf.handle_cx_answer(dia.decode(dia.encode(empty)), 0.0)
    assert [a.message.status for a in out if isinstance(a, SendSip)] == [403]  # type: ignore[union-attr]
    stray = home.scscf.handle_cx_answer(empty, 0.0)
    assert [type(a).__name__ for a in stray] == ["LogEvent"]

    challenge = home.register(register(call_id="again@ue"))
    (sar,) = home.scscf.handle_request(
        register(answer_challenge(challenge), cseq=2, call_id="again@ue"), PCSCF, 0.0)[:1]
    assert isinstance(sar, SendCx) and sar.message.name == "SAR"
    saa = cx.answer(sar.message, "hss", "realm", result_code=2001,
                    extra=[("User-Data", b"<IMSSubscription")])
    (ok,) = [a for a in home.scscf.handle_cx_answer(saa, 0.0) if isinstance(a, SendSip)]
    assert isinstance(ok.message, SipResponse) and ok.message.status == 200
    assert ok.message.headers_all("P-Associated-URI") == [f"<{IMPU}>"]
