"""The fast Diameter codec (RFC 6733, S6a dictionary) against the pycrate path, differentially."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from corenet.codecs import diameter as d
from corenet.codecs import selection
from corenet.codecs.base import Message
from corenet.codecs.fast import diameter as fd
from corenet.core.errors import DecodeError, EncodeError
from tests.unit.codecs.fast.parity import (
    DIAMETER_SAMPLES,
    check_diameter_decode,
    check_diameter_encode,
    codec_level,
    diameter_message,
    mutated_bytes,
    with_fixed_length,
)

COMMANDS = sorted(DIAMETER_SAMPLES)
SETTINGS = settings(phases=[Phase.explicit, Phase.generate, Phase.shrink], max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", COMMANDS)
def test_sample_is_on_the_fast_path_and_identical(name: str) -> None:
    msg = DIAMETER_SAMPLES[name]
    data = check_diameter_encode(msg)
    assert data is not None and data == d.encode_pycrate(msg)
    got = check_diameter_decode(data)
    assert got is not None and got.name == name
    assert d.avp(got, "Origin-Host") == d.avp(msg, "Origin-Host")


@pytest.mark.parametrize("name", COMMANDS)
@SETTINGS
@given(data=st.data())
def test_generated_messages_encode_and_decode_identically(name: str, data: st.DataObject) -> None:
    msg = data.draw(diameter_message(name, valid=True))
    wire = check_diameter_encode(msg)
    try:
        ref = d.encode_pycrate(msg)
    except EncodeError:
        return
    assert wire == ref  # every message pycrate encodes is on the fast path
    check_diameter_decode(ref)
    check_diameter_decode(ref, strict=False)


@SETTINGS
@given(msg=diameter_message(valid=False))
def test_invalid_values_are_declined_or_identical(msg: Message) -> None:
    check_diameter_encode(msg)


@pytest.mark.parametrize("name", COMMANDS)
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_mutated_bytes_same_accept_reject_and_cause(name: str, data: st.DataObject) -> None:
    wire = d.encode_pycrate(DIAMETER_SAMPLES[name])
    bad = data.draw(mutated_bytes(wire))
    check_diameter_decode(bad)
    check_diameter_decode(with_fixed_length(bad))
    check_diameter_decode(with_fixed_length(bad), strict=False)


@SETTINGS
@given(body=st.binary(max_size=200), head=st.binary(min_size=20, max_size=20))
def test_random_bytes_same_accept_reject_and_cause(body: bytes, head: bytes) -> None:
    check_diameter_decode(head + body)
    check_diameter_decode(with_fixed_length(b"\x01" + head[1:] + body + bytes(-len(body) % 4)))


def test_rejections_are_pycrate_s_own() -> None:
    """An unsupported AVP with the M bit (RFC 6733 §4.1, 5001) and an Unsigned32 of 5 octets
    (§7.1.5, 5014): the fast decoder declines, the public decoder raises pycrate's error."""
    base = DIAMETER_SAMPLES["DWR"]
    unknown = Message("diameter", "DWR", 280, {**base.fields, "avps": [
        *base.fields["avps"], ("AVP-99999", b"\x01\x02", d.AVP_M)]})
    wire = d.encode(unknown)
    assert fd.decode(wire) is None
    with pytest.raises(DecodeError) as err:
        d.decode(wire)
    assert err.value.cause == d.ResultCode.DIAMETER_AVP_UNSUPPORTED
    assert err.value.extra["failed_avp"] == wire[-12:]
    assert fd.decode(wire, strict=False) == d.decode_pycrate(wire, strict=False)

    five = bytearray(d.encode(Message("diameter", "DWR", 280, {**base.fields, "avps": [
        *base.fields["avps"], ("Origin-State-Id", 7)]})))
    five[-7] = 13  # AVP Length 13: 5 octets of Unsigned32
    five += bytes(4)
    five[1:4] = len(five).to_bytes(3, "big")
    with pytest.raises(DecodeError) as err:
        d.decode(bytes(five))
    assert err.value.cause == d.ResultCode.DIAMETER_INVALID_AVP_LENGTH
    assert fd.decode(bytes(five)) is None


