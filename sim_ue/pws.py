"""Public warning broadcast on the emulated radio: the eNB side of S1AP Write-Replace Warning /
Kill (TS 36.413 §8.13) and the UE side of ETWS / CMAS reception (TS 36.331 §5.3.10.9 -
§5.3.10.11), with the device decision of the seed report.

eNB: a WRITE-REPLACE WARNING REQUEST puts the warning on the cells of its Warning Area List
(all cells without one): an ETWS identifier (TS 23.041 §9.4.1.2.2: 4352-4359) as SIB10 (primary
notification: Warning Type) and SIB11 (secondary notification: the CB data in segments), any
other identifier as SIB12 (CMAS, segmented), scheduled in SIB1, announced by a Paging message
with etws-Indication / cmas-Indication (TS 36.331 §5.3.2). Every PDU is an encoded RRC message
(pycrate RRCLTE, UPER). The broadcast is repeated every Repetition Period, Number of Broadcasts
Requested times (TS 36.413 §9.2.1.48 / §9.2.1.49; 0 with a period: until killed, for CMAS).
The eNB answers with the cells where the broadcast is done (Broadcast Completed Area List).

UE: `WarningReceiver` decodes what a cell broadcasts, reassembles the segments (TS 36.331
§5.3.10.10), decodes the CB data (TS 23.041 §9.4.2.2.5, corenet.codecs.cbs), ignores a
repetition of a warning it already has (same Message Identifier and Serial Number, TS 23.041
§8.2) and asks `presentation` whether the device shows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from corenet.codecs import cbs, rrc, s1ap
from corenet.codecs.base import Message
from corenet.core.actions import LogEvent, StartTimer, StopTimer
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn
from corenet.pcap.framing import LINKTYPE_WIRESHARK_UPPER_PDU, exported_pdu
from corenet.pcap.pcapng import (
    enhanced_packet_block,
    interface_description_block,
    section_header_block,
)
from corenet.pcap.writer import PcapWriter
from sim_ue.devices import IOS_ETWS_MIN, DeviceProfile

REPEAT_TIMER = "PwsRepeat"
SEGMENT_OCTETS = 100  # octets of CB data per SIB11 / SIB12 segment (an eNB choice)
# broadcasts of a CMAS message "until further notice" (Number of Broadcasts 0) in this emulator
UNTIL_KILLED = 1_000_000

# The seed report's dates (ETWS while roaming, KDDI devices on a KDDI SIM).
KDDI_TSUNAMI_FROM = dt.date(2019, 7, 1)  # "released from the second half of 2019"
KDDI_EVACUATION_FROM = dt.date(2023, 1, 1)  # "released from the first half of 2023"
STANDARD_EVACUATION_ID = 0x1104  # CbcConfig.evacuation_id default (corenet.nf.cbc.warnings)
DOCOMO_EVACUATION_ID = 0xA003  # CbcConfig.docomo_evacuation_id default


def is_etws(message_identifier: int) -> bool:
    """TS 23.041 §9.4.1.2.2: 4352-4359 are ETWS (SIB10/SIB11), the rest goes to SIB12."""
    return 0x1100 <= message_identifier <= 0x1107


# ---------------------------------------------------------------------------------------------
# RRC encoding (eNB) and decoding (UE)
# ---------------------------------------------------------------------------------------------


def _si(sibs: list[tuple[str, dict[str, Any]]]) -> bytes:
    pdu = rrc.definitions().BCCH_DL_SCH_Message
    pdu.set_val({"message": ("c1", ("systemInformation", {
        "criticalExtensions": ("systemInformation-r8", {"sib-TypeAndInfo": sibs})}))})
    return bytes(pdu.to_uper())


def _segments(content: bytes) -> list[bytes]:
    return [content[i:i + SEGMENT_OCTETS] for i in range(0, len(content), SEGMENT_OCTETS)] or [b""]


def sib1(plmn: str, tac: int, eci: int, etws: bool, cmas: bool) -> bytes:
    """SIB1 (TS 36.331 §6.2.2) scheduling SIB10 + SIB11 and / or SIB12 in one SI message."""
    mcc, mnc = plmn[:3], plmn[3:]
    mapping = (["sibType10", "sibType11"] if etws else []) + (["sibType12-v920"] if cmas else [])
    pdu = rrc.definitions().BCCH_DL_SCH_Message
    pdu.set_val({"message": ("c1", ("systemInformationBlockType1", {
        "cellAccessRelatedInfo": {
            "plmn-IdentityList": [{"plmn-Identity": {"mcc": [int(d) for d in mcc],
                                                     "mnc": [int(d) for d in mnc]},
                                   "cellReservedForOperatorUse": "notReserved"}],
            "trackingAreaCode": (tac, 16), "cellIdentity": (eci, 28), "cellBarred": "notBarred",
            "intraFreqReselection": "allowed", "csg-Indication": False},
        "cellSelectionInfo": {"q-RxLevMin": -70},
        "freqBandIndicator": 1,
        "schedulingInfoList": [{"si-Periodicity": "rf8", "sib-MappingInfo": []},
                               {"si-Periodicity": "rf16", "sib-MappingInfo": mapping}],
        "si-WindowLength": "ms20",
        "systemInfoValueTag": 0,
    }))})
    return bytes(pdu.to_uper())


def paging(etws: bool, cmas: bool) -> bytes:
    """Paging (TS 36.331 §6.2.2, §5.3.2.3) telling UEs in idle mode to read SIB10/11 or SIB12."""
    body: dict[str, Any] = {}
    if etws:
        body["etws-Indication"] = "true"
    if cmas:
        body["nonCriticalExtension"] = {"nonCriticalExtension": {"cmas-Indication-r9": "true"}}
    pdu = rrc.definitions().PCCH_Message
    pdu.set_val({"message": ("c1", ("paging", body))})
    return bytes(pdu.to_uper())


def broadcast_pdus(message_identifier: int, serial_number: int, warning_type: bytes | None,
                   content: bytes, dcs: int) -> list[bytes]:
    """The BCCH-DL-SCH messages carrying one warning (TS 36.331 §6.3.1 SIB10 / SIB11 / SIB12)."""
    mid, serial = (message_identifier, 16), (serial_number, 16)
    parts = _segments(content)
    out = []
    if is_etws(message_identifier):
        out.append(_si([("sib10", {"messageIdentifier": mid, "serialNumber": serial,
                                   "warningType": warning_type or b"\x00\x00"})]))
        suffix, sib = "", "sib11"
    else:
        suffix, sib = "-r9", "sib12-v920"
    for n, part in enumerate(parts):
        value: dict[str, Any] = {
            f"messageIdentifier{suffix}": mid, f"serialNumber{suffix}": serial,
            f"warningMessageSegmentType{suffix}": (
                "lastSegment" if n == len(parts) - 1 else "notLastSegment"),
            f"warningMessageSegmentNumber{suffix}": n,
            f"warningMessageSegment{suffix}": part,
        }
        if n == 0:  # TS 36.331 §6.3.1: dataCodingScheme is present in the first segment
            value[f"dataCodingScheme{suffix}"] = bytes([dcs])
        out.append(_si([(sib, value)]))
    return out


def decode_bcch(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """The SIBs of one BCCH-DL-SCH SystemInformation message. Raises only DecodeError."""
    pdu = rrc.definitions().BCCH_DL_SCH_Message
    try:
        pdu.from_uper(data)
        kind, msg = pdu.get_val()["message"]
        if kind != "c1" or msg[0] != "systemInformation":
            return []
        ext, si = msg[1]["criticalExtensions"]
        return list(si["sib-TypeAndInfo"]) if ext == "systemInformation-r8" else []
    except Exception as exc:  # pycrate raises many kinds on invalid PER
        raise DecodeError("rrc", "decode", f"BCCH-DL-SCH-Message: {exc}") from None


# ---------------------------------------------------------------------------------------------
# The device decision (pure)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Presentation:
    displayed: bool
    sounded: bool
    reason: str


def presentation(device: DeviceProfile, message_identifier: int, *,
                 standard_evacuation_id: int = STANDARD_EVACUATION_ID,
                 docomo_evacuation_id: int = DOCOMO_EVACUATION_ID) -> Presentation:
    """Whether a roaming device presents (displays and sounds) a warning it received.

    The seed report's section "Earthquake / tsunami warnings (ETWS) while roaming", row by row
    (checked in this order):

    | device                          | warning (message identifier)        | presented when    |
    |---------------------------------|-------------------------------------|-------------------|
    | iOS >= 18.5 (2025-05-13)        | any, any rescuer, device and SIM    | always            |
    | iOS < 18.5                      | any                                 | never             |
    | Android / other, any seller     | docomo's own evacuation identifier  | sold by docomo    |
    |                                 |                                     | (or the profile's |
    |                                 |                                     | disaster_info_    |
    |                                 |                                     | docomo_id)        |
    | Android sold by KDDI (KDDI SIM) | tsunami (4353) or eq.+tsunami (4354)| released from     |
    |                                 |                                     | 2019-H2 and the   |
    |                                 |                                     | common spec       |
    | Android sold by KDDI (KDDI SIM) | evacuation, standard identifier     | released from     |
    |                                 |                                     | 2023-H1 on a 5G   |
    |                                 |                                     | SA SIM            |
    | Android / other                 | earthquake, test, tsunami, standard | the profile's     |
    |                                 | evacuation, CMAS                    | etws flags        |

    Earthquake + tsunami (4354) counts as a tsunami warning; test messages (4355) are
    presented like earthquake warnings; CMAS identifiers like the standard evacuation one.
    """
    etws = device.etws
    if device.os == "ios":
        if device.version_tuple >= IOS_ETWS_MIN:
            return Presentation(True, True, "iOS 18.5 or later presents every warning")
        return Presentation(False, False, f"iOS {device.os_version} before 18.5 does not "
                                          "present warnings while roaming")
    tsunami = message_identifier in (cbs.ETWS_TSUNAMI, cbs.ETWS_EARTHQUAKE_AND_TSUNAMI)
    if message_identifier == docomo_evacuation_id:
        if etws.disaster_info_docomo_id or device.carrier == "docomo":
            return Presentation(True, True, "device knows docomo's own identifier")
        return Presentation(False, False, f"device sold by {device.carrier} does not present "
                                          "docomo's own evacuation identifier")
    if device.os == "android" and device.carrier == "kddi":
        if tsunami:
            ok = device.release_date >= KDDI_TSUNAMI_FROM and etws.common_spec
            return Presentation(ok, ok, "KDDI device from 2019-H2 with the common specification"
                                if ok else "KDDI device before 2019-H2 or without the common "
                                           "specification: no tsunami warning")
        if message_identifier == standard_evacuation_id:
            ok = device.release_date >= KDDI_EVACUATION_FROM and device.sim == "5g-sa"
            return Presentation(ok, ok, "KDDI device from 2023-H1 on a 5G SA SIM" if ok
                                else "KDDI device before 2023-H1 or on a 4G SIM: no evacuation "
                                     "information")
    if tsunami:
        ok = etws.tsunami_warning
    elif message_identifier in (cbs.ETWS_EARTHQUAKE, cbs.ETWS_TEST):
        ok = etws.earthquake_warning
    else:
        ok = etws.disaster_info_standard_id
    return Presentation(ok, ok, "profile presents it" if ok else "profile does not present it")


# ---------------------------------------------------------------------------------------------
# UE reception
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One warning a UE read completely (decoded fields of its SIBs and CB data)."""

    message_identifier: int
    serial_number: int
    warning_type: int | None
    text: str
    dcs: int
    displayed: bool
    sounded: bool
    reason: str
    repetitions: int = 1


