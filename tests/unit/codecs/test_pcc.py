"""Gx (TS 29.212) and Rx (TS 29.214) rows of the Diameter dictionary: both codec paths agree,
and tshark dissects the messages cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from corenet.codecs import diameter as dia
from corenet.codecs import pcc
from corenet.nf.pcrf.core import PcrfCore, SendAnswer, SendRequest
from tests.unit.codecs.test_diameter import _tshark
from tests.unit.nf.pcrf.helpers import (
    IMSI,
    MSISDN,
    PCRF,
    aar,
    ccr_initial,
    media_component,
    str_,
)


def _messages() -> list[dia.Message]:
    core = PcrfCore(PCRF.host, PCRF.realm)
    ccr = ccr_initial()
    out = [ccr, *(a.message for a in core.handle(ccr, 0.0) if isinstance(a, SendAnswer))]
    req = aar("pcscf;1;2", media_component())
    for action in core.handle(req, 0.0):
        if isinstance(action, SendAnswer | SendRequest):
            out.append(action.message)
    out.insert(2, req)
    stop = str_("pcscf;1;2")
    out += [stop, *(a.message for a in core.handle(stop, 0.0)
                    if isinstance(a, SendAnswer | SendRequest))]
    return out


def test_fast_and_pycrate_paths_agree() -> None:
    for msg in _messages():
        wire = dia.encode_pycrate(msg)
        assert dia.encode(msg) == wire
        assert dia.decode(wire) == dia.decode_pycrate(wire)


def test_flags_follow_the_specifications() -> None:
    # TS 29.212 Table 5.3.1: Charging-Rule-Install M,V; Default-EPS-Bearer-QoS V only
    assert dia.AVPS["Charging-Rule-Install"].flags == dia.AVP_V | dia.AVP_M
    assert dia.AVPS["Default-EPS-Bearer-QoS"].flags == dia.AVP_V
    # TS 29.214 Table 5.3.1: Media-Component-Description M,V; AF-Requested-Data V only
    assert dia.AVPS["Media-Component-Description"].flags == dia.AVP_V | dia.AVP_M
    assert dia.AVPS["AF-Requested-Data"].flags == dia.AVP_V
    # RFC 4006 §8.46: Subscription-Id, an IETF AVP with M
    assert dia.AVPS["Subscription-Id"].flags == dia.AVP_M


@pytest.mark.tshark
def test_tshark_dissects_gx_and_rx(tmp_path: Path) -> None:
    fields = ["diameter.cmd.code", "diameter.applicationId", "diameter.Subscription-Id-Data",
              "diameter.QoS-Class-Identifier", "_ws.malformed", "_ws.expert"]
    rows = _tshark(tmp_path, [dia.encode(m) for m in _messages()], fields)
    # CCR, CCA, AAR, AAA, RAR (Gx), STR, STA, RAR (Gx remove)
    assert [r[0] for r in rows] == ["272", "272", "265", "265", "258", "275", "275", "258"]
    assert rows[0][1] == str(dia.GX_APPLICATION_ID) and rows[2][1] == str(dia.RX_APPLICATION_ID)
    assert rows[0][2] == f"{MSISDN},{IMSI}"
    assert rows[3][2] == f"{MSISDN},{IMSI}"  # the AAA names the caller (TS 29.214 §4.4.1)
    assert "1" in rows[4][3].split(",")  # QCI 1 in the Charging-Rule-Install
    assert all(r[4] == "" and r[5] == "" for r in rows), rows
    assert pcc.location_of(pcc.user_location({"tai": {"plmn": "44020", "tac": 1},
                                              "ecgi": {"plmn": "44020", "eci": 5}})) == \
        pcc.Location("44020", 1, 5)
