"""The JAPAN Roaming report's own rules, against an MME: the rescuer's cap, name and modes."""

from __future__ import annotations

from corenet.codecs.nas_ies import NetworkNameValue
from corenet.conformance.case import case
from corenet.conformance.cases.nas import until
from corenet.conformance.tester.context import Tester
from corenet.conformance.verdicts import check

CAP = "JAPAN Roaming report: roamers' UE-AMBR capped at 300 kbps"
NAME = "JAPAN Roaming report: network name JPN-ROAM X"


def _ambr(dl_s1ap_fields: dict[str, object]) -> tuple[int, int]:
    ambr = dl_s1ap_fields.get("uEaggregateMaximumBitrate") or {}
    assert isinstance(ambr, dict)
    return (int(ambr.get("uEaggregateMaximumBitRateUL", -1)),
            int(ambr.get("uEaggregateMaximumBitRateDL", -1)))


def _cap_case(cid: str, title: str, mode: str, emergency: bool, index: int) -> None:
    @case(cid, title, CAP, "mme", (mode,))
    async def capped(t: Tester) -> None:
        ue = await t.ue()
        dl = await ue.attach(t.plmn, emergency=emergency)
        check(dl.s1ap.name == "InitialContextSetupRequest", t.clause,
              "InitialContextSetupRequest", dl.name)
        got = _ambr(dl.s1ap.fields)[index]
        cap = t.ids.ambr_cap_bps
        check(0 <= got <= cap, t.clause, f"{'UL' if index == 0 else 'DL'} UE-AMBR <= {cap} bps",
              got)


_cap_case("JR-CAP-UL", "A full roamer's uplink UE-AMBR is capped", "full", False, 0)
_cap_case("JR-CAP-DL", "A full roamer's downlink UE-AMBR is capped", "full", False, 1)
_cap_case("JR-CAP-EMC-UL", "An emergency attach's uplink UE-AMBR is capped", "emergency-auth",
          True, 0)
_cap_case("JR-CAP-EMC-DL", "An emergency attach's downlink UE-AMBR is capped", "emergency-auth",
          True, 1)


@case("JR-NAME-01", "A roamer is told the network name JPN-ROAM X (EMM Information)", NAME, "mme",
      ("full",))
async def network_name(t: Tester) -> None:
    ue, accept = await t.attached_ue()
    names = _names(accept.fields)
    if not any(t.ids.network_name in n for n in names):
        dl = await until(ue, "EMMInformation")
        names += [] if dl.nas is None else _names(dl.nas.fields)
    check(any(t.ids.network_name in n for n in names), t.clause, t.ids.network_name, names)


def _names(fields: dict[str, object]) -> list[str]:
    """Full and short network names (TS 24.301 §9.9.3.24 -> TS 24.008 §10.5.3.5a)."""
    return [v.text if isinstance(v, NetworkNameValue) else str(v)
            for k, v in fields.items() if k.endswith("name_for_network")]
