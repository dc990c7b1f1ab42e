"""Ed25519 signing keys made fresh for a test, shared by the client, server and Django suites.

A :class:`SigningKey` holds the private key as the PKCS#8 PEM that clients and storages
sign with, and writes the public half where a server's key configuration reads it.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class SigningKey:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.private_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def write_public(self, path: Path) -> str:
        """Write the public key to ``path`` as SubjectPublicKeyInfo PEM; return the path."""
        path.write_bytes(
            self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return str(path)
