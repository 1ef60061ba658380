"""`corenet cbc send` against a running CBC, and `corenet run cbc --check`."""

from __future__ import annotations

import asyncio
import json
import socket

from corenet.codecs import cbs, sbcap
from corenet.config.models import CbcConfig, Endpoint
from corenet.nf.cbc.service import CbcService
from corenet.transport import open_sctp_server
from tests.cli_helpers import BIN, run_json


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "corenet"), *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cbc_send_makes_the_running_cbc_send_a_write_replace_warning() -> None:
    got: asyncio.Queue[bytes] = asyncio.Queue()
    mme = await open_sctp_server("127.0.0.1", 0, lambda c, data, ppid, s: got.put_nowait(data))
    control = _free_port()
    cbc = CbcService(CbcConfig(mmes=[Endpoint(host="127.0.0.1", port=mme.local[1])],
                               local_host="127.0.0.1", rescuer="softbank",
                               control=Endpoint(host="127.0.0.1", port=control)))
    await cbc.start()
    try:
        code, out, err = await _cli("cbc", "send", "--warning", "tsunami", "--tacs", "1,2",
                                    "--text", "TSUNAMI", "--endpoint", f"127.0.0.1:{control}")
        assert code == 0, err
        assert json.loads(out) == {"ok": True, "message_identifiers": [cbs.ETWS_TSUNAMI],
                                   "mmes": 1}
        req = sbcap.decode(await asyncio.wait_for(got.get(), 5))
        assert req.name == "Write-Replace-Warning-Request"
        assert req.fields["List-of-TAIs"] == [{"tai": {"pLMNidentity": "44020", "tAC": t}}
                                             for t in (1, 2)]
        assert cbs.decode_warning_message_contents(
            req.fields["Warning-Message-Content"], req.fields["Data-Coding-Scheme"]) == "TSUNAMI"
        code, out, err = await _cli("cbc", "stop", "--endpoint", f"127.0.0.1:{control}")
        assert code == 0 and json.loads(out)["message_identifiers"] == [cbs.ETWS_TSUNAMI]
        stop = sbcap.decode(await asyncio.wait_for(got.get(), 5))
        assert stop.name == "Stop-Warning-Request"
        assert stop.fields["Serial-Number"] == req.fields["Serial-Number"]
        assert stop.fields["Send-Stop-Warning-Indication"] == "true"
        code, out, err = await _cli("cbc", "send", "--warning", "flood",
                                    "--endpoint", f"127.0.0.1:{control}")
        assert code == 2 and "flood" in err
    finally:
        await cbc.stop()
        mme.close()
        await mme.wait_closed()


def test_run_cbc_check() -> None:
    code, out = run_json("corenet", "run", "cbc", "--check")
    assert code == 0 and out["network_functions"] == ["cbc"]
