"""Identifiers derived from an IMSI, MSISDN or IMEI (TS 23.003, RFC 3966, RFC 7254)."""

from __future__ import annotations

from corenet.core import identifiers as ids
from corenet.core.plmn import Plmn
from corenet.nf.ims.binding import AccessMode, IdentityType, UeBinding

JAPAN = Plmn("440", "10")


def test_home_plmn_of_an_imsi() -> None:
    assert ids.home_plmn_of("440100000000001") == JAPAN
    # TS 23.003 §2.2: the MNC length follows the MCC (310: three digits)
    assert ids.home_plmn_of("310410123456789") == Plmn("310", "410")
    # a PLMN the caller knows wins over the MCC table
    assert ids.home_plmn_of("310411234567890", (Plmn("310", "41"),)) == Plmn("310", "41")
    assert ids.in_home_country("440100000000001", Plmn("440", "20"))
    assert not ids.in_home_country("440100000000001", Plmn("450", "05"))


def test_ims_identities() -> None:
    assert ids.ims_domain(JAPAN) == "ims.mnc010.mcc440.3gppnetwork.org"
    assert ids.impi("440100000000001", JAPAN) == "440100000000001@ims.mnc010.mcc440.3gppnetwork.org"
    assert ids.impu("819010000001", "440100000000001", JAPAN) == (
        "sip:+819010000001@ims.mnc010.mcc440.3gppnetwork.org")
    assert ids.impu(None, "440100000000001", JAPAN) == (
        "sip:440100000000001@ims.mnc010.mcc440.3gppnetwork.org")


def test_caller_uris() -> None:
    assert ids.tel_uri("819010000001") == ids.tel_uri("+819010000001") == "tel:+819010000001"
    assert ids.imsi_uri("440100000000001") == "sip:440100000000001@ims.mnc010.mcc440.3gppnetwork.org"
    assert ids.imsi_uri("310410123456789") == "sip:310410123456789@ims.mnc410.mcc310.3gppnetwork.org"
    assert ids.imsi_uri("440100000000001", "ims.example.org") == "sip:440100000000001@ims.example.org"
    # RFC 7254 §3: an IMEISV's SVN is left out, the spare digit is 0
    assert ids.imei_urn("3500000000000101") == "35000000-000001-0"
    assert ids.imei_uri("35-000000-000001-7") == "urn:gsma:imei:35000000-000001-0"


def test_the_binding_identifies_callers_with_the_shared_helpers() -> None:
    """TS 23.167 §6.2.1: MSISDN when authenticated, else the IMSI, else the IMEI."""
    assert UeBinding("10.45.0.2", AccessMode.FULL, "310410123456789", "12025550100").identity() == (
        "tel:+12025550100", IdentityType.MSISDN, True)
    # the IMSI's home domain takes the 3-digit MNC of MCC 310 (TS 23.003 §2.2, §13.2)
    assert UeBinding("10.45.0.2", AccessMode.EMERGENCY_UNAUTH, "310410123456789").identity() == (
        "sip:310410123456789@ims.mnc410.mcc310.3gppnetwork.org", IdentityType.IMSI, False)
    assert UeBinding("10.45.0.2", AccessMode.EMERGENCY_UNAUTH, imei="3500000000000101").identity() == (
        "urn:gsma:imei:35000000-000001-0", IdentityType.IMEI, False)
