"""Activation of emergency inter-operator roaming: criteria, the 11-step flow, requests, records, drills."""
