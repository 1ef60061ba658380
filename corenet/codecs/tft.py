"""Traffic flow templates (TS 24.008 §10.5.6.12) over pycrate, and their construction from the
Flow-Descriptions of PCC rules (TS 29.212 §5.3.8, IPFilterRule of RFC 6733 §4.3.1).

The same value part is the Bearer TFT of GTPv2-C (TS 29.274 §8.19) and the TFT IE of the NAS
Activate Dedicated EPS Bearer Context Request (TS 24.301 §9.9.4.16), so one codec serves both.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pycrate_mobile.TS24008_IE import TFT as _PycrateTft

# TS 24.008 Table 10.5.162: TFT operation codes
OP_CREATE = 1
OP_DELETE = 2
# packet filter direction (TS 24.008 §10.5.6.12, octet "packet filter direction")
DOWNLINK, UPLINK, BIDIRECTIONAL = 1, 2, 3
# packet filter component types (Table 10.5.162)
_IPV4_REMOTE, _IPV6_REMOTE_PREFIX = 0x10, 0x21
_PROTOCOL, _LOCAL_PORT, _REMOTE_PORT = 0x30, 0x40, 0x50
MAX_FILTERS = 15  # the number of packet filters is 4 bits, "1111" kept for 15 at most


class FlowError(ValueError):
    """A Flow-Description this P-GW cannot turn into a packet filter (TS 29.212 §5.3.38
    INCORRECT_FLOW_INFORMATION)."""


@dataclass(frozen=True)
class PacketFilter:
    """One packet filter as the UE applies it (TS 24.008 §10.5.6.12, TS 23.060 §15.3.2):
    `remote` is the peer's address (network or prefix), ports are the UE's (local) and the
    peer's (remote)."""

    identifier: int
    direction: int
    precedence: int
    remote: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    protocol: int | None = None
    local_port: int | None = None
    remote_port: int | None = None


def encode(filters: list[PacketFilter] | tuple[PacketFilter, ...], op: int = OP_CREATE) -> bytes:
    """The TFT value part (without IEI and length) holding `filters`."""
    if not 0 < len(filters) <= MAX_FILTERS:
        raise ValueError(f"a TFT holds 1..{MAX_FILTERS} packet filters")
    tft = _PycrateTft()
    tft.set_val({"Opcode": op, "E": 0, "PktFilters": [_filter_val(f) for f in filters]})
    return tft.to_bytes()


def _filter_val(f: PacketFilter) -> dict[str, object]:
    comps: list[dict[str, object]] = []
    if isinstance(f.remote, ipaddress.IPv4Network):
        comps.append({"Type": _IPV4_REMOTE, "Value": {
            "Address": f.remote.network_address.packed, "Netmask": f.remote.netmask.packed}})
    elif isinstance(f.remote, ipaddress.IPv6Network):
        comps.append({"Type": _IPV6_REMOTE_PREFIX, "Value": {
            "Address": f.remote.network_address.packed, "PrefixLen": f.remote.prefixlen}})
    if f.protocol is not None:
        comps.append({"Type": _PROTOCOL, "Value": f.protocol})
    if f.local_port is not None:
        comps.append({"Type": _LOCAL_PORT, "Value": f.local_port})
    if f.remote_port is not None:
        comps.append({"Type": _REMOTE_PORT, "Value": f.remote_port})
    return {"Dir": f.direction, "Id": f.identifier, "Precedence": f.precedence, "Cont": comps}


def decode(raw: bytes) -> tuple[int, tuple[PacketFilter, ...]]:
    """(operation code, packet filters) of a TFT value part; ValueError when malformed
    (TS 24.301 §6.4.2.4: a syntactical error in the TFT)."""
    tft = _PycrateTft()
    try:
        tft.from_bytes(raw)
    except Exception as exc:  # pycrate raises its own errors on short buffers
        raise ValueError(f"TFT: {exc}") from None
    if tft.to_bytes() != raw:
        raise ValueError("TFT: trailing or inconsistent octets")
    op = tft["Opcode"].get_val()
    filters = []
    for pf in tft["PktFilters"]:
        values: dict[str, object] = {}
        for comp in pf["Cont"]:
            kind, value = comp["Type"].get_val(), comp["Value"].get_val()
            if kind == _IPV4_REMOTE:
                mask = int.from_bytes(_packed(value[1], 4), "big")
                values["remote"] = ipaddress.IPv4Network(
                    (ipaddress.IPv4Address(_packed(value[0], 4)), bin(mask).count("1")),
                    strict=False)
            elif kind == _IPV6_REMOTE_PREFIX:
                values["remote"] = ipaddress.IPv6Network(
                    (ipaddress.IPv6Address(_packed(value[0], 16)), int(value[1])), strict=False)
            elif kind == _PROTOCOL:
                values["protocol"] = int(value)
            elif kind == _LOCAL_PORT:
                values["local_port"] = int(value)
            elif kind == _REMOTE_PORT:
                values["remote_port"] = int(value)
        filters.append(PacketFilter(
            identifier=pf["Id"].get_val(), direction=pf["Dir"].get_val(),
            precedence=pf["Precedence"].get_val(), **values))  # type: ignore[arg-type]
    return op, tuple(filters)