@dataclass
class WarningReceiver:
    """The UE's ETWS / CMAS reception (TS 36.331 §5.3.10.9 - §5.3.10.11)."""

    device: DeviceProfile
    standard_evacuation_id: int = STANDARD_EVACUATION_ID
    docomo_evacuation_id: int = DOCOMO_EVACUATION_ID
    warnings: dict[tuple[int, int], Received] = field(default_factory=dict)
    _primary: dict[tuple[int, int], int] = field(default_factory=dict)
    _segments: dict[tuple[int, int], dict[int, bytes]] = field(default_factory=dict)
    _last: dict[tuple[int, int], int] = field(default_factory=dict)
    _dcs: dict[tuple[int, int], int] = field(default_factory=dict)

    def receive(self, pdus: list[bytes]) -> list[Received]:
        """Read one broadcast; the warnings it completed that were new to this UE."""
        out = []
        for data in pdus:
            for name, sib in decode_bcch(data):
                done = self._sib(name, dict(sib))
                if done is not None:
                    out.append(done)
        return out

    def _sib(self, name: str, sib: dict[str, Any]) -> Received | None:
        suffix = "-r9" if name == "sib12-v920" else ""
        if name not in ("sib10", "sib11", "sib12-v920"):
            return None
        key = (sib[f"messageIdentifier{suffix}"][0], sib[f"serialNumber{suffix}"][0])
        if key in self.warnings:  # TS 23.041 §8.2: a repetition is not presented again
            old = self.warnings[key]
            if name != "sib10" and sib[f"warningMessageSegmentNumber{suffix}"] == 0:
                self.warnings[key] = replace(old, repetitions=old.repetitions + 1)
            return None
        if name == "sib10":
            self._primary[key] = int.from_bytes(sib["warningType"], "big") >> 9
            return None
        n = int(sib[f"warningMessageSegmentNumber{suffix}"])
        self._segments.setdefault(key, {})[n] = bytes(sib[f"warningMessageSegment{suffix}"])
        if f"dataCodingScheme{suffix}" in sib:
            self._dcs[key] = sib[f"dataCodingScheme{suffix}"][0]
        if sib[f"warningMessageSegmentType{suffix}"] == "lastSegment":
            self._last[key] = n
        parts = self._segments[key]
        last = self._last.get(key)
        if last is None or any(i not in parts for i in range(last + 1)) or key not in self._dcs:
            return None
        content = b"".join(parts[i] for i in range(last + 1))
        dcs = self._dcs[key]
        try:
            text = cbs.decode_warning_message_contents(content, dcs)
        except DecodeError as exc:
            text = f"<undecodable: {exc.detail}>"
        shown = presentation(self.device, key[0],
                             standard_evacuation_id=self.standard_evacuation_id,
                             docomo_evacuation_id=self.docomo_evacuation_id)
        got = Received(key[0], key[1], self._primary.get(key), text, dcs, shown.displayed,
                       shown.sounded, shown.reason)
        self.warnings[key] = got
        for table in (self._segments, self._last, self._dcs, self._primary):
            table.pop(key, None)
        return got


