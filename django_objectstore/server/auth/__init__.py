"""Who signed a request and what it may do: JWTs, pre-signed URLs, permission checks.

``authenticator`` turns a request into an :class:`~.authenticator.AuthContext`;
``tokens`` loads the public keys and verifies EdDSA JWTs; ``presigned`` verifies
pre-signed URLs.
"""
