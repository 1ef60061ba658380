"""The process-wide codec level: its configuration field and where it is applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from corenet.codecs import CodecLevel, codec_level, set_codec
from corenet.config.loader import load
from corenet.config.models import CorenetConfig
from corenet.runtime.supervisor import Runtime
from tests.unit.codecs.fast.parity import codec_level as at_level


def test_config_field_defaults_to_fast_and_takes_only_the_two_levels() -> None:
    assert CorenetConfig().codec == "fast"
    assert CorenetConfig(codec="pycrate").codec == "pycrate"
    with pytest.raises(ValidationError):
        CorenetConfig.model_validate({"codec": "turbo"})


def test_config_file_sets_the_field(tmp_path: Path) -> None:
    path = tmp_path / "corenet.yaml"
    path.write_text("codec: pycrate\n")
    assert load(CorenetConfig, path).codec == "pycrate"


async def test_runtime_start_applies_the_configured_level() -> None:
    with at_level("fast"):
        runtime = Runtime(CorenetConfig(codec="pycrate"), names=())
        await runtime.start()
        assert codec_level() is CodecLevel.PYCRATE
        await runtime.stop()
        set_codec("fast")
        assert codec_level() is CodecLevel.FAST
