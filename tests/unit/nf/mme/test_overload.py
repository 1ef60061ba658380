"""The MME honours its home HSS's overload: DOIC loss algorithm (RFC 7683 §5.4.3) and ATTACH
REJECT #22 with T3346 (TS 24.301 §5.3.7, §5.5.1.2.5)."""

from __future__ import annotations

import random

import pytest

from corenet.codecs import diameter, nas, s6a
from corenet.codecs.base import Message
from corenet.codecs.nas_ies import gprs_timer_to_wire
from corenet.config.models import MmeConfig, RoamingPolicyEntry
from corenet.nf.mme.events import S6aAnswer
from corenet.nf.mme.overload import OLR_DEFAULT_ALGO, DoicThrottle

from .scenario import HSS_HOST, HSS_REALM, Scenario

REALM = HSS_REALM
CONGESTION = 22


def olr(sequence: int, reduction: int, validity: int | None = 10,
        report_type: int = 0) -> list[tuple[str, object]]:
    avps: list[tuple[str, object]] = [("OC-Sequence-Number", sequence),
                                      ("OC-Report-Type", report_type),
                                      ("OC-Reduction-Percentage", reduction)]
    if validity is not None:
        avps.append(("OC-Validity-Duration", validity))
    return [("OC-OLR", avps)]


# ---------------------------------------------------------------- the pure decisions


def test_loss_algorithm_sends_exactly_the_share_left() -> None:
    t = DoicThrottle()
    t.on_answer(REALM, olr(1, 70), 0.0)
    sent = sum(t.admit_air(REALM, 1.0, emergency=False) for _ in range(100))
    assert sent == 30
    assert t.dropped == 70


def test_emergency_attach_is_never_throttled() -> None:
    t = DoicThrottle()
    t.on_answer(REALM, olr(1, 100), 0.0)
    assert all(t.admit_air(REALM, 1.0, emergency=True) for _ in range(10))
    assert not t.admit_air(REALM, 1.0, emergency=False)


def test_report_expires_after_its_validity() -> None:
    t = DoicThrottle()
    t.on_answer(REALM, olr(1, 100, validity=5), 0.0)
    assert not t.admit_air(REALM, 4.9, emergency=False)
    assert t.admit_air(REALM, 5.0, emergency=False)


def test_older_sequence_is_ignored_and_newer_replaces() -> None:
    t = DoicThrottle()
    t.on_answer(REALM, olr(7, 50), 0.0)
    t.on_answer(REALM, olr(6, 10), 0.1)
    assert t.in_force(REALM, 0.2).reduction_percentage == 50  # type: ignore[union-attr]
    t.on_answer(REALM, olr(8, 20), 0.3)
    assert t.in_force(REALM, 0.4).reduction_percentage == 20  # type: ignore[union-attr]


@pytest.mark.parametrize("end", [olr(9, 0, validity=10), olr(9, 40, validity=0)])
def test_zero_validity_or_reduction_ends_the_overload(end: list) -> None:
    t = DoicThrottle()
    t.on_answer(REALM, olr(8, 60), 0.0)
    t.on_answer(REALM, end, 1.0)
    assert t.in_force(REALM, 1.0) is None


def test_default_validity_and_unsupported_report_type() -> None:
    t = DoicThrottle()
    t.on_answer(REALM, olr(1, 60, validity=None), 0.0)
    assert t.in_force(REALM, 29.9) is not None and t.in_force(REALM, 30.0) is None
    t.on_answer(REALM, olr(2, 60, report_type=1), 31.0)  # REALM_REPORT: not supported
    assert t.in_force(REALM, 31.0) is None


@pytest.mark.parametrize("top", [2, 7, 60, 62, 64, 600])
def test_t3346_random_and_codable(top: int) -> None:
    t = DoicThrottle(top, random.Random(1))
    values = {t.t3346() for _ in range(200)}
    assert all(v <= top and v >= min(top // 2, 60) - 1 for v in values)
    for v in values:
        gprs_timer_to_wire(v)  # TS 24.008 §10.5.7.3 can code it


# ---------------------------------------------------------------- through the MME core


def scenario(**cfg: object) -> Scenario:
    sc = Scenario(cfg=MmeConfig(roaming={"policies": [
        RoamingPolicyEntry(home_plmn="44010", mode="full")]}, **cfg))  # type: ignore[arg-type]
    sc.s1_setup()
    return sc


def next_ue(sc: Scenario, n: int) -> None:
    sc.mme_ue_id, sc.enb_ue_id = None, 100 + n


def wire(msg: Message) -> Message:
    return diameter.decode(diameter.encode(msg))


def aia_with(air: Message, sc: Scenario, avps: list) -> Message:
    aia = s6a.aia(air, HSS_HOST, HSS_REALM, vectors=[sc.vector()])
    aia.fields["avps"].extend(avps)
    return wire(aia)


def test_air_announces_doic() -> None:
    sc = scenario()
    sc.attach_request()
    (air,) = sc.sent_s6a()
    features = diameter.avp(wire(air), "OC-Supported-Features")
    assert diameter.avp(features, "OC-Feature-Vector") == OLR_DEFAULT_ALGO


def test_air_without_doic_when_disabled() -> None:
    sc = scenario(doic=False)
    sc.attach_request()
    (air,) = sc.sent_s6a()
    assert diameter.avp(wire(air), "OC-Supported-Features") is None


def test_mme_throttles_after_an_olr_and_rejects_22_with_t3346() -> None:
    sc = scenario(t3346_s=40)
    sc.attach_request()
    (air,) = sc.sent_s6a()
    sc.feed(S6aAnswer(aia_with(air, sc, olr(1, 50))))
    assert sc.received()[0].name == "AuthenticationRequest"  # the answered attach goes on
    outcomes = []
    for n in range(4):
        next_ue(sc, n)
        sc.attach_request(imsi=f"44010000000001{n}")
        if sc.sent_s6a():
            outcomes.append("AIR")
            continue
        (reject,) = sc.received()
        assert reject.name == "AttachReject"
        assert reject.fields["emm_cause"] == CONGESTION
        assert 20 <= reject.fields["t3346_value"] <= 40
        outcomes.append("#22")
    assert outcomes == ["#22", "AIR", "#22", "AIR"]  # 50 %: every other attach
    assert "emm.attach.throttled" in sc.log_kinds()


def test_too_busy_answer_rejects_22_with_t3346() -> None:
    sc = scenario()
    sc.attach_request()
    (air,) = sc.sent_s6a()
    busy = diameter.error_answer(air, 3004, HSS_HOST, HSS_REALM)
    sc.feed(S6aAnswer(diameter.decode(busy)))
    (reject,) = sc.received()
    assert reject.name == "AttachReject"
    assert reject.fields["emm_cause"] == CONGESTION
    assert 30 <= reject.fields["t3346_value"] <= 60


def test_other_failures_keep_their_cause_without_t3346() -> None:
    sc = scenario()
    sc.attach_request()
    (air,) = sc.sent_s6a()
    sc.feed(S6aAnswer(wire(s6a.aia(air, HSS_HOST, HSS_REALM, experimental_result=5004))))
    (reject,) = sc.received()
    assert reject.fields["emm_cause"] == 11
    assert reject.fields.get("t3346_value") is None


def test_attach_reject_t3346_is_on_the_wire() -> None:
    raw = nas.attach_reject(CONGESTION, t3346=40)
    msg = nas.decode(raw)
    assert msg.fields["t3346_value"] == 40
