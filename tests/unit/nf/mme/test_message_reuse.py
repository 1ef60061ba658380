"""Downlink NAS messages that are the same for many UEs are built once (TS 24.301 §8.2.13
EMM INFORMATION within one second, §8.2.20 SECURITY MODE COMMAND for one set of
capabilities), and still say what each UE must be told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from corenet.nf.mme import attach, security_mode
from tests.unit.nf.mme.scenario import NOW, Scenario, attached_scenario


def _emm_information(sc: Scenario) -> dict:
    (info,) = sc.received()
    assert info.name == "EMMInformation"
    return info.fields


def test_emm_information_is_built_once_a_second_and_tells_the_time() -> None:
    attach._emm_information.cache_clear()
    first = _emm_information(attached_scenario())
    second = _emm_information(attached_scenario())
    assert first == second
    assert attach._emm_information.cache_info().hits >= 1
    when = first["universal_time_and_local_time_zone"]["time"]
    assert when.replace(tzinfo=UTC) == datetime.fromtimestamp(NOW, UTC)
    later = Scenario(now=NOW + 1.5)
    later.s1_setup()
    later.attach()
    moved = _emm_information(later)["universal_time_and_local_time_zone"]["time"]
    assert moved.replace(tzinfo=UTC) - when.replace(tzinfo=UTC) == timedelta(seconds=1)


def _security_mode_command() -> dict:
    sc = Scenario()
    sc.s1_setup()
    return sc.security_mode().fields


def test_security_mode_command_is_shared_by_ues_with_the_same_capabilities() -> None:
    security_mode._command.cache_clear()
    first, second = _security_mode_command(), _security_mode_command()
    assert security_mode._command.cache_info().hits >= 1
    for smc in (first, second):  # each under its own UE's keys (MAC checked by the UE)
        assert smc["mac_valid"] and smc["imeisv_request"] == 1
        assert smc["selected_nas_security_algorithms"] == {"eea": 2, "eia": 2}
        assert smc["replayed_ue_security_capabilities"] == b"\xe0\x60"
