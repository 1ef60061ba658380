"""The bus over TLS (mqtts): mosquitto with a certificate issued by a test CA; a client that trusts
that CA connects, one that does not is refused, a plain-TCP client gets nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import ipaddress
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from corenet.bus.broker import free_port
from corenet.bus.client import BusConfig, probe
from tests.e2e.test_bus_mosquitto import MOSQUITTO, USERS


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                 issuer_key: ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _ca(folder: Path, name: str) -> tuple[Path, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = _certificate(name, key, subject, key, ca=True)
    path = folder / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert, key


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    ca_file, ca_cert, ca_key = _ca(tmp_path, "corenet-test-ca")
    other_ca, _, _ = _ca(tmp_path, "another-ca")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate("127.0.0.1", key, ca_cert.subject, ca_key, ca=False)
    (tmp_path / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.key").write_bytes(_pem_key(key))
    passwd = tmp_path / "passwd"
    passwd.write_text("")
    for user, pw in USERS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, pw], check=True)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\n"
                    f"cafile {ca_file}\ncertfile {tmp_path / 'server.pem'}\n"
                    f"keyfile {tmp_path / 'server.key'}\npersistence false\n"
                    f"user {getpass.getuser()}\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        yield port, ca_file, other_ca
    finally:
        proc.terminate()
        proc.wait(5)


async def _accepted(cfg: BusConfig) -> bool:
    for _ in range(60):
        if await _refusal(cfg) is None:
            return True
        await asyncio.sleep(0.05)
    return False


async def _refusal(cfg: BusConfig) -> str | None:
    """None when the broker accepts; otherwise why not (a broker that never answers a plain
    CONNECT on its TLS port counts as a refusal)."""
    try:
        return await asyncio.wait_for(probe(cfg), 8)
    except TimeoutError:
        return "no answer"


async def test_mqtts_with_the_broker_ca_and_a_password(tls_broker: tuple[int, Path, Path]) -> None:
    port, ca_file, other_ca = tls_broker
    good = BusConfig.from_url(f"mqtts://44010:pw-a@127.0.0.1:{port}?ca={ca_file}")
    assert good.tls and good.ca_file == str(ca_file)
    assert await _accepted(good)
    assert await _refusal(good.with_credentials("44010", "wrong")) is not None
    untrusted = BusConfig("127.0.0.1", port, "44010", "pw-a", tls=True, ca_file=str(other_ca))
    assert await _refusal(untrusted) is not None
    plain = BusConfig("127.0.0.1", port, "44010", "pw-a")
    assert await _refusal(plain) is not None
