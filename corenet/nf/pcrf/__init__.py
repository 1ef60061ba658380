"""The PCRF (TS 29.212 Gx, TS 29.214 Rx)."""
