"""S11 requests as an MME sends them (TS 23.401 §5.3.2.1), decoded from real encodings."""

from __future__ import annotations

from typing import Any

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message

IMSI = "440100123456789"
MSISDN = "819012345678"
MEI = "3534900698733190"
MME_IP = "127.0.0.2"
QOS = g.bearer_qos(qci=5, pl=1, pci=1, pvi=0)


def roundtrip(msg: Message) -> Message:
    return g.decode(g.encode(msg))


def create_session(seq: int = 1, *, mme_teid: int = 0x100, apn: str = "sos",
                   pdn_type: int = g.PDN_IPV4V6, imsi: str | None = IMSI,
                   mei: str | None = MEI, msisdn: str | None = MSISDN,
                   indication: dict[str, bool] | None = None, ebi: int = 5,
                   qos: dict[str, int] | None = None, ambr: tuple[int, int] = (300, 300),
                   pco: bytes | None = None, pgw: str = "127.0.0.5",
                   sgw_teid: int = 0) -> Message:
    if pdn_type == g.PDN_IPV4V6:  # as an MME does (TS 29.274 §8.12 DAF); {"daf": False} clears
        indication = {"daf": True, **(indication or {})}
    return roundtrip(g.create_session_request(
        seq, teid=sgw_teid, imsi=imsi, msisdn=msisdn, mei=mei, uli=("44020", 1, "44020", 0x101 << 8 | 1),
        serving_network="44020", indication=indication,
        sender_fteid=(g.FTEID_S11_MME, mme_teid, MME_IP),
        pgw_fteid=(g.FTEID_S5S8C_PGW, 0, pgw), apn=apn,
        selection_mode=g.SELECTION_MS_OR_NETWORK_VERIFIED, pdn_type=pdn_type,
        paa={"pdn_type": pdn_type, "ipv4": "0.0.0.0", "ipv6": "::",
             "ipv6_prefix_length": 64}, ambr=ambr, pco=pco,
        bearer_contexts=[{"ebi": ebi, "bearer_qos": qos or QOS}]))


def modify_bearer(seq: int, teid: int, *, ebi: int = 5, enb_teid: int = 0xE1,
                  enb_ip: str = "127.0.1.1") -> Message:
    return roundtrip(g.modify_bearer_request(
        seq, teid=teid,
        bearer_contexts=[{"ebi": ebi, "s1u_enb_fteid": (g.FTEID_S1U_ENB, enb_teid, enb_ip)}]))


def delete_session(seq: int, teid: int, ebi: int = 5) -> Message:
    return roundtrip(g.delete_session_request(seq, teid=teid, linked_ebi=ebi))


def cause_of(msg: Message) -> int:
    value: Any = msg.fields["cause"]["value"]
    return int(value)
