"""S11 requests of the MME towards the S-GW (TS 29.274 §7.2) for one UE's PDN connection.

The MME's S11 control TEID of a UE is its MME UE S1AP ID: responses carry it in their header
(TS 29.274 §5.5.2), which is how they find their UE.
"""

from __future__ import annotations

from typing import Any

from corenet.codecs import gtpv2c
from corenet.codecs.base import Message
from corenet.config.models import MmeConfig
from corenet.nf.mme.context import Pdn, UeContext

# TS 29.274 §8.34 PDN type (same values as TS 24.301 §9.9.4.10)
_PAA_V4 = {"ipv4": "0.0.0.0"}
_PAA_V6 = {"ipv6": "::", "ipv6_prefix_length": 64}


def _indication(pdn: Pdn, uimsi: bool) -> dict[str, bool] | None:
    """TS 29.274 §8.12: UIMSI for an unauthenticated IMSI; DAF when the UE asked for IPv4v6
    and the subscription allows both (`pdn.pdn_type` is already that, TS 23.401 §5.3.1.1)."""
    flags = {}
    if pdn.pdn_type == gtpv2c.PDN_IPV4V6:
        flags["daf"] = True
    if uimsi:
        flags["uimsi"] = True
    return flags or None


class S11Requests:
    """Builds Create Session, Modify Bearer, Delete Session and Echo requests."""

    def __init__(self, cfg: MmeConfig) -> None:
        self._cfg = cfg
        self._seq = 0
        # TS 23.007 §18 / TS 29.274 §8.5: ours, set at start; sent in Echo and, on first
        # contact with an S-GW, in the Create Session Request (§7.2.1)
        self.restart_counter = 0
        self._told = False

    def recovery_once(self) -> int | None:
        """Our Recovery for the first request to the S-GW, None afterwards (§7.2.1)."""
        if self._told:
            return None
        self._told = True
        return self.restart_counter

    def forget_told(self) -> None:
        """A restarted S-GW has not heard our Recovery yet."""
        self._told = False

    def next_sequence(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFF  # TS 29.274 §5.5.1: 24-bit sequence number
        return self._seq

    def mme_fteid(self, ue: UeContext) -> dict[str, Any]:
        return gtpv2c.fteid(gtpv2c.FTEID_S11_MME, ue.mme_ue_id, self._cfg.s11_local.host)

    def create_session(self, ue: UeContext, pdn: Pdn, ambr_kbps: tuple[int, int],
                       uimsi: bool = False, pgw_address: str | None = None,
                       sgw_teid: int = 0, emergency: bool = False) -> Message:
        """Create Session Request (TS 29.274 §7.2.1; TS 23.401 §5.3.2.1 step 12). `uimsi`: the
        IMSI is unauthenticated (§8.12 Indication UIMSI); an IMEI-only UE sends no IMSI and its
        MEI (TS 29.274 Table 7.2.1-1). An additional PDN connection of an attached UE
        (TS 23.401 §5.10.2 step 3) goes on the S-GW's S11 TEID (`sgw_teid`, §5.5.2);
        `emergency`: it is the emergency PDN connection (§4.3.12.3)."""
        tai_plmn, tac = ue.tai
        ecgi_plmn, eci = ue.ecgi
        bearer = pdn.bearer
        paa: dict[str, Any] = {"pdn_type": pdn.pdn_type}
        if pdn.pdn_type in (gtpv2c.PDN_IPV4, gtpv2c.PDN_IPV4V6):
            paa |= _PAA_V4
        if pdn.pdn_type in (gtpv2c.PDN_IPV6, gtpv2c.PDN_IPV4V6):
            paa |= _PAA_V6
        # TS 29.274 §8.58, TS 23.060 Annex A: the emergency APN is network provided and no
        # subscription is checked for it (TS 23.401 §4.3.12.3)
        selection = (gtpv2c.SELECTION_NETWORK_NOT_VERIFIED if ue.emergency or emergency
                     else gtpv2c.SELECTION_MS_OR_NETWORK_VERIFIED)
        return gtpv2c.create_session_request(
            self.next_sequence(), teid=sgw_teid, imsi=ue.imsi, msisdn=ue.msisdn,
            mei=ue.imeisv or ue.imei, indication=_indication(pdn, uimsi),
            uli=gtpv2c.uli(tai_plmn, tac, ecgi_plmn, eci), serving_network=self._cfg.plmn,
            rat_type=gtpv2c.RAT_EUTRAN, sender_fteid=self.mme_fteid(ue),
            pgw_fteid=gtpv2c.fteid(gtpv2c.FTEID_S5S8C_PGW, 0,
                                   pgw_address or self._cfg.pgw_s5s8_address),
            apn=pdn.apn, selection_mode=selection,
            pdn_type=pdn.pdn_type, paa=paa, apn_restriction=0, ambr=ambr_kbps, pco=pdn.pco,
            recovery=self.recovery_once(),
            # TS 29.274 Table 7.2.1-1 / §8.44: the UE's time zone, from where the MME serves it
            ue_time_zone=gtpv2c.ue_time_zone(self._cfg.time_zone_quarters),
            bearer_contexts=[{
                "ebi": bearer.ebi,
                "bearer_qos": gtpv2c.bearer_qos(
                    bearer.qci, bearer.arp_priority, pci=bearer.pre_emption_capability,
                    pvi=bearer.pre_emption_vulnerability),
            }])

    def modify_bearer(self, ue: UeContext, pdn: Pdn) -> Message:
        """Modify Bearer Request with the eNB S1-U F-TEID (TS 23.401 §5.3.2.1 step 23)."""
        bearer = pdn.bearer
        return gtpv2c.modify_bearer_request(
            self.next_sequence(), teid=pdn.sgw_s11_teid or 0,
            bearer_contexts=[{
                "ebi": bearer.ebi,
                "s1u_enb_fteid": gtpv2c.fteid(gtpv2c.FTEID_S1U_ENB, bearer.enb_s1u_teid or 0,
                                              bearer.enb_s1u_ip),
            }])

    def delete_session(self, ue: UeContext, pdn: Pdn) -> Message:
        """Delete Session Request (TS 29.274 §7.2.9.1; TS 23.401 §5.3.8.2.1 step 2)."""
        tai_plmn, tac = ue.tai
        ecgi_plmn, eci = ue.ecgi
        return gtpv2c.delete_session_request(
            self.next_sequence(), teid=pdn.sgw_s11_teid or 0, linked_ebi=pdn.bearer.ebi,
            uli=gtpv2c.uli(tai_plmn, tac, ecgi_plmn, eci),
            indication={"oi": True})  # §8.12 OI: the S-GW forwards it to the P-GW

    def echo(self, recovery: int) -> Message:
        """Echo Request (TS 29.274 §7.1.1) for S11 path management."""
        return gtpv2c.echo_request(self.next_sequence(), recovery)


def cause_of(msg: Message) -> int | None:
    cause = msg.fields.get("cause")
    return cause.get("value") if isinstance(cause, dict) else None


def accepted(msg: Message) -> bool:
    """TS 29.274 Table 8.4-1: 16..63 are acceptance causes."""
    value = cause_of(msg)
    return value is not None and 16 <= value <= 63
