"""Fast codecs: plain-Python encoders/decoders for the messages on the attach path.

Each module mirrors one pycrate-backed codec of `corenet.codecs` and is byte-identical to it:
`encode` returns the same bytes or None (decline); `decode` (NAS: `decode_plain`) returns the
same `Message` or None (decline). They never raise: a caller falls back to the pycrate path on
None, so rejections and their causes are always pycrate's. tests/unit/codecs/fast proves the
parity differentially; benchmarks/codec_parity.py runs the long campaign.
"""

# each module installs its encode/decode into the fast path of its protocol (codecs.selection)
from corenet.codecs.fast import diameter, gtpv2c, nas, s1ap, sib2  # noqa: F401, E402
