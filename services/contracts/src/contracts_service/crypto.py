"""Personal codes at rest: Fernet encryption with rotation (the first key encrypts)."""

from __future__ import annotations

from cryptography.fernet import Fernet, MultiFernet
from pydantic import SecretStr


class PersonalCodeCipher:
    """Encrypts and decrypts personal codes; keys come comma-separated from settings."""

    def __init__(self, keys: SecretStr) -> None:
        self._fernet = MultiFernet(
            [Fernet(k.strip()) for k in keys.get_secret_value().split(",") if k.strip()]
        )

    def encrypt(self, code: SecretStr) -> bytes:
        """Ciphertext of a personal code."""
        return self._fernet.encrypt(code.get_secret_value().encode())

    def decrypt(self, token: bytes) -> SecretStr:
        """The personal code, wrapped so that it never shows up in a repr or a log line."""
        return SecretStr(self._fernet.decrypt(token).decode())
