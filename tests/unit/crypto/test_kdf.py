"""EPS key derivation (TS 33.401 Annex A) against vectors from open-source EPC unit tests.

- KASME (A.2): hss_app's test_milenage.py (TestGenerateEutranVector), serving network
  724/05 ("27f450"), CK/IK/SQN xor AK from TS 35.208 test sets 1, 3, 4, 5, 6 and 7.
- K_NASenc / K_NASint (A.7, full 256-bit outputs): OpenAirInterface openair-cn
  TEST/test_secu_knas.c.
- KeNB (A.3): OpenAirInterface openair-cn TEST/test_secu_kenb.c.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from corenet.core.plmn import Plmn
from corenet.crypto.kdf import (
    FC_ALG_KEY,
    NAS_ENC_ALG,
    NAS_INT_ALG,
    RRC_ENC_ALG,
    RRC_INT_ALG,
    UP_ENC_ALG,
    UP_INT_ALG,
    as_key,
    kasme,
    kdf,
    kenb,
    nas_keys,
    nh,
)
from corenet.crypto.milenage import Milenage, generate_vector

# (K, OPc, RAND, SQN, AMF, KASME) with serving network 724/05
KASME = [
    ("465b5ce8b199b49faa5f0a2ee238a6bc", "cd63cb71954a9f4e48a5994e37a02baf",
     "23553cbe9637a89d218ae64dae47bf35", "ff9bb4d0b607", "b9b9",
     "00c73bac435945a7c5cf3565c0d3c64375416b255f0bd65d74f40e60c90a280a"),
    ("fec86ba6eb707ed08905757b1bb44b8f", "1006020f0a478bf6b699f15c062e42b3",
     "9f7c8d021accf4db213ccff0c7f71a6a", "9d0277595ffc", "725c",
     "4826154dc86a76e8eeba9673c5c7fac9141f00c0c0ffbf386e93e9f2e0eb34f4"),
    ("9e5944aea94b81165c82fbf9f32db751", "a64a507ae1a2a98bb88eb4210135dc87",
     "ce83dbc54ac0274a157c17f80d017bd6", "0b604a81eca8", "9e09",
     "35e1f31c813e4b64466367bf15b6e52b7db7cd9922901bd793432be30d754f6a"),
    ("4ab1deb05ca6ceb051fc98e77d026a84", "dcf07cbd51855290b92a07a9891e523e",
     "74b0cd6031a1c8339b2b6ce2b8c4a186", "e880a1b580b6", "9f07",
     "788677b1a220a418640338c8d6a8d6dbc306ea2a239154460084259b53c82a83"),
    ("6c38a116ac280c454f59332ee35c8c4f", "3803ef5363b947c6aaa225e58fae3934",
     "ee6466bc96202c5a557abbeff8babf63", "414b98222181", "4464",
     "2a90f8b6b6522d62f046f838693c4946edcdc52eeabf1204e275eb1d53853b69"),
    ("2d609d4db0ac5bf0d2c0de267014de0d", "c35a0ab0bcbfc9252caff15f24efbde0",
     "194aa756013896b74b4a2a3b0af4539e", "6bf69438c2e4", "5f67",
     "8cd327e3d1eba71cbc7b3e84a7dbfc88038ccd1adb530415d96d9201056a682c"),
]

# (KASME, algorithm identity, K_NASenc full output, K_NASint full output)
KNAS = [
    ("70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C", 0,
     "64BA839B29C451085C552F4DE9D278B263CB5BDD7FC21A38120637B2A9E5CD39",
     "A66A2D198AF2A8D6A5FF2FAA51676037DF204187C61EDD3AAA70F3B7D8B59E8B"),
    ("70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C", 1,
     "DF8FEBA477891617C42FB16F750E572C9E59ED7564879150F6BB0DAEF5932E89",
     "EA1158BA3F387BC96C967BC32FB43F65AE172A3267343479CAA826034A90A250"),
    ("70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C", 2,
     "99D63BD2D43AF81EBB7599F7E8F8B3E81CF7897F31D6270C19C4836070FE11F0",
     "FC7A3850D19AE29EC7000B9DF98787F11A4329FD23FD3A93C9D2D92D853EC9DB"),
    ("9EA141DA4B24CDEBC8F5FB3F61A0511216681F121199B23EBCFACC75B358BE43", 0,
     "1E48E1B5EDF98DEDF339DE686544AA1088C8E5616EDB706201837AA106D37691",
     "C83DC420F97AA42D1B8488FA5D8F74865D833416D5851556100B41FEC8E38139"),
    ("9EA141DA4B24CDEBC8F5FB3F61A0511216681F121199B23EBCFACC75B358BE43", 1,
     "207700CD92B4635B439E40176F92F7ADA824B9D699ABE15F86F3346C25343A33",
     "FAA39E382611CDFED52042E72AF8CECDF92CCD799141857B77B6901741E486B2"),
    ("9EA141DA4B24CDEBC8F5FB3F61A0511216681F121199B23EBCFACC75B358BE43", 2,
     "2A6854D25282FFD738FA8BBCFDCE853C0C4DFB9F559DCBB71D5120DB2CAC66A6",
     "5EDCAE62A35BC42399C55F64ECAE7B17524BED1ED1601218D2772E55DDFAD959"),
    ("546A79BC6D1613A72A4D631EE0351D66036B2A0C44A3831BE6D365E24F023013", 0,
     "7F684F909A5910DED6E4B4CE02AC92DF4690EB3788068600E9CB2C3EF8F0956E",
     "51F3B142D357371726873FAC5E853CE0EEEFC52A695DE45FA6F4A23D20C13155"),
    ("546A79BC6D1613A72A4D631EE0351D66036B2A0C44A3831BE6D365E24F023013", 1,
     "B6B222E9C07C56D15176C8E95EC1805561492682E4B9CD7228237A6C78702347",
     "4DC5ABF6896DA460473288D16DE83C480388C6FD9E803C7EA88090F311354A15"),
    ("546A79BC6D1613A72A4D631EE0351D66036B2A0C44A3831BE6D365E24F023013", 2,
     "7BD2A0864452D3D9EDE3B2E38A9958777F231AC4F4B9AF3FC8CE0E1EAAB425A7",
     "89E8049EBE9374F238B0F3278EEA47D9BF8877111D99D6378FFF66FEBB06F3F8"),
]

# (uplink NAS COUNT, KASME, KeNB)
KENB = [
    (0xDB1A3569, "238E457E0F758BADBCA8D34BB2612C10428D426757CB5553B2B184FA64BFC549",
     "8EB1BF0083BD79281EF7034BF677E9EC529F196E15287514A2D122ACF713B8E8"),
    (0x001FB39C, "564CB4D2007E4F293B67D9B29392A64ADD4C776B133D895AF6499AA6882AAB62",
     "009010688F85855E218339DE6C5BD7B6394958DA12DDFBF7559E978CE43408F1"),
    (0x00000012, "FA77E41F693C2A6E71455CB8687E6E6058EF91E2F5ABD1BD3C496179481F308C",
     "0AFE81266DE52B8C8F1C3F4FE799BE883F364B018E7368C41F14DD6D050E13E1"),
    (0xFE56A1D3, "FA77E41F693C2A6E71455CB8687E6E6058EF91E2F5ABD1BD3C496179481F308C",
     "3622874B06C683586A009DEC81DBE28BDD8E3E6E67A2C22C31630EC97641828E"),
    (0xFE56A1D3, "70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C",
     "E59BE6F0FBEFA1207DA3FF05D0F82014100E7A63A11EEBFE4F8AA92E7CF8B847"),
    (0xAABBCCDD, "70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C",
     "158781A2FDF2CE53ABFA186D22EB751DECB8273471DC792B5016C9016947D1AE"),
]


def test_kdf_input_string_layout() -> None:
    """S = FC || P0 || L0 || P1 || L1 with 2-octet lengths (TS 33.220 B.2.0)."""
    key = bytes(range(32))
    s = bytes([0x15, 0x01, 0x00, 0x01, 0x02, 0x00, 0x01])
    assert kdf(key, 0x15, b"\x01", b"\x02") == hmac.new(key, s, hashlib.sha256).digest()
    with pytest.raises(ValueError):
        kdf(key, 0x100)


def test_serving_network_id_of_test_plmn() -> None:
    assert Plmn("724", "05").to_bytes() == bytes.fromhex("27f450")


@pytest.mark.parametrize("row", KASME, ids=["set1", "set3", "set4", "set5", "set6", "set7"])
def test_kasme(row: tuple) -> None:
    k, opc, rand, sqn, amf, expect = (bytes.fromhex(v) for v in row)
    av = generate_vector(Milenage(k, opc), rand, sqn, amf)
    sn = Plmn("724", "05").to_bytes()
    assert kasme(av.ck, av.ik, sn, av.sqn_xor_ak) == expect


@pytest.mark.parametrize("row", KNAS)
def test_nas_keys(row: tuple) -> None:
    k_asme, alg = bytes.fromhex(row[0]), row[1]
    enc, integ = bytes.fromhex(row[2]), bytes.fromhex(row[3])
    assert kdf(k_asme, FC_ALG_KEY, bytes([NAS_ENC_ALG]), bytes([alg])) == enc
    assert kdf(k_asme, FC_ALG_KEY, bytes([NAS_INT_ALG]), bytes([alg])) == integ
    # A.7: the key is the 128 least significant bits of the output.
    assert nas_keys(k_asme, alg, alg) == (enc[16:], integ[16:])


def test_nas_keys_take_each_algorithm_separately() -> None:
    k_asme = bytes.fromhex(KNAS[0][0])
    k_enc, k_int = nas_keys(k_asme, 0, 2)
    assert k_enc == bytes.fromhex(KNAS[0][2])[16:]
    assert k_int == bytes.fromhex(KNAS[2][3])[16:]


@pytest.mark.parametrize("row", KENB)
def test_kenb(row: tuple) -> None:
    count, k_asme, expect = row
    assert kenb(bytes.fromhex(k_asme), count) == bytes.fromhex(expect)


def test_nh_and_as_keys_use_their_fc_and_distinguishers() -> None:
    k_asme = bytes.fromhex(KENB[0][1])
    k_enb = kenb(k_asme, 0)
    assert nh(k_asme, k_enb) == kdf(k_asme, 0x12, k_enb)
    assert nh(k_asme, k_enb) != nh(k_asme, nh(k_asme, k_enb))
    keys = {t: as_key(k_enb, t, 2) for t in (RRC_ENC_ALG, RRC_INT_ALG, UP_ENC_ALG, UP_INT_ALG)}
    assert len(set(keys.values())) == 4
    assert keys[RRC_INT_ALG] == kdf(k_enb, 0x15, b"\x04", b"\x02")[16:]
    with pytest.raises(ValueError):
        as_key(k_enb, NAS_ENC_ALG, 2)
    with pytest.raises(ValueError):
        nh(k_asme, b"\x00" * 31)
    with pytest.raises(ValueError):
        kenb(k_asme, 2**32)
