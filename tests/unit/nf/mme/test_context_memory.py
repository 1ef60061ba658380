"""What an attached UE costs the MME (TS 23.401 §5.7.2 MME context): records without a
per-instance dict, and the values every UE of one area or S-GW has in common held once."""

from __future__ import annotations

import copy

import pytest

from corenet.codecs import s6a
from corenet.nf.mme.context import NO_ENTRIES, Bearer, location, shared_address
from tests.unit.nf.mme.scenario import MSISDN, attached_scenario


def test_an_attached_ue_s_records_have_no_instance_dict() -> None:
    sc = attached_scenario()
    ue = sc.core.ues[sc.mme_ue_id or 0]
    pdn = ue.session.pdn
    assert pdn is not None and ue.security.sec is not None and ue.plan is not None
    for record in (ue, ue.security, ue.session, ue.nas_timer, pdn, pdn.bearer,
                   ue.security.sec, ue.security.sec.ul_count, ue.plan):
        assert not hasattr(record, "__dict__"), type(record).__name__
    # RAND, XRES and AUTN are gone once security mode control completed; KASME stays
    assert ue.security.vector is None and ue.security.sec.kasme == sc.kasme


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


def test_two_ues_of_one_profile_share_it_and_keep_their_own_msisdn() -> None:
    first = attached_scenario()
    second = attached_scenario()
    a = first.core.ues[first.mme_ue_id or 0]
    b = second.core.ues[second.mme_ue_id or 0]
    assert a.msisdn == b.msisdn == MSISDN
    sub = a.session.subscription
    assert sub is b.session.subscription and sub.msisdn is None
    (apn,) = sub.apn_configurations
    assert apn.service_selection == "internet" and sub.default_context_identifier == 1
    assert sub.ambr == s6a.Ambr(50_000_000, 100_000_000)


def test_an_attached_ue_holds_no_request_nor_maps_of_its_own_until_it_needs_them() -> None:
    sc = attached_scenario()
    ue = sc.core.ues[sc.mme_ue_id or 0]
    pdn = ue.session.pdn
    assert pdn is not None
    # the attach's PDN CONNECTIVITY REQUEST is answered; no dedicated bearer, no other PDN
    for empty in (ue.session.pdn_request, ue.session.additional_pdns, pdn.dedicated):
        assert empty is NO_ENTRIES and empty == {}
    assert pdn.bearers() == [pdn.bearer]
    assert pdn.dedicated.pop(6, None) is None
    with pytest.raises(TypeError):
        pdn.dedicated[6] = pdn.bearer
    pdn.add_dedicated(Bearer(ebi=6, linked_ebi=5))
    assert sorted(pdn.dedicated) == [6] and NO_ENTRIES == {}
    # a copy of a context still starts from the one shared empty map
    assert copy.deepcopy(ue.session).additional_pdns is NO_ENTRIES
