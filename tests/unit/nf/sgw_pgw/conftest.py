"""The MME side of S11 over real UDP, shared by the S/P-GW service tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.unit.nf.sgw_pgw.test_service import Mme


@pytest.fixture
async def mme() -> AsyncIterator[Mme]:
    peer = Mme()
    await peer.open()
    try:
        yield peer
    finally:
        assert peer.endpoint is not None
        peer.endpoint.close()
        await peer.endpoint.wait_closed()
