"""Codecs: bytes <-> typed messages over pycrate, one module per protocol."""

from corenet.codecs import _pycrate  # noqa: F401  (quiet pycrate's import-time warning)
