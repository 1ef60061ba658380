"""The `sim-ue` console script, run the way a user runs it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import sim_ue.cli as sim_cli
from corenet.crypto.milenage import Milenage, generate_vector, int_to_sqn, resync_sqn, sqn_to_int
from corenet.pcap.reader import read_packets
from sim_ue.cli import main
from tests.cli_helpers import BIN
from tests.unit.sim_ue import memnet
from tests.unit.sim_ue.core_s1 import CoreS1Server, sim_ue_attach
from tests.unit.sim_ue.memnet import subscribers

K, OPC = bytes.fromhex(memnet.K), bytes.fromhex(memnet.OPC)
RAND = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def _usim_args(autn: bytes, *extra: str) -> list[str]:
    return ["usim", "--k", K.hex(), "--opc", OPC.hex(), "--rand", RAND.hex(),
            "--autn", autn.hex(), *extra]


def test_usim_success_prints_res_ck_ik(capsys: pytest.CaptureFixture[str]) -> None:
    av = generate_vector(Milenage(K, OPC), RAND, int_to_sqn(64), b"\x80\x00")
    rc, text, _ = _main(capsys, *_usim_args(av.autn))
    assert rc == 0
    assert json.loads(text) == {"result": "success", "res": av.xres.hex(), "ck": av.ck.hex(),
                   "ik": av.ik.hex(), "sqn_xor_ak": av.sqn_xor_ak.hex()}


def test_usim_synch_failure_prints_auts(capsys: pytest.CaptureFixture[str]) -> None:
    m = Milenage(K, OPC)
    av = generate_vector(m, RAND, int_to_sqn(64), b"\x80\x00")
    rc, text, _ = _main(capsys, *_usim_args(av.autn, "--sqn-ms", "96"))
    out = json.loads(text)
    assert rc == 0 and out["result"] == "failure" and out["emm_cause"] == 21
    assert sqn_to_int(resync_sqn(m, RAND, bytes.fromhex(out["auts"]))) == 96


# TS 35.208 test set 1 SQN: far above 2**33, where the wrap-around limit of Annex C.2.2 bites.
TEST_SET_SQN = 0xFF9BB4D0B607


@pytest.mark.parametrize("sqn_ms_arg", ["0xff9bb4d0b607", str(0xFF9BB4D0B607), "0xFF9BB4D0B627"])
def test_usim_sqn_ms_of_the_test_set_is_encoded_in_auts(
        capsys: pytest.CaptureFixture[str], sqn_ms_arg: str) -> None:
    """TS 33.102 §6.3.3: a card at SQN_MS >= the vector's SQN answers #21 with an AUTS that
    conceals exactly SQN_MS (48 bits, given in decimal or hex)."""
    m = Milenage(K, OPC)
    av = generate_vector(m, RAND, int_to_sqn(TEST_SET_SQN), b"\x80\x00")
    rc, text, _ = _main(capsys, *_usim_args(av.autn, "--sqn-ms", sqn_ms_arg))
    out = json.loads(text)
    assert rc == 0 and out["result"] == "failure" and out["emm_cause"] == 21
    assert sqn_to_int(resync_sqn(m, RAND, bytes.fromhex(out["auts"]))) == int(sqn_ms_arg, 0)


def test_usim_sqn_ms_just_below_the_test_set_sqn_accepts_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Annex C.2.2: SEQ above the slot's SEQ_MS and within delta of it is fresh."""
    av = generate_vector(Milenage(K, OPC), RAND, int_to_sqn(TEST_SET_SQN), b"\x80\x00")
    rc, text, _ = _main(capsys, *_usim_args(av.autn, "--sqn-ms", hex(TEST_SET_SQN - 32)))
    assert rc == 0 and json.loads(text)["result"] == "success"


def test_usim_sqn_ms_beyond_48_bits_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _main(capsys, *_usim_args(b"\x00" * 16, "--sqn-ms", hex(1 << 48)))
    assert rc == 2 and "--sqn-ms" in err


def test_bad_arguments_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _main(capsys, "usim", "--k", "00", "--opc", OPC.hex(), "--rand", RAND.hex(),
                       "--autn", "00" * 16)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--k" in err
    rc, _, err = _main(capsys, "attach", "--mme", "nohost", "--subscribers", "x.yaml")
    assert rc == 2 and "--mme" in err
    rc, _, err = _main(capsys, "attach", "--plmn", "4402", "--subscribers", "x.yaml")
    assert rc == 2 and "--plmn" in err


def test_check_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "corenet.yaml"
    subs = tmp_path / "subs.yaml"
    subs.write_text(f"subscribers:\n  - {{imsi: '440100000000001', count: 3, k: {K.hex()}, "
                    f"opc: {OPC.hex()}}}\n")
    good.write_text(f"sim_ue:\n  subscribers_file: {subs}\n")
    rc, out, _ = _main(capsys, "attach", "--config", str(good), "--check")
    assert rc == 0 and "3 subscriber(s)" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("sim_ue:\n  enbs:\n    - name: x\n      tac: 1\n")
    rc, _, err = _main(capsys, "attach", "--config", str(bad), "--check")
    assert rc == 2
    assert "line 3" in err and "global_enb_id" in err


