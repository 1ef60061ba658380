"""corenet: a 3GPP-faithful EPC emulator for emergency inter-operator roaming."""

__version__ = "0.1.0"