# ---------------------------------------------------------------------------------------------
# eNB broadcast
# ---------------------------------------------------------------------------------------------


@dataclass
class Broadcast:
    """A warning an eNB broadcasts on some of its cells."""

    message_identifier: int
    serial_number: int
    cells: tuple[int, ...]
    pdus: list[bytes]
    period_s: int
    remaining: int
    done: int = 0


def cells_in_area(area: tuple[str, Any] | None, cells: list[Any]) -> list[Any]:
    """The eNB's cells in a Warning Area List (TS 36.413 §9.2.1.46); all without one. The
    emulated cells' emergency area is their TAC (a 3-octet Emergency Area ID)."""
    if area is None:
        return list(cells)
    kind, items = area
    if kind == "cellIDList":
        wanted = {(str(i["pLMNidentity"]), int(i["cell-ID"])) for i in items}
        return [c for c in cells if any((str(p), c.eci) in wanted for p in c.plmns)]
    if kind == "trackingAreaListforWarning":
        tais = {(str(i["pLMNidentity"]), int(i["tAC"])) for i in items}
        return [c for c in cells if any((str(p), c.tac) in tais for p in c.plmns)]
    eais = {int.from_bytes(bytes(e), "big") for e in items}
    return [c for c in cells if c.tac in eais]


