"""What the sans-I/O SIP user agents share: identifiers drawn from a seed for reproducible
captures (RFC 3261 §8.1.1.4, §8.1.1.7, §19.3) and the dialog-creating response (§12.1.1)."""

from __future__ import annotations

from corenet.codecs import sip
from corenet.codecs.sip import SipRequest
from corenet.core.plmn import Plmn
from corenet.crypto.milenage import Milenage
from corenet.nf.ims.proxy import answer
from corenet.protocols.sip_transactions import SipPeer
from corenet.protocols.sip_ua import SipIds, dialog_response
from sim_ue.dialling import analyse_dialled
from sim_ue.ims_core import SendRequest, UaCore
from sim_ue.isim import Isim

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")


def test_seeded_ids_repeat_per_seed_and_label_and_stay_unique_within_a_run() -> None:
    a, b = SipIds.seeded(5, "ue:1"), SipIds.seeded(5, "ue:1")
    run_a = [a.call_id("h"), a.tag(), a.branch(), a.tag()]
    assert run_a == [b.call_id("h"), b.tag(), b.branch(), b.tag()]
    assert len(set(run_a)) == 4 and run_a[2].startswith(sip.MAGIC_COOKIE)
    other = SipIds.seeded(5, "ue:2")
    assert other.tag() != SipIds.seeded(5, "ue:1").tag()
    assert SipIds.seeded(6, "ue:1").tag() != SipIds.seeded(5, "ue:1").tag()
    unseeded = SipIds.seeded(None, "ue:1")
    assert len({unseeded.tag() for _ in range(50)}) == 50


def _invite(seed: int) -> bytes:
    isim = Isim("440100000000001", "819010000001", Plmn.parse("44010"), Milenage(K, OPC))
    core = UaCore(isim, ("127.145.0.7", 5060), SipPeer("UDP", ("127.0.0.6", 5060)),
                  ids=SipIds.seeded(seed, "ue:440100000000001"))
    _, out = core.call(analyse_dialled("119", domain=isim.domain))
    (sent,) = [a.request for a in out if isinstance(a, SendRequest)]
    return sip.encode(sent)


def test_a_seeded_ua_sends_the_same_invite_bytes() -> None:
    assert _invite(5) == _invite(5)
    first = sip.decode(_invite(5))
    other = sip.decode(_invite(6))
    assert isinstance(first, SipRequest) and isinstance(other, SipRequest)
    assert first.call_id != other.call_id and first.from_.tag != other.from_.tag


def test_dialog_response_and_a_stateless_answer() -> None:
    req = sip.make_request(
        "INVITE", "sip:ue@192.0.2.1", from_="<sip:psap@192.0.2.8>;tag=p", to="<sip:ue@x>",
        call_id="c@h", cseq=1, via="SIP/2.0/UDP 192.0.2.6;branch=z9hG4bKa",
        headers=[("Record-Route", "<sip:192.0.2.6;lr>"), ("Record-Route", "<sip:192.0.2.9;lr>")])
    ok = dialog_response(req, 200, to_tag="t1", contact="<sip:ue@192.0.2.1>")
    assert ok.headers_all("Record-Route") == ["<sip:192.0.2.6;lr>", "<sip:192.0.2.9;lr>"]
    assert [str(c.uri) for c in ok.contacts] == ["sip:ue@192.0.2.1"] and ok.to.tag == "t1"
    # RFC 3261 §8.2.7: the same To-tag for the same request, another for another request
    first, again = answer(req, 480).message, answer(req, 480).message
    assert first.to.tag == again.to.tag and first.to.tag
    req.set_header("CSeq", "2 INVITE")
    assert answer(req, 480).message.to.tag != first.to.tag
