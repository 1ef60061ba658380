"""EPS key derivation: the generic KDF of TS 33.220 Annex B.2 and its uses in TS 33.401 Annex A."""

from __future__ import annotations

import hmac

# TS 33.401 Annex A: FC values.
FC_KASME = 0x10  # A.2
FC_KENB = 0x11  # A.3
FC_NH = 0x12  # A.4
FC_ALG_KEY = 0x15  # A.7

# TS 33.401 Table A.7-1: algorithm type distinguishers.
NAS_ENC_ALG = 0x01
NAS_INT_ALG = 0x02
RRC_ENC_ALG = 0x03
RRC_INT_ALG = 0x04
UP_ENC_ALG = 0x05
UP_INT_ALG = 0x06


def kdf(key: bytes, fc: int, *params: bytes) -> bytes:
    """HMAC-SHA-256(Key, S), S = FC || P0 || L0 || P1 || L1 ... (TS 33.220 Annex B.2.0)."""
    if not 0 <= fc <= 0xFF:
        raise ValueError(f"FC is one octet, got {fc}")
    s = bytearray([fc])
    for p in params:
        # B.2.0: Li is the length of Pi in octets, two octets big-endian.
        if len(p) > 0xFFFF:
            raise ValueError(f"parameter of {len(p)} octets does not fit a 2-octet length")
        s += p + len(p).to_bytes(2, "big")
    return hmac.digest(key, s, "sha256")  # one-shot, in OpenSSL


def _octet(name: str, value: int) -> bytes:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} is one octet, got {value}")
    return bytes([value])


def kasme(ck: bytes, ik: bytes, plmn: bytes, sqn_xor_ak: bytes) -> bytes:
    """KASME from CK||IK, P0 = serving network id, P1 = SQN xor AK (TS 33.401 A.2)."""
    if len(ck) != 16 or len(ik) != 16:
        raise ValueError("CK and IK are 16 octets each")
    if len(plmn) != 3:
        raise ValueError(f"serving network id is 3 octets, got {len(plmn)}")
    if len(sqn_xor_ak) != 6:
        raise ValueError(f"SQN xor AK is 6 octets, got {len(sqn_xor_ak)}")
    return kdf(ck + ik, FC_KASME, plmn, sqn_xor_ak)


def alg_key(key: bytes, alg_type: int, alg_id: int) -> bytes:
    """Algorithm key: the 128 least significant bits of the A.7 output (TS 33.401 A.7)."""
    out = kdf(key, FC_ALG_KEY, _octet("algorithm type", alg_type), _octet("algorithm id", alg_id))
    return out[16:]


def nas_keys(kasme: bytes, eea: int, eia: int) -> tuple[bytes, bytes]:
    """(K_NASenc, K_NASint) from KASME (TS 33.401 A.7): `alg_key`'s S strings written
    whole, one HMAC each (once per attach)."""
    enc, integ = _octet("algorithm id", eea), _octet("algorithm id", eia)
    return (hmac.digest(kasme, _NAS_ENC_S + enc + _ONE_OCTET, "sha256")[16:],
            hmac.digest(kasme, _NAS_INT_S + integ + _ONE_OCTET, "sha256")[16:])


# A.7: S = FC || P0 (algorithm type distinguisher) || L0 = 1 || P1 (algorithm id) || L1 = 1
_ONE_OCTET = b"\x00\x01"
_NAS_ENC_S = bytes((FC_ALG_KEY, NAS_ENC_ALG)) + _ONE_OCTET
_NAS_INT_S = bytes((FC_ALG_KEY, NAS_INT_ALG)) + _ONE_OCTET


def as_key(kenb: bytes, alg_type: int, alg_id: int) -> bytes:
    """K_RRCenc / K_RRCint / K_UPenc / K_UPint from KeNB (TS 33.401 A.7, types 0x03..0x06)."""
    if not RRC_ENC_ALG <= alg_type <= UP_INT_ALG:
        raise ValueError(f"AS algorithm type distinguisher is 0x03..0x06, got {alg_type:#x}")
    return alg_key(kenb, alg_type, alg_id)


def kenb(kasme: bytes, ul_count: int) -> bytes:
    """KeNB from KASME, P0 = uplink NAS COUNT on 4 octets (TS 33.401 A.3)."""
    if not 0 <= ul_count < 1 << 32:
        raise ValueError(f"uplink NAS COUNT is 32 bits, got {ul_count}")
    # S = FC || P0 || L0 = 4, written whole (once per attach and service request)
    return hmac.digest(kasme, ((FC_KENB << 48) | (ul_count << 16) | 4).to_bytes(7, "big"),
                       "sha256")


def nh(kasme: bytes, sync_input: bytes) -> bytes:
    """Next Hop from KASME, P0 = SYNC-input: KeNB or the previous NH (TS 33.401 A.4)."""
    if len(sync_input) != 32:
        raise ValueError(f"SYNC-input is 32 octets, got {len(sync_input)}")
    return kdf(kasme, FC_NH, sync_input)
