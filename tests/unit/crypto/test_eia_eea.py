"""128-EIA2 / 128-EEA2 against the TS 33.401 Annex C test sets.

C.1 (128-EEA2 test sets 1-6) and C.2 (128-EIA2 test sets 1-7) as carried by srsRAN Project's
security unit tests (lib/security tests, "Ref: TS 33.401 Sec. C.1 / C.2") and, for C.1, by the
erlumts_nas_security_tests module. AES-CMAC is cross-checked against RFC 4493 §4.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import given, settings
from hypothesis import strategies as st

from corenet.crypto import eia_eea
from corenet.crypto.eia_eea import (
    UnsupportedAlgorithm,
    aes_cmac,
    cipher,
    cmac_bits,
    eea0,
    eea2,
    eia0,
    eia2,
    integrity,
)

# (key, count, bearer, direction, length bits, plaintext, ciphertext)
EEA2 = [
    ("d3c5d592327fb11c4035c6680af8c6d1", 0x398A59B4, 0x15, 1, 253,
     "981ba6824c1bfb1ab485472029b71d808ce33e2cc3c0b5fc1f3de8a6dc66b1f0",
     "e9fed8a63d155304d71df20bf3e82214b20ed7dad2f233dc3c22d7bdeeed8e78"),
    ("2bd6459f82c440e0952c49104805ff48", 0xC675A64B, 0x0C, 1, 798,
     "7ec61272743bf1614726446a6c38ced166f6ca76eb5430044286346cef130f92922b03450d3a9975e5bd2e"
     "a0eb55ad8e1b199e3ec4316020e9a1b285e762795359b7bdfd39bef4b2484583d5afe082aee638bf5fd5a6"
     "06193901a08f4ab41aab9b134880",
     "5961605353c64bdca15b195e288553a910632506d6200aa790c4c806c99904cf2445cc50bb1cf168a4967"
     "3734e081b57e324ce5259c0e78d4cd97b870976503c0943f2cb5ae8f052c7b7d392239587b8956086bcab"
     "18836042e2e6ce42432a17105c53d0"),
    ("0a8b6bd8d9b08b08d64e32d1817777fb", 0x544D49CD, 0x04, 0, 310,
     "fd40a41d370a1f65745095687d47ba1d36d2349e23f644392c8ea9c49d40c13271aff264d0f248",
     "75750d37b4bba2a4dedb34235bd68c6645acdaaca48138a3b0c471e2a7041a576423d2927287f0"),
    ("aa1f95aea533bcb32eb63bf52d8f831a", 0x72D8C671, 0x10, 1, 1022,
     "fb1b96c5c8badfb2e8e8edfde78e57f2ad81e74103fc430a534dcc37afcec70e1517bb06f27219dae49022d"
     "dc47a068de4c9496a951a6b09edbdc864c7adbd740ac50c022f3082bafd22d78197c5d508b977bca13f32e6"
     "52e74ba728576077ce628c535e87dc6077ba07d29068590c8cb5f1088e082cfa0ec961302d69cf3d44",
     "dfb440acb3773549efc04628aeb8d8156275230bdc690d94b00d8d95f28c4b56307f60f4ca55eba661ebba"
     "72ac808fa8c49e26788ed04a5d606cb418de74878b9a22f8ef29590bc4eb57c9faf7c41524a885b8979c42"
     "3f2f8f8e0592a9879201be7ff9777a162ab810feb324ba74c4c156e04d39097209653ac33e5a5f2d8864"),
    ("9618ae46891f86578eebe90ef7a1202e", 0xC675A64B, 0x0C, 1, 1245,
     "8daa17b1ae050529c6827f28c0ef6a1242e93f8b314fb18a77f790ae049fedd612267fecaefc450174d76d9f"
     "9aa7755a30cd90a9a5874bf48eaf70eea3a62a250a8b6bd8d9b08b08d64e32d1817777fb544d49cd49720e21"
     "9dbf8bbed33904e1fd40a41d370a1f65745095687d47ba1d36d2349e23f644392c8ea9c49d40c13271aff264"
     "d0f24841d6465f0996ff84e65fc517c53efc3363c38492a8",
     "919c8c33d66789703d05a0d7ce82a2aeac4ee76c0f4da050335e8a84e7897ba5df2f36bd513e3d0c8578c7a0"
     "fcf043e03aa3a39fbaad7d15be074faa5d9029f71fb457b647834714b0e18f117fca10677945096c8c5f326b"
     "a8d6095eb29c3e36cf245d1622aafe921f7566c4f5d644f2f1fc0ec684ddb21349747622e209295d27ff3f95"
     "623371d49b147c0af486171f22cd04b1cbeb2658223e6938"),
    ("54f4e2e04c83786eec8fb5abe8e36566", 0xACA4F50F, 0x0B, 0, 3861,
     "40981ba6824c1bfb4286b299783daf442c099f7ab0f58d5c8e46b104f08f01b41ab485472029b71d36bd1a3d"
     "90dc3a41b46d51672ac4c9663a2be063da4bc8d2808ce33e2cccbfc634e1b259060876a0fbb5a437ebcc8d31"
     "c19e4454318745e3fa16bb11adae248879fe52db2543e53cf445d3d828ce0bf5c560593d97278a59762dd0c2"
     "c9cd68d4496a792508614014b13b6aa51128c18cd6a90b87978c2ff1cabe7d9f898a411bfdb84f68f6727b14"
     "99cdd30df0443ab4a66653330bcba1105e4cec034c73e605b4310eaaadcfd5b0ca27ffd89d144df479275942"
     "7c9cc1f8cd8c87202364b8a687954cb05a8d4e2d99e73db160deb180ad0841e96741a5d59fe4189f15420026"
     "fe4cd12104932fb38f735340438aaf7eca6fd5cfd3a195ce5abe65272af607ada1be65a6b4c9c0693234092c"
     "4d018f1756c6db9dc8a6d80b888138616b681262f954d0e7711748780d92291d86299972db741cfa4f37b8b5"
     "6cdb18a7ca8218e86e4b4b716a4d04371fbec262fc5ad0b3819b187b97e55b1a4d7c19ee24c8b4d7723cfedf"
     "045b8acae4869517d80e50615d9035d5d9c5a40af602280b542597b0cb18619eeb35925759d195e100e8e4aa"
     "0c38a3c2abe0f3d8ff04f3c33c295069c23694b5bbeacdd542e28e8a94edb9119f412d054be1fa7200b090",
     "5cb72c6edc878f1566e10253afc364c9fa540d914db94cbee275d0917ca6af0d77acb4ef3bbe1a722b2ef5bd"
     "1d4b8e2aa5024ec1388a201e7bce7920aec615895f763a5564dcc4c482a2ee1d8bfecc4498eca83fbb75f9ab"
     "530e0dafbede2fa5895b82991b6277c529e0f2529d7f79606be96706296dedfa9d7412b616958cb563c678c0"
     "2825c30d0aee77c4c146d2765412421a808d13cec819694c75ad572e9b973d948b81a9337c3b2a17192e22c2"
     "069f7ed1162af44cdea817603665e807ce40c8e0dd9d6394dc6e31153fe1955c47afb51f2617ee0c5e3b8ef1"
     "ad7574ed343edc2743cc94c990e1f1fd264253c178dea739c0befeebcd9f9b76d49c1015c9fecf50e53b8b52"
     "04dbcd3eed863855dabcdcc94b31e318021568855c8b9e52a981957a112827f978ba960f1447911b317b5511"
     "fbcc7fb13ac153db74251117e4861eb9e83bffffc4eb7755579038e57924b1f78b3e1ad90bab2a07871b72db"
     "5eef96c334044966db0c37cafd1a89e5646a3580eb6465f121dce9cb88d85b96cf23ccccd4280767bee8eeb2"
     "3d8652461db6493103003baf89f5e18261ea43c84a92ebffffe4909dc46c5192f825f770600b9602c557b5f8"
     "b431a79d45977dd9c41b863da9e142e90020cfd074d6927b7ab3b6725d1a6f3f98b9c9daa8982aff067828"),
]

# (key, count, bearer, direction, length bits, message, MAC)
EIA2 = [
    ("2bd6459f82c5b300952c49104881ff48", 0x38A6F056, 0x18, 0, 58, "3332346263393840", "118c6eb8"),
    ("d3c5d592327fb11c4035c6680af8c6d1", 0x398A59B4, 0x1A, 1, 64, "484583d5afe082ae", "b93787e6"),
    ("7e5e94431e11d73828d739cc6ced4573", 0x36AF6144, 0x18, 1, 254,
     "b3d3c9170a4e1632f60f861013d22d84b726b6a278d802d1eeaf1321ba5929dc", "1f60b01d"),
    ("d3419be821087acd02123a9248033359", 0xC7590EA9, 0x17, 0, 511,
     "bbb057038809496bcff86d6fbc8ce5b135a06b166054f2d565be8ace75dc851e0bcdd8f07141c495872fb5d8c"
     "0c66a8b6da556663e4e461205d84580bee5bc7e", "6846a2f0"),
    ("83fd23a244a74cf358da3019f1722635", 0x36AF6144, 0x0F, 1, 768,
     "35c68716633c66fb750c266865d53c11ea05b1e9fa49c8398d48e1efa5909d3947902837f5ae96d5a05bc8d6"
     "1ca8dbef1b13a4b4abfe4fb1006045b674bb54729304c382be53a5af05556176f6eaa2ef1d05e4b083181ee6"
     "74cda5a485f74d7a", "e657e182"),
    ("6832a65cff4473621ebdd4ba26a921fe", 0x36AF6144, 0x18, 0, 383,
     "d3c53839626820717765667620323837636240981ba6824c1bfb1ab485472029b71d808ce33e2cc3c0b5fc1f"
     "3de8a6dc", "f0668c1e"),
    ("5d0a80d8134ae19677824b671e838af4", 0x7827FAB2, 0x05, 1, 2558,
     "70dedf2dc42c5cbd3a96f8a0b11418b3608d5733604a2cd36aabc70ce3193bb5153be2d3c06dfdb2d16e9c35"
     "7158be6a41d6b861e491db3fbfeb518efcf048d7d58953730ff30c9ec470ffcd663dc34201c36addc0111c35"
     "b38afee7cfdb582e3731f8b4baa8d1a89c06e81199a9716227be344efcb436ddd0f096c064c3b5e2c399993f"
     "c77394f9e09720a811850ef23b2ee05d9e6173609d86e1c0c18ea51a012a00bb413b9cb8188a703cd6bae31c"
     "c67b34b1b00019e6a2b2a690f02671fe7c9ef8dec0094e533763478d58d2c5f5b827a0148c5948a96931acf8"
     "4f465a64e62ce74007e991e37ea823fa0fb21923b79905b733b631e6c7d6860a3831ac351a9c730c52ff72d9"
     "d308eedbab21fde143a0ea17e23edc1f74cbb3638a2033aaa15464eaa733385dbbeb6fd73509b857e6a419dc"
     "a1d8907af977fbac4dfa35ec", "f4cc8fa3"),
]


def _nbytes(bits: int) -> int:
    return (bits + 7) // 8


@pytest.mark.parametrize("row", EEA2, ids=[f"C.1-set{i}" for i in range(1, 7)])
def test_eea2_test_sets(row: tuple) -> None:
    key, count, bearer, direction, n, pt, ct = row
    plain, expect = bytes.fromhex(pt), bytes.fromhex(ct)[: _nbytes(n)]
    assert eea2(bytes.fromhex(key), count, bearer, direction, plain, n) == expect
    assert eea2(bytes.fromhex(key), count, bearer, direction, expect, n) == _zeroed(plain, n)


def _zeroed(data: bytes, n: int) -> bytes:
    out = bytearray(data[: _nbytes(n)])
    if n % 8:
        out[-1] &= (0xFF << (8 - n % 8)) & 0xFF
    return bytes(out)


@pytest.mark.parametrize("row", EIA2, ids=[f"C.2-set{i}" for i in range(1, 8)])
def test_eia2_test_sets(row: tuple) -> None:
    key, count, bearer, direction, n, msg, mac = row
    got = eia2(bytes.fromhex(key), count, bearer, direction, bytes.fromhex(msg), n)
    assert got.hex() == mac


def test_eia2_ignores_bits_past_length() -> None:
    key, count, bearer, direction, n, msg, mac = EIA2[0]
    noisy = bytearray(bytes.fromhex(msg))
    noisy[-1] |= 0x3F  # 58 bits: the last 6 bits are outside the message
    assert eia2(bytes.fromhex(key), count, bearer, direction, bytes(noisy), n).hex() == mac
    assert eia2(bytes.fromhex(key), count, bearer, 1 - direction, bytes(noisy), n).hex() != mac


def test_keyed_cmac_reused_per_key_gives_each_message_its_own_mac(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One CMAC object per key, each MAC from a copy: messages MACed one after the other, keys
    interleaved, and the store cleared when full all give the test sets' MACs (TS 33.401 C.2)
    and RFC 4493's tags."""
    monkeypatch.setattr(eia_eea, "_CMACS", {})
    monkeypatch.setattr(eia_eea, "_CMACS_MAX", 2)
    rfc_key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    for _ in range(3):
        for key, count, bearer, direction, n, msg, mac in EIA2:
            got = eia2(bytes.fromhex(key), count, bearer, direction, bytes.fromhex(msg), n)
            assert got.hex() == mac
            assert aes_cmac(bytearray(rfc_key), b"", 0).hex() == "bb1d6929e95937287fa37d129b756746"
        assert aes_cmac(rfc_key, bytes.fromhex("6bc1bee22e409f96e93d7e117393172a"), 128).hex() \
            == "070a16b46b4d4144f79bdd9dd04a287c"
    assert 0 < len(eia_eea._CMACS) <= 2


