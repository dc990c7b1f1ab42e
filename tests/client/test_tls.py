"""``https://`` objectstores: the client verifies the certificate and round-trips objects.

A TLS relay on loopback (a self-signed certificate for 127.0.0.1) forwards each
connection to the test server, so the client's HTTPS connections are the ones it uses in
production.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from django_objectstore.client import Client, ObjectstoreConnectionError, Usecase
from django_objectstore.pytest_plugin import ObjectstoreServer


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "objectstore test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class TlsRelay:
    """Accepts TLS on loopback and relays each connection, decrypted, to ``upstream``."""

    def __init__(self, upstream: tuple[str, int], cert: Path, key: Path) -> None:
        self.upstream = upstream
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                plain, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(plain,), daemon=True).start()

    def _serve(self, plain: socket.socket) -> None:
        plain.settimeout(30)
        try:
            secure = self.context.wrap_socket(plain, server_side=True)
        except (OSError, ssl.SSLError):
            plain.close()  # a client that refused our certificate
            return
        upstream = socket.create_connection(self.upstream, timeout=30)
        self.sockets += [secure, upstream]
        threading.Thread(target=_pipe, args=(upstream, secure), daemon=True).start()
        _pipe(secure, upstream)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def relay(objectstore_server: ObjectstoreServer, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = _certificate(tmp_path)
    url = urlsplit(str(objectstore_server))
    relay = TlsRelay((url.hostname or "127.0.0.1", url.port or 80), cert, key)
    yield f"https://127.0.0.1:{relay.port}", cert
    relay.close()


def test_https_round_trips_small_and_large_objects(relay: tuple[str, Path]) -> None:
    url, cert = relay
    client = Client(url, connection_kwargs={"ca_certs": str(cert)})
    session = client.session(Usecase("tls"), org=1)
    payloads = {
        "small": b'{"line": 1}\n' * 80,
        "binary": bytes(range(256)) * 4,
        "large": b'{"line": 2}\n' * 40_000,
    }
    for key, payload in payloads.items():
        assert session.put(payload, key=key) == key
    for key, payload in payloads.items():
        result = session.get(key)
        assert result is not None
        assert result.payload.read() == payload
        result.payload.close()


def test_https_refuses_a_certificate_it_does_not_trust(relay: tuple[str, Path]) -> None:
    url, _ = relay
    session = Client(url, retries=0).session(Usecase("tls"), org=1)
    with pytest.raises(ObjectstoreConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        session.put(b"never sent", key="refused")
