"""ControlApi as a sans-I/O core: operations as plain dicts, validated, with their actions."""

from __future__ import annotations

from corenet.config.models import MmeConfig
from corenet.control.api import HssControl, SetHssFailure
from corenet.core.actions import LogEvent
from corenet.core.plmn import Plmn
from corenet.nf.mme.control import ControlApi
from corenet.nf.mme.policy import Mode, RoamingPolicy

HOME = Plmn("440", "10")


def _api() -> ControlApi:
    return ControlApi(RoamingPolicy.from_config(MmeConfig()))


def test_list_shows_default_full_for_44010() -> None:
    res = _api().handle({"op": "policy.list"}, 0.0)
    assert res.response == {"ok": True, "policies": [{
        "home_plmn": "44010", "tacs": None, "mode": "full", "try_aka_first": False,
        "allow_imei_only": False, "fallback_unauth_when_hss_down": False,
        "on_home_core_failed": "emergency-auth"}]}


def test_set_for_tacs_then_get_in_force_per_tac() -> None:
    api = _api()
    res = api.handle({"op": "policy.set", "home_plmn": "440-10", "mode": "emergency-unauth",
                      "tacs": [2], "try_aka_first": True}, 5.0)
    assert res.response["ok"] and res.response["policy"]["tacs"] == [2]
    (event,) = res.actions
    assert isinstance(event, LogEvent) and event.kind == "policy.changed"
    assert event.data["mode"] == "emergency-unauth" and event.data["old_mode"] is None
    in_2 = api.handle({"op": "policy.get", "home_plmn": "44010", "tac": 2}, 6.0).response
    assert in_2["policy"]["mode"] == "emergency-unauth" and in_2["policy"]["try_aka_first"]
    in_1 = api.handle({"op": "policy.get", "home_plmn": "44010", "tac": 1}, 6.0).response
    assert in_1["policy"]["mode"] == "full"


def test_set_replaces_and_keeps_unnamed_options() -> None:
    api = _api()
    api.handle({"op": "policy.set", "home_plmn": "44010", "mode": "emergency-auth",
                "fallback_unauth_when_hss_down": True}, 0.0)
    res = api.handle({"op": "policy.set", "home_plmn": "44010", "mode": "emergency-auth"}, 1.0)
    assert res.response["policy"]["fallback_unauth_when_hss_down"] is True
    assert res.actions[0].data["old_mode"] == "emergency-auth"  # type: ignore[union-attr]
    assert len(api.policy.policies()) == 1


def test_bad_requests_answer_one_line_errors() -> None:
    api = _api()
    for req, where in (({"op": "policy.set", "home_plmn": "44010", "mode": "half"}, "mode"),
                       ({"op": "policy.set", "home_plmn": "4x010", "mode": "full"}, "home_plmn"),
                       ({"op": "nope"}, "request"),
                       ({"op": "fail", "failure": "meteor"}, "failure"),
                       ({"op": "status", "extra": 1}, "extra")):
        res = api.handle(req, 0.0)
        assert res.response["ok"] is False and res.actions == []
        assert "\n" not in res.response["error"]
        assert where in res.response["error"] or where == "request", res.response


def test_fail_hss_unreachable_asks_the_hss_and_restore_undoes_it() -> None:
    api = _api()
    res = api.handle({"op": "fail", "failure": "hss-unreachable", "how": "close"}, 0.0)
    assert SetHssFailure(HOME.realm, "close") in res.actions
    assert res.response["failures"] == {"44010": {"hss-unreachable": "close"}}
    res = api.handle({"op": "restore"}, 1.0)
    assert SetHssFailure(HOME.realm, None) in res.actions
    assert res.response["failures"] == {}
    assert any(isinstance(a, LogEvent) and a.kind == "control.failure.restored"
               for a in res.actions)


def test_home_core_failed_switches_the_rule_in_force() -> None:
    api = _api()
    api.handle({"op": "fail", "failure": "home-core-failed", "home_plmn": "44010"}, 0.0)
    rule = api.policy.effective(HOME, 1)
    assert rule is not None and rule.mode is Mode.EMERGENCY_AUTH
    got = api.handle({"op": "policy.get", "home_plmn": "44010", "tac": 1}, 0.0).response
    assert got["policy"]["mode"] == "emergency-auth"
    api.handle({"op": "restore", "home_plmn": "44010"}, 1.0)
    rule = api.policy.effective(HOME, 1)
    assert rule is not None and rule.mode is Mode.FULL


def test_status_includes_what_the_mme_observes() -> None:
    api = ControlApi(RoamingPolicy.from_config(MmeConfig()),
                     lambda: {"hss_unreachable": {HOME.realm: "watchdog SUSPECT"}})
    res = api.handle({"op": "status"}, 0.0).response
    assert res["ok"] and res["hss_unreachable"] == {HOME.realm: "watchdog SUSPECT"}
    assert res["policies"][0]["home_plmn"] == "44010"


class _Target:
    def __init__(self) -> None:
        self.calls: list[str | None] = []

    def inject_failure(self, failure: str | None) -> None:
        self.calls.append(failure)


def test_hss_control_serves_only_its_own_failure() -> None:
    target = _Target()
    hc = HssControl(HOME.realm, target)
    assert hc.handle({"op": "fail", "failure": "hss-unreachable"}, 0.0).response["failure"] == "drop"
    assert hc.handle({"op": "restore"}, 0.0).response["failure"] is None
    assert target.calls == ["drop", None]
    res = hc.handle({"op": "policy.list"}, 0.0).response
    assert res["ok"] is False and "not served by an HSS" in res["error"]