@pytest.mark.parametrize(
    "msg,tag",
    [
        ("", "bb1d6929e95937287fa37d129b756746"),
        ("6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144f79bdd9dd04a287c"),
        ("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411",
         "dfa66747de9ae63030ca32611497c827"),
    ],
)
def test_cmac_bits_rfc4493(msg: str, tag: str) -> None:
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    data = bytes.fromhex(msg)
    assert cmac_bits(key, data, len(data) * 8).hex() == tag


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=16, max_size=16), data=st.binary(max_size=80))
def test_cmac_bits_matches_library(key: bytes, data: bytes) -> None:
    c = CMAC(algorithms.AES(key))
    c.update(data)
    assert cmac_bits(key, data, len(data) * 8) == c.finalize()


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=16),
    count=st.integers(0, 2**32 - 1),
    bearer=st.integers(0, 31),
    direction=st.integers(0, 1),
    data=st.binary(max_size=64),
)
def test_eea2_is_an_involution(
    key: bytes, count: int, bearer: int, direction: int, data: bytes
) -> None:
    ct = cipher(2, key, count, bearer, direction, data)
    assert len(ct) == len(data)
    assert cipher(2, key, count, bearer, direction, ct) == data


def test_null_algorithms_and_dispatch() -> None:
    key = bytes(16)
    assert eia0(key, 5, 0, 0, b"abc") == b"\x00\x00\x00\x00"
    assert eea0(key, 5, 0, 0, b"abc") == b"abc"
    assert integrity(0, key, 5, 0, 0, b"abc") == b"\x00" * 4
    assert cipher(0, key, 5, 0, 0, b"abc") == b"abc"
    assert integrity(2, key, 5, 0, 0, b"abc") == eia2(key, 5, 0, 0, b"abc")
    with pytest.raises(UnsupportedAlgorithm):
        integrity(7, key, 0, 0, 0, b"")
    with pytest.raises(UnsupportedAlgorithm):
        cipher(7, key, 0, 0, 0, b"")
    assert issubclass(UnsupportedAlgorithm, ValueError)


