from __future__ import annotations

import subprocess
from pathlib import Path

import pycrate_mobile.TS29274_GTPC as GTPC
from pycrate_asn1dir import S1AP
from pycrate_diameter.DiameterIETF import DiameterIETF

PLMN_44020 = bytes.fromhex("44f002")

# Verify every checksum Wireshark can check, so a bad one becomes an expert error.
TSHARK_PREFS = [
    "-o", "sctp.checksum:CRC-32C",
    "-o", "tcp.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE",
    "-o", "ip.check_checksum:TRUE",
    "-o", "sctp.tsn_analysis:TRUE",
]


def s1_setup_request(n_tas: int = 1) -> bytes:
    """TS 36.413 §9.1.8.4 S1 SETUP REQUEST; many TAs make it longer than one packet."""
    pdu = S1AP.S1AP_PDU_Descriptions.S1AP_PDU
    tas = [{"tAC": i.to_bytes(2, "big"), "broadcastPLMNs": [PLMN_44020] * 6}
           for i in range(n_tas)]
    pdu.set_val(("initiatingMessage", {
        "procedureCode": 17, "criticality": "reject",
        "value": ("S1SetupRequest", {"protocolIEs": [
            {"id": 59, "criticality": "reject", "value": ("Global-ENB-ID", {
                "pLMNidentity": PLMN_44020, "eNB-ID": ("macroENB-ID", (1, 20))})},
            {"id": 64, "criticality": "reject", "value": ("SupportedTAs", tas)},
            {"id": 137, "criticality": "ignore", "value": ("PagingDRX", "v128")},
        ]}),
    }))
    return pdu.to_aper()


def s1_setup_response() -> bytes:
    """TS 36.413 §9.1.8.5 S1 SETUP RESPONSE."""
    pdu = S1AP.S1AP_PDU_Descriptions.S1AP_PDU
    pdu.set_val(("successfulOutcome", {
        "procedureCode": 17, "criticality": "reject",
        "value": ("S1SetupResponse", {"protocolIEs": [
            {"id": 105, "criticality": "reject", "value": ("ServedGUMMEIs", [{
                "servedPLMNs": [PLMN_44020],
                "servedGroupIDs": [b"\x80\x01"],
                "servedMMECs": [b"\x01"],
            }])},
            {"id": 87, "criticality": "ignore", "value": ("RelativeMMECapacity", 255)},
        ]}),
    }))
    return pdu.to_aper()


def _avp(code: int, data: object) -> dict[str, object]:
    return {"AVPHdr": {"Code": code, "M": 1}, "AVPData": data}


def diameter_cer(hbh: int = 1, product: str = "corenet") -> bytes:
    """RFC 6733 §5.3.1 Capabilities-Exchange-Request."""
    msg = DiameterIETF()
    msg.set_val({
        "DiameterHdr": {"R": 1, "Cmd": 257, "AppID": 0, "HHID": hbh, "EEID": hbh},
        "AVPs": [
            _avp(264, b"mme.epc.mnc020.mcc440.3gppnetwork.org"),
            _avp(296, b"epc.mnc020.mcc440.3gppnetwork.org"),
            _avp(257, b"\x00\x01\x0a\x00\x00\x01"),
            _avp(266, 0),
            _avp(269, product),
        ],
    })
    return msg.to_bytes()


def diameter_cea(hbh: int = 1) -> bytes:
    """RFC 6733 §5.3.2 Capabilities-Exchange-Answer, Result-Code 2001."""
    msg = DiameterIETF()
    msg.set_val({
        "DiameterHdr": {"R": 0, "Cmd": 257, "AppID": 0, "HHID": hbh, "EEID": hbh},
        "AVPs": [
            _avp(268, 2001),
            _avp(264, b"hss.epc.mnc010.mcc440.3gppnetwork.org"),
            _avp(296, b"epc.mnc010.mcc440.3gppnetwork.org"),
            _avp(257, b"\x00\x01\x0a\x00\x00\x03"),
            _avp(266, 0),
            _avp(269, "corenet"),
        ],
    })
    return msg.to_bytes()


def gtpv2_echo(request: bool, seq: int = 1) -> bytes:
    """TS 29.274 §7.1.1 / §7.1.2 Echo Request / Response with Recovery."""
    msg = GTPC.EchoReq() if request else GTPC.EchoResp()
    msg["GTPCHdr"]["SeqNum"].set_val(seq)
    msg[1][0]["Data"].set_val(3)  # the IE list is a sequence: Recovery is its first item
    return msg.to_bytes()


FIELDS = [
    "frame.number", "frame.comment", "frame.protocols", "_ws.malformed", "_ws.expert.severity",
    "ip.src", "ipv6.src", "ip.checksum.status",
    "sctp.srcport", "sctp.checksum.status", "sctp.chunk_type", "sctp.verification_tag",
    "sctp.initiate_tag", "sctp.data_tsn_raw", "sctp.data_payload_proto_id", "sctp.data_e_bit",
    "sctp.retransmission", "s1ap.procedureCode", "s1ap.successfulOutcome_element",
    "tcp.checksum.status", "tcp.analysis.flags", "tcp.analysis.retransmission",
    "udp.checksum.status",
    "diameter.cmd.code", "diameter.flags.request", "diameter.Result-Code",
    "gtpv2.message_type", "gtpv2.seq", "gtpv2.rec",
]


def dissect(path: Path) -> list[dict[str, str]]:
    """One two-pass tshark run; a row per frame, multi-valued fields joined by commas."""
    cmd = ["tshark", "-n", "-2", "-r", str(path), *TSHARK_PREFS, "-T", "fields",
           "-E", "occurrence=a", "-E", "separator=/t"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in out.splitlines()]


def protocols(row: dict[str, str]) -> list[str]:
    return row["frame.protocols"].split(":")


def problems(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    """Frames with a malformed mark or an expert item of severity warning (0x600000) or above."""
    bad = []
    for r in rows:
        severities = [int(s) for s in r["_ws.expert.severity"].split(",") if s]
        if r["_ws.malformed"] or any(s >= 0x600000 for s in severities):
            bad.append((r["frame.number"], r["_ws.expert.severity"]))
    return bad
