"""Cell broadcast warning contents (TS 23.041) carried in S1AP Write-Replace Warning.

Serial Number and Message Identifier follow TS 23.041 §9.4.1.2.1 / §9.4.1.2.2, Warning Type
§9.3.24, the CB data of Warning Message Contents §9.4.2.2.5 (E-UTRAN, §9.3.35), and the Data
Coding Scheme TS 23.038 §5 with the GSM 7 bit default alphabet of TS 23.038 §6.2.1.
Japanese text has no GSM 7 bit form and is sent as UCS2.
"""

from __future__ import annotations

from enum import IntEnum

from corenet.core.errors import DecodeError

PROTOCOL = "cbs"
_BAD_CONTENTS = ("protocol", "semantic-error")


class MessageIdentifier(IntEnum):
    """TS 23.041 §9.4.1.2.2 Message Identifier values for ETWS and CMAS."""

    ETWS_EARTHQUAKE = 0x1100
    ETWS_TSUNAMI = 0x1101
    ETWS_EARTHQUAKE_AND_TSUNAMI = 0x1102
    ETWS_TEST = 0x1103
    ETWS_OTHER = 0x1104
    CMAS_PRESIDENTIAL = 0x1112
    CMAS_EXTREME_IMMEDIATE_OBSERVED = 0x1113
    CMAS_EXTREME_IMMEDIATE_LIKELY = 0x1114
    CMAS_EXTREME_EXPECTED_OBSERVED = 0x1115
    CMAS_EXTREME_EXPECTED_LIKELY = 0x1116
    CMAS_SEVERE_IMMEDIATE_OBSERVED = 0x1117
    CMAS_SEVERE_IMMEDIATE_LIKELY = 0x1118
    CMAS_SEVERE_EXPECTED_OBSERVED = 0x1119
    CMAS_SEVERE_EXPECTED_LIKELY = 0x111A
    CMAS_AMBER = 0x111B
    CMAS_REQUIRED_MONTHLY_TEST = 0x111C
    CMAS_EXERCISE = 0x111D
    CMAS_OPERATOR_DEFINED = 0x111E


ETWS_EARTHQUAKE = MessageIdentifier.ETWS_EARTHQUAKE
ETWS_TSUNAMI = MessageIdentifier.ETWS_TSUNAMI
ETWS_EARTHQUAKE_AND_TSUNAMI = MessageIdentifier.ETWS_EARTHQUAKE_AND_TSUNAMI
ETWS_TEST = MessageIdentifier.ETWS_TEST
ETWS_OTHER = MessageIdentifier.ETWS_OTHER
CMAS_PRESIDENTIAL = MessageIdentifier.CMAS_PRESIDENTIAL


class GeographicalScope(IntEnum):
    """TS 23.041 §9.4.1.2.1 GS field of the Serial Number."""

    CELL_WIDE_IMMEDIATE = 0
    PLMN_WIDE = 1
    LOCATION_AREA_WIDE = 2  # tracking area wide in E-UTRAN
    CELL_WIDE = 3


class WarningTypeValue(IntEnum):
    """TS 23.041 §9.3.24 Warning Type Value."""

    EARTHQUAKE = 0
    TSUNAMI = 1
    EARTHQUAKE_AND_TSUNAMI = 2
    TEST = 3
    OTHER = 4


# TS 23.038 §5: 0x0F = GSM 7 bit default alphabet, language unspecified;
# 0x48 = general data coding, uncompressed, no message class, UCS2.
DCS_GSM7 = 0x0F
DCS_UCS2 = 0x48

PAGE_OCTETS = 82  # TS 23.041 §9.4.2.2.5 CBS-Message-Information-Page
MAX_PAGES = 15  # TS 23.041 §9.4.2.2.5 Number-of-Pages
_SEPTETS_PER_PAGE = PAGE_OCTETS * 8 // 7  # 93
_CR = 0x0D


def serial_number(gs: int, message_code: int, update_number: int) -> int:
    """TS 23.041 §9.4.1.2.1: GS (2 bits) | Message Code (10 bits) | Update Number (4 bits)."""
    if not (0 <= gs < 4 and 0 <= message_code < 1024 and 0 <= update_number < 16):
        raise ValueError("serial number fields out of range (2/10/4 bits)")
    return (gs << 14) | (message_code << 4) | update_number


