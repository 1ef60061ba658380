"""Per-UE message flows read back from a capture with tshark."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests import tshark

# TS 24.301 §9.8 message types
EMM = {0x41: "AttachRequest", 0x42: "AttachAccept", 0x43: "AttachComplete", 0x44: "AttachReject",
       0x45: "DetachRequest", 0x46: "DetachAccept", 0x52: "AuthenticationRequest",
       0x53: "AuthenticationResponse", 0x54: "AuthenticationReject", 0x5C: "AuthenticationFailure",
       0x5D: "SecurityModeCommand", 0x5E: "SecurityModeComplete", 0x55: "IdentityRequest",
       0x56: "IdentityResponse", 0x61: "EMMInformation", 0x60: "EMMStatus"}
S1AP_FIELDS = ("frame.number", "ip.src", "ip.dst", "s1ap.procedureCode", "s1ap.MME_UE_S1AP_ID",
               "s1ap.ENB_UE_S1AP_ID", "nas_eps.nas_msg_emm_type", "e212.imsi",
               "s1ap.uEaggregateMaximumBitRateDL", "s1ap.uEaggregateMaximumBitRateUL",
               "gsm_a.dtap.text_string", "nas_eps.emm.cause")


@dataclass
class UeFlow:
    imsi: str
    events: list[tuple[int, str]] = field(default_factory=list)  # (frame, name)
    ue_ambr: list[tuple[int, int]] = field(default_factory=list)  # (UL, DL)
    network_names: list[str] = field(default_factory=list)
    emm_causes: list[int] = field(default_factory=list)

    def names(self) -> list[str]:
        return [n for _, n in sorted(self.events)]

    def first(self, name: str) -> int:
        return min(f for f, n in self.events if n == name)

    def in_order(self, *names: str) -> bool:
        frames = [self.first(n) for n in names]
        return frames == sorted(frames)


def s1ap_flows(pcap: Path) -> dict[str, UeFlow]:
    """NAS and S1AP events per IMSI: a UE is known by (eNB address, eNB UE S1AP ID) from its
    Initial UE Message, then also by its MME UE S1AP ID."""
    by_enb_id: dict[tuple[str, str], str] = {}
    by_mme_id: dict[str, str] = {}
    flows: dict[str, UeFlow] = {}
    for r in tshark.fields(pcap, *S1AP_FIELDS, display_filter="s1ap"):
        frame = int(r["frame.number"][0])
        enb_ip = r["ip.src"][0]
        enb_ids, mme_ids = r["s1ap.ENB_UE_S1AP_ID"], r["s1ap.MME_UE_S1AP_ID"]
        imsi = None
        if r["e212.imsi"] and enb_ids and not mme_ids:  # Initial UE Message with an IMSI
            imsi = r["e212.imsi"][0]
            by_enb_id[(enb_ip, enb_ids[0])] = imsi
        elif mme_ids:
            imsi = by_mme_id.get(mme_ids[0])
            if imsi is None and enb_ids:
                for (ip, eid), known in by_enb_id.items():
                    if eid == enb_ids[0] and ip in (enb_ip, r["ip.dst"][0]):
                        imsi = known
                        by_mme_id[mme_ids[0]] = known
        if imsi is None:
            continue
        flow = flows.setdefault(imsi, UeFlow(imsi))
        for t in r["nas_eps.nas_msg_emm_type"]:
            flow.events.append((frame, EMM.get(int(t, 16), t)))
        if r["s1ap.procedureCode"] and r["s1ap.procedureCode"][0] == "9" and r["s1ap.uEaggregateMaximumBitRateDL"]:
            flow.events.append((frame, "InitialContextSetupRequest"))
            flow.ue_ambr.append((int(r["s1ap.uEaggregateMaximumBitRateUL"][0]),
                                 int(r["s1ap.uEaggregateMaximumBitRateDL"][0])))
        flow.network_names += r["gsm_a.dtap.text_string"]
        flow.emm_causes += [int(c) for c in r["nas_eps.emm.cause"]]
    return flows


def diameter_flows(pcap: Path) -> dict[str, list[tuple[int, str, int | None]]]:
    """(frame, command, result) per IMSI, answers matched to requests by Session-Id."""
    sessions: dict[str, str] = {}
    out: dict[str, list[tuple[int, str, int | None]]] = defaultdict(list)
    names = {316: "UL", 317: "CL", 318: "AI", 321: "PU"}
    rows = tshark.fields(pcap, "frame.number", "diameter.cmd.code", "diameter.flags.request",
                         "diameter.Session-Id", "e212.imsi", "diameter.Result-Code",
                         "diameter.Experimental-Result-Code", display_filter="diameter")
    for r in rows:
        code = int(r["diameter.cmd.code"][0])
        if code not in names or not r["diameter.Session-Id"]:
            continue
        sid = r["diameter.Session-Id"][0]
        request = r["diameter.flags.request"][0] in ("1", "True")
        if request and r["e212.imsi"]:
            sessions[sid] = r["e212.imsi"][0]
        imsi = sessions.get(sid)
        if imsi is None:
            continue
        result = (r["diameter.Result-Code"] or r["diameter.Experimental-Result-Code"] or [None])[0]
        out[imsi].append((int(r["frame.number"][0]), names[code] + ("R" if request else "A"),
                          int(result) if result is not None else None))
    return out


def gtp_imsis(pcap: Path, message_type: int) -> list[str]:
    return tshark.values(pcap, "e212.imsi", f"gtpv2.message_type == {message_type}")
