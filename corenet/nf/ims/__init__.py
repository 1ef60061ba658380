"""The rescuer's IMS emergency functions (P-CSCF, E-CSCF) and the home S-CSCF (TS 23.167)."""
