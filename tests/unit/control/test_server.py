"""The control endpoint over a real loopback socket: JSON lines, `corenet ctl`, and failure
injection reaching the HSS of the same process."""

from __future__ import annotations

import asyncio
import json
import socket

from click.testing import CliRunner

from corenet.cli.ctl_cmd import ctl
from corenet.config.models import DiameterPeerSpec, Endpoint, HssConfig, MmeConfig
from corenet.control.server import request
from corenet.nf.hss.service import HssService
from corenet.nf.mme.service import MmeService


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mme_config(hss_port: int) -> MmeConfig:
    return MmeConfig(
        s1ap=Endpoint(host="127.0.0.1", port=_free_port()),
        s11_local=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        sgw=Endpoint(host="127.0.0.1", port=_free_port(socket.SOCK_DGRAM)),
        diameter_local_host="127.0.0.1",
        diameter_routes=[{"realm": "epc.mnc010.mcc440.3gppnetwork.org",
                          "host": "hss.epc.mnc010.mcc440.3gppnetwork.org",
                          "peer": {"host": "127.0.0.1", "port": hss_port}}],
        control=Endpoint(host="127.0.0.1", port=_free_port()))


async def _raw(host: str, port: int, line: bytes) -> dict[str, object]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(line)
    await writer.drain()
    answer = json.loads(await reader.readline())
    writer.close()
    return answer  # type: ignore[no-any-return]


async def test_control_endpoint_policy_cli_and_hss_injection() -> None:
    hss_port = _free_port()
    hss = HssService(HssConfig(listen=Endpoint(host="127.0.0.1", port=hss_port),
                               database=":memory:", subscribers_file=None,
                               peers=[DiameterPeerSpec(
                                   origin_host="mme.epc.mnc020.mcc440.3gppnetwork.org",
                                   addresses=["127.0.0.1"])],
                               control=Endpoint(host="127.0.0.1", port=0)))
    await hss.start()
    mme = MmeService(_mme_config(hss_port))
    await mme.start()
    try:
        assert mme.control_address is not None
        host, port = mme.control_address
        # garbage and a bad operation: one-line errors, the connection and server go on
        assert await _raw(host, port, b"not json\n") == {"ok": False,
                                                         "error": "not a JSON line"}
        bad = await request(host, port, {"op": "policy.set", "home_plmn": "44010",
                                         "mode": "sideways"})
        assert bad["ok"] is False and "mode" in str(bad["error"])
        # policy set through the CLI, read back over the socket; the MME core sees it
        runner = CliRunner()
        endpoint = f"{host}:{port}"
        res = await asyncio.to_thread(runner.invoke, ctl, [
            "--endpoint", endpoint, "policy", "set", "44010", "emergency-auth", "--tacs", "1,2",
            "--fallback-unauth"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["policy"]["tacs"] == [1, 2]
        got = await request(host, port, {"op": "policy.get", "home_plmn": "44010", "tac": 2})
        assert got["policy"]["mode"] == "emergency-auth"  # type: ignore[index]
        assert got["policy"]["fallback_unauth_when_hss_down"] is True  # type: ignore[index]
        assert any(e.kind == "policy.changed" for e in mme.events)
        # failure injection reaches the HSS object of this process
        res = await asyncio.to_thread(runner.invoke, ctl, ["--endpoint", endpoint, "fail",
                                                           "hss-unreachable"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["hss_in_process"] is True
        assert hss.failure == "drop"
        res = await asyncio.to_thread(runner.invoke, ctl, ["--endpoint", endpoint, "restore"])
        assert res.exit_code == 0 and hss.failure is None
        res = await asyncio.to_thread(runner.invoke, ctl, ["--endpoint", endpoint, "status"])
        status = json.loads(res.output)
        assert status["failures"] == {} and status["ues"] == 0
        # bad input exits 2 with one line
        res = await asyncio.to_thread(runner.invoke, ctl, ["--endpoint", endpoint, "policy",
                                                           "set", "44010", "half"])
        assert res.exit_code == 2
    finally:
        await mme.stop()
        await hss.stop()
    assert mme.control_address is None


def test_cli_unreachable_endpoint_exits_1_with_one_line() -> None:
    port = _free_port()
    res = CliRunner().invoke(ctl, ["--endpoint", f"127.0.0.1:{port}", "status"])
    assert res.exit_code == 1
    assert len(res.output.strip().splitlines()) == 1 and "unreachable" in res.output


def test_cli_bad_endpoint_exits_2() -> None:
    res = CliRunner().invoke(ctl, ["--endpoint", "nowhere", "status"])
    assert res.exit_code == 2
