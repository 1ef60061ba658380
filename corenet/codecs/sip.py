"""SIP messages (RFC 3261 §7, §20, §25), written by hand: pycrate has no SIP.

`decode(data)` parses one request or response with strict limits and raises only
`DecodeError("sip", status, detail, partial=..., call_id=..., cseq=..., via=...)`, where the
status is the response a UAS answers with (§8.2, §21.4, §21.5). `encode(msg)` serializes; a
message built here round-trips byte-exactly, a parsed one re-serializes canonically (one header
value per line, compact names kept as received).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from corenet.codecs.base import Message
from corenet.core.errors import DecodeError

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE = 65535  # §18.1.1: the largest UDP datagram
MAX_HEADERS = 128
MAX_HEADER_LINE = 8 * 1024
MAX_FOLDED_LINES = 32  # §7.3.1 line folding, in the whole header section
MAX_URI = 4096
MAX_BODY_PARTS = 16
# §8.1.1.7: the branch of an RFC 3261 transaction starts with the magic cookie
MAGIC_COOKIE = "z9hG4bK"

BAD_REQUEST = 400
REQUEST_ENTITY_TOO_LARGE = 413
REQUEST_URI_TOO_LONG = 414
UNSUPPORTED_URI_SCHEME = 416
BAD_EXTENSION = 420
MESSAGE_TOO_LARGE = 513
VERSION_NOT_SUPPORTED = 505

# §21: reason phrases we put on responses we build
REASONS: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 301: "Moved Permanently",
    302: "Moved Temporarily", 380: "Alternative Service", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout",
    410: "Gone", 413: "Request Entity Too Large", 414: "Request-URI Too Long",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    421: "Extension Required", 423: "Interval Too Brief", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops",
    484: "Address Incomplete", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 491: "Request Pending", 500: "Server Internal Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Server Time-out", 505: "Version Not Supported", 513: "Message Too Large",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

# §7.3.3 compact forms, plus those registered later (RFC 3265, 3515, 3841, 3892, 4028, 4474)
COMPACT: dict[str, str] = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact",
    "k": "Supported", "l": "Content-Length", "m": "Contact", "n": "Identity-Info",
    "o": "Event", "r": "Refer-To", "s": "Subject", "t": "To", "u": "Allow-Events",
    "v": "Via", "x": "Session-Expires", "y": "Identity",
}

_KNOWN = (
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
    "Content-Disposition", "Content-Encoding", "Content-ID", "Content-Language",
    "Content-Length", "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From",
    "Geolocation", "Geolocation-Error", "Geolocation-Routing", "Identity", "Identity-Info",
    "In-Reply-To", "Max-Forwards", "MIME-Version", "Min-Expires", "Organization",
    "P-Access-Network-Info", "P-Asserted-Identity", "P-Associated-URI", "P-Called-Party-ID",
    "P-Charging-Vector", "P-Preferred-Identity", "P-Preferred-Service", "P-Visited-Network-ID",
    "Path", "Priority", "Privacy", "Proxy-Authenticate", "Proxy-Authorization",
    "Proxy-Require", "RAck", "Reason", "Record-Route", "Refer-To", "Referred-By",
    "Reject-Contact", "Reply-To", "Request-Disposition", "Require", "Retry-After", "Route",
    "RSeq", "Security-Client", "Security-Server", "Security-Verify", "Server", "Service-Route",
    "Session-Expires", "Subject", "Supported", "Timestamp", "To", "Unsupported", "User-Agent",
    "Via", "Warning", "WWW-Authenticate",
)
CANONICAL: dict[str, str] = {n.lower(): n for n in _KNOWN}

# Headers whose grammar is a comma-separated list (§7.3.1 allows combining them on one line).
# Never WWW-Authenticate/Authorization/Proxy-*: their challenge/credentials contain commas.
LIST_HEADERS = frozenset(n.lower() for n in (
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Call-Info", "Contact", "Content-Encoding", "Content-Language",
    "Error-Info", "Geolocation", "In-Reply-To", "P-Asserted-Identity", "P-Associated-URI",
    "P-Preferred-Identity", "P-Preferred-Service", "P-Visited-Network-ID", "Path",
    "Proxy-Require", "Reason", "Record-Route", "Reject-Contact", "Require", "Route",
    "Security-Client", "Security-Server", "Security-Verify", "Service-Route", "Supported",
    "Unsupported", "Via", "Warning",
))

URI_SCHEMES = frozenset({"sip", "sips", "tel", "urn"})
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
_TEL_CHARS = frozenset("0123456789+-.()*#ABCDEFabcdef")
_HEX = frozenset("0123456789ABCDEFabcdef")
NO_CLOSE_DELIMITER = "multipart body without a close delimiter (RFC 2046 §5.1.1)"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
# §8.2.2.3: extensions named in Require that a UAS does not support earn a 420
DEFAULT_SUPPORTED: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Limits:
    """What `decode` accepts: beyond these a request is answered 400, 413 or 513 (§21.4.1,
    §21.4.11, §21.5.14) rather than parsed."""

    max_message: int = MAX_MESSAGE
    max_headers: int = MAX_HEADERS
    max_header_line: int = MAX_HEADER_LINE
    max_folded_lines: int = MAX_FOLDED_LINES


DEFAULT_LIMITS = Limits()


def canonical_name(name: str) -> str:
    """Long, canonically capitalized form of a header name (§7.3.3, case-insensitive §7.3.1)."""
    low = name.lower()
    if low in COMPACT:
        return COMPACT[low]
    return CANONICAL.get(low, name)


def _is_token(text: str) -> bool:
    return bool(text) and all(c in _TOKEN_CHARS for c in text)


def _error(status: int, detail: str, **extra: Any) -> DecodeError:
    return DecodeError("sip", status, detail, **extra)


# --- lexical helpers (linear scans: no backtracking regexes on peer input) -----------------


def split_outside(text: str, sep: str) -> list[str]:
    """Split on `sep` outside double quotes and <...> (§25.1 quoted-string, §20.10 name-addr)."""
    parts: list[str] = []
    buf: list[str] = []
    quoted = False
    angle = False
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"' and not angle:
            quoted = not quoted
        elif not quoted and ch == "<":
            angle = True
        elif not quoted and ch == ">":
            angle = False
        elif ch == sep and not quoted and not angle:
            parts.append("".join(buf).strip())
            buf = []
            continue
        buf.append(ch)
    if quoted:
        raise _error(BAD_REQUEST, f"unterminated quoted string in {text[:80]!r}")
    parts.append("".join(buf).strip())
    return parts


Params = tuple[tuple[str, str | None], ...]


def parse_params(items: Iterable[str]) -> Params:
    """`;name[=value]` generic parameters (§25.1 generic-param); names are case-insensitive."""
    out: list[tuple[str, str | None]] = []
    for item in items:
        if not item:
            raise _error(BAD_REQUEST, "empty parameter")
        name, eq, value = item.partition("=")
        name = name.strip()
        if not _is_token(name):
            raise _error(BAD_REQUEST, f"bad parameter name {name[:40]!r}")
        out.append((name.lower(), value.strip() if eq else None))
    return tuple(out)


def _format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def _param(params: Params, name: str) -> str | None:
    for k, v in params:
        if k == name:
            return v
    return None


def _has_param(params: Params, name: str) -> bool:
    return any(k == name for k, _ in params)


# --- URIs (§19.1 SIP/SIPS, RFC 3966 tel, RFC 5031 urn:service) ------------------------------


@dataclass(frozen=True)
class Uri:
    """A parsed URI. `user` holds the tel: number; `opaque` the NSS of a urn: (e.g.
    "service:sos.fire")."""

    scheme: str
    user: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    params: Params = ()
    headers: str | None = None
    opaque: str | None = None

    def __str__(self) -> str:
        if self.scheme == "urn":
            return f"urn:{self.opaque}"
        if self.scheme == "tel":
            return f"tel:{self.user}{_format_params(self.params)}"
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (f":{self.password}" if self.password is not None else "") + "@"
        port = f":{self.port}" if self.port is not None else ""
        hdrs = f"?{self.headers}" if self.headers is not None else ""
        return f"{self.scheme}:{userinfo}{self.host}{port}{_format_params(self.params)}{hdrs}"

    def param(self, name: str) -> str | None:
        return _param(self.params, name.lower())

    @property
    def service(self) -> str | None:
        """The RFC 5031 service of a urn:service: URI, e.g. "sos.fire"."""
        if self.scheme == "urn" and self.opaque and self.opaque.lower().startswith("service:"):
            return self.opaque[len("service:"):].lower()
        return None

    @property
    def is_emergency(self) -> bool:
        """RFC 5031 §4.2: urn:service:sos and its sub-services."""
        service = self.service
        return service is not None and (service == "sos" or service.startswith("sos."))


def parse_uri(text: str) -> Uri:
    """Parse a Request-URI or name-addr URI; an unknown scheme is 416 (§8.2.2.1)."""
    if len(text) > MAX_URI:
        raise _error(REQUEST_URI_TOO_LONG, f"URI of {len(text)} characters")
    scheme, sep, rest = text.partition(":")
    if not sep or not scheme or not scheme[0].isalpha() or not all(
            c.isalnum() or c in "+-." for c in scheme):
        raise _error(BAD_REQUEST, f"not a URI: {text[:80]!r}")
    scheme = scheme.lower()
    if scheme not in URI_SCHEMES:
        raise _error(UNSUPPORTED_URI_SCHEME, f"URI scheme {scheme!r} not supported")
    if any(c.isspace() for c in rest) or not rest:
        raise _error(BAD_REQUEST, f"bad URI {text[:80]!r}")
    if scheme == "urn":
        nid, colon, nss = rest.partition(":")
        if not colon or not nss or not all(c.isalnum() or c == "-" for c in nid):
            raise _error(BAD_REQUEST, f"bad urn {text[:80]!r}")
        return Uri("urn", opaque=rest)
    if scheme == "tel":
        number, *params = rest.split(";")
        if not number or not all(c in _TEL_CHARS for c in _unescaped(number)):
            raise _error(BAD_REQUEST, f"bad tel number {number[:40]!r}")
        return Uri("tel", user=number, params=parse_params(params))
    return _parse_sip_uri(scheme, rest)


def _unescaped(text: str) -> str:
    """RFC 3966 §3 / RFC 3261 §25.1: %HH stands for its character (a '#' travels as %23);
    a '%' not followed by two hex digits is left as is, and is no tel character."""
    if "%" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "%" and all(c in _HEX for c in text[i + 1:i + 3]) and i + 3 <= len(text):
            out.append(chr(int(text[i + 1:i + 3], 16)))
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _parse_sip_uri(scheme: str, rest: str) -> Uri:
    rest, q, headers = rest.partition("?")
    userinfo, at, hostpart = rest.rpartition("@")
    host_port, *params = hostpart.split(";")
    user: str | None = None
    password: str | None = None
    if at:
        user, colon, pw = userinfo.partition(":")
        password = pw if colon else None
        if not user:
            raise _error(BAD_REQUEST, "empty user part in SIP URI")
    host, port = parse_hostport(host_port)
    return Uri(scheme, user, password, host, port, parse_params(params),
               headers if q else None)


def parse_hostport(text: str) -> tuple[str, int | None]:
    """§25.1 hostport: hostname / IPv4 / [IPv6], optional :port (0..65535)."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not all(c in "0123456789abcdefABCDEF:." for c in text[1:end]):
            raise _error(BAD_REQUEST, f"bad IPv6 reference {text[:60]!r}")
        host, tail = text[:end + 1], text[end + 1:]
        if tail and not tail.startswith(":"):
            raise _error(BAD_REQUEST, f"bad hostport {text[:60]!r}")
        port_text = tail[1:] if tail else None
    else:
        host, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
        if not host or not all(c in _HOST_CHARS for c in host):
            raise _error(BAD_REQUEST, f"bad host {host[:60]!r}")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or len(port_text) > 5 or int(port_text) > 65535:
        raise _error(BAD_REQUEST, f"bad port {port_text[:10]!r}")
    return host, int(port_text)


