"""Settings of Diameter peers and Diameter over TLS: refused with a clear message when unusable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from corenet.config.models import DiameterPeerSpec, DiameterRoute, HssConfig


def test_a_configured_peer_needs_addresses() -> None:
    with pytest.raises(ValidationError, match="addresses"):
        DiameterPeerSpec.model_validate({"origin_host": "mme.example.org"})
    with pytest.raises(ValidationError, match="not appear to be an IPv4 or IPv6 address"):
        DiameterPeerSpec(origin_host="mme.example.org", addresses=["mme.example.org"])
    with pytest.raises(ValidationError, match="addresses: \\[the IP addresses"):
        HssConfig.model_validate({"peers": ["mme.example.org"]})  # a bare name is not enough
    spec = DiameterPeerSpec(origin_host="mme.example.org", addresses=["::1", "127.0.0.2"])
    assert spec.addresses == ["::1", "127.0.0.2"] and not spec.agent


def test_tls_settings_checked() -> None:
    with pytest.raises(ValidationError, match="cert and key"):
        HssConfig.model_validate({"tls": {"ca": "ca.pem"}})
    with pytest.raises(ValidationError, match="runs on TCP"):
        HssConfig.model_validate({"transport": "sctp", "tls": {"cert": "c", "key": "k"}})
    route = {"realm": "r", "host": "hss.r", "peer": {"host": "127.0.0.3", "port": 5658}}
    with pytest.raises(ValidationError, match="ca is needed"):
        DiameterRoute.model_validate({**route, "tls": {"cert": "c", "key": "k"}})
    with pytest.raises(ValidationError, match="go together"):
        DiameterRoute.model_validate({**route, "tls": {"ca": "ca.pem", "cert": "c"}})
    assert DiameterRoute.model_validate({**route, "tls": {"ca": "ca.pem"}}).tls is not None
