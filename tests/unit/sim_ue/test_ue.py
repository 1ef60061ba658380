"""The UE's EMM/ESM machine driven by network messages built with the NAS codec (TS 24.301)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from pycrate_mobile.TS24301_IE import UENetCap

from corenet.codecs import nas, pco, voice_domain
from corenet.codecs.base import Message
from corenet.codecs.nas_ies import Guti, Tai, emergency_number_list
from corenet.core.actions import StartTimer, StopTimer, TimerExpired
from corenet.core.plmn import Plmn
from corenet.crypto import kdf
from corenet.crypto.milenage import Milenage, generate_vector, int_to_sqn
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext
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
    _attach_complete,
    _pdn_connectivity_request,
    _pdn_from,
)
from sim_ue.usim import Usim

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
RAND = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
IMSI = "440100000000001"
RESCUER = Plmn("440", "20")
CELL = CellInfo(enb="enb1", cell_id=0x10101, tac=1, plmn=RESCUER)
GUTI = Guti(RESCUER, 0x8001, 1, 0xC0FFEE01)


def _ue() -> Ue:
    return Ue(Usim(IMSI, K, OPC, msisdn="819010000001"), eea=(2, 0), eia=(2,))


def _sent(actions: list[Any]) -> list[bytes]:
    return [a.pdu for a in actions if isinstance(a, SendNas)]


def _one(actions: list[Any]) -> bytes:
    pdus = _sent(actions)
    assert len(pdus) == 1, actions
    return pdus[0]


class Network:
    """The MME side of the exchange, built from the codecs."""

    def __init__(self) -> None:
        self.m = Milenage(K, OPC)
        self.ctx: NasSecurityContext | None = None
        self.kasme = b""
        self.xres = b""

    def auth_request(self, sqn: int = 1 << 5) -> bytes:
        av = generate_vector(self.m, RAND, int_to_sqn(sqn), b"\x80\x00")
        self.xres = av.xres
        self.kasme = kdf.kasme(av.ck, av.ik, RESCUER.to_bytes(), av.sqn_xor_ak)
        return nas.authentication_request(ksi=1, rand=RAND, autn=av.autn)

    def smc(self, imeisv: bool = True, caps: bytes | None = None) -> bytes:
        self.ctx = NasSecurityContext.from_kasme(1, self.kasme, eia=2, eea=2)
        caps = caps if caps is not None else nas.ue_security_capability(eea=(2, 0), eia=(0, 2))
        plain = nas.security_mode_command(eea=2, eia=2, ksi=1, ue_sec_cap=caps,
                                          imeisv_request=imeisv)
        return nas.protect(plain, self.ctx, DOWNLINK, nas.SHT_INTEGRITY_NEW_CONTEXT)

    def down(self, plain: bytes) -> bytes:
        assert self.ctx is not None
        return nas.protect(plain, self.ctx, DOWNLINK, nas.SHT_INTEGRITY_CIPHERED)

    def up(self, pdu: bytes) -> Message:
        msg = nas.decode(pdu, self.ctx, UPLINK)
        assert msg.fields.get("mac_valid") is True, msg
        return msg


def _attach_accept(pco: bytes | None = None) -> bytes:
    esm = nas.activate_default_eps_bearer_context_request(
        ebi=5, pti=1, qci=9, apn="internet", ipv4="10.45.0.2",
        ipv6_interface_identifier=bytes.fromhex("0000000000000002"),
        apn_ambr={"downlink": 300, "uplink": 300}, pco=pco)
    return nas.attach_accept(
        tai_list=[Tai(RESCUER, 1), Tai(RESCUER, 2)], esm_container=esm, guti=GUTI,
        emergency_numbers=emergency_number_list(
            [("110", ["police"]), ("118", ["marine_guard"]), ("119", ["fire", "ambulance"])]))


def _register(ue: Ue, net: Network) -> None:
    ue.handle(Attach(CELL), 0.0)
    ue.handle(NasReceived(net.auth_request()), 0.0)
    ue.handle(NasReceived(net.smc()), 0.0)
    ue.handle(NasReceived(net.down(_attach_accept())), 0.0)


def test_attach_request_contents() -> None:
    actions = _ue().handle(Attach(CELL), 0.0)
    msg = nas.decode(_one(actions), None, UPLINK)
    assert msg.name == "AttachRequest"
    f = msg.fields
    assert f["eps_attach_type"] == 1
    assert f["eps_mobile_identity"] == {"type": "imsi", "value": IMSI}
    assert f["nas_key_set_identifier"] == 7
    # TS 24.301 §9.9.3.34: EIA0 besides the configured EIA2 (TS 33.401 §5.1.4.2)
    caps = UENetCap()
    caps.from_bytes(f["ue_network_capability"])
    names = ("EEA0", "EEA1_128", "EEA2_128", "EIA0", "EIA1_128", "EIA2_128")
    assert [n for n in names if caps[n].get_val()] == ["EEA0", "EEA2_128", "EIA0", "EIA2_128"]
    # §9.9.3.44 / TS 24.008 §10.5.5.28: voice centric, IMS PS voice only
    assert voice_domain.from_wire(f["voice_domain_preference_and_ues_usage_setting"]) == (
        "voice-centric", "ims-ps-voice-only")
    esm = f["esm_message_container"]
    assert esm["name"] == "PDNConnectivityRequest"
    assert esm["fields"]["request_type"] == 1
    assert esm["fields"]["pdn_type"] == 3
    # TS 24.008 §10.5.6.3: P-CSCF IPv4 Address Request, container 000CH, empty
    assert pco.containers(esm["fields"][nas.PCO]) == [(0x000C, b"")]
    assert StartTimer("T3410", IMSI, 15.0) in actions


def test_emergency_attach_request_contents() -> None:
    """TS 24.301 §5.5.1.2.2: the emergency attach carries the same capabilities (EIA0 for the
    null integrity of an unauthenticated UE) and asks for the P-CSCF."""
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    ue.handle(NasReceived(nas.attach_reject(15)), 0.0)
    msg = nas.decode(_one(ue.handle(Dial("119", CELL), 1.0)), None, UPLINK)
    f = msg.fields
    assert f["eps_attach_type"] == 6
    caps = UENetCap()
    caps.from_bytes(f["ue_network_capability"])
    assert caps["EIA0"].get_val() == 1
    assert f["voice_domain_preference_and_ues_usage_setting"] == b"\x01"
    esm = f["esm_message_container"]["fields"]
    assert esm["request_type"] == 4 and pco.containers(esm[nas.PCO]) == [(0x000C, b"")]


def test_pcscf_address_from_the_default_bearer_pco() -> None:
    """TS 24.229 §9.2.1 b: the P-CSCF the network names in the PCO (network to MS)."""
    ue, net = _ue(), Network()
    ue.handle(Attach(CELL), 0.0)
    ue.handle(NasReceived(net.auth_request()), 0.0)
    ue.handle(NasReceived(net.smc()), 0.0)
    answer = b"\x80" + bytes([0x00, 0x0C, 4, 127, 0, 0, 6]) + bytes([0x00, 0x0D, 4, 8, 8, 8, 8])
    ue.handle(NasReceived(net.down(_attach_accept(pco=answer))), 0.0)
    assert ue.pdn is not None and ue.pdn.pcscf == ("127.0.0.6",)


def test_identity_request_is_answered_with_imsi() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    msg = nas.decode(_one(ue.handle(NasReceived(nas.identity_request(1)), 0.0)), None, UPLINK)
    assert msg.name == "IdentityResponse"
    assert msg.fields["mobile_identity"] == {"type": "imsi", "value": IMSI}


def test_full_attach_security_and_default_bearer() -> None:
    ue, net = _ue(), Network()
    ue.handle(Attach(CELL), 0.0)
    res = nas.decode(_one(ue.handle(NasReceived(net.auth_request()), 0.0)), None, UPLINK)
    assert res.name == "AuthenticationResponse"
    assert res.fields["authentication_response_parameter"] == net.xres

    smc_answer = _one(ue.handle(NasReceived(net.smc()), 0.0))
    assert smc_answer[0] >> 4 == nas.SHT_INTEGRITY_CIPHERED_NEW_CONTEXT
    complete = net.up(smc_answer)
    assert complete.name == "SecurityModeComplete"
    assert complete.fields["imeisv"]["type"] == "imeisv"

    actions = ue.handle(NasReceived(net.down(_attach_accept())), 0.0)
    ac = net.up(_one(actions))
    assert ac.name == "AttachComplete"
    assert ac.fields["esm_message_container"]["name"] == "ActivateDefaultEPSBearerContextAccept"
    assert ac.fields["esm_message_container"]["fields"]["eps_bearer_identity"] == 5
    assert StopTimer("T3410", IMSI) in actions
    assert ProcedureDone("attach", True) in actions
    assert ue.state is EmmState.REGISTERED and ue.substate is EmmSubstate.NORMAL_SERVICE
    r = ue.result()
    assert r.attached and r.guti == "44020-8001-01-c0ffee01"
    assert r.ipv4 == "10.45.0.2" and r.ipv6 == "fe80::2"
    assert r.apn == "internet"
    assert r.apn_ambr == {"uplink_kbps": 296, "downlink_kbps": 296}
    assert [e["number"] for e in r.emergency_numbers] == ["110", "118", "119"]
    assert r.plmn == "44020"

    ue.handle(NasReceived(net.down(nas.emm_information(full_name="JPN-ROAM X",
                                                       short_name="JPN-ROAM"))), 0.0)
    assert ue.result().network_name == "JPN-ROAM X"
    assert ue.result().network_short_name == "JPN-ROAM"


def test_kasme_uses_serving_plmn_of_cell() -> None:
    """TS 33.401 A.2: a KASME bound to another PLMN fails the SMC integrity check."""
    ue, net = _ue(), Network()
    ue.handle(Attach(CellInfo("enb1", 1, 1, Plmn("440", "30"))), 0.0)
    ue.handle(NasReceived(net.auth_request()), 0.0)
    assert _sent(ue.handle(NasReceived(net.smc()), 0.0)) == []
    assert ue.ctx is None


def test_smc_with_wrong_replayed_capabilities_is_rejected() -> None:
    ue, net = _ue(), Network()
    ue.handle(Attach(CELL), 0.0)
    ue.handle(NasReceived(net.auth_request()), 0.0)
    wrong = nas.ue_security_capability(eea=(0, 1, 2), eia=(1, 2))
    msg = nas.decode(_one(ue.handle(NasReceived(net.smc(caps=wrong)), 0.0)), None, UPLINK)
    assert msg.name == "SecurityModeReject" and msg.fields["emm_cause"] == 23


def test_mac_failure_answer() -> None:
    ue, net = _ue(), Network()
    ue.handle(Attach(CELL), 0.0)
    req = bytearray(net.auth_request())
    req[-1] ^= 0x01  # last octet of AUTN (MAC)
    msg = nas.decode(_one(ue.handle(NasReceived(bytes(req)), 0.0)), None, UPLINK)
    assert msg.name == "AuthenticationFailure" and msg.fields["emm_cause"] == 20


def test_synch_failure_answer_carries_auts() -> None:
    ue, net = _ue(), Network()
    ue.handle(Attach(CELL), 0.0)
    req = net.auth_request(sqn=3 << 5)
    ue.handle(NasReceived(req), 0.0)
    # §5.4.2.3: once T3416 has deleted the stored RAND, a replay reaches the USIM again
    ue.handle(TimerExpired("T3416", IMSI), 30.0)
    msg = nas.decode(_one(ue.handle(NasReceived(req), 30.0)), None, UPLINK)
    assert msg.name == "AuthenticationFailure" and msg.fields["emm_cause"] == 21
    assert len(msg.fields["authentication_failure_parameter"]) == 14


def test_attach_reject_records_cause_and_limited_service() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    actions = ue.handle(NasReceived(nas.attach_reject(11)), 0.0)
    assert ProcedureDone("attach", False, 11, "attach reject") in actions
    assert ue.state is EmmState.DEREGISTERED and ue.substate is EmmSubstate.LIMITED_SERVICE
    assert ue.result().cause == 11 and not ue.result().attached
    assert RESCUER in ue.forbidden_plmns


def test_authentication_reject_deregisters() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    ue.handle(NasReceived(nas.authentication_reject()), 0.0)
    assert ue.state is EmmState.DEREGISTERED and ue.substate is EmmSubstate.NO_IMSI
    assert ue.result().outcome == "authentication-rejected"


def test_detach_with_and_without_switch_off() -> None:
    ue, net = _ue(), Network()
    _register(ue, net)
    actions = ue.handle(Detach(switch_off=False), 0.0)
    req = net.up(_one(actions))
    assert req.name == "DetachRequest"
    assert (req.fields["detach_type"], req.fields["switch_off"]) == (1, 0)
    assert req.fields["eps_mobile_identity"] == {"type": "guti", "value": GUTI}
    assert StartTimer("T3421", IMSI, 15.0) in actions
    # T3421 expiry retransmits (§5.5.2.2.4 c)
    again = ue.handle(TimerExpired("T3421", IMSI), 15.0)
    assert net.up(_one(again)).name == "DetachRequest"
    ue.handle(NasReceived(net.down(nas.detach_accept())), 16.0)
    assert ue.state is EmmState.DEREGISTERED and ue.result().outcome == "detached"

    ue2, net2 = _ue(), Network()
    _register(ue2, net2)
    actions = ue2.handle(Detach(switch_off=True), 0.0)
    req = net2.up(_one(actions))
    assert req.fields["switch_off"] == 1
    assert ue2.state is EmmState.DEREGISTERED
    assert not any(isinstance(a, StartTimer) for a in actions)


def test_reattach_uses_guti_integrity_protected() -> None:
    ue, net = _ue(), Network()
    _register(ue, net)
    ue.handle(Detach(switch_off=True), 0.0)
    pdu = _one(ue.handle(Attach(CELL), 1.0))
    assert pdu[0] >> 4 == nas.SHT_INTEGRITY
    msg = net.up(pdu)
    assert msg.fields["eps_mobile_identity"] == {"type": "guti", "value": GUTI}
    assert msg.fields["nas_key_set_identifier"] == 1


def test_t3410_expiry_releases_and_retries() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    actions = ue.handle(TimerExpired("T3410", IMSI), 15.0)
    assert StartTimer("T3411", IMSI, 10.0) in actions
    retry = ue.handle(TimerExpired("T3411", IMSI), 25.0)
    assert nas.decode(_one(retry), None, UPLINK).name == "AttachRequest"
    for _ in range(4):
        last = ue.handle(TimerExpired("T3410", IMSI), 0.0)
        ue.handle(TimerExpired("T3411", IMSI), 0.0)
    assert any(isinstance(a, ProcedureDone) and not a.ok for a in last)
    assert ue.substate is EmmSubstate.ATTEMPTING_TO_ATTACH


def test_plain_message_after_security_is_discarded() -> None:
    ue, net = _ue(), Network()
    _register(ue, net)
    assert _sent(ue.handle(NasReceived(nas.emm_information(full_name="FAKE")), 0.0)) == []
    assert ue.network_name is None


def test_garbage_never_raises() -> None:
    ue = _ue()
    ue.handle(Attach(CELL), 0.0)
    for junk in (b"", b"\x07", b"\x07\x42\x01", b"\x27\x00\x00\x00\x00\x00\x07\x42", b"\xff" * 9):
        ue.handle(NasReceived(junk), 0.0)
    assert ue.state is EmmState.REGISTERED_INITIATED


@pytest.mark.parametrize("iid", [bytes(range(8)), bytes(8), b"\x00\x00\x00\x01\x00\x00\x00\x00",
                                 b"\x00\x01\x00\x00\x00\x00\x00\x01", b"\xff" * 8,
                                 b"\x00\x00\x00\x00\x00\x00\x00\x01"])
def test_link_local_address_from_the_interface_identifier(iid: bytes) -> None:
    """TS 23.401 §5.3.1.2.2: the IPv6 interface identifier of the PDN address forms the
    link-local address fe80::/64, written as RFC 5952 text (the text of ipaddress)."""
    pdn = _pdn_from({"pdn_address": {"pdn_type": 3, "ipv4": "10.45.0.1",
                                     "ipv6_interface_identifier": iid}})
    assert pdn.ipv6 == str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + iid))
    assert pdn.ipv4 == "10.45.0.1"


def test_attach_complete_built_once_per_default_bearer_identity() -> None:
    """TS 24.301 §8.2.2 / §8.3.6: Attach Complete carries Activate Default EPS Bearer Context
    Accept with the default bearer's EBI and nothing else: one encoding per EBI."""
    data = _attach_complete(6)
    assert _attach_complete(6) is data
    msg = nas.decode(data, direction=UPLINK)
    container = msg.fields[nas.ESM_CONTAINER]
    assert msg.name == "AttachComplete"
    assert container["name"] == "ActivateDefaultEPSBearerContextAccept"
    assert container["fields"][nas.EBI] == 6