# --- structured header values ------------------------------------------------------------


@dataclass(frozen=True)
class NameAddr:
    """From, To, Contact, Route, Record-Route, P-Asserted-Identity values (§20.10, §20.20)."""

    uri: Uri
    display: str | None = None
    params: Params = ()
    star: bool = False  # Contact: * (§10.2.2)

    def __str__(self) -> str:
        if self.star:
            return "*"
        display = f"{self.display} " if self.display else ""
        return f"{display}<{self.uri}>{_format_params(self.params)}"

    @property
    def tag(self) -> str | None:
        return _param(self.params, "tag")

    def param(self, name: str) -> str | None:
        return _param(self.params, name.lower())

    def with_tag(self, tag: str) -> NameAddr:
        kept = tuple((k, v) for k, v in self.params if k != "tag")
        return NameAddr(self.uri, self.display, kept + (("tag", tag),))


def parse_name_addr(value: str) -> NameAddr:
    """name-addr / addr-spec with header parameters (§20.10: in addr-spec form the parameters
    after the URI belong to the header, not the URI)."""
    value = value.strip()
    if value == "*":
        return NameAddr(Uri("sip", host="*"), star=True)
    lt = _find_unquoted(value, "<")
    if lt >= 0:
        gt = value.find(">", lt)
        if gt < 0:
            raise _error(BAD_REQUEST, f"unterminated <URI> in {value[:80]!r}")
        display = value[:lt].strip() or None
        if display is not None and display.startswith('"') != display.endswith('"'):
            raise _error(BAD_REQUEST, f"bad display name {display[:40]!r}")
        uri = parse_uri(value[lt + 1:gt].strip())
        tail = value[gt + 1:].strip()
        if tail and not tail.startswith(";"):
            raise _error(BAD_REQUEST, f"junk after <URI> in {value[:80]!r}")
        params = parse_params(split_outside(tail[1:], ";")) if tail else ()
        return NameAddr(uri, display, params)
    uri_text, *items = split_outside(value, ";")
    if not uri_text:
        raise _error(BAD_REQUEST, "empty address")
    return NameAddr(parse_uri(uri_text), None, parse_params(items))


