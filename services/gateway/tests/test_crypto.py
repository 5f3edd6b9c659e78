"""Cryptographic helpers: secret hashing, key encryption and its rotation, personal codes."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from gateway_service import crypto
from shared_kit.crypto import RotatingCipher


class TestSecrets:
    def test_hash_verifies_only_the_same_secret(self) -> None:
        stored = crypto.hash_secret("s3cret")
        assert crypto.verify_secret("s3cret", stored)
        assert not crypto.verify_secret("s3cret!", stored)
        assert crypto.hash_secret("s3cret") != stored  # per-secret salt

    def test_malformed_stored_hash_never_verifies(self) -> None:
        assert not crypto.verify_secret("x", "sha256$garbage")
        assert not crypto.verify_secret("x", "")


class TestKeyEncryption:
    """The kit's cipher over the key-encryption keys, on the text the gateway's columns keep."""

    def test_tokens_written_before_still_decrypt(self) -> None:
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        stored = Fernet(old).encrypt(b"private").decode()  # what the gateway has always kept
        assert RotatingCipher(f"{new},{old}").decrypt(stored) == "private"

    def test_the_first_key_encrypts_and_old_keys_still_decrypt(self) -> None:
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        token = RotatingCipher(old).encrypt("private").decode()
        rotated = RotatingCipher(f"{new},{old}")
        assert rotated.decrypt(token) == "private"
        assert RotatingCipher(new).decrypt(rotated.encrypt("x").decode()) == "x"

    def test_wrong_key_is_a_clear_error(self) -> None:
        token = RotatingCipher(Fernet.generate_key().decode()).encrypt("private").decode()
        with pytest.raises(ValueError, match="no configured key"):
            RotatingCipher(Fernet.generate_key().decode()).decrypt(token)


class TestPersonalCodes:
    @pytest.mark.parametrize("code", ["010190-10001", "01019010001", " 010190-10001 "])
    def test_forms_normalise_to_eleven_digits(self, code: str) -> None:
        assert crypto.normalise_personal_code(code) == "01019010001"

    @pytest.mark.parametrize("code", ["", "0101901000", "01019O-10001", "010190-100011"])
    def test_malformed_codes_are_refused_without_echo(self, code: str) -> None:
        with pytest.raises(ValueError) as info:
            crypto.normalise_personal_code(code)
        assert code.strip() == "" or code not in str(info.value)

    def test_hmac_depends_on_the_pepper(self) -> None:
        a = crypto.personal_code_hmac("01019010001", "pepper-a")
        assert a == crypto.personal_code_hmac("01019010001", "pepper-a")
        assert a != crypto.personal_code_hmac("01019010001", "pepper-b")
