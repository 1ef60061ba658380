"""Milenage against the TS 35.208 §4.3 design conformance test sets, plus AUTN/AUTS round trips.

Test sets 1-6 as published in TS 35.208 §4.3.1-§4.3.6 (also carried by the asterix project's
auth3G.py and free5gc's milenage_test.go); test set 7 (§4.3.7) as carried by hss_app's
test_milenage.py. Each row: K, RAND, SQN, AMF, OP, OPc, f1, f1*, f2, f3, f4, f5, f5*.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.crypto.milenage import (
    MacSFailure,
    Milenage,
    build_auts,
    check_autn,
    eps_separation_bit,
    generate_vector,
    int_to_sqn,
    opc_from_op,
    resync_sqn,
    sqn_to_int,
)

SETS = [
    (1, "465b5ce8b199b49faa5f0a2ee238a6bc", "23553cbe9637a89d218ae64dae47bf35", "ff9bb4d0b607",
     "b9b9", "cdc202d5123e20f62b6d676ac72cb318", "cd63cb71954a9f4e48a5994e37a02baf",
     "4a9ffac354dfafb3", "01cfaf9ec4e871e9", "a54211d5e3ba50bf",
     "b40ba9a3c58b2a05bbf0d987b21bf8cb", "f769bcd751044604127672711c6d3441", "aa689c648370",
     "451e8beca43b"),
    (2, "0396eb317b6d1c36f19c1c84cd6ffd16", "c00d603103dcee52c4478119494202e8", "fd8eef40df7d",
     "af17", "ff53bade17df5d4e793073ce9d7579fa", "53c15671c60a4b731c55b4a441c0bde2",
     "5df5b31807e258b0", "a8c016e51ef4a343", "d3a628ed988620f0",
     "58c433ff7a7082acd424220f2b67c556", "21a8c1f929702adb3e738488b9f5c5da", "c47783995f72",
     "30f1197061c1"),
    (3, "fec86ba6eb707ed08905757b1bb44b8f", "9f7c8d021accf4db213ccff0c7f71a6a", "9d0277595ffc",
     "725c", "dbc59adcb6f9a0ef735477b7fadf8374", "1006020f0a478bf6b699f15c062e42b3",
     "9cabc3e99baf7281", "95814ba2b3044324", "8011c48c0c214ed2",
     "5dbdbb2954e8f3cde665b046179a5098", "59a92d3b476a0443487055cf88b2307b", "33484dc2136b",
     "deacdd848cc6"),
    (4, "9e5944aea94b81165c82fbf9f32db751", "ce83dbc54ac0274a157c17f80d017bd6", "0b604a81eca8",
     "9e09", "223014c5806694c007ca1eeef57f004f", "a64a507ae1a2a98bb88eb4210135dc87",
     "74a58220cba84c49", "ac2cc74a96871837", "f365cd683cd92e96",
     "e203edb3971574f5a94b0d61b816345d", "0c4524adeac041c4dd830d20854fc46b", "f0b9c08ad02e",
     "6085a86c6f63"),
    (5, "4ab1deb05ca6ceb051fc98e77d026a84", "74b0cd6031a1c8339b2b6ce2b8c4a186", "e880a1b580b6",
     "9f07", "2d16c5cd1fdf6b22383584e3bef2a8d8", "dcf07cbd51855290b92a07a9891e523e",
     "49e785dd12626ef2", "9e85790336bb3fa2", "5860fc1bce351e7e",
     "7657766b373d1c2138f307e3de9242f9", "1c42e960d89b8fa99f2744e0708ccb53", "31e11a609118",
     "fe2555e54aa9"),
    (6, "6c38a116ac280c454f59332ee35c8c4f", "ee6466bc96202c5a557abbeff8babf63", "414b98222181",
     "4464", "1ba00a1a7c6700ac8c3ff3e96ad08725", "3803ef5363b947c6aaa225e58fae3934",
     "078adfb488241a57", "80246b8d0186bcf1", "16c8233f05a0ac28",
     "3f8c7587fe8e4b233af676aede30ba3b", "a7466cc1e6b2a1337d49d3b66e95d7b4", "45b0f69ab06c",
     "1f53cd2b1113"),
    (7, "2d609d4db0ac5bf0d2c0de267014de0d", "194aa756013896b74b4a2a3b0af4539e", "6bf69438c2e4",
     "5f67", "460a48385427aa39264aac8efc9e73e8", "c35a0ab0bcbfc9252caff15f24efbde0",
     "bd07d3003b9e5cc3", "bcb6c2fcad152250", "8c25a16cd918a1df",
     "4cd0846020f8fa0731dd47cbdc6be411", "88ab80a415f15c73711254a1d388f696", "7e6455f34cf3",
     "dc6dd01e8f15"),
]

IDS = [f"set{s[0]}" for s in SETS]


def _h(*values: str) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


@pytest.mark.parametrize("row", SETS, ids=IDS)
def test_opc(row: tuple) -> None:
    k, op, opc = _h(row[1], row[5], row[6])
    assert opc_from_op(k, op) == opc


@pytest.mark.parametrize("row", SETS, ids=IDS)
def test_f1_f1star(row: tuple) -> None:
    k, rand, sqn, amf, opc, f1, f1s = _h(row[1], row[2], row[3], row[4], row[6], row[7], row[8])
    m = Milenage(k, opc)
    assert m.f1(rand, sqn, amf) == f1
    assert m.f1star(rand, sqn, amf) == f1s


@pytest.mark.parametrize("row", SETS, ids=IDS)
def test_f2345_f5star(row: tuple) -> None:
    k, rand, opc, res, ck, ik, ak, aks = _h(
        row[1], row[2], row[6], row[9], row[10], row[11], row[12], row[13]
    )
    m = Milenage(k, opc)
    assert m.f2345(rand) == (res, ck, ik, ak)
    assert m.f5star(rand) == aks


@pytest.mark.parametrize("row", SETS, ids=IDS)
def test_vector_and_autn_check(row: tuple) -> None:
    k, rand, sqn, amf, opc, f1, res, ck, ik, ak = _h(
        row[1], row[2], row[3], row[4], row[6], row[7], row[9], row[10], row[11], row[12]
    )
    m = Milenage(k, opc)
    av = generate_vector(m, rand, sqn, amf)
    assert av.autn == bytes(a ^ b for a, b in zip(sqn, ak, strict=True)) + amf + f1
    assert av.sqn_xor_ak == av.autn[:6]
    assert (av.xres, av.ck, av.ik, av.ak, av.sqn, av.rand) == (res, ck, ik, ak, sqn, rand)
    chk = check_autn(m, rand, av.autn)
    assert chk.mac_ok
    assert (chk.sqn, chk.amf, chk.res, chk.ck, chk.ik, chk.ak) == (sqn, amf, res, ck, ik, ak)


def test_autn_published_values() -> None:
    """AUTN for test sets 1 and 6 with their SQN/AMF, as hss_app's test_milenage.py lists them."""
    for row, autn in ((SETS[0], "55f328b43577b9b94a9ffac354dfafb3"),
                      (SETS[5], "04fb6eb891ed4464078adfb488241a57")):
        k, rand, sqn, amf, opc = _h(row[1], row[2], row[3], row[4], row[6])
        assert generate_vector(Milenage(k, opc), rand, sqn, amf).autn.hex() == autn


