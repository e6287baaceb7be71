"""HTTPS for the hub's pages: a room certificate authority and the hub's server certificate.

``classroom-hub tls init`` makes (once) a certificate authority for the room, whose certificate
the tablets and the display install, and signs with it a server certificate for the hub's
LAN names and addresses. The CA may only certify those names and the private address ranges
(X.509 name constraints): if its key ever leaked, it could not be used to impersonate any
site on the internet to a tablet that trusts it. Keys are written 0600; the CA key never
leaves the hub's TLS folder. Existing files (``--cert``/``--key``) are checked and copied
instead.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from classroom_hub.errors import HubError

CA_CERT, CA_KEY = "room-ca.crt", "room-ca.key"
SERVER_CERT, SERVER_KEY = "hub.crt", "hub.key"
CA_DAYS = 3650
SERVER_DAYS = 825
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16")
PRIVATE_NETWORKS_V6 = ("fc00::/7", "fe80::/10", "::1/128")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
T = TypeVar("T")


class TlsError(HubError):
    """A certificate or key could not be made, read or used."""

    code = "tls_refused"
    http_status = 400


@dataclass(frozen=True)
class TlsFiles:
    folder: Path
    cert: Path
    key: Path
    ca: Path | None

    def settings_lines(self) -> str:
        ca = f'tls_ca = "{self.ca}"\n' if self.ca else ""
        return f'[http]\ntls_cert = "{self.cert}"\ntls_key = "{self.key}"\n{ca}'


def lan_names(extra_names: list[str], extra_addresses: list[str], public_url_host: str | None) -> tuple[
    list[str], list[IpAddress]
]:  # fmt: skip
    """The names and addresses the hub is reached by: this machine's name (and ``.local``),
    ``localhost``, its addresses, the public URL's host, and whatever the technician adds."""
    host = socket.gethostname()
    names = [*extra_names, host, f"{host}.local", "localhost"]
    addresses: list[IpAddress] = [ipaddress.ip_address("127.0.0.1")]
    for raw in [*extra_addresses, public_url_host or ""]:
        if not raw:
            continue
        try:
            addresses.append(ipaddress.ip_address(raw))
        except ValueError:
            names.append(raw)
    try:
        for info in socket.getaddrinfo(host, None, family=socket.AF_INET):
            addresses.append(ipaddress.ip_address(info[4][0]))
    except OSError:
        pass  # no name service for our own name: the technician names the addresses
    return _unique([n.lower().rstrip(".") for n in names if n]), _unique(addresses)


def _unique(items: list[T]) -> list[T]:
    return list(dict.fromkeys(items))


def init(folder: Path, names: list[str], addresses: list[IpAddress]) -> TlsFiles:
    """Make the room CA (unless it exists) and a new server certificate signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    ca_cert_path, ca_key_path = folder / CA_CERT, folder / CA_KEY
    if ca_cert_path.exists() and ca_key_path.exists():
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise TlsError(f"{ca_key_path}: not the EC key `tls init` writes")
        ca_key = loaded
        _check_permitted(ca_cert, names, addresses, ca_cert_path)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, names)
        _write_key(ca_key_path, ca_key)
        ca_cert_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _server_certificate(key, names, addresses, ca_cert, ca_key)
    _write_key(folder / SERVER_KEY, key)
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    (folder / SERVER_CERT).write_bytes(chain)
    return TlsFiles(folder, folder / SERVER_CERT, folder / SERVER_KEY, ca_cert_path)


def adopt(folder: Path, cert: Path, key: Path) -> TlsFiles:
    """Take a certificate (chain) and key made elsewhere, once they are shown to belong together."""
    server_context(cert, key)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    shutil.copyfile(cert, folder / SERVER_CERT)
    target_key = folder / SERVER_KEY
    target_key.touch(mode=0o600)
    os.chmod(target_key, 0o600)
    shutil.copyfile(key, target_key)
    return TlsFiles(folder, folder / SERVER_CERT, target_key, None)


def fingerprint(cert: Path) -> str:
    """The SHA-256 fingerprint a technician compares on the tablet after installing the CA."""
    digest = x509.load_pem_x509_certificate(cert.read_bytes()).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The TLS context the hub serves with (TLS 1.2 and later)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as err:
        raise TlsError(f"cannot use {cert} with {key}: {err}") from err
    return context


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def _ca_certificate(key: ec.EllipticCurvePrivateKey, names: list[str]) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Classroom hub"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Classroom hub room CA ({names[0] if names else 'hub'})"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    permitted: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    permitted += [x509.IPAddress(ipaddress.ip_network(n)) for n in PRIVATE_NETWORKS + PRIVATE_NETWORKS_V6]
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _check_permitted(ca: x509.Certificate, names: list[str], addresses: list[IpAddress], where: Path) -> None:
    """An existing room CA only certifies the names it was made for (and private addresses)."""
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    dns = [str(n.value) for n in constraints.permitted_subtrees or () if isinstance(n, x509.DNSName)]
    nets = [n.value for n in constraints.permitted_subtrees or () if isinstance(n, x509.IPAddress)]
    bad = [n for n in names if not any(n == d or n.endswith("." + d) for d in dns)]
    bad += [str(a) for a in addresses if not any(a in net for net in nets)]  # type: ignore[operator]
    if bad:
        raise TlsError(
            f"the room CA {where} may not certify {', '.join(bad)} (it was made for {', '.join(dns)} and "
            "private addresses): move the tls folder away and run `tls init` again, then install the new "
            "room CA on the tablets and the display"
        )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    names: list[str],
    addresses: list[IpAddress],
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt += [x509.IPAddress(a) for a in addresses]
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "hub")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
