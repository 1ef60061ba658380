"""pcapng capture of corenet traffic with the standard framing of each interface.

S1AP over SCTP (TS 36.412 §7: port 36412, PPID 18), Diameter over SCTP or TCP (RFC 6733 §2.1:
port 3868; RFC 4960/9260 IANA PPID 46), GTPv2-C over UDP (TS 29.274 §4.2: port 2123), SIP over
UDP/TCP (RFC 3261 §18: port 5060). Whatever transport carried a message inside corenet, the
capture shows it as it would appear on that standard transport.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import BinaryIO

from corenet.pcap import layers
from corenet.pcap.framing import (
    LINKTYPE_WIRESHARK_UPPER_PDU,
    Endpoint,
    Frame,
    TcpStream,
    exported_pdu,
    flow_key,
    udp_datagram,
)
from corenet.pcap.pcapng import (
    LINKTYPE_RAW,
    enhanced_packet_block,
    interface_description_block,
    section_header_block,
)
from corenet.pcap.sctp import SctpAssociation

# 2026-01-01T00:00:00Z: the start of the synthetic clock used when none is given.
DEFAULT_EPOCH_US = 1_767_225_600_000_000
DEFAULT_STEP_US = 1_000

PPID_S1AP = 18  # TS 36.412 §7
PPID_DIAMETER = 46  # RFC 6733 §2.1 (IANA SCTP PPID registry)
PORT_S1AP = 36412
PORT_DIAMETER = 3868
PORT_GTPV2C = 2123
PORT_SIP = 5060


class PcapWriter:
    """Records messages as IP packets into a pcapng file.

    Deterministic: the same seed and the same timestamps give a byte-identical file. With
    `clock=None` the time starts at 2026-01-01T00:00:00Z and advances 1 ms per packet (the
    frozen time of reproducible captures); a running system records with `live_writer`.
    `flush`: every message reaches the file when it is recorded, so a reader sees it at once
    and a process killed later loses nothing already recorded.
    """

    def __init__(
        self,
        path_or_file: str | os.PathLike[str] | BinaryIO,
        clock: Callable[[], float] | None = None,
        seed: int = 0,
        stable_ports: bool = False,
        flush: bool = False,
    ) -> None:
        layers.load()  # now, not in the middle of the first procedure it records
        self._owns_file = isinstance(path_or_file, str | os.PathLike)
        if isinstance(path_or_file, str | os.PathLike):
            self._file: BinaryIO = open(path_or_file, "wb", buffering=io.DEFAULT_BUFFER_SIZE * 8)
        else:
            self._file = path_or_file
        self._clock = clock
        self._seed = seed
        self._next_default_us = DEFAULT_EPOCH_US
        self._sctp: dict[tuple[Endpoint, Endpoint], SctpAssociation] = {}
        self._tcp: dict[tuple[Endpoint, Endpoint], TcpStream] = {}
        self._incarnations: dict[tuple[str, tuple[Endpoint, Endpoint]], int] = {}
        self._closed = False
        self._ports = StablePorts() if stable_ports else None
        self._flush = flush
        self._upper_pdu_interface: int | None = None
        self._file.write(section_header_block())
        self._file.write(interface_description_block(LINKTYPE_RAW))
        if flush:
            self._file.flush()

    # -- records ---------------------------------------------------------------------------

    def sctp(
        self,
        src: Endpoint,
        dst: Endpoint,
        payload: bytes,
        ppid: int,
        stream: int = 0,
        comment: str | None = None,
        ts: float | None = None,
    ) -> None:
        """One user message on the SCTP association of (src, dst); handshake on first use."""
        src, dst = self._endpoints(src, dst)
        when = self._now(ts)
        key = flow_key(src, dst)
        assoc = self._sctp.get(key)
        packets: list[Frame] = []
        if assoc is None:
            assoc = SctpAssociation(src, dst, self._seed, self._incarnation("sctp", key))
            packets += assoc.handshake()
        packets += assoc.data(src, payload, ppid, stream)
        self._sctp[key] = assoc
        self._emit(packets, when, comment)

    def sctp_shutdown(self, src: Endpoint, dst: Endpoint, ts: float | None = None) -> None:
        """Graceful SHUTDOWN (RFC 9260 §9.2); a later message opens a new association."""
        src, dst = self._endpoints(src, dst)
        assoc = self._sctp.pop(flow_key(src, dst), None)
        if assoc is not None:
            self._emit(assoc.shutdown(src), self._now(ts), None)

    def tcp(
        self,
        src: Endpoint,
        dst: Endpoint,
        payload: bytes,
        comment: str | None = None,
        ts: float | None = None,
    ) -> None:
        """One message on the TCP connection of (src, dst); three-way handshake on first use."""
        src, dst = self._endpoints(src, dst)
        when = self._now(ts)
        key = flow_key(src, dst)
        stream = self._tcp.get(key)
        packets: list[Frame] = []
        if stream is None:
            stream = TcpStream(src, dst, self._seed, self._incarnation("tcp", key))
            packets += stream.handshake()
        packets += stream.data(src, payload)
        self._tcp[key] = stream
        self._emit(packets, when, comment)

    def tcp_close(self, src: Endpoint, dst: Endpoint, ts: float | None = None) -> None:
        """FIN exchange (RFC 9293 §3.6); a later message opens a new connection."""
        src, dst = self._endpoints(src, dst)
        stream = self._tcp.pop(flow_key(src, dst), None)
        if stream is not None:
            self._emit(stream.close(src), self._now(ts), None)

    def udp(
        self,
        src: Endpoint,
        dst: Endpoint,
        payload: bytes,
        comment: str | None = None,
        ts: float | None = None,
    ) -> None:
        """One datagram (RFC 768)."""
        src, dst = self._endpoints(src, dst)
        self._emit([udp_datagram(src, dst, payload)], self._now(ts), comment)

    def upper_pdu(
        self,
        proto_name: str,
        payload: bytes,
        comment: str | None = None,
        ts: float | None = None,
    ) -> None:
        """A PDU with no IP framing (an RRC message a cell broadcasts), on a second interface
        in Wireshark's exported-PDU framing: `proto_name` names the dissector
        ("lte_rrc.bcch_dl_sch", "lte_rrc.pcch"). The interface is described on first use."""
        if self._closed:
            raise ValueError("PcapWriter is closed")
        if self._upper_pdu_interface is None:
            self._file.write(interface_description_block(LINKTYPE_WIRESHARK_UPPER_PDU,
                                                         name="corenet-air"))
            self._upper_pdu_interface = 1
        self._emit([Frame(exported_pdu(proto_name, payload), True)], self._now(ts), comment,
                   self._upper_pdu_interface)

    # -- file ------------------------------------------------------------------------------

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._file.flush()
        if self._owns_file:
            self._file.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _endpoints(self, src: Endpoint, dst: Endpoint) -> tuple[Endpoint, Endpoint]:
        src, dst = _ep(src), _ep(dst)
        if self._ports is None:
            return src, dst
        return self._ports.map(src, dst)

    def _incarnation(self, kind: str, key: tuple[Endpoint, Endpoint]) -> int:
        # A reopened association/connection gets fresh tags/ISNs so readers never see old TSNs
        # or sequence numbers again (which they would mark as retransmissions).
        n = self._incarnations.get((kind, key), 0)
        self._incarnations[(kind, key)] = n + 1
        return n

    def _now(self, ts: float | None) -> float | None:
        if ts is not None:
            return ts
        if self._clock is not None:
            return self._clock()
        return None

    def _emit(self, frames: list[Frame], when: float | None, comment: str | None,
              interface_id: int = 0) -> None:
        if self._closed:
            raise ValueError("PcapWriter is closed")
        for frame in frames:
            if when is None:
                ts_us = self._next_default_us
                self._next_default_us += DEFAULT_STEP_US
            else:
                ts_us = round(when * 1_000_000)
            note = comment if frame.completes_message else None
            self._file.write(enhanced_packet_block(ts_us, frame.packet, note, interface_id))
        if self._flush:
            self._file.flush()


def live_writer(path: str | os.PathLike[str], seed: int = 0) -> PcapWriter:
    """The capture of a running system: wall-clock timestamps, each message written to the file
    as it is recorded (readable by tshark while the process runs; a kill loses nothing)."""
    return PcapWriter(path, clock=time.time, seed=seed, flush=True)


WELL_KNOWN_PORTS = frozenset({PORT_S1AP, PORT_DIAMETER, PORT_GTPV2C, PORT_SIP})


class StablePorts:
    """Shows a client's ephemeral port as its service's well-known port (or the next free one
    on that address), so that runs with the same seed give byte-identical captures."""

    def __init__(self) -> None:
        self._map: dict[Endpoint, Endpoint] = {}
        self._used: set[Endpoint] = set()

    def map(self, src: Endpoint, dst: Endpoint) -> tuple[Endpoint, Endpoint]:
        if dst[1] in WELL_KNOWN_PORTS and src[1] not in WELL_KNOWN_PORTS:
            self._used.add(dst)
            return self._stable(src, dst[1]), dst
        if src[1] in WELL_KNOWN_PORTS and dst[1] not in WELL_KNOWN_PORTS:
            self._used.add(src)
            return src, self._stable(dst, src[1])
        return src, dst

    def _stable(self, ephemeral: Endpoint, service_port: int) -> Endpoint:
        shown = self._map.get(ephemeral)
        if shown is None:
            port = service_port
            while (ephemeral[0], port) in self._used:
                port += 1
            shown = (ephemeral[0], port)
            self._used.add(shown)
            self._map[ephemeral] = shown
        return shown


def _ep(endpoint: Endpoint) -> Endpoint:
    return (str(endpoint[0]), int(endpoint[1]))

