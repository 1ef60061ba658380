"""The MME's S11 path to its S-GW: Echo, Recovery and S-GW restart (TS 29.274 §7.1, §8.5;
TS 23.007 §16.1 and §18).

- Echo Request from the S-GW (or anyone on S11) is answered to its source with our Recovery
  (TS 29.274 §7.1.1/§7.1.2).
- Every `s11_echo_interval_s` the MME sends an Echo Request to its S-GW (one at a time), so
  that a restart is seen even when no UE signals; no answer after N3-REQUESTS attempts is a
  path failure, logged (TS 23.007 §20).
- The S-GW's Recovery, from any message carrying it, is watched: a changed value is an S-GW
  that restarted and lost its sessions (TS 23.007 §18). `sgw_restarted` then deletes the PDN
  connections held there locally - no Delete Session goes to a node that no longer has them -
  and detaches the affected UEs with "re-attach required" (TS 23.007 §16.1.3, TS 24.301
  §5.5.2.3.1) so that they attach again and get a new PDN connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from corenet.codecs import gtpv2c, nas
from corenet.codecs.base import Message
from corenet.nf.mme import emm_sm, nas_path, s1ap_build
from corenet.nf.mme.events import SendS11
from corenet.nf.mme.port import MmePort
from corenet.protocols.gtpv2c_recovery import RecoveryWatch

ECHO_TIMER = "S11Echo"
ECHO_KEY = "sgw"
# TS 24.301 §9.9.3.7: detach type "re-attach required" (network to UE)
DETACH_REATTACH_REQUIRED = 1

Address = tuple[str, int]


@dataclass
class S11Path:
    """What the MME knows of the path to its S-GW."""

    sgw_recovery: RecoveryWatch = field(default_factory=RecoveryWatch)
    echo_pending: set[int] = field(default_factory=set)
    down: bool = False


class MmeCore(MmePort, Protocol):
    """The MME as the S11 path sees it: the port, and the path's own state."""

    s11_path: S11Path


def on_s11(mme: MmeCore, msg: Message, request_sequence: int | None,
           peer: Address | None) -> bool:
    """Path-level handling of a message from S11; True when nothing more is to be done
    with it (Echo), False when it goes on to the UE it belongs to."""
    sgw_ip = mme.cfg.sgw.host if peer is None else peer[0]
    check_recovery(mme, sgw_ip, msg.fields.get("recovery"))
    if msg.name == "EchoRequest":
        # TS 29.274 §7.1.1: answered to the sender, whoever it is, with our Recovery
        mme.emit(SendS11(gtpv2c.echo_response(int(msg.fields["sequence"]),
                                              mme.s11.restart_counter), peer))
        return True
    if msg.name == "EchoResponse":
        seq = request_sequence if request_sequence is not None else int(msg.fields["sequence"])
        mme.s11_path.echo_pending.discard(seq)
        if mme.s11_path.down:
            mme.s11_path.down = False
            mme.log("mme.s11.path_up", sgw=sgw_ip)
        return True
    return False


def on_failed(mme: MmeCore, seq: int, reason: str) -> bool:
    """An Echo Request of ours got no answer (TS 29.274 §7.6): the path is down (TS 23.007
    §20). True when `seq` was such an Echo."""
    if seq not in mme.s11_path.echo_pending:
        return False
    mme.s11_path.echo_pending.discard(seq)
    if not mme.s11_path.down:
        mme.s11_path.down = True
        mme.log("mme.s11.path_down", sgw=mme.cfg.sgw.host, reason=reason)
    return True


def on_echo_timer(mme: MmeCore) -> None:
    """Periodic Echo Request to the S-GW (TS 29.274 §7.1.1); one outstanding at a time."""
    if not mme.s11_path.echo_pending:
        echo = mme.s11.echo(mme.s11.restart_counter)
        mme.s11_path.echo_pending.add(int(echo.fields["sequence"]))
        mme.emit(SendS11(echo))
    mme.start_timer(ECHO_TIMER, ECHO_KEY, mme.cfg.s11_echo_interval_s)


def check_recovery(mme: MmeCore, sgw_ip: str, counter: int | None) -> None:
    previous = mme.s11_path.sgw_recovery.seen(sgw_ip, counter)
    if previous is not None:
        mme.log("mme.s11.sgw_restarted", sgw=sgw_ip, old=previous, new=counter)
        sgw_restarted(mme)


def sgw_restarted(mme: MmeCore) -> None:
    """TS 23.007 §16.1.3: the S-GW lost every PDN connection. Each is deleted here without
    signalling it; its UE is detached, "re-attach required" when it is connected (TS 24.301
    §5.5.2.3.1), implicitly when it is idle (TS 24.301 §5.5.2.3: it learns at its next
    request); our Recovery goes in the next first message to the new S-GW (§7.2.1)."""
    mme.s11.forget_told()
    for ue in list(mme.ues.values()):
        session = ue.session
        if not session.session_created or session.pdn is None:
            continue
        session.session_created = False
        connected = ue.enb_assoc is not None and ue.enb_ue_id is not None
        mme.log("mme.s11.pdn_lost", imsi=ue.imsi, mme_ue_id=ue.mme_ue_id,
                ipv4=session.pdn.ipv4, connected=connected)
        if connected and ue.security.sec is not None:
            nas_path.send_nas(mme, ue, nas.detach_request_network(DETACH_REATTACH_REQUIRED))
        emm_sm.transition(ue, emm_sm.EmmEvent.ABORTED)
        mme.release(ue, s1ap_build.NAS_DETACH)
