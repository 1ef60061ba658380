"""corenet.codecs.dissect: what the strict decoders refuse, read and reported as warnings."""

from __future__ import annotations

import pytest

from corenet.codecs import catalogue, diameter, dissect, gtpv2c, s1ap
from corenet.core.errors import DecodeError
from tests.unit.codecs.fast.parity import codec_level


def _avp(code: int, flags: int, data: bytes, vendor: int | None = None) -> bytes:
    """RFC 6733 §4.1, padded to 4 octets."""
    head = 12 if vendor is not None else 8
    out = code.to_bytes(4, "big") + bytes((flags,)) + (head + len(data)).to_bytes(3, "big")
    if vendor is not None:
        out += vendor.to_bytes(4, "big")
    return out + data + b"\x00" * (-len(data) % 4)


def _dwr_with(*avps: bytes) -> bytes:
    base = diameter.encode(dict(catalogue.diameter_samples())["DWR"])
    body = base[20:] + b"".join(avps)
    return base[:1] + (20 + len(body)).to_bytes(3, "big") + base[4:20] + body


@pytest.mark.parametrize("level", ["fast", "pycrate"])
def test_unknown_and_vendor_avps_are_reported_not_refused(level: str) -> None:
    """RFC 6733 §4.1: an unknown AVP with M set fails a server's decode (5001); here it is
    reported with code, vendor, flags and hex."""
    data = _dwr_with(_avp(64999, 0x40, b"\x01\x02"), _avp(7, 0xC0, b"abc", vendor=99999),
                     _avp(415, 0x40, (3).to_bytes(4, "big")))  # CC-Request-Number, RFC 4006
    with codec_level(level):
        with pytest.raises(DecodeError) as err:
            diameter.decode(data)
        assert err.value.cause == diameter.ResultCode.DIAMETER_AVP_UNSUPPORTED
        msg, warnings = dissect.dissect_diameter(data)
    names = [a[0] for a in msg.fields["avps"]]
    assert names[-3:] == ["AVP-64999", "AVP-99999-7", "CC-Request-Number"]
    assert msg.fields["avps"][-1][1] == 3
    assert warnings == [
        {"unknown_avp": {"code": 64999, "vendor": None, "flags": 0x40, "hex": "0102"}},
        {"unknown_avp": {"code": 7, "vendor": 99999, "flags": 0xC0, "hex": "616263"}},
    ]


def test_3gpp_avp_outside_s6a_is_named() -> None:
    """TS 29.212 §5.3.16 Bearer-Identifier (1020, 3GPP) is outside the S6a dictionary."""
    msg, warnings = dissect.dissect_diameter(_dwr_with(_avp(1020, 0xC0, b"\x05", vendor=10415)))
    assert msg.fields["avps"][-1] == ("Bearer-Identifier", b"\x05") and warnings == []


def test_diameter_trailing_octets_reported() -> None:
    data = diameter.encode(dict(catalogue.diameter_samples())["DWA"])
    msg, warnings = dissect.dissect_diameter(data + b"\xde\xad")
    assert msg.name == "DWA"
    assert warnings == [{"trailing_octets": 2, "hex": "dead"}]


def test_s1ap_ie_not_comprehended_is_reported_with_the_message() -> None:
    """TS 36.413 §10.3.4.2: an IE not comprehended, criticality notify, is reported and the
    procedure goes on with the rest of the message."""
    wire = s1ap.encode(s1ap.downlink_nas_transport(100, 7, b"\x07\x52"))
    s1ap._PDU.from_aper(wire)
    val = s1ap._PDU.get_val()
    val[1]["value"][1]["protocolIEs"].append(
        {"id": 999, "criticality": "notify", "value": ("_unk_004", b"\x01")})
    data = bytes(s1ap._PDU.to_aper(val))
    with pytest.raises(DecodeError):
        s1ap.decode(data)
    msg, warnings = dissect.dissect_s1ap(data)
    assert msg.fields["NAS-PDU"] == b"\x07\x52" and msg.fields["MME-UE-S1AP-ID"] == 100
    assert warnings[0]["ie_errors"] == [[999, "notify", "not-understood"]]


def test_s1ap_garbage_still_raises() -> None:
    with pytest.raises(DecodeError):
        dissect.dissect_s1ap(b"\xff\xff\xff")


def test_gtpv2_trailing_octets_reported() -> None:
    """TS 29.274 §7.7.6: a node answers a Length that disagrees with the datagram; the
    decoder reads the message the Length gives and reports the rest."""
    data = gtpv2c.encode(dict(catalogue.gtpv2c_samples())["EchoRequest"])
    with pytest.raises(DecodeError):
        gtpv2c.decode(data + b"\x00\x00\x00")
    msg, warnings = dissect.dissect_gtpv2(data + b"\x00\x00\x00")
    assert msg.name == "EchoRequest" and msg.fields["recovery"] == gtpv2c.decode(data).fields["recovery"]
    assert warnings == [{"trailing_octets": 3, "hex": "000000"}]
