"""The cell broadcast centre (TS 23.041 §9.1.3.5): warnings to the MMEs over SBc-AP (TS 29.168)."""
