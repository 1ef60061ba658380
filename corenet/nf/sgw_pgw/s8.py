"""The S-GW's side of S8 for a home-routed PDN connection (TS 23.401 §4.3.8.1, §5.3.2.1
steps 13-15; TS 29.274 §7.2.1-§7.2.2, §7.2.9-§7.2.10), message building only.

When the MME names a home P-GW (the PGW S5/S8 F-TEID of its Create Session Request) that is
one of `SgwPgwConfig.s8_peers`, this node is the S-GW only: the request goes on over S8 with
the S-GW's own S5/S8 F-TEIDs, and the home P-GW's answer (its F-TEIDs, the PDN address it
allocated) comes back to the MME in the S11 response.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

from corenet.codecs import gtpv2c as g
from corenet.codecs.base import Message

# TS 29.274 Table 8.4-1: request accepted, fully or with a narrowed PDN type (16-19)
ACCEPTED = range(16, 20)


def fteid(interface_type: int, teid: int, host: str) -> dict[str, Any]:
    v4, v6 = _families(host)
    return g.fteid(interface_type, teid, v4, v6)


@functools.lru_cache(maxsize=256)
def _families(host: str) -> tuple[str | None, str | None]:
    """(IPv4 text, IPv6 text) of a node address: the node's few own addresses, parsed once."""
    ip = ipaddress.ip_address(host)
    return (str(ip) if ip.version == 4 else None, str(ip) if ip.version == 6 else None)


def create_session_s8(mme_request: Message, *, sgw_c: dict[str, Any],
                      sgw_u: Mapping[int, dict[str, Any]], recovery: int | None) -> Message:
    """Create Session Request on S8 (TS 29.274 §7.2.1, TS 23.401 §5.3.2.1 step 13): what the
    MME asked for, with the S-GW's S5/S8-C F-TEID as sender and its S5/S8-U F-TEID per bearer;
    the PGW S5/S8 address is an S11 IE only."""
    f = mme_request.fields
    bearers = [{"ebi": ctx["ebi"], "bearer_qos": ctx["bearer_qos"], "tft": ctx.get("tft"),
                "s5s8u_sgw_fteid": sgw_u[ctx["ebi"]]}
               for ctx in f["bearer_contexts_to_be_created"]]
    return g.create_session_request(
        0, imsi=f.get("imsi"), msisdn=f.get("msisdn"), mei=f.get("mei"), uli=f.get("uli"),
        serving_network=f.get("serving_network"), rat_type=f["rat_type"],
        indication=f.get("indication"), sender_fteid=sgw_c, apn=f["apn"],
        selection_mode=f.get("selection_mode"), pdn_type=f.get("pdn_type"), paa=f.get("paa"),
        apn_restriction=f.get("max_apn_restriction"), ambr=f.get("ambr"), pco=f.get("pco"),
        bearer_contexts=bearers, recovery=recovery, ue_time_zone=f.get("ue_time_zone"))


def create_session_s11(mme_request: Message, pgw_response: Message, *, mme_teid: int,
                       sgw_c: dict[str, Any], sgw_s1u: Mapping[int, dict[str, Any]],
                       recovery: int | None) -> Message:
    """Create Session Response on S11 (TS 29.274 §7.2.2, TS 23.401 §5.3.2.1 step 16) from the
    home P-GW's: its cause, PDN address, APN-AMBR and PCO, its S5/S8-C F-TEID as the PGW
    S5/S8 F-TEID; the S-GW's S11 and S1-U F-TEIDs."""
    p = pgw_response.fields
    contexts = [{"ebi": bc["ebi"], "cause": bc.get("cause", g.CAUSE_REQUEST_ACCEPTED),
                 "s1u_sgw_fteid": sgw_s1u.get(bc["ebi"]), "bearer_qos": bc.get("bearer_qos"),
                 "charging_id": bc.get("charging_id")}
                for bc in p.get("bearer_contexts_created", [])]
    return g.create_session_response(
        mme_request.fields["sequence"], teid=mme_teid, cause=p["cause"], sender_fteid=sgw_c,
        pgw_fteid=p.get("sender_fteid_c"), paa=p.get("paa"),
        apn_restriction=p.get("apn_restriction"), ambr=p.get("ambr"), pco=p.get("pco"),
        bearer_contexts=contexts, recovery=recovery)


def cause_value(msg: Message) -> int:
    cause: Any = (msg.fields.get("cause") or {}).get("value", g.CAUSE_SYSTEM_FAILURE)
    return int(cause)
