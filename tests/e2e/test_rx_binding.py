"""The P-CSCF learns who calls over Rx (TS 29.214 §4.4.1) from the PCRF that the P-GW told over
Gx (TS 29.212 §4.5.1): the PSAP's records in the three modes, and the exchanges in the capture."""

from __future__ import annotations

from pathlib import Path

from tests import tshark
from tests.e2e.network import config, network, subscribers

EXPECTED = {"full": ("msisdn", True), "emergency-auth": ("msisdn", True),
            "emergency-unauth": ("imsi", False)}


async def test_psap_records_per_mode_come_from_the_rx_binding(tmp_path: Path) -> None:
    for mode, (identity_type, verified) in EXPECTED.items():
        policy = {"roaming": {"policies": [{"home_plmn": "44010", "mode": mode}]}}
        cfg = config(tmp_path / mode, **policy)
        subs = subscribers(1)
        async with network(cfg, subs) as net, net.population(subs) as pop:
            if mode == "full":
                await pop.attach()
            (call,) = await pop.call("119")
            records = net.runtime.services["psap"].calls()
            learned = net.runtime.services["ims"].bindings.learned
        assert call["outcome"] == "answered", (mode, call)
        (rec,) = records
        assert (rec.identity_type, rec.verified, rec.mode) == (identity_type, verified, mode)
        assert {b.mode.value for b in learned.values()} >= {mode}
        pcap = Path(cfg.pcap or "")
        assert tshark.count(pcap, "_ws.malformed || (diameter && _ws.expert)") == 0
        # Gx CCR-I before the Rx AAR that binds to it; the AAA names the caller
        assert tshark.count(pcap, "diameter.cmd.code == 272 && diameter.CC-Request-Type == 1") >= 1
        imsis = tshark.values(pcap, "diameter.Subscription-Id-Data",
                              "diameter.cmd.code == 265 && diameter.flags.request == 0")
        assert any(subs[0].imsi in v for v in imsis), (mode, imsis)