def start_broadcast(msg: Message, cells: list[Any]) -> Broadcast:
    """A WRITE-REPLACE WARNING REQUEST (TS 36.413 §9.1.13.1) as a broadcast on `cells`."""
    f = msg.fields
    content = f.get("WarningMessageContents") or cbs.warning_message_contents("")
    dcs = int(f.get("DataCodingScheme", cbs.DCS_GSM7))
    pdus = broadcast_pdus(int(f["MessageIdentifier"]), int(f["SerialNumber"]),
                          f.get("WarningType"), content, dcs)
    period = int(f["RepetitionPeriod"])
    count = int(f["NumberofBroadcastRequest"])
    if count == 0:
        # TS 36.413 §9.2.1.49 with §9.2.1.48: 0 with a period is "until further notice"
        # for CMAS, no broadcast of an ETWS secondary notification
        count = UNTIL_KILLED if period and not is_etws(int(f["MessageIdentifier"])) else 1
    return Broadcast(int(f["MessageIdentifier"]), int(f["SerialNumber"]),
                     tuple(c.eci for c in cells), pdus, period, count)


def completed_response(msg: Message, plmn: Plmn, cells: list[Any]) -> Message:
    """WRITE-REPLACE WARNING RESPONSE (TS 36.413 §9.1.13.2): the cells where it is broadcast."""
    return s1ap.write_replace_warning_response(
        int(msg.fields["MessageIdentifier"]), int(msg.fields["SerialNumber"]),
        [(plmn, c.eci) for c in cells] or None)


