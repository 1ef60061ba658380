"""S1AP messages the MME builds and sends (TS 36.413 §8, §9): the UE-associated ones that
carry NAS, set up or release a UE context, and the non-UE-associated answers.

Procedures call these; the S1AP handler (`s1ap_handler.py`) routes what comes in.
"""

from __future__ import annotations

from typing import Any

from corenet.codecs import s1ap
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError
from corenet.core.plmn import Plmn
from corenet.nf.mme.context import Bearer, UeContext
from corenet.nf.mme.events import STREAM_NON_UE, STREAM_UE, SendS1ap
from corenet.nf.mme.port import MmePort

# TS 36.413 §9.2.1.3 causes used here
UNKNOWN_PLMN = ("misc", "unknown-PLMN")
MISC_UNSPECIFIED = ("misc", "unspecified")
UNKNOWN_MME_UE_ID = ("radioNetwork", "unknown-mme-ue-s1ap-id")
UNKNOWN_PAIR = ("radioNetwork", "unknown-pair-ue-s1ap-id")
NOT_COMPATIBLE = ("protocol", "message-not-compatible-with-receiver-state")
NAS_DETACH = ("nas", "detach")
NAS_NORMAL_RELEASE = ("nas", "normal-release")
NAS_AUTHENTICATION_FAILURE = ("nas", "authentication-failure")
NAS_UNSPECIFIED = ("nas", "unspecified")
# the cause of refusing a UE-associated connection beyond the limit
OVERLOAD = ("misc", "control-processing-overload")


# the UE-associated messages sent most, coded from templates of their shared IEs
_MESSAGES = s1ap.MmeMessages()


def send(mme: MmePort, assoc: int, msg: Message, stream: int = STREAM_NON_UE) -> None:
    mme.emit(SendS1ap(assoc, s1ap.encode(msg), stream))


def on_decode_error(mme: MmePort, assoc: int, err: DecodeError) -> Message | None:
    """TS 36.413 §10.2 / §10.3: report with an Error Indication unless the criticality says
    ignore; go on with what decoded when the criticality allows it (§10.3.4.2)."""
    mme.log("s1ap.error", assoc=assoc, cause=list(err.cause), detail=err.detail)
    if err.extra.get("report", True):
        send(mme, assoc, s1ap.error_indication_for(err))
    message = err.extra.get("message")
    return message if isinstance(message, Message) else None


def error_indication(mme: MmePort, assoc: int, cause: tuple[str, str],
                     mme_ue_id: int | None = None, enb_ue_id: int | None = None) -> None:
    """ERROR INDICATION (TS 36.413 §8.7.4) for a message we cannot act on."""
    send(mme, assoc, s1ap.error_indication(cause, mme_ue_id, enb_ue_id))


def s1_setup_response(mme: MmePort, assoc: int, plmn: Plmn) -> None:
    """S1 SETUP RESPONSE (TS 36.413 §8.7.3.2) with our GUMMEI and relative capacity."""
    send(mme, assoc, s1ap.s1_setup_response(
        mme.cfg.name, [plmn], mme.cfg.mme_group_id, mme.cfg.mme_code,
        mme.cfg.relative_capacity))


def s1_setup_failure(mme: MmePort, assoc: int, cause: tuple[str, str]) -> None:
    """S1 SETUP FAILURE (TS 36.413 §8.7.3.3); the eNB waits 10 s before trying again."""
    send(mme, assoc, s1ap.s1_setup_failure(cause, "v10s"))


def reset_acknowledge(mme: MmePort, assoc: int,
                      pairs: list[tuple[int | None, int | None]] | None) -> None:
    """RESET ACKNOWLEDGE (TS 36.413 §8.7.1.2.2)."""
    send(mme, assoc, s1ap.reset_acknowledge(pairs))


