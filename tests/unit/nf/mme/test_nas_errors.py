"""Erroneous NAS at the MME core (TS 24.301 §7): malformed messages answered by EMM STATUS
with the cause found, messages not compatible with the protocol state by #98."""

from __future__ import annotations

import pytest

from corenet.codecs import nas

from .scenario import (
    IMSI,
    Scenario,
)


@pytest.mark.parametrize(("pdu", "cause"), [
    (bytes([0x07, 0x7F]), 97),  # message type non-existent
    (bytes([0x07, 0x41, 0x71]), 96),  # attach request cut short: mandatory IEs missing
])
def test_malformed_nas_gets_emm_status(pdu: bytes, cause: int) -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.uplink(pdu)
    (status,) = sc.received()
    assert status.name == "EMMStatus"
    assert status.fields["emm_cause"] == cause


def test_unexpected_nas_message_gets_status_98() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.authenticate()
    sc.uplink(nas.identity_response(imsi=IMSI))
    (status,) = sc.received()
    assert status.name == "EMMStatus" and status.fields["emm_cause"] == 98