def kill_response(msg: Message, plmn: str, cells: tuple[int, ...], done: int = 0) -> Message:
    """KILL RESPONSE (TS 36.413 §9.1.13.4) with the cells where the broadcast stopped and the
    number of broadcasts done there."""
    fields: dict[str, Any] = {"MessageIdentifier": msg.fields["MessageIdentifier"],
                              "SerialNumber": msg.fields["SerialNumber"]}
    if cells:
        fields["BroadcastCancelledAreaList"] = ("cellID-Cancelled", [
            {"eCGI": {"pLMNidentity": plmn, "cell-ID": c}, "numberOfBroadcasts": done}
            for c in cells])
    return Message(s1ap.PROTOCOL, "KillResponse", s1ap.PROCEDURE_CODES["KillResponse"], fields)


@dataclass(frozen=True)
class OnAir:
    """An RRC PDU the eNB sent over the air (for captures): `channel` names Wireshark's LTE RRC
    dissector, "lte_rrc.bcch_dl_sch" or "lte_rrc.pcch"."""

    enb: str
    cell: int
    channel: str
    pdu: bytes

    @property
    def comment(self) -> str:
        return f"{self.enb} cell {self.cell:#x}"


class RrcCapture:
    """A pcapng file of RRC PDUs in Wireshark's exported-PDU framing, so that a Wireshark user
    sees the SIB1 / SIB10 / SIB11 / SIB12 / Paging messages the phones read."""

    def __init__(self, path: str | Any, start_us: int = 1_767_225_600_000_000) -> None:
        self._file = open(path, "wb")
        self._file.write(section_header_block())
        self._file.write(interface_description_block(LINKTYPE_WIRESHARK_UPPER_PDU))
        self._ts = start_us

    def record(self, air: OnAir) -> None:
        self._ts += 1000
        self._file.write(enhanced_packet_block(
            self._ts, exported_pdu(air.channel, air.pdu), comment=air.comment))

    def close(self) -> None:
        self._file.close()


class AirTap:
    """Records the eNB's broadcasts into a capture beside its S1AP (`EnbService(air=...)`):
    the RRC PDUs go on the writer's exported-PDU interface, stamped by the writer's clock."""

    def __init__(self, writer: PcapWriter) -> None:
        self.writer = writer

    def __call__(self, air: OnAir) -> None:
        self.writer.upper_pdu(air.channel, air.pdu, air.comment)


