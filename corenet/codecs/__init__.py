"""Codecs: bytes <-> typed messages over pycrate, one module per protocol; `corenet.codecs.fast`
holds faster implementations proven byte-identical to them, selected process-wide with
`set_codec("fast" | "pycrate")`."""

from corenet.codecs import (
    _pycrate,  # noqa: F401  (quiet pycrate's import-time warning)
    fast,  # noqa: F401  (installs each protocol's fast path)
)
from corenet.codecs.selection import CodecLevel, codec_level, set_codec

__all__ = ["CodecLevel", "codec_level", "set_codec"]
