"""`corenet crypto` through the console script.

Vectors: TS 35.208 §4.3 test set 1 (Milenage) and TS 33.401 Annex C.1 / C.2 test set 1 (EEA2/EIA2).
"""

from __future__ import annotations

import pytest

from tests.cli_helpers import run, run_json

K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OP = "cdc202d5123e20f62b6d676ac72cb318"
RAND = "23553cbe9637a89d218ae64dae47bf35"
SQN = "ff9bb4d0b607"
AMF = "b9b9"


def test_milenage_test_set_1_from_op():
    rc, out = run_json("corenet", "crypto", "milenage", "--k", K, "--op", OP, "--rand", RAND,
                       "--sqn", SQN, "--amf", AMF)
    assert rc == 0
    assert out == {
        "opc": "cd63cb71954a9f4e48a5994e37a02baf",
        "mac_a": "4a9ffac354dfafb3",
        "mac_s": "01cfaf9ec4e871e9",
        "res": "a54211d5e3ba50bf",
        "ck": "b40ba9a3c58b2a05bbf0d987b21bf8cb",
        "ik": "f769bcd751044604127672711c6d3441",
        "ak": "aa689c648370",
        "ak_star": "451e8beca43b",
    }


def test_milenage_with_opc_gives_the_same():
    rc, out = run_json("corenet", "crypto", "milenage", "--k", K,
                       "--opc", "cd63cb71954a9f4e48a5994e37a02baf", "--rand", RAND, "--sqn", SQN,
                       "--amf", AMF)
    assert rc == 0 and out["mac_a"] == "4a9ffac354dfafb3"


def test_kasme_chain_matches_library():
    from corenet.core.plmn import Plmn
    from corenet.crypto import kdf

    ck, ik, sak = "b40ba9a3c58b2a05bbf0d987b21bf8cb", "f769bcd751044604127672711c6d3441", "55f328b43577"
    rc, out = run_json("corenet", "crypto", "kasme", "--ck", ck, "--ik", ik, "--sqn-xor-ak", sak,
                       "--plmn", "44020")
    assert rc == 0
    expected = kdf.kasme(bytes.fromhex(ck), bytes.fromhex(ik), Plmn.parse("44020").to_bytes(),
                         bytes.fromhex(sak)).hex()
    assert out == {"kasme": expected}
    rc, keys = run_json("corenet", "crypto", "nas-keys", "--kasme", expected, "--eea", "2", "--eia", "2")
    enc, integ = kdf.nas_keys(bytes.fromhex(expected), 2, 2)
    assert rc == 0 and keys == {"k_nas_enc": enc.hex(), "k_nas_int": integ.hex()}
    rc, kenb = run_json("corenet", "crypto", "kenb", "--kasme", expected, "--ul-count", "3")
    assert rc == 0 and kenb == {"kenb": kdf.kenb(bytes.fromhex(expected), 3).hex()}


def test_eia2_annex_c2_set1():
    rc, out = run_json("corenet", "crypto", "eia2", "--key", "2bd6459f82c5b300952c49104881ff48",
                       "--count", "0x38a6f056", "--bearer", "0x18", "--direction", "0",
                       "--message", "33323462633938617374", "--length-bits", "58")
    assert rc == 0 and out == {"mac": "118c6eb8"}


def test_eea2_annex_c1_set1():
    plain = ("d151e40e7e6e8b8b5aa16dc6bfb3dc9ad0b0c20b6fe2a82a0d6a7a59b7b8b27a"
             "65f23b9d2e1d0be5ab5b6ab7fae8b42fe0c2")
    rc, out = run_json("corenet", "crypto", "eea2", "--key", "d3c5d592327fb11c4035c6680af8c6d1",
                       "--count", "0x398a59b4", "--bearer", "0x15", "--direction", "1",
                       "--message", plain, "--length-bits", str(len(plain) * 4))
    assert rc == 0
    # Ciphering twice with the same parameters gives the plaintext back (CTR mode).
    rc, back = run_json("corenet", "crypto", "eea2", "--key", "d3c5d592327fb11c4035c6680af8c6d1",
                        "--count", "0x398a59b4", "--bearer", "0x15", "--direction", "1",
                        "--message", out["output"])
    assert rc == 0 and back["output"] == plain


@pytest.mark.parametrize(
    "args, named",
    [
        (["milenage", "--k", "zz", "--opc", "00" * 16, "--rand", "00" * 16, "--sqn", "00" * 6, "--amf", "0000"], "--k"),
        (["milenage", "--k", "00" * 16, "--rand", "00" * 16, "--sqn", "00" * 6, "--amf", "0000"], "--op"),
        (["kenb", "--kasme", "00", "--ul-count", "1"], "--kasme"),
        (["eia2", "--key", "00" * 16, "--count", "-1", "--bearer", "0", "--direction", "0", "--message", "00"], "--count"),
        (["eia2", "--key", "00" * 16, "--count", "1", "--bearer", "32", "--direction", "0", "--message", "00"], "--bearer"),
        (["eia2", "--key", "00" * 16, "--count", "1", "--bearer", "1", "--direction", "2", "--message", "00"], "--direction"),
        (["eea2", "--key", "00" * 16, "--count", "1", "--bearer", "1", "--direction", "0", "--message", "00", "--length-bits", "9"], "--length-bits"),
        (["kasme", "--ck", "00" * 16, "--ik", "00" * 16, "--sqn-xor-ak", "00" * 6, "--plmn", "4401"], "--plmn"),
    ],
)
def test_bad_argument_is_one_line_exit_2(args, named):
    proc = run("corenet", "crypto", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert named in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
