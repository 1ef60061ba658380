"""The fast SIB2 codec (TS 36.331 §6.2.1/§6.3.1, UPER) against pycrate RRCLTE, differentially,
and the RRC module left unloaded by a process whose broadcasts all take fast paths."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corenet.codecs import sib2 as ref
from corenet.codecs import ue_radio_capability as urc
from corenet.codecs.fast import sib2 as fast
from corenet.codecs.selection import CodecLevel, codec_level, set_codec

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

configs = st.builds(ref.BarringConfig, st.sampled_from(ref.BARRING_FACTORS),
                    st.sampled_from(ref.BARRING_TIMES), st.integers(0, 31))
infos = st.builds(ref.BarringInfo, st.booleans(), st.none() | configs, st.none() | configs)
per_plmns = st.dictionaries(st.integers(1, 6), infos, max_size=6).map(
    lambda d: tuple(sorted(d.items())))
broadcasts = st.tuples(st.none() | st.sampled_from(ref.BARRING_FACTORS),
                       st.sampled_from(ref.BARRING_TIMES), st.integers(0, 31), st.booleans(),
                       st.booleans(), per_plmns)


def test_the_cell_configuration_bits_are_pycrates() -> None:
    """CELL_BITS: radioResourceConfigCommon .. timeAlignmentTimerCommon as pycrate encodes
    them, after the 14 header bits and SIB2's extension bit and two presence bits."""
    data = ref._sib2_pycrate(None, 64, 0, False, True, ())
    bits = format(int.from_bytes(data, "big"), f"0{8 * len(data)}b")
    cell = bits[17:bits.rindex("1") + 1]  # timeAlignmentTimerCommon infinity ends in 1
    assert (len(cell), int(cell, 2)) == (fast.CELL_LEN, fast.CELL_BITS)


@SETTINGS
@given(broadcast=broadcasts)
def test_encode_and_decode_are_pycrates(broadcast: tuple) -> None:  # type: ignore[type-arg]
    expected = ref._sib2_pycrate(*broadcast)
    assert fast.encode(*broadcast) == expected
    got = fast.decode(expected)
    assert got is not None and got == ref._decode_pycrate(expected)
    factor, _, _, _, _, per_plmn = broadcast
    assert (got.common is None) == (factor is None)
    assert got.per_plmn == dict(per_plmn)


@SETTINGS
@given(broadcast=broadcasts, flip=st.integers(0, 1 << 16), cut=st.integers(0, 64))
def test_mutated_bytes_are_read_as_pycrate_reads_them_or_declined(
        broadcast: tuple, flip: int, cut: int) -> None:  # type: ignore[type-arg]
    data = bytearray(ref._sib2_pycrate(*broadcast))
    data[flip % len(data)] ^= 1 << (flip >> 8) % 8
    data = data[:max(1, len(data) - cut % 4)] if cut < 16 else data
    got = fast.decode(bytes(data))
    if got is not None:  # the fast path accepts only what pycrate reads the same
        assert got == ref._decode_pycrate(bytes(data))


def test_other_sibs_and_extensions_go_to_pycrate() -> None:
    with_mbsfn = bytearray(ref._sib2_pycrate(None, 64, 0, False, True, ()))
    with_mbsfn[2] |= 0x20  # mbsfn-SubframeConfigList present: outside the fast set
    assert fast.decode(bytes(with_mbsfn)) is None
    assert fast.decode(b"") is None
    assert fast.decode(b"\x40" + bytes(30)) is None  # a SIB1-sized message of another kind


def test_the_module_level_functions_take_the_fast_path_and_pycrate_alike() -> None:
    info = ref.BarringInfo(False, ref.BarringConfig(0.5, 32), ref.BarringConfig(0.5, 32))
    level = codec_level()
    try:
        set_codec(CodecLevel.PYCRATE)
        slow = ref.sib2_with_barring(0.3, 16, per_plmn={2: info})
        set_codec(CodecLevel.FAST)
        assert ref.sib2_with_barring(0.3, 16, per_plmn={2: info}) == slow
        assert ref.decode_sib2_barring(slow).per_plmn == {2: info}
    finally:
        set_codec(level)


def test_the_handsets_capability_is_pycrates_encoding() -> None:
    assert urc.JAPAN_HANDSET == urc._encode(urc.JAPAN_BANDS, 4)
    assert urc.ue_radio_capability() == urc.JAPAN_HANDSET
    assert urc.bands_of(urc.JAPAN_HANDSET) == list(urc.JAPAN_BANDS)


def test_an_enb_and_its_ues_never_load_rrclte() -> None:
    """A storm worker's eNB broadcasts barring and reports capabilities, its UEs read the
    barring: none of it loads pycrate's RRC module (~55 MiB per process)."""
    script = """
import sys
from corenet.codecs.ue_radio_capability import ue_radio_capability
from sim_ue import acb
from sim_ue.enb import EnbCore
from corenet.config.models import EnbConfig
enb = EnbCore(EnbConfig(name="e", global_enb_id=1, tac=1, address="127.0.0.1", plmn="44020"))
sib2 = enb.set_barring("44020", 0.3, 32)
barring = acb.decode_sib2_barring(sib2)
assert barring.per_plmn[1].mo_data.factor == 0.3, barring
assert ue_radio_capability()
print("RRCLTE" in " ".join(sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", out.stderr
