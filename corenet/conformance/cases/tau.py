"""TS 24.301 §5.5.3.2 tracking area update cases against an MME, the tester playing eNB and
UE: accept with TAI list, T3412 and GUTI reallocation, complete and release, periodic
updating, and the rejects for a context the network cannot find or verify."""

from __future__ import annotations

from typing import Any

from corenet.codecs import nas
from corenet.codecs.nas_ies import Guti, Tai
from corenet.conformance.case import case
from corenet.conformance.cases.nas import EMERGENCY_ONLY, emm_cause, until
from corenet.conformance.tester.context import Tester
from corenet.conformance.tester.ue import Downlink, TesterUe
from corenet.conformance.verdicts import Inconclusive, check
from corenet.crypto.nas_security import UPLINK


def _guti(fields: dict[str, Any]) -> Guti:
    """The GUTI IE of an Attach Accept or a Tracking Area Update Accept (§9.9.3.12)."""
    value = (fields.get("guti") or {}).get("value")
    if not isinstance(value, Guti):
        raise Inconclusive(f"no GUTI in the accept: {fields.get('guti')}")
    return value


async def _tau(t: Tester, *, emergency: bool = False,
               update_type: int = nas.TA_UPDATING) -> tuple[TesterUe, Downlink, Guti]:
    """An attached UE sends TRACKING AREA UPDATE REQUEST (§5.5.3.2.2) with its GUTI,
    protected with its current context; (UE, the answer, the old GUTI)."""
    ue, accept = await t.attached_ue(emergency=emergency)
    guti = _guti(accept.fields)
    if ue.ctx is None:
        raise Inconclusive("no NAS security context after the attach")
    ue.uplink(nas.tracking_area_update_request(guti, update_type, ksi=ue.ctx.ksi),
              sht=nas.SHT_INTEGRITY)
    dl = await until(ue, "TrackingAreaUpdateAccept")
    return ue, dl, guti


@case("EMM-TAU-01", "A registered UE's tracking area update is accepted with a TAI list "
      "holding its TA and the T3412 value", "TS 24.301 §5.5.3.2.4", "mme", ("full",))
async def tau_accept(t: Tester) -> None:
    _, dl, _ = await _tau(t)
    check(dl.name == "TrackingAreaUpdateAccept", t.clause, "TrackingAreaUpdateAccept",
          f"{dl.name} #{emm_cause(dl)}")
    assert dl.nas is not None
    tais = dl.nas.fields.get("tai_list") or []
    check(Tai(t.plmn, t.ids.tac) in tais, t.clause, f"TAI list with {t.plmn}/{t.ids.tac}", tais)
    check(dl.nas.fields.get("t3412_value") is not None, t.clause, "a T3412 value",
          dl.nas.fields.get("t3412_value"))


@case("EMM-TAU-02", "Tracking Area Update Accept reallocates the GUTI, and after Tracking "
      "Area Update Complete the signalling connection is released", "TS 24.301 §5.5.3.2.4",
      "mme", ("full",))
async def tau_guti_and_release(t: Tester) -> None:
    ue, dl, old = await _tau(t)
    new = _guti(dl.nas.fields if dl.nas is not None else {})
    check(new != old and str(new.plmn) == str(t.plmn), t.clause,
          f"a new GUTI of {t.plmn}", new)
    ue.uplink(nas.tracking_area_update_complete())
    rel = await until(ue, "UEContextReleaseCommand")
    check(rel.s1ap.name == "UEContextReleaseCommand", t.clause,
          "UEContextReleaseCommand (TS 23.401 §5.3.3.2 step 21)", rel.name)


@case("EMM-TAU-03", "A periodic tracking area update (EPS update type 3) is accepted",
      "TS 24.301 §5.5.3.2.2", "mme", ("full",))
async def tau_periodic(t: Tester) -> None:
    _, dl, _ = await _tau(t, update_type=nas.PERIODIC_UPDATING)
    check(dl.name == "TrackingAreaUpdateAccept", t.clause, "TrackingAreaUpdateAccept",
          f"{dl.name} #{emm_cause(dl)}")


@case("EMM-TAU-09", "A tracking area update with a GUTI the MME does not know is rejected "
      "with #9 (UE identity cannot be derived)", "TS 24.301 §5.5.3.2.5", "mme", ("full",))
async def tau_unknown_guti(t: Tester) -> None:
    ue = await t.ue()
    ue.initial(nas.tracking_area_update_request(Guti(t.plmn, 0x8001, 0x7F, 0x0BADC0DE)))
    dl = await until(ue, "TrackingAreaUpdateReject")
    check(dl.name == "TrackingAreaUpdateReject" and emm_cause(dl) == 9, t.clause,
          "TrackingAreaUpdateReject #9", f"{dl.name} #{emm_cause(dl)}")


@case("EMM-TAU-MAC", "A tracking area update failing the integrity check is not accepted: "
      "Tracking Area Update Reject #9", "TS 24.301 §4.4.4.3", "mme", ("full",))
async def tau_bad_mac(t: Tester) -> None:
    ue, accept = await t.attached_ue()
    guti = _guti(accept.fields)
    if ue.ctx is None:
        raise Inconclusive("no NAS security context after the attach")
    pdu = bytearray(nas.protect(nas.tracking_area_update_request(guti, ksi=ue.ctx.ksi),
                                ue.ctx, UPLINK, nas.SHT_INTEGRITY))
    pdu[1] ^= 0xFF  # the MAC (§9.5)
    ue.send_raw(bytes(pdu))
    dl = await until(ue, "TrackingAreaUpdateReject")
    check(dl.name == "TrackingAreaUpdateReject" and emm_cause(dl) == 9, t.clause,
          "TrackingAreaUpdateReject #9", f"{dl.name} #{emm_cause(dl)}")


@case("EMM-TAU-EMC", "An emergency-only UE's tracking area update is accepted with a TAI list "
      "of its current TA only", "TS 24.301 §5.5.3.2.4", "mme", EMERGENCY_ONLY)
async def tau_emergency(t: Tester) -> None:
    _, dl, _ = await _tau(t, emergency=True)
    check(dl.name == "TrackingAreaUpdateAccept", t.clause, "TrackingAreaUpdateAccept",
          f"{dl.name} #{emm_cause(dl)}")
    assert dl.nas is not None
    tais = dl.nas.fields.get("tai_list") or []
    check(tais == [Tai(t.plmn, t.ids.tac)], t.clause, f"[{t.plmn}/{t.ids.tac}]", tais)
