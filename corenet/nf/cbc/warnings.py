"""What a rescuing operator's CBC broadcasts for each kind of warning.

Standard message identifiers are those of TS 23.041 §9.4.1.2.2 (ETWS 4352-4356, CMAS
4370-4399). The seed report states that NTT docomo broadcasts "disaster / evacuation
information" with an identifier of its own that devices sold by KDDI, SoftBank and Rakuten
Mobile do not present, and that from the end of fiscal 2025 it sends it with the standard
identifier the other three support as well. Neither number is published in the report: both
are configuration values (`CbcConfig.docomo_evacuation_id`, `CbcConfig.evacuation_id`); the
defaults are ETWS "other emergency type" (4356) for the standard one and 0xA003 for docomo's.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from corenet.codecs import cbs, sbcap
from corenet.codecs.base import Message


class WarningKind(enum.Enum):
    EARTHQUAKE = "earthquake"
    TSUNAMI = "tsunami"
    EARTHQUAKE_TSUNAMI = "earthquake-tsunami"
    EVACUATION = "evacuation"
    TEST = "test"
    CMAS = "cmas"


STANDARD_EVACUATION_ID = cbs.ETWS_OTHER  # 4356; configurable, see the module docstring
DOCOMO_EVACUATION_ID = 0xA003  # configurable, see the module docstring

# TS 23.041 §9.3.24 Warning Type of the ETWS primary notification per kind.
_WARNING_TYPE = {
    WarningKind.EARTHQUAKE: cbs.WarningTypeValue.EARTHQUAKE,
    WarningKind.TSUNAMI: cbs.WarningTypeValue.TSUNAMI,
    WarningKind.EARTHQUAKE_TSUNAMI: cbs.WarningTypeValue.EARTHQUAKE_AND_TSUNAMI,
    WarningKind.EVACUATION: cbs.WarningTypeValue.OTHER,
    WarningKind.TEST: cbs.WarningTypeValue.TEST,
}

DEFAULT_TEXT = {
    WarningKind.EARTHQUAKE: "緊急地震速報 強い揺れに備えてください",
    WarningKind.TSUNAMI: "津波警報 海岸から離れてください",
    WarningKind.EARTHQUAKE_TSUNAMI: "緊急地震速報・津波警報 高台へ避難してください",
    WarningKind.EVACUATION: "避難指示 直ちに避難してください",
    WarningKind.TEST: "これは訓練です",
    WarningKind.CMAS: "Extreme alert: evacuate now",
}


@dataclass(frozen=True)
class Rescuer:
    """A rescuing operator's identifiers per kind of warning."""

    name: str
    evacuation_ids: tuple[int, ...]

    def message_identifiers(self, kind: WarningKind) -> tuple[int, ...]:
        """TS 23.041 §9.4.1.2.2 identifiers broadcast for `kind`."""
        if kind is WarningKind.EVACUATION:
            return self.evacuation_ids
        return ({
            WarningKind.EARTHQUAKE: cbs.ETWS_EARTHQUAKE,
            WarningKind.TSUNAMI: cbs.ETWS_TSUNAMI,
            WarningKind.EARTHQUAKE_TSUNAMI: cbs.ETWS_EARTHQUAKE_AND_TSUNAMI,
            WarningKind.TEST: cbs.ETWS_TEST,
            WarningKind.CMAS: cbs.MessageIdentifier.CMAS_EXTREME_IMMEDIATE_OBSERVED,
        }[kind],)


def rescuers(docomo_standard_id: bool = True,
             standard_evacuation_id: int = STANDARD_EVACUATION_ID,
             docomo_evacuation_id: int = DOCOMO_EVACUATION_ID) -> dict[str, Rescuer]:
    """The four rescuing operators; `docomo_standard_id` False is docomo before the fix."""
    docomo = ((docomo_evacuation_id, standard_evacuation_id) if docomo_standard_id
              else (docomo_evacuation_id,))
    return {
        "docomo": Rescuer("docomo", docomo),
        "kddi": Rescuer("kddi", (standard_evacuation_id,)),
        "softbank": Rescuer("softbank", (standard_evacuation_id,)),
        "rakuten": Rescuer("rakuten", (standard_evacuation_id,)),
    }


def is_etws(message_identifier: int) -> bool:
    """ETWS identifiers (TS 23.041 §9.4.1.2.2: 4352-4359) go to SIB10/SIB11, others to SIB12."""
    return 0x1100 <= message_identifier <= 0x1107


def write_replace_requests(
    kind: WarningKind,
    rescuer: Rescuer,
    plmn: str,
    tacs: Sequence[int],
    text: str | None = None,
    repetition_s: int = 10,
    broadcasts: int = 3,
    message_code: int = 1,
    update: int = 0,
) -> list[Message]:
    """One Write-Replace Warning Request (TS 29.168 §4.4.4) per message identifier of `kind`,
    to the tracking areas `tacs` of `plmn` (none: every cell of the MME).

    The Serial Number (TS 23.041 §9.4.1.2.1) is cell wide, immediate display; an ETWS
    identifier carries the primary notification's Warning Type (TS 23.041 §9.3.24)."""
    body = text if text is not None else DEFAULT_TEXT[kind]
    dcs = cbs.data_coding_scheme_for(body)
    content = cbs.warning_message_contents(body, dcs)
    serial = cbs.serial_number(cbs.GeographicalScope.CELL_WIDE_IMMEDIATE, message_code, update)
    tais = [(plmn, t) for t in tacs]
    area = sbcap.warning_area(tais=tais)
    out = []
    for mid in rescuer.message_identifiers(kind):
        wtype = (cbs.warning_type(_WARNING_TYPE.get(kind, cbs.WarningTypeValue.OTHER))
                 if is_etws(mid) else None)
        out.append(sbcap.write_replace_warning_request(
            mid, serial, repetition_s, broadcasts, area, wtype, dcs, content,
            send_indication=True, concurrent=True, tais=tais))
    return out


