"""Cryptographic helpers: secret hashing, key encryption and its rotation, personal codes."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from gateway_service import crypto


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
    def test_round_trip_and_old_keys_still_decrypt(self) -> None:
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        token = crypto.KeyEncryption(old).encrypt("private")
        rotated = crypto.KeyEncryption(f"{new},{old}")
        assert rotated.decrypt(token) == "private"
        assert crypto.KeyEncryption(new).decrypt(rotated.encrypt("x")) == "x"

    def test_wrong_key_is_a_clear_error(self) -> None:
        token = crypto.KeyEncryption(Fernet.generate_key().decode()).encrypt("private")
        with pytest.raises(ValueError, match="key-encryption key"):
            crypto.KeyEncryption(Fernet.generate_key().decode()).decrypt(token)


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