async def test_attach_against_an_mme(tmp_path: Path) -> None:
    mme = CoreS1Server(subscribers(3))
    host, port = await mme.start()
    pcap = tmp_path / "s1.pcapng"
    try:
        proc = await sim_ue_attach(tmp_path, host, port, 3, "--ues", "2", "--enbs", "2",
                                   "--pcap", str(pcap), "--timeout", "10")
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        mme.close()
    assert proc.returncode == 0, stderr.decode()
    results = json.loads(stdout)
    assert [r["imsi"] for r in results] == ["440100000000001", "440100000000002"]
    assert all(r["attached"] and r["network_name"] == "JPN-ROAM X" for r in results)
    assert [r["enb"] for r in results] == ["enb1", "enb2"]
    assert results[1]["msisdn"] == "819010000002"
    assert len(read_packets(pcap)) >= 2 + 2 * 7


async def test_emergency_attach_with_device_profiles(tmp_path: Path) -> None:
    mme = CoreS1Server(subscribers(2), mode="emergency-unauth")
    host, port = await mme.start()
    subs = tmp_path / "subs.yaml"
    subs.write_text(f"subscribers:\n  - {{imsi: '440100000000001', count: 2, "
                    f"k: {K.hex()}, opc: {OPC.hex()}}}\n")
    devices = Path(__file__).resolve().parents[3] / "configs" / "devices"
    try:
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "sim-ue"), "attach", "--mme", f"{host}:{port}", "--subscribers",
            str(subs), "--plmn", "44020", "--json", "--sctp", "fallback", "--timeout", "10",
            "--emergency", "--dial", "110", "--device", str(devices / "iphone-2026.yaml"),
            "--device", str(devices / "android-kddi-2022.yaml"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        mme.close()
    assert proc.returncode == 1, stderr.decode()  # the 2022 device could not call
    first, second = json.loads(stdout)
    assert first["emergency"] and first["attached"] and first["display"] == "no service"
    assert first["pdn"] == "sos" and first["authenticated"] is False
    assert first["device"] == "iphone-2026"
    assert not second["attached"] and second["device"] == "android-kddi-2022"
    assert second["reason"] == "device does not support emergency-only roaming (released 2022-09)"


def test_device_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subs = tmp_path / "subs.yaml"
    subs.write_text(f"subscribers:\n  - {{imsi: '440100000000001', k: {K.hex()}, "
                    f"opc: {OPC.hex()}}}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nos: android\nos_version: '1'\nvendor: v\nmodel: m\n"
                   "release_date: someday\nemergency_only_roaming: false\n")
    rc, _, err = _main(capsys, "attach", "--subscribers", str(subs), "--device", str(bad),
                       "--check")
    assert rc == 2 and "line 6" in err and "release_date" in err
    bad.write_text(bad.read_text().replace("someday", "2020-13-01"))
    rc, _, err = _main(capsys, "attach", "--subscribers", str(subs), "--device", str(bad),
                       "--check")
    assert rc == 2 and "month must be in 1..12" in err
    good = Path(__file__).resolve().parents[3] / "configs" / "devices"
    rc, out, _ = _main(capsys, "attach", "--subscribers", str(subs), "--device", str(good),
                       "--mix", "iphone-2026=1", "--check")
    assert rc == 0 and "1 device profile(s)" in out
    rc, _, err = _main(capsys, "attach", "--subscribers", str(subs), "--device", str(good),
                       "--mix", "nokia=1", "--check")
    assert rc == 2 and "unknown profile 'nokia'" in err


def _capture_call(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the network part of `sim-ue call` by a recorder of what it was given."""
    seen: dict[str, Any] = {}

    async def fake_call(subscribers: list[Any], enb_cfgs: list[Any], pcap: str | None,
                        dial: str, callbacks: float, **options: Any) -> list[dict[str, Any]]:
        seen.update(options, subscribers=subscribers, enbs=enb_cfgs)
        return []

    monkeypatch.setattr(sim_cli, "_call", fake_call)
    return seen


def test_call_uses_the_pcscf_of_the_configuration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seen = _capture_call(monkeypatch)
    subs = tmp_path / "subs.yaml"
    subs.write_text(f"subscribers:\n  - {{imsi: '440100000000001', k: {K.hex()}, "
                    f"opc: {OPC.hex()}}}\n")
    cfg = tmp_path / "corenet.yaml"
    cfg.write_text(f"sim_ue:\n  subscribers_file: {subs.name}\n"
                   "ims:\n  pcscf:\n    listen: {host: 127.0.0.66, port: 5070}\n")
    monkeypatch.chdir(tmp_path.parent)
    rc, _, err = _main(capsys, "call", "--dial", "119", "--config", str(cfg), "--json")
    assert rc == 0, err
    assert seen["pcscf"] == ("127.0.0.66", 5070)
    # the subscribers file is read next to the configuration file
    assert [s.imsi for s in seen["subscribers"]] == ["440100000000001"]
    # --pcscf still wins over the configuration
    rc, _, err = _main(capsys, "call", "--dial", "119", "--config", str(cfg),
                       "--pcscf", "127.0.0.77:5080")
    assert rc == 0 and seen["pcscf"] == ("127.0.0.77", 5080)


def test_call_without_subscribers_uses_the_embedded_defaults(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seen = _capture_call(monkeypatch)
    monkeypatch.chdir(tmp_path)  # no configs/ here
    rc, _, err = _main(capsys, "call", "--dial", "119", "--mme", "127.0.0.1:36412")
    assert rc == 0, err
    assert seen["pcscf"] == ("127.0.0.6", 5060)
    imsis = [s.imsi for s in seen["subscribers"]]
    assert imsis[0] == "440100000000001" and len(imsis) >= 1000
    rc, out, err = _main(capsys, "attach", "--mme", "127.0.0.1:36412", "--check")
    assert rc == 0, err
    assert f"{len(imsis)} subscriber(s)" in out
