"""Encryption at rest with key rotation: the first configured key encrypts, every key decrypts."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr


class RotatingCipher:
    """Fernet over a comma-separated key list (rotate by putting the new key first)."""

    def __init__(self, keys: str | SecretStr) -> None:
        text = keys.get_secret_value() if isinstance(keys, SecretStr) else keys
        fernets = [Fernet(k.strip()) for k in text.split(",") if k.strip()]
        if not fernets:
            raise ValueError("no encryption key configured")
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> bytes:
        """The Fernet token of a text."""
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, token: bytes | str) -> str:
        """The text of a token; ValueError when no configured key opens it."""
        raw = token.encode() if isinstance(token, str) else token
        try:
            return self._fernet.decrypt(raw).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: no configured key matches") from exc

    def rotate(self, token: bytes | str) -> bytes:
        """The token re-encrypted under the first key (for re-keying stored values)."""
        raw = token.encode() if isinstance(token, str) else token
        return self._fernet.rotate(raw)


def check_fernet_keys(value: SecretStr) -> SecretStr:
    """A settings validator's check: every comma-separated key is a Fernet key."""
    for key in value.get_secret_value().split(","):
        try:
            Fernet(key.strip())
        except ValueError as exc:
            raise ValueError("each key must be a url-safe base64 32-byte Fernet key") from exc
    return value
