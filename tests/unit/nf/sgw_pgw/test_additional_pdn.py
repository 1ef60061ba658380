"""A second PDN connection of an attached UE (TS 23.401 §5.10.2; TS 29.274 §7.2.1): the
Create Session Request on the S-GW's S11 TEID of the UE, for the emergency APN `sos` beside
`internet`, and its deletion by linked EBI (§7.2.9.1)."""

from __future__ import annotations

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message
from corenet.nf.sgw_pgw.core import SgwPgwCore
from tests.unit.nf.sgw_pgw.helpers import cause_of, create_session, delete_session
from tests.unit.nf.sgw_pgw.test_core import ask, make_core


def _first(core: SgwPgwCore) -> Message:
    return ask(core, create_session(seq=1, apn="internet", pdn_type=g.PDN_IPV4))


def test_second_pdn_on_the_ue_s11_teid_keeps_the_first() -> None:
    core = make_core()
    first = _first(core)
    teid = first.fields["sender_fteid_c"]["teid"]
    second = ask(core, create_session(seq=2, apn="sos", pdn_type=g.PDN_IPV4, ebi=6,
                                      sgw_teid=teid))
    assert cause_of(second) == g.CAUSE_REQUEST_ACCEPTED
    assert second.fields["paa"]["ipv4"] == "127.147.0.1"
    [bc] = second.fields["bearer_contexts_created"]
    assert bc["ebi"] == 6
    assert len(core.sessions) == 2
    internet = core.session_by_ue_address(first.fields["paa"]["ipv4"])
    sos = core.session_by_ue_address("127.147.0.1")
    assert internet is not None and internet.apn == "internet" and internet.default_ebi == 5
    assert sos is not None and sos.apn == "sos" and sos.default_ebi == 6
    # deleting the second (linked EBI 6) leaves the first
    gone = ask(core, delete_session(3, sos.s11_sgw_teid, ebi=6))
    assert cause_of(gone) == g.CAUSE_REQUEST_ACCEPTED
    assert core.session_by_ue_address("127.147.0.1") is None
    assert core.session_by_ue_address(first.fields["paa"]["ipv4"]) is internet


def test_header_teid_of_no_connection_is_context_not_found() -> None:
    core = make_core()
    resp = ask(core, create_session(seq=2, ebi=6, sgw_teid=0x7777))
    assert cause_of(resp) == g.CAUSE_CONTEXT_NOT_FOUND and not core.sessions


def test_header_teid_of_another_ue_is_context_not_found() -> None:
    """A TEID naming another subscriber's connection gives no access to it."""
    core = make_core()
    teid = _first(core).fields["sender_fteid_c"]["teid"]
    resp = ask(core, create_session(seq=2, ebi=6, sgw_teid=teid, imsi="440100000000999"))
    assert cause_of(resp) == g.CAUSE_CONTEXT_NOT_FOUND and len(core.sessions) == 1