def _find_unquoted(text: str, ch: str) -> int:
    quoted = False
    escaped = False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and c == "\\":
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            return i
    return -1


@dataclass(frozen=True)
class Via:
    """One Via value (§20.42, §18.2.1 received, RFC 3581 rport)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{SIP_VERSION}/{self.transport} {self.host}{port}{_format_params(self.params)}"

    @property
    def branch(self) -> str | None:
        return _param(self.params, "branch")

    @property
    def received(self) -> str | None:
        return _param(self.params, "received")

    @property
    def rport(self) -> int | None:
        """The rport value filled in by the server (RFC 3581 §4); None when absent or empty."""
        value = _param(self.params, "rport")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def sent_by(self) -> tuple[str, int]:
        """§18.2.2: sent-by, with the transport's default port (5060, 5061 for TLS)."""
        default = 5061 if self.transport.upper() == "TLS" else 5060
        return self.host.lower(), self.port if self.port is not None else default

    def param(self, name: str) -> str | None:
        return _param(self.params, name.lower())

    def with_params(self, **params: str | None) -> Via:
        """Set (or add) parameters, e.g. received=... and rport=... (§18.2.1, RFC 3581 §4)."""
        names = {k.lower(): v for k, v in params.items()}
        kept = [(k, names.pop(k) if k in names else v) for k, v in self.params]
        return Via(self.transport, self.host, self.port, tuple(kept) + tuple(names.items()))


def parse_via(value: str) -> Via:
    proto, _, rest = _split_sent_protocol(value)
    if not rest:
        raise _error(BAD_REQUEST, f"Via without sent-by: {value[:80]!r}")
    hostport, *params = split_outside(rest, ";")
    host, port = parse_hostport(hostport)
    return Via(proto, host, port, parse_params(params))


def _split_sent_protocol(value: str) -> tuple[str, str, str]:
    # §20.42 sent-protocol = protocol-name SLASH protocol-version SLASH transport (LWS around /)
    parts = value.strip().split("/", 2)
    if len(parts) != 3:
        raise _error(BAD_REQUEST, f"bad Via {value[:80]!r}")
    name, version = parts[0].strip(), parts[1].strip()
    transport, _, rest = parts[2].strip().partition(" ")
    if name.upper() != "SIP" or version != "2.0" or not _is_token(transport):
        raise _error(BAD_REQUEST, f"bad Via sent-protocol {value[:80]!r}")
    return transport.upper(), "", rest.strip()


