from __future__ import annotations

import pytest

from corenet.bus import topics
from corenet.bus.topics import Kind, Topic
from corenet.bus.validate import PayloadError, load, validate
from corenet.core.plmn import Plmn

A, B = Plmn.parse("44010"), Plmn.parse("44020")


def test_topic_tree_round_trip() -> None:
    assert topics.order(B, A) == "corenet/v1/44020/orders/44010"
    assert topics.parse(topics.order(B, A)) == Topic(Kind.ORDER, B, A)
    assert topics.parse(topics.ack(A, B)) == Topic(Kind.ACK, A, B)
    assert topics.parse(topics.status(A)) == Topic(Kind.STATUS, A)
    assert topics.parse("corenet/v1/disasters") == Topic(Kind.DISASTER)
    assert topics.RETAIN[Kind.STATUS] and not topics.RETAIN[Kind.ORDER]
    assert topics.QOS[Kind.ORDER] == topics.QOS[Kind.ACK] == 1


@pytest.mark.parametrize("bad", ["corenet/v2/44010/status", "corenet/v1/44010/x", "a/b"])
def test_unknown_topics(bad: str) -> None:
    with pytest.raises(ValueError):
        topics.parse(bad)
    assert topics.writer(bad) is None


def test_writer_is_the_named_sender() -> None:
    assert topics.writer(topics.order(B, A)) == "44010"
    assert topics.writer(topics.ack(A, B)) == "44020"
    assert topics.writer(topics.status(B)) == "44020"


def test_schemas_validate_each_kind() -> None:
    validate(Kind.STATUS, {"operator": "44010", "state": "outage", "updated_at": "x"})
    with pytest.raises(PayloadError) as exc:
        validate(Kind.STATUS, {"operator": "44010", "state": "sleeping", "updated_at": "x"})
    assert exc.value.field == "state"
    with pytest.raises(PayloadError) as exc:
        validate(Kind.EVENT, {"operator": "44010", "type": "error", "at": "x"})
    assert exc.value.field == "field"
    with pytest.raises(PayloadError) as exc:
        load(Kind.DISASTER, b'{"type": "dual-failure", "observed_at": "x", "failed_part": "core"}')
    assert exc.value.field in ("serious_accident", "roaming_improves", "long_recovery")
    with pytest.raises(PayloadError) as exc:
        load(Kind.ACK, b"not json")
    assert exc.value.field == "$"
