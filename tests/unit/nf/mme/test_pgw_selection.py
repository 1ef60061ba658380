"""P-GW selection for a roamer's PDN connection (TS 23.401 §4.3.8.1, TS 29.272 §7.3.38):
an APN whose VPLMN-Dynamic-Address-Allowed is not set goes to the home network's P-GW, whose
S8 address the Create Session Request carries as the PGW S5/S8 F-TEID (TS 29.274 §7.2.1)."""

from __future__ import annotations

import pytest

from corenet.codecs import gtpv2c, nas, s6a
from corenet.codecs.base import Message
from corenet.config.models import MmeConfig
from corenet.nf.mme.session import home_pgw

from .scenario import HOME_PLMN, MSISDN, Scenario

HOME_PGW = "127.0.8.5"
VISITED_PGW = MmeConfig().pgw_s5s8_address


def _csr(vplmn_dynamic_address_allowed: int | None,
         home_pgws: dict[str, str] | None = None) -> Message:
    """Attach up to the Create Session Request with one subscribed APN as given."""
    sc = Scenario(cfg=MmeConfig(home_pgws={str(HOME_PLMN): HOME_PGW}
                                if home_pgws is None else home_pgws))
    sc.s1_setup()
    sc.security_mode()
    sc.uplink(sc.protect(nas.security_mode_complete("3534900000000101"), 4))
    (ulr,) = sc.sent_s6a()
    sc.answer_ulr(ulr, subscription_data=s6a.SubscriptionData(
        msisdn=MSISDN, ambr=s6a.Ambr(50_000_000, 100_000_000), default_context_identifier=1,
        apn_configurations=(s6a.ApnConfiguration(
            1, "interconnect.mvno", vplmn_dynamic_address_allowed=vplmn_dynamic_address_allowed),
        )))
    (csr,) = sc.sent_s11()
    return gtpv2c.decode(gtpv2c.encode(csr))


def test_apn_without_vplmn_dynamic_address_goes_to_the_home_pgw() -> None:
    csr = _csr(s6a.VplmnDynamicAddressAllowed.NOTALLOWED)
    assert csr.name == "CreateSessionRequest" and csr.fields["apn"] == "interconnect.mvno"
    fteid = csr.fields["pgw_s5s8_fteid_c"]
    assert fteid["interface_type"] == gtpv2c.FTEID_S5S8C_PGW
    assert fteid["ipv4"] == HOME_PGW


@pytest.mark.parametrize(("allowed", "home_pgws"), [
    (s6a.VplmnDynamicAddressAllowed.ALLOWED, None),  # local breakout allowed
    (s6a.VplmnDynamicAddressAllowed.NOTALLOWED, {}),  # no P-GW known in the HPLMN
])
def test_otherwise_the_visited_pgw(allowed: int, home_pgws: dict[str, str] | None) -> None:
    assert _csr(allowed, home_pgws).fields["pgw_s5s8_fteid_c"]["ipv4"] == VISITED_PGW


def test_decision_table() -> None:
    pgws = {str(HOME_PLMN): HOME_PGW}
    assert home_pgw(pgws, HOME_PLMN, None) == HOME_PGW  # absent: not allowed (§7.3.38)
    assert home_pgw(pgws, HOME_PLMN, s6a.VplmnDynamicAddressAllowed.NOTALLOWED) == HOME_PGW
    assert home_pgw(pgws, HOME_PLMN, s6a.VplmnDynamicAddressAllowed.ALLOWED) is None
