"""The emergency procedure of a population over loopback sockets against the real MME, HSS
and S/P-GW cores (`core_s1`) in each mode: manual selection of JPN-ROAM, normal attach where the device tries one, then the
emergency attach on dialling; device restrictions; return home."""

from __future__ import annotations

from pathlib import Path

from corenet.config.models import EnbConfig, Endpoint
from sim_ue.devices import DeviceProfile, load_devices
from sim_ue.runner import Population
from tests.unit.sim_ue.core_s1 import CoreS1Server
from tests.unit.sim_ue.test_runner import _subs

DEVICES = {p.name: p for p in load_devices([Path(__file__).resolve().parents[3]
                                            / "configs" / "devices"])}
MIX = [DEVICES[n] for n in ("iphone-2026", "android-docomo-2026", "android-kddi-2022")]


def _enbs(host: str, port: int, plmns: list[str] | None = None) -> list[EnbConfig]:
    return [EnbConfig(name="enb1", global_enb_id=0x101, tac=1, address="127.0.1.1",
                      broadcast_plmns=plmns or ["44020"], mme=Endpoint(host=host, port=port))]


async def _run(mode: str, devices: list[DeviceProfile], n: int = 3
               ) -> tuple[list, CoreS1Server]:
    mme = CoreS1Server(_subs(n), mode=mode)
    host, port = await mme.start()
    try:
        async with Population(_subs(n), _enbs(host, port), sctp_mode="fallback",
                              timeout=10.0, info_wait=0.5, devices=devices) as pop:
            results = await pop.emergency("119")
    finally:
        mme.close()
    return results, mme


async def test_emergency_unauthenticated() -> None:
    results, mme = await _run("emergency-unauth", MIX)
    iphone, docomo, kddi = results
    for r in (iphone, docomo):
        assert r.attached and r.emergency and not r.authenticated
        assert r.display == "no service" and r.pdn == "sos" and r.reason == ""
        assert r.guti is not None and r.plmn == "44020"
    assert (iphone.device, docomo.device) == ("iphone-2026", "android-docomo-2026")
    # the normal attach in an emergency-only mode: #15 (module table of corenet.nf.mme.policy)
    assert not kddi.attached and not kddi.emergency and kddi.cause == 15
    assert kddi.reason == "device does not support emergency-only roaming (released 2022-09)"
    # the iPhone goes straight to the emergency attach; the docomo device tries normal first
    kinds = [(r["eps_mobile_identity"]["value"], r["eps_attach_type"])
             for r in mme.attach_requests]
    assert kinds.count(("440100000000001", 1)) == 0
    assert ("440100000000002", 1) in kinds and ("440100000000002", 6) in kinds
    assert ("440100000000003", 6) not in kinds
    assert mme.smc_algorithms == [(0, 0), (0, 0)]
    assert "AuthenticationResponse" not in mme.seen


async def test_emergency_authenticated() -> None:
    results, mme = await _run("emergency-auth", MIX[:2], n=2)
    assert all(r.attached and r.emergency and r.authenticated for r in results)
    assert all(r.display == "no service" and r.pdn == "sos" for r in results)
    assert mme.smc_algorithms == [(2, 2), (2, 2)]


async def test_full_roaming_call_uses_normal_registration() -> None:
    legacy = DEVICES["legacy-2019"]
    results, mme = await _run("full", [DEVICES["android-docomo-2026"], legacy], n=2)
    docomo, old = results
    assert docomo.attached and not docomo.emergency and docomo.display == "JPN-ROAM X"
    assert docomo.pdn == "internet" and docomo.reason == ""
    assert old.attached and old.display == "JPN-ROAM X"
    assert old.reason == ("device cannot place emergency calls in full roaming "
                          "(released 2019-06)")
    assert all(r["eps_attach_type"] == 1 for r in mme.attach_requests)


async def test_emergency_attach_after_a_reject_waits_for_the_release() -> None:
    """The user dials right after a normal attach was rejected, while the MME's UE CONTEXT
    RELEASE COMMAND is still on its way: the emergency attach goes on a new connection
    once the old one is released, and is not lost with it."""
    mme = CoreS1Server(_subs(1), mode="emergency-unauth")
    mme.release_delay_s = 0.3
    host, port = await mme.start()
    try:
        async with Population(_subs(1), _enbs(host, port), sctp_mode="fallback", timeout=10.0,
                              info_wait=0.5, devices=DEVICES["iphone-2026"]) as pop:
            (normal,) = await pop.attach()
            assert not normal.attached and normal.cause == 15
            (r,) = await pop.emergency("119")
    finally:
        mme.close()
    assert r.attached and r.emergency and r.reason == ""
    assert [a["eps_attach_type"] for a in mme.attach_requests] == [1, 6]
    assert "UE context release in progress (TS 36.413 §8.3.3)" not in [
        e.data.get("reason") for e in mme.net.logs if e.kind == "nas.discarded"]


async def test_emergency_attached_ue_returns_home() -> None:
    mme = CoreS1Server(_subs(1), mode="emergency-unauth")
    host, port = await mme.start()
    try:
        async with Population(_subs(1), _enbs(host, port), sctp_mode="fallback", timeout=10.0,
                              info_wait=0.5, devices=DEVICES["iphone-2026"]) as pop:
            (r,) = await pop.emergency("110")
            assert r.emergency and r.attached
            (r,) = await pop.return_home("manual-home")
            assert not r.attached and not r.emergency
            assert r.reason == "home network not available"
            assert "DetachRequest" in mme.seen
    finally:
        mme.close()
    # home back on air, sharing the eNB: the UE leaves JPN-ROAM and registers at home
    mme = CoreS1Server(_subs(1), mode="emergency-unauth")
    mme.add_home_network(_subs(1))
    host, port = await mme.start()
    try:
        async with Population(_subs(1), _enbs(host, port, ["44020", "44010"]),
                              plmn="44020", sctp_mode="fallback", timeout=10.0,
                              info_wait=0.5, devices=DEVICES["iphone-2026"]) as pop:
            (r,) = await pop.emergency("119")
            assert r.emergency and r.plmn == "44020"
            (r,) = await pop.return_home("airplane-mode")
            assert r.attached and not r.emergency and r.plmn == "44010"
            assert r.authenticated and r.pdn == "internet"
    finally:
        mme.close()
