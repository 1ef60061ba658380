"""The actions and the MME's per-message events write their fields in their own `__init__`:
they must stay frozen dataclasses all the same (equality, hashing, repr, replace)."""

from __future__ import annotations

import dataclasses

import pytest

from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.nf.mme.events import S1apReceived, S11Received, SendS1ap, SendS6a, SendS11


@pytest.mark.parametrize("made, same", [
    (StartTimer("T3460", 7, 6.0), StartTimer(name="T3460", key=7, seconds=6.0)),
    (StopTimer("T3460", 7), StopTimer(name="T3460", key=7)),
    (TimerExpired("T3460", 7), TimerExpired(name="T3460", key=7)),
    (LogEvent("emm.attach.accepted", {"imsi": "1"}), LogEvent("emm.attach.accepted",
                                                             data={"imsi": "1"})),
    (S1apReceived(1, b"\x00"), S1apReceived(assoc=1, data=b"\x00", stream=0)),
    (SendS1ap(1, b"\x00", 1), SendS1ap(assoc=1, data=b"\x00", stream=1)),
    (SendS6a(None, "r"), SendS6a(msg=None, realm="r")),  # type: ignore[arg-type]
    (SendS11(None), SendS11(msg=None, peer=None)),  # type: ignore[arg-type]
    (S11Received(None, 3), S11Received(msg=None, sequence=3, peer=None)),  # type: ignore[arg-type]
])
def test_frozen_dataclasses_as_generated(made: object, same: object) -> None:
    assert made == same and repr(made) == repr(same)
    assert dataclasses.is_dataclass(made)
    first = dataclasses.fields(made)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, first, None)
    assert dataclasses.replace(made) == made  # type: ignore[type-var]
    if not isinstance(made, LogEvent):
        assert hash(made) == hash(same)


def test_log_event_data_is_its_own() -> None:
    a, b = LogEvent("x"), LogEvent("x")
    assert a.data == {} and a.data is not b.data
    assert dataclasses.replace(StartTimer("T", 1, 1.0), seconds=2.0) == StartTimer("T", 1, 2.0)