def test_values_pycrate_refuses_are_declined() -> None:
    """An Unsigned32 beyond 2^32-1 or a non-ASCII DiameterIdentity is a local error (EncodeError)
    from the pycrate path; the fast path declines rather than writing bytes."""
    base = DIAMETER_SAMPLES["DWR"]
    for extra in (("Origin-State-Id", 1 << 32), ("Destination-Host", "hôte")):
        msg = Message("diameter", "DWR", 280, {**base.fields, "avps": [*base.fields["avps"], extra]})
        assert fd.encode(msg) is None
        with pytest.raises(EncodeError):
            d.encode(msg)


_HEADER_CASES = [
    ({}, None),
    ({"hop_by_hop": 0, "end_to_end": (1 << 32) - 1}, None),
    ({"application_id": 16777251}, None),
    ({"application_id": 0, "hop_by_hop": 7}, {"request": True, "proxiable": True,
                                              "error": False, "retransmit": True}),
    ({}, {"request": True, "proxiable": False, "error": True, "retransmit": False,
          "reserved": 5}),
    ({}, {"request": 1, "proxiable": 1, "error": 0, "retransmit": 0, "reserved": 0x13}),
    ({}, {"retransmit": True, "request": True}),
    ({"hop_by_hop": 1 << 32}, None),
    ({"end_to_end": -1}, None),
    ({"application_id": 1.0}, None),
    ({"hop_by_hop": True}, None),
    ({}, {"request": False}),
]


@pytest.mark.parametrize("name", ["AIR", "AIA", "CCR", "DWR"])
def test_header_words_kept_per_command_and_flags_give_the_pycrate_header(name: str) -> None:
    """RFC 6733 §3: the command flags and Command-Code word kept per (command, code, flags) and
    the identifiers packed as they are: each variation of one command's header, and each one
    again after the others (a kept word), gives the pycrate path's bytes, or declines where
    it refuses (an identifier outside 32 bits, not an integer, an R bit against the name)."""
    base = DIAMETER_SAMPLES[name]
    got: list[tuple[bytes | None, bytes | None]] = []
    for _ in range(2):
        for fields, flags in _HEADER_CASES:
            changed = {**base.fields, **fields}
            if flags is not None:
                changed["flags"] = flags
            msg = Message("diameter", name, base.code, changed)
            try:
                ref = d.encode_pycrate(msg)
            except EncodeError:
                ref = None
            fast = fd.encode(msg)
            assert fast == ref
            got.append((fast, ref))
    assert got[:len(_HEADER_CASES)] == got[len(_HEADER_CASES):]
    assert got[0][0] is not None and got[1][0] is not None  # on the fast path
    # the name of a command of another code: the pycrate path's answer, before and after
    for _ in range(2):
        other = Message("diameter", name, base.code + 1, dict(base.fields))
        assert fd.encode(other) is None


