"""3GPP security: Milenage (TS 35.206), key derivation (TS 33.401 Annex A), EIA/EEA (Annex B)."""
