"""The dialogs a proxy took part in (RFC 3261 §12, §16.12), so that a request carrying a To-tag
is let through only when it belongs to one of them.

A CSCF forwards statelessly (§16.11), but to tell an in-dialog request from a forged one it keeps
this much state: when it forwards a dialog-creating request (INVITE, SUBSCRIBE; §12.1) for a
UE, an *offer* keyed by (Call-ID, From-tag); when a 101-299 response carrying a To-tag comes
back from the element the request was sent to, a dialog (§12.1.1: early on 1xx, confirmed on
2xx). A final failure ends the early dialogs of the offer, leaving only the ACK of that
failure (§17.1.1.3) to pass; a BYE's final response ends the dialog (§15.1.2); anything left
expires.

Dialogs are keyed from the UE's side: (Call-ID, the UE's tag, the remote tag), which is
(Call-ID, From-tag, To-tag) of any request the UE sends in the dialog (§12.2.1.1), whichever
side created it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

Address = tuple[str, int]
DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE"})
OFFER_LIFETIME = 200.0  # §16.6 step 11: Timer C of a proxy is more than 3 minutes
FAILED_LIFETIME = 32.0  # §17.1.1.2 Timer D: retransmitted failures are ACKed this long
ENDING_LIFETIME = 32.0  # §17.1.2.2 Timer F (64*T1): the BYE transaction's lifetime


class DialogState(enum.Enum):
    EARLY = "early"  # §12.1: a 1xx with a To-tag
    CONFIRMED = "confirmed"  # a 2xx
    FAILED = "failed"  # a final failure: only its ACK passes
    ENDING = "ending"  # a BYE was forwarded


@dataclass
class Offer:
    """A forwarded dialog-creating request, waiting for its responses."""

    ue: str  # the UE's PDN address (its IP-CAN binding)
    emergency: bool
    ue_is_caller: bool  # the UE sent it (originating) or receives it (terminating)
    peer: Address  # the element on the core side: where it went, or where it came from
    expires_at: float


@dataclass
class ProxyDialog:
    ue: str
    emergency: bool
    peer: Address
    state: DialogState
    expires_at: float
    invite_cseq: int = 0


DialogKey = tuple[str, str, str]


class DialogTable:
    def __init__(self, lifetime: float, max_dialogs: int) -> None:
        self.lifetime = lifetime
        self.max_dialogs = max_dialogs
        self.offers: dict[tuple[str, str], Offer] = {}
        self.dialogs: dict[DialogKey, ProxyDialog] = {}
        self._swept = float("-inf")

    def __len__(self) -> int:
        return len(self.dialogs)

    def offer(self, call_id: str, from_tag: str | None, offer: Offer, now: float) -> None:
        self._sweep(now)
        if from_tag is None or len(self.offers) + len(self.dialogs) >= self.max_dialogs:
            return  # no dialog can be matched later: its in-dialog requests get 481
        self.offers[(call_id, from_tag)] = offer

    def match(self, call_id: str, from_tag: str | None, to_tag: str | None, ue: str,
              method: str, cseq: int, now: float) -> ProxyDialog | None:
        """§12.2.2: the dialog of a request the UE at `ue` sends, if this proxy knows it."""
        self._sweep(now)
        d = self.dialogs.get((call_id, from_tag or "", to_tag or ""))
        if d is None or d.ue != ue or d.expires_at <= now:
            return None
        if d.state is DialogState.FAILED and (method != "ACK" or cseq != d.invite_cseq):
            return None
        return d

    def passed(self, call_id: str, from_tag: str | None, to_tag: str | None, method: str,
               now: float) -> None:
        """A request of the dialog was forwarded: the ACK of a failure ends it (§17.1.1.3), a
        BYE starts its end (§15.1.2)."""
        key = (call_id, from_tag or "", to_tag or "")
        d = self.dialogs.get(key)
        if d is None:
            return
        if d.state is DialogState.FAILED:
            del self.dialogs[key]
        elif method == "BYE":
            d.state, d.expires_at = DialogState.ENDING, now + ENDING_LIFETIME

    def on_response(self, call_id: str, from_tag: str | None, to_tag: str | None,
                    method: str, cseq: int, status: int, source: Address, now: float) -> None:
        """Update from a response this proxy relays (module docstring)."""
        if method == "BYE" and status >= 200:
            for key in self._keys(call_id, from_tag, to_tag):
                self.dialogs.pop(key, None)
            return
        if method not in DIALOG_CREATING or from_tag is None:
            return
        offer = self.offers.get((call_id, from_tag))
        if offer is None or source[0] != (offer.peer[0] if offer.ue_is_caller else offer.ue):
            return  # §16.7: only the element the request went to answers for its dialog
        if status >= 300:
            del self.offers[(call_id, from_tag)]
            for k in [k for k in self.dialogs if k[0] == call_id and from_tag in k[1:]]:
                if self.dialogs[k].state is DialogState.EARLY:
                    del self.dialogs[k]
            if to_tag and offer.ue_is_caller:
                self.dialogs[(call_id, from_tag, to_tag)] = ProxyDialog(
                    offer.ue, offer.emergency, offer.peer, DialogState.FAILED,
                    now + FAILED_LIFETIME, cseq)
            return
        if status < 101 or not to_tag:
            return
        key = (call_id, from_tag, to_tag) if offer.ue_is_caller else (call_id, to_tag, from_tag)
        state = DialogState.CONFIRMED if status >= 200 else DialogState.EARLY
        known = self.dialogs.get(key)
        if known is not None and known.state is DialogState.CONFIRMED:
            return  # a retransmitted 2xx
        if known is None and len(self.dialogs) >= self.max_dialogs:
            return
        self.dialogs[key] = ProxyDialog(offer.ue, offer.emergency, offer.peer, state,
                                        now + self.lifetime, cseq)

    @staticmethod
    def _keys(call_id: str, from_tag: str | None, to_tag: str | None) -> list[DialogKey]:
        a, b = from_tag or "", to_tag or ""
        return [(call_id, a, b), (call_id, b, a)]

    def _sweep(self, now: float) -> None:
        if now - self._swept < 1.0:
            return
        self._swept = now
        self.offers = {k: o for k, o in self.offers.items() if o.expires_at > now}
        self.dialogs = {k: d for k, d in self.dialogs.items() if d.expires_at > now}
