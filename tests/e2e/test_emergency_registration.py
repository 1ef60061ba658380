"""Emergency registration over real sockets (TS 24.229 §5.1.6, TS 23.167 §6.2, §7.1):
- full roaming: the normal and the emergency REGISTER are both challenged with IMS AKA, the
  S-CSCF fetching the vector over Cx (UAR, MAR, SAR), sec-agree negotiated through the P-CSCF;
- emergency-auth with the home IMS cut off from its HSS: the UE attempts the emergency
  registration, the home S-CSCF answers 480 (TS 24.229 §5.3.1.3), and only then the UE sends
  its unregistered emergency INVITE (§5.1.6.8.2), which reaches the PSAP with the MSISDN the
  network verified."""

from __future__ import annotations

from pathlib import Path

from corenet.codecs import cx
from corenet.codecs import diameter as dia
from tests import tshark
from tests.e2e.network import config, network, subscribers


async def test_emergency_auth_attempts_registration_then_calls_unregistered(
        tmp_path: Path) -> None:
    cfg = config(tmp_path, enbs=1,
                 roaming={"policies": [{"home_plmn": "44010", "mode": "emergency-auth"}]})
    subs = subscribers(1)
    async with network(cfg, subs) as net:
        ims = net.runtime.services["ims"]
        ims.inject_cx_failure(True)  # the affected operator's IMS has lost its HSS
        async with net.population(subs, call_hold=0.1) as pop:
            (row,) = await pop.call("119")
        records = net.runtime.services["psap"].calls()
        events = [e for e in ims.events if e.kind == "scscf.register.refused"]
    assert (row["outcome"], row["sip_status"]) == ("answered", 200)
    assert row["registered"] is False and row["emergency_registration"] == 480
    (event,) = events
    assert event.data["status"] == 480 and "UAR not answered" in event.data["detail"]
    (rec,) = records
    assert (rec.identity, rec.identity_type, rec.verified) == (subs[0].msisdn, "msisdn", True)

    pcap = Path(cfg.pcap or "")
    rows = tshark.fields(pcap, "ip.src", "ip.dst", "sip.Method", "sip.Status-Code",
                         "sip.Call-ID", "sip.Contact", "sip.From", "sip.Security-Client",
                         display_filter="sip")
    ue = [r for r in rows if r["ip.src"][0].startswith("127.147.")]
    register, invite = ue[0], next(r for r in ue if r["sip.Method"] == ["INVITE"])
    assert register["sip.Method"] == ["REGISTER"] and register["sip.Contact"][0].endswith(";sos>")
    assert register["sip.Security-Client"][0].startswith("ipsec-3gpp;")
    # the home S-CSCF's 480, relayed by the P-CSCF to the UE, before the INVITE left
    answers = [r for r in rows if r["sip.Call-ID"] == register["sip.Call-ID"]
               and r["sip.Status-Code"]]
    assert [a["sip.Status-Code"] for a in answers] == [["480"], ["480"]]
    assert answers[-1]["ip.dst"] == register["ip.src"]
    assert rows.index(answers[-1]) < rows.index(invite)
    assert "anonymous.invalid" in invite["sip.From"][0]
    assert ";sos" not in invite["sip.Contact"][0] and "+sip.instance" in invite["sip.Contact"][0]
    assert tshark.count(pcap, "diameter.cmd.code == 300") == 0  # no Cx link: no UAR left
    assert tshark.count(pcap, "_ws.malformed") == 0


async def test_full_roaming_registrations_are_challenged_over_cx(tmp_path: Path) -> None:
    cfg = config(tmp_path, enbs=1,
                 roaming={"policies": [{"home_plmn": "44010", "mode": "full"}]})
    subs = subscribers(1)
    async with network(cfg, subs) as net:
        async with net.population(subs, call_hold=0.1) as pop:
            await pop.attach()
            (row,) = await pop.call("119")
    assert (row["outcome"], row["registered"], row["emergency_registration"]) == (
        "answered", True, 200)
    pcap = Path(cfg.pcap or "")
    regs = tshark.fields(pcap, "ip.src", "sip.Status-Code", "sip.Contact", "sip.Security-Verify",
                         "sip.WWW-Authenticate", "sip.Security-Server",
                         display_filter='sip.CSeq.method == "REGISTER"')
    to_ue = [r for r in regs if r["sip.Status-Code"] == ["401"]
             and r["sip.Security-Server"]]
    assert len(to_ue) == 2  # the normal and the emergency registration
    for r in to_ue:
        assert "ck=" not in r["sip.WWW-Authenticate"][0] and "AKAv1-MD5" in \
            r["sip.WWW-Authenticate"][0]
    verified = [r for r in regs if r["sip.Security-Verify"]]
    assert {v["sip.Security-Verify"][0] for v in verified} == {
        r["sip.Security-Server"][0] for r in to_ue}
    commands = tshark.fields(pcap, "diameter.cmd.code", "diameter.flags.request",
                             "diameter.Experimental-Result-Code", "diameter.Result-Code",
                             "diameter.Public-Identity", display_filter="diameter.applicationId"
                             f" == {dia.CX_APPLICATION_ID} and !(diameter.cmd.code == 257)")
    names = [(c["diameter.cmd.code"][0], c["diameter.flags.request"][0]) for c in commands]
    assert names == [("300", "1"), ("300", "0"), ("303", "1"), ("303", "0"), ("301", "1"),
                     ("301", "0")] * 2
    uaa = [c for c in commands if c["diameter.cmd.code"] == ["300"]
           and c["diameter.flags.request"] == ["0"]]
    # first registration, then the emergency one finds this S-CSCF assigned
    assert [u["diameter.Experimental-Result-Code"] for u in uaa] == [
        [str(int(cx.CxResult.DIAMETER_FIRST_REGISTRATION))],
        [str(int(cx.CxResult.DIAMETER_SUBSEQUENT_REGISTRATION))]]
    assert commands[0]["diameter.Public-Identity"] == [
        f"sip:+{subs[0].msisdn}@ims.mnc010.mcc440.3gppnetwork.org"]
    assert tshark.count(pcap, "_ws.malformed") == 0