def parse_serial_number(value: int) -> tuple[int, int, int]:
    """Inverse of `serial_number`: (GS, Message Code, Update Number)."""
    return (value >> 14) & 0x3, (value >> 4) & 0x3FF, value & 0xF


def warning_type(
    value: int, emergency_user_alert: bool = True, popup: bool = True
) -> bytes:
    """TS 23.041 §9.3.24: Warning Type Value (7 bits), Emergency User Alert, Popup, 7 spare."""
    if not 0 <= value < 128:
        raise ValueError("warning type value is 7 bits")
    word = (value << 9) | (int(emergency_user_alert) << 8) | (int(popup) << 7)
    return word.to_bytes(2, "big")


def parse_warning_type(data: bytes) -> tuple[int, bool, bool]:
    """Inverse of `warning_type`: (value, emergency user alert, popup)."""
    if len(data) != 2:
        raise DecodeError(PROTOCOL, _BAD_CONTENTS, "Warning Type is 2 octets (§9.3.24)")
    word = int.from_bytes(data, "big")
    return word >> 9, bool(word & 0x100), bool(word & 0x80)


# TS 23.038 §6.2.1 GSM 7 bit default alphabet, indexed by septet value (0x1B = escape).
_GSM7 = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# TS 23.038 §6.2.1.1 default alphabet extension table (after the 0x1B escape).
_GSM7_EXT = {0x0A: "\x0c", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[",
             0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€"}
_GSM7_INV = {c: i for i, c in enumerate(_GSM7) if i != 0x1B}
_GSM7_EXT_INV = {c: i for i, c in _GSM7_EXT.items()}


def is_gsm7(text: str) -> bool:
    """Whether `text` has a GSM 7 bit default alphabet form (TS 23.038 §6.2.1)."""
    return all(c in _GSM7_INV or c in _GSM7_EXT_INV for c in text)


def data_coding_scheme_for(text: str) -> int:
    """GSM 7 bit when the text allows it, else UCS2 (TS 23.038 §5)."""
    return DCS_GSM7 if is_gsm7(text) else DCS_UCS2


def _septets(text: str) -> list[list[int]]:
    """Per character, its septets (two for extension characters)."""
    out = []
    for c in text:
        if c in _GSM7_INV:
            out.append([_GSM7_INV[c]])
        elif c in _GSM7_EXT_INV:
            out.append([0x1B, _GSM7_EXT_INV[c]])
        else:
            raise ValueError(f"{c!r} is not in the GSM 7 bit default alphabet")
    return out


def pack_gsm7(septets: list[int]) -> bytes:
    """TS 23.038 §6.1.2.1.1 packing; 7 spare bits at the end carry <CR> (§6.1.2.3.1)."""
    if len(septets) % 8 == 7:
        septets = [*septets, _CR]
    acc = 0
    for i, s in enumerate(septets):
        acc |= s << (7 * i)
    return acc.to_bytes((7 * len(septets) + 7) // 8, "little")


def unpack_gsm7(data: bytes) -> list[int]:
    """Inverse of `pack_gsm7`, dropping a final <CR> that fills 7 spare bits (§6.1.2.3.1)."""
    acc = int.from_bytes(data, "little")
    count = len(data) * 8 // 7
    septets = [(acc >> (7 * i)) & 0x7F for i in range(count)]
    if len(data) % 7 == 0 and septets and septets[-1] == _CR:
        septets.pop()
    return septets


def _gsm7_text(septets: list[int]) -> str:
    chars, escape = [], False
    for s in septets:
        if escape:
            # TS 23.038 §6.2.1.1: an unknown extension shows as the default-alphabet character.
            chars.append(_GSM7_EXT.get(s, _GSM7[s]))
            escape = False
        elif s == 0x1B:
            escape = True
        else:
            chars.append(_GSM7[s])
    return "".join(chars)


def _gsm7_pages(text: str) -> list[tuple[bytes, int]]:
    pages: list[list[int]] = [[]]
    for char in _septets(text):
        if len(pages[-1]) + len(char) > _SEPTETS_PER_PAGE:
            pages.append([])
        pages[-1].extend(char)
    out = []
    for septets in pages:
        used = pack_gsm7(septets)
        # TS 23.038 §6.1.2.2.1: the rest of a CBS page is filled with <CR>.
        full = pack_gsm7(septets + [_CR] * (_SEPTETS_PER_PAGE - len(septets)))
        out.append((full[:PAGE_OCTETS], len(used)))
    return out


def _ucs2_pages(text: str) -> list[tuple[bytes, int]]:
    pages: list[bytes] = [b""]
    for c in text:
        unit = c.encode("utf-16-be")  # a character beyond the BMP stays whole on a page
        if len(pages[-1]) + len(unit) > PAGE_OCTETS:
            pages.append(b"")
        pages[-1] += unit
    pad = "\r".encode("utf-16-be")
    return [(p + pad * ((PAGE_OCTETS - len(p)) // 2), len(p)) for p in pages]


def _is_ucs2(dcs: int) -> bool:
    # TS 23.038 §5 general data coding (01xx): uncompressed, character set bits 3..2 = 10.
    return dcs >> 6 == 0x1 and not dcs & 0x20 and (dcs >> 2) & 0x3 == 0x2


def _is_gsm7(dcs: int) -> bool:
    # TS 23.038 §5: language groups 0000/0010/0011, 0x10 (language indication first),
    # general data coding with character set 00, and 1111 with bit 2 = 0.
    if dcs >> 4 in (0x0, 0x2, 0x3) or dcs == 0x10:
        return True
    if dcs >> 6 == 0x1:
        return not dcs & 0x20 and (dcs >> 2) & 0x3 == 0x0
    return dcs >> 4 == 0xF and not dcs & 0x04


def warning_message_contents(text: str, dcs: int | None = None) -> bytes:
    """CB data (TS 23.041 §9.4.2.2.5): Number-of-Pages, then per page 82 octets of
    CBS-Message-Information-Page and one octet of CBS-Message-Information-Length.

    dcs None picks GSM 7 bit or UCS2 from the text (`data_coding_scheme_for`); send the same
    value in the Data Coding Scheme IE.
    """
    dcs = data_coding_scheme_for(text) if dcs is None else dcs
    if _is_gsm7(dcs):
        pages = _gsm7_pages(text)
    elif _is_ucs2(dcs):
        pages = _ucs2_pages(text)
    else:
        raise ValueError(f"data coding scheme 0x{dcs:02x} is not GSM 7 bit or UCS2")
    if len(pages) > MAX_PAGES:
        raise ValueError(f"text needs {len(pages)} pages, at most {MAX_PAGES} fit")
    body = b"".join(page + bytes([length]) for page, length in pages)
    return bytes([len(pages)]) + body


def decode_warning_message_contents(data: bytes, dcs: int = DCS_GSM7) -> str:
    """Text of CB data (TS 23.041 §9.4.2.2.5) coded per `dcs` (TS 23.038 §5).
    Raises DecodeError on a malformed page structure or an unsupported coding."""
    if not data or not 1 <= data[0] <= MAX_PAGES or len(data) != 1 + data[0] * (PAGE_OCTETS + 1):
        raise DecodeError(PROTOCOL, _BAD_CONTENTS, "CB data is not 1..15 pages of 82+1 octets")
    gsm7, ucs2 = _is_gsm7(dcs), _is_ucs2(dcs)
    if not gsm7 and not ucs2:
        raise DecodeError(PROTOCOL, _BAD_CONTENTS, f"unsupported data coding scheme 0x{dcs:02x}")
    texts = []
    for n in range(data[0]):
        start = 1 + n * (PAGE_OCTETS + 1)
        length = data[start + PAGE_OCTETS]
        if length > PAGE_OCTETS:
            raise DecodeError(PROTOCOL, _BAD_CONTENTS, f"page {n + 1} length {length} > 82")
        used = data[start : start + length]
        texts.append(_gsm7_text(unpack_gsm7(used)) if gsm7 else _ucs2_text(used))
    return "".join(texts)


def _ucs2_text(data: bytes) -> str:
    try:
        return data.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise DecodeError(PROTOCOL, _BAD_CONTENTS, f"invalid UCS2 page: {exc}") from None