@dataclass(frozen=True)
class CSeq:
    """§20.16: a 32-bit sequence number (below 2**31) and the method."""

    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


def parse_cseq(value: str) -> CSeq:
    number, _, method = value.strip().partition(" ")
    method = method.strip()
    if not number.isdigit() or len(number) > 10 or int(number) >= 2**31 or not _is_token(method):
        raise _error(BAD_REQUEST, f"bad CSeq {value[:60]!r}")
    return CSeq(int(number), method)


@dataclass(frozen=True)
class MediaType:
    """Content-Type (§20.15, RFC 2045 media-type)."""

    type: str
    subtype: str
    params: Params = ()

    def __str__(self) -> str:
        return f"{self.type}/{self.subtype}{_format_params(self.params)}"

    @property
    def mime(self) -> str:
        return f"{self.type}/{self.subtype}".lower()

    def param(self, name: str) -> str | None:
        value = _param(self.params, name.lower())
        if value is not None and len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
        return value


def parse_media_type(value: str) -> MediaType:
    mime, *params = split_outside(value, ";")
    main, slash, sub = mime.partition("/")
    if not slash or not _is_token(main.strip()) or not _is_token(sub.strip()):
        raise _error(BAD_REQUEST, f"bad media type {value[:60]!r}")
    return MediaType(main.strip(), sub.strip(), parse_params(params))


# --- messages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """One header line as received or built: `name` as written (maybe compact), one value."""

    name: str
    value: str


@dataclass
class _SipMessage:
    headers: list[Header] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """First value of the header (long or compact name, any case), or None."""
        values = self.headers_all(name)
        return values[0] if values else None

    def headers_all(self, name: str) -> list[str]:
        """Every value of the header in order, comma lists split where the grammar allows."""
        want = canonical_name(name)
        split = want.lower() in LIST_HEADERS
        out: list[str] = []
        for h in self.headers:
            if canonical_name(h.name) != want:
                continue
            if split:
                out.extend(v for v in split_outside(h.value, ",") if v)
            else:
                out.append(h.value)
        return out

    def set_header(self, name: str, value: str) -> None:
        """Replace every line of the header by one (appended at the first one's place)."""
        want = canonical_name(name)
        for i, h in enumerate(self.headers):
            if canonical_name(h.name) == want:
                self.headers[i] = Header(name, value)
                self.headers[i + 1:] = [x for x in self.headers[i + 1:]
                                        if canonical_name(x.name) != want]
                return
        self.headers.append(Header(name, value))

    def remove_header(self, name: str) -> None:
        want = canonical_name(name)
        self.headers = [h for h in self.headers if canonical_name(h.name) != want]

    @property
    def call_id(self) -> str:
        return self.header("Call-ID") or ""

    @property
    def cseq(self) -> CSeq:
        return parse_cseq(self.header("CSeq") or "")

    @property
    def vias(self) -> list[Via]:
        return [parse_via(v) for v in self.headers_all("Via")]

    @property
    def from_(self) -> NameAddr:
        return parse_name_addr(self.header("From") or "")

    @property
    def to(self) -> NameAddr:
        return parse_name_addr(self.header("To") or "")

    @property
    def contacts(self) -> list[NameAddr]:
        return [parse_name_addr(v) for v in self.headers_all("Contact")]

    @property
    def content_type(self) -> MediaType | None:
        value = self.header("Content-Type")
        return parse_media_type(value) if value is not None else None

    def body_parts(self, warnings: list[str] | None = None) -> list[BodyPart]:
        """The body as parts: one, or each part of a multipart body (RFC 5621); with
        `warnings`, read as an observer (`read`)."""
        return split_body(self.content_type, self.body, headers=self.headers,
                          warnings=warnings)


@dataclass
class SipRequest(_SipMessage):
    method: str = "OPTIONS"
    uri: str = ""
    version: str = SIP_VERSION

    @property
    def request_uri(self) -> Uri:
        return parse_uri(self.uri)

    @property
    def max_forwards(self) -> int | None:
        value = self.header("Max-Forwards")
        return int(value) if value is not None and value.strip().isdigit() else None

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"


@dataclass
class SipResponse(_SipMessage):
    status: int = 200
    reason: str = "OK"
    version: str = SIP_VERSION

    def start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"


SipMessage = SipRequest | SipResponse


# --- bodies: multipart (RFC 5621, RFC 2046 §5.1) ----------------------------------------------


@dataclass(frozen=True)
class BodyPart:
    content_type: str  # the media type in lower case, e.g. "application/sdp"
    body: bytes
    headers: tuple[Header, ...] = ()

    def header(self, name: str) -> str | None:
        want = canonical_name(name)
        return next((h.value for h in self.headers if canonical_name(h.name) == want), None)


def split_body(ctype: MediaType | None, body: bytes, headers: Iterable[Header] = (),
               warnings: list[str] | None = None) -> list[BodyPart]:
    """The parts of a body. With a `warnings` list (an observer's reading, `read`), a
    multipart body whose close delimiter is missing is read to its end and a warning noted
    there; without one, it is refused (400), as an element acting on the body must."""
    if not body:
        return []
    if ctype is None:
        raise _error(BAD_REQUEST, "body without Content-Type (§20.15)")
    if ctype.type.lower() != "multipart":
        return [BodyPart(ctype.mime, body, tuple(h for h in headers if canonical_name(
            h.name).lower().startswith("content-")))]
    boundary = ctype.param("boundary")
    if not boundary or len(boundary) > 70:
        raise _error(BAD_REQUEST, "multipart body without a valid boundary (RFC 2046 §5.1.1)")
    return _split_multipart(body, boundary.encode("ascii", "replace"), warnings)


