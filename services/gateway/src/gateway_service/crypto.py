"""Cryptographic helpers: signing keys, secret and personal-code hashing.

Encryption at rest is the kit's `RotatingCipher` over the key-encryption keys; the gateway keeps
its Fernet tokens as text (ASCII), so `cipher.encrypt(…).decode()` is what a column holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from typing import Any

from joserfc.jwk import ECKey

from shared_kit.fields import PERSONAL_CODE


def new_signing_key() -> ECKey:
    """A fresh P-256 key with a random `kid`."""
    kid = uuid.uuid4().hex[:16]
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})


def public_jwk(key: ECKey) -> dict[str, Any]:
    """The public JWK of a key."""
    return dict(key.as_dict(private=False))


def private_pem(key: ECKey) -> str:
    """PKCS#8 PEM of the private key."""
    return key.as_pem(private=True).decode()


def load_private_key(pem: str, kid: str) -> ECKey:
    """An ECKey from its private PEM."""
    return ECKey.import_key(pem, parameters={"kid": kid, "use": "sig", "alg": "ES256"})


def new_secret() -> str:
    """A 256-bit random secret, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """`sha256$salt$hash`: a salted SHA-256 of a client secret.

    The secrets are 256-bit random (`new_secret`), so nobody can guess one from its hash however
    fast the hash is; a slow KDF (scrypt) would only guard low-entropy passwords, and it cost
    35 ms of CPU per token request.
    """
    salt = secrets.token_bytes(16)
    digest = hmac.new(salt, secret.encode(), hashlib.sha256).digest()
    return "$".join(["sha256", _b64(salt), _b64(digest)])


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of a secret against its stored hash."""
    try:
        scheme, salt, expected = stored.split("$")
        if scheme != "sha256":
            return False
        digest = hmac.new(_unb64(salt), secret.encode(), hashlib.sha256).digest()
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def sha256_hex(value: str) -> str:
    """Hex SHA-256 (refresh tokens: high-entropy, so no salt is needed)."""
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_personal_code(code: str) -> str:
    """`DDMMYY-NNNNN` or `32NNNN-NNNNN` as 11 digits; ValueError when it is not one."""
    match = PERSONAL_CODE.fullmatch(code.strip())
    if match is None:
        raise ValueError("a personal code has 11 digits (optionally DDMMYY-NNNNN)")
    return match[1] + match[2]


def personal_code_hmac(code: str, pepper: str) -> str:
    """Keyed hash of a normalised personal code, for lookups."""
    return hmac.new(pepper.encode(), code.encode(), hashlib.sha256).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
