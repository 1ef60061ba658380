"""HSS services running in this process, by realm: failure injection reaches them directly."""

from __future__ import annotations

from typing import Protocol


class FailureTarget(Protocol):
    def inject_failure(self, failure: str | None) -> None: ...


_by_realm: dict[str, FailureTarget] = {}


def register_hss(realm: str, hss: FailureTarget) -> None:
    _by_realm[realm] = hss


def unregister_hss(realm: str, hss: FailureTarget) -> None:
    if _by_realm.get(realm) is hss:
        del _by_realm[realm]


def hss_for(realm: str) -> FailureTarget | None:
    return _by_realm.get(realm)