def ue_security_capabilities(ue_net_cap: bytes) -> tuple[int, int]:
    """(encryption, integrity) 16-bit maps of TS 36.413 §9.2.1.40 from the UE network
    capability (TS 24.301 §9.9.3.34: octet 1 bit 8 = EEA0 ... bit 5 = EEA3; octet 2 the EIAs);
    in the S1AP maps the first bit is 128-EEA1/128-EIA1."""
    eea = ue_net_cap[0] if ue_net_cap else 0
    eia = ue_net_cap[1] if len(ue_net_cap) > 1 else 0
    return ((eea >> 4) & 0x7) << 13, ((eia >> 4) & 0x7) << 13


def downlink_nas(mme: MmePort, ue: UeContext, nas_pdu: bytes) -> None:
    """DOWNLINK NAS TRANSPORT (TS 36.413 §8.6.2.2)."""
    if ue.enb_assoc is None or ue.enb_ue_id is None:
        return
    mme.emit(SendS1ap(ue.enb_assoc, _MESSAGES.downlink_nas_transport(
        ue.mme_ue_id, ue.enb_ue_id, nas_pdu), STREAM_UE))


def erab_to_be_setup(bearer: Bearer, nas_pdu: bytes | None) -> s1ap.ERabToBeSetup:
    """The E-RAB of an EPS bearer (TS 36.413 §9.2.1.15 QoS, §9.2.1.60 ARP) with its NAS PDU."""
    return s1ap.ERabToBeSetup(
        e_rab_id=bearer.ebi, qci=bearer.qci, priority_level=bearer.arp_priority,
        transport_layer_address=bearer.sgw_s1u_ip or "0.0.0.0",
        gtp_teid=bearer.sgw_s1u_teid or 0, nas_pdu=nas_pdu,
        pre_emption_capability=("shall-not-trigger-pre-emption"
                                if bearer.pre_emption_capability else "may-trigger-pre-emption"),
        pre_emption_vulnerability=("not-pre-emptable" if bearer.pre_emption_vulnerability
                                   else "pre-emptable"),
        # §9.2.1.18: the bit rates of a GBR bearer, bit/s (TS 29.274 §8.15 gives kbps)
        gbr=None if bearer.gbr_kbps == (0, 0) else (
            bearer.mbr_kbps[1] * 1000, bearer.mbr_kbps[0] * 1000,
            bearer.gbr_kbps[1] * 1000, bearer.gbr_kbps[0] * 1000))


def erab_setup_request(mme: MmePort, ue: UeContext, bearer: Bearer, nas_pdu: bytes) -> None:
    """E-RAB SETUP REQUEST (TS 36.413 §8.2.1; TS 23.401 §5.10.2 step 7) for one bearer."""
    if ue.enb_assoc is None or ue.enb_ue_id is None:
        return
    send(mme, ue.enb_assoc, s1ap.e_rab_setup_request(
        ue.mme_ue_id, ue.enb_ue_id, [erab_to_be_setup(bearer, nas_pdu)]), STREAM_UE)


def erab_release_command(mme: MmePort, ue: UeContext, ebi: int, nas_pdu: bytes) -> None:
    """E-RAB RELEASE COMMAND (TS 36.413 §8.2.3; TS 23.401 §5.10.3 step 7) for one bearer."""
    if ue.enb_assoc is None or ue.enb_ue_id is None:
        return
    send(mme, ue.enb_assoc, s1ap.e_rab_release_command(
        ue.mme_ue_id, ue.enb_ue_id, [(ebi, NAS_NORMAL_RELEASE)], nas_pdu), STREAM_UE)


