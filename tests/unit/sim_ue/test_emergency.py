"""Emergency-only roaming on the UE side, driven with network messages built by the codecs:
emergency attach (TS 24.301 §5.5.1.2.2), null algorithms only for emergency (§5.4.3.3),
limited service after a reject (§5.5.1.2.5), the display, and device restrictions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from corenet.codecs import nas
from corenet.codecs.nas_ies import Guti, Tai, emergency_number_list
from corenet.core.plmn import Plmn
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext
from sim_ue.devices import DeviceProfile, default_profile
from sim_ue.ue import (
    Attach,
    CellInfo,
    Detach,
    Dial,
    EmmState,
    EmmSubstate,
    NasReceived,
    ProcedureDone,
    SendNas,
    Ue,
)
from sim_ue.usim import Usim
from tests.unit.sim_ue.test_ue import CELL, IMSI, OPC, RESCUER, K, Network, _attach_accept

HOME_CELL = CellInfo(enb="enb1", cell_id=0x10101, tac=1, plmn=Plmn("440", "10"))
KDDI_2022 = DeviceProfile(name="kddi", os="android", os_version="13", vendor="Samsung",
                          model="A23", carrier="kddi", release_date=dt.date(2022, 9, 30),
                          emergency_only_roaming=False)
LEGACY = KDDI_2022.model_copy(update={"name": "legacy", "release_date": dt.date(2019, 6, 1),
                                      "emergency_calls_in_full_roaming": False})


def _ue(device: DeviceProfile | None = None) -> Ue:
    return Ue(Usim(IMSI, K, OPC, msisdn="819010000001"), eea=(2, 0), eia=(2,), device=device)


def _sent(actions: list[Any]) -> list[SendNas]:
    return [a for a in actions if isinstance(a, SendNas)]


def _done(actions: list[Any], procedure: str) -> ProcedureDone:
    (d,) = [a for a in actions if isinstance(a, ProcedureDone) and a.procedure == procedure]
    return d


def _limited(ue: Ue, cause: int = 15) -> None:
    """Normal attach on JPN-ROAM rejected: EMM-DEREGISTERED.LIMITED-SERVICE."""
    ue.handle(Attach(CELL), 0.0)
    ue.handle(NasReceived(nas.attach_reject(cause)), 0.0)
    assert ue.substate is EmmSubstate.LIMITED_SERVICE


def _null_smc(ksi: int = 0) -> tuple[bytes, NasSecurityContext]:
    ctx = NasSecurityContext.from_kasme(ksi, bytes(32), eia=0, eea=0)
    plain = nas.security_mode_command(eea=0, eia=0, ksi=ksi, imeisv_request=True,
                                      ue_sec_cap=nas.ue_security_capability((2, 0), (0, 2)))
    return nas.protect(plain, ctx, DOWNLINK, nas.SHT_INTEGRITY_NEW_CONTEXT), ctx


def _emergency_accept() -> bytes:
    esm = nas.activate_default_eps_bearer_context_request(
        ebi=5, pti=1, qci=5, apn="sos", ipv4="10.46.0.2")
    return nas.attach_accept(
        tai_list=[Tai(RESCUER, 1)], esm_container=esm, guti=Guti(RESCUER, 0x8001, 1, 7),
        emergency_numbers=emergency_number_list([("110", ["police"]), ("999", ["fire"])]))


def test_dial_in_limited_service_sends_emergency_attach() -> None:
    ue = _ue()
    _limited(ue, 11)
    assert RESCUER in ue.forbidden_plmns and ue.guti is None
    actions = ue.handle(Dial("119", CELL), 1.0)
    (send,) = _sent(actions)
    assert send.rrc_cause == "emergency"
    msg = nas.decode(send.pdu, None, UPLINK)
    assert msg.name == "AttachRequest"
    assert msg.fields["eps_attach_type"] == 6
    assert msg.fields["eps_mobile_identity"] == {"type": "imsi", "value": IMSI}
    esm = msg.fields["esm_message_container"]
    assert esm["name"] == "PDNConnectivityRequest"
    assert esm["fields"]["request_type"] == 4
    assert "access_point_name" not in esm["fields"]
    assert "esm_information_transfer_flag" not in esm["fields"]
    assert ue.state is EmmState.REGISTERED_INITIATED


def test_unauthenticated_emergency_attach_with_null_algorithms() -> None:
    ue = _ue()
    _limited(ue)
    ue.handle(Dial("119", CELL), 1.0)
    smc, ctx = _null_smc()
    (send,) = _sent(ue.handle(NasReceived(smc), 1.0))
    assert send.pdu[0] >> 4 == nas.SHT_INTEGRITY_CIPHERED_NEW_CONTEXT
    complete = nas.decode(send.pdu, ctx, UPLINK)
    assert complete.name == "SecurityModeComplete" and complete.fields["mac_valid"]
    assert complete.fields["mac"] == bytes(4)  # EIA0: 32 zero bits (TS 33.401 §5.1.4.2)
    actions = ue.handle(NasReceived(nas.protect(_emergency_accept(), ctx, DOWNLINK, 2)), 1.0)
    assert nas.decode(_sent(actions)[0].pdu, ctx, UPLINK).name == "AttachComplete"
    assert _done(actions, "attach").ok
    call = _done(actions, "call")
    assert call.ok and call.reason == "emergency bearer established"
    ue.handle(NasReceived(nas.protect(nas.emm_information(full_name="JPN-ROAM X"), ctx,
                                      DOWNLINK, 2)), 1.0)
    r = ue.result()
    assert r.attached and r.emergency and not r.authenticated
    assert r.display == "no service" and r.network_name == "JPN-ROAM X"
    assert r.pdn == "sos" and r.apn == "sos"
    assert [e["number"] for e in r.emergency_numbers] == ["110", "999"]
    assert ue.is_emergency_number("999") and ue.is_emergency_number("112")


def test_authenticated_emergency_attach() -> None:
    ue, net = _ue(), Network()
    _limited(ue, 13)
    assert Tai(RESCUER, 1) in ue.forbidden_tais_roaming
    ue.handle(Dial("110", CELL), 1.0)
    ue.handle(NasReceived(net.auth_request()), 1.0)
    complete = net.up(_sent(ue.handle(NasReceived(net.smc()), 1.0))[0].pdu)
    assert complete.name == "SecurityModeComplete"
    ue.handle(NasReceived(net.down(_emergency_accept())), 1.0)
    r = ue.result()
    assert r.emergency and r.authenticated and r.display == "no service" and r.pdn == "sos"


def test_null_integrity_rejected_outside_emergency() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    smc, _ = _null_smc()
    (send,) = _sent(ue.handle(NasReceived(smc), 0.0))
    msg = nas.decode(send.pdu, None, UPLINK)
    assert msg.name == "SecurityModeReject" and msg.fields["emm_cause"] == 24
    assert ue.ctx is None


def test_full_roaming_display_and_call_over_normal_registration() -> None:
    ue, net = _ue(), Network()
    ue.handle(Attach(CELL), 0.0)
    ue.handle(NasReceived(net.auth_request()), 0.0)
    ue.handle(NasReceived(net.smc()), 0.0)
    ue.handle(NasReceived(net.down(_attach_accept())), 0.0)
    assert ue.result().display == "44020"
    ue.handle(NasReceived(net.down(nas.emm_information(full_name="JPN-ROAM X"))), 0.0)
    r = ue.result()
    assert r.display == "JPN-ROAM X" and not r.emergency and r.authenticated
    actions = ue.handle(Dial("119", CELL), 1.0)
    assert _sent(actions) == []
    assert _done(actions, "call") == ProcedureDone("call", True, None,
                                                   "over the normal registration")
    # seed report: some devices cannot place emergency calls in full roaming
    legacy = _ue(LEGACY)
    legacy.state, legacy.cell, legacy.registered_plmn = EmmState.REGISTERED, CELL, RESCUER
    call = _done(legacy.handle(Dial("119", CELL), 1.0), "call")
    assert not call.ok
    assert call.reason == "device cannot place emergency calls in full roaming (released 2019-06)"


def test_device_without_emergency_only_roaming_reports_reason() -> None:
    ue = _ue(KDDI_2022)
    _limited(ue)
    actions = ue.handle(Dial("119", CELL), 1.0)
    assert _sent(actions) == []
    call = _done(actions, "call")
    assert not call.ok
    assert call.reason == "device does not support emergency-only roaming (released 2022-09)"
    assert ue.result().reason == call.reason and not ue.result().attached
    # the same device at home still attaches for emergency (not roaming)
    assert _sent(ue.handle(Dial("119", HOME_CELL), 2.0))


def test_prefixed_and_non_emergency_numbers() -> None:
    ue = _ue()
    _limited(ue)
    call = _done(ue.handle(Dial("184119", CELL), 1.0), "call")
    assert not call.ok and call.reason.startswith("184-prefixed emergency calls cannot connect")
    call = _done(ue.handle(Dial("#7119", CELL), 1.0), "call")
    assert not call.ok and "not an emergency number" in call.reason
    assert ue.state is EmmState.DEREGISTERED


def test_rejected_emergency_attach_fails_the_call() -> None:
    ue = _ue()
    _limited(ue)
    ue.handle(Dial("119", CELL), 1.0)
    actions = ue.handle(NasReceived(nas.attach_reject(9)), 1.0)
    assert not _done(actions, "attach").ok
    call = _done(actions, "call")
    assert not call.ok and call.reason == "emergency attach rejected #9"
    assert ue.result().display == "no service"


def test_device_without_usim_uses_imei() -> None:
    no_usim = default_profile().model_copy(update={"usim": False})
    ue = _ue(no_usim)
    assert ue.substate is EmmSubstate.NO_IMSI
    assert not _done(ue.handle(Attach(CELL), 0.0), "attach").ok
    (send,) = _sent(ue.handle(Dial("112", CELL), 0.0))
    ident = nas.decode(send.pdu, None, UPLINK).fields["eps_mobile_identity"]
    assert ident["type"] == "imei" and ident["value"] == ue.imeisv[:14] + "0"


def test_detach_forgets_emergency_registration() -> None:
    ue = _ue()
    _limited(ue)
    ue.handle(Dial("119", CELL), 1.0)
    smc, ctx = _null_smc()
    ue.handle(NasReceived(smc), 1.0)
    ue.handle(NasReceived(nas.protect(_emergency_accept(), ctx, DOWNLINK, 2)), 1.0)
    assert ue.guti is not None
    ue.handle(Detach(switch_off=True), 2.0)
    r = ue.result()
    assert not r.attached and not r.emergency and r.display == "no service"
    assert ue.guti is None and ue.ctx is None
    # a later normal attach starts afresh with the IMSI, unprotected
    pdu = _sent(ue.handle(Attach(HOME_CELL), 3.0))[0].pdu
    msg = nas.decode(pdu, None, UPLINK)
    assert msg.fields["eps_attach_type"] == 1
    assert msg.fields["eps_mobile_identity"]["type"] == "imsi"