def _packed(value: object, size: int) -> bytes:
    if isinstance(value, bytes):
        return value
    return ipaddress.ip_address(str(value)).packed[-size:]


# --- Flow-Description (TS 29.212 §5.3.8) -> packet filter ----------------------------------


@dataclass(frozen=True)
class Flow:
    """One IPFilterRule of a Flow-Description: `direction` DOWNLINK for "out", UPLINK for
    "in" (TS 29.212 §5.3.8, §5.4.2: "out" towards the UE)."""

    direction: int
    protocol: int | None
    source: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    source_port: int | None
    destination: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    destination_port: int | None


def parse_flow(text: str) -> Flow:
    """``permit out 17 from 10.45.0.2 50000 to 10.46.0.7 40000`` (RFC 6733 §4.3.1, with the
    restrictions of TS 29.212 §5.3.8: action permit, no options); "any" for no address."""
    words = text.split()
    if len(words) < 7 or words[0] != "permit" or words[1] not in ("in", "out"):
        raise FlowError(f"not a 'permit in|out' IPFilterRule: {text!r}")
    protocol: int | None
    if words[2] == "ip":
        protocol = None
    elif _number(words[2]) and int(words[2]) < 256:
        protocol = int(words[2])
    else:
        raise FlowError(f"protocol {words[2]!r}")
    if words[3] != "from":
        raise FlowError(f"'from' expected: {text!r}")
    pos = 4
    source, source_port, pos = _endpoint(words, pos, text)
    if pos >= len(words) or words[pos] != "to":
        raise FlowError(f"'to' expected: {text!r}")
    destination, destination_port, pos = _endpoint(words, pos + 1, text)
    if pos != len(words):
        raise FlowError(f"options are not allowed (TS 29.212 §5.3.8): {text!r}")
    return Flow(DOWNLINK if words[1] == "out" else UPLINK, protocol, source, source_port,
                destination, destination_port)


def _number(word: str) -> bool:
    return word.isascii() and word.isdigit()


def _endpoint(words: list[str], pos: int, text: str
              ) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network | None, int | None, int]:
    if pos >= len(words):
        raise FlowError(f"address expected: {text!r}")
    address: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    if words[pos] != "any":
        try:
            address = ipaddress.ip_network(words[pos], strict=False)
        except ValueError:
            raise FlowError(f"address {words[pos]!r}") from None
    pos += 1
    port = None
    if pos < len(words) and _number(words[pos]):
        port = int(words[pos])
        if port > 0xFFFF:
            raise FlowError(f"port {port}")
        pos += 1
    return address, port, pos


def packet_filter(flow: Flow, ue: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
                  identifier: int, precedence: int) -> PacketFilter:
    """The UE's view of `flow`: the remote end is the one that is not the UE's address; with
    neither, the source of a downlink flow and the destination of an uplink one.

    The UE's address also gives the direction: Gx writes uplink flows as "permit out" with the
    UE as the source (TS 29.212 §5.3.8, with Flow-Direction UPLINK, §5.3.65), Rx as "permit in"
    (TS 29.214 §5.3.8); both are uplink."""
    direction = flow.direction
    if ue is not None and flow.source is not None and ue in flow.source:
        remote, remote_port, local_port = flow.destination, flow.destination_port, flow.source_port
        direction = UPLINK
    elif ue is not None and flow.destination is not None and ue in flow.destination:
        remote, remote_port, local_port = flow.source, flow.source_port, flow.destination_port
        direction = DOWNLINK
    elif flow.direction == DOWNLINK:
        remote, remote_port, local_port = flow.source, flow.source_port, flow.destination_port
    else:
        remote, remote_port, local_port = flow.destination, flow.destination_port, flow.source_port
    return PacketFilter(identifier, direction, precedence, remote, flow.protocol,
                        local_port, remote_port)
