"""Encode templates of the S6a messages of an attach (AIR, AIA, ULR, ULA): for any per-UE
values, the bytes equal the fast encoder's without a template and pycrate's."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corenet.codecs import diameter as d
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.codecs.fast import diameter as fd
from corenet.core.plmn import Plmn

PLMN = Plmn("440", "20")
PROFILE = (s6a.ApnConfiguration(1, "internet", ambr=s6a.Ambr(1, 2)),
           s6a.ApnConfiguration(2, "sos", qos_class_identifier=5))
OC = ("OC-Supported-Features", [("OC-Feature-Vector", 1)])

digits = st.text("0123456789", min_size=5, max_size=15)
session_ids = st.builds(lambda host, hi, lo: d.session_id(host, hi, lo),
                        st.sampled_from(["mme.example.org", "mme1.epc.mnc020.mcc440.org"]),
                        st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
ids = st.integers(0, 2**32 - 1)


def _untemplated(msg: Message) -> bytes:
    """The fast encoder's bytes for `msg` as a plain list (no template)."""
    plain = Message(msg.protocol, msg.name, msg.code,
                    {**msg.fields, "avps": list(msg.fields["avps"])})
    got = fd.encode(plain)
    assert got is not None
    return got


def _check(msg: Message) -> bytes:
    assert type(msg.fields["avps"]) is d.ShapedAvps and msg.fields["avps"].key is not None
    wire = d.encode(msg)
    assert wire == _untemplated(msg) == d.encode_pycrate(msg)
    assert d.decode(wire) == d.decode_pycrate(wire)
    return wire


def _air(sid: str, imsi: str, hbh: int = 1, e2e: int = 2, **kw: Any) -> Message:
    return s6a.air(sid, "mme.example.org", "example.org", "home.org", imsi, PLMN,
                   hop_by_hop=hbh, end_to_end=e2e, num_vectors=1,
                   immediate_response_preferred=True, **kw)


def _ulr(sid: str, imsi: str, imei: str | None = "35349006987330", sv: str | None = "01",
         **kw: Any) -> Message:
    return s6a.ulr(sid, "mme.example.org", "example.org", "home.org", imsi, PLMN,
                   hop_by_hop=3, end_to_end=4, imei=imei, software_version=sv,
                   ulr_flags=s6a.UlrFlags.S6A_S6D_INDICATOR | s6a.UlrFlags.INITIAL_ATTACH_INDICATOR,
                   **kw)


def _vector(data: bytes, item: int | None = None) -> s6a.EutranVector:
    return s6a.EutranVector(data[:16], data[16:24], data[24:40], data[40:72], item)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sid=session_ids, imsi=digits, hbh=ids, e2e=ids, oc=st.booleans())
def test_air_from_its_template_is_byte_identical(sid: str, imsi: str, hbh: int, e2e: int,
                                                 oc: bool) -> None:
    """TS 29.272 §7.2.5: each AIR of a shape is its template with its Session-Id and IMSI."""
    extra = (OC,) if oc else ()
    first = _check(_air(d.session_id("mme.example.org", 9, 9)[:len(sid)].ljust(len(sid), "x"),
                        "1" * len(imsi), extra=extra))
    wire = _check(_air(sid, imsi, hbh, e2e, extra=extra))
    assert len(wire) == len(first)
    msg = d.decode(wire)
    assert d.avp(msg, "Session-Id") == sid and d.avp(msg, "User-Name") == imsi
    assert (msg.fields["hop_by_hop"], msg.fields["end_to_end"]) == (hbh, e2e)
    assert (d.avp(msg, "OC-Supported-Features") is not None) is oc


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sid=session_ids, imsi=digits, imei=st.none() | st.text("0123456789", min_size=14,
                                                                max_size=14),
       sv=st.none() | st.text("0123456789", min_size=2, max_size=2))
def test_ulr_from_its_template_is_byte_identical(sid: str, imsi: str, imei: str | None,
                                                 sv: str | None) -> None:
    """TS 29.272 §7.2.3: the Session-Id, IMSI and Terminal-Information vary per UE."""
    _check(_ulr(sid.swapcase(), "9" * len(imsi), None if imei is None else "0" * 14,
                None if sv is None else "99"))
    msg = d.decode(_check(_ulr(sid, imsi, imei, sv)))
    assert d.avp(msg, "User-Name") == imsi
    assert d.avp(msg, "Terminal-Information", "IMEI") == imei
    assert d.avp(msg, "Terminal-Information", "Software-Version") == sv


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sid=session_ids, vectors=st.lists(st.binary(min_size=72, max_size=72), max_size=3),
       numbered=st.booleans(), result=st.sampled_from([None, 2001, 5012]))
