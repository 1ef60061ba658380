"""Cx (TS 29.229): UAR/UAA, MAR/MAA, SAR/SAA encode, decode, validate and dissect in tshark."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.codecs import cx
from corenet.codecs import diameter as d
from corenet.core.errors import DecodeError
from tests.unit.codecs.test_diameter import _tshark

SCSCF = "scscf.ims.mnc010.mcc440.3gppnetwork.org"
IMS_REALM = "ims.mnc010.mcc440.3gppnetwork.org"
HSS = "hss.epc.mnc010.mcc440.3gppnetwork.org"
HSS_REALM = "epc.mnc010.mcc440.3gppnetwork.org"
IMPI = "440100000000001@ims.mnc010.mcc440.3gppnetwork.org"
IMPU = "sip:+819010000001@ims.mnc010.mcc440.3gppnetwork.org"
VECTOR = cx.ImsAkaVector(bytes(range(16)), bytes(range(16, 32)), bytes(8), bytes(range(16)),
                         bytes(range(32, 48)))


def _uar() -> d.Message:
    return cx.uar(d.session_id(SCSCF, 1, 1), SCSCF, IMS_REALM, HSS_REALM, IMPI, IMPU,
                  "ims.mnc020.mcc440.3gppnetwork.org", hop_by_hop=1, end_to_end=2)


def _mar(resync: bytes | None = None) -> d.Message:
    return cx.mar(d.session_id(SCSCF, 1, 2), SCSCF, IMS_REALM, HSS_REALM, IMPI, IMPU,
                  f"sip:{SCSCF}", hop_by_hop=3, end_to_end=4, resync=resync)


def _sar() -> d.Message:
    return cx.sar(d.session_id(SCSCF, 1, 3), SCSCF, IMS_REALM, HSS_REALM, IMPI, IMPU,
                  f"sip:{SCSCF}", cx.ServerAssignmentType.REGISTRATION, hop_by_hop=5,
                  end_to_end=6)


def test_cx_commands_and_avp_flags_follow_ts_29_229() -> None:
    uar = d.decode(d.encode(_uar()))
    assert (uar.name, uar.code, uar.fields["application_id"]) == ("UAR", 300, 16777216)
    assert uar.fields["flags"]["proxiable"] and uar.fields["flags"]["request"]
    assert d.avp(uar, "Vendor-Specific-Application-Id", "Auth-Application-Id") == 16777216
    assert d.avp(uar, "Visited-Network-Identifier") == b"ims.mnc020.mcc440.3gppnetwork.org"
    assert d.avp(uar, "User-Authorization-Type") == 0
    # §6.3: Cx AVPs carry V and M; the entries keep no flags of their own
    assert all(len(e) == 2 for e in uar.fields["avps"])
    assert d.AVPS["Public-Identity"].flags == d.AVP_V | d.AVP_M
    assert d.AVPS["UAR-Flags"].flags == d.AVP_V
    d.check_mandatory(uar)


def test_maa_carries_the_ims_aka_vector() -> None:
    mar = _mar()
    maa = d.decode(d.encode(cx.answer(mar, HSS, HSS_REALM, result_code=2001, extra=[
        ("User-Name", IMPI), ("Public-Identity", IMPU), ("SIP-Number-Auth-Items", 1),
        ("SIP-Auth-Data-Item", VECTOR.to_avps())])))
    assert (maa.name, cx.result_of(maa)) == ("MAA", 2001)
    (vec,) = cx.vectors_of(maa)
    assert vec == VECTOR and vec.nonce == bytes(range(32))
    assert d.avp(maa, "SIP-Auth-Data-Item", "SIP-Authentication-Scheme") == "Digest-AKAv1-MD5"


def test_resync_mar_and_experimental_results() -> None:
    mar = d.decode(d.encode(_mar(resync=bytes(30))))
    assert d.avp(mar, "SIP-Auth-Data-Item", "SIP-Authorization") == bytes(30)
    uaa = d.decode(d.encode(cx.answer(_uar(), HSS, HSS_REALM,
                                      experimental=cx.CxResult.DIAMETER_FIRST_REGISTRATION)))
    assert d.avp(uaa, "Experimental-Result", "Vendor-Id") == 10415
    assert cx.result_of(uaa) == 2001 and d.avp(uaa, "Result-Code") is None


def test_missing_mandatory_cx_avp_is_5005() -> None:
    mar = _mar()
    mar.fields["avps"] = [e for e in mar.fields["avps"] if e[0] != "Server-Name"]
    with pytest.raises(DecodeError) as err:
        d.check_mandatory(mar)
    assert err.value.cause == 5005 and err.value.extra["missing_avp"] == "Server-Name"


def test_user_data_lists_the_unbarred_public_identities() -> None:
    data = cx.user_data(IMPI, [IMPU, "tel:+819010000001"])
    assert cx.public_identities(data) == [IMPU, "tel:+819010000001"]
    for bad in (b"<IMSSubscription", b'<?xml version="1.0" encoding="nope"?><a/>',
                b'<!DOCTYPE a [<!ENTITY x "y">]><IMSSubscription>&x;</IMSSubscription>'):
        with pytest.raises(DecodeError):
            cx.public_identities(bad)


@pytest.mark.tshark
def test_tshark_dissects_cx(tmp_path: Path) -> None:
    uar, mar, sar = _uar(), _mar(), _sar()
    wires = [
        d.encode(uar),
        d.encode(cx.answer(uar, HSS, HSS_REALM, experimental=2001,
                           extra=[("Server-Name", f"sip:{SCSCF}")])),
        d.encode(mar),
        d.encode(cx.answer(mar, HSS, HSS_REALM, result_code=2001, extra=[
            ("User-Name", IMPI), ("SIP-Number-Auth-Items", 1),
            ("SIP-Auth-Data-Item", VECTOR.to_avps())])),
        d.encode(sar),
        d.encode(cx.answer(sar, HSS, HSS_REALM, result_code=2001, extra=[
            ("User-Name", IMPI), ("User-Data", cx.user_data(IMPI, [IMPU]))])),
    ]
    names = ["diameter.cmd.code", "diameter.applicationId", "diameter.Public-Identity",
             "diameter.Experimental-Result-Code", "diameter.3GPP-SIP-Authentication-Scheme",
             "diameter.Server-Assignment-Type", "_ws.malformed", "_ws.expert"]
    rows = [dict(zip(names, row, strict=False)) for row in _tshark(tmp_path, wires, names)]
    assert [r["diameter.cmd.code"] for r in rows] == ["300", "300", "303", "303", "301", "301"]
    assert {r["diameter.applicationId"] for r in rows} == {"16777216"}
    assert rows[0]["diameter.Public-Identity"] == IMPU
    assert rows[1]["diameter.Experimental-Result-Code"] == "2001"
    assert rows[3]["diameter.3GPP-SIP-Authentication-Scheme"] == "Digest-AKAv1-MD5"
    assert rows[4]["diameter.Server-Assignment-Type"] == "1"
    assert all(not r["_ws.malformed"] and not r["_ws.expert"] for r in rows)


def test_fast_path_and_pycrate_agree_on_cx() -> None:
    import corenet.codecs.fast.diameter  # noqa: F401  (installs the fast path)

    msgs = [_uar(), _mar(bytes(30)), _sar(),
            cx.answer(_mar(), HSS, HSS_REALM, result_code=2001, extra=[
                ("SIP-Auth-Data-Item", VECTOR.to_avps()),
                ("User-Data", cx.user_data(IMPI, [IMPU]))]),
            cx.answer(_uar(), HSS, HSS_REALM, experimental=2001,
                      extra=[("Server-Capabilities", [("Mandatory-Capability", 1)])])]
    for msg in msgs:
        wire = d.encode(msg)
        assert wire == d.encode_pycrate(msg), msg.name
        assert d.decode(wire) == d.decode_pycrate(wire), msg.name