def initial_context_setup(mme: MmePort, ue: UeContext, kenb: bytes,
                          nas_pdu: bytes | None) -> None:
    """INITIAL CONTEXT SETUP REQUEST (TS 36.413 §8.3.1; TS 23.401 §5.3.2.1 step 17, §5.3.4.1
    step 4): an E-RAB per EPS bearer of every PDN connection, the NAS PDU with the first."""
    pdn = ue.session.pdn
    if pdn is None or ue.enb_assoc is None or ue.enb_ue_id is None:
        return
    pdns = [pdn, *(p for p in ue.session.additional_pdns.values() if p is not pdn)]
    bearers = [b for p in pdns for b in p.bearers()]
    erabs = [erab_to_be_setup(b, nas_pdu if i == 0 else None) for i, b in enumerate(bearers)]
    enc, integ = ue_security_capabilities(ue.security.ue_net_cap)
    if ue.unauthenticated_emergency:
        # TS 33.401 §15.2.2: only the null algorithms (no bit set) for a UE without KASME
        enc, integ = 0, 0
    mme.emit(SendS1ap(ue.enb_assoc, _MESSAGES.initial_context_setup_request(
        ue.mme_ue_id, ue.enb_ue_id, ue.session.ue_ambr_dl_bps, ue.session.ue_ambr_ul_bps,
        erabs, enc, integ, kenb, handover_restrictions(mme, ue),
        ue.ue_radio_capability), STREAM_UE))


def handover_restrictions(mme: MmePort, ue: UeContext) -> dict[str, Any]:
    """Handover Restriction List (TS 36.413 §9.2.1.22) of the UE's mobility restrictions
    (TS 23.401 §4.3.5.7; §5.3.2.1 step 17: included when the MME has them, and a visited
    MME always has the serving PLMN):

    | UE                                         | equivalent PLMNs           |
    |--------------------------------------------|----------------------------|
    | full service (own subscriber, full roaming) | MmeConfig.equivalent_plmns |
    | emergency bearer services only (§4.3.12)   | none: the serving PLMN only |

    No forbidden TAs nor inter-RATs: the UE is only admitted in TAs its mode covers, and
    an emergency call must not lose a cell to a restriction (TS 23.401 §4.3.12.1).
    """
    serving = ue.tai[0]
    if ue.emergency:
        return s1ap.handover_restriction_list(serving)
    equivalent = [p for p in mme.cfg.equivalent_plmns if p != str(serving)]
    return s1ap.handover_restriction_list(serving, equivalent[:15])


def release_command(mme: MmePort, ue: UeContext, cause: tuple[str, str]) -> None:
    """UE CONTEXT RELEASE COMMAND (TS 36.413 §8.3.3)."""
    if ue.enb_assoc is None:
        return
    send(mme, ue.enb_assoc,
         s1ap.ue_context_release_command(ue.mme_ue_id, ue.enb_ue_id, cause), STREAM_UE)


def erab_setup(msg: Message, ebi: int) -> tuple[str, int] | None:
    """The eNB S1-U address and TEID for E-RAB `ebi` (TS 36.413 §9.1.4.3, §9.1.3.2)."""
    items = msg.fields.get("E-RABSetupListCtxtSURes") or msg.fields.get(
        "E-RABSetupListBearerSURes") or []
    for item in items:
        if item.get("e-RAB-ID") == ebi:
            return str(item.get("transportLayerAddress")), int(item.get("gTP-TEID", 0))
    return None


def reset_pairs(msg: Message) -> list[tuple[int | None, int | None]] | None:
    """The connections a RESET names (TS 36.413 §9.1.8.1); None for the whole interface."""
    kind, value = msg.fields.get("ResetType", ("s1-Interface", "reset-all"))
    if kind == "s1-Interface":
        return None
    return [(i.get("mME-UE-S1AP-ID"), i.get("eNB-UE-S1AP-ID")) for i in value]


def supported_tacs(fields: dict[str, Any], plmn: Plmn) -> tuple[int, ...]:
    """The TACs an S1 SETUP REQUEST announces for `plmn` (TS 36.413 §9.1.8.4 Supported TAs)."""
    return tuple(
        ta["tAC"] for ta in fields.get("SupportedTAs", [])
        if str(plmn) in ta.get("broadcastPLMNs", [])
    )