def test_aia_from_its_template_is_byte_identical(sid: str, vectors: list[bytes],
                                                 numbered: bool, result: int | None) -> None:
    """TS 29.272 §7.2.6: the Session-Id and each vector's RAND, XRES, AUTN, KASME vary."""
    request = _air(sid, "440100123456789")
    vecs = [_vector(v, n + 1 if numbered else None) for n, v in enumerate(vectors)]
    _check(s6a.aia(request, "hss.org", "home.org", result_code=result,
                   vectors=[_vector(bytes(72), v.item_number) for v in vecs]))
    msg = d.decode(_check(s6a.aia(request, "hss.org", "home.org", result_code=result,
                                  vectors=vecs)))
    assert s6a.vectors_of(msg) == vecs
    assert d.avp(msg, "Session-Id") == sid


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sid=session_ids, msisdn=st.none() | st.text("0123456789", min_size=1, max_size=15),
       profile=st.sampled_from([(), PROFILE, PROFILE[:1]]), flags=st.sampled_from([None, 0, 3]))
def test_ula_from_its_template_is_byte_identical(sid: str, msisdn: str | None,
                                                 profile: tuple[Any, ...],
                                                 flags: int | None) -> None:
    """TS 29.272 §7.2.4: the Session-Id and the Subscription-Data's MSISDN vary per UE; the
    APN-Configuration-Profile is the profile's."""
    request = _ulr(sid, "440100123456789")
    data = s6a.SubscriptionData(msisdn=msisdn, ambr=s6a.Ambr(300_000, 300_000),
                                apn_configurations=profile)
    other = s6a.SubscriptionData(msisdn=None if msisdn is None else "1" * len(msisdn),
                                 ambr=s6a.Ambr(300_000, 300_000), apn_configurations=profile)
    _check(s6a.ula(request, "hss.org", "home.org", ula_flags=flags, subscription_data=other))
    msg = d.decode(_check(s6a.ula(request, "hss.org", "home.org", ula_flags=flags,
                                  subscription_data=data)))
    got = s6a.subscription_data_of(msg)
    assert got is not None
    assert (got.msisdn, got.apn_configurations, got.ambr) == (msisdn, profile, data.ambr)


def test_the_second_message_of_a_shape_is_its_template(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first AIR of a shape is written AVP by AVP; the next one of that shape only gets
    its values written into the first one's octets."""
    fd._SHAPES.clear()
    calls: list[Any] = []
    whole = fd._avps

    def counted(avps: Any) -> bytes:
        calls.append(avps)
        return whole(avps)

    monkeypatch.setattr(fd, "_avps", counted)
    _check(_air("mme.example.org;1;1", "440100123456789"))
    calls.clear()
    wire = d.encode(_air("mme.example.org;1;2", "440100123456780"))
    assert calls == []
    assert d.avp(d.decode(wire), "User-Name") == "440100123456780"


def test_a_changed_list_is_written_as_it_is() -> None:
    """An AVP added to a built message (or one replaced) drops its shape: the bytes carry it."""
    _check(_air("mme.example.org;1;1", "440100123456789"))
    msg = _air("mme.example.org;1;2", "440100123456789")
    msg.fields["avps"].append(OC)
    assert msg.fields["avps"].key is None
    wire = d.encode(msg)
    assert wire == d.encode_pycrate(msg)
    assert d.avp(d.decode(wire), "OC-Supported-Features") == [("OC-Feature-Vector", 1)]
    msg = _air("mme.example.org;1;3", "440100123456789")
    msg.fields["avps"][1:2] = []
    assert d.encode(msg) == d.encode_pycrate(msg)


def test_a_value_of_another_length_than_its_key_says_is_written_whole() -> None:
    """A list whose varying value does not have the length its key names (or not the type
    its AVP takes) is written AVP by AVP, as pycrate writes it, or declined."""
    base = _air("mme.example.org;1;1", "440100123456789")
    _check(base)
    avps = base.fields["avps"]
    longer = d.ShapedAvps([*avps[:6], ("User-Name", "4401001234567890"), *avps[7:]],
                          avps.key, avps.varying)
    msg = Message(base.protocol, base.name, base.code, {**base.fields, "avps": longer})
    assert d.encode(msg) == d.encode_pycrate(msg)
    wrong = d.ShapedAvps([*avps[:6], ("User-Name", 440100123456789), *avps[7:]],
                         avps.key, avps.varying)
    assert fd.encode(Message(base.protocol, base.name, base.code,
                             {**base.fields, "avps": wrong})) is None


def test_templates_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fd, "_SHAPES_MAX", 3)
    fd._SHAPES.clear()
    for n in range(10):
        _check(_air("mme.example.org;1;1", "4401001234" + "5" * (n % 6)))
        assert len(fd._SHAPES) <= 3


