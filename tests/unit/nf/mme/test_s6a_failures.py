"""S6a errors and silence during the attach at the MME core (TS 29.272 §5.2, Annex A): the
EMM cause of each Result-Code, a ULR refused, a request without answer."""

from __future__ import annotations

import pytest

from corenet.codecs import diameter, nas, s6a
from corenet.nf.mme.causes import emm_cause_for_s6a
from corenet.nf.mme.events import S6aAnswer, S6aFailed

from .scenario import (
    Scenario,
    release_complete,
)


@pytest.mark.parametrize(("code", "cause"), [(5001, 8), (5004, 11), (5420, 15), (4181, 17)])
def test_s6a_error_gives_attach_reject_with_mapped_cause(code: int, cause: int) -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach_request()
    (air,) = sc.sent_s6a()
    sc.answer_air(air, experimental_result=code)
    (reject,) = sc.received()
    assert reject.name == "AttachReject"
    assert reject.fields["emm_cause"] == cause
    release_complete(sc)
    assert sc.core.ue_count() == 0 and sc.core.pending_count() == 0


def test_table_a1_mapping() -> None:
    assert emm_cause_for_s6a(5001, True) == 8
    assert emm_cause_for_s6a(5001, False) == 17  # base protocol 5001 is AVP unsupported
    assert emm_cause_for_s6a(None, False) == 17


def test_ulr_roaming_not_allowed_is_rejected_integrity_protected() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.security_mode()
    sc.uplink(sc.protect(nas.security_mode_complete("3534900000000101"), 4))
    (ulr,) = sc.sent_s6a()
    sc.answer_ulr(ulr, experimental_result=5004)
    (reject,) = sc.received()
    assert reject.name == "AttachReject" and reject.fields["emm_cause"] == 11
    assert reject.fields["security_header_type"] == 2 and reject.fields["mac_valid"]


def test_s6a_timeout_rejects_with_network_failure() -> None:
    sc = Scenario()
    sc.s1_setup()
    sc.attach_request()
    (air,) = sc.sent_s6a()
    sid = diameter.avp(air, "Session-Id")
    # one guard per request: the Diameter peer machine's, none in the core (RFC 6733 §5.5.4)
    assert not [k for k in sc.timers if k[0] == "S6a"]
    sc.feed(S6aFailed(sid, "request timeout"))
    (reject,) = sc.received()
    assert reject.fields["emm_cause"] == 17
    late = s6a.aia(air, "hss", "realm", vectors=[sc.vector()])
    sc.feed(S6aAnswer(late))  # a late answer changes nothing
    assert sc.sent_s1() == []
