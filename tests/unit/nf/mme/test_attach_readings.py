"""What an attach reads more than once, read once: the PDN CONNECTIVITY REQUEST it carries
(TS 24.301 §8.3.20, completed by ESM information, §6.6.1.2), the home network of the IMSI
(TS 23.003 §2.2) and the NAS timers' durations (TS 24.301 §10.2)."""

from __future__ import annotations

from corenet.codecs import nas
from corenet.config.models import MmeConfig
from corenet.core.plmn import Plmn
from corenet.nf.mme import esm, nas_path

from .scenario import MME_PLMN, Scenario


def test_apn_given_in_the_esm_information_response_is_the_one_requested() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.security_mode(pti=3, esm_info_transfer=True)
    ue = sc.core.ues[sc.mme_ue_id or 0]
    first = esm.requested_pdn(ue.session)
    assert (first.pti, first.apn, first.esm_info_transfer) == (3, None, True)
    assert esm.requested_pdn(ue.session) is first  # read once per container

    sc.uplink(sc.protect(nas.security_mode_complete("3534900000000101"), 4))
    (info_request,) = sc.received()
    assert info_request.name == "ESMInformationRequest" and info_request.fields[nas.PTI] == 3
    sc.uplink(sc.protect(nas.esm_information_response(3, apn="internet")))
    later = esm.requested_pdn(ue.session)
    assert later is not first and (later.pti, later.apn) == (3, "internet")
    (ulr,) = sc.sent_s6a()
    sc.answer_ulr(ulr)
    assert ue.session.pdn is not None and ue.session.pdn.apn == "internet"


def test_the_answered_request_is_not_kept() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach()
    ue = sc.core.ues[sc.mme_ue_id or 0]
    assert ue.session.pdn_request == {} and ue.session.pdn_request_read is None


def test_home_network_per_imsi_prefix() -> None:
    sc = Scenario(cfg=MmeConfig(roaming={"home_plmns": ["44010"]}))
    own = sc.core.home_network(str(MME_PLMN) + "0000000001")
    assert own == (MME_PLMN, MME_PLMN.realm, False)
    home = sc.core.home_network("440100000000001")
    assert home == (Plmn("440", "10"), "epc.mnc010.mcc440.3gppnetwork.org", True)
    assert sc.core.home_network("440100000000002") is home
    # a PLMN that is neither ours nor a home network: its UEs are not served
    assert sc.core.home_network("440990000000001") == (Plmn("440", "99"), None, True)


def test_nas_timer_durations_come_from_the_configuration() -> None:
    timers = {"t3450_s": 1.5, "t3460_s": 2.5, "t3470_s": 3.5, "t3489_s": 4.5,
              "t3485_s": 5.5, "t3495_s": 6.5}
    sc = Scenario(cfg=MmeConfig(timers=timers))
    for name, key in nas_path.TIMER_FIELD.items():
        assert nas_path.timer_seconds(sc.core, name) == timers[key]
