"""Throw-away TLS material for the stand-in: a CA and a server certificate made at start, in memory.

Contract: ``make_tls_material()`` returns a :class:`TLSMaterial` whose ``ca_pem`` goes into a kubeconfig's
``certificate-authority-data`` and whose ``server_context()`` is an :class:`ssl.SSLContext` serving a certificate
valid for ``127.0.0.1`` and ``localhost``, signed by that CA. ``client_cert_pem``/``client_key_pem`` form a client
certificate signed by the same CA (CN ``deployer-local``), for kubeconfigs without a token: kubectl prompts for a
password when a user entry has no credentials at all. The server asks for client certificates but does not require
them. Nothing is written to disk except a private temporary file that ``ssl`` needs to load the key pair, removed
again at once. Keys are EC P-256 (fast to generate).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TLSMaterial:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    client_cert_pem: bytes = b""
    client_key_pem: bytes = b""

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        from deployer.private import private_file

        with private_file(Path(tempfile.gettempdir()), self.cert_pem + self.key_pem, suffix=".pem") as path:
            context.load_cert_chain(path)
        context.load_verify_locations(cadata=self.ca_pem.decode("ascii"))
        context.verify_mode = ssl.CERT_OPTIONAL
        return context


def make_tls_material(common_name: str = "deployer-kubeapi") -> TLSMaterial:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name}-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(name: str, usage: x509.ObjectIdentifier, alt_names: list[x509.GeneralName]) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem

    cert_pem, key_pem = leaf(
        common_name,
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client_cert_pem, client_key_pem = leaf("deployer-local", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return TLSMaterial(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert_pem,
        key_pem=key_pem,
        client_cert_pem=client_cert_pem,
        client_key_pem=client_key_pem,
    )
