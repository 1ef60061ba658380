"""A reference capture holding one of each message corenet encodes, in its standard framing.

S1AP (with every NAS EPS message inside Uplink/Downlink NAS Transport) over SCTP PPID 18 port
36412, Diameter over TCP 3868 and over SCTP PPID 46, GTPv2-C over UDP 2123. Deterministic for a
given seed.
"""

from __future__ import annotations

from pathlib import Path

from corenet.codecs import catalogue, diameter, gtpv2c, nas, s1ap
from corenet.crypto.nas_security import UPLINK, NasSecurityContext
from corenet.pcap.writer import (
    PORT_DIAMETER,
    PORT_GTPV2C,
    PORT_S1AP,
    PPID_DIAMETER,
    PPID_S1AP,
    PcapWriter,
)

ENB = ("127.0.1.1", PORT_S1AP)
MME_S1 = ("127.0.0.2", PORT_S1AP)
MME_DIAMETER = ("127.0.0.2", 40001)
MME_DIAMETER_SCTP = ("127.0.0.2", 40002)
HSS = ("127.0.0.3", PORT_DIAMETER)
MME_S11 = ("127.0.0.2", PORT_GTPV2C)
SGW_S11 = ("127.0.0.4", PORT_GTPV2C)

# S1AP messages sent by the eNB; the rest are sent by the MME (TS 36.413 §8).
_ENB_SENDS = {
    "S1SetupRequest", "InitialUEMessage", "UplinkNASTransport", "InitialContextSetupResponse",
    "InitialContextSetupFailure", "UEContextReleaseRequest", "UEContextReleaseComplete",
    "WriteReplaceWarningResponse", "ResetAcknowledge",
}
# Diameter requests the HSS originates (TS 29.272 §5.2.1.2, §5.2.2.1); answers go the other way.
_HSS_REQUESTS = {"CLR", "IDR"}


def _s1ap(w: PcapWriter, name: str, data: bytes, comment: str | None = None) -> None:
    src, dst = (ENB, MME_S1) if name in _ENB_SENDS else (MME_S1, ENB)
    w.sctp(src, dst, data, PPID_S1AP, stream=0 if name.startswith(("S1Setup", "Reset", "Error", "Write")) else 1,
           comment=comment)


def _nas_in_s1ap(nas_pdu: bytes, direction: int) -> tuple[str, bytes]:
    p = catalogue.RESCUER
    if direction == UPLINK:
        msg = s1ap.uplink_nas_transport(mme_ue_id=1, enb_ue_id=1, nas_pdu=nas_pdu, tai_plmn=p, tac=1,
                                        ecgi_plmn=p, cell_id=0x10101)
    else:
        msg = s1ap.downlink_nas_transport(mme_ue_id=1, enb_ue_id=1, nas_pdu=nas_pdu)
    return msg.name, s1ap.encode(msg)


def _nas_as_sent(eea: int) -> list[tuple[str, bytes, int]]:
    """Standalone ESM messages travel integrity protected (TS 24.301 §4.4.4.1)."""
    ctx = NasSecurityContext.from_kasme(1, catalogue.KASME, eia=2, eea=0)
    out = []
    for name, data, direction in catalogue.nas_samples():
        if data[0] & 0x0F == nas.PD_ESM:
            data = nas.protect(data, ctx, direction, nas.SHT_INTEGRITY)
        out.append((name, data, direction))
    return out + catalogue.protected_nas_samples(eea)


def write_reference_capture(path: str | Path, seed: int = 1, eea: int = 2) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with PcapWriter(path, seed=seed) as w:
        for name, msg in catalogue.s1ap_samples():
            _s1ap(w, name, s1ap.encode(msg))
        for name, data, direction in _nas_as_sent(eea):
            s1_name, s1_bytes = _nas_in_s1ap(data, direction)
            _s1ap(w, s1_name, s1_bytes, comment=f"NAS {name}")
        for name, msg in catalogue.diameter_samples():
            by_hss = name in _HSS_REQUESTS or (not name.endswith("R") and name[:-1] + "R" not in _HSS_REQUESTS)
            src, dst = (HSS, MME_DIAMETER) if by_hss else (MME_DIAMETER, HSS)
            w.tcp(src, dst, diameter.encode(msg))
        for name, msg in catalogue.diameter_samples()[:4]:  # CER/CEA, DWR/DWA over SCTP as well
            src, dst = (HSS, MME_DIAMETER_SCTP) if name.endswith("A") else (MME_DIAMETER_SCTP, HSS)
            w.sctp(src, dst, diameter.encode(msg), PPID_DIAMETER)
        for name, msg in catalogue.gtpv2c_samples():
            mme_sends = name.endswith("Request") ^ name.startswith(("CreateBearer", "DeleteBearer"))
            src, dst = (MME_S11, SGW_S11) if mme_sends else (SGW_S11, MME_S11)
            w.udp(src, dst, gtpv2c.encode(msg))
    return path
