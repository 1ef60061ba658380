"""Device profiles: the shipped files, validation errors naming field and line, assignment."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from corenet.core.errors import ConfigError
from sim_ue.devices import assign_devices, load_device, load_devices, parse_mix

DEVICES = Path(__file__).resolve().parents[3] / "configs" / "devices"


def test_shipped_profiles() -> None:
    profiles = {p.name: p for p in load_devices([DEVICES])}
    assert {"iphone-2026", "android-docomo-2026", "android-kddi-2022",
            "legacy-2019"} <= set(profiles)
    iphone = profiles["iphone-2026"]
    assert iphone.os == "ios" and iphone.version_tuple == (26,)
    assert iphone.emergency_only_roaming and iphone.manual_selection == "emergency-attach"
    assert iphone.emergency_only_reason() == ""
    docomo = profiles["android-docomo-2026"]
    assert docomo.carrier == "docomo" and docomo.etws.disaster_info_docomo_id
    kddi = profiles["android-kddi-2022"]
    assert kddi.release_date == dt.date(2022, 9, 30)
    assert kddi.emergency_only_reason() == (
        "device does not support emergency-only roaming (released 2022-09)")
    assert not kddi.etws.disaster_info_standard_id
    legacy = profiles["legacy-2019"]
    assert not legacy.emergency_calls_in_full_roaming
    assert legacy.full_roaming_call_reason().endswith("(released 2019-06)")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "dev.yaml"
    p.write_text(text)
    return p


BASE = ("name: x\nos: android\nos_version: '14'\nvendor: V\nmodel: M\n"
        "release_date: 2024-01-01\n")


def test_validation_errors_name_field_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_device(_write(tmp_path, BASE.replace("os: android", "os: symbian")
                           + "emergency_only_roaming: false\n"))
    assert "line 2" in str(exc.value) and "os" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_device(_write(tmp_path, BASE))
    assert "emergency_only_roaming" in str(exc.value) and "Field required" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_device(_write(tmp_path, BASE + "emergency_only_roaming: no-idea\n"))
    assert "line 7" in str(exc.value) and "emergency_only_roaming" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_device(_write(tmp_path, BASE + "emergency_only_roaming: true\nfoo: 1\n"))
    assert "line 8" in str(exc.value) and "foo" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_device(_write(tmp_path, BASE + "emergency_only_roaming: false\n"
                           "manual_selection: emergency-attach\n"))
    assert "needs emergency_only_roaming" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_device(_write(tmp_path, BASE.replace("os: android", "os: ios")
                           .replace("'14'", "'17.4'") + "emergency_only_roaming: false\n"))
    assert "18.5" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_device(_write(tmp_path, BASE.replace("'14'", "'fourteen'")
                           + "emergency_only_roaming: false\n"))
    assert "line 3" in str(exc.value) and "os_version" in str(exc.value)


def test_assignment_single_round_robin_and_weighted() -> None:
    profiles = {p.name: p for p in load_devices([DEVICES])}
    iphone, kddi = profiles["iphone-2026"], profiles["android-kddi-2022"]
    assert assign_devices(iphone, 3) == [iphone] * 3
    assert assign_devices([iphone, kddi], 3) == [iphone, kddi, iphone]
    assert assign_devices(None, 2)[0].emergency_only_roaming
    mix = parse_mix("iphone-2026=3,android-kddi-2022=1", profiles)
    drawn = assign_devices(mix, 400, seed=5)
    assert drawn == assign_devices(mix, 400, seed=5)
    assert drawn != assign_devices(mix, 400, seed=6)
    counts = Counter(p.name for p in drawn)
    assert set(counts) == {"iphone-2026", "android-kddi-2022"}
    assert 250 < counts["iphone-2026"] < 350
    with pytest.raises(ConfigError, match="unknown profile 'nokia'"):
        parse_mix("nokia=1", profiles)
    with pytest.raises(ValueError):
        assign_devices([(iphone, 0.0)], 2)
