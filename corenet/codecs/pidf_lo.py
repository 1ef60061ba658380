"""PIDF-LO location objects (RFC 4119, shapes and placement per RFC 5491, civic RFC 5139).

Parsed with the standard library's ElementTree. A document carrying a DTD is refused before
parsing: entity declarations are the vehicle of expansion bombs and external entity reads, and
RFC 4119 documents never need one. Errors are `DecodeError("sip", 400, ...)`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from corenet.core.errors import DecodeError

MAX_PIDF = 16 * 1024
NS = {
    "pidf": "urn:ietf:params:xml:ns:pidf",
    "gp": "urn:ietf:params:xml:ns:pidf:geopriv10",
    "gml": "http://www.opengis.net/gml",
    "gs": "http://www.opengis.net/pidflo/1.0",
    "ca": "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr",
    "dm": "urn:ietf:params:xml:ns:pidf:data-model",
}
# RFC 5491 §3: WGS 84 coordinate reference systems and the metre
CRS_2D = "urn:ogc:def:crs:EPSG::4326"
UOM_METRE = "urn:ogc:def:uom:EPSG::9001"
# RFC 5139 §3.1 civic address elements
CIVIC_ELEMENTS = ("country", "A1", "A2", "A3", "A4", "A5", "A6", "PRM", "PRD", "RD", "STS",
                  "POD", "POM", "RDSEC", "RDBR", "RDSUBBR", "HNO", "HNS", "LMK", "LOC", "FLR",
                  "NAM", "PC", "BLD", "UNIT", "ROOM", "SEAT", "PLC", "PCN", "POBOX", "ADDCODE")


def _error(detail: str) -> DecodeError:
    return DecodeError("sip", 400, f"PIDF-LO: {detail}")


@dataclass(frozen=True)
class LocationObject:
    entity: str
    latitude: float | None = None
    longitude: float | None = None
    radius_m: float | None = None  # a Circle (RFC 5491 §5.2.3); None for a Point
    civic: dict[str, str] = field(default_factory=dict)
    method: str | None = None  # RFC 4119 §2.2.3, e.g. "Cell", "GPS"
    timestamp: str | None = None
    device_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in {
            "entity": self.entity, "latitude": self.latitude, "longitude": self.longitude,
            "radius_m": self.radius_m, "civic": self.civic or None, "method": self.method,
            "timestamp": self.timestamp, "device_id": self.device_id}.items() if v is not None}


def decode(data: bytes) -> LocationObject:
    if len(data) > MAX_PIDF:
        raise _error(f"{len(data)} octets (limit {MAX_PIDF})")
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise _error("DTDs and entity declarations are refused")
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise _error(f"not well-formed XML ({exc})") from None
    if root.tag != f"{{{NS['pidf']}}}presence":
        raise _error(f"root element {root.tag[:80]!r} is not pidf:presence")
    geopriv = root.find(".//gp:geopriv", NS)
    if geopriv is None:
        raise _error("no gp:geopriv element (RFC 4119 §2.2)")
    info = geopriv.find("gp:location-info", NS)
    if info is None:
        raise _error("no gp:location-info element")
    lat, lon, radius = _geodetic(info)
    civic = _civic(info)
    device = root.find(".//dm:device", NS)
    return LocationObject(
        entity=root.get("entity", ""), latitude=lat, longitude=lon, radius_m=radius,
        civic=civic, method=_text(geopriv.find("gp:method", NS)),
        timestamp=_text(root.find(".//dm:timestamp", NS)) or _text(
            root.find(".//pidf:timestamp", NS)),
        device_id=_text(device.find("dm:deviceID", NS)) if device is not None else None)


def _text(el: ET.Element | None) -> str | None:
    return el.text.strip() if el is not None and el.text is not None else None


def _geodetic(info: ET.Element) -> tuple[float | None, float | None, float | None]:
    pos = info.find(".//gml:pos", NS)
    if pos is None:
        return None, None, None
    coords = (pos.text or "").split()
    if len(coords) not in (2, 3):
        raise _error(f"gml:pos {pos.text!r} is not 'lat lon'")
    try:
        lat, lon = float(coords[0]), float(coords[1])
    except ValueError:
        raise _error(f"gml:pos {pos.text!r} is not numeric") from None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise _error(f"gml:pos {pos.text!r} outside WGS 84 ranges")
    radius_el = info.find(".//gs:radius", NS)
    radius = None
    if radius_el is not None:
        try:
            radius = float((radius_el.text or "").strip())
        except ValueError:
            raise _error("gs:radius is not numeric") from None
    return lat, lon, radius


def _civic(info: ET.Element) -> dict[str, str]:
    address = info.find("ca:civicAddress", NS)
    if address is None:
        return {}
    out: dict[str, str] = {}
    for child in address:
        name = child.tag.rpartition("}")[2]
        if name in CIVIC_ELEMENTS and child.text is not None:
            out[name] = child.text.strip()
    return out


def encode(loc: LocationObject, *, device_key: str = "ue") -> bytes:
    """RFC 5491 §3.4: the location goes in a dm:device element (the UE's position)."""
    shape = ""
    if loc.latitude is not None and loc.longitude is not None:
        pos = f"<gml:pos>{loc.latitude:.6f} {loc.longitude:.6f}</gml:pos>"
        if loc.radius_m is None:
            shape = f'<gml:Point srsName="{CRS_2D}">{pos}</gml:Point>'
        else:
            shape = (f'<gs:Circle srsName="{CRS_2D}">{pos}<gs:radius uom="{UOM_METRE}">'
                     f"{loc.radius_m:g}</gs:radius></gs:Circle>")
    civic = ""
    if loc.civic:
        civic = "<ca:civicAddress>" + "".join(
            f"<ca:{k}>{escape(v)}</ca:{k}>" for k, v in loc.civic.items()
            if k in CIVIC_ELEMENTS) + "</ca:civicAddress>"
    method = f"<gp:method>{escape(loc.method)}</gp:method>" if loc.method else ""
    device_id = f"<dm:deviceID>{escape(loc.device_id)}</dm:deviceID>" if loc.device_id else ""
    stamp = f"<dm:timestamp>{escape(loc.timestamp)}</dm:timestamp>" if loc.timestamp else ""
    xmlns = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items() if p != "pidf")
    doc = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<presence xmlns="{NS["pidf"]}" {xmlns} entity={quoteattr(loc.entity)}>'
        f"<dm:device id={quoteattr(device_key)}><gp:geopriv><gp:location-info>{shape}{civic}"
        f"</gp:location-info><gp:usage-rules/>{method}</gp:geopriv>{device_id}{stamp}"
        f"</dm:device></presence>\n")
    return doc.encode("utf-8")
