"""SDP (RFC 4566) for a basic audio call, with RFC 3264 offer/answer helpers.

A malformed description raises `DecodeError("sip", 400, ...)`: the SIP layer answers the
request that carried it (RFC 3261 §21.4.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corenet.core.errors import DecodeError

MAX_SDP = 16 * 1024
MAX_LINES = 512

# RFC 3551 Table 4: static audio payload types we can answer with
STATIC_AUDIO: dict[int, str] = {0: "PCMU/8000", 8: "PCMA/8000"}
TELEPHONE_EVENT = "telephone-event/8000"  # RFC 4733
# TS 26.114 §6.2.2: AMR-WB and AMR (RFC 4867 payload format) on dynamic payload types, offered
# before G.711; fmtp per TS 26.114 §6.2.2.2 (mode changes at most every other frame, no
# redundancy), bandwidth-efficient (no octet-align, RFC 4867 §8.1)
AMR_WB_PT, AMR_PT = 104, 102
AMR_FMTP = "mode-change-capability=2;max-red=0"
DYNAMIC_AUDIO: dict[int, tuple[str, str]] = {AMR_WB_PT: ("AMR-WB/16000", AMR_FMTP),
                                             AMR_PT: ("AMR/8000", AMR_FMTP)}
VOICE_OFFER = (AMR_WB_PT, AMR_PT, 0, 8)
VOICE_CODECS = ("AMR-WB/16000", "AMR/8000", "PCMU/8000", "PCMA/8000")
# RFC 4733 §2.1 / TS 26.114 §6.2.3: telephone-event at the clock rate of the speech codec
TELEPHONE_EVENT_PT = {8000: 101, 16000: 100}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")  # RFC 4566 §6
# RFC 3264 §6.1: the answer's direction mirrors the offer's
_ANSWER_DIRECTION = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
                     "inactive": "inactive"}

Attribute = tuple[str, str | None]


def _error(detail: str) -> DecodeError:
    return DecodeError("sip", 400, f"SDP: {detail}")


@dataclass(frozen=True)
class Origin:
    """RFC 4566 §5.2 o= line."""

    username: str
    sess_id: str
    sess_version: str
    nettype: str
    addrtype: str
    address: str

    def __str__(self) -> str:
        return (f"{self.username} {self.sess_id} {self.sess_version} {self.nettype} "
                f"{self.addrtype} {self.address}")


@dataclass(frozen=True)
class Connection:
    """RFC 4566 §5.7 c= line."""

    nettype: str
    addrtype: str
    address: str

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"


@dataclass
class MediaDescription:
    """RFC 4566 §5.14 m= line and the lines of its section."""

    media: str
    port: int
    proto: str
    formats: list[str]
    connection: Connection | None = None
    attributes: list[Attribute] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)  # i, b, k lines kept in order

    def attribute(self, name: str) -> str | None:
        return next((v for k, v in self.attributes if k == name), None)

    @property
    def rtpmap(self) -> dict[str, str]:
        """Payload type -> encoding/clock rate, static types filled from RFC 3551."""
        out = {f: STATIC_AUDIO[int(f)] for f in self.formats if f.isdigit() and int(f) in
               STATIC_AUDIO}
        for k, v in self.attributes:
            if k == "rtpmap" and v:
                pt, _, enc = v.partition(" ")
                out[pt] = enc.strip()
        return out

    @property
    def direction(self) -> str:
        return next((k for k, _ in self.attributes if k in DIRECTIONS), "sendrecv")

    def to_dict(self) -> dict[str, Any]:
        return {"media": self.media, "port": self.port, "proto": self.proto,
                "formats": self.formats, "rtpmap": self.rtpmap, "direction": self.direction,
                "connection": str(self.connection) if self.connection else None,
                "attributes": [f"{k}:{v}" if v is not None else k for k, v in self.attributes]}


@dataclass
class SessionDescription:
    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    times: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)])
    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    version: int = 0
    other: list[tuple[str, str]] = field(default_factory=list)  # i u e p b z k r lines

    def audio(self) -> MediaDescription | None:
        return next((m for m in self.media if m.media == "audio"), None)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "origin": str(self.origin),
                "session_name": self.session_name,
                "connection": str(self.connection) if self.connection else None,
                "attributes": [f"{k}:{v}" if v is not None else k for k, v in self.attributes],
                "media": [m.to_dict() for m in self.media]}


def _connection(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3:
        raise _error(f"bad c= line {value[:60]!r}")
    return Connection(*parts)


def _attribute(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    if not name:
        raise _error("empty attribute")
    return (name, rest if colon else None)


def _media(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 4:
        raise _error(f"bad m= line {value[:60]!r}")
    port = parts[1].partition("/")[0]
    if not port.isdigit() or int(port) > 65535:
        raise _error(f"bad media port {parts[1][:20]!r}")
    return MediaDescription(parts[0], int(port), parts[2], parts[3:])


def decode(data: bytes) -> SessionDescription:
    """RFC 4566 §5: `<type>=<value>` lines, v= o= s= first, t= before the media sections."""
    if len(data) > MAX_SDP:
        raise _error(f"{len(data)} octets")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _error("not UTF-8") from None
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
    if len(lines) > MAX_LINES:
        raise _error(f"more than {MAX_LINES} lines")
    pairs: list[tuple[str, str]] = []
    for line in lines:
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise _error(f"bad line {line[:60]!r}")
        pairs.append((line[0], line[2:]))
    if len(pairs) < 3 or [k for k, _ in pairs[:3]] != ["v", "o", "s"] or pairs[0][1] != "0":
        raise _error("must start with v=0, o=, s= (RFC 4566 §5)")
    origin = pairs[1][1].split()
    if len(origin) != 6:
        raise _error(f"bad o= line {pairs[1][1][:60]!r}")
    sd = SessionDescription(Origin(*origin), pairs[2][1], times=[])
    current: MediaDescription | None = None
    for key, value in pairs[3:]:
        if key == "m":
            current = _media(value)
            sd.media.append(current)
        elif key == "c":
            if current is None:
                sd.connection = _connection(value)
            else:
                current.connection = _connection(value)
        elif key == "a":
            (sd.attributes if current is None else current.attributes).append(_attribute(value))
        elif key == "t" and current is None:
            times = value.split()
            if len(times) != 2 or not all(t.isdigit() for t in times):
                raise _error(f"bad t= line {value[:40]!r}")
            sd.times.append((int(times[0]), int(times[1])))
        else:
            (sd.other if current is None else current.other).append((key, value))
    if not sd.times:
        raise _error("no t= line (RFC 4566 §5.9)")
    return sd


def encode(sd: SessionDescription) -> bytes:
    lines = [f"v={sd.version}", f"o={sd.origin}", f"s={sd.session_name}"]
    lines += [f"{k}={v}" for k, v in sd.other if k in "iuep"]
    if sd.connection is not None:
        lines.append(f"c={sd.connection}")
    lines += [f"{k}={v}" for k, v in sd.other if k == "b"]
    lines += [f"t={a} {b}" for a, b in sd.times]
    lines += [f"{k}={v}" for k, v in sd.other if k not in "iuepb"]
    lines += [_attr_line(a) for a in sd.attributes]
    for m in sd.media:
        lines.append(f"m={m.media} {m.port} {m.proto} {' '.join(m.formats)}")
        lines += [f"{k}={v}" for k, v in m.other if k == "i"]
        if m.connection is not None:
            lines.append(f"c={m.connection}")
        lines += [f"{k}={v}" for k, v in m.other if k != "i"]
        lines += [_attr_line(a) for a in m.attributes]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _attr_line(attr: Attribute) -> str:
    return f"a={attr[0]}" if attr[1] is None else f"a={attr[0]}:{attr[1]}"


def _addrtype(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def audio_offer(address: str, port: int, *, session_id: int = 1, username: str = "-",
                payload_types: tuple[int, ...] = VOICE_OFFER, telephone_event: bool = True,
                ptime: int = 20) -> SessionDescription:
    """RFC 3264 §5: one audio stream, RTP/AVP, the given codecs in order of preference (by
    default AMR-WB, AMR, PCMU, PCMA: TS 26.114 §6.2.2), and RFC 4733 events at each clock
    rate offered."""
    formats = [str(pt) for pt in payload_types]
    attrs: list[Attribute] = []
    rates: list[int] = []
    for pt in payload_types:
        enc, fmtp = DYNAMIC_AUDIO.get(pt, (STATIC_AUDIO.get(pt, ""), ""))
        if enc:
            attrs.append(("rtpmap", f"{pt} {enc}"))
        if fmtp:
            attrs.append(("fmtp", f"{pt} {fmtp}"))
        rate = _clock_rate(enc)
        if rate in TELEPHONE_EVENT_PT and rate not in rates:
            rates.append(rate)
    if telephone_event:
        for rate in sorted(rates, reverse=True):
            event = TELEPHONE_EVENT_PT[rate]
            formats.append(str(event))
            attrs += [("rtpmap", f"{event} telephone-event/{rate}"),
                      ("fmtp", f"{event} 0-16")]
    attrs += [("ptime", str(ptime)), ("sendrecv", None)]
    conn = Connection("IN", _addrtype(address), address)
    origin = Origin(username, str(session_id), str(session_id), "IN", _addrtype(address),
                    address)
    return SessionDescription(origin, "-", conn, [(0, 0)], [],
                              [MediaDescription("audio", port, "RTP/AVP", formats,
                                                attributes=attrs)])


def audio_answer(offer: SessionDescription, address: str, port: int, *, session_id: int = 1,
                 username: str = "-", accept: tuple[str, ...] = VOICE_CODECS
                 ) -> SessionDescription:
    """RFC 3264 §6: one media line per offered one; the first offered codec we accept is kept
    with its fmtp (RFC 4867 §8.3.1: an AMR answer keeps the offer's payload format options),
    and telephone-event at the same clock rate if offered (RFC 4733 §2.1); an unacceptable
    stream is refused with port 0."""
    conn = Connection("IN", _addrtype(address), address)
    origin = Origin(username, str(session_id), str(session_id), "IN", _addrtype(address),
                    address)
    media: list[MediaDescription] = []
    for m in offer.media:
        rtpmap = m.rtpmap
        chosen = next((pt for pt in m.formats if rtpmap.get(pt, "").upper() in
                       {a.upper() for a in accept}), None)
        if m.media != "audio" or m.port == 0 or chosen is None:
            media.append(MediaDescription(m.media, 0, m.proto, m.formats[:1]))
            continue
        formats = [chosen]
        attrs: list[Attribute] = [("rtpmap", f"{chosen} {rtpmap[chosen]}")]
        attrs += [("fmtp", v) for k, v in m.attributes
                  if k == "fmtp" and v and v.split(" ", 1)[0] == chosen]
        rate = _clock_rate(rtpmap[chosen])
        event_enc = f"telephone-event/{rate}"
        event = next((pt for pt, enc in rtpmap.items()
                      if enc.lower() == event_enc and pt in m.formats), None)
        if event is not None:
            formats.append(event)
            attrs += [("rtpmap", f"{event} {event_enc}"), ("fmtp", f"{event} 0-16")]
        attrs.append((_ANSWER_DIRECTION[m.direction], None))
        media.append(MediaDescription("audio", port, m.proto, formats, attributes=attrs))
    return SessionDescription(origin, "-", conn, [(0, 0)], [], media)


def _clock_rate(encoding: str) -> int:
    """The clock rate of an rtpmap encoding "name/rate[/channels]" (RFC 4566 §6), 0 if none."""
    parts = encoding.split("/")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