def test_level_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pycrate` never calls the fast path; `fast` (the default) does."""
    assert selection.DEFAULT is selection.CodecLevel.FAST
    calls: list[str] = []
    path = selection.fast_path(d.PROTOCOL)
    real = path.decode
    assert real is fd.decode
    monkeypatch.setattr(path, "decode", lambda data, strict=True: calls.append("fast") or real(data, strict=strict))
    wire = d.encode_pycrate(DIAMETER_SAMPLES["ULA"])
    with codec_level("pycrate"):
        assert selection.codec_level() is selection.CodecLevel.PYCRATE
        slow = d.decode(wire)
    assert calls == []
    with codec_level("fast"):
        fast = d.decode(wire)
    assert calls == ["fast"]
    assert repr(fast) == repr(slow)
    with pytest.raises(ValueError):
        selection.set_codec("turbo")


def test_repeated_values_are_written_as_pycrate_writes_them_each_time() -> None:
    def cea(host: str, code: object, address: str = "127.0.0.1") -> Message:
        return Message(d.PROTOCOL, "CEA", 257, {"avps": [
            ("Result-Code", code), ("Origin-Host", host), ("Origin-Realm", "realm.example.org"),
            ("Host-IP-Address", address), ("Vendor-Id", 10415),
            ("Auth-Application-Id", d.S6A_APPLICATION_ID)]})

    for host, code, address in [("hss.example.org", 2001, "127.0.0.1"),
                                ("hss.example.org", 2001, "127.0.0.1"),
                                ("other.example.org", 3004, "2001:db8::1"),
                                ("hss.example.org", 2001, "127.0.0.1")]:
        msg = cea(host, code, address)
        assert fd.encode(msg) == d.encode_pycrate(msg)
        back = d.decode(fd.encode(msg) or b"")
        assert d.avp(back, "Origin-Host") == host
        assert d.avp(back, "Host-IP-Address") == address
    # a value once written does not make an invalid one of the same AVP acceptable
    assert fd.encode(cea("hss.example.org", -1)) is None
    assert fd.encode(cea("hss.example.org", 1 << 32)) is None
    assert fd.encode(cea("h\u00e9ss.example.org", 2001)) is None  # DiameterIdentity: ASCII
    assert fd.encode(cea("hss.example.org", 2001, "127.0.0.256")) is None
    with pytest.raises(EncodeError):
        d.encode(cea("hss.example.org", -1))


def test_profile_groups_read_once_and_shared_by_every_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """The APN-Configuration-Profile of a ULA (TS 29.272 §7.3.34) is the same octets for every
    subscriber of a profile: a repeat is not read again nor copied, every message gets the
    same value, which cannot be changed, and each decodes as the pycrate path decodes it."""
    wire = d.encode_pycrate(DIAMETER_SAMPLES["ULA"])
    fd._GROUPED_SEEN.clear()
    fd._dec_templates.clear()  # read whole, not from a decode template
    reads: list[int] = []
    real = fd._decode_avps

    def counted(*args: object) -> object:
        reads.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(fd, "_decode_avps", counted)
    first = fd.decode(wire)
    first_reads = len(reads)
    reads.clear()
    assert first is not None
    profile = d.avp(first, "Subscription-Data", "APN-Configuration-Profile")
    assert type(profile) is d.SharedGroup
    with pytest.raises(TypeError):
        profile.append(("Context-Identifier", 99))  # a reader changing what it was given
    with pytest.raises(TypeError):
        d.avp(profile, "APN-Configuration").clear()
    second = fd.decode(wire)
    assert second is not None and len(reads) < first_reads
    assert d.avp(second, "Subscription-Data", "APN-Configuration-Profile") is profile
    assert second == d.decode_pycrate(wire)
    assert repr(second) == repr(d.decode_pycrate(wire))
    assert d.avp(second, "Subscription-Data", "APN-Configuration-Profile", "Context-Identifier") == 1
    assert d.avp_all(second, "Subscription-Data", "APN-Configuration-Profile",
                     "APN-Configuration", "Service-Selection") == ["internet", "ims"]
    # written again as received, from the entries once, then from the octets kept
    assert fd.encode(second) == d.encode_pycrate(second) == wire == fd.encode(second)
    assert profile.wire is not None


def test_kept_groups_do_not_relax_the_strict_check() -> None:
    """An unknown mandatory AVP inside a kept group is tolerated only by a non-strict decode
    (RFC 6733 §4.1: 5001 otherwise), whichever decode came first."""
    unknown = d.encode_pycrate(Message(d.PROTOCOL, "CMD-0-A", 0, {
        "flags": {"request": False, "proxiable": False, "error": False, "retransmit": False},
        "avps": [("AVP-9999", b"\x00\x00\x00\x01", d.AVP_M)]}))[d.HEADER_LEN:]
    base = DIAMETER_SAMPLES["AIR"]
    avps = [(a[0], [*a[1], unknown]) if a[0] == "Requested-EUTRAN-Authentication-Info" else a
            for a in base.fields["avps"]]
    msg = Message(d.PROTOCOL, "AIR", base.code, {**base.fields, "avps": avps})
    wire = d.encode_pycrate(msg)
    fd._GROUPED_SEEN.clear()
    for _ in range(2):
        assert fd.decode(wire, strict=False) is not None
        assert fd.decode(wire) is None
        with pytest.raises(DecodeError) as err:
            d.decode(wire)
        assert err.value.cause == d.ResultCode.DIAMETER_AVP_UNSUPPORTED


def test_shared_group_written_once_as_pycrate_writes_it() -> None:
    """A SharedGroup (an APN-Configuration-Profile many ULAs carry, TS 29.272 §7.3.34) is
    written once; every message carrying it has the pycrate path's bytes, and the group
    cannot be changed under its kept octets."""
    from corenet.codecs import s6a

    apns = (s6a.ApnConfiguration(1, "internet", ambr=s6a.Ambr(1000, 2000)),
            s6a.ApnConfiguration(2, "ims", qos_class_identifier=5, priority_level=1))
    first = s6a.SubscriptionData(msisdn="819010000001", apn_configurations=apns).to_avps()
    second = s6a.SubscriptionData(msisdn="819010000002", apn_configurations=apns).to_avps()
    group = d.avp(first, "APN-Configuration-Profile")
    assert isinstance(group, d.SharedGroup) and group.wire is None
    assert d.avp(second, "APN-Configuration-Profile") is group  # made once per profile
    base = DIAMETER_SAMPLES["ULA"]
    for data in (first, second):
        avps = [("Subscription-Data", data) if a[0] == "Subscription-Data" else a
                for a in base.fields["avps"]]
        msg = Message(d.PROTOCOL, "ULA", base.code, {**base.fields, "avps": avps})
        plain = Message(d.PROTOCOL, "ULA", base.code, {**base.fields, "avps": [
            ("Subscription-Data", [(n, list(v)) if isinstance(v, d.SharedGroup) else (n, v)
                                   for n, v in data]) if a[0] == "Subscription-Data" else a
            for a in base.fields["avps"]]})
        assert fd.encode(msg) == d.encode_pycrate(plain) == d.encode_pycrate(msg)
        assert group.wire is not None
        back = d.decode(fd.encode(msg) or b"")
        assert d.avp_all(back, "Subscription-Data", "APN-Configuration-Profile",
                         "APN-Configuration", "Service-Selection") == ["internet", "ims"]
    with pytest.raises(TypeError):
        group.append(("Context-Identifier", 3))


def test_every_s6a_message_carries_one_vendor_specific_application_id() -> None:
    """TS 29.272 §7.1.8: the S6a Vendor-Specific-Application-Id of every request and answer is
    one shared entry, written once, and each message still has the pycrate path's bytes."""
    air, ula = DIAMETER_SAMPLES["AIR"], DIAMETER_SAMPLES["ULA"]
    vsai = d.avp(air, "Vendor-Specific-Application-Id")
    assert isinstance(vsai, d.SharedGroup)
    assert d.avp(ula, "Vendor-Specific-Application-Id") is vsai
    for msg in (air, ula, air):
        assert fd.encode(msg) == d.encode_pycrate(msg)
    assert vsai.wire is not None
    back = d.decode(fd.encode(air) or b"")
    assert d.avp(back, "Vendor-Specific-Application-Id") == [
        ("Vendor-Id", d.VENDOR_3GPP), ("Auth-Application-Id", d.S6A_APPLICATION_ID)]


def test_avp_headers_read_once_yet_each_avp_checked_against_its_message() -> None:
    """An AVP header seen before (RFC 6733 §4.1: code, flags, length, Vendor-ID) is looked up
    rather than read again, but the AVP must still fit the message that carries it: the same
    header in a message cut short is a length fault (§7.1.5), declined to the pycrate path,
    which answers it with its Result-Code."""
    wire = d.encode_pycrate(DIAMETER_SAMPLES["AIA"])
    fd._HEADS.clear()
    fd._dec_templates.clear()  # read whole, not from a decode template
    first = fd.decode(wire)
    assert first is not None and fd._HEADS
    kept = dict(fd._HEADS)
    second = fd.decode(wire)
    assert second == first == d.decode_pycrate(wire) and fd._HEADS == kept
    # the last AVP cut short, the message length still matching the octets
    cut = bytearray(wire[:-8])
    cut[1:4] = len(cut).to_bytes(3, "big")
    assert fd.decode(bytes(cut)) is None
    with pytest.raises(DecodeError) as err:
        d.decode(bytes(cut))
    assert err.value.cause == d.ResultCode.DIAMETER_INVALID_AVP_LENGTH


def test_avp_headers_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The headers kept are bounded: once full, the table starts again, and every message
    still decodes as the pycrate path decodes it."""
    monkeypatch.setattr(fd, "_HEADS_MAX", 4)
    fd._HEADS.clear()
    for name in ("AIR", "AIA", "ULR", "ULA"):
        wire = d.encode_pycrate(DIAMETER_SAMPLES[name])
        assert fd.decode(wire) == d.decode_pycrate(wire)
        assert len(fd._HEADS) <= 4


# --------------------------------------------------------------------------------------------
# Decode templates: the AIR, ULR, CCR and their answers
# --------------------------------------------------------------------------------------------

TEMPLATED = ("AIR", "AIA", "ULR", "ULA", "CCR", "CCA")


def _decoded_whole(data: bytes) -> Message | None:
    try:
        return fd._decode(data, True)
    except Exception:
        return None


def _varying_octets(wire: bytes) -> list[int]:
    """The offsets outside the constant octets of the template `wire` was kept as."""
    for template in fd._dec_templates[(wire[4:8], len(wire))]:
        constant = template[1]
        if all(wire[a:b] == octets for a, b, octets in constant):
            kept = {i for a, b, _o in constant for i in range(a, b)}
            return [i for i in range(len(wire)) if i not in kept]
    raise AssertionError("no template")


def _whole_decodes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    whole = fd._decode

    def counted(data: bytes, strict: bool) -> Message:
        calls.append(data)
        return whole(data, strict)

    monkeypatch.setattr(fd, "_decode", counted)
    return calls


@pytest.mark.parametrize("name", TEMPLATED)
def test_decode_template_varies_only_the_per_ue_values(name: str) -> None:
    """A template's varying octets are the Hop-by-Hop and End-to-End Identifiers (RFC 6733 §3)
    and the values of the per-UE AVPs, nothing of an AVP header or padding."""
    wire = d.encode_pycrate(DIAMETER_SAMPLES[name])
    fd._dec_templates.clear()
    assert fd.decode(wire) == d.decode_pycrate(wire)
    varying = _varying_octets(wire)
    assert set(range(12, 20)) <= set(varying)
    msg = d.decode_pycrate(wire)
    values = {repr(v) for _n, v, *_f in _leaves(msg.fields["avps"]) if _n in fd._VARYING}
    assert values, "no per-UE value in the sample"
    assert len(varying) == 8 + sum(len(v) for n, v, *_f in _leaves(msg.fields["avps"])
                                   if n in fd._VARYING
                                   for v in [v.encode() if isinstance(v, str) else v])


def _leaves(entries: list) -> list:
    out = []
    for entry in entries:
        if isinstance(entry[1], list):
            if not isinstance(entry[1], d.SharedGroup):
                out += _leaves(entry[1])
        else:
            out.append(entry)
    return out


@pytest.mark.parametrize("name", TEMPLATED)
def test_decode_template_every_octet_changed_decodes_as_the_decoder(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each octet of a templated message changed in turn (to two other values): the message
    decodes to exactly what the whole decoder gives for it, a refusal included, and a change
    in a per-UE value is read from the template without the whole decoder."""
    wire = d.encode_pycrate(DIAMETER_SAMPLES[name])
    fd._dec_templates.clear()
    assert fd.decode(wire) is not None
    varying = set(_varying_octets(wire))
    calls = _whole_decodes(monkeypatch)
    for i in range(len(wire)):
        for delta in (1, 0x80):
            other = bytearray(wire)
            other[i] ^= delta
            data = bytes(other)
            whole = _decoded_whole(data)
            calls.clear()
            del fd._dec_templates[(wire[4:8], len(wire))][1:]  # the first template only
            got = fd.decode(data)
            assert got == whole and repr(got) == repr(whole), (i, delta)
            if i in varying and got is not None:
                assert calls == [], (i, delta)
            elif i not in varying:
                assert calls == [data], (i, delta)
            checked = fd.decode_checked(data)
            assert (checked and checked[0]) == whole, (i, delta)
            if checked is not None and checked[1] and checked[0].fields["flags"]["request"]:
                d.check_mandatory(checked[0])  # the template's ABNF check holds for it


@pytest.mark.parametrize("name", TEMPLATED)
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_decode_templates_give_what_the_decoder_gives(name: str, data: st.DataObject) -> None:
    """Any values in a template's varying octets, then any one octet changed anywhere: the
    fast decoder gives what the whole decoder gives, and accepts and refuses as pycrate does."""
    wire = d.encode_pycrate(DIAMETER_SAMPLES[name])
    assert fd.decode(wire) is not None
    other = bytearray(wire)
    for i in _varying_octets(wire):
        other[i] = data.draw(st.integers(0, 255))
    assert fd.decode(bytes(other)) == _decoded_whole(bytes(other))
    check_diameter_decode(bytes(other))
    i = data.draw(st.integers(0, len(other) - 1))
    other[i] = data.draw(st.integers(0, 255).filter(lambda x: x != other[i]))
    assert fd.decode(bytes(other)) == _decoded_whole(bytes(other))
    check_diameter_decode(bytes(other))


def test_decode_template_reads_each_ues_values_into_its_own_lists() -> None:
    """Two UEs' ULAs of one shape: each decodes to its own Session-Id, identifiers and MSISDN,
    in lists of its own (changing one changes no other); the profile group is shared."""
    sample = DIAMETER_SAMPLES["ULA"]
    wires = []
    for n in (1, 2):
        avps = [(e[0], f"hss.example;1;{n}") if e[0] == "Session-Id" else e
                for e in sample.fields["avps"]]
        data = [(e[0], [(g[0], bytes([0x81, 0x90, n])) if g[0] == "MSISDN" else g
                        for g in e[1]]) if e[0] == "Subscription-Data" else e for e in avps]
        msg = Message(sample.protocol, sample.name, sample.code,
                      {**sample.fields, "avps": data, "hop_by_hop": n, "end_to_end": 10 + n})
        wires.append(d.encode_pycrate(msg))
    fd._dec_templates.clear()
    first, second = (fd.decode(w) for w in wires)
    assert first is not None and second is not None
    assert len(fd._dec_templates[(wires[0][4:8], len(wires[0]))]) == 1
    assert first == d.decode_pycrate(wires[0]) and second == d.decode_pycrate(wires[1])
    assert (second.fields["hop_by_hop"], second.fields["end_to_end"]) == (2, 12)
    assert d.avp(second, "Session-Id") == "hss.example;1;2"
    assert d.avp(second, "Subscription-Data", "MSISDN") == bytes([0x81, 0x90, 2])
    assert d.avp(first, "Subscription-Data", "MSISDN") == bytes([0x81, 0x90, 1])
    first.fields["avps"].append(("Origin-State-Id", 1))
    d.avp(first, "Subscription-Data").append(("Subscriber-Status", 1))
    first.fields["flags"]["retransmit"] = True
    assert second == d.decode_pycrate(wires[1])
    assert (d.avp(first, "Subscription-Data", "APN-Configuration-Profile")
            is d.avp(second, "Subscription-Data", "APN-Configuration-Profile"))


def test_decode_templates_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most a few templates per (command, length) and a bounded number of keys."""
    monkeypatch.setattr(fd, "_DEC_TEMPLATES_KEPT", 2)
    fd._dec_templates.clear()
    for name in TEMPLATED:
        wire = d.encode_pycrate(DIAMETER_SAMPLES[name])
        for n in range(6):  # another Origin-State... an octet outside the varying ones
            other = bytearray(wire)
            other[-1] ^= n
            fd.decode(bytes(other))
        assert len(fd._dec_templates) <= 2
        assert all(len(kept) <= fd._DEC_TEMPLATES_PER_KEY for kept in fd._dec_templates.values())


@pytest.mark.parametrize("name", ["AIR", "ULR", "CCR"])
def test_a_template_s_abnf_check_answers_for_its_requests(name: str) -> None:
    """A request read from a decode template that passed the ABNF check is not checked again
    (the same AVP names in the same groups); one that failed it fails again for each message,
    with DIAMETER_MISSING_AVP (RFC 6733 §7.1.5) and the missing AVP as the Failed-AVP."""
    sample = DIAMETER_SAMPLES[name]
    wire = d.encode_pycrate(sample)
    fd._dec_templates.clear()
    assert fd.decode_checked(wire) == (d.decode_pycrate(wire), True)  # made the template
    assert fd.decode_checked(wire) == (d.decode_pycrate(wire), True)  # read from it
    assert d.decode_checked(wire) == d.decode_pycrate(wire)
    missing = d.MANDATORY[name][-1]
    lacking = Message(sample.protocol, sample.name, sample.code, {
        **sample.fields, "avps": [e for e in sample.fields["avps"] if e[0] != missing]})
    bad = d.encode_pycrate(lacking)
    for _ in range(2):
        assert fd.decode_checked(bad) == (d.decode_pycrate(bad), False)
        with pytest.raises(DecodeError) as err:
            d.decode_checked(bad)
        assert err.value.cause == d.ResultCode.DIAMETER_MISSING_AVP
        assert err.value.extra.get("failed_avp") is not None
    assert len(fd._dec_templates[(bad[4:8], len(bad))]) == 1


def test_answers_and_the_pycrate_level_are_checked_as_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer is never ABNF-checked on receipt; at the pycrate level every request is."""
    wire = d.encode_pycrate(DIAMETER_SAMPLES["AIA"])
    assert d.decode_checked(wire) == d.decode_pycrate(wire)
    checks: list[str] = []
    real = d.check_mandatory
    monkeypatch.setattr(d, "check_mandatory", lambda m: checks.append(m.name) or real(m))
    air = d.encode_pycrate(DIAMETER_SAMPLES["AIR"])
    with codec_level("pycrate"):
        assert d.decode_checked(air) == d.decode_pycrate(air)
    assert checks == ["AIR"]


def test_a_long_message_is_never_kept_as_a_template() -> None:
    """Only messages of a UE's size are kept: a ULA padded past the bound with an unknown
    optional AVP decodes as the pycrate path decodes it, whole, and leaves no template."""
    sample = DIAMETER_SAMPLES["ULA"]
    long = Message(sample.protocol, sample.name, sample.code, {
        **sample.fields, "avps": [*sample.fields["avps"], ("AVP-99999", bytes(4096))]})
    wire = d.encode_pycrate(long)
    assert len(wire) > fd._DEC_TEMPLATE_MAX_LEN
    fd._dec_templates.clear()
    for _ in range(2):
        assert fd.decode(wire) == d.decode_pycrate(wire)
        assert fd.decode_checked(wire) == (d.decode_pycrate(wire), False)
    assert fd._dec_templates == {}
