"""The warning matrix: every rescuing operator x device profile x warning, each run with real
messages through the sans-I/O CBC, MME and eNB (SBc-AP Write-Replace Warning, TS 29.168; S1AP
Write-Replace Warning, TS 36.413 §8.13; SIB10/SIB11/SIB12, TS 36.331) to a UE holding the
device profile, which decides what it presents (sim_ue.pws.presentation, the seed report).

The cores are wired in memory; every message between them is the encoded PDU, and with a
capture file it is recorded with its standard framing (SBc-AP: SCTP PPID 24 port 29168; S1AP:
PPID 18 port 36412).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from corenet.codecs import sbcap
from corenet.config.models import EnbConfig, MmeConfig
from corenet.core.plmn import Plmn
from corenet.nf.cbc import core as cbc_core
from corenet.nf.cbc import warnings
from corenet.nf.mme import events as mme_events
from corenet.nf.mme.core import MmeCore
from corenet.orchestration.warning_delivery import delivery
from corenet.pcap import PcapWriter
from corenet.pcap.writer import PORT_S1AP, PPID_S1AP
from sim_ue import enb as enb_mod
from sim_ue.devices import DeviceProfile
from sim_ue.pws import OnAir, RrcCapture
from sim_ue.ue import Ue
from sim_ue.usim import Usim

PLMN = "44020"
TAC = 1
CBC_ADDR = ("10.20.0.10", 40000)
MME_SBC = ("10.20.0.2", sbcap.PORT)
MME_S1 = ("10.20.0.2", PORT_S1AP)
ENB_ADDR = ("10.20.1.1", 40001)
# a USIM per UE: the matrix needs no attach (warnings are read in idle mode too)
_K = bytes(16)
_OPC = bytes(16)
RESCUERS = ("docomo", "kddi", "softbank", "rakuten")
WARNINGS = (warnings.WarningKind.EARTHQUAKE, warnings.WarningKind.TSUNAMI,
            warnings.WarningKind.EARTHQUAKE_TSUNAMI, warnings.WarningKind.EVACUATION,
            warnings.WarningKind.TEST)


@dataclass(frozen=True)
class Row:
    rescuer: str
    device: str
    os: str
    os_version: str
    sold_by: str
    released: str
    sim: str
    common_spec: bool
    warning: str
    message_identifiers: list[int]
    received: bool
    displayed: bool
    sounded: bool
    reason: str


class _Network:
    """One CBC, MME, eNB and a UE per device, connected in memory."""

    def __init__(self, devices: Sequence[DeviceProfile], writer: PcapWriter | None,
                 evacuation_ids: tuple[int, int], air: RrcCapture | None = None) -> None:
        self.writer = writer
        self.air = air
        self.cbc = cbc_core.CbcCore()
        self.mme = MmeCore(MmeConfig(plmn=PLMN, tacs=[TAC]))
        self.enb = enb_mod.EnbCore(EnbConfig(name="enb1", global_enb_id=1, tac=TAC, plmn=PLMN,
                                             broadcast_plmns=[PLMN]))
        self.ues: list[Ue] = []
        for n, device in enumerate(devices):
            ue = Ue(Usim(f"4401000000{n:05d}", _K, _OPC), device=device)
            ue.warnings.standard_evacuation_id, ue.warnings.docomo_evacuation_id = evacuation_ids
            self.enb.add_ue(ue, n + 1)
            self.ues.append(ue)
        self._queue: deque[tuple[str, bytes]] = deque()
        self._cbc(self.cbc.handle(cbc_core.MmeUp(1), 0.0))
        self._mme(self.mme.handle(mme_events.SbcUp(1), 0.0))
        self._mme(self.mme.handle(mme_events.S1Up(1), 0.0))
        self._enb(self.enb.handle(enb_mod.S1Connected(), 0.0))
        self._pump()

    def send(self, requests: Sequence[Any]) -> None:
        self._cbc(self.cbc.handle(cbc_core.Send(tuple(requests)), 0.0))
        self._pump()

    # each core's actions become messages for the others (timers are not needed: one
    # broadcast, every eNB answers)
    def _record(self, src: tuple[str, int], dst: tuple[str, int], data: bytes, ppid: int) -> None:
        if self.writer is not None:
            self.writer.sctp(src, dst, data, ppid)

    def _cbc(self, actions: list[Any]) -> None:
        for a in actions:
            if isinstance(a, cbc_core.SendSbcap):
                self._record(CBC_ADDR, MME_SBC, a.data, sbcap.PPID)
                self._queue.append(("mme-sbc", a.data))

    def _mme(self, actions: list[Any]) -> None:
        for a in actions:
            if isinstance(a, mme_events.SendSbcap):
                self._record(MME_SBC, CBC_ADDR, a.data, sbcap.PPID)
                self._queue.append(("cbc", a.data))
            elif isinstance(a, mme_events.SendS1ap):
                self._record(MME_S1, ENB_ADDR, a.data, PPID_S1AP)
                self._queue.append(("enb", a.data))

    def _enb(self, actions: list[Any]) -> None:
        for a in actions:
            if isinstance(a, enb_mod.SendS1ap):
                self._record(ENB_ADDR, MME_S1, a.data, PPID_S1AP)
                self._queue.append(("mme-s1", a.data))
            elif isinstance(a, OnAir) and self.air is not None:
                self.air.record(a)

    def _pump(self) -> None:
        while self._queue:
            to, data = self._queue.popleft()
            if to == "mme-sbc":
                self._mme(self.mme.handle(mme_events.SbcapReceived(1, data), 0.0))
            elif to == "mme-s1":
                self._mme(self.mme.handle(mme_events.S1apReceived(1, data), 0.0))
            elif to == "enb":
                self._enb(self.enb.handle(enb_mod.S1apReceived(data), 0.0))
            else:
                self._cbc(self.cbc.handle(cbc_core.SbcapReceived(1, data), 0.0))


def run_matrix(devices: Sequence[DeviceProfile], *, docomo_standard_id: bool = True,
               pcap: str | Path | None = None,
               evacuation_id: int = warnings.STANDARD_EVACUATION_ID,
               docomo_evacuation_id: int = warnings.DOCOMO_EVACUATION_ID) -> list[Row]:
    """Rows of rescuer x device x warning, each from the messages the UE decoded. With `pcap`,
    the SBc-AP and S1AP messages go there and the eNB's broadcasts (SIB1, Paging, SIB10/11/12
    in Wireshark's exported-PDU framing) to `rrc_capture_path(pcap)`."""
    writer = PcapWriter(pcap, seed=1) if pcap is not None else None
    air = RrcCapture(rrc_capture_path(pcap)) if pcap is not None else None
    operators = warnings.rescuers(docomo_standard_id, evacuation_id, docomo_evacuation_id)
    rows: list[Row] = []
    try:
        for name in RESCUERS:
            rescuer = operators[name]
            net = _Network(devices, writer, (evacuation_id, docomo_evacuation_id), air)
            for code, kind in enumerate(WARNINGS, start=1):
                mids = list(rescuer.message_identifiers(kind))
                net.send(warnings.write_replace_requests(
                    kind, rescuer, str(Plmn.parse(PLMN)), [TAC], repetition_s=0, broadcasts=1,
                    message_code=code))
                for ue in net.ues:
                    rows.append(_row(name, ue, kind, mids))
    finally:
        if writer is not None:
            writer.close()
        if air is not None:
            air.close()
    return rows