def test_pdn_connectivity_request_of_an_attach_built_once_per_pti_and_type() -> None:
    """TS 24.301 §6.5.1.2, §8.3.20: two UEs attaching with the same PTI, request type and
    PDN type send the same PDN CONNECTIVITY REQUEST, encoded once: the builder's octets with
    the PCO asking for the P-CSCF IPv4 address (TS 24.229 §9.2.1 b)."""
    first, second = _ue(), Ue(Usim("440100000000002", K, OPC), eea=(2, 0), eia=(2,))
    containers = []
    for ue in (first, second):
        msg = nas.decode(_one(ue.handle(Attach(CELL), 0.0)), None, UPLINK)
        containers.append(msg.fields[nas.ESM_CONTAINER])
    assert containers[0] == containers[1]
    data = _pdn_connectivity_request(1, 1, 3, False)
    assert _pdn_connectivity_request(1, 1, 3, False) is data
    assert data == nas.pdn_connectivity_request(pti=1, request_type=1, pdn_type=3,
                                                pco=pco.request(pco.PCSCF_IPV4))
    esm = nas.decode(data, direction=UPLINK)
    assert esm.fields[nas.PTI] == 1 and esm.fields["request_type"] == 1
    assert pco.containers(esm.fields[nas.PCO]) == [(0x000C, b"")]
    assert _pdn_connectivity_request(2, 4, 3, False) != data  # another PTI and an emergency


def test_forbidden_lists_made_on_the_first_reject_that_fills_one() -> None:
    """TS 23.122 §3.1: the forbidden PLMN and TA lists start empty; a UE that was never
    rejected holds none of them (a storm holds one UE per subscriber)."""
    ue = _ue()
    assert ue._forbidden is None
    assert ue.forbidden_plmns == [] and ue.forbidden_tais_roaming == []
    ue.forbidden_plmns.append(RESCUER)
    assert ue.forbidden_plmns == [RESCUER] and ue.forbidden_tais_regional == []