def test_autn_tampered_mac_fails() -> None:
    k, rand, sqn, amf, opc = _h(*SETS[0][1:5], SETS[0][6])
    m = Milenage(k, opc)
    autn = bytearray(generate_vector(m, rand, sqn, amf).autn)
    autn[15] ^= 0x01
    chk = check_autn(m, rand, bytes(autn))
    assert not chk.mac_ok
    assert chk.sqn == sqn
    autn = bytearray(generate_vector(m, rand, sqn, amf).autn)
    autn[0] ^= 0x80  # a changed SQN changes XMAC too
    assert not check_autn(m, rand, bytes(autn)).mac_ok


def test_auts_round_trip_test_set_1() -> None:
    """AUTS = SQN xor AK* || f1*(SQN, AMF=0000); MAC-S differs from the test set's (AMF b9b9)."""
    k, rand, sqn, opc, aks = _h(SETS[0][1], SETS[0][2], SETS[0][3], SETS[0][6], SETS[0][13])
    m = Milenage(k, opc)
    auts = build_auts(m, rand, sqn)
    assert len(auts) == 14
    assert auts[:6] == bytes(a ^ b for a, b in zip(sqn, aks, strict=True))
    assert auts[6:] == m.f1star(rand, sqn, b"\x00\x00")
    assert auts[6:] != bytes.fromhex(SETS[0][8])
    assert resync_sqn(m, rand, auts) == sqn