@pytest.mark.parametrize(
    "args",
    [
        (bytes(15), 0, 0, 0),
        (bytes(16), 2**32, 0, 0),
        (bytes(16), 0, 32, 0),
        (bytes(16), 0, 0, 2),
    ],
)
def test_parameter_ranges(args: tuple) -> None:
    with pytest.raises(ValueError):
        eia2(*args, b"x")
    with pytest.raises(ValueError):
        eea2(*args, b"x")


def test_length_beyond_data_rejected() -> None:
    with pytest.raises(ValueError):
        eea2(bytes(16), 0, 0, 0, b"ab", 17)


def test_eea2_with_one_key_for_many_messages_matches_a_fresh_ctr_cipher_each_time() -> None:
    """The block encryptor kept per key carries nothing from one message to the next: every
    message, in any order and of any length (a partial last block included; counter blocks
    made as one integer up to 32 blocks, joined beyond), gives what a new AES-CTR cipher with
    T1 = COUNT || BEARER || DIRECTION || 0^26 || 0^64 gives (TS 33.401 B.1.3)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = bytes.fromhex("d3c5d592327fb11c4035c6680af8c6d1")
    for count, direction, size in ((7, 1, 17), (0x398A59B4, 0, 33), (7, 1, 0), (8, 0, 16),
                                   (0xFFFFFFFF, 1, 100), (7, 1, 17), (5, 0, 511), (5, 0, 512),
                                   (0xFFFFFFFF, 1, 513), (9, 0, 1500)):
        data = bytes((count + i) & 0xFF for i in range(size))
        iv = count.to_bytes(4, "big") + bytes(((0x15 << 3) | (direction << 2), 0, 0, 0)) + bytes(8)
        enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
        assert eea2(key, count, 0x15, direction, data) == enc.update(data) + enc.finalize()


@pytest.mark.parametrize("row", [r for r in EIA2 if r[4] % 8 == 0] + [r for r in EEA2 if r[4] % 8 == 0],
                         ids=lambda r: f"{r[4]}-bits")
def test_whole_octet_messages_without_a_length_as_the_test_sets(row: tuple) -> None:
    """TS 33.401 Annex C: a NAS message is whole octets (LENGTH = 8 x its octets, the call of
    `integrity` / `cipher`); the key may come as any bytes-like value."""
    key, count, bearer, direction, n, data, out = row
    key_b, data_b = bytes.fromhex(key), bytes.fromhex(data)[: n // 8]
    if len(out) == 8:  # a MAC
        assert eia2(bytearray(key_b), count, bearer, direction, data_b).hex() == out
        assert integrity(2, key_b, count, bearer, direction, data_b).hex() == out
    else:
        assert eea2(bytearray(key_b), count, bearer, direction, data_b) == bytes.fromhex(out)
        assert cipher(2, key_b, count, bearer, direction, data_b) == bytes.fromhex(out)
