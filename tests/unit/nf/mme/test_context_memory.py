"""What an attached UE costs the MME (TS 23.401 §5.7.2 MME context): records without a
per-instance dict, and the values every UE of one area or S-GW has in common held once."""

from __future__ import annotations

from corenet.nf.mme.context import location, shared_address
from tests.unit.nf.mme.scenario import attached_scenario


def test_an_attached_ue_s_records_have_no_instance_dict() -> None:
    sc = attached_scenario()
    ue = sc.core.ues[sc.mme_ue_id or 0]
    pdn = ue.session.pdn
    assert pdn is not None and ue.security.sec is not None and ue.plan is not None
    for record in (ue, ue.security, ue.session, ue.nas_timer, pdn, pdn.bearer,
                   ue.security.vector, ue.security.sec, ue.security.sec.ul_count, ue.plan):
        assert not hasattr(record, "__dict__"), type(record).__name__


def test_two_ues_in_one_cell_share_their_tai_ecgi_and_s_gw_address() -> None:
    first = attached_scenario()
    second = attached_scenario()
    a = first.core.ues[first.mme_ue_id or 0]
    b = second.core.ues[second.mme_ue_id or 0]
    assert a.tai == b.tai and a.tai is b.tai and a.ecgi is b.ecgi
    pa, pb = a.session.pdn, b.session.pdn
    assert pa is not None and pb is not None
    assert pa.sgw_s11_ip == "127.0.0.4" and pa.sgw_s11_ip is pb.sgw_s11_ip
    assert pa.bearer.sgw_s1u_ip is pb.bearer.sgw_s1u_ip
    assert pa.bearer.enb_s1u_ip == "127.0.1.1" and pa.bearer.enb_s1u_ip is pb.bearer.enb_s1u_ip
    assert pa.pgw_s5_fteid == (0x6000, "127.0.0.5")


def test_shared_values_are_the_values() -> None:
    assert location("44020", 7) == (location("44020", 7)[0], 7)
    assert str(location("440-10", 1)[0]) == "44010"
    assert shared_address(None) is None
    assert shared_address("".join(["10.0.0", ".1"])) is shared_address("10.0.0.1")