def repeat_actions(b: Broadcast) -> list[Any]:
    """Arm the next repetition, or stop (TS 36.413 §9.2.1.48 / §9.2.1.49)."""
    key = (b.message_identifier, b.serial_number)
    if b.done < b.remaining and b.period_s > 0:
        return [StartTimer(REPEAT_TIMER, key, float(b.period_s))]
    return [StopTimer(REPEAT_TIMER, key),
            LogEvent("pws.broadcast.done", {"message_identifier": key[0], "count": b.done})]


@dataclass
class EnbWarnings:
    """The warnings one eNB broadcasts, keyed by (Message Identifier, Serial Number). Its
    methods return the eNB's actions, with the S1AP answer as encoded bytes."""

    broadcasts: dict[tuple[int, int], Broadcast] = field(default_factory=dict)

    def on_write_replace(self, enb: Any, msg: Message, now: float) -> list[Any]:
        """TS 36.413 §8.13.2: schedule the broadcast, answer with the cells it is on."""
        cells = cells_in_area(msg.fields.get("WarningAreaList"), enb.cells)
        key = (int(msg.fields["MessageIdentifier"]), int(msg.fields["SerialNumber"]))
        out: list[Any] = [s1ap.encode(completed_response(msg, enb.plmn, cells))]
        if not cells:
            return out
        b = self.broadcasts[key] = start_broadcast(msg, cells)
        out.append(LogEvent("pws.broadcast.start", {
            "enb": enb.cfg.name, "message_identifier": key[0], "serial_number": key[1],
            "cells": list(b.cells), "period_s": b.period_s, "broadcasts": b.remaining}))
        return out + self._broadcast(enb, b)

    def on_kill(self, enb: Any, msg: Message, now: float) -> list[Any]:
        """TS 36.413 §8.13.3 (Kill): stop the broadcast, answer with the cells it stopped on."""
        key = (int(msg.fields["MessageIdentifier"]), int(msg.fields["SerialNumber"]))
        b = self.broadcasts.pop(key, None)
        cells, done = (b.cells, b.done) if b is not None else ((), 0)
        return [StopTimer(REPEAT_TIMER, key),
                s1ap.encode(kill_response(msg, str(enb.plmn), cells, done)),
                LogEvent("pws.broadcast.killed", {"enb": enb.cfg.name,
                                                  "message_identifier": key[0]})]

    def on_timer(self, enb: Any, key: Any) -> list[Any]:
        b = self.broadcasts.get(key)
        return [] if b is None else self._broadcast(enb, b)

    def _broadcast(self, enb: Any, b: Broadcast) -> list[Any]:
        """One repetition: SIB1 + Paging + the SIBs of the warning on each cell; the UEs
        camped there read them (TS 36.331 §5.2.1.4, §5.3.2.3)."""
        b.done += 1
        etws = is_etws(b.message_identifier)
        out: list[Any] = []
        for ctx in enb.ues.values():
            ue = ctx.ue
            cell = ue.cell.cell_id if ue.cell is not None else enb.cells[0].eci
            if cell not in b.cells:
                continue
            for got in ue.warnings.receive(b.pdus):
                out.append(LogEvent("ue.warning", {
                    "imsi": ue.key, "message_identifier": got.message_identifier,
                    "serial_number": got.serial_number, "text": got.text,
                    "displayed": got.displayed, "sounded": got.sounded, "reason": got.reason}))
        for c in enb.cells:
            if c.eci in b.cells:
                name = enb.cfg.name
                out += [OnAir(name, c.eci, "lte_rrc.bcch_dl_sch",
                              sib1(str(enb.plmn), c.tac, c.eci, etws, not etws)),
                        OnAir(name, c.eci, "lte_rrc.pcch", paging(etws, not etws))]
                out += [OnAir(name, c.eci, "lte_rrc.bcch_dl_sch", p) for p in b.pdus]
        out.append(LogEvent("pws.broadcast", {
            "enb": enb.cfg.name, "message_identifier": b.message_identifier, "number": b.done}))
        return out + repeat_actions(b)
