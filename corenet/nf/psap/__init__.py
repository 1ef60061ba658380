"""PSAP emulator: answers emergency calls, records them, calls the caller back."""
