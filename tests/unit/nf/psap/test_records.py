"""PSAP records: what is read from an INVITE, SQLite storage, the CLI listing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corenet.cli.psap_cmd import psap
from corenet.codecs import sip
from corenet.nf.psap.records import CallStore, record_from_invite


def _invite(pai: str | None, caller: str = "mode=emergency-unauth") -> sip.SipRequest:
    return sip.make_request(
        "INVITE", "urn:service:sos.police", from_="<sip:ue@127.146.0.2>;tag=a",
        to="<tel:110>", call_id="c@x", cseq=1, via="SIP/2.0/UDP 127.0.0.6;branch=z9hG4bKx",
        headers=[*([("P-Asserted-Identity", pai)] if pai else []),
                 ("Japan-Roaming-Caller", caller),
                 ("P-Access-Network-Info",
                  "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=4402000010010101; network-provided")])


def test_imsi_identity_is_recorded_unverified(tmp_path: Path) -> None:
    rec = record_from_invite(_invite(None, "mode=emergency-unauth;imsi=440100000000001"),
                             "2026-01-01T00:00:00Z")
    assert (rec.identity, rec.identity_type, rec.verified) == ("440100000000001", "imsi", False)
    assert (rec.service_urn, rec.dialled, rec.ecgi, rec.tac, rec.mode) == (
        "urn:service:sos.police", "110", "44020-0010101", 1, "emergency-unauth")
    db = tmp_path / "psap.db"
    store = CallStore(str(db))
    rid = store.add(rec)
    store.set_callback(rid, "failed", 404)
    store.close()
    out = CliRunner().invoke(psap, ["calls", "--json", "--db", str(db)])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert rows[0]["identity_type"] == "imsi" and rows[0]["verified"] is False
    assert (rows[0]["callback_outcome"], rows[0]["callback_status"]) == ("failed", 404)


def test_asserted_msisdn_is_verified_and_the_mode_read_from_the_caller_header() -> None:
    """RFC 3325 §9.1: what the trust domain asserts is verified; no verstat is involved."""
    ok = record_from_invite(_invite("<tel:+819010000001>", "mode=emergency-auth"), "t")
    assert (ok.identity, ok.identity_type, ok.verified, ok.mode) == (
        "819010000001", "msisdn", True, "emergency-auth")
    imei = record_from_invite(_invite(None, "mode=emergency-unauth;imei=35349006987331"), "t")
    assert (imei.identity, imei.identity_type, imei.verified) == (
        "35349006987331", "imei", False)
    none = record_from_invite(_invite(None, "mode=emergency-unauth"), "t")
    assert (none.identity, none.verified) == (None, False)


def test_cli_without_database_exits_2(tmp_path: Path) -> None:
    out = CliRunner().invoke(psap, ["calls", "--json", "--db", str(tmp_path / "none.db")])
    assert out.exit_code == 2
