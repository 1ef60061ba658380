"""The home network of an IMSI (TS 23.003 §2.2) and the roaming rule in force for it, as the
roaming table changes at run time: what the MME remembers per IMSI prefix and per (home
network, TA) follows the table."""

from __future__ import annotations

from corenet.codecs import nas
from corenet.config.models import MmeConfig
from corenet.core.plmn import Plmn
from corenet.nf.mme import causes
from corenet.nf.mme.policy import Mode, Policy

from .scenario import Scenario

# MCC 440 takes two-digit MNCs (TS 23.003 §2.2): without a rule for 440-301 this IMSI's home
# is 440-30
IMSI_301 = "440301000000009"


def _attach(sc: Scenario, imsi: str) -> None:
    sc.mme_ue_id = None
    sc.enb_ue_id += 1
    sc.attach_request(imsi=imsi)


def test_a_rule_set_at_run_time_for_a_three_digit_mnc_gives_imsis_their_home() -> None:
    sc = Scenario(cfg=MmeConfig(roaming={"home_plmns": ["44010"]}))
    sc.s1_setup()
    assert sc.core.home_of(IMSI_301) == Plmn("440", "30")
    _attach(sc, IMSI_301)
    (reject,) = sc.received()
    assert reject.name == "AttachReject" and reject.fields["emm_cause"] == causes.PLMN_NOT_ALLOWED

    sc.core.policy.set(Policy(Plmn("440", "301"), None, Mode.FULL))
    assert sc.core.home_of(IMSI_301) == Plmn("440", "301")
    assert Plmn("440", "301") in sc.core.home_plmns
    sc.logs.clear()
    _attach(sc, IMSI_301)
    # admitted, and its AIR is for the home realm of 440-301 (no S6a route is configured)
    assert "policy.attach.admitted" in sc.log_kinds()
    (no_route,) = [e.data for e in sc.logs if e.kind == "s6a.no_route"]
    assert no_route == {"realm": "epc.mnc301.mcc440.3gppnetwork.org", "imsi": IMSI_301}


def test_a_rule_replaced_at_run_time_is_the_one_applied() -> None:
    sc = Scenario(cfg=MmeConfig(roaming={"policies": [
        {"home_plmn": "44010", "mode": "full"}]}))
    sc.s1_setup()
    sc.attach_request()
    assert [m.name for m in sc.sent_s6a()] == ["AIR"]

    sc.core.policy.set(Policy(Plmn("440", "10"), None, Mode.OFF))
    sc.mme_ue_id = None
    sc.enb_ue_id += 1
    sc.uplink(nas.attach_request(imsi="440100000000002",
                                 esm_container=nas.pdn_connectivity_request(pti=1, pdn_type=1)))
    (reject,) = sc.received()
    assert reject.name == "AttachReject" and reject.fields["emm_cause"] == causes.PLMN_NOT_ALLOWED

