"""NAS security mode control at the MME core (TS 24.301 §5.4.3) and the integrity checks
that follow it (§4.4.4.3)."""

from __future__ import annotations

from corenet.codecs import nas

from .scenario import (
    Scenario,
    attached_scenario,
)


def test_security_mode_command_header_3_with_replayed_capabilities() -> None:
    sc = Scenario()
    sc.s1_setup()
    smc = sc.security_mode()
    assert smc.fields["security_header_type"] == 3
    assert smc.fields["selected_nas_security_algorithms"] == {"eea": 2, "eia": 2}
    assert smc.fields["replayed_ue_security_capabilities"] == nas.ue_network_capability()
    assert smc.fields["imeisv_request"] == 1
    assert ("T3460", sc.mme_ue_id) in sc.timers


def test_bad_mac_is_discarded() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.security_mode()
    good = sc.protect(nas.security_mode_complete("3534900000000101"), 4)
    bad = good[:1] + bytes(b ^ 0xFF for b in good[1:5]) + good[5:]
    sc.uplink(bad)
    assert sc.sent_s1() == [] and sc.sent_s6a() == []
    assert "nas.discarded" in sc.log_kinds()
    sc.uplink(good)  # the genuine one still goes through
    (ulr,) = sc.sent_s6a()
    assert ulr.name == "ULR"


def test_plain_message_after_security_is_discarded() -> None:
    sc = attached_scenario()
    sc.uplink(nas.emm_status(111))
    assert sc.sent_s1() == []
    assert sc.log_kinds()[-1] == "nas.discarded"