def test_a_copy_is_a_plain_list() -> None:
    import copy
    import pickle

    msg = _air("mme.example.org;1;1", "440100123456789")
    for other in (copy.deepcopy(msg.fields["avps"]),
                  pickle.loads(pickle.dumps(msg.fields["avps"]))):
        assert type(other) is list and other == msg.fields["avps"]


# -- Gx: CCR-I (TS 29.212 §5.6.2) from the P-GW, CCA-I (§5.6.3) from the PCRF ----------------

def _gx_session(imsi: str, msisdn: str | None, mei: str | None, ipv4: int | None,
                prefix: int | None, eci: int, teid: int) -> Any:
    from types import SimpleNamespace

    from corenet.nf.sgw_pgw.pools import Allocation

    bearer = SimpleNamespace(qos={"qci": 5, "pl": 1})
    return SimpleNamespace(
        home_pgw=None, allocation=Allocation("sos", 3, ipv4, prefix), s11_sgw_teid=teid,
        uimsi=False, msisdn=msisdn, imsi=imsi, mei=mei,
        ambr={"ul_kbps": 100, "dl_kbps": 200}, bearers={5: bearer}, default_ebi=5,
        uli={"tai": {"plmn": "44020", "tac": 1}, "ecgi": {"plmn": "44020", "eci": eci}},
        apn="sos")


def _gx_pair() -> tuple[Any, Any]:
    import random

    from corenet.config.models import PcrfLink
    from corenet.nf.pcrf.core import PcrfCore
    from corenet.nf.sgw_pgw.gx import GxClient
    from corenet.protocols.diameter_ids import DiameterIds
    from tests.unit.nf.pcrf.helpers import PCRF

    link = PcrfLink(origin_host="pgw.epc.mnc020.mcc440.3gppnetwork.org")
    gx = GxClient(link, DiameterIds(link.origin_host, 0.0, random.Random(1)), "127.0.0.4")
    return gx, PcrfCore(PCRF.host, PCRF.realm)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(imsi=digits, msisdn=st.none() | digits,
       mei=st.none() | st.text("0123456789", min_size=16, max_size=16),
       ipv4=st.none() | st.integers(1, 2**32 - 1), prefix=st.none() | st.integers(1, 2**64 - 1),
       eci=st.integers(0, 2**28 - 1))
def test_ccr_initial_and_its_cca_from_their_templates_are_byte_identical(
        imsi: str, msisdn: str | None, mei: str | None, ipv4: int | None, prefix: int | None,
        eci: int) -> None:
    """The IMSI, MSISDN, IMEISV, UE addresses and cell of a CCR-I, and the Session-Id of
    both, vary per UE; each message of a shape is its template with those values."""
    from corenet.nf.pcrf.core import SendAnswer
    from corenet.nf.sgw_pgw.gx import SendGx

    if ipv4 is None and prefix is None:
        ipv4 = 1
    gx, pcrf = _gx_pair()
    for n, (i, m) in enumerate((("0" * len(imsi), msisdn and "9" * len(msisdn)), (imsi, msisdn))):
        session = _gx_session(i, m, mei, ipv4 if n else 7, prefix if n else 5, eci if n else 0,
                              n + 1)
        [ccr] = [a.message for a in gx.session_created(session) if isinstance(a, SendGx)]
        ccr = Message(ccr.protocol, ccr.name, ccr.code,
                      {**ccr.fields, "hop_by_hop": n, "end_to_end": n})
        wire = _check(ccr)
        [cca] = [a.message for a in pcrf.handle(d.decode(wire), 0.0)
                 if isinstance(a, SendAnswer)]
        _check(cca)
    assert ccr.fields["avps"].key in fd._SHAPES and cca.fields["avps"].key in fd._SHAPES
    from corenet.codecs import pcc

    msg = d.decode(d.encode(ccr))
    assert pcc.identities_of(msg) == pcc.Identities(imsi, msisdn, mei)
    assert d.avp(msg, "3GPP-User-Location-Info")[-4:] == eci.to_bytes(4, "big")