def _split_multipart(body: bytes, boundary: bytes,
                     warnings: list[str] | None = None) -> list[BodyPart]:
    delim = b"--" + boundary
    start = body.find(delim)
    if start < 0 or (start > 0 and body[start - 2:start] != b"\r\n" and body[start - 1:start]
                     != b"\n"):
        raise _error(BAD_REQUEST, "multipart boundary not found")
    parts: list[BodyPart] = []
    pos = start + len(delim)
    while True:
        if body[pos:pos + 2] == b"--":
            return parts
        nxt = body.find(b"\r\n" + delim, pos)
        if nxt < 0:
            nxt = body.find(b"\n" + delim, pos)
            sep_len = 1
        else:
            sep_len = 2
        if nxt < 0 and warnings is not None and len(parts) < MAX_BODY_PARTS:
            # RFC 2046 §5.1.1: the close delimiter ends the body; without it the last part
            # runs to the end of the body
            warnings.append(NO_CLOSE_DELIMITER)
            last = body[pos:]
            parts.append(_body_part(last[:-2] if last.endswith(b"\r\n") else last))
            return parts
        if nxt < 0:
            raise _error(BAD_REQUEST, NO_CLOSE_DELIMITER)
        if len(parts) >= MAX_BODY_PARTS:
            raise _error(BAD_REQUEST, f"more than {MAX_BODY_PARTS} body parts")
        parts.append(_body_part(body[pos:nxt]))
        pos = nxt + sep_len + len(delim)


def _body_part(chunk: bytes) -> BodyPart:
    # RFC 2046 §5.1.1: transport padding then CRLF after the delimiter; then headers, CRLF, body
    eol = chunk.find(b"\n")
    if eol < 0:
        raise _error(BAD_REQUEST, "body part without a line end after the boundary")
    chunk = chunk[eol + 1:]
    if chunk.startswith(b"\r\n") or chunk.startswith(b"\n"):
        head, content = b"", chunk[2 if chunk.startswith(b"\r\n") else 1:]
    else:
        end, sep = _find_blank_line(chunk)
        if end < 0:
            raise _error(BAD_REQUEST, "body part without a blank line after its headers")
        head, content = chunk[:end], chunk[end + sep:]
    headers = _parse_header_lines(_text(head).splitlines()) if head else []
    ctype_value = next((h.value for h in headers if canonical_name(h.name) == "Content-Type"),
                       "text/plain")
    return BodyPart(parse_media_type(ctype_value).mime, content, tuple(headers))


def _find_blank_line(data: bytes) -> tuple[int, int]:
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf <= lf):
        return crlf, 4
    return (lf, 2) if lf >= 0 else (-1, 0)


def build_multipart(parts: Iterable[BodyPart], boundary: str) -> bytes:
    """RFC 2046 §5.1.1 multipart body; each part carries its Content-Type (and other headers)."""
    out = bytearray()
    for part in parts:
        out += f"--{boundary}\r\n".encode()
        names = {canonical_name(h.name) for h in part.headers}
        if "Content-Type" not in names:
            out += f"Content-Type: {part.content_type}\r\n".encode()
        for h in part.headers:
            out += f"{h.name}: {h.value}\r\n".encode()
        out += b"\r\n" + part.body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


# --- decode ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartialRequest:
    """What could be read of a request that failed to decode: enough to answer it (§8.2.6)
    when `via`, `from_`, `to`, `call_id` and `cseq` are all there."""

    method: str | None = None
    via: tuple[str, ...] = ()
    from_: str | None = None
    to: str | None = None
    call_id: str | None = None
    cseq: str | None = None

    @property
    def answerable(self) -> bool:
        """§8.2.6.2 / §17.1.3: a response is matched by its Via branch and CSeq, and routed by
        the Vias: a request (not an ACK) whose Vias all parse can be answered; the other
        headers are copied as far as they parse (`response_for`)."""
        if not self.via or self.method in (None, "ACK"):
            return False
        try:
            for via in self.via:
                parse_via(via)
        except DecodeError:
            return False
        return True


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(BAD_REQUEST, f"header section is not UTF-8 (§7.3.1): {exc.reason}") from None


def _parse_header_lines(lines: list[str], limits: Limits = DEFAULT_LIMITS) -> list[Header]:
    """§7.3.1: name ':' value; a line starting with SP/HTAB continues the previous one."""
    headers: list[Header] = []
    folded = 0
    for line in lines:
        if len(line) > limits.max_header_line:
            raise _error(BAD_REQUEST, f"header line of {len(line)} characters")
        if line[:1] in (" ", "\t"):
            if not headers:
                raise _error(BAD_REQUEST, "continuation line before any header")
            folded += 1
            if folded > limits.max_folded_lines:
                raise _error(BAD_REQUEST, f"more than {limits.max_folded_lines} folded lines")
            last = headers[-1]
            joined = f"{last.value} {line.strip()}".strip()
            if len(joined) > limits.max_header_line:
                raise _error(BAD_REQUEST, "folded header longer than the line limit")
            headers[-1] = Header(last.name, joined)
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not _is_token(name):
            raise _error(BAD_REQUEST, f"bad header line {line[:60]!r}")
        value = value.strip()
        if canonical_name(name).lower() in LIST_HEADERS:
            headers.extend(Header(name, v) for v in split_outside(value, ",") if v)
        else:
            headers.append(Header(name, value))
        if len(headers) > limits.max_headers:
            raise _error(BAD_REQUEST, f"more than {limits.max_headers} headers")
    return headers


