"""ETWS and CMAS to roamers end to end over real sockets, in each roaming mode: the CBC sends
SBc-AP Write-Replace Warning (TS 29.168) to the MME, which forwards S1AP Write-Replace
Warning (TS 36.413 §8.13) to the eNBs, which broadcast SIB10/SIB11 or SIB12 (TS 36.331) to the
UEs; the UEs' decoded warnings and the capture (tshark) are checked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from corenet.codecs import cbs, sbcap
from corenet.config.models import CbcConfig, CorenetConfig, Endpoint
from corenet.nf.cbc.service import CbcService
from corenet.nf.cbc.warnings import DEFAULT_TEXT, WarningKind
from corenet.orchestration.demo import run_demo
from sim_ue.devices import DeviceProfile, load_devices
from tests import tshark
from tests.e2e.network import config, network, subscribers

HOME = "44010"
IPHONE = DeviceProfile(name="iphone-18.5", os="ios", os_version="18.5", vendor="Apple",
                       model="iPhone 16", release_date=dt.date(2024, 9, 20),
                       emergency_only_roaming=True, manual_selection="emergency-attach")


def _config(tmp_path: Path, mode: str) -> CorenetConfig:
    cfg = config(tmp_path, roaming={"policies": [{"home_plmn": HOME, "mode": mode}]})
    host = cfg.mme.s1ap.host
    mme = cfg.mme.model_copy(update={"sbcap": Endpoint(host=host, port=sbcap.PORT)})
    cbc = CbcConfig(mmes=[Endpoint(host=host, port=sbcap.PORT)],
                    local_host=host.rsplit(".", 1)[0] + ".10",
                    control=Endpoint(host=host, port=0), rescuer="kddi", repetition_s=1,
                    broadcasts=2)
    return cfg.model_copy(update={"mme": mme, "cbc": cbc})


@pytest.mark.parametrize("mode", ["full", "emergency-auth", "emergency-unauth"])
async def test_earthquake_tsunami_and_cmas_reach_roamers(tmp_path: Path, mode: str) -> None:
    cfg = _config(tmp_path, mode)
    subs = subscribers(2)
    async with network(cfg, subs) as net, net.population(subs, devices=IPHONE) as pop:
        results = await (pop.attach() if mode == "full" else pop.emergency("119"))
        assert all(r.attached for r in results)
        cbc = CbcService(cfg.cbc)
        await cbc.start()
        try:
            for kind in (WarningKind.EARTHQUAKE_TSUNAMI, WarningKind.CMAS):
                answers = await cbc.send(cbc.requests_for(kind, tacs=[1, 2]))
                assert [a.response.fields["Cause"] for a in answers if a.response] == [
                    sbcap.MESSAGE_ACCEPTED]
            inds = await cbc.wait_indications("Write-Replace-Warning-Indication", 2, 10)
        finally:
            await cbc.stop()
        warnings = [m.ue.warnings.warnings for m in pop.members]
    # both eNBs scheduled both warnings: one cell each
    for ind in inds:
        cells = ind.fields["Broadcast-Scheduled-Area-List"]["cellId-Broadcast-List"]
        assert len(cells) == 2
    for got in warnings:
        etws = got[next(k for k in got if k[0] == cbs.ETWS_EARTHQUAKE_AND_TSUNAMI)]
        assert etws.warning_type == cbs.WarningTypeValue.EARTHQUAKE_AND_TSUNAMI
        assert etws.text == DEFAULT_TEXT[WarningKind.EARTHQUAKE_TSUNAMI]
        assert etws.displayed and etws.sounded
        cmas = got[next(k for k in got if k[0] == cbs.MessageIdentifier.CMAS_EXTREME_IMMEDIATE_OBSERVED)]
        assert cmas.text == DEFAULT_TEXT[WarningKind.CMAS] and cmas.displayed
    pcap = Path(cfg.pcap or "")
    assert tshark.count(pcap, "_ws.malformed") == 0
    assert tshark.count(pcap, "sbcap") >= 2 + 2 + 2  # requests, responses, indications
    codes = tshark.values(pcap, "s1ap.procedureCode", "s1ap.procedureCode == 36")
    assert len(codes) == 2 * 2 * 2  # two warnings, two eNBs, request and response
    mids = tshark.values(pcap, "sbc-ap.Message_Identifier",
                         "sbcap && sbc-ap.procedureCode == 0")
    assert {int(m) for m in mids} == {0x1102, 0x1113}


DEVICES = Path(__file__).resolve().parents[2] / "configs" / "devices"


async def test_demo_etws_reports_each_ue_and_captures_the_broadcast(tmp_path: Path) -> None:
    """`corenet demo --etws earthquake-tsunami`: after the attach the CBC's warning reaches every
    UE; iOS 18.5 sounds it, iOS 17 receives it without presenting it (seed report)."""
    cfg = config(tmp_path)
    pcap = tmp_path / "demo-etws.pcapng"
    devices = load_devices([str(DEVICES / "iphone-ios18-5.yaml"),
                            str(DEVICES / "iphone-ios17.yaml")])
    report = await run_demo(cfg, ues=2, pcap=str(pcap), devices=devices,
                            etws="earthquake-tsunami")
    ues = report.to_json()["ues"]
    assert [u["attached"] for u in ues] == [True, True]
    new, old = (u["warning"] for u in ues)
    assert new["message_identifiers"] == [cbs.ETWS_EARTHQUAKE_AND_TSUNAMI]
    assert (new["received"], new["displayed"], new["sounded"]) == (True, True, True)
    assert new["text"] == DEFAULT_TEXT[WarningKind.EARTHQUAKE_TSUNAMI]
    assert (old["received"], old["displayed"], old["sounded"]) == (True, False, False)
    assert "before 18.5" in old["reason"]
    assert tshark.count(pcap, tshark.CLEAN_WITH_BROADCASTS) == 0
    mids = tshark.values(pcap, "sbc-ap.Message_Identifier", "sbcap && sbc-ap.procedureCode == 0")
    assert {int(m) for m in mids} == {cbs.ETWS_EARTHQUAKE_AND_TSUNAMI}
    # Write-Replace Warning request and response on each of the two eNBs' associations
    assert len(tshark.values(pcap, "s1ap.procedureCode", "s1ap.procedureCode == 36")) == 4
    # each eNB's cell: SIB1 scheduling SIB10/11, Paging with etws-Indication, SIB10, SIB11
    assert tshark.count(pcap, "lte-rrc.etws_Indication") == 2
    assert {int(v) for v in tshark.values(pcap, "lte-rrc.messageIdentifier")} == {
        cbs.ETWS_EARTHQUAKE_AND_TSUNAMI}
    assert tshark.count(pcap, "lte-rrc.systemInformationBlockType1_element") == 2


async def test_demo_cmas_in_emergency_only_mode(tmp_path: Path) -> None:
    """A CMAS warning (SIB12, cmas-Indication) reaches UEs in emergency-only roaming too."""
    cfg = config(tmp_path, enbs=1)
    pcap = tmp_path / "demo-cmas.pcapng"
    report = await run_demo(cfg, ues=1, pcap=str(pcap), devices=[IPHONE],
                            mode="emergency-unauth", etws="cmas")
    (ue,) = report.to_json()["ues"]
    assert ue["warning"]["sounded"] and ue["warning"]["text"] == DEFAULT_TEXT[WarningKind.CMAS]
    assert tshark.count(pcap, "_ws.malformed") == 0
    assert tshark.count(pcap, "lte-rrc.cmas_Indication_r9") == 1
    assert {int(v) for v in tshark.values(pcap, "lte-rrc.messageIdentifier_r9")} == {
        cbs.MessageIdentifier.CMAS_EXTREME_IMMEDIATE_OBSERVED}
