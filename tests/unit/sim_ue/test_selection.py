"""PLMN selection rules (TS 23.122 §4.4.3.1) and the ways home."""

from __future__ import annotations

import random

from corenet.core.plmn import Plmn
from sim_ue.enb import Cell
from sim_ue.selection import (
    ReturnHome,
    SelectionProfile,
    available_plmns,
    camp,
    plmn_by_name,
    return_home_plan,
    select_automatic,
    select_manual,
)

HOME, RESCUER, OTHER, THIRD = (Plmn("440", m) for m in ("10", "20", "30", "50"))
PROFILE = SelectionProfile(hplmn=HOME, names={RESCUER: "JPN-ROAM X"})
CELLS = [Cell("enb1", 0x10101, 1, (RESCUER,)), Cell("enb2", 0x10201, 2, (OTHER, RESCUER))]


def test_available_in_first_seen_order() -> None:
    assert available_plmns(CELLS) == [RESCUER, OTHER]


def test_automatic_prefers_hplmn_then_user_then_operator_lists() -> None:
    assert select_automatic([RESCUER, HOME], PROFILE) == HOME
    user = SelectionProfile(hplmn=HOME, user_plmns=(OTHER,), operator_plmns=(RESCUER,))
    assert select_automatic([RESCUER, OTHER], user) == OTHER
    operator = SelectionProfile(hplmn=HOME, operator_plmns=(RESCUER,))
    assert select_automatic([OTHER, RESCUER], operator) == RESCUER


def test_automatic_skips_forbidden_and_picks_others_at_random() -> None:
    prof = SelectionProfile(hplmn=HOME, forbidden=(RESCUER,))
    assert select_automatic([RESCUER], prof) is None
    assert select_automatic([RESCUER, OTHER], prof) == OTHER
    picks = {select_automatic([RESCUER, OTHER, THIRD], PROFILE, random.Random(s))
             for s in range(40)}
    assert picks == {RESCUER, OTHER, THIRD}


def test_manual_picks_the_named_network_even_if_forbidden() -> None:
    chosen = plmn_by_name([OTHER, RESCUER], PROFILE, "JPN-ROAM X")
    assert chosen == RESCUER
    assert select_manual([OTHER, RESCUER], RESCUER) == RESCUER
    assert select_manual([OTHER], RESCUER) is None
    assert plmn_by_name([OTHER], PROFILE, "JPN-ROAM X") is None


def test_camp_spreads_over_matching_cells_with_selected_plmn() -> None:
    a, b = camp(CELLS, RESCUER, 0), camp(CELLS, RESCUER, 1)
    assert a is not None and b is not None
    assert (a.enb, a.cell_id, a.tac, a.plmn) == ("enb1", 0x10101, 1, RESCUER)
    assert (b.enb, b.tac) == ("enb2", 2)
    assert camp(CELLS, HOME) is None


def test_return_home() -> None:
    # home back on air: automatic and manual selection both go home
    assert return_home_plan(ReturnHome.AUTOMATIC, [RESCUER, HOME], PROFILE, RESCUER) == (
        False, HOME)
    assert return_home_plan(ReturnHome.MANUAL_HOME, [RESCUER, HOME], PROFILE, RESCUER) == (
        False, HOME)
    # home still down: automatic keeps the rescuer, manual home finds nothing
    assert return_home_plan(ReturnHome.AUTOMATIC, [RESCUER], PROFILE, RESCUER) == (
        False, RESCUER)
    assert return_home_plan(ReturnHome.MANUAL_HOME, [RESCUER], PROFILE, RESCUER) == (
        False, None)
    # airplane mode: switch-off detach first, then automatic selection
    assert return_home_plan(ReturnHome.AIRPLANE_MODE, [RESCUER, HOME], PROFILE, RESCUER) == (
        True, HOME)


async def test_automatic_selection_follows_device_auto_connect() -> None:
    from corenet.config.models import EnbConfig, Endpoint
    from sim_ue.devices import default_profile
    from sim_ue.runner import Population
    from tests.unit.sim_ue.core_s1 import CoreS1Server
    from tests.unit.sim_ue.test_runner import _subs

    mme = CoreS1Server(_subs(2))
    host, port = await mme.start()
    manual_only = default_profile().model_copy(update={"auto_connect_roaming": False})
    enbs = [EnbConfig(name="enb1", global_enb_id=0x101, tac=1, address="127.0.1.1",
                      mme=Endpoint(host=host, port=port))]
    try:
        async with Population(_subs(2), enbs, selection="automatic", sctp_mode="fallback",
                              timeout=10.0, info_wait=0.5,
                              devices=[default_profile(), manual_only]) as pop:
            auto, manual = await pop.attach()
    finally:
        mme.close()
    assert auto.attached and auto.plmn == "44020" and auto.display == "JPN-ROAM X"
    assert not manual.attached and manual.display == "no service"
    assert manual.reason == "automatic selection does not connect to JPN-ROAM"