def partial_request(request: SipRequest) -> PartialRequest:
    """What a response to `request` copies (§8.2.6.2), for a refusal after decoding."""
    return _partial(request.method, request.headers)


def _first(headers: list[Header], name: str) -> str | None:
    return next((h.value for h in headers if canonical_name(h.name) == name), None)


def _partial(method: str | None, headers: list[Header]) -> PartialRequest:
    return PartialRequest(
        method,
        tuple(h.value for h in headers if canonical_name(h.name) == "Via"),
        _first(headers, "From"), _first(headers, "To"), _first(headers, "Call-ID"),
        _first(headers, "CSeq"))


def decode(data: bytes, *, supported: frozenset[str] = DEFAULT_SUPPORTED,
           limits: Limits = DEFAULT_LIMITS) -> SipMessage:
    """Parse one SIP message (a UDP datagram or a TCP frame) as the element it is sent to:
    a Require it does not support is refused (420, §8.2.2.3); raises only DecodeError."""
    return _decode_guarded(data, supported, limits, None)


def read(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> tuple[SipMessage, list[str]]:
    """Read one message as an observer (a decoder, a capture reader), not as the element it
    is addressed to: no server policy is applied. Require is shown, not judged (the 420 of
    §8.2.2.3 is a UAS's decision: a VoLTE phone's `Require: sec-agree`, RFC 3329 §2.3, reads
    like any other header), and a multipart body without its close delimiter is read to its
    end with a warning. Returns the message and the warnings; raises DecodeError only for a
    message that is not well formed (§25)."""
    warnings: list[str] = []
    return _decode_guarded(data, None, limits, warnings), warnings


def _decode_guarded(data: bytes, supported: frozenset[str] | None, limits: Limits,
                    warnings: list[str] | None) -> SipMessage:
    try:
        return _decode(data, supported, limits, warnings)
    except DecodeError:
        raise
    except (ValueError, IndexError, UnicodeError, RecursionError) as exc:  # defence in depth
        raise _error(BAD_REQUEST, f"unparseable message: {type(exc).__name__}") from None


def _decode(data: bytes, supported: frozenset[str] | None, limits: Limits,
            warnings: list[str] | None) -> SipMessage:
    data = data.lstrip(b"\r\n")  # §7.5: CRLFs before the start line are ignored
    end, sep = _find_blank_line(data[:limits.max_message + 4])
    if len(data) > limits.max_message:
        # §21.4.11 413 when it is the body that is too big, §21.5.14 513 otherwise
        status = REQUEST_ENTITY_TOO_LARGE if 0 <= end < limits.max_message else \
            MESSAGE_TOO_LARGE
        raise _scanned(_error(status, f"message of {len(data)} octets (limit "
                                      f"{limits.max_message})"), data[:limits.max_message])
    if not data:
        raise _error(BAD_REQUEST, "empty message")
    if end < 0:
        raise _scanned(_error(BAD_REQUEST, "no blank line ending the header section (§7)"),
                       data)
    lines = _text(data[:end]).replace("\r\n", "\n").split("\n")
    start, header_lines = lines[0], lines[1:]
    try:
        headers = _parse_header_lines(header_lines, limits)
    except DecodeError as exc:
        raise _scanned(exc, data[:end]) from None
    body = data[end + sep:]
    if start.startswith("SIP/"):
        resp = _response_start(start, headers)
        resp.body = _body(resp, body)
        _check_common(resp, None, warnings)
        return resp
    req = _request_start(start, headers)
    try:
        req.body = _body(req, body)
        _check_common(req, req.method, warnings)
        _check_request(req, supported)
    except DecodeError as exc:
        raise _annotated(exc, req.method, headers) from None
    return req


_ANSWER_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")


def with_partial(exc: DecodeError, head: bytes) -> DecodeError:
    """`exc` with what a response needs, read from the raw `head` of the request it refuses
    (a stream framer's refusal, before any decoding)."""
    return _scanned(exc, head)


def _scanned(exc: DecodeError, head: bytes) -> DecodeError:
    """A request refused before its headers were parsed still gets an answer (§8.2.6): its
    Via, From, To, Call-ID and CSeq lines are picked out of the raw header section."""
    lines = head.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    if lines[0].startswith("SIP/") or not parts or not _is_token(parts[0]):
        return exc
    headers: list[Header] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or line[:1] in (" ", "\t") or len(line) > MAX_HEADER_LINE:
            continue
        canon = canonical_name(name.strip())
        if canon not in _ANSWER_HEADERS:
            continue
        if canon == "Via":
            try:
                headers += [Header(canon, v) for v in split_outside(value.strip(), ",") if v]
            except DecodeError:
                headers.append(Header(canon, value.strip()))
        elif _first(headers, canon) is None:
            headers.append(Header(canon, value.strip()))
    return _annotated(exc, parts[0], headers)


def _annotated(exc: DecodeError, method: str | None, headers: list[Header]) -> DecodeError:
    partial = _partial(method, headers)
    return _error(exc.cause, exc.detail, partial=partial, call_id=partial.call_id,
                  cseq=partial.cseq, via=list(partial.via), **{
                      k: v for k, v in exc.extra.items() if k not in ("partial", "call_id",
                                                                       "cseq", "via")})


def _request_start(start: str, headers: list[Header]) -> SipRequest:
    parts = start.split(" ")
    method = parts[0] if parts and _is_token(parts[0]) else None
    try:
        if len(parts) != 3 or method is None:
            raise _error(BAD_REQUEST, f"bad request line {start[:80]!r}")
        if parts[2] != SIP_VERSION:
            # §8.2.1 (and §21.5.6): a version the UAS does not support
            if parts[2].upper().startswith("SIP/"):
                raise _error(VERSION_NOT_SUPPORTED, f"SIP version {parts[2][:20]!r}")
            raise _error(BAD_REQUEST, f"bad request line {start[:80]!r}")
        parse_uri(parts[1])
    except DecodeError as exc:
        raise _annotated(exc, method, headers) from None
    return SipRequest(headers=headers, method=parts[0], uri=parts[1])


def _response_start(start: str, headers: list[Header]) -> SipResponse:
    version, _, rest = start.partition(" ")
    code, _, reason = rest.partition(" ")
    if version != SIP_VERSION:
        raise _error(VERSION_NOT_SUPPORTED, f"SIP version {version[:20]!r}")
    if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
        raise _error(BAD_REQUEST, f"bad status line {start[:80]!r}")
    return SipResponse(headers=headers, status=int(code), reason=reason)


def _body(msg: SipMessage, rest: bytes) -> bytes:
    # §18.3: Content-Length delimits the body; on UDP, octets beyond it are discarded, and a
    # message shorter than it announces is answered 400
    values = [h.value for h in msg.headers if canonical_name(h.name) == "Content-Length"]
    if not values:
        return rest
    if len(set(values)) > 1 or not values[0].isdigit() or len(values[0]) > 9:
        raise _error(BAD_REQUEST, f"bad Content-Length {values[0][:20]!r}")
    length = int(values[0])
    if length > MAX_MESSAGE:
        raise _error(REQUEST_ENTITY_TOO_LARGE, f"Content-Length {length} above {MAX_MESSAGE}")
    if length > len(rest):
        raise _error(BAD_REQUEST, f"body of {len(rest)} octets, Content-Length says {length}")
    return rest[:length]


_MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")


def _check_common(msg: SipMessage, method: str | None, warnings: list[str] | None) -> None:
    """§8.1.1: To, From, CSeq, Call-ID, Via (and Max-Forwards for requests) are mandatory."""
    names = {canonical_name(h.name) for h in msg.headers}
    missing = [n for n in _MANDATORY if n not in names]
    if missing:
        raise _error(BAD_REQUEST, f"missing {', '.join(missing)}")
    for name in ("From", "To", "Call-ID", "CSeq", "Max-Forwards"):
        if sum(1 for h in msg.headers if canonical_name(h.name) == name) > 1:
            raise _error(BAD_REQUEST, f"more than one {name} (§7.3.1)")
    cseq = msg.cseq
    if method is not None and cseq.method != method:
        raise _error(BAD_REQUEST, f"CSeq method {cseq.method} differs from {method} (§8.1.1.5)")
    if not msg.call_id or any(c.isspace() for c in msg.call_id):
        raise _error(BAD_REQUEST, "bad Call-ID")
    for via in msg.vias:
        _ = via.branch
    _ = msg.from_, msg.to
    ctype = msg.content_type
    if msg.body:
        split_body(ctype, msg.body, warnings=warnings)


def _check_request(req: SipRequest, supported: frozenset[str] | None) -> None:
    mf = req.header("Max-Forwards")
    if mf is None:
        raise _error(BAD_REQUEST, "missing Max-Forwards (§8.1.1.6)")
    if not mf.isdigit() or int(mf) > 255:
        raise _error(BAD_REQUEST, f"bad Max-Forwards {mf[:20]!r}")
    for contact in req.headers_all("Contact"):
        parse_name_addr(contact)
    for name in ("Route", "Record-Route", "P-Asserted-Identity", "Accept-Contact"):
        for value in req.headers_all(name):
            if name == "Accept-Contact":
                split_outside(value, ";")
            else:
                parse_name_addr(value)
    if req.method in ("ACK", "CANCEL") or supported is None:
        return  # §8.2.2.3: Require is ignored in ACK and CANCEL; an observer judges none
    required = [r.strip().lower() for r in req.headers_all("Require")]
    unsupported = [r for r in required if r not in supported]
    if unsupported:
        raise _error(BAD_EXTENSION, f"unsupported extension(s) {', '.join(unsupported)}",
                     unsupported=unsupported)


# --- encode ------------------------------------------------------------------------------


def encode(msg: SipMessage) -> bytes:
    """Start line, headers in order (Content-Length set to the body's length), CRLF, body."""
    lines = [msg.start_line()]
    has_length = False
    for h in msg.headers:
        if canonical_name(h.name) == "Content-Length":
            if has_length:
                continue
            has_length = True
            lines.append(f"{h.name}: {len(msg.body)}")
        else:
            lines.append(f"{h.name}: {h.value}")
    if not has_length:
        # §18.3/§20.14: always present over stream transports; harmless over UDP
        lines.append(f"Content-Length: {len(msg.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + msg.body


# --- building ----------------------------------------------------------------------------


def new_branch() -> str:
    """§8.1.1.7: unique per transaction, starting with the magic cookie."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    """§19.3: at least 32 bits of randomness."""
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(10)}@{host}"


def make_request(method: str, uri: str | Uri, *, from_: str | NameAddr, to: str | NameAddr,
                 call_id: str, cseq: int, via: Via | str, contact: str | NameAddr | None = None,
                 max_forwards: int = 70, headers: Iterable[Header | tuple[str, str]] = (),
                 body: bytes = b"", content_type: str | None = None) -> SipRequest:
    """§8.1.1: a request with the mandatory headers (in the RFC's order), then `headers`."""
    hs = [Header("Via", str(via)), Header("Max-Forwards", str(max_forwards)),
          Header("From", str(from_)), Header("To", str(to)), Header("Call-ID", call_id),
          Header("CSeq", f"{cseq} {method}")]
    if contact is not None:
        hs.append(Header("Contact", str(contact)))
    hs += [h if isinstance(h, Header) else Header(*h) for h in headers]
    if content_type is not None:
        hs.append(Header("Content-Type", content_type))
    hs.append(Header("Content-Length", str(len(body))))
    return SipRequest(headers=hs, body=body, method=method, uri=str(uri))


def response_for(request: SipRequest | PartialRequest, status: int, reason: str | None = None,
                 *, to_tag: str | None = None, headers: Iterable[Header | tuple[str, str]] = (),
                 body: bytes = b"", content_type: str | None = None) -> SipResponse:
    """§8.2.6.2: From, Call-ID, CSeq and the Vias copied, To copied with a tag added (except
    on 100). A PartialRequest comes from a DecodeError's extra["partial"]."""
    if isinstance(request, SipRequest):
        vias = [h.value for h in request.headers if canonical_name(h.name) == "Via"]
        from_, to = request.header("From"), request.header("To")
        call_id, cseq = request.header("Call-ID"), request.header("CSeq")
    else:
        if not request.answerable:
            raise ValueError("not enough of the request was readable to answer it (§8.2.6.2)")
        vias, from_, to = list(request.via), _readable(request.from_, parse_name_addr), \
            _readable(request.to, parse_name_addr)
        call_id = request.call_id if request.call_id and not any(
            c.isspace() for c in request.call_id) else None
        cseq = _readable(request.cseq, parse_cseq)
    to_value = to or ""
    if status != 100 and to_value:
        try:
            if parse_name_addr(to_value).tag is None:
                to_value = f"{to_value};tag={to_tag or new_tag()}"
        except DecodeError:
            pass  # an unreadable To is copied as it came
    hs = [Header("Via", v) for v in vias]
    # §8.2.6.2: copied as far as the request had them (a partial request may lack some)
    hs += [Header(n, v) for n, v in (("From", from_), ("To", to_value), ("Call-ID", call_id),
                                     ("CSeq", cseq)) if v]
    hs += [h if isinstance(h, Header) else Header(*h) for h in headers]
    if content_type is not None:
        hs.append(Header("Content-Type", content_type))
    hs.append(Header("Content-Length", str(len(body))))
    return SipResponse(headers=hs, body=body, status=status,
                       reason=reason or REASONS.get(status, "Unknown"))


def _readable(value: str | None, parse: Any) -> str | None:
    if value is None:
        return None
    try:
        parse(value)
    except DecodeError:
        return None
    return value


def error_response(err: DecodeError) -> SipResponse | None:
    """The response a server sends for a request that failed to decode, or None (drop it)."""
    partial = err.extra.get("partial")
    if not isinstance(partial, PartialRequest) or not partial.answerable:
        return None
    if not isinstance(err.cause, int) or not 400 <= err.cause <= 599:
        return None
    extra: list[tuple[str, str]] = []
    if err.cause == BAD_EXTENSION:
        # §8.2.2.3: the 420 lists the unsupported extensions
        extra.append(("Unsupported", ", ".join(err.extra.get("unsupported", []))))
    return response_for(partial, err.cause, headers=extra)


# --- CLI view ----------------------------------------------------------------------------


def to_message(msg: SipMessage, warnings: Iterable[str] = ()) -> Message:
    """`corenet decode sip` view: name = method or "response", code = method or status;
    the warnings of `read`, if any, under "warnings"."""
    fields: dict[str, Any] = {}
    if isinstance(msg, SipRequest):
        name, code = msg.method, cast(Any, msg.method)
        fields["request_uri"] = msg.uri
        fields["request_uri_parsed"] = _uri_fields(msg.request_uri)
    else:
        name, code = "response", msg.status
        fields["status"] = msg.status
        fields["reason"] = msg.reason
    fields["headers"] = {}
    for h in msg.headers:
        fields["headers"].setdefault(canonical_name(h.name), []).append(h.value)
    fields["body"] = [_part_fields(p) for p in msg.body_parts(warnings=[])]
    if warnings:
        fields["warnings"] = list(warnings)
    return Message("sip", name, code, fields)


def _uri_fields(uri: Uri) -> dict[str, Any]:
    out: dict[str, Any] = {"scheme": uri.scheme}
    for key in ("user", "host", "port", "opaque"):
        if getattr(uri, key) is not None:
            out[key] = getattr(uri, key)
    if uri.params:
        out["params"] = dict(uri.params)
    if uri.service is not None:
        out["service"] = uri.service
        out["emergency"] = uri.is_emergency
    return out


def _part_fields(part: BodyPart) -> dict[str, Any]:
    out: dict[str, Any] = {"content_type": part.content_type}
    cid = part.header("Content-ID")
    if cid is not None:
        out["content_id"] = cid
    if part.content_type == "application/sdp":
        from corenet.codecs import sdp

        out["sdp"] = sdp.decode(part.body).to_dict()
    elif part.content_type == "application/pidf+xml":
        from corenet.codecs import pidf_lo

        out["pidf_lo"] = pidf_lo.decode(part.body).to_dict()
    else:
        try:
            out["text"] = part.body.decode("utf-8")
        except UnicodeDecodeError:
            out["data"] = part.body
    return out