def test_resync_rejects_bad_mac_s_and_wrong_key() -> None:
    k, rand, sqn, opc = _h(SETS[1][1], SETS[1][2], SETS[1][3], SETS[1][6])
    m = Milenage(k, opc)
    auts = bytearray(build_auts(m, rand, sqn))
    auts[-1] ^= 0x01
    with pytest.raises(MacSFailure):
        resync_sqn(m, rand, bytes(auts))
    other = Milenage(*_h(SETS[2][1], SETS[2][6]))
    with pytest.raises(MacSFailure):
        resync_sqn(other, rand, build_auts(m, rand, sqn))
    with pytest.raises(MacSFailure):
        resync_sqn(m, rand, b"\x00" * 13)


@settings(max_examples=200, deadline=None)
@given(
    k=st.binary(min_size=16, max_size=16),
    opc=st.binary(min_size=16, max_size=16),
    rand=st.binary(min_size=16, max_size=16),
    sqn=st.integers(0, 2**48 - 1),
    amf=st.binary(min_size=2, max_size=2),
)
def test_round_trips(k: bytes, opc: bytes, rand: bytes, sqn: int, amf: bytes) -> None:
    m = Milenage(k, opc)
    av = generate_vector(m, rand, int_to_sqn(sqn), amf)
    chk = check_autn(m, rand, av.autn)
    assert chk.mac_ok and sqn_to_int(chk.sqn) == sqn and chk.amf == amf
    assert sqn_to_int(resync_sqn(m, rand, build_auts(m, rand, int_to_sqn(sqn)))) == sqn


def test_sqn_conversions_and_separation_bit() -> None:
    assert sqn_to_int(bytes.fromhex("ff9bb4d0b607")) == 0xFF9BB4D0B607
    assert int_to_sqn(0x20) == bytes.fromhex("000000000020")
    with pytest.raises(ValueError):
        int_to_sqn(2**48)
    assert eps_separation_bit(b"\x80\x00") is True
    assert eps_separation_bit(b"\xb9\xb9") is True
    assert eps_separation_bit(b"\x00\x00") is False


def test_bad_lengths_raise_value_error() -> None:
    with pytest.raises(ValueError):
        Milenage(b"\x00" * 15, b"\x00" * 16)
    m = Milenage(b"\x00" * 16, b"\x00" * 16)
    with pytest.raises(ValueError):
        m.f2345(b"\x00" * 15)
    with pytest.raises(ValueError):
        check_autn(m, b"\x00" * 16, b"\x00" * 15)


def test_one_kernel_over_interleaved_rands_gives_each_rands_published_values() -> None:
    """TEMP is shared by f1..f5 of one RAND (TS 35.206 §4.1): a kernel asked about RANDs in
    turn answers each with its own values (test sets 1 and 2 with set 1's K and OPc)."""
    k, rand1, sqn, amf, opc = _h(SETS[0][1], SETS[0][2], SETS[0][3], SETS[0][4], SETS[0][6])
    rand2 = bytes.fromhex(SETS[1][2])
    fresh1, fresh2 = Milenage(k, opc), Milenage(k, opc)
    want1 = (fresh1.f1(rand1, sqn, amf), fresh1.f2345(rand1), fresh1.f5star(rand1))
    want2 = (fresh2.f1(rand2, sqn, amf), fresh2.f2345(rand2), fresh2.f5star(rand2))
    assert want1 == (_h(SETS[0][7])[0], tuple(_h(*SETS[0][9:12], SETS[0][12])), _h(SETS[0][13])[0])
    m = Milenage(k, opc)
    for _ in range(2):
        assert m.f1(rand1, sqn, amf) == want1[0] and m.f1(rand2, sqn, amf) == want2[0]
        assert m.f2345(rand2) == want2[1] and m.f2345(rand1) == want1[1]
        assert m.f5star(rand1) == want1[2] and m.f5star(rand2) == want2[2]
    with pytest.raises(ValueError):
        m.f2345(rand1[:15])
