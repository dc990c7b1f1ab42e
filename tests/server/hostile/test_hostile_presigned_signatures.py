"""Pre-signed URL signatures are decoded strictly: URL-safe base64, unpadded, canonical.

A 64-byte Ed25519 signature is 86 base64 characters; the last one carries 2 bits of the
signature and 4 leftover bits that a canonical encoder leaves at zero. The real server
rejects padding and non-zero leftover bits, so a signature whose last character changed
only in those bits (``A`` -> ``B``) must not verify. Refusals are 401: "signature
invalid/undecodable for every key version" (spec/protocol.md §7.4, check 6).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from django_objectstore.client import Client, SecretKey, Usecase

from .hostile_support import KID, AuthServer, Response, hostile

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
PAYLOAD = b"signed payload"


@pytest.fixture(scope="module")
def signed_url(auth_server: AuthServer) -> Iterator[str]:
    """A pre-signed GET URL (path and query) of a stored object."""
    key = SecretKey(KID, auth_server.keys.private_pem)
    with Client(auth_server.server.url, token=key) as client:
        session = client.session(Usecase("hostile", compression="none"), org=1)
        session.put(PAYLOAD, key="signed")
        url = session.presigned_object_url("GET", "signed", timedelta(minutes=10))
    parts = urlsplit(url)
    yield f"{parts.path}?{parts.query}"


def _with_signature(url: str, change: str) -> str:
    """``url`` with only its ``os_sig`` value changed (the rest of the raw query is signed)."""
    path, _, query = url.partition("?")
    pieces = query.split("&")
    [position] = [i for i, piece in enumerate(pieces) if piece.startswith("os_sig=")]
    signature = pieces[position].removeprefix("os_sig=")
    if change == "padding":
        new = signature + "=="
    else:
        index = ALPHABET.index(signature[-1])
        assert len(signature) == 86 and index & 0b1111 == 0, "expected a canonical signature"
        new = signature[:-1] + ALPHABET[index | 0b0001]
    pieces[position] = f"os_sig={new}"
    return f"{path}?{'&'.join(pieces)}"


def _get(auth_server: AuthServer, target: str) -> Response:
    return auth_server.server.request("GET", target)


def test_presigned_url_with_canonical_signature_reads_the_object(
    auth_server: AuthServer, signed_url: str
) -> None:
    response = _get(auth_server, signed_url)

    assert (response.status, response.body) == (200, PAYLOAD)


@pytest.mark.parametrize("change", ["padding", "leftover-bits"])
def test_presigned_signature_with_a_non_canonical_encoding_is_refused(
    auth_server: AuthServer, signed_url: str, change: str
) -> None:
    hostile()
    response = _get(auth_server, _with_signature(signed_url, change))

    assert response.status == 401, response
    assert PAYLOAD not in response.body
