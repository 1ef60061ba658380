"""NetworkConfigurator against a real MME service (its control API in process) and real eNB
emulators, without sockets; and the `name.set` control operation."""

from __future__ import annotations

import datetime as dt

import pytest

from corenet.activation.configurator import NetworkConfigurator, policy_mode
from corenet.activation.flow import Mode
from corenet.activation.request import ActivationRequest, Area, Contact
from corenet.config.models import EnbConfig, MmeConfig
from corenet.core.errors import ConfigError
from corenet.core.plmn import Plmn
from corenet.nf.mme.control import ControlApi, SetNetworkName
from corenet.nf.mme.policy import RoamingPolicy
from corenet.nf.mme.service import MmeService
from sim_ue.enb import EnbService

HOME = Plmn.parse("44010")
RESCUER = Plmn.parse("44020")
START = dt.datetime(2026, 3, 1, 14, 46, tzinfo=dt.UTC)


def _request(mode: Mode = Mode.FULL, tacs: tuple[int, ...] = (4101, 4102)) -> ActivationRequest:
    return ActivationRequest(ActivationRequest.new_id(), HOME, (RESCUER,), mode,
                             Area(("04",), tacs), START, (Contact("NOC", "+81 3 0000 0000"),),
                             "drill")


def _mme() -> MmeService:
    cfg = MmeConfig(tacs=[4101, 4102, 4103],
                    roaming={"policies": [{"home_plmn": "44010", "mode": "off"}]})
    return MmeService(cfg)


def _enb(name: str, tac: int, plmns: list[str]) -> EnbService:
    return EnbService(EnbConfig(name=name, global_enb_id=tac, tac=tac, broadcast_plmns=plmns))


def _mode_at(mme: MmeService, tac: int) -> str | None:
    answer = mme.control_request({"op": "policy.get", "home_plmn": "44010", "tac": tac})
    policy = answer["policy"]
    return None if policy is None else str(policy["mode"])


def _broadcast(enb: EnbService) -> list[str]:
    return [str(p) for p in enb.core.cells[0].plmns]


def test_full_request_sets_policy_broadcast_and_name_then_terminate_undoes_it() -> None:
    mme = _mme()
    in_area = _enb("enb-a", 4101, ["44030"])
    already = _enb("enb-b", 4102, ["44020"])
    outside = _enb("enb-c", 4103, ["44030"])
    conf = NetworkConfigurator(mme, [in_area, already, outside], network_name="JPN-ROAM D")
    req = _request()
    assert [_mode_at(mme, t) for t in (4101, 4102, 4103)] == ["off", "off", "off"]
    lines = conf.apply(req)
    assert [_mode_at(mme, t) for t in (4101, 4102, 4103)] == ["full", "full", "off"]
    assert _broadcast(in_area) == ["44030", "44020"]
    assert _broadcast(already) == ["44020"] and _broadcast(outside) == ["44030"]
    assert mme.cfg.roaming.network_name.full == "JPN-ROAM D"
    assert mme.core.cfg.roaming.network_name.short == "JPN-ROAM D"
    assert lines[0] == "mme: roaming policy for 44010 in TACs [4101, 4102]: full"
    assert any("enb-a" in x and "44020 in SIB1" in x for x in lines)
    assert any("enb-b" in x and "already" in x for x in lines)
    assert not any("enb-c" in x for x in lines)
    assert any("JPN-ROAM D" in x for x in lines)
    # SIB1 re-encoded: the per-PLMN barring follows the new list (index 2 = 44020)
    in_area.set_barring(RESCUER, 0.5, 32)
    assert in_area.core.sib2

    undo = conf.terminate(req)
    assert [_mode_at(mme, t) for t in (4101, 4102, 4103)] == ["off", "off", "off"]
    assert _broadcast(in_area) == ["44030"] and _broadcast(already) == ["44020"]
    assert mme.cfg.roaming.network_name.full == "JPN-ROAM X"
    assert undo[0] == "mme: roaming policy for 44010 in TACs [4101, 4102]: off"
    assert any("restored" in x for x in undo)


@pytest.mark.parametrize(("emergency", "expected"), [
    ("emergency-auth", "emergency-auth"), ("emergency-unauth", "emergency-unauth")])
def test_emergency_only_request_follows_the_rescuers_choice(emergency: str,
                                                            expected: str) -> None:
    mme = _mme()
    conf = NetworkConfigurator(mme, [], emergency_mode=emergency)  # type: ignore[arg-type]
    conf.apply(_request(Mode.EMERGENCY_ONLY, (4103,)))
    assert _mode_at(mme, 4103) == expected and _mode_at(mme, 4101) == "off"
    assert policy_mode(Mode.FULL, "emergency-unauth") == "full"


def test_roaming_plmn_defaults_to_the_mmes_and_runtime_without_mme_is_refused() -> None:
    mme = _mme()
    assert NetworkConfigurator(mme, []).roaming_plmn == RESCUER
    assert NetworkConfigurator(mme, []).network_name == "JPN-ROAM X"

    class NoMme:
        services: dict[str, object] = {}

    with pytest.raises(ConfigError):
        NetworkConfigurator(NoMme(), [])


def test_a_refused_control_operation_raises() -> None:
    class Refusing:
        cfg = MmeConfig()

        def control_request(self, request: dict[str, object]) -> dict[str, object]:
            return {"ok": False, "error": "mode: bad"}

    with pytest.raises(ConfigError, match="policy.set: mode: bad"):
        NetworkConfigurator(Refusing(), []).apply(_request())


def test_name_set_operation() -> None:
    api = ControlApi(RoamingPolicy.from_config(MmeConfig()))
    res = api.handle({"op": "name.set", "full": "JPN-ROAM A"}, 5.0)
    assert res.response == {"ok": True, "network_name": {"full": "JPN-ROAM A",
                                                          "short": "JPN-ROAM A"}}
    assert res.actions[0] == SetNetworkName("JPN-ROAM A", "JPN-ROAM A")
    res = api.handle({"op": "name.set", "full": "JPN-ROAM A", "short": "JROAM"}, 5.0)
    assert res.actions[0] == SetNetworkName("JPN-ROAM A", "JROAM")
    for bad in ({"op": "name.set"}, {"op": "name.set", "full": ""},
                {"op": "name.set", "full": "x" * 65}, {"op": "name.set", "full": "a", "x": 1}):
        res = api.handle(bad, 5.0)
        assert res.response["ok"] is False and res.actions == []


def test_mme_applies_name_set_and_reports_it_in_status() -> None:
    mme = _mme()
    answer = mme.control_request({"op": "name.set", "full": "JPN-ROAM B", "short": "JR B"})
    assert answer["ok"] and answer["old_network_name"] == {"full": "JPN-ROAM X",
                                                          "short": "JPN-ROAM X"}
    status = mme.control_request({"op": "status"})
    assert status["network_name"] == {"full": "JPN-ROAM B", "short": "JR B"}
    assert mme.core.cfg.roaming.network_name.short == "JR B"
