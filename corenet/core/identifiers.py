"""Subscriber identifiers and the names and URIs derived from them (TS 23.003, RFC 3966, RFC 7254).

One place for what the MME, the IMS, the PSAP and the UE all derive from an IMSI, an MSISDN or
an IMEI: the home PLMN of an IMSI, the home IMS domain, the IMS user identities, and the URIs
an emergency call's caller is identified by.
"""

from __future__ import annotations

from corenet.core.plmn import Plmn

# TS 23.003 §2.2 / ITU-T E.212: MCCs whose networks use 3-digit MNCs (the usual cases).
THREE_DIGIT_MNC_MCCS = frozenset({
    "302", "310", "311", "312", "313", "314", "315", "316", "334", "338", "342", "344", "346",
    "348", "354", "356", "358", "360", "365", "376", "405", "708", "722", "732",
})


def home_plmn_of(imsi: str, known: tuple[Plmn, ...] = ()) -> Plmn:
    """The HPLMN of an IMSI (TS 23.003 §2.2): a known PLMN prefix, else the MCC's MNC length."""
    for plmn in known:
        if imsi.startswith(str(plmn)):
            return plmn
    mnc_len = 3 if imsi[:3] in THREE_DIGIT_MNC_MCCS else 2
    return Plmn(imsi[:3], imsi[3 : 3 + mnc_len])


def in_home_country(imsi: str, plmn: Plmn) -> bool:
    """TS 22.011 §4.3.1: the serving PLMN is in the home country when its MCC is the IMSI's."""
    return imsi[:3] == plmn.mcc


def ims_domain(plmn: Plmn) -> str:
    """TS 23.003 §13.2: the home network domain name, ims.mncMNC.mccMCC.3gppnetwork.org."""
    return f"ims.mnc{plmn.mnc.zfill(3)}.mcc{plmn.mcc}.3gppnetwork.org"


def impi(imsi: str, plmn: Plmn) -> str:
    """TS 23.003 §13.3: the private user identity derived from the IMSI."""
    return f"{imsi}@{ims_domain(plmn)}"


def impu(msisdn: str | None, imsi: str, plmn: Plmn) -> str:
    """TS 23.003 §13.4: sip:+<MSISDN>@domain; without an MSISDN the temporary public user
    identity of §13.4B, sip:<IMSI>@domain."""
    return f"sip:{e164(msisdn) if msisdn else imsi}@{ims_domain(plmn)}"


def e164(msisdn: str) -> str:
    """An MSISDN as a global number, +<country code><national number> (RFC 3966 §5.1.4)."""
    return f"+{msisdn.lstrip('+')}"


def tel_uri(msisdn: str) -> str:
    """RFC 3966: the MSISDN as a global tel URI."""
    return f"tel:{e164(msisdn)}"


def imsi_uri(imsi: str, domain: str | None = None) -> str:
    """sip:<IMSI>@domain (TS 23.003 §13.4B), the domain by default the IMSI's home IMS domain."""
    return f"sip:{imsi}@{domain or ims_domain(home_plmn_of(imsi))}"


def imei_urn(imei: str) -> str:
    """RFC 7254 §3: TAC-SNR-spare (8-6-1 digits, the spare sent as 0; an IMEISV's SVN and an
    IMEI's check digit are left out)."""
    digits = "".join(c for c in imei if c.isdigit())
    return f"{digits[:8]}-{digits[8:14]}-0"


def imei_uri(imei: str) -> str:
    """RFC 7254 §3: urn:gsma:imei:TAC-SNR-spare."""
    return f"urn:gsma:imei:{imei_urn(imei)}"
