"""USIM side of EPS AKA (TS 33.102 §6.3.3, Annex C; TS 33.401 §6.1.1)."""

from __future__ import annotations

from corenet.config.subscribers import SubscriberEntry
from corenet.crypto.milenage import Milenage, generate_vector, int_to_sqn, resync_sqn, sqn_to_int
from sim_ue.usim import (
    CAUSE_MAC_FAILURE,
    CAUSE_NON_EPS_AUTH_UNACCEPTABLE,
    CAUSE_SYNCH_FAILURE,
    AuthFailure,
    AuthSuccess,
    Usim,
)

# TS 35.208 test set 1
K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
OP = bytes.fromhex("cdc202d5123e20f62b6d676ac72cb318")
RAND = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
AMF = b"\x80\x00"


def _usim() -> Usim:
    return Usim("440100000000001", K, OPC, msisdn="819010000001")


def test_success_returns_res_ck_ik_of_milenage() -> None:
    m = Milenage(K, OPC)
    av = generate_vector(m, RAND, int_to_sqn(32 + 1), AMF)
    answer = _usim().authenticate(RAND, av.autn)
    assert isinstance(answer, AuthSuccess)
    assert answer.res == av.xres
    assert (answer.ck, answer.ik) == (av.ck, av.ik)
    assert answer.sqn_xor_ak == av.sqn_xor_ak


def test_from_subscriber_with_op_derives_opc() -> None:
    entry = SubscriberEntry(imsi="440100000000009", k=K.hex(), op=OP.hex(), msisdn="8190")
    usim = Usim.from_subscriber(next(iter(entry.expand())))
    av = generate_vector(Milenage(K, OPC), RAND, int_to_sqn(64), AMF)
    answer = usim.authenticate(RAND, av.autn)
    assert isinstance(answer, AuthSuccess) and answer.res == av.xres
    assert usim.msisdn == "8190"


def test_mac_failure_is_cause_20() -> None:
    av = generate_vector(Milenage(K, OPC), RAND, int_to_sqn(33), AMF)
    bad = av.autn[:-1] + bytes([av.autn[-1] ^ 1])
    assert _usim().authenticate(RAND, bad) == AuthFailure(CAUSE_MAC_FAILURE)


def test_replayed_sqn_is_synch_failure_with_auts_the_hss_accepts() -> None:
    m = Milenage(K, OPC)
    usim = _usim()
    av = generate_vector(m, RAND, int_to_sqn(5 << 5), AMF)
    assert isinstance(usim.authenticate(RAND, av.autn), AuthSuccess)
    again = usim.authenticate(RAND, av.autn)
    assert isinstance(again, AuthFailure) and again.cause == CAUSE_SYNCH_FAILURE
    assert again.auts is not None and len(again.auts) == 14
    # TS 33.102 §6.3.5: the HSS recovers SQN_MS from AUTS.
    assert sqn_to_int(resync_sqn(m, RAND, again.auts)) == 5 << 5


def test_freshness_per_ind_slot() -> None:
    """Annex C.2.2: a lower SEQ is still fresh in another IND slot, not in the same one."""
    m = Milenage(K, OPC)
    usim = _usim()
    high = generate_vector(m, RAND, int_to_sqn((10 << 5) | 3), AMF)
    low_other_slot = generate_vector(m, RAND, int_to_sqn((9 << 5) | 4), AMF)
    low_same_slot = generate_vector(m, RAND, int_to_sqn((9 << 5) | 3), AMF)
    assert isinstance(usim.authenticate(RAND, high.autn), AuthSuccess)
    assert isinstance(usim.authenticate(RAND, low_other_slot.autn), AuthSuccess)
    stale = usim.authenticate(RAND, low_same_slot.autn)
    assert isinstance(stale, AuthFailure) and stale.cause == CAUSE_SYNCH_FAILURE


def test_amf_separation_bit_zero_is_cause_26() -> None:
    av = generate_vector(Milenage(K, OPC), RAND, int_to_sqn(40), b"\x00\x00")
    usim = _usim()
    assert usim.authenticate(RAND, av.autn) == AuthFailure(CAUSE_NON_EPS_AUTH_UNACCEPTABLE)
    # the rejected vector did not consume the SQN
    ok = generate_vector(Milenage(K, OPC), RAND, int_to_sqn(40), AMF)
    assert isinstance(usim.authenticate(RAND, ok.autn), AuthSuccess)


def test_bad_lengths_are_mac_failure() -> None:
    assert _usim().authenticate(RAND[:8], b"\x00" * 16) == AuthFailure(CAUSE_MAC_FAILURE)


def test_a_usim_keeps_nothing_of_an_authentication_but_its_sqn() -> None:
    """TS 33.102 Annex C.2: after AUTN is checked only the accepted SQN stays on the card
    (a storm holds one USIM per UE: no TEMP of the last RAND, no per-instance dict)."""
    usim = _usim()
    av = generate_vector(Milenage(K, OPC), RAND, int_to_sqn(32 + 1), AMF)
    assert isinstance(usim.authenticate(RAND, av.autn), AuthSuccess)
    assert usim._milenage._last is None
    assert usim.sqn.highest() == 33
    assert not hasattr(usim, "__dict__") and not hasattr(usim.sqn, "__dict__")
    again = usim.authenticate(RAND, av.autn)  # the same vector: SQN not fresh (Annex C)
    assert isinstance(again, AuthFailure) and again.cause == CAUSE_SYNCH_FAILURE
