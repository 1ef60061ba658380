"""Diameter relay/proxy agent (RFC 6733 §2.8, §6.1-6.2): the operators' Diameter edge agents."""
