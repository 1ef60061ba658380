"""Each reference codec reaches its fast implementation through `selection.fast_path`, installed
by the fast module (which reads the reference module's tables, so no import goes the other way)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from corenet.codecs import diameter, gtpv2c, nas, selection
from corenet.codecs.fast import diameter as fast_diameter
from corenet.codecs.fast import gtpv2c as fast_gtpv2c
from corenet.codecs.fast import nas as fast_nas
from tests.unit.codecs.fast.parity import codec_level


def test_importing_a_reference_codec_alone_installs_its_fast_path() -> None:
    code = ("import corenet.codecs.nas as n, corenet.codecs.fast.nas as f; "
            "print(n._fast.encode is f.encode, n._fast.decode is f.decode_plain)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_each_protocol_has_its_fast_encode_and_decode() -> None:
    assert (nas._fast.encode, nas._fast.decode) == (fast_nas.encode, fast_nas.decode_plain)
    assert (diameter._fast.encode, diameter._fast.decode) == (fast_diameter.encode,
                                                              fast_diameter.decode)
    assert (gtpv2c._fast.encode, gtpv2c._fast.decode) == (fast_gtpv2c.encode, fast_gtpv2c.decode)


def _spy(path: selection.FastPath, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def wrap(name: str, inner: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return inner(*args, **kwargs)
        return call

    monkeypatch.setattr(path, "encode", wrap("encode", path.encode))
    monkeypatch.setattr(path, "decode", wrap("decode", path.decode))
    return calls


def test_the_fast_level_goes_through_the_fast_path_and_pycrate_does_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = nas.pdn_connectivity_request(pti=1, request_type=4, pdn_type=1)
    calls = _spy(selection.fast_path(nas.PROTOCOL), monkeypatch)
    with codec_level("pycrate"):
        by_pycrate = nas.decode(data)
    assert calls == []
    with codec_level("fast"):
        msg = nas.decode(data)
        assert nas.encode(msg) == data
    assert calls == ["decode", "encode"]
    assert msg == by_pycrate and msg.name == "PDNConnectivityRequest"


def test_a_path_not_installed_declines() -> None:
    path = selection.FastPath()
    assert path.encode(object()) is None and path.decode(b"", None) is None
