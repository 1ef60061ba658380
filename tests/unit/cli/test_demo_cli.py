"""`corenet demo --call`: a call not placed says why, with the rule behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from corenet.cli.demo_cmd import demo, explain_calls
from corenet.config.models import DialPlanConfig
from corenet.pcap.reader import read_packets
from tests import tshark
from tests.e2e import network


def _doc(mode: str, dialled: str, call_reason: str | None, attached: bool) -> dict[str, object]:
    return {"mode": mode, "ues": [{
        "attached": attached, "reason": None,
        "call": {"dialled": dialled, "outcome": "not_attempted", "sip_status": None,
                 "reason": call_reason, "psap": None, "callback": None}}]}


def test_non_emergency_number_in_emergency_only_mode() -> None:
    doc = _doc("emergency-auth", "03-1234-5678", "no normal service", False)
    explain_calls(doc, DialPlanConfig())
    [ue] = doc["ues"]  # type: ignore[misc]
    assert ue["call"]["reason"] == (
        "03-1234-5678 is not an emergency number: in emergency-auth roaming "
        "the UE has no normal service and only 110/118/119 start an emergency attach and call "
        "(TS 23.401 §4.3.12.1)")
    assert ue["reason"] == ue["call"]["reason"]


def test_prefixed_emergency_number_while_roaming() -> None:
    doc = _doc("full", "184110", "184-prefixed emergency calls cannot connect while roaming",
               True)
    explain_calls(doc, DialPlanConfig())
    [ue] = doc["ues"]  # type: ignore[misc]
    assert ue["call"]["reason"].startswith(
        "a 184 caller-ID prefix before the emergency number 110 does not connect while roaming")
    assert ue["reason"] is None  # attached: nothing to explain about the attach


def _run(tmp_path: Path, *args: str, pcap: str = "demo.pcapng") -> tuple[int, dict[str, object]]:
    cfg = tmp_path / "corenet.yaml"
    if not cfg.exists():
        cfg.write_text(yaml.safe_dump(network.config(tmp_path, enbs=1).model_dump(mode="json")),
                       encoding="utf-8")
    result = CliRunner().invoke(demo, ["--config", str(cfg), "--ues", "1", "--json",
                                       "--pcap", str(tmp_path / pcap), *args])
    return result.exit_code, json.loads(result.output)


@pytest.mark.tshark
def test_seed_with_call_reproduces_every_packet(tmp_path: Path) -> None:
    """What the README promises for `--seed` with `--call`: the same bytes in every packet,
    the SIP ones included: the Call-IDs, tags and Via branches (RFC 3261 §8.1.1.4, §8.1.1.7,
    §19.3) come from the seed, unique within the run; another seed gives other ones."""
    runs = []
    for name, seed in (("a.pcapng", "5"), ("b.pcapng", "5"), ("c.pcapng", "6")):
        code, _ = _run(tmp_path, "--call", "119", "--seed", seed, pcap=name)
        assert code == 0
        pcap = tmp_path / name
        call_ids = tshark.values(pcap, "sip.Call-ID", display_filter="sip.Method == \"INVITE\"")
        runs.append(([p.data for p in read_packets(pcap)], sorted(set(call_ids))))
    (packets_a, ids_a), (packets_b, ids_b), (_, ids_c) = runs
    # the same packets, byte for byte (a retransmission on a loaded machine only repeats one)
    assert len(packets_a) > 40 and set(packets_a) == set(packets_b)
    assert len(ids_a) == 2  # the emergency call and the call-back, distinct
    assert ids_a == ids_b and not set(ids_a) & set(ids_c)


def test_demo_hash_number_in_emergency_only_mode_is_explained(tmp_path: Path) -> None:
    code, doc = _run(tmp_path, "--mode", "emergency-unauth", "--call", "#7119")
    [ue] = doc["ues"]  # type: ignore[misc]
    assert (ue["attached"], ue["call"]["outcome"]) == (False, "not_attempted")
    assert "#7119 is not an emergency number" in ue["call"]["reason"]
    assert "only 110/118/119" in ue["reason"]
    assert code == 0  # explained: the UE did what the rescuer's policy allows


def test_demo_184_prefix_in_full_mode_is_explained(tmp_path: Path) -> None:
    code, doc = _run(tmp_path, "--call", "184119")
    [ue] = doc["ues"]  # type: ignore[misc]
    assert ue["attached"] and ue["call"]["outcome"] == "not_attempted"
    assert "184 caller-ID prefix before the emergency number 119" in ue["call"]["reason"]
    assert code == 0


@pytest.mark.tshark
@pytest.mark.parametrize("mode", ["full", "emergency-unauth"])
def test_demo_capture_attach_request_and_pco_in_tshark(tmp_path: Path, mode: str) -> None:
    """Issue-12 fields read by Wireshark's dissector off a demo capture (EEA0 so NAS reads
    plain): the Attach Request's EIA0 (TS 24.301 §9.9.3.34), Voice domain preference and UE's
    usage setting (§9.9.3.44), the PCO asking for the P-CSCF IPv4 address (TS 24.008
    §10.5.6.3, 000CH), and the network's answer in the default bearer's PCO."""
    code, _ = _run(tmp_path, "--mode", mode, "--eea", "0")
    assert code == 0
    pcap = tmp_path / "demo.pcapng"
    [attach] = tshark.fields(pcap, "nas_eps.emm.eia0", "gsm_a.gm.sm.pco_pid",
                             "gsm_a.gm.gmm.ue_usage_setting",
                             "gsm_a.gm.gmm.voice_domain_pref_for_eutran",
                             display_filter="nas_eps.nas_msg_emm_type == 0x41", opts=PLAIN_EEA0)
    assert attach == {"nas_eps.emm.eia0": ["1"], "gsm_a.gm.sm.pco_pid": ["0x000c"],
                      "gsm_a.gm.gmm.ue_usage_setting": ["0"],
                      "gsm_a.gm.gmm.voice_domain_pref_for_eutran": ["1"]}
    pcscf = config_pcscf(tmp_path)
    assert tshark.values(pcap, "gsm_a.gm.sm.pco.pcscf.ipv4",
                         display_filter="nas_eps.nas_msg_esm_type == 0xc1",
                         opts=PLAIN_EEA0) == [pcscf]
    assert tshark.count(pcap, "_ws.malformed") == 0


# EEA0 downlink NAS is "integrity protected and ciphered" with the null cipher: read as plain
PLAIN_EEA0 = ("-o", "nas-eps.null_decipher:TRUE")


def config_pcscf(tmp_path: Path) -> str:
    data = yaml.safe_load((tmp_path / "corenet.yaml").read_text(encoding="utf-8"))
    return str(data["sgw_pgw"]["pcscf"][0])


@pytest.mark.tshark
def test_demo_call_dialogs_read_in_tshark(tmp_path: Path) -> None:
    """RFC 3261 §12.1.1 read by Wireshark off a demo call and its call-back: every 2xx to an
    INVITE and every 180 carries Record-Route and Contact; the call-back INVITE is marked
    `Priority: psap-callback` (RFC 7090 §4) and its ACK and BYE follow the route set."""
    code, doc = _run(tmp_path, "--call", "119")
    assert code == 0
    [ue] = doc["ues"]  # type: ignore[misc]
    assert ue["call"]["callback"]["outcome"] == "answered"
    pcap = tmp_path / "demo.pcapng"
    answers = tshark.fields(pcap, "sip.Status-Code", "sip.Record-Route", "sip.Contact",
                            display_filter='sip.CSeq.method == "INVITE" && '
                                           "(sip.Status-Code == 200 || sip.Status-Code == 180)")
    assert {a["sip.Status-Code"][0] for a in answers} == {"180", "200"}
    for a in answers:
        assert a["sip.Record-Route"] and a["sip.Contact"], a
    invites = tshark.fields(pcap, "ip.src", "ip.dst", "sip.Call-ID",
                            display_filter='sip.Method == "INVITE" && '
                                           'sip.Priority == "psap-callback"')
    assert len(invites) == 3  # PSAP -> home S-CSCF -> P-CSCF -> UE, each hop marked
    psap, ue_address = invites[0]["ip.src"], invites[-1]["ip.dst"]
    call_id = invites[0]["sip.Call-ID"][0]
    for method in ("ACK", "BYE"):
        hops = tshark.fields(pcap, "ip.src", "ip.dst", "sip.Route",
                             display_filter=f'sip.Call-ID == "{call_id}" && '
                                            f'sip.Method == "{method}"')
        # the route set of the UE's 200, not straight from the PSAP to the UE
        assert [(h["ip.src"], h["ip.dst"]) for h in hops] == [
            (i["ip.src"], i["ip.dst"]) for i in invites]
        assert hops[0]["ip.src"] == psap and hops[-1]["ip.dst"] == ue_address
        assert len(hops[0]["sip.Route"]) == 2
    assert tshark.count(pcap, "_ws.malformed") == 0


@pytest.mark.tshark
def test_demo_unauthenticated_caller_identity_read_in_tshark(tmp_path: Path) -> None:
    """TS 24.229 §5.1.6.8.2 and RFC 3325 §9.1 read off a demo capture: the UE's unregistered
    emergency INVITE has no MSISDN in Contact and the IMEI as +sip.instance; what reaches the
    PSAP asserts nothing and gives the IMSI, unverified, in Japan-Roaming-Caller."""
    code, doc = _run(tmp_path, "--mode", "emergency-unauth", "--call", "119")
    assert code == 0
    [ue] = doc["ues"]  # type: ignore[misc]
    psap_view = ue["call"]["psap"]
    assert (psap_view["identity"], psap_view["identity_type"], psap_view["verified"]) == (
        ue["imsi"], "imsi", False)
    pcap = tmp_path / "demo.pcapng"
    hops = tshark.fields(pcap, "sip.Contact", "sip.P-Asserted-Identity", "sip.msg_hdr",
                         display_filter='sip.Method == "INVITE" && !sip.Priority')
    assert len(hops) == 3  # UE -> P-CSCF -> E-CSCF -> PSAP
    for hop in hops:
        [contact] = hop["sip.Contact"]
        assert ue["msisdn"] not in contact and ';+sip.instance="<urn:gsma:imei:' in contact
        assert hop["sip.P-Asserted-Identity"] == []
        assert "verstat" not in hop["sip.msg_hdr"][0]
    assert f"Japan-Roaming-Caller: mode=emergency-unauth;imsi={ue['imsi']}" in \
        hops[-1]["sip.msg_hdr"][0]
    assert "Japan-Roaming-Caller" not in hops[0]["sip.msg_hdr"][0]
    assert tshark.count(pcap, "_ws.malformed") == 0


@pytest.mark.tshark
@pytest.mark.parametrize("mode, sos_status, registered", [
    ("full", "200", True), ("emergency-auth", "480", False)])
def test_demo_emergency_registration_read_in_tshark(tmp_path: Path, mode: str,
                                                     sos_status: str, registered: bool) -> None:
    """TS 24.229 §5.1.6.1-§5.1.6.2 off a demo capture: the UE's emergency REGISTER (Contact
    with "sos") before its INVITE; in full roaming it succeeds and the call goes over it, in
    emergency-auth it fails and the INVITE goes unregistered (§5.1.6.8.2)."""
    code, doc = _run(tmp_path, "--mode", mode, "--call", "110")
    assert code == 0
    [ue] = doc["ues"]  # type: ignore[misc]
    assert ue["call"]["outcome"] == "answered"
    pcap = tmp_path / "demo.pcapng"
    rows = tshark.fields(pcap, "ip.src", "sip.Method", "sip.Status-Code", "sip.Call-ID",
                         "sip.Contact", "sip.From", display_filter="sip")
    # the UE's emergency REGISTER: from its emergency PDN address (the `sos` pool), opened
    # after the attach in full roaming (TS 23.167 §6.2), its only one in emergency-auth
    sos_registers = [r for r in rows if r["sip.Method"] == ["REGISTER"]
                     and r["sip.Contact"][0].endswith(";sos>")
                     and r["ip.src"][0].startswith("127.147.")]
    sos_register = sos_registers[0]
    ua = sos_register["ip.src"][0]
    sent = [r for r in rows if r["ip.src"] == [ua] and r["sip.Method"]]
    if mode == "full":  # the emergency PDN connection's default bearer (TS 36.413 §8.2.1)
        # ims, sos; the call's QCI 1 voice bearer besides
        assert tshark.count(pcap, "s1ap.E_RABSetupRequest_element && !(s1ap.qCI == 1)") == 2
    answers = [r for r in rows if r["sip.Call-ID"] == sos_register["sip.Call-ID"]
               and r["sip.Status-Code"]]
    assert answers and answers[-1]["sip.Status-Code"] == [sos_status]
    if mode == "full":  # TS 24.229 §5.1.6.2: challenged with IMS AKA like any registration
        assert ["401"] in [a["sip.Status-Code"] for a in answers]
        assert len(sos_registers) == 2
    [invite] = [r for r in sent if r["sip.Method"] == ["INVITE"]]
    assert sent.index(sos_register) < sent.index(invite)
    assert invite["sip.Contact"][0].endswith(";sos>") is registered
    assert ("anonymous.invalid" in invite["sip.From"][0]) is not registered


def test_etws_table_says_what_each_device_did(tmp_path: Path) -> None:
    """`corenet demo --etws evacuation` on docomo's network (cbc.rescuer default): the docomo
    device sounds its operator's own identifier; a KDDI 4G device presents neither docomo's
    own identifier nor the standard one (seed report, ETWS while roaming)."""
    cfg = tmp_path / "corenet.yaml"
    cfg.write_text(yaml.safe_dump(network.config(tmp_path, enbs=1).model_dump(mode="json")),
                   encoding="utf-8")
    devices = Path(__file__).resolve().parents[3] / "configs" / "devices"
    result = CliRunner().invoke(demo, [
        "--config", str(cfg), "--ues", "2", "--pcap", str(tmp_path / "demo.pcapng"),
        "--etws", "evacuation", "--device", str(devices / "android-kddi-2024-4g.yaml"),
        "--device", str(devices / "android-docomo-2026.yaml")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    kddi, docomo = (next(x for x in lines if x.startswith(imsi))
                    for imsi in ("440100000000001", "440100000000002"))
    assert kddi.rstrip().endswith("received, not shown (device sold by kddi does not present "
                                  "docomo's own evacuation identifier)")
    assert docomo.rstrip().endswith("sounded")
    assert "warning evacuation: 2/2 received, 1 displayed, 1 sounded" in lines


@pytest.mark.tshark
def test_demo_call_shows_gx_and_rx_in_tshark(tmp_path: Path) -> None:
    """The P-GW's Gx session (CCR/CCA, TS 29.212 §4.5.1), the P-CSCF's binding and media over Rx
    (AAR/AAA, TS 29.214 §4.4.1) and the PCC rule it causes (Gx RAR/RAA, TS 29.212 §4.5.2)."""
    code, _ = _run(tmp_path, "--call", "119")
    assert code == 0
    pcap = tmp_path / "demo.pcapng"
    rows = tshark.fields(pcap, "diameter.cmd.code", "diameter.applicationId",
                         "diameter.flags.request", display_filter="diameter")
    seen = {(r["diameter.cmd.code"][0], r["diameter.applicationId"][0],
             r["diameter.flags.request"][0]) for r in rows}
    gx, rx = "16777238", "16777236"
    for command, app in (("272", gx), ("265", rx), ("258", gx)):
        assert {(command, app, "1"), (command, app, "0")} <= seen, (command, app, seen)
    qci = tshark.values(pcap, "diameter.QoS-Class-Identifier",
                        "diameter.cmd.code == 258 && diameter.flags.request == 1")
    assert "1" in qci
    assert tshark.count(pcap, "_ws.malformed || (diameter && _ws.expert)") == 0
def test_demo_full_registration_is_challenged_over_cx_in_tshark(tmp_path: Path) -> None:
    """`corenet demo --mode full --call 119 --pcap P`: the normal REGISTER offers sec-agree and
    gets a 401 IMS AKA challenge (TS 24.229 §5.1.1.2, §5.4.1.2.1; RFC 3329), the S-CSCF having
    fetched the vector over Cx (UAR, MAR) and assigned itself after the answer (SAR); the
    Diameter and SIP of it dissect cleanly."""
    code, doc = _run(tmp_path, "--mode", "full", "--call", "119")
    assert code == 0
    [ue] = doc["ues"]  # type: ignore[misc]
    assert ue["call"]["outcome"] == "answered"
    pcap = tmp_path / "demo.pcapng"
    regs = tshark.fields(pcap, "ip.src", "sip.Method", "sip.Status-Code", "sip.Contact",
                         "sip.Security-Client", "sip.Security-Verify", "sip.Security-Server",
                         "sip.WWW-Authenticate", "sip.Authorization",
                         display_filter='sip.CSeq.method == "REGISTER"')
    normal = [r for r in regs if r["ip.src"][0].startswith("127.146.")]  # the ims PDN
    first, second = normal
    assert first["sip.Security-Client"][0].startswith("ipsec-3gpp; alg=hmac-sha-1-96;")
    # the 401 as the P-CSCF relays it to the UE (the S-CSCF's own carries no Security-Server)
    challenge = next(r for r in regs if r["sip.Status-Code"] == ["401"]
                     and r["sip.Security-Server"])
    www = challenge["sip.WWW-Authenticate"][0]
    assert "algorithm=AKAv1-MD5" in www and "ck=" not in www and "ik=" not in www
    assert second["sip.Security-Verify"] == challenge["sip.Security-Server"]
    assert 'response="' in second["sip.Authorization"][0]
    cx = tshark.fields(pcap, "diameter.cmd.code", "diameter.flags.request",
                       "diameter.User-Name", "diameter.3GPP-SIP-Authentication-Scheme",
                       "diameter.Server-Assignment-Type",
                       display_filter="diameter.applicationId == 16777216")
    codes = [(r["diameter.cmd.code"][0], r["diameter.flags.request"][0]) for r in cx]
    for command in ("300", "303", "301"):  # UAR/UAA, MAR/MAA, SAR/SAA
        assert (command, "1") in codes and (command, "0") in codes
    mar = next(r for r in cx if r["diameter.cmd.code"] == ["303"]
               and r["diameter.flags.request"] == ["1"])
    assert mar["diameter.User-Name"] == [f"{ue['imsi']}@ims.mnc010.mcc440.3gppnetwork.org"]
    assert mar["diameter.3GPP-SIP-Authentication-Scheme"] == ["Digest-AKAv1-MD5"]
    assert {r["diameter.Server-Assignment-Type"][0] for r in cx
            if r["diameter.cmd.code"] == ["301"] and r["diameter.flags.request"] == ["1"]} == {"1"}
    assert tshark.count(pcap, "(sip || diameter) && (_ws.malformed || "
                              "_ws.expert.severity >= warning)") == 0