def rrc_capture_path(pcap: str | Path) -> Path:
    """NAME.pcapng -> NAME.rrc.pcapng: the radio side of a capture."""
    p = Path(pcap)
    stem = p.name[: -len(".pcapng")] if p.name.endswith(".pcapng") else p.name
    return p.with_name(stem + ".rrc.pcapng")


def _row(rescuer: str, ue: Ue, kind: warnings.WarningKind, mids: list[int]) -> Row:
    d = ue.device
    out = delivery(ue, kind.value, mids)
    return Row(rescuer=rescuer, device=d.name, os=d.os, os_version=d.os_version,
               sold_by=d.carrier, released=d.released, sim=d.sim,
               common_spec=d.etws.common_spec, warning=kind.value, message_identifiers=mids,
               received=out.received, displayed=out.displayed, sounded=out.sounded,
               reason=out.reason)


def to_json(rows: Sequence[Row], pcap: str | Path | None) -> str:
    return json.dumps({"rows": [asdict(r) for r in rows],
                       "pcap": None if pcap is None else str(pcap),
                       "rrc_pcap": None if pcap is None else str(rrc_capture_path(pcap))},
                      ensure_ascii=False)


def to_markdown(rows: Sequence[Row]) -> str:
    """One table per rescuer: devices down, warnings across; cells "sounds" / "shown" / "-"."""
    out = []
    kinds = [k.value for k in WARNINGS]
    for rescuer in RESCUERS:
        mine = [r for r in rows if r.rescuer == rescuer]
        if not mine:
            continue
        out += [f"### rescuer: {rescuer}", "",
                "| device | sold by | released | SIM | " + " | ".join(kinds) + " |",
                "|---|---|---|---|" + "---|" * len(kinds)]
        for device in dict.fromkeys(r.device for r in mine):
            cells = {r.warning: r for r in mine if r.device == device}
            first = next(iter(cells.values()))
            marks = ["sounds" if c.sounded else "shown" if c.displayed else "-"
                     for c in (cells[k] for k in kinds)]
            out.append(f"| {device} | {first.sold_by} | {first.released} | {first.sim} | "
                       + " | ".join(marks) + " |")
        out.append("")
    return "\n".join(out)


_COLOURS = {"sounds": "#7fc97f", "shown": "#fdc086", "not shown": "#f0027f"}


def to_png(rows: Sequence[Row], path: str | Path) -> Path:
    """The matrix as one coloured grid (matplotlib, Agg): a line per rescuer and device, a
    column per warning; green sounds, orange is shown silently, magenta is not presented."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k.value for k in WARNINGS]
    lines = list(dict.fromkeys((r.rescuer, r.device) for r in rows))
    by = {(r.rescuer, r.device, r.warning): r for r in rows}
    text = [["sounds" if c.sounded else "shown" if c.displayed else "not shown"
             for c in (by[(res, dev, k)] for k in kinds)] for res, dev in lines]
    fig, ax = plt.subplots(figsize=(2 + 1.4 * len(kinds), 0.6 + 0.28 * len(lines)))
    ax.axis("off")
    table = ax.table(cellText=text, cellColours=[[_COLOURS[t] for t in line] for line in text],
                     rowLabels=[f"{res} / {dev}" for res, dev in lines], colLabels=kinds,
                     loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
