"""An HSS that can be overloaded: AIR capacity (RFC 6733 §7.1.3 DIAMETER_TOO_BUSY) and DOIC
overload reports (RFC 7683), on the sans-I/O S6a core with a simulated clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import s6a
from corenet.codecs.base import Message
from corenet.nf.hss.overload import OLR_DEFAULT_ALGO, AirOverload
from corenet.nf.hss.s6a import S6aServer, SendAnswer
from corenet.nf.hss.store import HssStore
from corenet.nf.mme.overload import supported_features_avp
from tests.unit.codecs.test_diameter import _tshark
from tests.unit.nf.hss.helpers import HSS_HOST, HSS_REALM, air, subscriber, ulr, wire

TOO_BUSY = int(dia.ResultCode.DIAMETER_TOO_BUSY)


def hss(capacity: float | None, **kw: object) -> S6aServer:
    store = HssStore(":memory:")
    store.provision([subscriber()])
    return S6aServer(store, origin_host=HSS_HOST, origin_realm=HSS_REALM,
                     overload=AirOverload(capacity, **kw))  # type: ignore[arg-type]


def doic_air() -> Message:
    msg = air()
    msg.fields["avps"].append(supported_features_avp())
    return msg


def answer(server: S6aServer, req: Message, now: float) -> Message:
    answers = [a.message for a in server.handle(wire(req), now) if isinstance(a, SendAnswer)]
    assert len(answers) == 1
    return wire(answers[0])  # what the MME decodes


def code(msg: Message) -> int:
    res = s6a.result_of(msg)
    assert res is not None
    return res.code


def test_air_above_capacity_is_answered_too_busy() -> None:
    server = hss(3)
    codes = [code(answer(server, air(), 10.0 + i * 0.01)) for i in range(5)]
    assert codes == [2001, 2001, 2001, TOO_BUSY, TOO_BUSY]
    busy = answer(server, air(), 10.5)
    assert busy.fields["flags"]["error"] is True  # RFC 6733 §7.1.3: a protocol error
    assert dia.avp(busy, "Origin-Host") == HSS_HOST
    assert dia.avp(busy, "Authentication-Info") is None
    # a second later the window has moved on: served again
    assert code(answer(server, air(), 11.01)) == 2001


def test_capacity_counts_airs_only() -> None:
    server = hss(1)
    assert code(answer(server, air(), 1.0)) == 2001
    assert code(answer(server, ulr(), 1.1)) == 2001
    assert code(answer(server, air(), 1.2)) == TOO_BUSY


def test_no_capacity_never_too_busy() -> None:
    server = hss(None)
    assert {code(answer(server, air(), 1.0 + i * 0.001)) for i in range(50)} == {2001}


def test_rejected_air_does_not_advance_the_sqn() -> None:
    server = hss(1)
    answer(server, air(), 1.0)
    sqn = server.store.get("440100000000001").sqn  # type: ignore[union-attr]
    answer(server, air(), 1.1)
    assert server.store.get("440100000000001").sqn == sqn  # type: ignore[union-attr]


def test_doic_capability_answered_only_to_a_doic_mme() -> None:
    server = hss(100)
    plain = answer(server, air(), 1.0)
    assert dia.avp(plain, "OC-Supported-Features") is None
    doic = answer(server, doic_air(), 1.1)
    assert dia.avp(doic, "OC-Supported-Features", "OC-Feature-Vector") == OLR_DEFAULT_ALGO
    assert dia.avp(doic, "OC-OLR") is None  # not overloaded


def test_olr_emitted_with_the_reduction_percentage() -> None:
    server = hss(10, validity_s=7, first_sequence=500)
    # 40 AIRs offered in the first second against a capacity of 10
    for i in range(40):
        answer(server, air(), 1.0 + i * 0.025)
    first = answer(server, doic_air(), 2.0)
    olr = dia.avp(first, "OC-OLR")
    assert olr is not None
    assert dia.avp(olr, "OC-Sequence-Number") == 500
    assert dia.avp(olr, "OC-Report-Type") == 0  # HOST_REPORT
    assert dia.avp(olr, "OC-Validity-Duration") == 7
    # 40/s would be sent: 9.5/s (0.95 x 10) is 23.75 %, so 77 % must go
    assert dia.avp(olr, "OC-Reduction-Percentage") == 77
    # the capacity is used up for this second: the 3004 answer carries the report too
    busy = answer(server, doic_air(), 2.01)
    assert code(busy) == TOO_BUSY
    assert dia.avp(busy, "OC-OLR", "OC-Reduction-Percentage") == 77


def test_olr_reduction_follows_the_abated_load_and_then_ends() -> None:
    server = hss(10, first_sequence=1)
    for i in range(40):
        answer(server, air(), 1.0 + i * 0.025)
    r1 = dia.avp(answer(server, doic_air(), 2.0), "OC-OLR")
    # the MMEs now drop 77 %: about 9 AIRs/s reach the HSS, which is what was asked for
    for i in range(9):
        answer(server, air(), 2.05 + i * 0.1)
    r2 = dia.avp(answer(server, doic_air(), 3.0), "OC-OLR")
    assert dia.avp(r2, "OC-Sequence-Number") >= dia.avp(r1, "OC-Sequence-Number")
    assert 70 <= dia.avp(r2, "OC-Reduction-Percentage") <= 80
    # the storm is over: a quiet second ends the overload condition (RFC 7683 §7.5)
    end = dia.avp(answer(server, doic_air(), 5.0), "OC-OLR")
    assert dia.avp(end, "OC-Sequence-Number") > dia.avp(r2, "OC-Sequence-Number")
    assert dia.avp(end, "OC-Validity-Duration") == 0
    assert dia.avp(end, "OC-Reduction-Percentage") == 0


def test_doic_avps_dissected_by_their_names() -> None:
    """The AVPs are in the dictionary (RFC 7683 §7): decoded by name, M bit clear."""
    server = hss(1)
    answer(server, air(), 1.0)
    answer(server, air(), 1.1)
    raw = dia.encode(answer(server, doic_air(), 2.5))
    msg = dia.decode(raw)
    names = [a[0] for a in msg.fields["avps"]]
    assert "OC-Supported-Features" in names and "OC-OLR" in names
    assert all(len(a) == 2 for a in msg.fields["avps"])  # flags as the dictionary says


@pytest.mark.parametrize("capacity", [0, -5])
def test_capacity_must_be_positive(capacity: float) -> None:
    with pytest.raises(ValueError):
        AirOverload(capacity)


@pytest.mark.tshark
def test_tshark_dissects_doic_avps(tmp_path: Path) -> None:
    server = hss(1, validity_s=9)
    answer(server, air(), 1.0)
    answer(server, air(), 1.1)
    answer(server, doic_air(), 2.5)
    busy = answer(server, doic_air(), 2.6)
    rows = _tshark(tmp_path, [dia.encode(doic_air()), dia.encode(busy)], [
        "diameter.Result-Code", "diameter.OC-Feature-Vector", "diameter.OC-Sequence-Number",
        "diameter.OC-Report-Type", "diameter.OC-Reduction-Percentage",
        "diameter.OC-Validity-Duration", "_ws.malformed", "_ws.expert"])
    assert rows[0][1] == "1" and rows[0][2] == ""  # the AIR announces the loss algorithm
    assert rows[1][0] == str(TOO_BUSY)
    assert rows[1][1] == "1"
    assert rows[1][3] == "0" and rows[1][5] == "9"
    assert int(rows[1][4]) == dia.avp(busy, "OC-OLR", "OC-Reduction-Percentage") > 0
    assert all(r[6] == "" and r[7] == "" for r in rows), rows


def test_no_report_just_under_the_capacity() -> None:
    """A release schedule running the HSS at 98 % of its capacity is not overloaded."""
    server = hss(100)
    for second in range(3):
        for i in range(98):
            answer(server, air(), 1.0 + second + i / 100)
    assert dia.avp(answer(server, doic_air(), 4.0), "OC-OLR") is None
