from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from corenet.activation.flow import Mode
from corenet.activation.request import (
    ActivationRequest,
    Area,
    Contact,
    OwnNetwork,
    check_request,
)
from corenet.activation.rescuer import RecordingConfigurator, Rescuer
from corenet.bus import topics
from corenet.bus.validate import PayloadError
from corenet.core.plmn import Plmn

A, B, C = Plmn.parse("44010"), Plmn.parse("44020"), Plmn.parse("44050")
NOW = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)


def request(mode: Mode = Mode.FULL, tacs: tuple[int, ...] = (101, 102)) -> ActivationRequest:
    return ActivationRequest(
        "0b5f3c1e-7a1d-4c55-9a77-1f2e3d4c5b6a", A, (B,), mode, Area(("04",), tacs), NOW,
        (Contact("NOC", "+81 3 1234 5678", "duty"),), "earthquake",
    )


def own(**kw: object) -> OwnNetwork:
    args: dict[str, object] = {"plmn": B, "authorised": frozenset({A}), "tacs": frozenset({101, 102})}
    args.update(kw)
    return OwnNetwork(**args)  # type: ignore[arg-type]


def test_request_round_trip() -> None:
    req = request()
    back = ActivationRequest.from_json(json.loads(json.dumps(req.to_json())))
    assert back == req
    assert req.to_json()["requested_start"] == "2026-03-01T06:00:00Z"


@pytest.mark.parametrize(("path", "value", "field"), [
    (("mode",), "half", "mode"),
    (("area", "tacs", 0), 0, "area.tacs[0]"),
    (("area", "prefectures", 0), "48", "area.prefectures[0]"),
    (("rescuers",), [], "rescuers"),
    (("affected",), "4401", "affected"),
    (("contacts", 0, "phone"), "call me", "contacts[0].phone"),
])
def test_malformed_request_names_the_field(path: tuple, value: object, field: str) -> None:
    payload = copy.deepcopy(request().to_json())
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(PayloadError) as exc:
        ActivationRequest.from_json(payload)
    assert exc.value.field == field


def test_missing_field_is_named() -> None:
    payload = request().to_json()
    del payload["reason"]
    with pytest.raises(PayloadError) as exc:
        ActivationRequest.from_json(payload)
    assert exc.value.field == "reason"


def test_check_accepts_and_refuses_with_reasons() -> None:
    ack = check_request(request(tacs=(101, 102, 999)), own(), NOW)
    assert ack.accepted and ack.tacs == (101, 102)
    assert [r.code for r in ack.reasons] == ["partial-area"]
    ack = check_request(request(Mode.EMERGENCY_ONLY), own(supports_emergency_only=False), NOW)
    assert not ack.accepted and [r.code for r in ack.reasons] == ["mode-unsupported"]
    ack = check_request(request(), own(impaired=True, expected_roamers=10, spare_capacity_ues=5),
                        NOW)
    assert [r.code for r in ack.reasons] == ["own-network-impaired", "no-capacity"]
    ack = check_request(request(), own(authorised=frozenset({C})), NOW)
    assert [r.code for r in ack.reasons] == ["unauthorised"]
    assert not check_request(request(tacs=(999,)), own(), NOW).accepted


def test_rescuer_applies_once_and_answers_resends() -> None:
    conf = RecordingConfigurator()
    rescuer = Rescuer(own(), conf)
    data = json.dumps(request().to_json()).encode()
    out = rescuer.handle_order(topics.order(B, A), data, NOW)
    assert out[0].topic == "corenet/v1/44010/acks/44020" and out[0].payload["accepted"] is True
    assert out[1].payload["type"] == "configured"
    again = rescuer.handle_order(topics.order(B, A), data, NOW)
    assert len(again) == 1 and again[0].payload == out[0].payload
    assert len(conf.applied) == 1


def test_rescuer_error_event_on_malformed_changes_nothing() -> None:
    conf = RecordingConfigurator()
    rescuer = Rescuer(own(), conf)
    payload = request().to_json()
    payload["area"]["tacs"] = ["x"]
    out = rescuer.handle_order(topics.order(B, A), json.dumps(payload).encode(), NOW)
    assert len(out) == 1 and out[0].topic == "corenet/v1/44020/events"
    assert out[0].payload["type"] == "error" and out[0].payload["field"] == "area.tacs[0]"
    assert rescuer.handle_order(topics.order(B, A), b"\xff{", NOW)[0].payload["field"] == "$"
    assert conf.applied == [] and rescuer.answered == {}


def test_rescuer_refuses_order_sent_in_another_name() -> None:
    conf = RecordingConfigurator()
    rescuer = Rescuer(own(), conf)
    out = rescuer.handle_order(topics.order(B, C), json.dumps(request().to_json()).encode(), NOW)
    assert out[0].payload["accepted"] is False
    assert out[0].payload["reasons"][0]["code"] == "unauthorised"
    assert conf.applied == []
